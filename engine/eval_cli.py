"""``boardeval eval`` and ``boardeval analyse``: the Python API from a shell.

``eval POSITION`` prints one static evaluation; ``eval --file F --out R.csv`` scores
a CSV (``fen`` column, optional ``moves``), EPD or PGN (every position of every game)
with a progress bar. Rows that cannot be set up stay in the output with an ``error``
column and are counted on stderr, never dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import chess
import chess.pgn

from engine.evaluator import BACKENDS


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("position", nargs="?", help='a FEN, or startpos (append "moves e2e4 …")')
    parser.add_argument("--moves", nargs="+", default=(), help="UCI or SAN moves to play first")
    parser.add_argument("--file", type=Path, help="a .csv (fen column), .epd or .pgn to score")
    parser.add_argument("--out", type=Path, help="CSV to write for --file (default: stdout)")
    parser.add_argument("--batch-size", type=int, default=256, help="positions per network call")
    _add_common(parser)


def add_analyse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("position", help='a FEN, or startpos (append "moves e2e4 …")')
    parser.add_argument("--moves", nargs="+", default=(), help="UCI or SAN moves to play first")
    parser.add_argument("--nodes", type=int, help="search visits (default 800 without --movetime)")
    parser.add_argument("--movetime", type=float, help="search seconds")
    parser.add_argument("--multipv", type=int, default=1, help="lines to show")
    _add_common(parser)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        help="network directory or model.json (default: shipped); "
        "'material' for the material count",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="litert",
                        help="litert-int8: the int8 file the UCI engine searches with")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON")


def run_eval(args: argparse.Namespace) -> int:
    if (args.position is None) == (args.file is None):
        raise ValueError("give either a position or --file (one of them)")
    from engine.api import load

    engine = load(args.weights, backend=args.backend, max_batch=args.batch_size)
    if args.file is not None:
        return _eval_file(engine, args.file, args.out)
    evaluation = engine.evaluate(args.position, list(args.moves))
    if args.json:
        print(json.dumps(evaluation.as_dict()))
        return 0
    score = f"mate {evaluation.mate}" if evaluation.mate is not None else f"{evaluation.cp:+d} cp"
    win, draw, loss = evaluation.wdl
    print(
        f"{evaluation.fen}\n  {score} (White's view)   value {evaluation.value:+.3f}  "
        f"wdl {win}/{draw}/{loss} (side to move)"
    )
    return 0


def run_analyse(args: argparse.Namespace) -> int:
    from engine.api import load

    engine = load(args.weights, backend=args.backend)
    analysis = engine.analyse(
        args.position, list(args.moves), nodes=args.nodes, time=args.movetime, multipv=args.multipv
    )
    if args.json:
        print(json.dumps(analysis.as_dict()))
        return 0
    print(
        f"{analysis.fen}\n  {analysis.nodes} nodes, depth {analysis.depth}, "
        f"{analysis.seconds:.2f} s"
    )
    if not analysis.lines:
        print("  game over: no legal moves")
    board = chess.Board(analysis.fen)
    for rank, line in enumerate(analysis.lines, 1):
        score = f"mate {line.mate:+d}" if line.mate is not None else f"{line.cp:+d} cp"
        san = board.variation_san([chess.Move.from_uci(move) for move in line.moves])
        print(f"  {rank}. {score:>10}  {line.visits:>6} visits  {san}")
    return 0


# --- batch files ------------------------------------------------------------------------


def _eval_file(engine, path: Path, out: Path | None) -> int:
    import pandas as pd
    from tqdm import tqdm

    rows = _read_positions(path)
    todo = rows.index[rows["error"].isna()]
    chunks = []
    step = 4 * engine.max_batch
    with tqdm(total=len(todo), unit="pos", desc="eval", file=sys.stderr) as progress:
        for start in range(0, len(todo), step):
            index = todo[start : start + step]
            scored = engine.evaluate_many(rows.loc[index, _POSITION], errors="keep")
            chunks.append(scored.set_index(index))
            progress.update(len(index))
    output = rows.drop(columns=[_POSITION])
    for column in ("cp", "mate", "value", "wdl"):
        output[column] = None
    if chunks:
        scored = pd.concat(chunks)
        scored["wdl"] = scored["wdl"].map(lambda wdl: "/".join(map(str, wdl)) if wdl else None)
        for column in ("cp", "mate", "value", "wdl", "error"):
            output.loc[scored.index, column] = scored[column]
    output = output[[c for c in output.columns if c != "error"] + ["error"]]
    failed = int(output["error"].notna().sum())
    output.to_csv(sys.stdout if out is None else out, index=False)
    print(
        f"{len(output)} positions: {len(output) - failed} evaluated, {failed} with errors "
        "(kept, see the error column)",
        file=sys.stderr,
    )
    return 0


_POSITION = "_position"
"""The column the API parses (FEN plus moves); not written out."""


def _read_positions(path: Path):
    """The input's columns plus :data:`_POSITION` and ``error``."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "fen" not in frame.columns:
            raise ValueError(f"{path}: a CSV needs a 'fen' column (has {list(frame.columns)})")
        if "error" in frame.columns:
            raise ValueError(f"{path}: the output's 'error' column would overwrite the input's")
        frame[_POSITION] = frame["fen"]
        if "moves" in frame.columns:
            has_moves = frame["moves"].str.strip() != ""
            frame.loc[has_moves, _POSITION] += " moves " + frame.loc[has_moves, "moves"]
        frame["error"] = None
        return frame
    if suffix == ".epd":
        lines = path.read_text(errors="replace").splitlines()
        records = [_epd_row(line) for line in lines if line.strip()]
        return pd.DataFrame(records, columns=["id", "fen", _POSITION, "error"])
    if suffix == ".pgn":
        return pd.DataFrame(
            list(_pgn_rows(path)), columns=["game", "ply", "move", "fen", _POSITION, "error"]
        )
    raise ValueError(f"{path}: unknown file type; use .csv, .epd or .pgn")


def _epd_row(line: str) -> tuple[str, str, str, str | None]:
    fen = " ".join(line.split()[:4])
    identity = line.split(' id "', 1)[1].split('"', 1)[0] if ' id "' in line else ""
    try:
        board, _ = chess.Board.from_epd(line)
    except ValueError as error:
        return identity, fen, fen, f"bad EPD: {error}"
    return identity, board.fen(), board.fen(), None


def _pgn_rows(path: Path) -> Iterator[tuple]:
    """Every position of every game; a game's bad move ends it with an error row."""
    with open(path, errors="replace") as stream:
        number = 0
        while (game := chess.pgn.read_game(stream)) is not None:
            number += 1
            try:
                board = game.board()
            except ValueError as error:  # a bad FEN header: the game has no position
                yield number, 0, "", game.headers.get("FEN", ""), "", f"bad game: {error}"
                continue
            yield number, 0, "", board.fen(), board.fen(), None
            for ply, move in enumerate(game.mainline_moves(), 1):
                san = board.san(move)
                board.push(move)
                yield number, ply, san, board.fen(), board.fen(), None
            for error in game.errors:
                yield number, board.ply() + 1, "", board.fen(), "", f"bad game: {error}"
