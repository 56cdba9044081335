"""Training-time augmentation that keeps the label exact: the a–h file mirror.

Chess is symmetric under swapping the a- and h-files as long as nobody may castle
(castling is the only rule that tells the king's side from the queen's), so a
position without castling rights and its file mirror have the same value, and the
move played maps square by square. The corpus holds a few thousand lichess games;
showing each such position in a second, equally true form is a cheap guard against
overfitting them.

Works on decoded batches (planes from :mod:`engine.tf_encoding`, labels from
:func:`dataset.tfdata.decode_batch`) inside the ``tf.data`` graph.
"""

from __future__ import annotations

import tensorflow as tf

from engine.encoding import CASTLING_PLANE

_FILE_MASK = 7
"""``square ^ 7`` mirrors a square's file (a↔h, b↔g, …) and keeps its rank."""


def mirror_files(
    planes: tf.Tensor,
    labels: dict[str, tf.Tensor],
    *,
    probability: float = 0.5,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Mirrors each position without castling rights across the d/e line with *probability*.

    *planes* ``(N, 8, 8, C)`` indexed ``[rank, file, plane]``; ``labels["policy"]``
    (when present) holds ``from * 64 + to`` in the mover's frame, or -1 for no move.
    The value label is unchanged. The draw uses TensorFlow's global generator, which
    ``keras.utils.set_random_seed`` seeds.
    """
    draw = tf.random.uniform((tf.shape(planes)[0],))
    castling = tf.reduce_max(planes[:, 0, 0, CASTLING_PLANE : CASTLING_PLANE + 4], axis=-1)
    mirror = tf.logical_and(draw < probability, castling == 0.0)
    planes = tf.where(mirror[:, None, None, None], tf.reverse(planes, axis=[2]), planes)
    labels = dict(labels)
    if "policy" in labels:
        index = labels["policy"]
        from_square = tf.bitwise.bitwise_xor(tf.bitwise.right_shift(index, 6), _FILE_MASK)
        to_square = tf.bitwise.bitwise_xor(tf.bitwise.bitwise_and(index, 63), _FILE_MASK)
        mirrored = from_square * 64 + to_square
        labels["policy"] = tf.where(tf.logical_and(mirror, index >= 0), mirrored, index)
    return planes, labels
