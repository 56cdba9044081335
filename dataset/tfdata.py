"""``tf.data`` input pipelines over prepared shards, decoded inside the graph.

Shard files are read as fixed-length records, interleaved and shuffled across
shards, batched, and only then decoded (planes, targets, policy indices) with
vectorised TensorFlow ops — no Python in the hot path.
"""

from __future__ import annotations

import os

import tensorflow as tf

from dataset.augment import mirror_files
from dataset.records import RECORD_DTYPE, RECORD_SIZE
from dataset.shards import Split, shard_paths
from engine import tf_encoding
from engine.targets import TargetConfig

_OFFSETS = {name: RECORD_DTYPE.fields[name][1] for name in RECORD_DTYPE.names}


def _field(raw: tf.Tensor, name: str, dtype: tf.DType) -> tf.Tensor:
    """Column *name* of raw records ``(N, RECORD_SIZE)`` uint8, as *dtype* (little-endian)."""
    start = _OFFSETS[name]
    size = RECORD_DTYPE.fields[name][0].itemsize
    if size == 1:
        column = raw[:, start]
        return tf.bitcast(column, dtype) if dtype == tf.int8 else tf.cast(column, dtype)
    return tf.bitcast(raw[:, start : start + size], dtype)


def decode_batch(
    records: tf.Tensor, target: TargetConfig, *, policy: bool
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Raw record strings ``(N,)`` → planes and ``{"value": …, "policy": …}`` labels.

    Records whose target is unknown (a result target on a game without a result)
    are dropped from the batch. Policy labels are -1 where no move followed.
    """
    raw = tf.reshape(tf.io.decode_raw(records, tf.uint8), (-1, RECORD_SIZE))
    turn = _field(raw, "turn", tf.int32)
    value = target.compute_tf(
        cp=_field(raw, "cp", tf.int16),
        mate=_field(raw, "mate", tf.int8),
        white_result=_field(raw, "result", tf.int8),
        turn=turn,
    )
    if target.uses_results:  # only game results can be unknown
        known = tf.math.is_finite(value)
        raw, value, turn = (tf.boolean_mask(tensor, known) for tensor in (raw, value, turn))
    labels = {"value": value}
    if policy:
        move = tf.cast(_field(raw, "move", tf.uint16), tf.int32)
        flip = tf.where(turn == 1, 0, 56)
        from_square = tf.bitwise.bitwise_xor(tf.bitwise.bitwise_and(move, 63), flip)
        to_square = tf.bitwise.bitwise_xor(
            tf.bitwise.bitwise_and(tf.bitwise.right_shift(move, 6), 63), flip
        )
        labels["policy"] = tf.where(move == 0xFFFF, -1, from_square * 64 + to_square)
    return tf_encoding.unpack_planes(raw), labels


def shard_dataset(
    directory: str | os.PathLike[str],
    split: Split,
    *,
    batch_size: int,
    target: TargetConfig,
    policy: bool = False,
    mirror: bool = False,
    shuffle: bool = True,
    shuffle_buffer: int = 1 << 16,
    repeat: bool = True,
    seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of ``(planes, labels)`` from the *split* shards of a prepared directory.

    *mirror*: file-mirror half the positions without castling rights
    (:func:`dataset.augment.mirror_files`); for training batches only.
    """
    files = [str(path) for path in shard_paths(directory, split)]
    if not files:
        raise ValueError(f"{directory}: no {split} shards")
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.interleave(
        lambda path: tf.data.FixedLengthRecordDataset(path, RECORD_SIZE, buffer_size=1 << 20),
        cycle_length=min(len(files), 8),
        block_length=64,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,  # reproducible from the seed; workers sharding by DATA need it
    )
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=repeat)
    dataset = dataset.map(
        lambda records: decode_batch(records, target, policy=policy),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if mirror:
        dataset = dataset.map(mirror_files, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
