"""Turning what users type into boards: FENs, ``startpos``, UCI or SAN moves.

Every failure is a :class:`PositionError` whose message says which part was wrong,
so the HTTP layer can answer 400 with it and the batch CLI can put it in a row.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess

Position = str | chess.Board
"""A FEN, ``startpos``, either followed by ``moves m1 m2 …``, or a board."""


class PositionError(ValueError):
    """A position that cannot be set up: bad FEN, invalid board, illegal move."""


def parse_position(position: Position, moves: Sequence[str] | str | None = None) -> chess.Board:
    """The board after *moves* (UCI or SAN, mixed freely) from *position*.

    *position* may carry its own moves as UCI's ``position`` command writes them:
    ``"startpos moves e2e4 e7e5"``. A board is copied with its move stack, so
    repetitions before it still count.
    """
    if isinstance(position, chess.Board):
        board = position.copy()
        _check_valid(board, board.fen())
    elif isinstance(position, str):
        text, _, inline_moves = position.strip().partition(" moves ")
        if position.strip().endswith(" moves"):
            text = position.strip()[: -len(" moves")]
        board = _board_from_text(text.strip())
        _push_all(board, inline_moves.split())
    else:
        kind = type(position).__name__
        raise PositionError(f"a position is a FEN string or a chess.Board, not {kind}")
    if isinstance(moves, str):
        moves = moves.split()
    _push_all(board, moves or ())
    return board


def _board_from_text(text: str) -> chess.Board:
    if text == "startpos":
        return chess.Board()
    if not text:
        raise PositionError("no position: give a FEN or startpos")
    if text.startswith("fen "):
        text = text[4:].strip()
    fields = text.split()
    if len(fields) == 4:  # EPD-style: no move counters
        fields += ["0", "1"]
    try:
        board = chess.Board(" ".join(fields))
    except ValueError as error:
        raise PositionError(f"bad FEN {text!r}: {error}") from None
    _check_valid(board, text)
    return board


def _check_valid(board: chess.Board, text: str) -> None:
    status = board.status()
    if status != chess.STATUS_VALID:
        raise PositionError(f"invalid position {text!r}: {_describe(status)}")


def _push_all(board: chess.Board, moves: Sequence[str]) -> None:
    for ply, text in enumerate(moves, 1):
        try:
            move = board.parse_uci(text)  # also takes castling written king-takes-rook
        except ValueError:
            try:
                move = board.parse_san(text)
            except ValueError:
                move = chess.Move.null()
        if not move:  # both parsers let a null move through: not a move in a real game
            raise PositionError(f"move {ply} ({text!r}) is not legal in {board.fen()}")
        board.push(move)


def _describe(status: chess.Status) -> str:
    flags = [flag for flag in chess.Status if flag and flag in status]
    names = [flag.name.lower().replace("_", " ") for flag in flags]  # type: ignore[union-attr]
    return ", ".join(names) or "invalid"
