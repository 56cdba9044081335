"""A training run's settings, and the ``boardeval train`` options that set them.

Importable without TensorFlow, so the CLI can parse arguments before loading it.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Literal

from engine.model_config import ModelConfig
from engine.targets import LICHESS_SCALE, TargetConfig

Distribute = Literal["none", "mirrored", "multi_worker"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """One training run; the command line sets all but the rarely tuned fields."""

    data: Path
    """A directory written by ``boardeval prepare``."""

    out: Path
    """The run directory."""

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    """Network shape."""

    target: TargetConfig = dataclasses.field(default_factory=TargetConfig)
    """What the value head learns."""

    batch_size: int = 256
    """Global batch size (split across replicas when distributed)."""

    epochs: int = 10
    """Epochs to train (the schedule spans all of them)."""

    steps_per_epoch: int | None = None
    """Steps per epoch; default one pass over the training shards."""

    optimizer: Literal["adamw", "sgd"] = "adamw"
    """AdamW, or SGD with Nesterov momentum."""

    learning_rate: float = 1e-3
    """Peak learning rate, reached after the warm-up."""

    warmup_steps: int = 500
    """Linear warm-up steps (at most half the run)."""

    weight_decay: float = 1e-4
    """Decoupled weight decay on kernels (not on batch-norm scales or biases)."""

    momentum: float = 0.9
    """SGD momentum."""

    clipnorm: float = 1.0
    """Gradient clipping by norm; keeps an early step from saturating the tanh."""

    policy_weight: float = 1.0
    """Weight of the policy cross-entropy next to the value MSE."""

    early_stopping: int = 0
    """Stop after this many epochs without a better validation loss (0: never)."""

    mirror: bool = False
    """File-mirror half the training positions that have no castling rights (an exact
    symmetry there: same value, mirrored move), which doubles what a small corpus shows."""

    val_positions: int = 20000
    """Validation positions scored every epoch (the game-split validation shards)."""

    shuffle_buffer: int = 1 << 16
    """Positions in the shuffle buffer, after shuffling the shard order."""

    mixed_precision: bool = False
    """float16 compute with float32 weights (a GPU speed-up; slower on CPU)."""

    distribute: Distribute = "none"
    """``mirrored``: all local GPUs; ``multi_worker``: machines listed in ``TF_CONFIG``."""

    resume: bool = False
    """Continue from ``checkpoints/last.keras`` (same step, optimizer, schedule)."""

    init_from: Path | None = None
    """Start from this network's weights (a ``.keras`` file or run directory, same
    shape): fine-tuning on new data, with a fresh optimizer and schedule."""

    fail_on_collapse: bool = False
    """Make the collapse detector's warning an error."""

    seed: int = 0
    """Seeds weights and shuffling."""

    export_tflite: bool = True
    """Also write the LiteRT model that search and serving run on."""

    verbose: int = 1
    """Keras progress: 0 silent, 1 progress bar, 2 one line per epoch."""


# --- command line -----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="directory from `prepare`")
    parser.add_argument("--out", required=True, type=Path, help="run directory")
    parser.add_argument("--model", default="4x32", help="BLOCKSxFILTERS (4x32, 6x64, 10x128)")
    parser.add_argument("--se", action="store_true", help="squeeze-and-excitation blocks")
    parser.add_argument("--policy-head", action="store_true", help="also learn the move played")
    parser.add_argument("--target", choices=("eval", "result", "blend"), default="eval")
    parser.add_argument(
        "--lambda",
        dest="lambda_",
        type=float,
        default=1.0,
        help="eval weight of --target blend (1 = eval only)",
    )
    parser.add_argument(
        "--scale", type=float, default=LICHESS_SCALE, help="tanh scale per centipawn"
    )
    parser.add_argument(
        "--mate-inside", action="store_true", help="mates just inside ±1, shorter mates higher"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps-per-epoch", type=int)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--warmup-steps", type=int, default=500)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--clipnorm", type=float, default=1.0)
    parser.add_argument("--policy-weight", type=float, default=1.0)
    parser.add_argument("--early-stopping", type=int, default=0, metavar="PATIENCE")
    parser.add_argument(
        "--mirror", action="store_true", help="augment: a-h mirror of positions without castling"
    )
    parser.add_argument("--val-positions", type=int, default=20000)
    parser.add_argument("--mixed-precision", action="store_true", help="float16 on GPUs")
    parser.add_argument(
        "--distribute", choices=("none", "mirrored", "multi_worker"), default="none"
    )
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    parser.add_argument(
        "--init-from", type=Path, help="start from this network's weights (same shape)"
    )
    parser.add_argument(
        "--fail-on-collapse",
        action="store_true",
        help="exit with an error when the run is not learning",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-tflite", action="store_true", help="skip the LiteRT export")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        data=args.data,
        out=args.out,
        model=ModelConfig.preset(
            args.model, squeeze_excitation=args.se, policy_head=args.policy_head
        ),
        target=TargetConfig(
            kind=args.target, lambda_=args.lambda_, scale=args.scale, mate_inside=args.mate_inside
        ),
        batch_size=args.batch_size,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        clipnorm=args.clipnorm,
        policy_weight=args.policy_weight,
        early_stopping=args.early_stopping,
        mirror=args.mirror,
        val_positions=args.val_positions,
        mixed_precision=args.mixed_precision,
        distribute=args.distribute,
        resume=args.resume,
        init_from=args.init_from,
        fail_on_collapse=args.fail_on_collapse,
        seed=args.seed,
        export_tflite=not args.no_tflite,
        verbose=args.verbose,
    )
