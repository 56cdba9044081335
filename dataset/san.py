"""A fast path for reading the common SAN moves, with python-chess as the reference.

``Board.parse_san`` generates legal moves to resolve every SAN, which is most of the
pipeline's parse time. Most moves in real games are simple: a piece that only one
piece of its kind can make, a pawn push, a pawn capture. For those, bitboards find
the one candidate and a single legality check confirms it; anything else (castling,
promotions, disambiguation, en passant, more than one candidate, illegal moves)
falls back to ``parse_san``, so errors are exactly python-chess's.
"""

from __future__ import annotations

import re

import chess

_PIECE_MOVE = re.compile(r"([NBRQK])(x?)([a-h][1-8])[+#]?\Z")
_PAWN_PUSH = re.compile(r"([a-h][1-8])[+#]?\Z")
_PAWN_CAPTURE = re.compile(r"([a-h])x([a-h][1-8])[+#]?\Z")
_PIECE_TYPES = {"N": chess.KNIGHT, "B": chess.BISHOP, "R": chess.ROOK, "Q": chess.QUEEN,
                "K": chess.KING}  # fmt: skip


def parse_san(board: chess.Board, san: str) -> chess.Move:
    """The move *san* on *board*: the same result, or the same error, as ``board.parse_san``."""
    move = _simple_move(board, san)
    if move is not None and not board.is_into_check(move):
        return move
    return board.parse_san(san)


def _simple_move(board: chess.Board, san: str) -> chess.Move | None:
    """The only pseudo-legal move *san* can mean, or ``None`` to defer to python-chess."""
    turn = board.turn
    ours = board.occupied_co[turn]
    theirs = board.occupied_co[not turn]
    first = san[0]
    if first in _PIECE_TYPES:
        match = _PIECE_MOVE.match(san)
        if match is None:
            return None
        to_square = chess.parse_square(match[3])
        target = chess.BB_SQUARES[to_square]
        if target & ours or bool(target & theirs) != bool(match[2]):
            return None
        candidates = board.pieces_mask(_PIECE_TYPES[first], turn) & board.attackers_mask(
            turn, to_square
        )
        if candidates == 0 or candidates & (candidates - 1):  # none, or more than one
            return None
        return chess.Move(chess.lsb(candidates), to_square)

    pawns = board.pawns & ours
    step = 8 if turn == chess.WHITE else -8
    match = _PAWN_PUSH.match(san)
    if match is not None:
        to_square = chess.parse_square(match[1])
        if chess.square_rank(to_square) in (0, 7) or chess.BB_SQUARES[to_square] & board.occupied:
            return None  # promotions need their piece; occupied squares are not pushes
        from_square = to_square - step
        if 0 <= from_square < 64 and pawns & chess.BB_SQUARES[from_square]:
            return chess.Move(from_square, to_square)
        double_rank = 3 if turn == chess.WHITE else 4
        from_square = to_square - 2 * step
        if (
            chess.square_rank(to_square) == double_rank
            and pawns & chess.BB_SQUARES[from_square]
            and not board.occupied & chess.BB_SQUARES[to_square - step]
        ):
            return chess.Move(from_square, to_square)
        return None

    match = _PAWN_CAPTURE.match(san)
    if match is not None:
        to_square = chess.parse_square(match[2])
        if chess.square_rank(to_square) in (0, 7) or not chess.BB_SQUARES[to_square] & theirs:
            return None  # promotions and en passant go to python-chess
        from_square = chess.square(chess.FILE_NAMES.index(match[1]),
                                   chess.square_rank(to_square) - step // 8)  # fmt: skip
        if abs(chess.square_file(from_square) - chess.square_file(to_square)) != 1:
            return None
        if pawns & chess.BB_SQUARES[from_square]:
            return chess.Move(from_square, to_square)
    return None
