"""The one encoder: exact planes, perspective, and lossless packing."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from engine.encoding import (
    CASTLING_PLANE,
    EN_PASSANT_PLANE,
    FIFTY_MOVE_PLANE,
    NUM_PLANES,
    ONES_PLANE,
    PACKED_SIZE,
    encode_board,
    encode_boards,
    pack_boards,
    unpack_board,
    unpack_planes,
)


def reference_planes(board: chess.Board) -> np.ndarray:
    """The slow, obviously correct encoder the fast one is tested against."""
    planes = np.zeros((8, 8, NUM_PLANES), np.float32)
    us = board.turn
    for square, piece in board.piece_map().items():
        relative = square if us == chess.WHITE else chess.square_mirror(square)
        offset = 0 if piece.color == us else 6
        planes[
            chess.square_rank(relative), chess.square_file(relative), offset + piece.piece_type - 1
        ] = 1
    rights = [
        board.has_kingside_castling_rights(us),
        board.has_queenside_castling_rights(us),
        board.has_kingside_castling_rights(not us),
        board.has_queenside_castling_rights(not us),
    ]
    for index, right in enumerate(rights):
        planes[:, :, CASTLING_PLANE + index] = float(right)
    if board.has_legal_en_passant():
        assert board.ep_square is not None
        relative = board.ep_square if us == chess.WHITE else chess.square_mirror(board.ep_square)
        planes[chess.square_rank(relative), chess.square_file(relative), EN_PASSANT_PLANE] = 1
    planes[:, :, FIFTY_MOVE_PLANE] = board.halfmove_clock / 100
    planes[:, :, ONES_PLANE] = 1
    return planes


def test_start_position_planes_exactly() -> None:
    planes = encode_board(chess.Board())
    assert planes.shape == (8, 8, NUM_PLANES) and planes.dtype == np.float32
    # [rank, file, plane]: our pawns fill rank 2, theirs rank 7.
    np.testing.assert_array_equal(planes[:, :, 0].sum(axis=1), [0, 8, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(planes[:, :, 6].sum(axis=1), [0, 0, 0, 0, 0, 0, 8, 0])
    assert planes[0, 1, 1] == planes[0, 6, 1] == 1  # knights b1, g1
    assert planes[0, 2, 2] == planes[0, 5, 2] == 1  # bishops c1, f1
    assert planes[0, 0, 3] == planes[0, 7, 3] == 1  # rooks a1, h1
    assert planes[0, 3, 4] == 1 and planes[0, 4, 5] == 1  # queen d1, king e1
    assert planes[7, 3, 10] == 1 and planes[7, 4, 11] == 1  # their queen d8, king e8
    assert planes[:, :, :12].sum() == 32
    assert (planes[:, :, CASTLING_PLANE : CASTLING_PLANE + 4] == 1).all()
    assert planes[:, :, EN_PASSANT_PLANE].sum() == 0
    assert (planes[:, :, FIFTY_MOVE_PLANE] == 0).all()
    assert (planes[:, :, ONES_PLANE] == 1).all()


def test_black_to_move_encodes_like_its_mirrored_twin() -> None:
    board = chess.Board("r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4")
    board.push_san("O-O")  # Black to move, White has lost castling rights
    np.testing.assert_array_equal(encode_board(board), encode_board(board.mirror()))
    planes = encode_board(board)
    assert (planes[:, :, CASTLING_PLANE : CASTLING_PLANE + 2] == 1).all()  # Black still may
    assert (planes[:, :, CASTLING_PLANE + 2 : CASTLING_PLANE + 4] == 0).all()  # White may not


def test_castling_planes_follow_the_side_to_move() -> None:
    board = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w Kq - 0 1")
    white = encode_board(board)[0, 0, CASTLING_PLANE : CASTLING_PLANE + 4]
    np.testing.assert_array_equal(white, [1, 0, 0, 1])  # ours K, ours Q, theirs K, theirs Q
    board.turn = chess.BLACK
    black = encode_board(board)[0, 0, CASTLING_PLANE : CASTLING_PLANE + 4]
    np.testing.assert_array_equal(black, [0, 1, 1, 0])


def test_en_passant_plane_marks_the_target_square_from_the_movers_view() -> None:
    board = chess.Board("rnbqkbnr/ppp1pppp/8/8/3pP3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 1")
    board.push_san("c4")  # Black may take c3 en passant
    planes = encode_board(board)
    # c3 seen from Black (mirrored) is c6: rank index 5, file 2.
    assert planes[5, 2, EN_PASSANT_PLANE] == 1
    assert planes[:, :, EN_PASSANT_PLANE].sum() == 1


def test_en_passant_without_a_legal_capture_is_not_encoded() -> None:
    board = chess.Board()
    board.push_san("e4")  # python-chess sets ep_square e3, but no black pawn can take
    assert encode_board(board)[:, :, EN_PASSANT_PLANE].sum() == 0


def test_fifty_move_plane_scales_the_halfmove_clock() -> None:
    board = chess.Board("8/8/4k3/8/8/4K3/8/7R w - - 37 80")
    assert encode_board(board)[3, 3, FIFTY_MOVE_PLANE] == pytest.approx(0.37)


def test_packed_record_is_small() -> None:
    assert PACKED_SIZE <= 128
    assert pack_boards([chess.Board()]).itemsize == PACKED_SIZE


def test_pack_unpack_round_trip_over_perft_marcel(shared_data) -> None:
    boards = []
    for line in (shared_data / "suites" / "perft-marcel.epd").read_text().splitlines():
        if line.strip():
            boards.append(chess.Board(line.split(";")[0].strip()))
    assert len(boards) > 6000
    packed = pack_boards(boards)
    for board, record in zip(boards, packed, strict=True):
        assert unpack_board(record).fen() == board.fen()
    # The vectorised decoder against the reference, on a slice of the suite.
    sample = boards[::37]
    np.testing.assert_array_equal(
        unpack_planes(pack_boards(sample)), np.stack([reference_planes(b) for b in sample])
    )


def test_encode_boards_matches_reference_along_a_real_game() -> None:
    board = chess.Board()
    boards = []
    moves = "e4 d5 exd5 c6 dxc6 Nf6 cxb7 e5 bxa8=Q Bc5 Qxb8 O-O Nf3 Re8 Be2 e4 O-O exf3"
    for san in moves.split():
        board.push_san(san)
        boards.append(board.copy())
    np.testing.assert_array_equal(
        encode_boards(boards), np.stack([reference_planes(b) for b in boards])
    )
