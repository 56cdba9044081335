"""The int8 network file: made by ``boardeval quantize`` and training, close to float32,
and what search (UCI ``Backend auto``) picks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.encoding import unpack_planes
from engine.evaluator import NetworkEvaluator, search_backend
from engine.network_files import default_network, read_sidecar


def test_shipped_int8_network_stays_close_to_float32(corpus_sample_records) -> None:
    pytest.importorskip("ai_edge_litert")
    network = default_network()
    assert read_sidecar(network)["files"]["tflite_int8"] == "model.int8.tflite"
    assert search_backend(network) == "litert-int8"
    planes = unpack_planes(corpus_sample_records)  # real lichess and master positions
    exact = NetworkEvaluator(network).evaluate_planes(planes)
    int8 = NetworkEvaluator(network, backend="litert-int8").evaluate_planes(planes)
    difference = np.abs(int8.values - exact.values)
    assert difference.mean() < 0.04 and difference.max() < 0.3, difference.max()
    assert np.corrcoef(int8.values, exact.values)[0, 1] > 0.98
    same_top_move = int8.policy.argmax(axis=1) == exact.policy.argmax(axis=1)
    assert same_top_move.mean() > 0.85


@pytest.fixture
def network_dir(tmp_path, make_network):
    return make_network(tmp_path, blocks=2, filters=16, policy=True, kernel_scale=0.2,
                        keras_file=True)  # fmt: skip


def test_quantize_command_adds_the_int8_file(network_dir, corpus_sample_records, capsys) -> None:
    with pytest.raises(ValueError, match="boardeval quantize"):
        NetworkEvaluator(network_dir, backend="litert-int8")
    assert search_backend(network_dir) == "litert"
    assert main(["quantize", str(network_dir)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["file"] == "model.int8.tflite"
    assert (network_dir / "model.int8.tflite").stat().st_size < (
        network_dir / "model.tflite"
    ).stat().st_size / 2  # int8 weights: about a quarter of float32
    sidecar = read_sidecar(network_dir)
    assert sidecar["files"]["tflite_int8"] == "model.int8.tflite" and sidecar["int8"] == report
    assert search_backend(network_dir) == "litert-int8"
    planes = unpack_planes(corpus_sample_records[:200])
    exact = NetworkEvaluator(network_dir).evaluate_planes(planes)
    int8 = NetworkEvaluator(network_dir, backend="litert-int8").evaluate_planes(planes)
    assert exact.values.std() > 0.01  # random weights that tell boards apart
    assert np.corrcoef(int8.values, exact.values)[0, 1] > 0.95
    assert int8.policy.shape == exact.policy.shape


def test_quantize_refuses_what_is_not_a_network(tmp_path, capsys) -> None:
    assert main(["quantize", str(tmp_path)]) == 2
    assert "sidecar" in capsys.readouterr().err


def test_uci_backend_option_chooses_the_file() -> None:
    pytest.importorskip("ai_edge_litert")
    from engine.uci import UCIEngine

    lines: list[str] = []
    uci = UCIEngine(lines.append)
    uci.handle("uci")
    assert "option name Backend type combo default auto var auto var litert var litert-int8 " \
        "var tensorflow" in lines  # fmt: skip
    uci.handle("isready")
    assert any(line.endswith("backend litert-int8") for line in lines)
    uci.handle("setoption name Backend value litert")
    uci.handle("isready")
    assert lines[-2].startswith("info string network boardeval-") and lines[-2].endswith(
        "backend litert"
    )
    assert lines[-1] == "readyok"
