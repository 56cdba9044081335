"""The search benchmark: how much of the search's time the network gets, and WAC solved.

Measured in one run: positions the network evaluates per second while searching,
against the bare network's positions per second at the same batch size (their ratio
is the share of time not lost to Python), visits per second, and the Win At Chess
solve rate at a fixed node budget.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import chess
import numpy as np

from engine.encoding import encode_boards
from engine.evaluator import (
    Evaluation,
    Evaluator,
    MaterialEvaluator,
    NetworkEvaluator,
    search_backend,
)
from engine.mcts import MCTS, SearchConfig, SearchLimit, auto_mode


class _Metered:
    """An evaluator that counts the positions it scores and the calls it takes."""

    def __init__(self, inner: Evaluator) -> None:
        self.inner = inner
        self.positions = 0
        self.calls = 0

    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        self.positions += len(boards)
        self.calls += 1
        return self.inner.evaluate(boards)


def _untrained_network(directory: Path) -> Path:
    from engine.model import build_value_network
    from engine.model_config import ModelConfig
    from engine.network_files import write_sidecar

    model = build_value_network(ModelConfig())
    model.export(str(directory / "model.tflite"), format="litert", verbose=False)
    write_sidecar(directory, {"heads": ["value"], "untrained": True})
    return directory


def wac_positions(path: Path) -> list[tuple[chess.Board, list[chess.Move]]]:
    positions = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        board, operations = chess.Board.from_epd(line)
        best_moves = operations.get("bm")
        if best_moves:
            positions.append((board, list(best_moves)))
    return positions


def _bare_speed(network: NetworkEvaluator, planes: np.ndarray) -> float:
    """Positions per second of the bare network on *planes* (one batch, repeated)."""
    network.evaluate_planes(planes)  # warm
    repeats = max(20, 2000 // len(planes))
    start = time.perf_counter()
    for _ in range(repeats):
        network.evaluate_planes(planes)
    return repeats * len(planes) / (time.perf_counter() - start)


def bench_search(
    wac_file: Path,
    *,
    weights: Path | None = None,
    nodes: int = 200,
    positions: int = 300,
    speed_positions: int = 20,
    batch_size: int = 16,
) -> dict[str, Any]:
    """Runs the search measurements side by side; returns the figures.

    A network with an int8 file is measured on it (what search uses) and on float32,
    position by position in turn, so their ratio survives a noisy machine."""
    from engine.network_files import shipped_network

    suite = wac_positions(wac_file)
    weights = weights or shipped_network()
    with tempfile.TemporaryDirectory() as scratch:
        network_dir = weights or _untrained_network(Path(scratch))
        backends = list(dict.fromkeys([search_backend(network_dir), "litert"]))  # search's first
        networks = {name: NetworkEvaluator(network_dir, backend=name) for name in backends}
        mode = auto_mode(networks["litert"].has_policy)
        config = SearchConfig(batch_size=batch_size, mode=mode)

        metered = {name: _Metered(network) for name, network in networks.items()}
        searchers = {name: MCTS(meter, config) for name, meter in metered.items()}
        visits = dict.fromkeys(backends, 0)
        seconds = dict.fromkeys(backends, 0.0)
        for board, _ in suite[:speed_positions]:
            for name, searcher in searchers.items():
                searcher.reset()
                start = time.perf_counter()
                infos = list(searcher.search(board, SearchLimit(nodes=nodes)))
                seconds[name] += time.perf_counter() - start
                visits[name] += infos[-1].nodes

        suite_planes = encode_boards([board for board, _ in suite])  # the bare network's input
        figures: dict[str, dict[str, Any]] = {}
        for name, network in networks.items():
            meter = metered[name]
            mean_batch = max(int(round(meter.positions / max(meter.calls, 1))), 1)
            planes = np.resize(suite_planes, (mean_batch, *suite_planes.shape[1:]))
            bare = _bare_speed(network, planes)  # at the search's batch size
            solver = network if weights else MaterialEvaluator()
            solved = 0
            for board, best_moves in suite[:positions]:
                infos = list(MCTS(solver, config).search(board, SearchLimit(nodes=nodes)))
                solved += infos[-1].best.move in best_moves
            search_network = meter.positions / seconds[name]
            figures[name] = {
                "mean_evaluator_batch": mean_batch,
                "visits_per_s": round(visits[name] / seconds[name], 1),
                "search_network_positions_per_s": round(search_network, 1),
                "network_positions_per_s": round(bare, 1),
                "ratio": round(search_network / bare, 3),
                "wac_solved": solved,
            }

    results: dict[str, Any] = {
        "network": str(weights) if weights else "untrained 4x32 (no shipped network yet)",
        "wac_evaluator": "network" if weights else "material",
        "mode": mode,
        "nodes": nodes,
        "batch_size": batch_size,
        "backend": backends[0],
        **figures[backends[0]],
        "wac_total": min(positions, len(suite)),
    }
    if len(backends) > 1:
        results["float32"] = figures["litert"]
        results["visits_speedup_over_float32"] = round(
            figures[backends[0]]["visits_per_s"] / figures["litert"]["visits_per_s"], 2
        )
    return results
