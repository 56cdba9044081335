"""Evaluators: the seam's contract, backends that agree, and a bounded cache."""

from __future__ import annotations

import json

import chess
import numpy as np
import pytest

from engine import targets
from engine.encoding import encode_boards
from engine.evaluator import CachedEvaluator, MaterialEvaluator, NetworkEvaluator, RandomEvaluator


def boards_of_a_game() -> list[chess.Board]:
    board = chess.Board()
    boards = [board.copy()]
    moves = "e4 d5 exd5 Qxd5 Nc3 Qa5 d4 c6 Nf3 Bg4 Bf4 e6 h3 Bxf3 Qxf3 Bb4 Be2 Nd7 a3 O-O-O"
    for san in moves.split():
        board.push_san(san)
        boards.append(board.copy())
    return boards


def test_material_evaluator_is_from_the_side_to_move() -> None:
    evaluator = MaterialEvaluator()
    start = chess.Board()
    up_a_queen = chess.Board("rnb1kbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1")
    black_to_move = up_a_queen.copy()
    black_to_move.turn = chess.BLACK
    values = evaluator.evaluate([start, up_a_queen, black_to_move]).values
    queen = np.tanh(targets.LICHESS_SCALE * 900)
    np.testing.assert_allclose(values, [0.0, queen, -queen], rtol=1e-6)
    assert evaluator.evaluate([]).values.shape == (0,)


def test_random_evaluator_is_repeatable_and_in_range() -> None:
    boards = boards_of_a_game()
    first = RandomEvaluator(seed=3).evaluate(boards).values
    np.testing.assert_array_equal(first, RandomEvaluator(seed=3).evaluate(boards).values)
    assert np.all(np.abs(first) <= 1) and first.std() > 0.1


@pytest.fixture
def network_dir(tmp_path, make_network):
    """A small network with non-trivial weights and both heads, in both formats."""
    return make_network(tmp_path, blocks=2, filters=16, policy=True, kernel_scale=0.2,
                        keras_file=True)  # fmt: skip


def test_litert_and_tensorflow_backends_agree(network_dir) -> None:
    boards = boards_of_a_game()
    litert = NetworkEvaluator(network_dir).evaluate(boards)
    compiled = NetworkEvaluator(network_dir, backend="tensorflow").evaluate(boards)
    assert litert.values.shape == (len(boards),) and litert.policy.shape == (len(boards), 4096)
    assert litert.values.std() > 0.01  # the weights make the boards differ
    np.testing.assert_allclose(litert.values, compiled.values, atol=1e-4)
    np.testing.assert_allclose(litert.policy, compiled.policy, atol=1e-3)


def test_batch_size_does_not_change_results(network_dir) -> None:
    evaluator = NetworkEvaluator(network_dir)
    boards = boards_of_a_game()
    whole = evaluator.evaluate(boards).values
    one_by_one = np.concatenate([evaluator.evaluate([b]).values for b in boards])
    in_threes = np.concatenate(
        [evaluator.evaluate(boards[i : i + 3]).values for i in range(0, len(boards), 3)]
    )
    np.testing.assert_allclose(one_by_one, whole, atol=1e-5)
    np.testing.assert_allclose(in_threes, whole, atol=1e-5)
    np.testing.assert_allclose(evaluator.evaluate_planes(encode_boards(boards)).values, whole)


def test_network_evaluator_refuses_another_encoding(network_dir, tmp_path) -> None:
    sidecar = json.loads((network_dir / "model.json").read_text())
    sidecar["encoding_version"] = 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.json").write_text(json.dumps(sidecar))
    with pytest.raises(ValueError, match="encoding version 0"):
        NetworkEvaluator(other)
    with pytest.raises(ValueError, match="backend"):
        NetworkEvaluator(network_dir, backend="onnx")  # type: ignore[arg-type]


class CountingEvaluator:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def evaluate(self, boards):
        self.calls.append(len(boards))
        return MaterialEvaluator().evaluate(boards)


def test_cache_hits_transpositions_and_stays_bounded() -> None:
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner, max_entries=8)
    boards = boards_of_a_game()
    first = cache.evaluate(boards[:5])
    again = cache.evaluate(boards[:5])
    np.testing.assert_array_equal(first.values, again.values)
    assert inner.calls == [5] and cache.hits == 5  # one inner call per batch, then cached
    # A transposition (knights out and back) is the same position: a hit.
    board = chess.Board()
    for san in ["Nf3", "Nf6", "Ng1", "Ng8"]:
        board.push_san(san)
    cache.evaluate([board])
    assert inner.calls == [5]
    cache.evaluate(boards)
    assert len(cache) == 8


def test_position_key_tells_apart_what_the_network_sees() -> None:
    from engine.evaluator import position_key

    start = chess.Board()
    by_knights = chess.Board()
    for san in ("Nf3", "Nf6", "Ng1", "Ng8"):  # back to the start: only the counters differ
        by_knights.push_san(san)
    assert position_key(by_knights) == position_key(start)
    black_to_move = start.copy()
    black_to_move.turn = chess.BLACK
    no_castling = chess.Board("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w - - 0 1")
    keys = {position_key(board) for board in (start, black_to_move, no_castling)}
    assert len(keys) == 3
    # an en passant square counts only when a pawn can take there, as in Zobrist keys
    plain = chess.Board("rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2")
    marked = chess.Board("rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq e6 0 2")
    assert position_key(plain) == position_key(marked)
    capturable = chess.Board("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3")
    no_capture = chess.Board("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq - 0 3")
    assert position_key(capturable) != position_key(no_capture)
