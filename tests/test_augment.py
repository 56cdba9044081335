"""The file mirror is exact: a mirrored position decodes like python-chess's own mirror."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from engine.encoding import pack_boards, unpack_planes
from engine.moves import move_index

tf = pytest.importorskip("tensorflow")
from dataset.augment import mirror_files  # noqa: E402


def _mirror_file(square: chess.Square) -> chess.Square:
    return chess.square(7 - chess.square_file(square), chess.square_rank(square))


def _positions() -> list[tuple[chess.Board, chess.Move | None]]:
    """Boards of both colours to move, with and without castling rights, en passant."""
    en_passant = chess.Board("4k3/8/8/8/3p4/8/4P3/4K3 w - - 0 1")
    en_passant.push_san("e4")  # Black may take e3 en passant: the plane must follow
    return [
        (chess.Board("r1bq1rk1/pp3ppp/2n2n2/3p4/3P4/2NB1N2/PP3PPP/R2Q1RK1 w - - 3 11"), None),
        (chess.Board("8/5k2/8/3K4/8/8/1P6/8 w - - 0 50"), chess.Move.from_uci("b2b4")),
        (en_passant, chess.Move.from_uci("d4e3")),
        (chess.Board("6k1/1P6/8/8/8/8/5K2/8 w - - 0 60"), chess.Move.from_uci("b7b8n")),
        (chess.Board(), chess.Move.from_uci("g1f3")),  # castling rights: never mirrored
        (chess.Board("r3k3/8/8/8/8/8/8/4K3 b q - 0 1"), chess.Move.from_uci("a8a1")),
    ]


def test_mirror_matches_python_chess_flip_horizontal() -> None:
    positions = _positions()
    boards = [board for board, _ in positions]
    planes = unpack_planes(pack_boards(boards))
    policy = np.array(
        [-1 if move is None else move_index(move, board.turn) for board, move in positions]
    )

    mirrored, labels = mirror_files(
        tf.constant(planes),
        {"value": tf.zeros(len(boards)), "policy": tf.constant(policy)},
        probability=1.0,
    )

    for i, (board, move) in enumerate(positions):
        if board.castling_rights:
            expected_board, expected_index = board, policy[i]
        else:
            expected_board = board.transform(chess.flip_horizontal)
            expected_index = -1
            if move is not None:
                flipped = chess.Move(
                    _mirror_file(move.from_square), _mirror_file(move.to_square), move.promotion
                )
                assert flipped in expected_board.legal_moves
                expected_index = move_index(flipped, board.turn)
        expected_planes = unpack_planes(pack_boards([expected_board]))[0]
        np.testing.assert_array_equal(mirrored.numpy()[i], expected_planes, err_msg=board.fen())
        assert labels["policy"].numpy()[i] == expected_index, board.fen()


def test_mirror_probability_zero_leaves_the_batch_alone() -> None:
    boards = [board for board, _ in _positions()]
    planes = unpack_planes(pack_boards(boards))
    mirrored, _ = mirror_files(tf.constant(planes), {"value": tf.zeros(len(boards))}, probability=0)
    np.testing.assert_array_equal(mirrored.numpy(), planes)


def test_mirror_draws_about_half_of_the_eligible_positions() -> None:
    board = chess.Board("8/5k2/8/3K4/8/8/1P6/8 w - - 0 50")  # asymmetric, no castling
    planes = unpack_planes(pack_boards([board] * 2000))
    mirrored, _ = mirror_files(tf.constant(planes), {"value": tf.zeros(2000)})
    changed = np.any(mirrored.numpy() != planes, axis=(1, 2, 3))
    assert 0.4 < changed.mean() < 0.6
