"""Shared fixtures: where the real data lives."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zstandard

TESTS_DATA = Path(__file__).parent / "data"
SHARED_DATA = Path(
    os.environ.get("BOARDEVAL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: the project's real lichess, master and engine data."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set BOARDEVAL_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tests_data() -> Path:
    """Small fixtures committed under ``tests/data``."""
    return TESTS_DATA


@pytest.fixture
def corpus_sample() -> Path:
    """32 real games with Stockfish evals on every move: 24 lichess, 8 master games."""
    return TESTS_DATA / "corpus_sample.pgn.zst"


@pytest.fixture(scope="session")
def corpus_sample_records() -> np.ndarray:
    """The records the parser makes of :func:`corpus_sample`, for comparisons."""
    from dataset.games import GameParser
    from dataset.reader import iter_games

    games = list(iter_games(TESTS_DATA / "corpus_sample.pgn.zst"))
    return GameParser().parse_many(games)[0]


def _recompress_in_blocks(path: Path) -> bytes:
    from dataset.reader import iter_games

    games = list(iter_games(path, require_evals=False))
    compressor = zstandard.ZstdCompressor().compressobj()
    parts = []
    for index, game in enumerate(games):
        parts.append(compressor.compress(game + b"\n\n"))
        if index % 4 == 3:
            parts.append(compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
    parts.append(compressor.flush())
    return b"".join(parts)


def _make_network(
    directory: Path,
    *,
    blocks: int = 1,
    filters: int = 8,
    policy: bool = False,
    kernel_scale: float = 0.0,
    keras_file: bool = False,
) -> Path:
    """Exports a small network as training does (LiteRT + sidecar, optionally .keras).

    With *kernel_scale*, kernels are drawn at random so that boards get different
    values (an untrained net says 0 everywhere).
    """
    from engine.model import build_value_network
    from engine.model_config import ModelConfig
    from engine.network_files import write_sidecar

    model = build_value_network(ModelConfig(blocks=blocks, filters=filters, policy_head=policy))
    if kernel_scale:
        rng = np.random.default_rng(0)
        for weight in model.weights:
            if "kernel" in weight.path:
                weight.assign(rng.normal(0, kernel_scale, weight.shape).astype("float32"))
    if keras_file:
        model.save(directory / "model.keras")
    model.export(str(directory / "model.tflite"), format="litert", verbose=False)
    write_sidecar(directory, {"heads": ["value", "policy"] if policy else ["value"]})
    return directory


@pytest.fixture
def make_network() -> Callable[..., Path]:
    """Builds and exports a small network into a directory (needs TensorFlow and LiteRT)."""
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("tensorflow")
    return _make_network


@pytest.fixture
def recompress_in_blocks() -> Callable[[Path], bytes]:
    """Recompresses a PGN file with a zstd block every 4 games.

    zstd decodes whole blocks only (up to 128 KiB of text); real lichess files have
    thousands, a small fixture compressed in one go has one, so damage tests need this.
    """
    return _recompress_in_blocks


@pytest.fixture(scope="session")
def policy_network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random network with both heads (different values for different boards)."""
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("tensorflow")
    directory = tmp_path_factory.mktemp("policy_network")
    return _make_network(directory, blocks=1, filters=8, policy=True, kernel_scale=0.2)
