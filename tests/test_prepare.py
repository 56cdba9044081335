"""``boardeval prepare`` end to end: shards, manifest, stats, split, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import zstandard

from dataset.prepare import PrepareConfig, prepare
from dataset.reader import iter_decompressed
from dataset.shards import load_manifest, read_records, records_to_dataframe, shard_paths
from engine.cli import main


def shard_bytes(directory) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.bin"))}


def test_prepare_writes_every_position_once(tmp_path, corpus_sample, corpus_sample_records) -> None:
    summary = prepare([corpus_sample], tmp_path, PrepareConfig(val_fraction=0.25), progress=False)
    assert summary.errors == []
    assert summary.positions() == len(corpus_sample_records)
    train, val = read_records(tmp_path, "train"), read_records(tmp_path, "val")
    assert len(train) and len(val)
    both = np.concatenate([train, val])
    assert sorted(both.tobytes()[i : i + 128] for i in range(0, len(both) * 128, 128)) == sorted(
        corpus_sample_records.tobytes()[i : i + 128]
        for i in range(0, len(corpus_sample_records) * 128, 128)
    )
    manifest = load_manifest(tmp_path)
    assert manifest["counts"]["games_kept"] == 32
    assert sum(shard["positions"] for shard in manifest["shards"]) == summary.positions()


def test_split_is_by_game_never_by_position(tmp_path, corpus_sample) -> None:
    prepare([corpus_sample], tmp_path, PrepareConfig(val_fraction=0.3), progress=False)
    train_games = set(read_records(tmp_path, "train")["game_id"].tolist())
    val_games = set(read_records(tmp_path, "val")["game_id"].tolist())
    assert train_games and val_games and not train_games & val_games


def test_stats_are_readable_with_pandas(tmp_path, corpus_sample, corpus_sample_records) -> None:
    prepare([corpus_sample], tmp_path, progress=False)
    histogram = pd.read_csv(tmp_path / "stats" / "eval_histogram.csv")
    assert histogram["positions"].sum() == len(corpus_sample_records)
    results = pd.read_csv(tmp_path / "stats" / "results.csv")
    assert set(results["result"]) <= {"1-0", "0-1", "1/2-1/2", "*"}
    assert results["positions"].sum() == len(corpus_sample_records)
    counts = pd.read_csv(tmp_path / "stats" / "counts.csv").set_index("counter")["count"]
    assert counts["games_read"] == 32 and counts["positions"] == len(corpus_sample_records)
    frame = records_to_dataframe(read_records(tmp_path, limit=5), with_fen=True)
    assert list(frame.columns[:3]) == ["game_id", "ply", "turn"] and len(frame) == 5
    assert frame["fen"].str.count("/").eq(7).all()


def test_rerun_gives_the_same_shards_for_any_worker_count(tmp_path, corpus_sample) -> None:
    config = PrepareConfig(val_fraction=0.2, positions_per_shard=1000)
    prepare([corpus_sample], tmp_path / "a", config, progress=False)
    prepare([corpus_sample], tmp_path / "b", config, progress=False)
    two_workers = PrepareConfig(
        val_fraction=0.2, positions_per_shard=1000, workers=2, games_per_batch=5
    )
    prepare([corpus_sample], tmp_path / "c", two_workers, progress=False)
    first = shard_bytes(tmp_path / "a")
    assert len(first) > 2
    assert first == shard_bytes(tmp_path / "b") == shard_bytes(tmp_path / "c")
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (
        tmp_path / "b" / "manifest.json"
    ).read_bytes()


def test_rerun_into_the_same_directory_removes_stale_shards(tmp_path, corpus_sample) -> None:
    prepare([corpus_sample], tmp_path, PrepareConfig(positions_per_shard=500), progress=False)
    many = set(shard_bytes(tmp_path))
    prepare([corpus_sample], tmp_path, PrepareConfig(positions_per_shard=100_000), progress=False)
    assert (
        set(shard_bytes(tmp_path))
        == {"train-00000.bin", "val-00000.bin"}
        < many | {"val-00000.bin"}
    )
    assert [path.name for path in shard_paths(tmp_path)] == ["train-00000.bin", "val-00000.bin"]


def test_dedupe_drops_repeated_positions(tmp_path, corpus_sample, corpus_sample_records) -> None:
    twice = [corpus_sample, corpus_sample]
    plain = prepare(twice, tmp_path / "plain", progress=False)
    deduped = prepare(twice, tmp_path / "dedupe", PrepareConfig(dedupe=True), progress=False)
    assert plain.positions() == 2 * len(corpus_sample_records)
    assert deduped.positions() < len(corpus_sample_records)  # openings repeat within the games too
    assert deduped.counts["positions_duplicate"] == plain.positions() - deduped.positions()


def test_rebalancing_drops_the_asked_fractions(
    tmp_path, corpus_sample, corpus_sample_records
) -> None:
    config = PrepareConfig(drop_near_zero=1.0, near_zero_cp=30, drop_extreme=1.0, extreme_cp=800)
    summary = prepare([corpus_sample], tmp_path, config, progress=False)
    records = read_records(tmp_path)
    cp = np.abs(records["cp"].astype(int))
    assert (records["mate"] == 0).all() and (cp >= 30).all() and (cp < 800).all()
    assert summary.counts["positions_rebalanced"] == len(corpus_sample_records) - len(records)
    half = prepare(
        [corpus_sample], tmp_path / "half", PrepareConfig(drop_near_zero=0.5), progress=False
    )
    near_zero = int(
        (
            (np.abs(corpus_sample_records["cp"].astype(int)) < 30)
            & (corpus_sample_records["mate"] == 0)
        ).sum()
    )
    assert 0.35 * near_zero < half.counts["positions_rebalanced"] < 0.65 * near_zero


def test_corrupt_input_is_reported_and_nothing_good_is_lost(
    tmp_path, corpus_sample, corpus_sample_records, recompress_in_blocks
) -> None:
    data = recompress_in_blocks(corpus_sample)
    truncated = tmp_path / "truncated.pgn.zst"
    truncated.write_bytes(data[: len(data) // 2])
    plain = tmp_path / "plain.pgn"
    plain.write_bytes(b"".join(iter_decompressed(corpus_sample)))
    empty = tmp_path / "empty.pgn"
    empty.write_bytes(b"")
    summary = prepare([plain, truncated, empty, corpus_sample], tmp_path / "out", progress=False)
    assert len(summary.errors) == 1 and "truncated.pgn.zst" in summary.errors[0]
    assert summary.positions() > 2 * len(corpus_sample_records)
    assert "ERROR" in summary.report() and "games read" in summary.report()
    assert load_manifest(tmp_path / "out")["errors"] == summary.errors


def test_cli_prepare_reports_and_sets_the_exit_code(tmp_path, corpus_sample, capsys) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "prepare",
            str(corpus_sample),
            "--out",
            str(out),
            "--quiet",
            "--min-elo",
            "1800",
            "--time-control",
            "blitz",
            "--time-control",
            "rapid",
        ]
    )
    assert code == 0
    report = capsys.readouterr().err
    assert "games read" in report and "skipped: elo" in report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["game_filter"]["min_elo"] == 1800
    assert manifest["config"]["game_filter"]["time_controls"] == ["blitz", "rapid"]

    broken = tmp_path / "broken.pgn.zst"
    broken.write_bytes(zstandard.ZstdCompressor().compress(b"x" * 100)[:-5])
    assert main(["prepare", str(broken), "--out", str(tmp_path / "b"), "--quiet"]) == 1
    assert "broken.pgn.zst" in capsys.readouterr().err
    assert main(["prepare", str(tmp_path / "missing.pgn"), "--out", str(out)]) == 2
    assert "input not found" in capsys.readouterr().err


def test_manifest_refuses_another_encoding(tmp_path, corpus_sample) -> None:
    prepare([corpus_sample], tmp_path, progress=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["encoding_version"] = 999
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="encoding version 999"):
        read_records(tmp_path)


def test_sample_games_draws_whole_games_from_every_shard(tmp_path, corpus_sample) -> None:
    from dataset.shards import sample_games

    prepare(
        [corpus_sample],
        tmp_path,
        PrepareConfig(val_fraction=0.0, positions_per_shard=500),
        progress=False,
    )
    everything = read_records(tmp_path, "train")
    sample = sample_games(tmp_path, "train", positions=len(everything) // 3)
    assert 0.5 < len(sample) / (len(everything) // 3) < 1.5
    sampled_games = set(sample["game_id"].tolist())
    assert len(sampled_games) >= 4
    for game_id in sampled_games:  # whole games
        assert (sample["game_id"] == game_id).sum() == (everything["game_id"] == game_id).sum()
    # Drawn across the shards, not just the first games of the first one.
    last_shard = np.fromfile(shard_paths(tmp_path, "train")[-1], dtype=sample.dtype)
    assert sampled_games & set(last_shard["game_id"].tolist())
