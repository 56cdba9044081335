from __future__ import annotations

import json
import shutil

import chess
import numpy as np
import pytest
import zstandard

from dataset.evaldb import EvalDbParser, is_eval_db, iter_lines
from dataset.prepare import PrepareConfig, prepare
from dataset.records import NO_MOVE, decode_move
from engine import targets
from engine.encoding import unpack_board

SAMPLE = "lichess_db_eval_sample.jsonl"


@pytest.fixture
def sample(tmp_path, tests_data):
    path = tmp_path / SAMPLE
    shutil.copy(tests_data / SAMPLE, path)
    return path


def test_names() -> None:
    assert is_eval_db("lichess_db_eval.jsonl.zst") and is_eval_db("x.JSONL")
    assert not is_eval_db("games.pgn.zst")


def test_reads_deepest_eval_first_move_and_counts_bad_lines(sample) -> None:
    parser = EvalDbParser()
    records, hashes = parser.parse_many(list(iter_lines(sample)))
    assert parser.counts["evaldb_lines"] == 12
    assert {k: v for k, v in parser.counts.items() if k.startswith("skipped_")} == {
        "skipped_evaldb_bad_json": 2,
        "skipped_evaldb_no_evals": 2,
        "skipped_evaldb_bad_fen": 1,
        "skipped_evaldb_bad_score": 1,
    }
    assert parser.counts["evaldb_pv_without_legal_move"] == 1
    assert len(records) == len(hashes) == 6 == len(set(hashes.tolist()))
    lines = [json.loads(line) for line in sample.read_text().splitlines()[:11] if "{" in line[:1]]
    fens = [unpack_board(record).epd() for record in records]
    assert fens[0] == lines[0]["fen"] and fens[1] == lines[1]["fen"]
    # the deepest of two evals (depth 40), its first move as the policy target
    assert (records["cp"][0], records["mate"][0]) == (26, 0)
    assert decode_move(int(records["move"][0])) == chess.Move.from_uci("e7e5")
    # mates from White's view, either side to move
    assert (records["mate"][1], records["mate"][2]) == (1, -1)
    assert records["value"][1] == 1.0 and records["value"][2] == 1.0  # the mover mates
    # a PV that starts with an illegal move keeps the eval, not the move
    assert records["cp"][3] == -19 and records["move"][3] == NO_MOVE
    # equal depth: the one with more knodes
    assert records["cp"][5] == 30
    assert (records["result"] == targets.UNKNOWN_RESULT).all() and (records["ply"] == 0).all()
    side = np.where(records["turn"], 1.0, -1.0)
    expected = side * np.tanh(targets.LICHESS_SCALE * records["cp"])
    normal = records["mate"] == 0
    np.testing.assert_allclose(records["value"][normal], expected[normal], atol=1e-6)


def test_castling_written_king_takes_rook_is_the_castling_move() -> None:
    fen = "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq -"
    lines = [
        json.dumps(
            {
                "fen": fen,
                "evals": [
                    {"pvs": [{"cp": 30, "line": f"{first} f8c5"}], "knodes": 100, "depth": 30}
                ],
            }
        )  # fmt: skip
        for first in ("e1h1", "e1g1", "0000")
    ]
    records, _ = EvalDbParser().parse_many(lines)
    castling = chess.Move.from_uci("e1g1")
    assert [decode_move(int(code)) for code in records["move"][:2]] == [castling, castling]
    assert records["move"][2] == NO_MOVE  # a null move is no policy target
    assert unpack_board(records[0]).fullmove_number == 1


def test_prepare_accepts_eval_db_beside_pgn(tmp_path, sample, corpus_sample) -> None:
    compressed = tmp_path / "lichess_db_eval.jsonl.zst"
    compressed.write_bytes(zstandard.ZstdCompressor().compress(sample.read_bytes()))
    summary = prepare([corpus_sample, compressed], tmp_path / "shards",
                      PrepareConfig(val_fraction=0.0), progress=False)  # fmt: skip
    assert summary.counts["evaldb_positions"] == 6
    assert summary.counts["skipped_evaldb_bad_json"] == 2
    assert summary.counts["games_kept"] == 32
    assert "eval-database lines" in summary.report()
    manifest = json.loads((tmp_path / "shards" / "manifest.json").read_text())
    assert manifest["counts"]["evaldb_positions"] == 6


def test_truncated_zstd_keeps_the_lines_before(tmp_path, sample) -> None:
    compressor = zstandard.ZstdCompressor().compressobj()
    parts = []
    for _ in range(50):  # a block per copy: zstd decodes whole blocks only
        parts += [
            compressor.compress(sample.read_bytes()),
            compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK),
        ]
    data = b"".join(parts)
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(data[: len(data) // 2])
    summary = prepare([path], tmp_path / "shards", PrepareConfig(), progress=False)
    assert summary.errors and "corrupt input" in summary.errors[0]
    assert summary.counts["evaldb_positions"] > 0


@pytest.mark.parametrize("target", [{"kind": "result"}, {"kind": "blend", "lambda_": 0.5}])
def test_training_refuses_result_targets_on_eval_db_data(tmp_path, sample, target) -> None:
    pytest.importorskip("tensorflow")
    from engine.train_config import TrainConfig
    from engine.training import train

    prepare([sample], tmp_path / "shards", PrepareConfig(val_fraction=0.0), progress=False)
    config = TrainConfig(data=tmp_path / "shards", out=tmp_path / "run",
                         target=targets.TargetConfig(**target))  # fmt: skip
    with pytest.raises(ValueError, match="no game results; train them with --target eval"):
        train(config)
