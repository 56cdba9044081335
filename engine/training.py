"""``boardeval train``: fit the value network on prepared shards, prove it learned, export it.

The composition root of training: it reads shards through :mod:`dataset.tfdata`
(with its benchmark and the CLI, the only engine modules that import ``dataset``;
search, UCI and serving never do), builds the model of :mod:`engine.model`, and
writes a run directory::

    RUN_DIR/model.keras  model.tflite  model.json     the exported network
    RUN_DIR/history.csv  logs/ (TensorBoard)          per-epoch curves
    RUN_DIR/checkpoints/last.keras  state.json        for --resume
    RUN_DIR/plots/curves.png  hexbin.png  calibration.png
    RUN_DIR/validation.json                           the last report with baselines
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from dataset.shards import load_manifest, sample_games
from dataset.tfdata import shard_dataset
from engine import quantize, validation
from engine.atomic import write_atomically
from engine.encoding import unpack_planes
from engine.evaluator import material_values
from engine.model import build_value_network
from engine.moves import POLICY_SIZE, move_indices
from engine.network_files import (
    INT8_KEY,
    KERAS_NAME,
    TFLITE_INT8_NAME,
    TFLITE_NAME,
    write_sidecar,
)
from engine.train_config import Distribute, TrainConfig, config_from_args


class CollapseError(RuntimeError):
    """Raised with ``--fail-on-collapse`` when validation shows the run is not learning."""


@keras.saving.register_keras_serializable(package="boardeval")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to *peak*, then cosine decay to ``final_fraction * peak``.

    A function of the optimizer's step alone, so a resumed run continues exactly
    where the killed one stopped, and the rate never decays to nothing.
    """

    def __init__(
        self, peak: float, warmup_steps: int, total_steps: int, final_fraction: float = 0.05
    ) -> None:
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.final_fraction = float(final_fraction)

    def __call__(self, step: Any) -> Any:
        step = tf.cast(step, tf.float32)
        warm = self.peak * (step + 1.0) / max(self.warmup_steps, 1)
        progress = tf.clip_by_value(
            (step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1), 0.0, 1.0
        )
        cosine = self.final_fraction + (1 - self.final_fraction) * 0.5 * (
            1.0 + tf.cos(math.pi * progress)
        )
        return tf.where(step < self.warmup_steps, warm, self.peak * cosine)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "final_fraction": self.final_fraction,
        }


@dataclasses.dataclass
class TrainResult:
    history: list[dict[str, float]]
    report: validation.ValidationReport
    run_dir: Path


class ValidationCallback(keras.callbacks.Callback):
    """Scores the validation set every epoch, logs it, and watches for collapse.

    Runs first among the callbacks so the others (checkpoint, CSV, early stopping)
    see its ``val_*`` figures.
    """

    def __init__(
        self,
        planes: np.ndarray,
        value: np.ndarray,
        policy: np.ndarray | None,
        baselines: dict[str, dict[str, float]],
        config: TrainConfig,
        is_chief: bool,
    ) -> None:
        super().__init__()
        self.planes, self.value, self.policy = planes, value, policy
        self.baselines = baselines
        self.config = config
        self.is_chief = is_chief
        self.history: list[dict[str, float]] = []
        self.report: validation.ValidationReport | None = None
        self.prediction = np.zeros(0)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        outputs = predict(self.model, self.planes)
        self.prediction = outputs["value"].reshape(-1)
        metrics = validation.value_metrics(
            self.prediction, self.value, scale=self.config.target.scale
        )
        val_loss = metrics["mse"]
        if self.policy is not None:
            cross_entropy = _policy_cross_entropy(outputs["policy"], self.policy)
            metrics["policy_cross_entropy"] = cross_entropy
            val_loss += self.config.policy_weight * cross_entropy
        logs["val_loss"] = val_loss
        for name, value in metrics.items():
            logs[f"val_{name}"] = value
        self.report = validation.ValidationReport(
            epoch + 1, metrics, self.baselines["mean"], self.baselines["material"]
        )
        self.history.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
        reasons = self.report.collapse_warnings()
        if self.is_chief:
            print(
                f"\nvalidation after epoch {epoch + 1} ({len(self.value)} positions):",
                file=sys.stderr,
            )
            print(self.report.table(), file=sys.stderr)
            if reasons:
                print(validation.collapse_message(reasons), file=sys.stderr)
        if reasons and self.config.fail_on_collapse:  # every worker stops, none waits
            raise CollapseError("; ".join(reasons))


