"""``boardeval match``: games between two players, with an Elo estimate and error bars.

Players are UCI engines (ours, another network of ours, Stockfish at ``UCI_Elo`` or
``Skill Level``) or the built-in material-greedy one-ply player. Each opening from a
book is played with both colours; the result is W/D/L, the score, the Elo difference
with a 95% interval, and the likelihood of superiority, plus the games as PGN.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import random
import shutil
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import chess
import chess.engine
import chess.pgn
from tqdm import tqdm

from engine.evaluator import MaterialEvaluator

STOCKFISH = shutil.which("stockfish") or "/usr/games/stockfish"


class Player(Protocol):
    name: str

    def play(self, board: chess.Board, limit: chess.engine.Limit) -> chess.engine.PlayResult:
        """The move for *board* (blocking), with the score when the player reports one."""
        ...

    def close(self) -> None: ...


class GreedyPlayer:
    """Takes the move with the best material after it, one ply deep (ties at random)."""

    def __init__(self, seed: int = 0) -> None:
        self.name = "material-greedy"
        self._random = random.Random(seed)
        self._evaluator = MaterialEvaluator()

    def play(self, board: chess.Board, limit: chess.engine.Limit) -> chess.engine.PlayResult:
        return chess.engine.PlayResult(self._choose(board), None)

    def _choose(self, board: chess.Board) -> chess.Move:
        moves = list(board.legal_moves)
        children = []
        for move in moves:
            board.push(move)
            if board.is_checkmate():
                board.pop()
                return move
            children.append(board.copy(stack=False))
            board.pop()
        values = -self._evaluator.evaluate(children).values  # for the mover
        best = values.max()
        return self._random.choice([m for m, v in zip(moves, values, strict=True) if v == best])

    def close(self) -> None:
        pass


class UCIPlayer:
    """A UCI engine process."""

    def __init__(self, name: str, command: list[str], options: dict[str, object]) -> None:
        self.name = name
        self._engine = chess.engine.SimpleEngine.popen_uci(command, timeout=60)
        if options:
            self._engine.configure(options)

    def play(self, board: chess.Board, limit: chess.engine.Limit) -> chess.engine.PlayResult:
        result = self._engine.play(board, limit, info=chess.engine.INFO_SCORE)
        if result.move is None:
            raise ValueError(f"{self.name} returned no move in {board.fen()}")
        return result

    def close(self) -> None:
        self._engine.quit()


def make_player(spec: str, seed: int = 0) -> Player:
    """A player from a spec: ``greedy``, ``boardeval[:RUN_DIR][,Option=value…]`` (UCI
    options, e.g. ``boardeval:,SearchMode=value``), ``stockfish:elo=1350``,
    ``stockfish:skill=5`` or ``uci:/path/to/engine``."""
    kind, _, argument = spec.partition(":")
    if kind == "greedy":
        return GreedyPlayer(seed)
    if kind == "boardeval":
        weights, *settings = argument.split(",")
        options: dict[str, object] = {"WeightsFile": weights} if weights else {}
        for setting in settings:
            name, equals, value = setting.partition("=")
            if not equals:
                raise ValueError(f"{setting!r}: boardeval options are Name=value")
            options[name] = value
        return UCIPlayer(spec, [sys.executable, "-m", "engine.uci"], options)
    if kind == "stockfish":
        options = {"Threads": 1, "Hash": 16}
        for setting in filter(None, argument.split(",")):
            key, _, value = setting.partition("=")
            if key == "elo":
                options.update({"UCI_LimitStrength": True, "UCI_Elo": int(value)})
            elif key == "skill":
                options["Skill Level"] = int(value)
            else:
                raise ValueError(f"unknown stockfish setting {key!r} (elo=N or skill=N)")
        return UCIPlayer(spec, [STOCKFISH], options)
    if kind == "uci":
        return UCIPlayer(spec, [argument], {})
    raise ValueError(f"unknown player {spec!r}")


def load_openings(path: Path, count: int, seed: int = 0) -> list[chess.Board]:
    """*count* opening positions drawn from an EPD or PGN book (zipped or not)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            inner = archive.namelist()[0]
            text = archive.read(inner).decode("utf-8", errors="replace")
        suffix = Path(inner).suffix
    else:
        text, suffix = path.read_text(errors="replace"), path.suffix
    boards: list[chess.Board] = []
    if suffix == ".epd":
        lines = [line for line in text.splitlines() if line.strip()]
        for line in random.Random(seed).sample(lines, min(count, len(lines))):
            try:  # books store full FENs as often as EPD
                boards.append(chess.Board(line.split(";")[0].strip()))
            except ValueError:
                boards.append(chess.Board.from_epd(line)[0])
    else:
        stream = io.StringIO(text)
        while len(boards) < count * 4 and (game := chess.pgn.read_game(stream)) is not None:
            boards.append(game.end().board())
        boards = random.Random(seed).sample(boards, min(count, len(boards)))
    return boards


