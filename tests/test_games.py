"""Game text → records: agreement with python-chess, and every kind of bad game."""

from __future__ import annotations

import io

import chess
import chess.pgn
import numpy as np
import pytest

from dataset.filters import GameFilter
from dataset.games import GameParser, game_hash, game_key, parse_headers
from dataset.reader import iter_games
from dataset.records import NO_MOVE, decode_move
from engine import targets
from engine.encoding import unpack_board

HEADERS = (
    '[Event "Rated Blitz game"]\n[Site "https://lichess.org/AbCdEfGh"]\n[Result "0-1"]\n'
    '[WhiteElo "1500"]\n[BlackElo "1600"]\n[TimeControl "180+2"]\n'
)


def parse(text: str | bytes, game_filter: GameFilter | None = None):
    parser = GameParser(game_filter)
    raw = text.encode() if isinstance(text, str) else text
    records, hashes = parser.parse_many([raw])
    return records, parser.counts


def test_records_agree_with_python_chess_on_real_games(corpus_sample) -> None:
    games = list(iter_games(corpus_sample))
    records, hashes = GameParser().parse_many(games)
    expected = []
    for text in games:
        game = chess.pgn.read_game(io.StringIO(text.decode()))
        for node in game.mainline():
            score = node.eval()
            if score is None:
                continue
            following = node.next()
            expected.append((node.board().fen(), score.white(), following and following.move))
    assert len(records) == len(expected) > 2000
    for record, (fen, score, move) in zip(records, expected, strict=True):
        assert unpack_board(record).fen() == fen
        assert record["mate"] == (score.mate() or 0)
        assert record["cp"] == (score.score() or 0)
        assert decode_move(int(record["move"])) == move
    turn = records["turn"].astype(bool)
    np.testing.assert_allclose(
        records["value"],
        targets.white_to_side_to_move(targets.eval_to_value(records["cp"], records["mate"]), turn),
        rtol=1e-6,
    )
    assert len(set(hashes.tolist())) == len(games)


def test_position_after_a_move_carries_that_moves_eval() -> None:
    records, counts = parse(
        HEADERS + "\n1. e4 { [%eval 0.36] [%clk 0:03:00] } 1... c5 { [%eval #-3] } 0-1"
    )
    assert len(records) == 2 and counts["positions"] == 2
    first, second = records
    assert (
        unpack_board(first).fen()
        == chess.Board("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1").fen()
    )
    assert (first["cp"], first["mate"], first["turn"]) == (36, 0, 0)
    assert first["value"] == pytest.approx(-np.tanh(targets.LICHESS_SCALE * 36))  # Black to move
    assert decode_move(int(first["move"])) == chess.Move.from_uci("c7c5")
    assert (second["mate"], second["value"], second["move"]) == (-3, -1.0, NO_MOVE)  # Black mates
    assert first["result"] == second["result"] == -1
    assert (first["white_elo"], first["black_elo"], first["game_id"]) == (1500, 1600, b"AbCdEfGh")
    assert (first["ply"], second["ply"]) == (1, 2)


def test_illegal_move_keeps_the_positions_before_it() -> None:
    records, counts = parse(
        HEADERS
        + "\n1. e4 { [%eval 0.3] } 1... e5 { [%eval 0.3] } 2. Ke3 { [%eval 0.1] } 2... Nc6 0-1"
    )
    assert len(records) == 2
    assert counts["games_truncated_illegal_move"] == 1 and counts["games_kept"] == 1
    assert decode_move(int(records[1]["move"])) is None or records[1]["move"] == NO_MOVE


@pytest.mark.parametrize("junk", ["Nz9", "e9", "xx", "O-O-O-O", "--"])
def test_garbled_san_ends_the_game_there(junk: str) -> None:
    records, counts = parse(
        HEADERS + f"\n1. d4 {{ [%eval 0.1] }} 1... {junk} {{ [%eval 0.2] }} 2. c4 0-1"
    )
    assert len(records) == 1
    assert counts["games_truncated_illegal_move"] == 1


def test_evals_on_some_moves_only() -> None:
    records, counts = parse(
        HEADERS + "\n1. e4 1... e5 { [%eval 0.25] } 2. Nf3 2... Nc6 { [%eval 0.3] } 0-1"
    )
    assert list(records["ply"]) == [2, 4]
    assert counts["positions_without_eval"] == 2


def test_variations_and_annotations_are_skipped() -> None:
    text = (
        HEADERS
        + "\n1. e4! { [%eval 0.3] } 1... c5?! (1... e5 { [%eval 0.2] } 2. Nf3) { [%eval 0.35] }"
        + " 2. Nf3 $1 { [%eval 0.3] } 0-1"
    )
    records, _ = parse(text)
    assert list(records["cp"]) == [30, 35, 30]
    assert unpack_board(records[1]).fen().startswith("rnbqkbnr/pp1ppppp/8/2p5/4P3")


