"""The ``boardeval`` command: one entry point, one subcommand per job.

Subcommands import their modules only when chosen, so ``boardeval --help`` and the
light commands start without TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="boardeval", description="Chess board evaluation with a residual CNN."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from dataset import prepare  # light: numpy, python-chess, zstandard

    prepare_parser = commands.add_parser(
        "prepare", help="turn lichess PGN(.zst) files into training shards"
    )
    prepare.add_arguments(prepare_parser)
    prepare_parser.set_defaults(run=prepare.run)

    from dataset import labelling

    label_parser = commands.add_parser(
        "label", help="annotate games with [%%eval] from a local UCI engine (Stockfish)"
    )
    labelling.add_arguments(label_parser)
    label_parser.set_defaults(run=labelling.run)

    from engine import train_config

    train_parser = commands.add_parser("train", help="train the value network on shards")
    train_config.add_arguments(train_parser)
    train_parser.set_defaults(run=_run_later("engine.training"))

    quantize_parser = commands.add_parser(
        "quantize", help="add an int8 LiteRT file to a network, for faster search"
    )
    from engine import quantize

    quantize.add_arguments(quantize_parser)
    quantize_parser.set_defaults(run=quantize.run)

    from engine import match

    match_parser = commands.add_parser("match", help="play two players; Elo with error bars")
    match.add_arguments(match_parser)
    match_parser.set_defaults(run=match.run)

    from engine import eval_cli

    eval_parser = commands.add_parser(
        "eval", help="static evaluation of a position or a file of positions"
    )
    eval_cli.add_eval_arguments(eval_parser)
    eval_parser.set_defaults(run=eval_cli.run_eval)

    analyse_parser = commands.add_parser("analyse", help="search a position; lines with scores")
    eval_cli.add_analyse_arguments(analyse_parser)
    analyse_parser.set_defaults(run=eval_cli.run_analyse)

    serve_parser = commands.add_parser("serve", help="HTTP API (lichess cloud-eval compatible)")
    from engine import server_config

    server_config.add_arguments(serve_parser)
    serve_parser.set_defaults(run=_run_later("engine.server"))

    from engine import validate

    validate_parser = commands.add_parser(
        "validate", help="score a network on prepared shards next to the baselines"
    )
    validate.add_arguments(validate_parser)
    validate_parser.set_defaults(run=validate.run)

    uci_parser = commands.add_parser("uci", help="speak UCI on stdin/stdout (boardeval-uci)")
    uci_parser.set_defaults(run=lambda args: importlib.import_module("engine.uci").main())

    from engine import bench

    bench_parser = commands.add_parser("bench", help="measure speed; prints a table and JSON")
    bench.add_arguments(bench_parser)
    bench_parser.set_defaults(run=bench.run)
    return parser


def _run_later(module_name: str) -> Callable[[argparse.Namespace], int]:
    """The ``run`` of *module_name*, imported (with TensorFlow) only when called."""

    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module_name).run(args))

    return run


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, OSError) as error:  # bad input or a missing file: a message, no trace
        print(f"boardeval {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
