"""The encoder's unpacking as TensorFlow ops, for ``tf.data`` input pipelines.

Mirrors :func:`engine.encoding.unpack_planes` exactly (tests compare the two), but
runs inside the graph on raw record bytes, so training never leaves TensorFlow.
Imports TensorFlow; keep it out of modules the engine loads at start-up.
"""

from __future__ import annotations

import tensorflow as tf

from engine.encoding import NO_SQUARE, NUM_PLANES, PACKED_DTYPE

_TURN = PACKED_DTYPE.fields["turn"][1]
_CASTLING = PACKED_DTYPE.fields["castling"][1]
_EP_SQUARE = PACKED_DTYPE.fields["ep_square"][1]
_HALFMOVE_CLOCK = PACKED_DTYPE.fields["halfmove_clock"][1]


def unpack_planes(raw: tf.Tensor) -> tf.Tensor:
    """Planes ``(N, 8, 8, NUM_PLANES)`` float32 from raw records ``(N, >= 102)`` uint8.

    The first :data:`engine.encoding.PACKED_SIZE` bytes of each record must be a packed
    board (shard records start with one).
    """
    raw = tf.convert_to_tensor(raw, dtype=tf.uint8)
    count = tf.shape(raw)[0]
    bytes_ = tf.reshape(raw[:, :96], (count, 12, 8, 1))  # (N, piece, rank, 1)
    shifts = tf.constant(list(range(8)), dtype=tf.uint8)  # bit f of a rank byte is file f
    bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(bytes_, shifts), 1)
    white = tf.equal(raw[:, _TURN], 1)
    mirrored = tf.reverse(tf.concat([bits[:, 6:], bits[:, :6]], axis=1), axis=[2])
    bits = tf.where(white[:, None, None, None], bits, mirrored)
    pieces = tf.cast(tf.transpose(bits, (0, 2, 3, 1)), tf.float32)

    castling = tf.cast(raw[:, _CASTLING], tf.int32)
    white_rights = tf.bitwise.bitwise_and(castling, 3)
    black_rights = tf.bitwise.right_shift(castling, 2)
    ours = tf.where(white, white_rights, black_rights)
    theirs = tf.where(white, black_rights, white_rights)
    flags = tf.stack(
        [
            tf.bitwise.bitwise_and(ours, 1),
            tf.bitwise.right_shift(ours, 1),
            tf.bitwise.bitwise_and(theirs, 1),
            tf.bitwise.right_shift(theirs, 1),
        ],
        axis=-1,
    )
    castling_planes = tf.broadcast_to(
        tf.cast(flags, tf.float32)[:, None, None, :], (count, 8, 8, 4)
    )

    ep_square = tf.cast(raw[:, _EP_SQUARE], tf.int32)
    relative = tf.where(white, ep_square, tf.bitwise.bitwise_xor(ep_square, 56))
    relative = tf.where(ep_square == NO_SQUARE, -1, relative)  # one_hot(-1) is all zeros
    ep_plane = tf.reshape(tf.one_hot(relative, 64, dtype=tf.float32), (count, 8, 8, 1))

    clock = tf.cast(raw[:, _HALFMOVE_CLOCK], tf.float32) / 100.0
    clock_plane = tf.broadcast_to(clock[:, None, None, None], (count, 8, 8, 1))
    ones_plane = tf.ones((count, 8, 8, 1), tf.float32)

    # Same plane order as engine.encoding's table; the tests compare both decoders.
    planes = tf.concat([pieces, castling_planes, ep_plane, clock_plane, ones_plane], axis=-1)
    return tf.ensure_shape(planes, (None, 8, 8, NUM_PLANES))
