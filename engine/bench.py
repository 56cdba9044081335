"""``boardeval bench``: speed measurements that print a table and JSON.

Each target measures our code against a baseline in the same run and reports the
ratio; record results with their date in ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")
    pipeline = targets.add_parser("pipeline", help="PGN → shards against python-chess")
    pipeline.add_argument("--file", type=Path, help="a .pgn(.zst) with evals")
    pipeline.add_argument("--skip-file", type=Path, help="a .pgn(.zst) without evals")
    pipeline.add_argument("--games", type=int, default=1500, help="games to parse")
    train = targets.add_parser("train", help="input pipeline + train step against the bare step")
    train.add_argument("--data", type=Path, help="prepared shards (default: a corpus sample)")
    train.add_argument("--model", default="4x32", help="preset, e.g. 4x32 or 6x64")
    train.add_argument("--batch-size", type=int, default=256)
    train.add_argument("--steps", type=int, default=40, help="timed steps per run")
    search = targets.add_parser("search", help="network share of search time, WAC solved")
    search.add_argument("--weights", type=Path, help="a trained network (default: shipped)")
    search.add_argument("--nodes", type=int, default=200, help="visits per position")
    search.add_argument("--positions", type=int, default=300, help="WAC positions to try")
    search.add_argument("--batch-size", type=int, default=16)
    api = targets.add_parser("api", help="static evaluations/s: HTTP against the Python API")
    api.add_argument("--weights", type=Path, help="network (default: the shipped one)")
    api.add_argument("--positions", type=int, default=4096, help="distinct real-game positions")
    api.add_argument("--batch-size", type=int, default=64, help="positions per request")
    api.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    for target in (pipeline, train, search, api):
        target.add_argument("--json", action="store_true", help="print only the JSON")


def run(args: argparse.Namespace) -> int:
    if args.target == "pipeline":
        from dataset import bench as dataset_bench

        results = dataset_bench.bench_pipeline(
            args.file or dataset_bench.DEFAULT_EVAL_FILE,
            args.skip_file or dataset_bench.DEFAULT_SKIP_FILE,
            max_games=args.games,
        )
    elif args.target == "train":
        from dataset.bench import DEFAULT_EVAL_FILE
        from engine.train_bench import bench_train

        results = bench_train(
            args.data,
            DEFAULT_EVAL_FILE,
            model=args.model,
            batch_size=args.batch_size,
            steps=args.steps,
        )
    elif args.target == "search":
        from dataset.bench import DATA
        from engine.search_bench import bench_search

        results = bench_search(
            DATA / "suites" / "wac.epd",
            weights=args.weights,
            nodes=args.nodes,
            positions=args.positions,
            batch_size=args.batch_size,
        )
    elif args.target == "api":
        from dataset.bench import DEFAULT_EVAL_FILE
        from engine.api_bench import bench_api, real_game_positions

        positions = real_game_positions(DEFAULT_EVAL_FILE, args.positions)
        results = bench_api(positions, weights=args.weights, batch_size=args.batch_size,
                            clients=args.clients)  # fmt: skip
    else:  # argparse restricts the choices
        raise ValueError(f"unknown bench target {args.target}")
    results = {"target": args.target, "machine": _machine(), **results}
    if not args.json:
        print(format_table(results), file=sys.stderr)
    print(json.dumps(results))
    return 0


def _machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}"


def format_table(results: dict[str, Any]) -> str:
    width = max(len(key) for key in results)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in results.items())