class AtomicCheckpoint(keras.callbacks.Callback):
    """Writes ``checkpoints/last.keras`` and ``state.json`` whole after every epoch."""

    def __init__(self, directory: Path, fingerprint: dict[str, Any]) -> None:
        super().__init__()
        self.directory = directory
        self.fingerprint = fingerprint

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        _save_keras_atomically(self.model, self.directory / "last.keras")
        state = {
            "epoch": epoch + 1,
            "step": int(self.model.optimizer.iterations.numpy()),
            "val_loss": float((logs or {}).get("val_loss", float("nan"))),
            "settings": self.fingerprint,
        }
        write_atomically(self.directory / "state.json", json.dumps(state).encode())


def predict(
    model: keras.Model, planes: np.ndarray, batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """The model's outputs for *planes*, batch by batch.

    A plain inference call rather than ``Model.predict``, which Keras 3 cannot run
    under ``MultiWorkerMirroredStrategy``.
    """
    batches: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(planes), batch_size):
        outputs = model(planes[start : start + batch_size], training=False)
        for name, tensor in outputs.items():
            batches.setdefault(name, []).append(np.asarray(tensor))
    return {name: np.concatenate(parts) for name, parts in batches.items()}


def _fingerprint(config: TrainConfig, steps_per_epoch: int) -> dict[str, Any]:
    """The settings a checkpoint is bound to: resuming with others would mix two runs."""
    return json.loads(
        json.dumps(
            {
                "model": dataclasses.asdict(config.model),
                "target": dataclasses.asdict(config.target),
                "batch_size": config.batch_size,
                "epochs": config.epochs,
                "steps_per_epoch": steps_per_epoch,
                "optimizer": config.optimizer,
                "learning_rate": config.learning_rate,
                "warmup_steps": config.warmup_steps,
                "weight_decay": config.weight_decay,
                "clipnorm": config.clipnorm,
                "policy_weight": config.policy_weight,
                "mirror": config.mirror,
            }
        )
    )


def _check_fingerprint(state_path: Path, fingerprint: dict[str, Any]) -> None:
    if not state_path.exists():
        return
    saved = json.loads(state_path.read_text()).get("settings", {})
    changed = [
        f"{name}: {saved[name]} -> {fingerprint[name]}"
        for name in fingerprint
        if name in saved and saved[name] != fingerprint[name]
    ]
    if changed:
        raise ValueError(
            "--resume with settings other than the checkpoint's ("
            + "; ".join(changed)
            + "); use the same options or a new --out"
        )


def _save_keras_atomically(model: keras.Model, path: Path) -> None:
    temporary = path.with_name(path.stem + ".tmp.keras")  # Keras insists on the suffix
    model.save(temporary)
    os.replace(temporary, path)


def _policy_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    known = labels >= 0
    if not known.any():
        return float("nan")
    logits = logits[known].astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(logits).sum(axis=1))
    return float((log_sum - logits[np.arange(len(logits)), labels[known]]).mean())


