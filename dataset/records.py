"""The training record: one evaluated position as a fixed-size 128-byte struct.

A record starts with the packed board of :mod:`engine.encoding`, so the same bytes
decode to planes in numpy and inside ``tf.data`` (``FixedLengthRecordDataset``).
Evals and results are stored raw, from White's view as PGN gives them, next to the
side-to-move value at the default scale; targets for other scales are recomputed
from the raw columns by :class:`engine.targets.TargetConfig`.
"""

from __future__ import annotations

import chess
import numpy as np

from engine.encoding import PACKED_FIELDS

RECORD_FORMAT_VERSION = 1

RECORD_DTYPE = np.dtype(
    PACKED_FIELDS
    + [
        ("move", "<u2"),  # the move played from this position, see encode_move
        ("value", "<f4"),  # eval as value in [-1, 1], side to move, lichess scale
        ("cp", "<i2"),  # eval in centipawns, White's view (0 when mate is set)
        ("mate", "i1"),  # moves to mate, White's view (+ White mates); 0 = no mate
        ("result", "i1"),  # game result, White's view: 1, 0, -1, or UNKNOWN_RESULT
        ("ply", "<u2"),  # half-moves played before this position
        ("white_elo", "<u2"),  # 0 when unknown
        ("black_elo", "<u2"),
        ("game_id", "S10"),  # lichess game id, or a hash of the headers
    ]
)
RECORD_SIZE = RECORD_DTYPE.itemsize
assert RECORD_SIZE == 128, RECORD_SIZE  # the on-disk layout; change RECORD_FORMAT_VERSION

NO_MOVE = 0xFFFF
"""``move`` of a game's last evaluated position when no move followed it."""

MAX_CP = 32000
MAX_MATE = 127


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fixed pseudo-random uint64 per input, vectorised."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def game_id_keys(records: np.ndarray) -> np.ndarray:
    """A pseudo-random uint64 per record, the same for all records of one game."""
    padded = np.zeros((len(records), 16), np.uint8)
    padded[:, :10] = np.ascontiguousarray(records["game_id"]).view(np.uint8).reshape(-1, 10)
    words = padded.view("<u8")
    return mix64(words[:, 0] ^ mix64(words[:, 1]))


def encode_move(move: chess.Move) -> int:
    """A move in 16 bits: from square, to square (6 bits each), promotion piece type."""
    return move.from_square | (move.to_square << 6) | ((move.promotion or 0) << 12)


def decode_move(code: int) -> chess.Move | None:
    """The inverse of :func:`encode_move`; ``None`` for :data:`NO_MOVE`."""
    if code == NO_MOVE:
        return None
    return chess.Move(code & 63, (code >> 6) & 63, (code >> 12) or None)
