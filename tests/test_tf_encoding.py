"""The TensorFlow decoder gives exactly the numpy planes, straight from shard bytes."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from dataset.prepare import prepare
from dataset.records import RECORD_SIZE
from dataset.shards import read_records, shard_paths
from engine.encoding import pack_boards, unpack_planes

tf = pytest.importorskip("tensorflow")
from engine import tf_encoding  # noqa: E402


def test_tf_decoder_matches_numpy_on_tricky_positions() -> None:
    boards = [chess.Board(), chess.Board("r3k2r/8/8/8/8/8/8/R3K2R b Kq - 17 40")]
    board = chess.Board("rnbqkbnr/ppp1pppp/8/8/3pP3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 1")
    board.push_san("c4")  # Black to move with en passant on c3
    boards.append(board)
    board = chess.Board("rnbqkbnr/pppp1ppp/8/8/4pP2/8/PPPPP1PP/RNBQKBNR b KQkq f3 0 3")
    boards.append(board)  # and the mirror case: White's pawn just pushed
    packed = pack_boards(boards)
    raw = np.frombuffer(packed.tobytes(), np.uint8).reshape(len(boards), -1)
    np.testing.assert_array_equal(tf_encoding.unpack_planes(raw).numpy(), unpack_planes(packed))


def test_tf_data_reads_shards_and_decodes_in_graph(tmp_path, corpus_sample) -> None:
    prepare([corpus_sample], tmp_path, progress=False)
    records = read_records(tmp_path, "train")
    files = [str(path) for path in shard_paths(tmp_path, "train")]
    dataset = (
        tf.data.FixedLengthRecordDataset(files, RECORD_SIZE)
        .batch(256)
        .map(
            lambda raw: tf_encoding.unpack_planes(
                tf.reshape(tf.io.decode_raw(raw, tf.uint8), (-1, RECORD_SIZE))
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    )
    planes = np.concatenate([batch.numpy() for batch in dataset])
    np.testing.assert_array_equal(planes, unpack_planes(records))