def _strategy(distribute: Distribute) -> tf.distribute.Strategy:
    if distribute == "mirrored":
        return tf.distribute.MirroredStrategy()
    if distribute == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--distribute multi_worker needs TF_CONFIG naming the cluster")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _task() -> tuple[bool, int]:
    """Whether this process is the chief of a multi-worker cluster, and its index."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = tf_config.get("task", {})
    kind, index = task.get("type", "chief"), int(task.get("index", 0))
    has_chief = "chief" in tf_config.get("cluster", {})
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief), index


def _optimizer(config: TrainConfig, total_steps: int) -> keras.optimizers.Optimizer:
    warmup = min(config.warmup_steps, total_steps // 2)
    schedule = WarmupCosine(config.learning_rate, warmup, total_steps)
    optimizer: keras.optimizers.Optimizer
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(
            schedule,
            momentum=config.momentum,
            nesterov=True,
            weight_decay=config.weight_decay,
            clipnorm=config.clipnorm,
        )
    elif config.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(
            schedule, weight_decay=config.weight_decay, clipnorm=config.clipnorm
        )
    else:
        raise ValueError(f"unknown optimizer {config.optimizer!r}")
    # Decaying batch-norm scales and biases only fights the normalisation.
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    return optimizer


def _compile(model: keras.Model, config: TrainConfig, total_steps: int) -> None:
    losses: dict[str, Any] = {"value": keras.losses.MeanSquaredError()}
    weights = {"value": 1.0}
    if "policy" in model.output_names:
        losses["policy"] = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=-1
        )
        weights["policy"] = config.policy_weight
    model.compile(
        optimizer=_optimizer(config, total_steps),
        loss=losses,
        loss_weights=weights,
        jit_compile=False,
    )


def load_validation(config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validation planes, targets, policy labels, and records (for the baselines)."""
    records = sample_games(config.data, "val", positions=config.val_positions)
    if not len(records):
        raise ValueError(
            f"{config.data}: no validation positions; prepare with a larger --val-fraction"
        )
    value = config.target.compute(
        cp=records["cp"], mate=records["mate"], white_result=records["result"], turn=records["turn"]
    )
    known = np.isfinite(value)
    records, value = records[known], value[known].astype(np.float32)
    return unpack_planes(records), value, move_indices(records["move"], records["turn"]), records


def train(config: TrainConfig) -> TrainResult:
    """Runs (or resumes) training, then exports the network; returns history and report."""
    strategy = _strategy(config.distribute)  # before any other TensorFlow op
    is_chief, task_index = _task()
    run_dir = config.out if is_chief else config.out / f"worker-{task_index}"
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")

    manifest = load_manifest(config.data)
    if config.target.uses_results and manifest.get("counts", {}).get("evaldb_positions"):
        raise ValueError(
            f"{config.data}: {manifest['counts']['evaldb_positions']} positions come from the "
            "lichess evaluation database, which has no game results; train them with "
            "--target eval (or prepare them apart from the games)"
        )
    train_positions = sum(s["positions"] for s in manifest["shards"] if s["split"] == "train")
    if train_positions == 0:
        raise ValueError(f"{config.data}: no training positions")
    steps_per_epoch = config.steps_per_epoch or max(1, train_positions // config.batch_size)
    total_steps = config.epochs * steps_per_epoch

    planes, value, policy, records = load_validation(config)
    baselines = _baselines(config, value, records)

    checkpoints = run_dir / "checkpoints"
    initial_epoch = 0
    fingerprint = _fingerprint(config, steps_per_epoch)
    with strategy.scope():
        if config.resume and (checkpoints / "last.keras").exists():
            _check_fingerprint(checkpoints / "state.json", fingerprint)
            model = keras.models.load_model(checkpoints / "last.keras")
            step = int(model.optimizer.iterations.numpy())
            # From the weights' own step, not state.json: a kill between writing the
            # two files must not skip or repeat an epoch.
            initial_epoch = step // steps_per_epoch
            print(f"resuming after epoch {initial_epoch} at step {step}", file=sys.stderr)
        else:
            if config.resume:
                print("no checkpoint to resume from; starting a new run", file=sys.stderr)
            model = build_value_network(config.model)
            if config.init_from is not None:
                _load_weights(model, config.init_from)
            _compile(model, config, total_steps)
    has_policy = "policy" in model.output_names

    dataset = shard_dataset(
        config.data,
        "train",
        batch_size=config.batch_size,
        target=config.target,
        policy=has_policy,
        mirror=config.mirror,
        shuffle_buffer=config.shuffle_buffer,
        seed=config.seed + initial_epoch,  # a resumed run does not replay epoch 0's order
    )
    validator = ValidationCallback(
        planes, value, policy if has_policy else None, baselines, config, is_chief
    )
    if initial_epoch:  # the curves of a resumed run start at its first epoch
        validator.history = _read_history(run_dir / "history.csv")[:initial_epoch]
    callbacks: list[keras.callbacks.Callback] = [
        validator,
        AtomicCheckpoint(checkpoints, fingerprint),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=initial_epoch > 0),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
    ]
    if config.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping)
        )
    if initial_epoch < config.epochs and config.distribute == "multi_worker":
        _fit_multi_worker(
            model,
            strategy,
            dataset,
            callbacks,
            config,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            show_progress=is_chief,
        )
    elif initial_epoch < config.epochs:
        model.fit(
            dataset,
            epochs=config.epochs,
            steps_per_epoch=steps_per_epoch,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=config.verbose,
        )
    if validator.report is None:  # nothing left to train: score the checkpoint as it is
        validator.set_model(model)
        validator.on_epoch_end(initial_epoch - 1)
    assert validator.report is not None

    _export(
        model, run_dir, config, manifest, validator, train_positions, has_policy, is_chief=is_chief
    )
    return TrainResult(validator.history, validator.report, run_dir)


