"""The policy head's move encoding: one index per (from, to) pair in the mover's frame.

``index = from_square * 64 + to_square`` after mirroring Black's moves like the
board (square ^ 56). Promotions share their pawn move's index: the move played
nearly always promotes to a queen.
"""

from __future__ import annotations

import chess
import numpy as np

POLICY_SIZE = 64 * 64
"""Policy logits: ``from_square * 64 + to_square`` in the side to move's frame."""

NO_MOVE_CODE = 0xFFFF
"""The record ``move`` code for "no move followed" (see :mod:`dataset.records`)."""


def move_index(move: chess.Move, turn: chess.Color) -> int:
    """The policy index of *move* played by *turn*."""
    flip = 0 if turn == chess.WHITE else 56
    return (move.from_square ^ flip) * 64 + (move.to_square ^ flip)


UNDERPROMOTION_PENALTY = 3.0
"""Logits taken off a promotion to a knight, bishop or rook (a prior 20 times smaller).

They share the queen promotion's index, so without this the search would give all
four the same prior and could settle on a rook where a queen wins more."""


def legal_move_logits(policy: np.ndarray, moves: list[chess.Move], turn: chess.Color) -> np.ndarray:
    """The policy logits of *moves* (legal for *turn*) from one row of the policy head."""
    logits = policy[[move_index(move, turn) for move in moves]].astype(np.float64)
    under = [i for i, move in enumerate(moves) if move.promotion not in (None, chess.QUEEN)]
    logits[under] -= UNDERPROMOTION_PENALTY
    return logits


def move_indices(moves: np.ndarray, turns: np.ndarray) -> np.ndarray:
    """Policy indices of record ``move`` codes (see :mod:`dataset.records`), mover's frame.

    Black's moves are mirrored like the board (square ^ 56). The no-move code maps
    to -1.
    """
    moves = np.asarray(moves, dtype=np.int64)
    flip = np.where(np.asarray(turns, dtype=bool), 0, 56)
    from_square = (moves & 63) ^ flip
    to_square = ((moves >> 6) & 63) ^ flip
    return np.where(moves == NO_MOVE_CODE, -1, from_square * 64 + to_square)
