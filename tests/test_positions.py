from __future__ import annotations

import chess
import pytest

from engine.positions import PositionError, parse_position

ITALIAN = "r1bqkbnr/pppp1ppp/2n5/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R b KQkq - 3 3"


def test_startpos_fen_and_epd() -> None:
    assert parse_position("startpos") == chess.Board()
    assert parse_position(ITALIAN).fen() == ITALIAN
    assert parse_position(f"fen {ITALIAN}").fen() == ITALIAN
    epd = " ".join(ITALIAN.split()[:4])
    assert parse_position(epd).board_fen() == chess.Board(ITALIAN).board_fen()


def test_moves_inline_and_as_argument_uci_and_san_mixed() -> None:
    expected = ITALIAN.split()[:4]
    inline = parse_position("startpos moves e2e4 e7e5 g1f3 b8c6 f1c4")
    assert inline.fen().split()[:4] == expected
    mixed = parse_position("startpos", ["e4", "e7e5", "Nf3", "Nc6", "Bc4"])
    assert mixed.fen().split()[:4] == expected
    assert parse_position("startpos", "e4 e5 Nf3 Nc6 Bc4") == mixed
    assert len(mixed.move_stack) == 5  # repetition history is kept


def test_castling_written_king_takes_rook_is_castling() -> None:
    before = "startpos moves e2e4 e7e5 g1f3 b8c6 f1c4 g8f6"
    assert parse_position(f"{before} e1h1") == parse_position(f"{before} e1g1")
    assert parse_position(f"{before} e1h1").move_stack[-1] == chess.Move.from_uci("e1g1")


def test_a_board_is_copied_with_its_history() -> None:
    board = chess.Board()
    board.push_san("Nf3")
    parsed = parse_position(board, ["Nf6"])
    assert len(board.move_stack) == 1
    assert [m.uci() for m in parsed.move_stack] == ["g1f3", "g8f6"]


@pytest.mark.parametrize(
    ("position", "moves", "message"),
    [
        ("not a fen", None, "bad FEN"),
        ("8/8/8/8/8/8/8/8 w - - 0 1", None, "no white king"),
        ("startpos moves e2e5", None, "move 1 ('e2e5') is not legal"),
        ("startpos", ["e4", "e5", "Ke3"], "move 3 ('Ke3')"),
        ("startpos", ["zz"], "is not legal"),
        ("startpos moves e4 0000", None, "move 2 ('0000') is not legal"),
        ("startpos", ["e4", "--"], "move 2 ('--') is not legal"),
        ("", None, "no position"),
        (chess.Board(None), None, "no white king"),
    ],
)
def test_bad_positions_say_what_is_wrong(position, moves, message) -> None:
    with pytest.raises(PositionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_position(position, moves)


def test_wrong_type_is_a_position_error() -> None:
    with pytest.raises(PositionError, match="not int"):
        parse_position(42)  # type: ignore[arg-type]
