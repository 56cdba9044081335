"""The ``Evaluator`` seam: a batch of boards in, values (and policy logits) out.

Search and serving see only this interface. Every value is from the side to move in
*its* board, in [-1, 1]; policy logits (when the network has that head) index
``engine.moves`` in the mover's frame. One model call per batch.

Backends for a trained network: LiteRT (``ai-edge-litert``, the default: no
TensorFlow needed, fast at small batches), LiteRT on the network's int8 file
(``litert-int8``, what search prefers; see :mod:`engine.quantize`) and compiled
TensorFlow (a ``tf.function`` with a fixed input signature, the fallback). Material
and random evaluators serve tests and baselines; :class:`CachedEvaluator` adds a
bounded cache keyed by position.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import chess
import chess.polyglot
import numpy as np

from engine import targets
from engine.encoding import NUM_PLANES, encode_boards, pack_boards
from engine.network_files import INT8_KEY, read_sidecar

PIECE_VALUES_CP = np.array([100, 300, 300, 500, 900, 0], dtype=np.int64)
"""Pawn, knight, bishop, rook, queen, king: the material evaluator's centipawns."""

Backend = Literal["litert", "litert-int8", "tensorflow"]
BACKENDS: tuple[Backend, ...] = ("litert", "litert-int8", "tensorflow")


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What an evaluator says about a batch of boards."""

    values: np.ndarray
    """float32 ``(N,)``, each from the side to move in its board, in [-1, 1]."""

    policy: np.ndarray | None = None
    """float32 ``(N, 4096)`` logits in the mover's frame, or ``None`` without a policy head."""


class Evaluator(Protocol):
    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        """Values (side to move) and optional policy for *boards*; blocks until done."""
        ...


def material_values(packed: np.ndarray, *, scale: float = targets.LICHESS_SCALE) -> np.ndarray:
    """``tanh(scale * material balance)`` from the side to move, for packed boards."""
    counts = np.bitwise_count(packed["pieces"].astype(np.uint64)).astype(np.int64)
    white_cp = counts[:, :6] @ PIECE_VALUES_CP - counts[:, 6:] @ PIECE_VALUES_CP
    return targets.white_to_side_to_move(targets.cp_to_value(white_cp, scale=scale), packed["turn"])


class MaterialEvaluator:
    """Material count through the lichess tanh: the baseline every network must beat."""

    def __init__(self, *, scale: float = targets.LICHESS_SCALE) -> None:
        self.scale = scale

    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        if not boards:
            return Evaluation(np.zeros(0, np.float32))
        values = material_values(pack_boards(boards), scale=self.scale)
        return Evaluation(values.astype(np.float32))


class RandomEvaluator:
    """A fixed pseudo-random value per position (the same board always gets the same)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        keys = np.array([chess.polyglot.zobrist_hash(b) for b in boards], dtype=np.uint64)
        rng_values = (keys ^ np.uint64(self.seed * 0x9E3779B97F4A7C15 % 2**64)) >> np.uint64(11)
        values = rng_values.astype(np.float64) / 2.0**53 * 2.0 - 1.0
        return Evaluation(values.astype(np.float32))


def search_backend(path: str | os.PathLike[str]) -> Backend:
    """The backend search should use for the network at *path*: its int8 file when it
    has one (several times the float32 speed at search batch sizes), else float32."""
    return "litert-int8" if INT8_KEY in read_sidecar(path)["files"] else "litert"


class NetworkEvaluator:
    """A trained network from its run directory (or ``model.json``), checked by its sidecar."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        backend: Backend = "litert",
        threads: int | None = None,
    ) -> None:
        self.sidecar = read_sidecar(path)
        directory = Path(self.sidecar["directory"])
        self.has_policy = "policy" in self.sidecar.get("heads", ["value"])
        self.backend = backend
        files = self.sidecar["files"]
        if backend == "litert":
            self._run = _LiteRTRunner(directory / files["tflite"], threads)
        elif backend == "litert-int8":
            if INT8_KEY not in files:
                raise ValueError(f"{directory}: this network has no int8 file; make one with "
                                 f"`boardeval quantize {directory}`")  # fmt: skip
            self._run = _LiteRTRunner(directory / files[INT8_KEY], threads)
        elif backend == "tensorflow":
            self._run = _TensorFlowRunner(directory / files["keras"])
        else:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        if not boards:
            return Evaluation(np.zeros(0, np.float32))
        return self.evaluate_planes(encode_boards(boards))

    def evaluate_planes(self, planes: np.ndarray) -> Evaluation:
        """The network on ready-made planes ``(N, 8, 8, NUM_PLANES)``: one call."""
        outputs = self._run(np.ascontiguousarray(planes, dtype=np.float32))
        policy = outputs.get("policy") if self.has_policy else None
        return Evaluation(outputs["value"].reshape(-1), policy)


def _bucket(size: int) -> int:
    """The padded batch size for *size*: the next power of two."""
    return 1 << max(size - 1, 0).bit_length()


