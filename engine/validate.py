"""``boardeval validate``: score a trained network on prepared shards, next to the baselines.

Training validates on its own data's validation split; this scores any network on
any prepared directory (for instance real-game and self-play positions separately)
through the same LiteRT runtime that search uses, against the Stockfish eval target.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from engine import targets, validation
from engine.encoding import unpack_planes
from engine.evaluator import BACKENDS, Backend, NetworkEvaluator, material_values
from engine.moves import move_indices


def scored_positions(data: Path, split: str = "val", *,
                     positions: int = 50_000) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Records of *data*'s *split* (whole games, about *positions* positions) that carry
    a Stockfish eval, and that eval as a value for the side to move."""
    from dataset.shards import sample_games

    records = sample_games(data, split, positions=positions)  # type: ignore[arg-type]
    if not len(records):
        raise ValueError(f"{data}: no {split} positions")
    target = targets.TargetConfig().compute(
        cp=records["cp"], mate=records["mate"], white_result=records["result"], turn=records["turn"]
    )
    keep = np.isfinite(target)
    return records[keep], target[keep]


def score_network(
    weights: str | Path | None,
    data: Path,
    *,
    split: str = "val",
    positions: int = 50_000,
    backend: Backend = "litert",
) -> dict:
    """Value metrics of the network, the mean predictor and material count on *data*'s
    *split* (whole games, about *positions* positions); policy accuracy when it has one."""
    from engine.network_files import default_network

    records, target = scored_positions(data, split, positions=positions)
    network = NetworkEvaluator(default_network() if weights is None else weights, backend=backend)
    values, top_moves = [], []
    for start in range(0, len(records), 1024):
        evaluation = network.evaluate_planes(unpack_planes(records[start : start + 1024]))
        values.append(evaluation.values)
        if evaluation.policy is not None:
            top_moves.append(evaluation.policy.argmax(axis=1))
    prediction = np.concatenate(values)
    report = {
        "data": str(data),
        "split": split,
        "positions": int(len(records)),
        "backend": backend,
        "network": validation.value_metrics(prediction, target),
        "mean": validation.value_metrics(np.full_like(target, target.mean()), target),
        "material": validation.value_metrics(material_values(records), target),
    }
    if top_moves:
        played = move_indices(records["move"], records["turn"])
        known = played >= 0
        report["policy_top1"] = float((np.concatenate(top_moves)[known] == played[known]).mean())
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", help="network directory or model.json (default: shipped)")
    parser.add_argument("--data", required=True, type=Path, help="directory from `prepare`")
    parser.add_argument("--split", choices=("val", "train"), default="val")
    parser.add_argument("--backend", choices=BACKENDS, default="litert",
                        help="litert-int8: the int8 file search uses")  # fmt: skip
    parser.add_argument("--positions", type=int, default=50_000, help="about this many")
    parser.add_argument("--json", action="store_true", help="print only the JSON")


def run(args: argparse.Namespace) -> int:
    report = score_network(args.weights, args.data, split=args.split, positions=args.positions,
                           backend=args.backend)  # fmt: skip
    if not args.json:
        names = ("r2", "mae_cp", "mae_win_percent", "sign_accuracy", "prediction_std")
        print(f"{report['data']} ({report['split']}, {report['positions']} positions)")
        print(f"{'':>16} {'network':>10} {'mean':>10} {'material':>10}")
        for name in names:
            row = [report[column][name] for column in ("network", "mean", "material")]
            print(f"{name:>16} " + " ".join(f"{value:10.4f}" for value in row))
        if "policy_top1" in report:
            print(f"{'policy top-1':>16} {report['policy_top1']:10.4f}")
    json.dump(report, sys.stdout)
    print()
    return 0