def _read_history(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return [
            {name: float(value) for name, value in row.items() if value not in ("", None)}
            for row in csv.DictReader(file)
        ]


def _fit_multi_worker(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    dataset: tf.data.Dataset,
    callbacks: list[keras.callbacks.Callback],
    config: TrainConfig,
    *,
    initial_epoch: int,
    steps_per_epoch: int,
    show_progress: bool,
) -> None:
    """``Model.fit`` for ``MultiWorkerMirroredStrategy``, which Keras 3's ``fit`` cannot run.

    TensorFlow's documented custom-loop recipe: ``strategy.run`` per step, losses
    averaged over the global batch, gradients all-reduced by the optimizer; the same
    callbacks see the same events as under ``fit``.
    """
    has_policy = "policy" in model.output_names

    def global_mean(values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """This replica's share of the mean of *values* over all replicas' weighted rows.

        As Keras averages: over the rows actually in the batch (results unknown to a
        result target were dropped) and, for the policy, over rows with a move.
        """
        context = tf.distribute.get_replica_context()
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(weights))
        return tf.reduce_sum(values * weights) / tf.maximum(total, 1.0)

    def replica_step(planes: tf.Tensor, labels: dict[str, tf.Tensor]) -> tf.Tensor:
        with tf.GradientTape() as tape:
            outputs = model(planes, training=True)
            squared_error = tf.square(tf.reshape(outputs["value"], [-1]) - labels["value"])
            loss = global_mean(squared_error, tf.ones_like(squared_error))
            if has_policy:
                known = tf.cast(labels["policy"] >= 0, tf.float32)
                cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=tf.maximum(labels["policy"], 0), logits=outputs["policy"]
                )
                loss += config.policy_weight * global_mean(cross_entropy, known)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = model.optimizer.scale_loss(loss)  # loss scaling under mixed precision
        gradients = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def train_step(iterator: Any) -> tf.Tensor:
        planes, labels = next(iterator)
        losses = strategy.run(replica_step, args=(planes, labels))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=show_progress and config.verbose > 0,
        model=model,
        verbose=config.verbose,
        epochs=config.epochs,
        steps=steps_per_epoch,
    )
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, config.epochs):
        callback_list.on_epoch_begin(epoch)
        total = 0.0
        for step in range(steps_per_epoch):
            callback_list.on_train_batch_begin(step)
            loss = float(train_step(iterator))
            total += loss
            callback_list.on_train_batch_end(step, {"loss": loss})
        callback_list.on_epoch_end(epoch, {"loss": total / steps_per_epoch})
        if model.stop_training:
            break
    callback_list.on_train_end()


