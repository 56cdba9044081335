"""The pipeline benchmark: our reader and parser against python-chess on the same file.

Every figure comes from one run on one machine, so ratios hold even where
absolute speeds do not (the machines are shared and noisy).
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import chess.pgn
import zstandard

from dataset.prepare import PrepareConfig, prepare
from dataset.reader import ReadCounts, iter_decompressed, iter_games

DATA = Path(
    os.environ.get("BOARDEVAL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
"""The project's shared data (``../shared/data`` beside a checkout, or the variable)."""
DEFAULT_EVAL_FILE = DATA / "corpus" / "lichess_user_export_sf15_1500n.pgn.zst"
DEFAULT_SKIP_FILE = DATA / "games" / "lichess_user_export.pgn.zst"


def _python_chess_loop(path: Path, max_games: int) -> tuple[int, float]:
    """Positions with evals read by a plain ``read_game`` + ``node.eval()`` loop."""
    start = time.perf_counter()
    text = io.TextIOWrapper(io.BufferedReader(_ChunkStream(path)), encoding="utf-8")
    positions = 0
    for _ in range(max_games):
        game = chess.pgn.read_game(text)
        if game is None:
            break
        for node in game.mainline():
            if node.eval() is not None:
                positions += 1
    return positions, time.perf_counter() - start


class _ChunkStream(io.RawIOBase):
    """Our streaming decompression as a file object, so both loops read alike."""

    def __init__(self, path: Path) -> None:
        self._chunks = iter_decompressed(path)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            self._buffer = next(self._chunks, b"")
            if not self._buffer:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _ours(path: Path, max_games: int, workers: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        config = PrepareConfig(workers=workers, max_games=max_games)
        summary = prepare([path], out, config, progress=False)
        return summary.positions(), time.perf_counter() - start


def _bare_zstd(path: Path) -> int:
    """Plain streaming decompression with python-zstandard's own reader: the baseline."""
    size = 0
    with open(path, "rb") as file:
        reader = zstandard.ZstdDecompressor().stream_reader(file)
        while chunk := reader.read(1 << 20):
            size += len(chunk)
    return size


def _best_mb_per_s(function: Any, megabytes: float, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return megabytes / best


def bench_pipeline(
    eval_file: Path = DEFAULT_EVAL_FILE,
    skip_file: Path = DEFAULT_SKIP_FILE,
    *,
    max_games: int = 1500,
) -> dict[str, Any]:
    """Runs every pipeline measurement once, side by side; returns the figures."""
    ours_positions, ours_seconds = _ours(eval_file, max_games, workers=1)
    chess_positions, chess_seconds = _python_chess_loop(eval_file, max_games)
    two_positions, two_seconds = _ours(eval_file, max_games, workers=2)

    megabytes = sum(len(chunk) for chunk in iter_decompressed(skip_file)) / 1e6
    zstd_mb_per_s = _best_mb_per_s(lambda: _bare_zstd(skip_file), megabytes)
    counts = ReadCounts()
    skip_mb_per_s = _best_mb_per_s(
        lambda: list(itertools.islice(iter_games(skip_file, counts=counts), 1)), megabytes
    )

    positions_per_s = ours_positions / ours_seconds
    python_chess_positions_per_s = chess_positions / chess_seconds
    two_workers_positions_per_s = two_positions / two_seconds
    return {
        "eval_file": eval_file.name,
        "skip_file": skip_file.name,
        "games": max_games,
        "positions": ours_positions,
        "python_chess_positions": chess_positions,
        "positions_per_s": round(positions_per_s, 1),
        "python_chess_positions_per_s": round(python_chess_positions_per_s, 1),
        "ratio": round(positions_per_s / python_chess_positions_per_s, 3),
        "two_workers_positions_per_s": round(two_workers_positions_per_s, 1),
        "scaling_2_workers": round(two_workers_positions_per_s / positions_per_s, 3),
        "skip_mb_per_s": round(skip_mb_per_s, 1),
        "zstd_mb_per_s": round(zstd_mb_per_s, 1),
        "skip_ratio": round(skip_mb_per_s / zstd_mb_per_s, 3),
    }
