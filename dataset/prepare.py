"""``boardeval prepare``: lichess PGN(.zst) files in, training shards out.

One reader (this process) streams the inputs, drops games without evals by a raw
text scan and hands batches of game texts to parser processes; results come back
in input order, so the shards are the same for any number of workers. The split,
rebalancing and duplicate removal run here, vectorised, on whole batches.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import itertools
import multiprocessing
import multiprocessing.pool
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dataset.evaldb import EvalDbParser, is_eval_db, iter_lines
from dataset.filters import TIME_CONTROL_CLASSES, GameFilter
from dataset.games import GameParser
from dataset.reader import CorruptInputError, ReadCounts, display_name, iter_games
from dataset.records import RECORD_DTYPE, mix64
from dataset.shards import (
    MANIFEST_NAME,
    SPLITS,
    ShardInfo,
    ShardWriter,
    remove_stale_shards,
    write_manifest,
)
from engine.atomic import write_atomically

VALUE_BINS = np.linspace(-1.0, 1.0, 21)
"""Edges of the eval histogram in ``stats/eval_histogram.csv`` (side-to-move value)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PrepareConfig:
    """How ``prepare`` turns games into shards."""

    game_filter: GameFilter = dataclasses.field(default_factory=GameFilter)
    """Which games to keep."""

    val_fraction: float = 0.05
    """Share of games (by hash of the game id, never by position) put in validation."""

    workers: int = 1
    """Parser processes; 1 parses in this process."""

    positions_per_shard: int = 1 << 18
    """Records per shard file (32 MiB at 128 bytes a record)."""

    dedupe: bool = False
    """Drop a position (pieces, side, castling, en passant) already written in this run."""

    drop_near_zero: float = 0.0
    """Fraction of positions with ``|cp| < near_zero_cp`` to drop (rebalancing)."""

    near_zero_cp: int = 30
    """What counts as a near-zero eval, in centipawns."""

    drop_extreme: float = 0.0
    """Fraction of positions with a mate or ``|cp| >= extreme_cp`` to drop (rebalancing)."""

    extreme_cp: int = 1000
    """What counts as an extreme eval, in centipawns."""

    games_per_batch: int = 128
    """Games sent to a parser process at a time."""

    max_games: int | None = None
    """Stop after this many games with evals (for quick runs)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        for name in ("drop_near_zero", "drop_extreme"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


@dataclasses.dataclass
class PrepareSummary:
    """What a run read, dropped and wrote."""

    counts: collections.Counter[str]
    shards: list[ShardInfo]
    errors: list[str]

    def positions(self, split: str | None = None) -> int:
        return sum(s.positions for s in self.shards if split is None or s.split == split)

    def report(self) -> str:
        """A human-readable summary: games read, kept, skipped by reason, positions."""
        counts = self.counts
        lines = [
            f"games read            {counts['games_read']:>10}",
            f"  without evals       {counts['games_without_evals']:>10}  (skipped by raw scan)",
            f"  parsed              {counts['games_parsed']:>10}",
            f"  kept                {counts['games_kept']:>10}",
        ]
        if counts["evaldb_lines"]:
            lines.append(f"eval-database lines   {counts['evaldb_lines']:>10}")
        for name in sorted(counts):
            if name.startswith("skipped_"):
                lines.append(f"  skipped: {name[8:]:<19}{counts[name]:>8}")
        for name in ("games_truncated_illegal_move", "games_non_utf8"):
            if counts[name]:
                lines.append(f"  {name[6:]:<28}{counts[name]:>8}")
        lines.append(f"positions parsed      {counts['positions']:>10}")
        for name in (
            "positions_without_eval",
            "positions_mate_zero",
            "positions_duplicate",
            "positions_rebalanced",
        ):
            if counts[name]:
                lines.append(f"  dropped: {name[10:]:<19}{counts[name]:>8}")
        lines.append(
            f"positions written     {self.positions():>10}  "
            f"(train {self.positions('train')}, val {self.positions('val')}) "
            f"in {len(self.shards)} shard(s)"
        )
        lines += [f"ERROR: {error}" for error in self.errors]
        return "\n".join(lines)


# --- parser processes -------------------------------------------------------------

Batch = tuple[str, list[bytes]]
"""``("pgn", game texts)`` or ``("evaldb", evaluation-database lines)``."""

_worker_parsers: dict[str, GameParser | EvalDbParser] | None = None


def _start_worker(game_filter: GameFilter) -> None:
    global _worker_parsers
    _worker_parsers = {"pgn": GameParser(game_filter), "evaldb": EvalDbParser()}


def _parse_batch(batch: Batch) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    assert _worker_parsers is not None, "worker not started"
    kind, texts = batch
    parser = _worker_parsers[kind]
    records, hashes = parser.parse_many(texts)
    counts = dict(parser.counts)
    parser.counts.clear()
    return records, hashes, counts


# --- the run ----------------------------------------------------------------------


def _fraction_threshold(fraction: float) -> np.uint64:
    return np.uint64(min(int(fraction * 2.0**64), 2**64 - 1))


class _Run:
    """The state of one prepare run in the reader process."""

    def __init__(self, out_dir: Path, config: PrepareConfig) -> None:
        self.config = config
        self.counts: collections.Counter[str] = collections.Counter()
        self.read = ReadCounts()
        self.errors: list[str] = []
        self.writers = {
            split: ShardWriter(out_dir, split, positions_per_shard=config.positions_per_shard)
            for split in SPLITS
        }
        self.seen: set[int] = set()
        self.value_histogram = {split: np.zeros(len(VALUE_BINS) - 1, np.int64) for split in SPLITS}
        self.mates = {split: [0, 0] for split in SPLITS}  # side to move mates, is mated
        self.results: collections.Counter[tuple[str, int]] = collections.Counter()

    def games(self, inputs: Sequence[str], progress: tqdm) -> Iterator[tuple[str, bytes]]:
        """``(kind, text)``: games with evals, or evaluation-database lines, from every
        input in order; a corrupt input is reported."""
        for path in inputs:
            try:
                if is_eval_db(path):
                    for line in iter_lines(path):
                        yield "evaldb", line
                    progress.update(os.path.getsize(path) if path != "-" else 0)
                    continue
                for game in iter_games(path, counts=self.read, on_read=progress.update):
                    yield "pgn", game
            except CorruptInputError as error:
                self.errors.append(f"{error}; the records before it were kept")

    def add(self, records: np.ndarray, hashes: np.ndarray) -> None:
        config = self.config
        keep = np.ones(len(records), dtype=bool)
        if config.drop_near_zero or config.drop_extreme:
            draw = mix64(hashes ^ mix64(records["ply"].astype(np.uint64)))
            cp = np.abs(records["cp"].astype(np.int32))
            near_zero = (records["mate"] == 0) & (cp < config.near_zero_cp)
            extreme = (records["mate"] != 0) | (cp >= config.extreme_cp)
            keep &= ~(near_zero & (draw < _fraction_threshold(config.drop_near_zero)))
            keep &= ~(extreme & (draw < _fraction_threshold(config.drop_extreme)))
            self.counts["positions_rebalanced"] += int((~keep).sum())
        if config.dedupe:
            for index, key in enumerate(_position_keys(records).tolist()):
                if not keep[index]:
                    continue
                if key in self.seen:
                    keep[index] = False
                    self.counts["positions_duplicate"] += 1
                else:
                    self.seen.add(key)
        records, hashes = records[keep], hashes[keep]
        is_val = hashes < _fraction_threshold(config.val_fraction)
        for split, mask in (("train", ~is_val), ("val", is_val)):
            chosen = records[mask]
            self.writers[split].add(chosen)
            self._add_stats(split, chosen)

    def _add_stats(self, split: str, records: np.ndarray) -> None:
        plain = records["mate"] == 0
        self.value_histogram[split] += np.histogram(records["value"][plain], VALUE_BINS)[0]
        mate_for_mover = np.where(records["turn"] == 1, records["mate"], -records["mate"])
        self.mates[split][0] += int((mate_for_mover > 0).sum())
        self.mates[split][1] += int((mate_for_mover < 0).sum())
        for result, count in zip(*np.unique(records["result"], return_counts=True), strict=True):
            self.results[(split, int(result))] += int(count)

    def write_stats(self, directory: Path) -> None:
        import pandas as pd

        directory.mkdir(exist_ok=True)
        rows = []
        for split in SPLITS:
            for low, high, count in zip(
                VALUE_BINS[:-1], VALUE_BINS[1:], self.value_histogram[split], strict=True
            ):
                rows.append((split, "value", round(low, 2), round(high, 2), int(count)))
            rows.append((split, "mate_for_side_to_move", 1.0, 1.0, self.mates[split][0]))
            rows.append((split, "mate_against_side_to_move", -1.0, -1.0, self.mates[split][1]))
        histogram = pd.DataFrame(rows, columns=["split", "kind", "low", "high", "positions"])
        names = {1: "1-0", 0: "1/2-1/2", -1: "0-1"}
        results = pd.DataFrame(
            [
                (split, names.get(result, "*"), count)
                for (split, result), count in sorted(self.results.items())
            ],
            columns=["split", "result", "positions"],
        )
        counts = pd.DataFrame(sorted(self.counts.items()), columns=["counter", "count"])
        for name, frame in (
            ("eval_histogram", histogram),
            ("results", results),
            ("counts", counts),
        ):
            write_atomically(directory / f"{name}.csv", frame.to_csv(index=False).encode())


def _position_keys(records: np.ndarray) -> np.ndarray:
    """A 64-bit key per record of what makes a position (pieces, side, castling, e.p.)."""
    key = np.zeros(len(records), dtype=np.uint64)
    pieces = records["pieces"].astype(np.uint64)
    for index in range(12):  # 12 bitboards, each mixed in for all records at once
        key = mix64(key ^ pieces[:, index])
    state = (
        (records["turn"].astype(np.uint64) << np.uint64(16))
        | (records["castling"].astype(np.uint64) << np.uint64(8))
        | records["ep_square"].astype(np.uint64)
    )
    return mix64(key ^ state)


def _parse_in_order(
    pool: multiprocessing.pool.Pool, batches: Iterable[list[bytes]], *, ahead: int
) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, int]]]:
    """Parses *batches* in *pool*, in order, with at most *ahead* batches in flight.

    Unlike ``Pool.imap``, which reads its whole input as fast as it can, this keeps
    the reader only a few batches ahead of the parsers, so memory stays flat.
    """
    in_flight: collections.deque[multiprocessing.pool.AsyncResult] = collections.deque()
    for batch in batches:
        in_flight.append(pool.apply_async(_parse_batch, (batch,)))
        if len(in_flight) >= ahead:
            yield in_flight.popleft().get()
    while in_flight:
        yield in_flight.popleft().get()


def _batched(items: Iterable[tuple[str, bytes]], size: int) -> Iterator[Batch]:
    """Runs of *size* texts of one kind."""
    for kind, group in itertools.groupby(items, key=lambda item: item[0]):
        texts = (text for _, text in group)
        while batch := list(itertools.islice(texts, size)):
            yield kind, batch


def prepare(
    inputs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    config: PrepareConfig | None = None,
    *,
    progress: bool = True,
) -> PrepareSummary:
    """Reads *inputs* (``-`` for stdin) and writes shards, manifest and stats to *out_dir*.

    Corrupt input ends that input with an error in the summary; everything read
    before the fault is kept and the other inputs are still read.
    """
    config = config or PrepareConfig()
    paths = [os.fspath(path) for path in inputs]
    for path in paths:
        if path != "-" and not os.path.isfile(path):
            raise ValueError(f"input not found: {path}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Until the new manifest is written, the folder must not pass for a finished one.
    (out / MANIFEST_NAME).unlink(missing_ok=True)

    total = sum(os.path.getsize(path) for path in paths if path != "-")
    bar = tqdm(
        total=total or None,
        unit="B",
        unit_scale=True,
        desc="prepare",
        disable=not progress,
        file=sys.stderr,
    )
    run = _Run(out, config)
    games = run.games(paths, bar)
    if config.max_games is not None:
        games = itertools.islice(games, config.max_games)
    batches = _batched(games, config.games_per_batch)

    pool = None
    if config.workers > 1:
        pool = multiprocessing.get_context("spawn").Pool(
            config.workers, initializer=_start_worker, initargs=(config.game_filter,)
        )
        results = _parse_in_order(pool, batches, ahead=2 * config.workers)
    else:
        _start_worker(config.game_filter)
        results = map(_parse_batch, batches)
    try:
        for records, hashes, counts in results:
            run.counts.update(counts)
            run.add(records, hashes)
            bar.set_postfix(positions=run.counts["positions"], refresh=False)
    finally:
        if pool is not None:
            pool.terminate()
        bar.close()
    run.counts["games_read"] = run.read.games
    run.counts["games_without_evals"] = run.read.without_evals

    shards = [shard for writer in run.writers.values() for shard in writer.close()]
    remove_stale_shards(out, [shard.file for shard in shards])
    run.write_stats(out / "stats")
    write_manifest(
        out,
        {
            "inputs": [display_name(path) for path in paths],
            "config": _config_to_json(config),
            "counts": dict(sorted(run.counts.items())),
            "errors": run.errors,
            "shards": [dataclasses.asdict(shard) for shard in shards],
            "record_dtype": [list(field) for field in RECORD_DTYPE.descr],
        },
    )
    return PrepareSummary(run.counts, shards, run.errors)


def _config_to_json(config: PrepareConfig) -> dict[str, Any]:
    data = dataclasses.asdict(config)
    time_controls = data["game_filter"]["time_controls"]
    if time_controls is not None:
        data["game_filter"]["time_controls"] = sorted(time_controls)
    for name in ("workers", "games_per_batch"):  # how, not what: not part of the data
        data.pop(name)
    return data


# --- command line -----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="IN",
        help=".pgn or .pgn.zst files, lichess evaluation-database .jsonl(.zst), or - for stdin",
    )
    parser.add_argument("--out", required=True, help="output directory for shards")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        help="share of games in validation (default 0.05)",
    )
    parser.add_argument("--min-elo", type=int, help="both players rated at least this")
    parser.add_argument("--max-elo", type=int, help="both players rated at most this")
    parser.add_argument(
        "--time-control",
        action="append",
        choices=TIME_CONTROL_CLASSES,
        dest="time_controls",
        help="keep this class (repeatable)",
    )
    parser.add_argument("--min-ply", type=int, default=0, help="minimum game length")
    parser.add_argument("--skip-bots", action="store_true", help="drop games with BOT players")
    parser.add_argument("--dedupe", action="store_true", help="drop repeated positions")
    parser.add_argument(
        "--drop-near-zero",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="drop this fraction of |eval| < --near-zero-cp",
    )
    parser.add_argument("--near-zero-cp", type=int, default=30)
    parser.add_argument(
        "--drop-extreme",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="drop this fraction of mates and |eval| >= --extreme-cp",
    )
    parser.add_argument("--extreme-cp", type=int, default=1000)
    parser.add_argument("--positions-per-shard", type=int, default=1 << 18)
    parser.add_argument("--max-games", type=int, help="stop after this many games with evals")
    parser.add_argument("--workers", type=int, default=1, help="parser processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    config = PrepareConfig(
        game_filter=GameFilter(
            min_elo=args.min_elo,
            max_elo=args.max_elo,
            time_controls=frozenset(args.time_controls) if args.time_controls else None,
            min_ply=args.min_ply,
            skip_bots=args.skip_bots,
        ),
        val_fraction=args.val_fraction,
        workers=args.workers,
        positions_per_shard=args.positions_per_shard,
        dedupe=args.dedupe,
        drop_near_zero=args.drop_near_zero,
        near_zero_cp=args.near_zero_cp,
        drop_extreme=args.drop_extreme,
        extreme_cp=args.extreme_cp,
        max_games=args.max_games,
    )
    summary = prepare(args.inputs, args.out, config, progress=not args.quiet)
    print(summary.report(), file=sys.stderr)
    return 1 if summary.errors else 0
