"""The training benchmark: the full input pipeline + train step against the bare step.

Both run the same model, optimizer and batch in one process: once fed by the
shard pipeline (read, shuffle, decode in the graph), once by one batch already
in memory. Their ratio says whether the input pipeline ever starves training.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from dataset.prepare import PrepareConfig, prepare
from dataset.tfdata import shard_dataset
from engine.model import build_value_network
from engine.model_config import ModelConfig
from engine.targets import TargetConfig


def _compiled(config: ModelConfig) -> keras.Model:
    model = build_value_network(config)
    model.compile(optimizer=keras.optimizers.AdamW(1e-3, clipnorm=1.0), loss={"value": "mse"})
    return model


class _BatchClock(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.times.append(time.perf_counter())


def _samples_per_s(
    model: keras.Model, dataset: tf.data.Dataset, batch_size: int, steps: int, warmup: int
) -> float:
    """Steady-state speed inside one ``fit``, as in training: the first *warmup* steps
    (tracing, filling the shuffle buffer) are not timed."""
    clock = _BatchClock()
    model.fit(dataset, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[clock])
    return steps * batch_size / (clock.times[-1] - clock.times[warmup - 1])


def bench_train(
    data: Path | None,
    corpus: Path,
    *,
    model: str = "4x32",
    batch_size: int = 256,
    steps: int = 40,
) -> dict[str, Any]:
    """Samples/s of the full pipeline and of the bare train step, measured side by side."""
    config = ModelConfig.preset(model)
    with tempfile.TemporaryDirectory() as scratch:
        if data is None:
            data = Path(scratch)
            prepare([corpus], data, PrepareConfig(max_games=600), progress=False)
        pipeline = shard_dataset(data, "train", batch_size=batch_size, target=TargetConfig())
        planes, labels = next(iter(pipeline))
        in_memory = tf.data.Dataset.from_tensors((planes, labels)).repeat()

        results = {}
        # Alternate, so drift in the machine's load hits both alike.
        for name, dataset in (
            ("bare", in_memory),
            ("pipeline", pipeline),
            ("bare_2", in_memory),
            ("pipeline_2", pipeline),
        ):
            model_for_run = _compiled(config)
            results[name] = _samples_per_s(model_for_run, dataset, batch_size, steps, warmup=3)

        mirrored = shard_dataset(data, "train", batch_size=batch_size, target=TargetConfig(),
                                 mirror=True)  # fmt: skip
        decode_only = mirrored_only = 0.0
        for _ in range(2):  # alternated, like the runs above
            decode_only += _decode_samples_per_s(pipeline, batch_size, steps * 4) / 2
            mirrored_only += _decode_samples_per_s(mirrored, batch_size, steps * 4) / 2

    samples_per_s = (results["pipeline"] + results["pipeline_2"]) / 2
    bare_samples_per_s = (results["bare"] + results["bare_2"]) / 2
    return {
        "model": model,
        "batch_size": batch_size,
        "steps": steps,
        "devices": [device.device_type for device in tf.config.list_logical_devices()],
        "samples_per_s": round(samples_per_s, 1),
        "bare_samples_per_s": round(bare_samples_per_s, 1),
        "ratio": round(samples_per_s / bare_samples_per_s, 3),
        "pipeline_only_samples_per_s": round(decode_only, 1),
        "mirrored_pipeline_only_samples_per_s": round(mirrored_only, 1),
    }


def _decode_samples_per_s(dataset: tf.data.Dataset, batch_size: int, batches: int) -> float:
    """The input pipeline alone: how fast it could feed a model that costs nothing."""
    iterator = iter(dataset)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)
