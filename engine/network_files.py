"""A trained network on disk: ``model.keras``, ``model.tflite`` (with, for search, an
optional ``model.int8.tflite``) and the ``model.json`` sidecar.

The sidecar says what the network expects and promises (encoding version, target and
scale, heads, the data it saw, its validation figures). Every loader reads it first
and refuses a network made for another encoding, with a clear error, instead of
silently feeding it planes it does not understand. Reading the sidecar needs no
TensorFlow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.atomic import write_atomically
from engine.encoding import ENCODING_VERSION, NUM_PLANES

SIDECAR_FORMAT = "boardeval-network"
SIDECAR_NAME = "model.json"
KERAS_NAME = "model.keras"
TFLITE_NAME = "model.tflite"
TFLITE_INT8_NAME = "model.int8.tflite"
INT8_KEY = "tflite_int8"
"""The sidecar's ``files`` key of the int8 LiteRT file, present only when one was made."""

DEFAULT_NETWORK = Path(__file__).parent / "networks" / "default"
"""The network shipped inside the package; used wherever no weights are given."""


def shipped_network() -> Path | None:
    """The shipped network's directory, or ``None`` when this install lacks it."""
    return DEFAULT_NETWORK if (DEFAULT_NETWORK / SIDECAR_NAME).exists() else None


def default_network() -> Path:
    """The shipped network's directory; ``ValueError`` when this install lacks it."""
    network = shipped_network()
    if network is None:
        raise ValueError(f"{DEFAULT_NETWORK}: the shipped network is missing from this "
                         "install; reinstall boardeval or pass --weights")  # fmt: skip
    return network


def write_sidecar(directory: Path, fields: dict[str, Any]) -> Path:
    sidecar = {
        "format": SIDECAR_FORMAT,
        "encoding_version": ENCODING_VERSION,
        "num_planes": NUM_PLANES,
        "files": {"keras": KERAS_NAME, "tflite": TFLITE_NAME},
        **fields,
    }
    path = directory / SIDECAR_NAME
    write_atomically(path, json.dumps(sidecar, indent=2, default=float).encode() + b"\n")
    return path


def update_sidecar(directory: Path, fields: dict[str, Any]) -> Path:
    """Replaces top-level *fields* of the sidecar in *directory*, keeping the rest."""
    path = directory / SIDECAR_NAME
    sidecar = json.loads(path.read_text())
    sidecar.update(fields)
    write_atomically(path, json.dumps(sidecar, indent=2, default=float).encode() + b"\n")
    return path


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The sidecar of a network (*path* is its directory, model file or ``model.json``).

    Raises ``ValueError`` when it is missing or made for another encoding.
    """
    path = Path(path)
    sidecar_path = path / SIDECAR_NAME if path.is_dir() else path.with_name(SIDECAR_NAME)
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{sidecar_path}: missing; a network needs its sidecar") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{sidecar_path}: not valid JSON ({error})") from None
    if sidecar.get("format") != SIDECAR_FORMAT:
        raise ValueError(f"{sidecar_path}: not a boardeval network sidecar")
    if (
        sidecar.get("encoding_version") != ENCODING_VERSION
        or sidecar.get("num_planes") != NUM_PLANES
    ):
        raise ValueError(
            f"{sidecar_path}: network made for encoding version "
            f"{sidecar.get('encoding_version')} ({sidecar.get('num_planes')} planes); this "
            f"boardeval encodes version {ENCODING_VERSION} ({NUM_PLANES} planes). "
            "Retrain it or use a matching boardeval version."
        )
    sidecar["directory"] = str(sidecar_path.parent)
    return sidecar


def load_keras_network(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """The Keras model (for inference) and sidecar at *path*, once the sidecar's checks pass."""
    sidecar = read_sidecar(path)
    import keras

    model_path = Path(sidecar["directory"]) / sidecar["files"]["keras"]
    # For inference: the optimizer (and its learning-rate schedule) is not restored.
    return keras.models.load_model(model_path, compile=False), sidecar
