"""Proof that a network learned: validation metrics, baselines, collapse detection, plots.

Every figure is in value space (side to move) unless its name says otherwise. The
two baselines are what a network must clearly beat: the mean predictor (the classic
"converges to the average" failure, R² = 0 by construction) and material count.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from engine import targets

SIGN_THRESHOLD = 0.05
"""Positions with ``|target|`` below this (≈ 27 cp) count as level for sign accuracy."""

CP_CLIP = 2000
"""Centipawn errors are measured with both sides clipped to ±20 pawns (mates are ±1)."""

COLLAPSE_STD_RATIO = 0.2
COLLAPSE_R2 = 0.05

COLLAPSE_CAUSES = """\
Likely causes (see DESIGN.md):
  - the input does not say whose move it is, or castling/en passant are missing;
  - convolutions run across piece types instead of the 8x8 board (check NHWC planes);
  - targets saturated or badly scaled (check stats/eval_histogram.csv, --scale);
  - a saturated tanh output: learning rate too high, no warm-up or gradient clipping;
  - a learning rate that decayed to nothing, or too few steps;
  - validation leaking or too small to tell."""


def value_metrics(
    prediction: np.ndarray, target: np.ndarray, *, scale: float = targets.LICHESS_SCALE
) -> dict[str, float]:
    """Accuracy of *prediction* against *target* (both values in [-1, 1])."""
    prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
    target = np.asarray(target, dtype=np.float64).reshape(-1)
    error = prediction - target
    total = float(((target - target.mean()) ** 2).sum())
    decided = np.abs(target) > SIGN_THRESHOLD

    def clipped_cp(value: np.ndarray) -> np.ndarray:
        return np.clip(targets.value_to_cp(value, scale=scale), -CP_CLIP, CP_CLIP)

    return {
        "mse": float((error**2).mean()),
        "mae": float(np.abs(error).mean()),
        "mae_cp": float(np.abs(clipped_cp(prediction) - clipped_cp(target)).mean()),
        "mae_win_percent": float(50.0 * np.abs(error).mean()),
        "r2": float(1.0 - (error**2).sum() / total) if total > 0 else 0.0,
        "sign_accuracy": float((np.sign(prediction[decided]) == np.sign(target[decided])).mean())
        if decided.any()
        else float("nan"),
        "prediction_std": float(prediction.std()),
        "target_std": float(target.std()),
    }


@dataclasses.dataclass
class ValidationReport:
    """One epoch's validation figures next to both baselines."""

    epoch: int
    network: dict[str, float]
    mean_predictor: dict[str, float]
    material: dict[str, float]

    def collapse_warnings(self) -> list[str]:
        """Reasons this run looks collapsed onto the mean (empty when it does not)."""
        reasons = []
        std, target_std = self.network["prediction_std"], self.network["target_std"]
        if std < COLLAPSE_STD_RATIO * target_std:
            reasons.append(
                f"predictions' std {std:.4f} is under {COLLAPSE_STD_RATIO:.0%} of the "
                f"targets' {target_std:.4f}: the network predicts nearly the same value "
                "for every board"
            )
        if self.network["r2"] < COLLAPSE_R2:
            reasons.append(
                f"validation R² {self.network['r2']:.3f} < {COLLAPSE_R2} after epoch "
                f"{self.epoch}: no better than predicting the mean"
            )
        return reasons

    def table(self) -> str:
        names = ("r2", "mse", "mae", "mae_cp", "mae_win_percent", "sign_accuracy", "prediction_std")
        rows = [f"{'':<16}{'network':>10}{'mean':>10}{'material':>10}"]
        for name in names:
            rows.append(
                f"{name:<16}{self.network[name]:>10.4f}{self.mean_predictor[name]:>10.4f}"
                f"{self.material[name]:>10.4f}"
            )
        rows.append(f"{'target_std':<16}{self.network['target_std']:>10.4f}")
        return "\n".join(rows)


def collapse_message(reasons: list[str]) -> str:
    bar = "!" * 78
    return "\n".join(
        [
            bar,
            "COLLAPSE: this run is not learning.",
            *(f"  - {r}" for r in reasons),
            COLLAPSE_CAUSES,
            bar,
        ]
    )


def _save(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def save_plots(
    directory: Path,
    history: list[dict[str, float]],
    prediction: np.ndarray,
    target: np.ndarray,
    baselines: dict[str, float],
) -> list[Path]:
    """Training curves, predicted-vs-target hexbin and calibration, as PNGs in *directory*."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    epochs = [row["epoch"] + 1 for row in history]

    figure, (loss_axis, r2_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("loss", "train loss"), ("val_loss", "validation loss")):
        if history and key in history[0]:
            loss_axis.plot(epochs, [row[key] for row in history], marker="o", label=label)
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("loss")
    loss_axis.legend()
    r2_axis.plot(
        epochs, [row.get("val_r2", np.nan) for row in history], marker="o", label="network"
    )
    for (name, value), color in zip(baselines.items(), ("tab:gray", "tab:red"), strict=False):
        r2_axis.axhline(value, linestyle="--", color=color, label=name)
    r2_axis.set_xlabel("epoch")
    r2_axis.set_ylabel("validation R² (value)")
    r2_axis.legend()
    paths.append(_save(figure, directory / "curves.png"))

    figure, axis = plt.subplots(figsize=(5.5, 5))
    image = axis.hexbin(
        target, prediction, gridsize=40, extent=(-1, 1, -1, 1), bins="log", cmap="viridis"
    )
    axis.plot([-1, 1], [-1, 1], color="white", linewidth=1)
    axis.set_xlabel("target value (side to move)")
    axis.set_ylabel("predicted value")
    figure.colorbar(image, label="positions (log)")
    paths.append(_save(figure, directory / "hexbin.png"))

    edges = np.linspace(-1, 1, 11)
    bucket = np.clip(np.digitize(target, edges) - 1, 0, len(edges) - 2)
    centres, predicted, spread = [], [], []
    for index in range(len(edges) - 1):
        chosen = bucket == index
        if chosen.any():
            centres.append(float(target[chosen].mean()))
            predicted.append(float(prediction[chosen].mean()))
            spread.append(float(prediction[chosen].std()))
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.errorbar(centres, predicted, yerr=spread, marker="o", capsize=3, label="network")
    axis.plot([-1, 1], [-1, 1], linestyle="--", color="grey", label="perfect")
    axis.set_xlabel("mean target in eval bucket")
    axis.set_ylabel("mean prediction (± std)")
    axis.legend()
    paths.append(_save(figure, directory / "calibration.png"))
    return paths