@dataclasses.dataclass
class MatchResult:
    wins: int = 0
    draws: int = 0
    losses: int = 0

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.5

    def elo(self) -> tuple[float, float, float]:
        """Elo difference of player 1 and its 95% interval (logistic model)."""
        if not self.games:
            return 0.0, -math.inf, math.inf
        score = self.score
        variance = (
            self.wins * (1 - score) ** 2 + self.draws * (0.5 - score) ** 2
            + self.losses * score**2
        ) / self.games  # fmt: skip
        margin = 1.96 * math.sqrt(variance / self.games)
        return _elo(score), _elo(score - margin), _elo(score + margin)

    def likelihood_of_superiority(self) -> float:
        decisive = self.wins + self.losses
        if not decisive:
            return 0.5
        return 0.5 * (1 + math.erf((self.wins - self.losses) / math.sqrt(2 * decisive)))


def json_number(value: float) -> float | None:
    """JSON has no infinity: a 0% or 100% score has no finite Elo (``null``)."""
    return round(value, 1) if math.isfinite(value) else None


def _elo(score: float) -> float:
    if score <= 0:
        return -math.inf
    if score >= 1:
        return math.inf
    return -400 * math.log10(1 / score - 1)


@dataclasses.dataclass(frozen=True)
class TimeControl:
    """A chess clock: *base* seconds for the game plus *increment* per move."""

    base: float
    increment: float

    @classmethod
    def parse(cls, text: str) -> TimeControl:
        base, _, increment = text.partition("+")
        try:
            return cls(float(base), float(increment or 0))
        except ValueError:
            raise ValueError(f"time control must look like 10+0.1, got {text!r}") from None


def play_game(white: Player, black: Player, opening: chess.Board, *,
              nodes: int | None = None, time_control: TimeControl | None = None,
              max_plies: int = 300) -> chess.pgn.Game:  # fmt: skip
    """One game from *opening* at a node limit or on a clock (running out loses).

    Adjudicated a draw after *max_plies* half-moves. Each move carries the mover's
    score as ``[%eval]`` when it reports one and, on a clock, its time left as
    ``[%clk]``, as lichess and cutechess write them.
    """
    board = opening.copy()
    game = chess.pgn.Game.from_board(board)
    game.headers["White"], game.headers["Black"] = white.name, black.name
    node: chess.pgn.GameNode = game
    clocks = {chess.WHITE: time_control.base, chess.BLACK: time_control.base} \
        if time_control else {}  # fmt: skip
    while not board.is_game_over(claim_draw=True) and board.ply() - opening.ply() < max_plies:
        player = white if board.turn == chess.WHITE else black
        if time_control:
            limit = chess.engine.Limit(
                white_clock=clocks[chess.WHITE], black_clock=clocks[chess.BLACK],
                white_inc=time_control.increment, black_inc=time_control.increment,
            )  # fmt: skip
        else:
            limit = chess.engine.Limit(nodes=nodes)
        started = time.monotonic()
        result = player.play(board, limit)
        move = result.move
        if time_control:
            clocks[board.turn] -= time.monotonic() - started
            if clocks[board.turn] < 0:
                game.headers["Result"] = "0-1" if board.turn == chess.WHITE else "1-0"
                game.headers["Termination"] = f"{player.name} lost on time"
                return game
            clocks[board.turn] += time_control.increment
        if move not in board.legal_moves:
            raise ValueError(f"{player.name} played an illegal move {move} in {board.fen()}")
        board.push(move)
        node = node.add_variation(move)
        if "score" in result.info:
            node.set_eval(result.info["score"])
        if time_control:
            node.set_clock(clocks[not board.turn])
    outcome = board.outcome(claim_draw=True)
    game.headers["Result"] = outcome.result() if outcome else "1/2-1/2"
    if outcome is None:
        game.headers["Termination"] = f"adjudicated draw after {max_plies} plies"
    return game


