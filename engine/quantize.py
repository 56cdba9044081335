"""An int8 LiteRT copy of a network for search: ``model.int8.tflite`` beside the float one.

Dynamic-range quantization (LiteRT's ``Optimize.DEFAULT`` without calibration data):
weights are stored as int8 per output channel and activations are quantized on the fly
at run time, so no representative positions are needed and the result depends on the
weights alone. On CPUs with int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI,
Arm dot-product) XNNPACK runs it several times faster than float32 at search batch
sizes; the price is a small loss of accuracy, which :func:`compare` measures and the
sidecar records.

Search (UCI ``Backend auto``) uses the int8 file when a network has one; ``eval``, the
HTTP API and ``validate`` stay on float32 unless asked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from engine.network_files import (
    INT8_KEY,
    TFLITE_INT8_NAME,
    TFLITE_NAME,
    read_sidecar,
    update_sidecar,
)

SCHEME = "dynamic-range int8 weights"


def export_int8(model: Any, directory: Path) -> Path:
    """Writes Keras *model* with int8 weights (dynamic range) as ``model.int8.tflite``.

    The same exporter as the float file, so the signature ("planes" in; "value",
    "policy" out) is the same."""
    import tensorflow as tf

    temporary = directory / "model.int8.tmp.tflite"
    model.export(str(temporary), format="litert", verbose=False,
                 optimizations=[tf.lite.Optimize.DEFAULT])  # fmt: skip
    path = directory / TFLITE_INT8_NAME
    os.replace(temporary, path)
    return path


def compare(float_outputs: dict[str, np.ndarray], int8_outputs: dict[str, np.ndarray],
            target: np.ndarray | None = None) -> dict[str, float]:  # fmt: skip
    """How far the int8 network strays from the float one on the same positions."""
    from engine import validation

    difference = np.abs(int8_outputs["value"].reshape(-1) - float_outputs["value"].reshape(-1))
    report = {
        "positions": int(len(difference)),
        "value_mae_vs_float": float(difference.mean()),
        "value_max_error_vs_float": float(difference.max()),
    }
    if target is not None:
        report["value_r2"] = validation.value_metrics(int8_outputs["value"], target)["r2"]
        report["value_r2_float"] = validation.value_metrics(float_outputs["value"], target)["r2"]
    if "policy" in float_outputs and "policy" in int8_outputs:
        same = int8_outputs["policy"].argmax(axis=1) == float_outputs["policy"].argmax(axis=1)
        report["policy_top1_agreement"] = float(same.mean())
    return report


def int8_report(directory: Path, planes: np.ndarray, target: np.ndarray) -> dict[str, Any]:
    """The int8 file in *directory* next to the float one on *planes* (with *target*)."""
    from engine.evaluator import run_litert_file

    float_outputs = run_litert_file(directory / TFLITE_NAME, planes)
    int8_outputs = run_litert_file(directory / TFLITE_INT8_NAME, planes)
    return {"file": TFLITE_INT8_NAME, "scheme": SCHEME,
            **compare(float_outputs, int8_outputs, target)}  # fmt: skip


def quantize_network(path: str | Path, data: Path | None = None, *,
                     positions: int = 4096) -> dict[str, Any]:  # fmt: skip
    """Writes ``model.int8.tflite`` beside the network at *path* and records it in the
    sidecar, with its agreement with float32 on *data*'s validation games when given."""
    from engine.network_files import load_keras_network

    model, sidecar = load_keras_network(path)
    directory = Path(sidecar["directory"])
    export_int8(model, directory)
    report: dict[str, Any] = {"file": TFLITE_INT8_NAME, "scheme": SCHEME}
    if data is not None:
        from engine.encoding import unpack_planes
        from engine.validate import scored_positions

        records, target = scored_positions(data, positions=positions)
        if not len(records):
            raise ValueError(f"{data}: no validation positions with an eval to compare on")
        report = {"data": str(data), **int8_report(directory, unpack_planes(records), target)}
    update_sidecar(directory, {"files": {**sidecar["files"], INT8_KEY: TFLITE_INT8_NAME},
                               "int8": report})  # fmt: skip
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("network", help="network directory or model.json")
    parser.add_argument("--data", type=Path,
                        help="directory from `prepare`: compare int8 with float32 on its "
                        "validation games")  # fmt: skip
    parser.add_argument("--positions", type=int, default=4096, help="about this many")


def run(args: argparse.Namespace) -> int:
    read_sidecar(args.network)  # a clear error before TensorFlow loads
    report = quantize_network(args.network, args.data, positions=args.positions)
    print(json.dumps(report))
    if "value_r2" in report:
        print(f"int8 R² {report['value_r2']:.4f} (float32 {report['value_r2_float']:.4f}), "
              f"policy top-1 agreement {report.get('policy_top1_agreement', float('nan')):.3f}",
              file=sys.stderr)  # fmt: skip
    return 0
