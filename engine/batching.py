"""Many threads, one network: callers' boards are gathered into shared batches.

:class:`BatchingEvaluator` is the :class:`~engine.evaluator.Evaluator` that the API
and the HTTP server hand to every request and every search. A single worker thread
owns the inner evaluator (a LiteRT interpreter is not thread-safe) and makes one call
for everything queued at that moment, up to ``max_batch`` boards, so concurrent
searches and requests batch together instead of queueing behind each other.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Sequence

import chess
import numpy as np

from engine.evaluator import Evaluation, Evaluator


class BatchingEvaluator:
    """Thread-safe evaluator; :meth:`evaluate` blocks until its boards are scored."""

    def __init__(self, inner: Evaluator, *, max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.inner = inner
        self.max_batch = max_batch
        self.calls = 0
        """Inner evaluator calls made (fewer than requests when batching works)."""
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._serve, name="boardeval-batcher", daemon=True)
        self._worker.start()

    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        if not boards:
            return Evaluation(np.zeros(0, np.float32))
        future: concurrent.futures.Future[Evaluation] = concurrent.futures.Future()
        self._requests.put((list(boards), future))
        return future.result()

    def _serve(self) -> None:
        while True:
            pending = [self._requests.get()]  # blocks while idle
            size = len(pending[0][0])
            while size < self.max_batch:
                try:
                    request = self._requests.get_nowait()
                except queue.Empty:
                    break
                pending.append(request)
                size += len(request[0])
            self._run(pending)

    def _run(self, pending: list[tuple[list[chess.Board], concurrent.futures.Future]]) -> None:
        boards = [board for request_boards, _ in pending for board in request_boards]
        try:
            evaluation = self.inner.evaluate(boards)
        except Exception as error:  # noqa: BLE001 - handed to every waiting caller
            for _, future in pending:
                future.set_exception(error)
            return
        self.calls += 1
        start = 0
        for request_boards, future in pending:
            stop = start + len(request_boards)
            policy = evaluation.policy[start:stop] if evaluation.policy is not None else None
            future.set_result(Evaluation(evaluation.values[start:stop], policy))
            start = stop
