"""The benchmarks run and report the keys the issues ask for (speed is not asserted)."""

from __future__ import annotations

import json

import pytest

from engine.cli import main


def test_bench_pipeline_reports_side_by_side(capsys, corpus_sample, shared_data) -> None:
    skip_file = shared_data / "games" / "lichess_user_export.pgn.zst"
    code = main(
        [
            "bench",
            "pipeline",
            "--file",
            str(corpus_sample),
            "--skip-file",
            str(skip_file),
            "--games",
            "32",
            "--json",
        ]
    )
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    for key in (
        "positions_per_s",
        "python_chess_positions_per_s",
        "ratio",
        "skip_mb_per_s",
        "zstd_mb_per_s",
        "scaling_2_workers",
    ):
        assert results[key] > 0, key
    assert results["positions"] == results["python_chess_positions"] > 2000


def test_bench_train_reports_side_by_side(capsys, shared_data) -> None:
    pytest.importorskip("tensorflow")
    code = main(
        ["bench", "train", "--model", "1x8", "--batch-size", "64", "--steps", "4", "--json"]
    )
    assert code == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("samples_per_s", "bare_samples_per_s", "ratio"):
        assert results[key] > 0, key


def test_bench_search_reports_side_by_side(capsys, shared_data) -> None:
    pytest.importorskip("ai_edge_litert")
    code = main(["bench", "search", "--positions", "3", "--nodes", "12", "--json"])
    assert code == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("visits_per_s", "search_network_positions_per_s", "network_positions_per_s",
                "ratio"):  # fmt: skip
        assert results[key] > 0, key
    assert results["wac_total"] == 3 and 0 <= results["wac_solved"] <= 3
    # the shipped network has an int8 file: search's figures, and float32's beside them
    assert results["backend"] == "litert-int8"
    assert results["float32"]["visits_per_s"] > 0 and results["visits_speedup_over_float32"] > 0


def test_bench_api_reports_side_by_side(capsys, shared_data, policy_network) -> None:
    pytest.importorskip("fastapi")
    code = main(["bench", "api", "--weights", str(policy_network), "--positions", "96",
                 "--batch-size", "16", "--clients", "2", "--json"])  # fmt: skip
    assert code == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("http_evals_per_s", "python_evals_per_s", "ratio"):
        assert results[key] > 0, key
    assert results["positions"] == 96
    assert results["http_network_calls"] <= 6 + 1  # 6 batches, one warm-up request
