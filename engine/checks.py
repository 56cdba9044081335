"""Forcing moves from bitboards, without playing them: checks and winning captures.

``chess.Board.gives_check`` pushes and pops the move (about 25 µs), which made marking
the checks at every expanded node half of the search's time. Here a move checks
directly when the moved piece attacks the enemy king from its target square (with its
origin square vacated), and by discovery when it leaves a line between one of our
sliders and that king. Castling, en passant and promotions, rare and with their own
geometry, still go through ``gives_check``.

A capture "wins" at first sight when the victim is worth at least the capturer or its
square is not defended: no exchange is played out, as a static exchange evaluation
would, because search does that.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import numpy as np


def checking_moves(board: chess.Board, moves: Sequence[chess.Move]) -> np.ndarray:
    """A boolean per move of *moves* (legal in *board*): does it give check?"""
    us = board.turn
    king = board.king(not us)
    result = np.zeros(len(moves), bool)
    if king is None:
        return result
    occupied, ours = board.occupied, board.occupied_co[us]
    pawns, knights, kings = board.pawns, board.knights, board.kings
    bishop_like, rook_like = board.bishops | board.queens, board.rooks | board.queens
    discovering = _discovering_squares(king, occupied, ours, bishop_like & ours,
                                       rook_like & ours)  # fmt: skip
    knight_squares = chess.BB_KNIGHT_ATTACKS[king]
    pawn_squares = chess.BB_PAWN_ATTACKS[not us][king]
    for index, move in enumerate(moves):
        origin, target = move.from_square, move.to_square
        origin_bit, target_bit = chess.BB_SQUARES[origin], chess.BB_SQUARES[target]
        if discovering & origin_bit and not chess.ray(king, origin) & target_bit:
            result[index] = True
        elif (
            move.promotion
            or (kings & origin_bit and board.is_castling(move))
            or (pawns & origin_bit and target == board.ep_square)
        ):
            result[index] = board.gives_check(move)
        elif knights & origin_bit:
            result[index] = bool(knight_squares & target_bit)
        elif pawns & origin_bit:
            result[index] = bool(pawn_squares & target_bit)
        elif not kings & origin_bit:
            after = (occupied & ~origin_bit) | target_bit
            reach = 0
            if bishop_like & origin_bit:
                reach |= chess.BB_DIAG_ATTACKS[king][chess.BB_DIAG_MASKS[king] & after]
            if rook_like & origin_bit:
                reach |= chess.BB_RANK_ATTACKS[king][chess.BB_RANK_MASKS[king] & after]
                reach |= chess.BB_FILE_ATTACKS[king][chess.BB_FILE_MASKS[king] & after]
            result[index] = bool(reach & target_bit)
    return result


def _discovering_squares(king: chess.Square, occupied: int, ours: int, diagonal_sliders: int,
                         line_sliders: int) -> int:  # fmt: skip
    """Our pieces that stand alone between one of our sliders and the enemy king."""
    snipers = chess.BB_DIAG_ATTACKS[king][0] & diagonal_sliders
    snipers |= (chess.BB_RANK_ATTACKS[king][0] | chess.BB_FILE_ATTACKS[king][0]) & line_sliders
    squares = 0
    for sniper in chess.scan_forward(snipers):
        between = chess.between(king, sniper) & occupied
        if between and not between & (between - 1) and between & ours:  # exactly one, ours
            squares |= between
    return squares


PIECE_POINTS = (0, 1, 3, 3, 5, 9, 0)
"""Material by piece type (index 0 unused); a capturing king risks nothing, as it may
only take what is not defended."""


def winning_captures(board: chess.Board, moves: Sequence[chess.Move]) -> np.ndarray:
    """A boolean per move of *moves* (legal in *board*): a capture of a piece worth at
    least the capturer, or of an undefended one (en passant always counts)."""
    result = np.zeros(len(moves), bool)
    them = not board.turn
    theirs = board.occupied_co[them]
    for index, move in enumerate(moves):
        target = move.to_square
        if not theirs & chess.BB_SQUARES[target]:
            result[index] = target == board.ep_square and board.is_en_passant(move)
            continue
        victim = PIECE_POINTS[board.piece_type_at(target)]  # type: ignore[index]
        attacker = PIECE_POINTS[board.piece_type_at(move.from_square)]  # type: ignore[index]
        result[index] = victim >= attacker or not board.is_attacked_by(them, target)
    return result
