from __future__ import annotations

import concurrent.futures
import threading
import time

import chess
import numpy as np
import pytest

from engine.batching import BatchingEvaluator
from engine.evaluator import Evaluation, MaterialEvaluator


class SlowMaterialEvaluator(MaterialEvaluator):
    """The material evaluator taking as long per call as a network would; records calls."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_sizes: list[int] = []
        self.threads: set[int] = set()

    def evaluate(self, boards):
        self.batch_sizes.append(len(boards))
        self.threads.add(threading.get_ident())
        time.sleep(0.02)
        return super().evaluate(boards)


def _positions(count: int) -> list[chess.Board]:
    board, boards = chess.Board(), []
    for _ in range(count):
        move = sorted(board.legal_moves, key=lambda m: (board.is_capture(m), m.uci()))[-1]
        board.push(move)
        boards.append(board.copy(stack=False))
        if board.is_game_over():
            board = chess.Board()
    return boards


def test_concurrent_callers_get_their_own_answers_from_shared_batches() -> None:
    inner = SlowMaterialEvaluator()
    batcher = BatchingEvaluator(inner, max_batch=64)
    boards = _positions(40)
    expected = MaterialEvaluator().evaluate(boards).values
    requests = [boards[i : i + 2] for i in range(0, 40, 2)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(batcher.evaluate, requests))
    np.testing.assert_array_equal(np.concatenate([a.values for a in answers]), expected)
    assert sum(inner.batch_sizes) == 40
    assert batcher.calls < len(requests)  # requests were merged
    assert max(inner.batch_sizes) <= 64 and len(inner.threads) == 1


def test_an_error_reaches_only_the_callers_of_its_batch() -> None:
    class Failing(MaterialEvaluator):
        def evaluate(self, boards):
            if any(board.is_check() for board in boards):
                raise RuntimeError("network failed")
            return super().evaluate(boards)

    batcher = BatchingEvaluator(Failing())
    checked = chess.Board("4k3/8/8/8/8/8/8/R3K2r w - - 0 1")
    with pytest.raises(RuntimeError, match="network failed"):
        batcher.evaluate([checked])
    result = batcher.evaluate([chess.Board()])  # the worker survived
    assert isinstance(result, Evaluation) and result.values.tolist() == [0.0]
    assert batcher.evaluate([]).values.shape == (0,)
