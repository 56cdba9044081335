"""``boardeval label``: annotate games with a local UCI engine, in lichess's format.

Only about 6% of lichess games carry ``[%eval]``. This writes the others back with
``{ [%eval 0.17] }`` / ``{ [%eval #-3] }`` (White's view, as lichess does) after every
move that leaves a legal move to play, the original headers kept plus ``Annotator``
naming the engine and limit, so ``boardeval prepare`` reads them like the database.

- ``--workers N`` engine processes (one game at a time each); output in input order.
- Resumable: games already in the output (by lichess id, else by their main headers)
  are skipped, and a tail cut off by a kill is dropped and redone.
- An engine that dies or stops answering is restarted and the game retried; a game
  that fails every retry is counted and skipped, and the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import dataclasses
import io
import multiprocessing
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import chess
import chess.engine
import chess.pgn
import zstandard

from dataset.games import game_key, parse_headers
from dataset.reader import CorruptInputError, display_name, iter_games

STOCKFISH = "/usr/games/stockfish"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelConfig:
    """How games are labelled."""

    engine: str = STOCKFISH
    """A UCI engine binary."""

    nodes: int | None = None
    """Nodes per position (give this or ``depth``)."""

    depth: int | None = None
    """Depth per position."""

    workers: int = 1
    """Engine processes labelling games in parallel."""

    threads: int = 1
    """``Threads`` of each engine."""

    hash_mb: int = 16
    """``Hash`` of each engine, MiB."""

    overwrite: bool = False
    """Relabel games that already carry evals (kept as they are otherwise)."""

    timeout: float = 30.0
    """Seconds a position may take before the engine counts as hung."""

    retries: int = 2
    """Restarts of a failed engine per game before the game is skipped."""

    def __post_init__(self) -> None:
        if (self.nodes is None) == (self.depth is None):
            raise ValueError("give exactly one of --nodes and --depth")
        if (self.nodes or self.depth or 0) < 1 or self.workers < 1:
            raise ValueError("--nodes, --depth and --workers must be positive")

    @property
    def limit(self) -> chess.engine.Limit:
        return chess.engine.Limit(nodes=self.nodes, depth=self.depth)

    @property
    def limit_text(self) -> str:
        return f"nodes={self.nodes}" if self.nodes is not None else f"depth={self.depth}"


class GameFailed(Exception):
    """A game that could not be labelled (unreadable, or every engine attempt failed)."""


_TIMEOUTS = (TimeoutError, concurrent.futures.TimeoutError)  # one class from Python 3.11


class Annotator:
    """One engine process and the games it labels; restarts the engine when it fails."""

    def __init__(self, config: LabelConfig) -> None:
        self.config = config
        self.engine: chess.engine.SimpleEngine | None = None
        self.restarts = 0

    def close(self) -> None:
        if self.engine is not None:
            try:
                self.engine.quit()
            except (chess.engine.EngineError, TimeoutError, OSError):
                self.engine.close()
            self.engine = None

    def _start(self) -> chess.engine.SimpleEngine:
        if self.engine is None:
            engine = chess.engine.SimpleEngine.popen_uci(self.config.engine,
                                                         timeout=self.config.timeout)  # fmt: skip
            options = {"Threads": self.config.threads, "Hash": self.config.hash_mb}
            engine.configure({k: v for k, v in options.items() if k in engine.options})
            self.engine = engine
        return self.engine

    def _kill(self) -> None:
        if self.engine is not None:
            self.engine.close()  # kills the process: a hung engine would ignore quit
            self.engine = None

    def label(self, text: str) -> tuple[str, str, int]:
        """``(status, labelled text, positions)``; status ``labelled`` or ``kept``.

        Raises :class:`GameFailed` for a game that cannot be read or labelled.
        """
        game = chess.pgn.read_game(io.StringIO(text))
        if game is None or game.errors:
            reason = game.errors[0] if game is not None and game.errors else "no game"
            raise GameFailed(f"unreadable game: {reason}")
        nodes = list(game.mainline())
        if not nodes:
            raise GameFailed("no moves")
        if not self.config.overwrite and any(node.eval() is not None for node in nodes):
            return "kept", text.strip() + "\n\n\n", 0
        for attempt in range(self.config.retries + 1):
            try:
                name = self._annotate(game, nodes)
                break
            except (chess.engine.EngineError, *_TIMEOUTS, OSError) as error:
                self._kill()
                if attempt == self.config.retries:
                    raise GameFailed(f"engine failed {attempt + 1} times: {error!r}") from None
                self.restarts += 1
        game.headers["Annotator"] = f"{name} {self.config.limit_text}"
        exporter = chess.pgn.StringExporter(columns=None)
        return "labelled", game.accept(exporter) + "\n\n\n", len(nodes)

    def _analyse(
        self, engine: chess.engine.SimpleEngine, board: chess.Board, game: object
    ) -> chess.engine.InfoDict:
        """``engine.analyse`` with a deadline: python-chess sets none for node or depth
        limits, so a hung engine would block the run for ever.

        The wait, not the analysis, times out: a cancelled analysis makes python-chess
        fail when the killed engine's connection drops, and its thread never ends.
        """
        analysis = engine.protocol.analyse(board, self.config.limit, game=game,
                                           info=chess.engine.INFO_SCORE)  # fmt: skip
        future = asyncio.run_coroutine_threadsafe(analysis, engine.protocol.loop)
        return future.result(self.config.timeout)

    def _annotate(self, game: chess.pgn.Game, nodes: list[chess.pgn.ChildNode]) -> str:
        engine = self._start()
        for node in nodes:
            board = node.board()
            if not any(board.legal_moves):  # mate or stalemate: lichess writes no eval
                node.set_eval(None)
                continue
            node.set_eval(self._analyse(engine, board, game)["score"])
        return str(engine.id.get("name", Path(self.config.engine).name))


# --- one game per task, in this process or a pool ----------------------------------

_annotator: Annotator | None = None


def _init_worker(config: LabelConfig) -> None:
    global _annotator
    _annotator = Annotator(config)


def _label_task(text: str) -> tuple[str, str, int, int]:
    """``(status, text or reason, positions, engine restarts)`` for a pool."""
    assert _annotator is not None
    before = _annotator.restarts
    try:
        status, labelled, positions = _annotator.label(text)
    except GameFailed as error:
        return "failed", str(error), 0, _annotator.restarts - before
    return status, labelled, positions, _annotator.restarts - before


# --- the run ------------------------------------------------------------------------------


def _game_texts(path: Path) -> Iterator[str]:
    for raw in iter_games(path, require_evals=False):
        yield raw.decode("utf-8", errors="replace")


_RESULTS = ("1-0", "0-1", "1/2-1/2", "*")
_COMMENT = re.compile(r"\{[^}]*\}")


def _text_key(text: str) -> str:
    """:func:`game_key`, with the movetext (used only without headers) shorn of comments
    and move numbers, so a game and its labelled copy get the same key."""
    headers, start = parse_headers(text)
    tokens = _COMMENT.sub(" ", text[start:]).split()
    return game_key(headers, " ".join(t for t in tokens if not t[0].isdigit() or t in _RESULTS))


def finished_games(path: Path) -> tuple[list[str], bool]:
    """The complete games already in *path*, and whether a damaged tail followed them."""
    games: list[str] = []
    try:
        for text in _game_texts(path):
            games.append(text)
    except CorruptInputError:
        # The reader hands on the text before the damage, so the last game may be cut
        # short; it is redone rather than trusted.
        return games[:-1], True
    if games and not games[-1].rstrip().endswith(_RESULTS):
        return games[:-1], True  # cut off while being written
    return games, False


class _Output:
    """The output file, appended game by game; ``.zst`` when the name says so."""

    FRAME_GAMES = 32
    """Games per zstd frame: a kill loses at most these (they are redone on resume)."""

    def __init__(self, path: Path, games: list[str], rewrite: bool) -> None:
        self.compressed = path.suffix == ".zst"
        if rewrite:  # drop a damaged tail: write the good games to a new file, then swap
            temporary = path.with_name(path.name + ".tmp")
            with open(temporary, "wb") as handle:
                data = "".join(game.strip() + "\n\n\n" for game in games).encode()
                handle.write(zstandard.ZstdCompressor().compress(data) if self.compressed else data)
            os.replace(temporary, path)
        self.handle = open(path, "ab")  # noqa: SIM115 - closed by close()
        self.compressor = zstandard.ZstdCompressor().compressobj() if self.compressed else None
        self.pending = 0

    def write(self, text: str) -> None:
        data = text.encode()
        if self.compressor is None:
            self.handle.write(data)
            self.handle.flush()
            return
        self.handle.write(self.compressor.compress(data))
        self.pending += 1
        if self.pending >= self.FRAME_GAMES:
            self._end_frame()

    def _end_frame(self) -> None:
        if self.compressor is not None and self.pending:
            self.handle.write(self.compressor.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
            self.compressor = zstandard.ZstdCompressor().compressobj()
            self.pending = 0
        self.handle.flush()

    def close(self) -> None:
        self._end_frame()
        self.handle.close()


def label_file(
    source: Path, out: Path, config: LabelConfig, *, progress: bool = True
) -> Counter[str]:
    """Labels every game of *source* into *out* (resuming it); returns the counts."""
    from tqdm import tqdm

    counts: Counter[str] = Counter()
    done: set[str] = set()
    games, damaged = finished_games(out) if out.exists() else ([], False)
    done.update(_text_key(text) for text in games)
    counts["already_done"] = len(done)
    if damaged:
        counts["damaged_tail_dropped"] = 1

    def todo() -> Iterator[str]:
        try:
            for text in _game_texts(source):
                counts["games_read"] += 1
                if _text_key(text) in done:
                    counts["skipped_done"] += 1
                    continue
                yield text
        except CorruptInputError as error:  # the games before the fault are labelled
            counts["corrupt_input"] += 1
            print(f"boardeval label: {error}; stopping there", file=sys.stderr)

    output = _Output(out, games, rewrite=damaged)
    bar = tqdm(unit="pos", desc=f"label {display_name(source)}", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)  # fmt: skip
    pool = None
    try:
        if config.workers == 1:
            _init_worker(config)
            results = map(_label_task, todo())
        else:
            context = multiprocessing.get_context("spawn")
            pool = context.Pool(config.workers, _init_worker, (config,))
            results = pool.imap(_label_task, todo(), chunksize=1)
        for status, text, positions, restarts in results:
            counts[f"games_{status}"] += 1
            counts["engine_restarts"] += restarts
            if status == "failed":
                print(f"boardeval label: skipped a game: {text}", file=sys.stderr)
                continue
            output.write(text)
            counts["positions_labelled"] += positions
            bar.update(positions)
            bar.set_postfix(games=counts["games_labelled"] + counts["games_kept"])
    finally:
        bar.close()
        output.close()
        if pool is not None:
            pool.terminate()
        if _annotator is not None and config.workers == 1:
            _annotator.close()
    return counts


# --- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help=".pgn or .pgn.zst")
    parser.add_argument("-o", "--out", required=True, type=Path, help=".pgn or .pgn.zst to write")
    parser.add_argument("--engine", default=STOCKFISH, help=f"UCI engine (default {STOCKFISH})")
    limit = parser.add_mutually_exclusive_group(required=True)
    limit.add_argument("--nodes", type=int, help="nodes per position")
    limit.add_argument("--depth", type=int, help="depth per position")
    parser.add_argument("--workers", type=int, default=1, help="engine processes")
    parser.add_argument("--threads", type=int, default=1, help="Threads per engine")
    parser.add_argument("--hash", type=int, default=16, help="Hash per engine, MiB")
    parser.add_argument("--overwrite", action="store_true", help="relabel games with evals")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds per position before the engine counts as hung")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    config = LabelConfig(engine=args.engine, nodes=args.nodes, depth=args.depth,
                         workers=args.workers, threads=args.threads, hash_mb=args.hash,
                         overwrite=args.overwrite, timeout=args.timeout)  # fmt: skip
    if args.input.resolve() == args.out.resolve():
        raise ValueError("the output must be another file than the input")
    counts = label_file(args.input, args.out, config, progress=not args.quiet)
    width = max(map(len, counts), default=0)
    for name, value in sorted(counts.items()):
        print(f"{name:<{width}}  {value}", file=sys.stderr)
    return 0
