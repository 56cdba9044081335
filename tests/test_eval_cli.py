from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.cli import main

RUY_LOPEZ = "r1bqkbnr/1ppp1ppp/p1n5/1B2p3/4P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 0 4"


def test_eval_one_position_json(capsys) -> None:
    assert main(["eval", "startpos", "--moves", "e4", "e5", "Bc4", "--weights", "material",
                 "--json"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["fen"].startswith("rnbqkbnr/pppp1ppp/8/4p3/2B1P3/8/PPPP1PPP/RNBQK1NR b")
    assert set(result) == {"fen", "cp", "mate", "value", "wdl"}


def test_eval_bad_position_is_a_clear_error(capsys) -> None:
    assert main(["eval", "startpos moves e2e5", "--weights", "material"]) == 2
    assert "not legal" in capsys.readouterr().err


def test_eval_csv_keeps_bad_rows(tmp_path, policy_network, capsys) -> None:
    rows = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "fen": ["startpos", RUY_LOPEZ, "not a fen", RUY_LOPEZ, "startpos", ""],
            "moves": ["", "", "", "Ba4 Nf6", "e2e5", ""],
        }
    )
    rows.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    assert main(["eval", "--file", str(tmp_path / "in.csv"), "--out", str(out),
                 "--weights", str(policy_network)]) == 0  # fmt: skip
    assert "6 positions: 3 evaluated, 3 with errors" in capsys.readouterr().err
    result = pd.read_csv(out, keep_default_na=False)
    assert result["id"].tolist() == ["a", "b", "c", "d", "e", "f"]
    assert list(result.columns) == ["id", "fen", "moves", "cp", "mate", "value", "wdl", "error"]
    assert [bool(e) for e in result["error"]] == [False, False, True, False, True, True]
    assert "bad FEN" in result.loc[2, "error"] and "not legal" in result.loc[4, "error"]
    assert "no position" in result.loc[5, "error"]  # a blank cell is not the start position
    import engine

    network = engine.load(policy_network)
    assert int(result.loc[3, "cp"]) == network.evaluate(RUY_LOPEZ, ["Ba4", "Nf6"]).cp
    win, draw, loss = map(int, result.loc[1, "wdl"].split("/"))
    assert win + draw + loss == 1000


def test_eval_epd_and_pgn(tmp_path, capsys) -> None:
    (tmp_path / "suite.epd").write_text(
        '6k1/5ppp/8/8/8/8/8/R5K1 w - - bm Ra8#; id "mate";\nnonsense here\n'
    )
    assert main(["eval", "--file", str(tmp_path / "suite.epd"), "--weights", "material"]) == 0
    out, err = capsys.readouterr()
    assert "2 positions: 1 evaluated, 1 with errors" in err
    assert out.splitlines()[0] == "id,fen,cp,mate,value,wdl,error"
    assert out.splitlines()[1].startswith("mate,6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1,200,")

    (tmp_path / "games.pgn").write_text(
        '[Event "ok"]\n\n1. e4 e5 2. Qh5 Nc6 3. Bc4 Nf6 4. Qxf7# 1-0\n\n'
        '[Event "broken"]\n\n1. d4 d5 2. Ke3 *\n\n'
        '[Event "bad setup"]\n[FEN "8/8/8 w - - 0 1"]\n\n1. Kb1 *\n\n'
        '[Event "after"]\n\n1. e4 *\n'
    )
    out_path = tmp_path / "games.csv"
    assert main(["eval", "--file", str(tmp_path / "games.pgn"), "--out", str(out_path),
                 "--weights", "material"]) == 0  # fmt: skip
    frame = pd.read_csv(out_path)
    first = frame[frame["game"] == 1]
    assert first["ply"].tolist() == list(range(8)) and first["error"].isna().all()
    assert first.iloc[-1]["move"] == "Qxf7#" and first.iloc[-1]["mate"] == 0
    second = frame[frame["game"] == 2]
    assert second["ply"].tolist() == [0, 1, 2, 3]  # the moves before the bad one are kept
    assert second["error"].notna().tolist() == [False, False, False, True]
    assert "bad game" in second.iloc[-1]["error"]
    third = frame[frame["game"] == 3]  # an unreadable FEN header: one error row, run goes on
    assert len(third) == 1 and "bad game" in third.iloc[0]["error"]
    assert frame[frame["game"] == 4]["move"].tolist()[1:] == ["e4"]


def test_analyse_prints_lines(capsys) -> None:
    assert main(["analyse", "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1", "--nodes", "100",
                 "--weights", "material", "--json"]) == 0  # fmt: skip
    analysis = json.loads(capsys.readouterr().out)
    assert analysis["lines"][0]["moves"][0] == "a1a8" and analysis["lines"][0]["mate"] == 1
    assert main(["analyse", "startpos", "--nodes", "60", "--multipv", "2",
                 "--weights", "material"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "nodes" in out and out.count(" visits ") == 2


def test_analyse_on_the_int8_file_finds_the_mate(capsys, policy_network) -> None:
    pytest.importorskip("ai_edge_litert")
    assert main(["analyse", "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1", "--nodes", "50",
                 "--backend", "litert-int8", "--json"]) == 0  # fmt: skip
    analysis = json.loads(capsys.readouterr().out)
    assert analysis["lines"][0]["moves"][0] == "a1a8" and analysis["lines"][0]["mate"] == 1
    # a network without an int8 file: a clear error naming the fix
    assert main(["eval", "startpos", "--weights", str(policy_network),
                 "--backend", "litert-int8"]) == 2  # fmt: skip
    assert "boardeval quantize" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["eval"], ["eval", "startpos", "--file", "x.csv"]])
def test_eval_needs_exactly_one_input(argv, capsys) -> None:
    assert main([*argv, "--weights", "material"]) == 2
    assert "position or --file" in capsys.readouterr().err


def test_eval_missing_file_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["eval", "--file", str(tmp_path / "absent.csv"), "--weights", "material"]) == 2
    assert "No such file" in capsys.readouterr().err