def run_match(first: Player, second: Player, openings: Sequence[chess.Board], *,
              nodes: int | None = None, time_control: TimeControl | None = None,
              max_plies: int = 300, pgn_path: Path | None = None,
              progress: bool = True) -> MatchResult:  # fmt: skip
    """Each opening twice, colours swapped; results from *first*'s point of view."""
    result = MatchResult()
    pgn = open(pgn_path, "w") if pgn_path else None  # noqa: SIM115
    try:
        pairs = [(o, swap) for o in openings for swap in (False, True)]
        for opening, swap in tqdm(pairs, desc="match", disable=not progress, file=sys.stderr):
            white, black = (second, first) if swap else (first, second)
            game = play_game(white, black, opening, nodes=nodes, time_control=time_control,
                             max_plies=max_plies)  # fmt: skip
            outcome = game.headers["Result"]
            first_score = {"1-0": 1.0, "0-1": 0.0}.get(outcome, 0.5)
            if swap:
                first_score = 1.0 - first_score
            if first_score == 1.0:
                result.wins += 1
            elif first_score == 0.0:
                result.losses += 1
            else:
                result.draws += 1
            if pgn:
                print(game, file=pgn, end="\n\n", flush=True)
    finally:
        if pgn:
            pgn.close()
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", help="greedy | boardeval[:RUN_DIR] | stockfish:elo=N | ...")
    parser.add_argument("second", help="the opponent, same forms")
    parser.add_argument("--openings", type=int, default=10, help="openings (2 games each)")
    parser.add_argument("--book", type=Path, help="EPD or PGN book, optionally zipped")
    parser.add_argument("--tc", help="time control BASE+INC in seconds, e.g. 10+0.1")
    parser.add_argument("--nodes", type=int, help="node limit per move instead of a clock")
    parser.add_argument("--pgn", type=Path, help="write the games here")
    parser.add_argument("--max-plies", type=int, default=300,
                        help="adjudicate a draw after this many half-moves")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")


def run(args: argparse.Namespace) -> int:
    if (args.tc is None) == (args.nodes is None):
        raise ValueError("give exactly one of --tc BASE+INC or --nodes N")
    time_control = TimeControl.parse(args.tc) if args.tc else None
    book = args.book
    if book is None:
        from dataset.bench import DATA

        book = DATA / "books" / "noob_3moves.epd.zip"
    openings = load_openings(book, args.openings, args.seed)
    first, second = make_player(args.first, args.seed), make_player(args.second, args.seed + 1)
    try:
        result = run_match(first, second, openings, nodes=args.nodes, time_control=time_control,
                           max_plies=args.max_plies, pgn_path=args.pgn,
                           progress=not args.json)  # fmt: skip
    finally:
        first.close()
        second.close()
    elo, low, high = result.elo()
    report = {
        "first": args.first, "second": args.second, "games": result.games,
        "wins": result.wins, "draws": result.draws, "losses": result.losses,
        "score": round(result.score, 4), "elo": json_number(elo),
        "elo_95": [json_number(low), json_number(high)],
        "los": round(result.likelihood_of_superiority(), 4),
    }  # fmt: skip
    if not args.json:
        print(f"{args.first} vs {args.second}: +{result.wins} ={result.draws} -{result.losses} "
              f"score {result.score:.3f}, Elo {elo:+.0f} [{low:+.0f}, {high:+.0f}], "
              f"LOS {report['los']:.1%}", file=sys.stderr)  # fmt: skip
    print(json.dumps(report))
    return 0
