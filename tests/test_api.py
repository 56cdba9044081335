from __future__ import annotations

import concurrent.futures

import chess
import numpy as np
import pytest

import engine
from engine import targets
from engine.positions import PositionError

ROOK_UP_BLACK_TO_MOVE = "4k3/8/8/8/8/8/8/R3K3 b - - 0 1"
WHITE_MATES_IN_ONE = "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1"


@pytest.fixture(scope="module")
def material() -> engine.Engine:
    return engine.load("material")


@pytest.fixture(scope="module")
def network(policy_network) -> engine.Engine:
    return engine.load(policy_network)


def test_views_are_named_apart(material) -> None:
    result = material.evaluate(ROOK_UP_BLACK_TO_MOVE)
    assert result.cp == 500  # White's view: White is a rook up
    assert result.value == pytest.approx(-np.tanh(targets.LICHESS_SCALE * 500), abs=1e-6)
    win, draw, loss = result.wdl  # side to move: Black is losing
    assert win < loss and win + draw + loss == 1000
    assert result.mate is None and result.fen == ROOK_UP_BLACK_TO_MOVE


def test_game_over_positions(material) -> None:
    mated = material.evaluate("startpos moves f3 e5 g4 Qh4")
    assert (mated.cp, mated.mate, mated.value, mated.wdl) == (None, 0, -1.0, (0, 0, 1000))
    stalemate = material.evaluate("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    assert (stalemate.cp, stalemate.value, stalemate.wdl) == (0, 0.0, (0, 1000, 0))


def test_network_cp_is_the_white_view_of_the_side_to_move_value(network) -> None:
    boards = ["startpos", "startpos moves e2e4", ROOK_UP_BLACK_TO_MOVE, WHITE_MATES_IN_ONE]
    for position in boards:
        result = network.evaluate(position)
        board = chess.Board(result.fen)
        white_value = result.value if board.turn == chess.WHITE else -result.value
        assert result.cp == round(float(targets.value_to_cp(white_value)))
    values = {round(network.evaluate(position).value, 6) for position in boards}
    assert len(values) == len(boards)  # a random net still tells boards apart


def test_evaluate_many_batches_and_keeps_bad_rows(network) -> None:
    small = engine.load(network.name, max_batch=4)
    openings = ["e4", "d4", "c4", "Nf3", "g3", "b3", "f4", "e3", "a3"]
    positions = [f"startpos moves {move}" for move in openings]
    positions[3:3] = ["bad", "startpos moves e5"]
    frame = small.evaluate_many(positions + positions[:2], errors="keep")
    assert list(frame.columns) == ["fen", "cp", "mate", "value", "wdl", "error"]
    assert len(frame) == 13
    assert frame.index[frame["error"].notna()].tolist() == [3, 4]
    assert frame.loc[3, "fen"] == "bad" and "bad FEN" in frame.loc[3, "error"]
    assert "not legal" in frame.loc[4, "error"]
    for row in (0, 5, 10, 11):
        single = network.evaluate(positions[row % 11])
        assert frame.loc[row, "cp"] == single.cp
        assert frame.loc[row, "value"] == pytest.approx(single.value, abs=1e-6)
    assert small.network_calls == 3  # 9 good boards, 4 per call; the repeats are cached
    with pytest.raises(PositionError):
        small.evaluate_many(positions)


@pytest.mark.parametrize(
    ("fen", "mate"), [(WHITE_MATES_IN_ONE, 1), ("r5k1/8/8/8/8/8/5PPP/6K1 b - - 0 1", -1)]
)
def test_analyse_finds_mate_in_one_white_view(material, fen, mate) -> None:
    analysis = material.analyse(fen, nodes=200)
    best = analysis.lines[0]
    board = chess.Board(fen)
    board.push_uci(best.moves[0])
    assert board.is_checkmate()
    assert best.mate == mate and best.cp is None
    assert analysis.best_move == chess.Move.from_uci(best.moves[0])


def test_analyse_multipv_lines_are_legal_and_distinct(network) -> None:
    analysis = network.analyse("startpos moves e4 e5", nodes=120, multipv=3)
    assert analysis.nodes >= 120 and len(analysis.lines) == 3
    assert len({line.moves[0] for line in analysis.lines}) == 3
    for line in analysis.lines:
        board = chess.Board(analysis.fen)
        for move in line.moves:
            board.push_uci(move)  # raises on an illegal PV move
        assert line.cp is not None and sum(line.wdl) == 1000


def test_best_move_and_game_over(network) -> None:
    move = network.best_move("startpos", nodes=50)
    assert move in chess.Board().legal_moves
    assert network.best_move("startpos moves f3 e5 g4 Qh4", nodes=50) is None
    with pytest.raises(ValueError, match="positive"):
        network.analyse("startpos", nodes=0)


def test_concurrent_callers_share_one_model(network) -> None:
    positions = [f"startpos moves {m}" for m in ("e4", "d4", "c4", "Nf3", "g3", "b3", "f4", "e3")]
    expected = [network.evaluate(p).value for p in positions]
    fresh = engine.load(network.name)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda p: fresh.evaluate(p).value, positions))
        searches = list(pool.map(lambda p: fresh.best_move(p, nodes=40), positions))
    assert values == pytest.approx(expected, abs=1e-6)
    for position, move in zip(positions, searches, strict=True):
        board = chess.Board()
        board.push_san(position.split()[-1])
        assert move in board.legal_moves
    assert fresh.network_calls < len(positions) + 8 * 40  # leaves were batched