def test_non_utf8_bytes_are_replaced_and_counted() -> None:
    raw = (HEADERS.replace("Rated", "Rat\xe9d") + "\n1. e4 { [%eval 0.3] } 0-1").encode("latin-1")
    records, counts = parse(raw)
    assert len(records) == 1 and counts["games_non_utf8"] == 1


def test_game_without_headers_is_skipped_and_counted() -> None:
    records, counts = parse("1. e4 { [%eval 0.3] } 1... e5 { [%eval 0.3] } 0-1")
    assert len(records) == 0 and counts["skipped_no_headers"] == 1


def test_from_position_games_start_from_their_fen() -> None:
    fen = "r1bq1b1r/ppp3pp/2n1k3/3np3/2B5/5Q2/PPPP1PPP/RNB1K2R w KQ - 2 8"
    headers = f'[Event "x"]\n[Variant "From Position"]\n[FEN "{fen}"]\n[SetUp "1"]\n'
    text = headers + "\n8. Nc3 { [%eval 5.1] } 1-0"
    records, _ = parse(text)
    expected = chess.Board(fen)
    expected.push_san("Nc3")
    assert unpack_board(records[0]).fen() == expected.fen()


def test_bad_fen_header_is_skipped() -> None:
    records, counts = parse('[Event "x"]\n[FEN "not a fen"]\n\n1. e4 { [%eval 0.1] } *')
    assert len(records) == 0 and counts["skipped_bad_fen"] == 1


def test_mate_in_zero_is_left_to_the_rules() -> None:
    records, counts = parse(
        HEADERS
        + "\n1. f3 { [%eval -0.5] } 1... e5 { [%eval -0.6] } 2. g4 { [%eval #-1] }"
        + " 2... Qh4# { [%eval #0] } 0-1"
    )
    assert len(records) == 3 and counts["positions_mate_zero"] == 1


@pytest.mark.parametrize(
    ("headers", "game_filter", "reason"),
    [
        ('[Variant "Chess960"]', GameFilter(), "variant"),
        ('[WhiteElo "1500"][BlackElo "2100"]', GameFilter(max_elo=2000), "elo"),
        ('[WhiteElo "?"][BlackElo "2100"]', GameFilter(min_elo=1000), "elo_unknown"),
        ('[TimeControl "60+0"]', GameFilter(time_controls=frozenset({"blitz"})), "time_control"),
        ('[WhiteTitle "BOT"]', GameFilter(skip_bots=True), "bot"),
        ('[Event "x"]', GameFilter(min_ply=10), "too_short"),
    ],
)
def test_filters_skip_and_count(headers: str, game_filter: GameFilter, reason: str) -> None:
    text = headers.replace("][", "]\n[") + "\n\n1. e4 { [%eval 0.3] } 1... e5 { [%eval 0.3] } *"
    records, counts = parse(text, game_filter)
    assert len(records) == 0 and counts[f"skipped_{reason}"] == 1
    if reason != "variant":  # other variants are never kept
        kept, _ = parse(text, GameFilter())
        assert len(kept) == 2


def test_game_key_prefers_the_lichess_id() -> None:
    headers, start = parse_headers('[Site "https://lichess.org/AbCdEfGh"]\n[White "a"]\n\n1. e4')
    assert game_key(headers) == "AbCdEfGh" and start > 0
    other, _ = parse_headers('[Event "Olympiad"]\n[White "Adams"]\n[Black "Rogers"]\n')
    assert game_key(other) == "Olympiad||||Adams|Rogers|"
    assert game_hash("AbCdEfGh") == game_hash("AbCdEfGh") != game_hash("AbCdEfGi")


def test_out_of_range_elo_is_unknown_not_a_crash() -> None:
    text = HEADERS.replace('"1500"', '"70000"').replace('"1600"', '"-5"')
    records, counts = parse(text + "\n1. e4 { [%eval 0.3] } 0-1")
    assert len(records) == 1 and (records[0]["white_elo"], records[0]["black_elo"]) == (0, 0)


def test_parsing_stops_at_the_result() -> None:
    # A header-less game glued on after a blank line must not be played on this board.
    text = (
        HEADERS
        + "\n1. e4 { [%eval 0.3] } 1... e5 { [%eval 0.3] } 0-1\n\n1. d4 { [%eval 0.2] } 1... d5 *"
    )
    records, counts = parse(text)
    assert list(records["ply"]) == [1, 2]
    assert counts["games_trailing_text_after_result"] == 1


def test_byte_order_mark_and_leading_blank_lines_are_allowed() -> None:
    records, counts = parse("\ufeff\n\n" + HEADERS + "\n1. e4 { [%eval 0.3] } 0-1")
    assert len(records) == 1 and counts["skipped_no_headers"] == 0


def test_games_without_identifying_headers_are_told_apart_by_their_moves() -> None:
    blank = {"Event": "?", "Site": "?", "Date": "????.??.??", "White": "?", "Black": "?"}
    assert game_key(blank, "1. e4 e5") != game_key(blank, "1. d4 d5")
    named = {"Event": "Olympiad", "White": "Adams", "Black": "Rogers"}
    assert game_key(named, "1. e4 e5") == game_key(named, "1.e4 e5")  # copies stay together
