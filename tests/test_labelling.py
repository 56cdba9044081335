from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import chess.engine
import chess.pgn
import pytest

from dataset.games import GameParser, parse_headers
from dataset.labelling import STOCKFISH, LabelConfig, label_file
from dataset.reader import iter_games

pytestmark = pytest.mark.skipif(not os.path.exists(STOCKFISH), reason="needs Stockfish")


@pytest.fixture(scope="module")
def human_games(shared_data) -> list[str]:
    """The first real lichess games without evals."""
    path = shared_data / "games" / "lichess_user_export.pgn.zst"
    games = []
    for raw in iter_games(path, require_evals=False):
        games.append(raw.decode())
        if len(games) == 4:
            return games
    raise AssertionError("too few games")


def _write(path: Path, games: list[str]) -> Path:
    path.write_text("\n\n".join(game.strip() for game in games) + "\n")
    return path


def _read(path: Path) -> list[chess.pgn.Game]:
    import io

    return [
        chess.pgn.read_game(io.StringIO(raw.decode()))
        for raw in iter_games(path, require_evals=False)
    ]


def test_labels_every_move_and_keeps_headers(tmp_path, human_games) -> None:
    source = _write(tmp_path / "in.pgn", human_games[:2])
    out = tmp_path / "out.pgn.zst"
    counts = label_file(source, out, LabelConfig(nodes=50), progress=False)
    assert counts["games_labelled"] == 2 and counts["engine_restarts"] == 0
    assert out.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # zstd, as the name says
    labelled = _read(out)
    for original_text, game in zip(human_games, labelled, strict=False):
        original, _ = parse_headers(original_text)
        headers = dict(game.headers)
        assert headers.pop("Annotator") == "Stockfish 15.1 nodes=50"
        assert headers == original
        for node in game.mainline():
            if any(node.board().legal_moves):
                assert node.eval() is not None, node
        assert counts["positions_labelled"] >= len(list(game.mainline()))
    text = out.read_bytes()
    import zstandard

    assert b"1... " in zstandard.ZstdDecompressor().decompressobj().decompress(text)
    records, _ = GameParser().parse_many(list(iter_games(out)))
    assert len(records) == counts["positions_labelled"]


def test_resume_skips_written_games_and_redoes_a_cut_tail(tmp_path, human_games) -> None:
    out = tmp_path / "out.pgn"
    config = LabelConfig(nodes=30)
    label_file(_write(tmp_path / "two.pgn", human_games[:2]), out, config, progress=False)
    three = _write(tmp_path / "three.pgn", human_games[:3])
    counts = label_file(three, out, config, progress=False)
    assert (counts["skipped_done"], counts["games_labelled"]) == (2, 1)
    keys = [game.headers["GameId"] for game in _read(out)]
    assert keys == [parse_headers(g)[0]["GameId"] for g in human_games[:3]]

    data = out.read_bytes()
    out.write_bytes(data[: len(data) - 200])  # killed while writing the last game
    counts = label_file(three, out, config, progress=False)
    assert counts["damaged_tail_dropped"] == 1 and counts["games_labelled"] == 1
    assert [game.headers["GameId"] for game in _read(out)] == keys


def test_resume_of_a_zst_output_cut_inside_a_frame(tmp_path, human_games) -> None:
    import zstandard

    config = LabelConfig(nodes=30)
    three = _write(tmp_path / "three.pgn", human_games[:3])
    label_file(three, tmp_path / "plain.pgn", config, progress=False)
    complete = [str(game) for game in _read(tmp_path / "plain.pgn")]
    # Small zstd blocks, as in a long frame: the decoder hands on the text before the
    # cut, and the reader with it the first part of the last game.
    small_blocks = zstandard.ZstdCompressionParameters(window_log=10)
    data = zstandard.ZstdCompressor(compression_params=small_blocks).compress(
        (tmp_path / "plain.pgn").read_bytes()
    )
    out = tmp_path / "out.pgn.zst"
    out.write_bytes(data[: len(data) - 60])  # killed inside the last game
    counts = label_file(three, out, config, progress=False)
    assert counts["damaged_tail_dropped"] == 1 and counts["games_labelled"] >= 1
    assert [str(game) for game in _read(out)] == complete  # the cut game whole, not its stub


