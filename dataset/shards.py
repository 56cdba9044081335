"""Shards on disk: fixed-size records written atomically, a manifest, and readers.

A prepared directory holds ``train-00000.bin``, ``val-00000.bin``, … (raw
:data:`~dataset.records.RECORD_DTYPE` records, readable with ``np.fromfile`` and with
``tf.data.FixedLengthRecordDataset``), ``manifest.json`` and ``stats/*.csv``.
Every file appears whole or not at all: it is written under a temporary name and
renamed into place.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from dataset.records import RECORD_DTYPE, RECORD_FORMAT_VERSION, RECORD_SIZE, game_id_keys
from engine.atomic import write_atomically
from engine.encoding import ENCODING_VERSION, unpack_board

if TYPE_CHECKING:
    import pandas as pd

Split = Literal["train", "val"]
SPLITS: tuple[Split, ...] = ("train", "val")
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "boardeval-shards"
SHARD_NAME = re.compile(r"^(train|val)-\d{5}\.bin$")


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    file: str
    split: Split
    positions: int


class ShardWriter:
    """Collects records of one split and writes them as shards of a fixed size."""

    def __init__(self, directory: Path, split: Split, *, positions_per_shard: int) -> None:
        if positions_per_shard <= 0:
            raise ValueError("positions_per_shard must be positive")
        self.directory = directory
        self.split = split
        self.positions_per_shard = positions_per_shard
        self.shards: list[ShardInfo] = []
        self._pending: list[np.ndarray] = []
        self._pending_count = 0

    def add(self, records: np.ndarray) -> None:
        if not len(records):
            return
        self._pending.append(records)
        self._pending_count += len(records)
        while self._pending_count >= self.positions_per_shard:
            merged = np.concatenate(self._pending)
            self._write(merged[: self.positions_per_shard])
            rest = merged[self.positions_per_shard :]
            self._pending = [rest] if len(rest) else []
            self._pending_count = len(rest)

    def close(self) -> list[ShardInfo]:
        """Writes what is left and returns every shard written."""
        if self._pending_count:
            self._write(np.concatenate(self._pending))
        self._pending, self._pending_count = [], 0
        return self.shards

    def _write(self, records: np.ndarray) -> None:
        name = f"{self.split}-{len(self.shards):05d}.bin"
        write_atomically(self.directory / name, records.astype(RECORD_DTYPE).tobytes())
        self.shards.append(ShardInfo(name, self.split, len(records)))


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    manifest = {
        "format": MANIFEST_FORMAT,
        "record_format_version": RECORD_FORMAT_VERSION,
        "record_size": RECORD_SIZE,
        "encoding_version": ENCODING_VERSION,
        **manifest,
    }
    write_atomically(directory / MANIFEST_NAME, json.dumps(manifest, indent=2).encode() + b"\n")


def load_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a prepared directory, checked against this version's formats."""
    path = Path(directory) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(
            f"{directory}: no {MANIFEST_NAME}; run `boardeval prepare` first"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: not a boardeval shard manifest")
    if manifest.get("record_format_version") != RECORD_FORMAT_VERSION:
        raise ValueError(
            f"{path}: record format {manifest.get('record_format_version')}, this version "
            f"reads {RECORD_FORMAT_VERSION}; prepare the data again"
        )
    if manifest.get("encoding_version") != ENCODING_VERSION:
        raise ValueError(
            f"{path}: encoding version {manifest.get('encoding_version')}, this version "
            f"uses {ENCODING_VERSION}; prepare the data again"
        )
    return manifest


def shard_paths(directory: str | os.PathLike[str], split: Split | None = None) -> list[Path]:
    """The shard files of *split* (all when ``None``), in manifest order."""
    manifest = load_manifest(directory)
    return [
        Path(directory) / shard["file"]
        for shard in manifest["shards"]
        if split is None or shard["split"] == split
    ]


def read_records(
    directory: str | os.PathLike[str], split: Split | None = None, *, limit: int | None = None
) -> np.ndarray:
    """All records of *split* (optionally the first *limit*) as one array in memory."""
    arrays: list[np.ndarray] = []
    remaining = limit
    for path in shard_paths(directory, split):
        if remaining is not None and remaining <= 0:
            break
        count = -1 if remaining is None else remaining
        records = np.fromfile(path, dtype=RECORD_DTYPE, count=count)
        arrays.append(records)
        if remaining is not None:
            remaining -= len(records)
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=RECORD_DTYPE)


def sample_games(directory: str | os.PathLike[str], split: Split, *, positions: int) -> np.ndarray:
    """About *positions* records of *split*: whole games drawn evenly from every shard.

    Taking the first records instead would score a few hundred consecutive games of
    the first input only. Shards are memory-mapped, not read whole.
    """
    arrays = [
        np.memmap(path, dtype=RECORD_DTYPE, mode="r")
        for path in shard_paths(directory, split)
        if path.stat().st_size
    ]
    total = sum(len(array) for array in arrays)
    if total <= positions:
        return np.concatenate(arrays) if arrays else np.empty(0, RECORD_DTYPE)
    threshold = np.uint64(int(positions / total * 2.0**64))
    chosen = [np.asarray(array[game_id_keys(array) < threshold]) for array in arrays]
    return np.concatenate(chosen)  # cutting at exactly *positions* would favour early shards


def records_to_dataframe(records: np.ndarray, *, with_fen: bool = False) -> pd.DataFrame:
    """Labels of *records* as a DataFrame (one row per position); FENs on request (slow)."""
    import pandas as pd

    columns = ("ply", "turn", "value", "cp", "mate", "result", "white_elo", "black_elo", "move")
    frame = pd.DataFrame({name: records[name] for name in columns})
    frame.insert(0, "game_id", np.char.decode(records["game_id"], "ascii"))
    if with_fen:
        frame["fen"] = [unpack_board(record).fen() for record in records]
    return frame


def remove_stale_shards(directory: Path, keep: Sequence[str]) -> list[str]:
    """Deletes shard files of an earlier run that this run did not write."""
    removed = []
    for path in directory.iterdir():
        if SHARD_NAME.match(path.name) and path.name not in keep:
            path.unlink()
            removed.append(path.name)
    return removed