class _LiteRTRunner:
    """One LiteRT interpreter per power-of-two batch size, so none is ever re-allocated."""

    def __init__(self, path: Path, threads: int | None) -> None:
        if not path.exists():
            raise ValueError(f"{path}: missing; train with the LiteRT export or use the "
                             "tensorflow backend")  # fmt: skip
        from ai_edge_litert.interpreter import Interpreter

        self._model = path.read_bytes()
        self._interpreter_class = Interpreter
        self._threads = threads
        self._runners: dict[int, tuple[object, int, dict[str, int]]] = {}

    def _runner(self, size: int) -> tuple[object, int, dict[str, int]]:
        if size not in self._runners:
            interpreter = self._interpreter_class(model_content=self._model,
                                                  num_threads=self._threads)  # fmt: skip
            # The signature names the outputs ("value", "policy"); the runner itself
            # must be gone before resizing, as it holds views of the tensors.
            runner = interpreter.get_signature_runner("serving_default")
            (input_detail,) = runner.get_input_details().values()
            outputs = {name: d["index"] for name, d in runner.get_output_details().items()}
            del runner
            interpreter.resize_tensor_input(input_detail["index"], (size, 8, 8, NUM_PLANES))
            interpreter.allocate_tensors()
            self._runners[size] = (interpreter, input_detail["index"], outputs)
        return self._runners[size]

    def __call__(self, planes: np.ndarray) -> dict[str, np.ndarray]:
        count = len(planes)
        size = _bucket(count)
        interpreter, input_index, outputs = self._runner(size)
        if size != count:
            padded = np.zeros((size, 8, 8, NUM_PLANES), np.float32)
            padded[:count] = planes
            planes = padded
        interpreter.set_tensor(input_index, planes)  # type: ignore[attr-defined]
        interpreter.invoke()  # type: ignore[attr-defined]
        return {
            name: interpreter.get_tensor(index)[:count].copy()  # type: ignore[attr-defined]
            for name, index in outputs.items()
        }


def run_litert_file(path: Path, planes: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
    """The outputs of the LiteRT file at *path* on *planes*, *batch* positions a call."""
    run = _LiteRTRunner(path, None)
    chunks = [run(planes[start : start + batch]) for start in range(0, len(planes), batch)]
    return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}


class _TensorFlowRunner:
    """The Keras model behind a ``tf.function`` with a fixed signature: traced once."""

    def __init__(self, path: Path) -> None:
        import tensorflow as tf

        from engine.network_files import load_keras_network

        model, _ = load_keras_network(path.parent)
        signature = [tf.TensorSpec((None, 8, 8, NUM_PLANES), tf.float32)]
        self._function = tf.function(lambda planes: model(planes, training=False),
                                     input_signature=signature)  # fmt: skip

    def __call__(self, planes: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self._function(planes)
        return {name: np.asarray(tensor) for name, tensor in outputs.items()}


def position_key(board: chess.Board) -> int:
    """A 64-bit key of what the network sees in *board*: pieces, side to move, castling
    rights and a capturable en passant square; not the move counters.

    What ``chess.polyglot.zobrist_hash`` covers, at a thirtieth of its cost (it runs
    once per evaluated position in search)."""
    en_passant = board.ep_square if board.ep_square is not None and board.has_legal_en_passant() \
        else None  # fmt: skip
    return hash((board.pawns, board.knights, board.bishops, board.rooks, board.queens,
                 board.kings, board.occupied_co[chess.WHITE], board.occupied_co[chess.BLACK],
                 board.turn, board.clean_castling_rights(), en_passant))  # fmt: skip


class CachedEvaluator:
    """An evaluator with a bounded LRU cache keyed by :func:`position_key`.

    Transpositions share an entry; move counters do not enter the key. Thread-safe.
    """

    def __init__(self, inner: Evaluator, *, max_entries: int = 1 << 18) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.inner = inner
        self.max_entries = max_entries
        self._cache: collections.OrderedDict[int, tuple[float, np.ndarray | None]] = (
            collections.OrderedDict()
        )
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        keys = [position_key(board) for board in boards]
        with self._lock:
            entries = {key: self._cache[key] for key in keys if key in self._cache}
        missing = [index for index, key in enumerate(keys) if key not in entries]
        # The inner call runs unlocked, so concurrent callers' misses can batch together.
        if missing:
            fresh = self.inner.evaluate([boards[index] for index in missing])
            for row, index in enumerate(missing):
                policy = fresh.policy[row] if fresh.policy is not None else None
                entries[keys[index]] = (float(fresh.values[row]), policy)
        with self._lock:
            self.misses += len(missing)
            self.hits += len(boards) - len(missing)
            for key in keys:
                self._cache[key] = entries[key]
                self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        rows = [entries[key] for key in keys]
        values = np.array([value for value, _ in rows], dtype=np.float32)
        has_policy = bool(rows) and rows[0][1] is not None
        policy = np.stack([p for _, p in rows]) if has_policy else None
        return Evaluation(values, policy)
