"""The fast SAN path gives exactly python-chess's moves and errors."""

from __future__ import annotations

import random

import chess
import pytest

from dataset.san import parse_san


def outcome(board: chess.Board, san: str, parser) -> tuple[chess.Move | None, type | None]:
    try:
        return parser(board, san), None
    except ValueError as error:
        return None, type(error)


def test_every_legal_move_of_perft_marcel_reads_like_python_chess(shared_data) -> None:
    lines = (shared_data / "suites" / "perft-marcel.epd").read_text().splitlines()
    checked = 0
    for line in lines[::3]:
        board = chess.Board(line.split(";")[0].strip())
        for move in board.legal_moves:
            san = board.san(move)
            for variant in (san, san.rstrip("+#")):
                assert parse_san(board, variant) == move, (board.fen(), variant)
                checked += 1
    assert checked > 100_000


@pytest.mark.parametrize(
    ("fen", "san"),
    [
        ("4k3/8/8/8/8/8/4R3/4K2r w - - 0 1", "Rh2"),  # pinned rook would leave the file
        ("4k3/4r3/8/8/8/8/3N4/4K3 w - - 0 1", "Nf3"),  # king in check, knight does not help
        ("4k3/8/8/8/8/8/5q2/4K3 w - - 0 1", "Kf1"),  # walks into the queen's attack
        ("4k3/8/8/8/8/8/8/R3K2R w KQ - 0 1", "Nf3"),  # no such piece
        ("4k3/8/8/8/8/8/4P3/4K3 w - - 0 1", "e5"),  # a pawn cannot jump two ranks from e2 to e5
        ("4k3/8/8/8/8/8/4P3/4K3 w - - 0 1", "exd3"),  # nothing to capture
        ("4k3/8/8/8/8/8/4K3/R6R w - - 0 1", "Rd1"),  # two rooks: must be disambiguated
        (chess.STARTING_FEN, "Qxd2"),  # capture of own piece
        (chess.STARTING_FEN, "e9"),
        (chess.STARTING_FEN, "Zf3"),
    ],
)
def test_illegal_and_garbled_moves_fail_like_python_chess(fen: str, san: str) -> None:
    board = chess.Board(fen)
    expected = outcome(board, san, chess.Board.parse_san)
    assert expected[1] is not None  # the case is really bad
    assert outcome(board, san, parse_san) == expected


def test_special_moves_fall_back_to_python_chess() -> None:
    board = chess.Board("r3k2r/pPpp1ppp/8/3Pp3/8/8/8/R3K2R w KQkq e6 0 1")
    for san in ("dxe6", "bxa8=Q", "b8=N", "O-O", "O-O-O", "Rad1"):
        try:
            expected = board.parse_san(san)
        except ValueError:
            continue
        assert parse_san(board, san) == expected


def test_random_strings_agree_with_python_chess(shared_data) -> None:
    rng = random.Random(0)
    lines = (shared_data / "suites" / "perft-marcel.epd").read_text().splitlines()
    for line in lines[:400]:
        board = chess.Board(line.split(";")[0].strip())
        for _ in range(10):
            san = rng.choice(["", "N", "B", "R", "Q", "K"]) + rng.choice(["", "x"])
            san = rng.choice("abcdefgh") + san if san.startswith("x") else san
            san += rng.choice("abcdefgh") + rng.choice("12345678")
            assert outcome(board, san, parse_san) == outcome(board, san, chess.Board.parse_san)