def test_evals_are_from_whites_view_and_a_mate_ends_them(tmp_path) -> None:
    scholars_mate = '[Event "t"]\n[Result "1-0"]\n\n1. e4 e5 2. Qh5 Nc6 3. Bc4 Nf6 4. Qxf7# 1-0'
    out = tmp_path / "out.pgn"
    label_file(_write(tmp_path / "in.pgn", [scholars_mate]), out, LabelConfig(nodes=2000),
               progress=False)  # fmt: skip
    (game,) = _read(out)
    nodes = list(game.mainline())
    assert nodes[-2].eval().white() == chess.engine.Mate(1)  # White to mate in one
    assert nodes[-2].eval().black() == chess.engine.Mate(-1)
    assert nodes[-1].eval() is None  # checkmate: nothing to evaluate, as on lichess
    assert "{ [%eval #1] } 4. Qxf7# 1-0" in out.read_text()


def test_games_with_evals_are_kept_unless_overwrite(tmp_path, shared_data) -> None:
    path = shared_data / "corpus" / "lichess_user_export_sf15_1500n.pgn.zst"
    evaluated = next(iter_games(path)).decode()
    source = _write(tmp_path / "evaluated.pgn", [evaluated])
    kept = label_file(source, tmp_path / "kept.pgn", LabelConfig(nodes=20), progress=False)
    assert kept["games_kept"] == 1
    assert (tmp_path / "kept.pgn").read_text().strip() == evaluated.strip()
    redone = label_file(source, tmp_path / "redone.pgn", LabelConfig(nodes=20, overwrite=True),
                        progress=False)  # fmt: skip
    assert redone["games_labelled"] == 1
    assert _read(tmp_path / "redone.pgn")[0].headers["Annotator"] == "Stockfish 15.1 nodes=20"


def _engine_children() -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if name == "stockfish" and int(fields.split()[1]) == os.getpid():
            children.append(int(entry))
    return children


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSTOP])
def test_a_dead_or_hung_engine_is_restarted(tmp_path, human_games, how) -> None:
    source = _write(tmp_path / "in.pgn", human_games[:3])
    out = tmp_path / "out.pgn"
    struck: list[int] = []

    def strike() -> None:
        deadline = time.monotonic() + 20
        while not struck and time.monotonic() < deadline:
            if children := _engine_children():
                time.sleep(0.3)  # mid-game
                os.kill(children[0], how)
                struck.append(children[0])
            time.sleep(0.02)

    killer = threading.Thread(target=strike)
    killer.start()
    counts = label_file(source, out, LabelConfig(nodes=3000, timeout=2.0), progress=False)
    killer.join()
    if how == signal.SIGSTOP:
        with contextlib.suppress(ProcessLookupError):  # the labeller killed it already
            os.kill(struck[0], signal.SIGKILL)
    assert struck and counts["engine_restarts"] >= 1
    assert counts["games_labelled"] == 3 and counts.get("games_failed", 0) == 0
    assert len(_read(out)) == 3
    deadline = time.monotonic() + 5  # every engine's thread ends: none keeps pytest alive
    while any(t.name.startswith("SimpleEngine") for t in threading.enumerate()):
        assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
        time.sleep(0.05)


def test_workers_keep_the_input_order(tmp_path, human_games) -> None:
    source = _write(tmp_path / "in.pgn", human_games)
    out = tmp_path / "out.pgn"
    counts = label_file(source, out, LabelConfig(nodes=20, workers=2), progress=False)
    assert counts["games_labelled"] == 4
    ids = [game.headers["GameId"] for game in _read(out)]
    assert ids == [parse_headers(game)[0]["GameId"] for game in human_games]


def test_config_needs_one_limit() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        LabelConfig()
    with pytest.raises(ValueError, match="exactly one"):
        LabelConfig(nodes=10, depth=5)