def _load_weights(model: keras.Model, source: Path) -> None:
    """Starts *model* from the weights of the network at *source* (same shape)."""
    path = source / KERAS_NAME if source.is_dir() else source
    if not path.exists():
        raise ValueError(f"{path}: no Keras network to start from")
    donor = keras.models.load_model(path, compile=False)
    shapes = [tuple(w.shape) for w in model.weights]
    if [tuple(w.shape) for w in donor.weights] != shapes:
        raise ValueError(f"{path}: another network shape; --init-from needs the same --model "
                         "and heads")  # fmt: skip
    model.set_weights(donor.get_weights())
    print(f"starting from the weights of {path}", file=sys.stderr)


def _baselines(
    config: TrainConfig, value: np.ndarray, records: np.ndarray
) -> dict[str, dict[str, float]]:
    scale = config.target.scale
    # The validation mean: R² = 0 by construction, the seed's "converges to the average".
    mean = np.full_like(value, float(value.mean()))
    material = material_values(records, scale=scale)
    return {
        "mean": validation.value_metrics(mean, value, scale=scale),
        "material": validation.value_metrics(material, value, scale=scale),
    }


def _export(
    model: keras.Model,
    run_dir: Path,
    config: TrainConfig,
    manifest: dict[str, Any],
    validator: ValidationCallback,
    train_positions: int,
    has_policy: bool,
    *,
    is_chief: bool,
) -> None:
    report = validator.report
    assert report is not None
    _save_keras_atomically(model, run_dir / KERAS_NAME)
    if not is_chief:  # other workers keep their weights (for checking) and nothing else
        return
    extra: dict[str, Any] = {}  # the int8 file search prefers, and how close it stays
    if config.export_tflite:
        temporary = run_dir / "model.tmp.tflite"
        model.export(str(temporary), format="litert", verbose=False)
        os.replace(temporary, run_dir / TFLITE_NAME)
        quantize.export_int8(model, run_dir)
        extra["files"] = {"keras": KERAS_NAME, "tflite": TFLITE_NAME, INT8_KEY: TFLITE_INT8_NAME}
        extra["int8"] = quantize.int8_report(run_dir, validator.planes, validator.value)
    summary = {
        "epoch": report.epoch,
        "network": report.network,
        "mean_predictor": report.mean_predictor,
        "material": report.material,
        "collapse_warnings": report.collapse_warnings(),
    }
    write_atomically(run_dir / "validation.json", json.dumps(summary, indent=2).encode())
    write_sidecar(
        run_dir,
        {
            "model": dataclasses.asdict(config.model),
            "heads": ["value", "policy"] if has_policy else ["value"],
            "policy_size": POLICY_SIZE if has_policy else 0,
            "target": dataclasses.asdict(config.target),
            "data": {
                "directory": str(config.data),
                "inputs": manifest.get("inputs", []),
                "train_positions": train_positions,
                "val_positions_scored": int(len(validator.value)),
            },
            "training": {
                "epochs": report.epoch,
                "batch_size": config.batch_size,
                "optimizer": config.optimizer,
                "learning_rate": config.learning_rate,
                "steps": int(model.optimizer.iterations.numpy()),
                "policy_weight": config.policy_weight,
                "mirror": config.mirror,
                "init_from": str(config.init_from) if config.init_from else None,
            },
            "validation": summary,
            "tflite": config.export_tflite,
            **extra,
        },
    )
    validation.save_plots(
        run_dir / "plots",
        validator.history,
        validator.prediction,
        validator.value,
        {"mean predictor": report.mean_predictor["r2"], "material": report.material["r2"]},
    )


def run(args: argparse.Namespace) -> int:
    try:
        result = train(config_from_args(args))
    except CollapseError as error:
        print(f"boardeval train: collapse: {error}", file=sys.stderr)
        return 3
    print(f"network written to {result.run_dir}", file=sys.stderr)
    return 0
