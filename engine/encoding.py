"""The one board encoder: ``chess.Board`` → packed record → network input planes.

Engine and training both go through this module, so a position means the same thing
to the network wherever it comes from. Everything a network sees is from the side to
move's point of view: when Black is to move the board is mirrored (ranks reversed,
colours swapped), so "ours" always starts on rank 1.

Plane layout of :func:`unpack_planes`, shape ``(8, 8, NUM_PLANES)`` float32, indexed
``[rank, file, plane]`` with rank 0 the side to move's back rank:

====  ==========================================================
0-5   our pawns, knights, bishops, rooks, queens, king (1 where present)
6-11  their pawns, knights, bishops, rooks, queens, king
12    we may castle king side (whole plane 1 or 0)
13    we may castle queen side
14    they may castle king side
15    they may castle queen side
16    en passant target square (1 on that square; only when a legal capture exists)
17    fifty-move counter: halfmove clock / 100 on every square
18    all ones (lets zero-padded convolutions find the edge of the board)
====  ==========================================================

Packed form (:data:`PACKED_DTYPE`, 102 bytes): the 12 absolute (White-view) bitboards
in python-chess's square order, then turn, castling, en passant square and the move
counters, so that a record turns back into the exact same ``chess.Board``.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import numpy as np

ENCODING_VERSION = 1
"""Bumped whenever planes or packed layout change; model sidecars record it."""

NUM_PLANES = 19
"""12 piece planes, 4 castling, en passant, fifty-move counter, ones."""

PIECE_PLANES = 12
CASTLING_PLANE = 12
EN_PASSANT_PLANE = 16
FIFTY_MOVE_PLANE = 17
ONES_PLANE = 18

NO_SQUARE = 255
"""``ep_square`` value when there is no en passant capture."""

WHITE_KINGSIDE, WHITE_QUEENSIDE, BLACK_KINGSIDE, BLACK_QUEENSIDE = 1, 2, 4, 8
"""Bits of the packed ``castling`` byte."""

_CASTLING_ROOKS = (
    (WHITE_KINGSIDE, chess.BB_H1),
    (WHITE_QUEENSIDE, chess.BB_A1),
    (BLACK_KINGSIDE, chess.BB_H8),
    (BLACK_QUEENSIDE, chess.BB_A8),
)

PACKED_FIELDS: list[tuple[str, str] | tuple[str, str, tuple[int, ...]]] = [
    ("pieces", "<u8", (12,)),
    ("turn", "u1"),
    ("castling", "u1"),
    ("ep_square", "u1"),
    ("halfmove_clock", "u1"),
    ("fullmove_number", "<u2"),
]
"""Field list of the packed board; record types of other modules start with it."""

PACKED_DTYPE = np.dtype(PACKED_FIELDS)
PACKED_SIZE = PACKED_DTYPE.itemsize
"""102 bytes: 12 × 8 bitboard bytes, then 6 bytes of state."""

PackedTuple = tuple[tuple[int, ...], int, int, int, int, int]
"""One packed board as plain Python values, in :data:`PACKED_FIELDS` order."""


def pack_tuple(board: chess.Board) -> PackedTuple:
    """The packed fields of *board* as a tuple (fast enough for the pipeline's hot loop).

    Bitboards are absolute: index ``color_offset + piece_type - 1`` with White's
    pieces at 0-5 and Black's at 6-11.
    """
    black, white = board.occupied_co  # indexed by color: BLACK = 0, WHITE = 1
    pieces = (
        board.pawns & white,
        board.knights & white,
        board.bishops & white,
        board.rooks & white,
        board.queens & white,
        board.kings & white,
        board.pawns & black,
        board.knights & black,
        board.bishops & black,
        board.rooks & black,
        board.queens & black,
        board.kings & black,
    )
    rights = board.clean_castling_rights()
    castling = 0
    for bit, rook in _CASTLING_ROOKS:
        if rights & rook:
            castling |= bit
    ep_square = NO_SQUARE
    if board.ep_square is not None and board.has_legal_en_passant():
        ep_square = board.ep_square
    return (
        pieces,
        int(board.turn),
        castling,
        ep_square,
        min(board.halfmove_clock, 255),
        min(board.fullmove_number, 65535),
    )


def pack_boards(boards: Sequence[chess.Board]) -> np.ndarray:
    """Packs *boards* into an array of :data:`PACKED_DTYPE`."""
    return np.array([pack_tuple(board) for board in boards], dtype=PACKED_DTYPE)


def unpack_board(packed: np.void | np.ndarray) -> chess.Board:
    """The exact ``chess.Board`` (without move history) that *packed* was made from."""
    board = chess.Board.empty()
    for index, bitboard in enumerate(packed["pieces"].tolist()):
        color = chess.WHITE if index < 6 else chess.BLACK
        piece = chess.Piece(index % 6 + 1, color)
        for square in chess.scan_forward(bitboard):
            board.set_piece_at(square, piece)
    board.turn = bool(packed["turn"])
    castling = int(packed["castling"])
    board.castling_rights = 0
    for bit, rook in _CASTLING_ROOKS:
        if castling & bit:
            board.castling_rights |= rook
    ep_square = int(packed["ep_square"])
    board.ep_square = None if ep_square == NO_SQUARE else ep_square
    board.halfmove_clock = int(packed["halfmove_clock"])
    board.fullmove_number = int(packed["fullmove_number"])
    return board


def unpack_planes(packed: np.ndarray) -> np.ndarray:
    """Network input planes ``(N, 8, 8, NUM_PLANES)`` float32 from N packed boards.

    *packed* is any structured array that has the :data:`PACKED_FIELDS` (shard records
    do). Vectorised over the batch: no Python loop per position or square.
    """
    packed = np.atleast_1d(packed)
    count = len(packed)
    pieces = np.ascontiguousarray(packed["pieces"], dtype="<u8")
    # Little-endian bytes of a bitboard are its ranks 1..8; bits of a byte are files a..h.
    bits = np.unpackbits(
        pieces.view(np.uint8).reshape(count, 12, 8, 1), axis=-1, bitorder="little"
    )  # (N, piece, rank, file)
    white = packed["turn"].astype(bool)
    mirrored = bits[:, np.r_[6:12, 0:6], ::-1, :]
    bits = np.where(white[:, None, None, None], bits, mirrored)

    planes = np.zeros((count, 8, 8, NUM_PLANES), dtype=np.float32)
    planes[..., :PIECE_PLANES] = bits.transpose(0, 2, 3, 1)

    castling = packed["castling"].astype(np.uint8)
    white_rights = castling & 3
    black_rights = (castling >> 2) & 3
    ours = np.where(white, white_rights, black_rights)
    theirs = np.where(white, black_rights, white_rights)
    flags = np.stack([ours & 1, ours >> 1, theirs & 1, theirs >> 1], axis=-1)
    planes[..., CASTLING_PLANE : CASTLING_PLANE + 4] = flags[:, None, None, :]

    ep_square = packed["ep_square"].astype(np.int64)
    has_ep = ep_square != NO_SQUARE
    relative = np.where(white, ep_square, ep_square ^ 56)[has_ep]
    planes[np.flatnonzero(has_ep), relative // 8, relative % 8, EN_PASSANT_PLANE] = 1.0

    planes[..., FIFTY_MOVE_PLANE] = (packed["halfmove_clock"] / 100.0)[:, None, None]
    planes[..., ONES_PLANE] = 1.0
    return planes


def encode_boards(boards: Sequence[chess.Board]) -> np.ndarray:
    """Network input planes ``(N, 8, 8, NUM_PLANES)`` for *boards*, side to move's view."""
    return unpack_planes(pack_boards(boards))


def encode_board(board: chess.Board) -> np.ndarray:
    """Network input planes ``(8, 8, NUM_PLANES)`` for one board, side to move's view."""
    return encode_boards([board])[0]
