"""Forcing moves: check detection from bitboards agrees with python-chess's
``gives_check``; winning captures by victim, capturer and defence."""

from __future__ import annotations

import random

import chess

from engine.checks import checking_moves, winning_captures


def _positions(shared_data) -> list[chess.Board]:
    lines = (shared_data / "suites" / "perft-marcel.epd").read_text().splitlines()
    boards = [chess.Board(line.split(";")[0].strip()) for line in lines if line.strip()]
    rng = random.Random(3)
    for _ in range(200):  # positions from play too: pins, discoveries, en passant in games
        board = chess.Board()
        for _ in range(rng.randrange(8, 90)):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(rng.choice(moves))
        boards.append(board)
    return boards


def _marked(mark, fen: str) -> set[str]:
    """The legal moves of *fen* that *mark* (``checking_moves``, ``winning_captures``) flags."""
    board = chess.Board(fen)
    moves = list(board.legal_moves)
    return {move.uci() for move, flagged in zip(moves, mark(board, moves), strict=True) if flagged}


def test_agrees_with_gives_check_on_every_legal_move(shared_data) -> None:
    compared, checks = 0, 0
    for board in _positions(shared_data):
        moves = list(board.legal_moves)
        expected = [board.gives_check(move) for move in moves]
        assert checking_moves(board, moves).tolist() == expected, board.fen()
        compared += len(moves)
        checks += sum(expected)
    assert compared > 150_000 and checks > 5_000  # the suite exercises every kind of check


def test_kinds_of_check() -> None:
    cases = {
        "3k4/8/8/8/8/8/8/R3K3 w Q - 0 1": {"e1c1", "a1d1", "a1a8"},  # castling gives check
        "4k3/8/8/8/4N3/8/8/4R1K1 w - - 0 1": {"e4d6", "e4f6", "e4c3", "e4c5", "e4d2", "e4f2",
                                                "e4g3", "e4g5"},  # discovered by the knight
        "4k3/8/8/2KPp2r/8/8/8/8 w - e6 0 1": set(),  # en passant would expose our king
        "8/8/8/1k1Pp2R/8/8/8/4K3 w - e6 0 1": {"d5e6"},  # en passant opens the rook's rank
        "4k3/1P6/8/8/8/8/8/4K3 w - - 0 1": {"b7b8q", "b7b8r"},  # promotions
    }  # fmt: skip
    for fen, expected in cases.items():
        assert _marked(checking_moves, fen) == expected, fen


def test_winning_captures_by_victim_capturer_and_defence() -> None:
    cases = {
        # the pawn takes a knight (worth more); the queen takes the undefended pawn
        # and rook but not the defended knight or pawn; rook takes rook (even)
        "4k3/8/2p5/1n1p4/P1Q4r/8/8/4K2R w - - 0 1": {"a4b5", "c4c6", "c4h4", "h1h4"},
        "4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 1": {"e5d6"},  # en passant
        "4k3/8/8/8/8/8/3q4/4K3 w - - 0 1": {"e1d2"},  # the king takes what is undefended
        "4k3/8/8/8/8/2p5/3q4/4K3 w - - 0 1": set(),  # ...and nothing else
    }  # fmt: skip
    for fen, expected in cases.items():
        assert _marked(winning_captures, fen) == expected, fen
