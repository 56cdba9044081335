"""Training on real lichess evals: it learns, proves it, and says so when it cannot."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from dataset.prepare import PrepareConfig, prepare  # noqa: E402
from dataset.records import RECORD_DTYPE  # noqa: E402
from dataset.shards import read_records, shard_paths  # noqa: E402
from engine.encoding import pack_boards, unpack_planes  # noqa: E402
from engine.model_config import ModelConfig  # noqa: E402
from engine.network_files import load_keras_network, read_sidecar  # noqa: E402
from engine.train_config import TrainConfig  # noqa: E402
from engine.training import CollapseError, train  # noqa: E402

SMALL = dict(
    model=ModelConfig(blocks=2, filters=16),
    batch_size=128,
    learning_rate=2e-3,
    warmup_steps=50,
    val_positions=5000,
    verbose=0,
)


@pytest.fixture(scope="module")
def shards(tmp_path_factory, shared_data) -> Path:
    """800 real lichess games with Stockfish evals (about 60k positions), game-split."""
    out = tmp_path_factory.mktemp("shards")
    corpus = shared_data / "corpus" / "lichess_user_export_sf15_1500n.pgn.zst"
    prepare([corpus], out, PrepareConfig(val_fraction=0.1, max_games=800), progress=False)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shards):
    out = tmp_path_factory.mktemp("run")
    # Mirrored, so that the run every learning test judges goes through the augmentation.
    config = TrainConfig(data=shards, out=out, epochs=2, steps_per_epoch=200, mirror=True, **SMALL)
    return train(config)


def test_small_network_learns_real_evals(trained) -> None:
    report = trained.report
    assert report.network["r2"] >= 0.3, report.table()
    assert report.network["r2"] > report.mean_predictor["r2"] + 0.3
    assert abs(report.mean_predictor["r2"]) < 1e-9
    assert report.network["sign_accuracy"] > 0.7
    assert report.network["prediction_std"] > 0.5 * report.network["target_std"]
    assert report.collapse_warnings() == []


def test_run_directory_has_everything(trained) -> None:
    run = trained.run_dir
    for name in (
        "model.keras",
        "model.tflite",
        "model.int8.tflite",
        "model.json",
        "history.csv",
        "validation.json",
        "checkpoints/last.keras",
        "checkpoints/state.json",
        "plots/curves.png",
        "plots/hexbin.png",
        "plots/calibration.png",
    ):
        assert (run / name).is_file(), name
    assert any((run / "logs").rglob("events.out.tfevents.*"))
    history = (run / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch") and "val_r2" in history[0] and len(history) == 3
    sidecar = read_sidecar(run)
    assert sidecar["target"]["kind"] == "eval" and sidecar["heads"] == ["value"]
    assert sidecar["training"]["steps"] == 400 and sidecar["training"]["mirror"] is True
    assert sidecar["validation"]["network"]["r2"] == trained.report.network["r2"]
    int8 = sidecar["int8"]  # search's file, scored on the same validation positions
    assert sidecar["files"]["tflite_int8"] == int8["file"] == "model.int8.tflite"
    assert abs(int8["value_r2_float"] - trained.report.network["r2"]) < 1e-3
    assert int8["value_r2"] > int8["value_r2_float"] - 0.05


def test_litert_export_matches_keras(trained, shards) -> None:
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    model, _ = load_keras_network(trained.run_dir)
    planes = unpack_planes(read_records(shards, "val", limit=64))
    expected = model.predict(planes, verbose=0)["value"].reshape(-1)
    interpreter = interpreter_module.Interpreter(str(trained.run_dir / "model.tflite"))
    runner = interpreter.get_signature_runner()
    input_name = next(iter(runner.get_input_details()))
    got = np.concatenate(
        [
            np.asarray(next(iter(runner(**{input_name: planes[i : i + 1]}).values()))).reshape(-1)
            for i in range(len(planes))
        ]
    )
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_loader_refuses_another_encoding(trained, tmp_path) -> None:
    copy = tmp_path / "net"
    shutil.copytree(trained.run_dir, copy, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    sidecar = json.loads((copy / "model.json").read_text())
    sidecar["encoding_version"] = 0
    (copy / "model.json").write_text(json.dumps(sidecar))
    with pytest.raises(ValueError, match="encoding version 0"):
        load_keras_network(copy)


def test_collapse_detector_fires_when_inputs_carry_no_information(shards, tmp_path, capfd) -> None:
    # The same board in every record: targets vary, inputs say nothing.
    blind = tmp_path / "blind"
    shutil.copytree(shards, blind)
    start = pack_boards([__import__("chess").Board()])[0]
    for path in shard_paths(blind):
        records = np.fromfile(path, dtype=RECORD_DTYPE)
        for field in start.dtype.names:
            records[field] = start[field]
        records.tofile(path)
    config = TrainConfig(
        data=blind,
        out=tmp_path / "run",
        epochs=1,
        steps_per_epoch=60,
        fail_on_collapse=True,
        export_tflite=False,
        **SMALL,
    )
    with pytest.raises(CollapseError, match="R²"):
        train(config)
    assert "COLLAPSE" in capfd.readouterr().err


def _train_command(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "engine.cli",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--model",
        "1x8",
        "--batch-size",
        "64",
        "--val-positions",
        "500",
        "--verbose",
        "0",
        "--no-tflite",
        "--warmup-steps",
        "10",
        *extra,
    ]


def test_resume_after_a_kill_continues_at_the_right_step(shards, tmp_path) -> None:
    out = tmp_path / "run"
    command = _train_command(shards, out, "--epochs", "4", "--steps-per-epoch", "40")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = out / "checkpoints" / "state.json"
    deadline = time.monotonic() + 240
    while not state.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert state.exists(), process.stderr.read().decode()[-2000:] if process.stderr else ""
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = json.loads(state.read_text())
    assert killed_at["step"] == 40 * killed_at["epoch"]
    assert not (out / "model.keras").exists()  # it really died before finishing

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (
        f"resuming after epoch {killed_at['epoch']} at step {40 * killed_at['epoch']}"
        in resumed.stderr
    )
    final = json.loads(state.read_text())
    assert final == {**final, "epoch": 4, "step": 160}
    epochs = [line.split(",")[0] for line in (out / "history.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2", "3"]
    assert read_sidecar(out)["training"]["steps"] == 160


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_workers_on_loopback_finish_with_identical_weights(shards, tmp_path) -> None:
    keras = pytest.importorskip("keras")
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    processes = []
    for index in range(2):
        environment = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        )
        command = _train_command(
            shards,
            tmp_path / "shared-run",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "6",
            "--distribute",
            "multi_worker",
        )
        processes.append(
            subprocess.Popen(
                command,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for process in processes:
        _, stderr = process.communicate(timeout=400)
        assert process.returncode == 0, stderr[-3000:]
    chief = keras.models.load_model(tmp_path / "shared-run" / "model.keras")
    worker = keras.models.load_model(tmp_path / "shared-run" / "worker-1" / "model.keras")
    assert int(chief.optimizer.iterations.numpy()) == 6
    for a, b in zip(chief.get_weights(), worker.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_refuses_other_settings(trained, tmp_path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(trained.run_dir, copy)
    config = TrainConfig(
        data=Path(read_sidecar(copy)["data"]["directory"]),
        out=copy,
        epochs=5,
        steps_per_epoch=200,
        resume=True,
        **SMALL,
    )
    with pytest.raises(ValueError, match="epochs: 2 -> 5"):
        train(config)


def test_init_from_starts_at_the_donors_weights(trained, shards, tmp_path) -> None:
    donor, _ = load_keras_network(trained.run_dir)
    tuned = TrainConfig(data=shards, out=tmp_path / "tuned", epochs=1, steps_per_epoch=2,
                        init_from=trained.run_dir, **{**SMALL, "learning_rate": 1e-9})  # fmt: skip
    result = train(tuned)
    assert result.report.network["r2"] == pytest.approx(trained.report.network["r2"], abs=0.02)
    model, sidecar = load_keras_network(result.run_dir)
    assert sidecar["training"]["init_from"] == str(trained.run_dir)
    kernel = next(w for w in model.weights if "kernel" in w.path)
    assert np.allclose(kernel.numpy(), next(w for w in donor.weights if "kernel" in w.path).numpy(),
                       atol=1e-4)  # fmt: skip
    other = TrainConfig(data=shards, out=tmp_path / "other", epochs=1, steps_per_epoch=1,
                        init_from=trained.run_dir, **{**SMALL, "model": ModelConfig(blocks=1,
                        filters=8)})  # fmt: skip
    with pytest.raises(ValueError, match="another network shape"):
        train(other)
