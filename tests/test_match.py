"""The match runner: Elo arithmetic, the greedy player, and a short real match."""

from __future__ import annotations

import json
import math

import chess
import chess.pgn
import pytest

from engine.cli import main
from engine.match import GreedyPlayer, MatchResult, TimeControl, load_openings


def test_elo_and_interval_follow_the_logistic_model() -> None:
    even = MatchResult(wins=10, draws=20, losses=10)
    assert even.score == 0.5 and even.elo()[0] == pytest.approx(0.0)
    low, high = even.elo()[1:]
    assert low < 0 < high and low == pytest.approx(-high)
    strong = MatchResult(wins=30, draws=10, losses=10)
    assert strong.elo()[0] == pytest.approx(-400 * math.log10(1 / 0.7 - 1))
    assert strong.likelihood_of_superiority() > 0.99
    assert MatchResult(wins=3).elo()[0] == math.inf


def test_greedy_player_takes_material_and_mates() -> None:
    greedy = GreedyPlayer()
    board = chess.Board("4k3/8/8/3q4/4P3/8/8/4K3 w - - 0 1")
    assert greedy.play(board, None).move == chess.Move.from_uci("e4d5")
    mate = chess.Board("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1")
    assert greedy.play(mate, None).move == chess.Move.from_uci("a1a8")


def test_time_control_parsing() -> None:
    assert TimeControl.parse("10+0.1") == TimeControl(10.0, 0.1)
    with pytest.raises(ValueError, match="10\\+0.1"):
        TimeControl.parse("ten")


def test_openings_come_from_the_books(shared_data) -> None:
    books = shared_data / "books"
    epd = load_openings(books / "noob_3moves.epd.zip", 5)
    pgn = load_openings(books / "8moves_v3.pgn.zip", 3)
    assert len(epd) == 5 and len(pgn) == 3
    assert all(board.is_valid() and board.ply() >= 0 for board in epd + pgn)
    assert all(len(board.move_stack) >= 8 for board in pgn)


def test_a_short_match_writes_pgn_and_reports(tmp_path, shared_data, capsys) -> None:
    pgn = tmp_path / "games.pgn"
    code = main(["match", "boardeval", "greedy", "--openings", "1", "--nodes", "20",
                 "--max-plies", "40", "--pgn", str(pgn), "--json"])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["games"] == 2 == report["wins"] + report["draws"] + report["losses"]
    text = pgn.read_text()
    assert text.count("[Event ") == 2
    assert all(len(game.split()) < 200 for game in text.split("[Event ")[1:])  # 40 plies


def test_games_on_a_clock_record_clocks_and_scores(tmp_path, shared_data) -> None:
    pgn = tmp_path / "games.pgn"
    code = main(["match", "boardeval", "greedy", "--openings", "1", "--tc", "4+0.05",
                 "--max-plies", "12", "--pgn", str(pgn), "--json"])  # fmt: skip
    assert code == 0
    with open(pgn) as file:
        game = chess.pgn.read_game(file)
    nodes = list(game.mainline())
    assert len(nodes) == 12 or game.end().board().is_game_over()  # a quick mate ends it
    assert len(nodes) >= 2
    clocks = [node.clock() for node in nodes]
    assert all(clock is not None and 0 < clock <= 4 + 0.05 * 6 for clock in clocks)
    for node in nodes:  # the engine reports a score; the greedy player does not
        mover = game.headers["White"] if node.turn() == chess.BLACK else game.headers["Black"]
        assert (node.eval() is not None) == (mover == "boardeval"), mover
