"""Streaming, splitting and the raw eval scan, including broken input."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import zstandard

from dataset.reader import (
    FEED_SIZE,
    CorruptInputError,
    ReadCounts,
    iter_decompressed,
    iter_games,
    split_games,
)

GAME_WITH_EVALS = b"""[Event "A"]
[Site "https://lichess.org/abcdefgh"]
[Result "1-0"]

1. e4 { [%eval 0.2] } 1... e5 { [%eval 0.3] } 1-0
"""
GAME_WITHOUT_EVALS = b"""[Event "B"]
[Result "0-1"]

1. d4 d5 0-1
"""


def test_splits_games_and_scans_for_evals(corpus_sample) -> None:
    counts = ReadCounts()
    games = list(iter_games(corpus_sample, counts=counts))
    assert len(games) == counts.games == 32
    assert all(game.startswith(b"[Event ") for game in games)
    assert counts.without_evals == 0


def test_games_without_evals_are_counted_not_returned(tmp_path) -> None:
    path = tmp_path / "mixed.pgn"
    path.write_bytes(b"\n\n".join([GAME_WITHOUT_EVALS, GAME_WITH_EVALS] * 3 + [GAME_WITHOUT_EVALS]))
    counts = ReadCounts()
    games = list(iter_games(path, counts=counts))
    assert [game.split(b"\n")[0] for game in games] == [b'[Event "A"]'] * 3
    assert (counts.games, counts.without_evals) == (7, 4)
    assert len(list(iter_games(path, require_evals=False))) == 7


def test_blank_line_inside_a_game_does_not_split_it(tmp_path) -> None:
    # As in games/masters.pgn.zst (Adams - Bologan, EuCh-Internet 2004): an extra
    # blank line between headers and moves, which python-chess reads as a game
    # without moves followed by a header-less one.
    text = (
        b'[Event "EuCh-Internet KO"]\n[White "Adams,Mi"]\n[Black "Bologan,V"]\n'
        b'[Result "1-0"]\n\n\n1.e4 c6 2.d4 d5\n\n3.exd5 cxd5  1-0\n\n' + GAME_WITHOUT_EVALS
    )
    games = split_games(text)
    assert len(games) == 2
    assert b"1.e4" in games[0] and b"3.exd5" in games[0]


def test_crlf_and_whitespace_lines_between_games(tmp_path) -> None:
    crlf = (GAME_WITH_EVALS + b"\n" + GAME_WITHOUT_EVALS).replace(b"\n", b"\r\n")
    assert len(split_games(crlf)) == 2
    spaced = GAME_WITH_EVALS + b"  \n" + GAME_WITHOUT_EVALS
    assert len(split_games(spaced)) == 2
    path = tmp_path / "crlf.pgn"
    path.write_bytes(b"\r\n".join([crlf] * 3))
    counts = ReadCounts()
    assert len(list(iter_games(path, counts=counts))) == 3
    assert counts.games == 6


def test_games_split_across_chunks_are_whole(corpus_sample) -> None:
    whole = list(iter_games(corpus_sample, require_evals=False))
    chunked = [
        game for chunk_size in (7, 1000) for game in _games_from_chunks(corpus_sample, chunk_size)
    ]
    assert chunked == whole * 2


def _games_from_chunks(path, chunk_size):
    from dataset.reader import iter_blocks

    for block in iter_blocks(iter_decompressed(path, chunk_size=chunk_size)):
        yield from split_games(block)


def test_plain_and_zstd_read_alike(tmp_path, corpus_sample) -> None:
    plain = tmp_path / "sample.pgn"
    plain.write_bytes(b"".join(iter_decompressed(corpus_sample)))
    assert list(iter_games(plain)) == list(iter_games(corpus_sample))


def test_concatenated_zstd_frames(tmp_path) -> None:
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "frames.pgn.zst"
    path.write_bytes(
        compressor.compress(GAME_WITH_EVALS + b"\n") + compressor.compress(GAME_WITH_EVALS)
    )
    assert len(list(iter_games(path))) == 2


def test_truncated_zstd_keeps_the_games_before_and_names_file_and_offset(
    tmp_path, corpus_sample, recompress_in_blocks
) -> None:
    data = recompress_in_blocks(corpus_sample)
    path = tmp_path / "cut.pgn.zst"
    path.write_bytes(data[: len(data) * 2 // 3])
    games = []
    with pytest.raises(CorruptInputError) as raised:
        for game in iter_games(path, require_evals=False):
            games.append(game)
    assert "cut.pgn.zst" in str(raised.value) and "truncated" in str(raised.value)
    assert raised.value.offset > 0
    whole = list(iter_games(corpus_sample, require_evals=False))
    assert 5 < len(games) < len(whole)
    # All but the cut-off last one intact.
    assert [g.strip() for g in games[:-1]] == [g.strip() for g in whole[: len(games) - 1]]


def test_corrupt_zstd_bytes_raise_with_offset_after_the_good_games(
    tmp_path, corpus_sample, recompress_in_blocks
) -> None:
    data = bytearray(recompress_in_blocks(corpus_sample))
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    path = tmp_path / "corrupt.pgn.zst"
    path.write_bytes(bytes(data))
    games = []
    with pytest.raises(CorruptInputError) as raised:
        for game in iter_games(path, require_evals=False):
            games.append(game)
    assert raised.value.path.endswith("corrupt.pgn.zst")
    # zstd notices corruption by the end of the damaged block, so the offset is the
    # slice where it was found: at or after the damage, before the end of the file.
    assert middle <= raised.value.offset + FEED_SIZE and raised.value.offset < len(data)
    whole = list(iter_games(corpus_sample, require_evals=False))
    assert 4 <= len(games) < len(whole)
    assert [g.strip() for g in games[:-1]] == [g.strip() for g in whole[: len(games) - 1]]


def test_empty_file_has_no_games(tmp_path) -> None:
    path = tmp_path / "empty.pgn"
    path.write_bytes(b"")
    counts = ReadCounts()
    assert list(iter_games(path, counts=counts)) == [] and counts.games == 0
    zst = tmp_path / "empty.pgn.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(b""))
    assert list(iter_games(zst)) == []


def test_reads_stdin(corpus_sample) -> None:
    code = "import sys; from dataset.reader import iter_games; print(len(list(iter_games('-'))))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=corpus_sample.read_bytes(),
        capture_output=True,
        check=True,
    )
    assert result.stdout.strip() == b"32"


def test_stream_is_never_decompressed_whole(tmp_path, corpus_sample, recompress_in_blocks) -> None:
    path = tmp_path / "blocks.pgn.zst"
    path.write_bytes(recompress_in_blocks(corpus_sample))
    chunks = list(iter_decompressed(path, chunk_size=1024))
    assert len(chunks) > 5  # output arrives as the input is read
    assert max(len(chunk) for chunk in chunks) < len(b"".join(chunks))
    assert isinstance(io.BytesIO(b"".join(chunks)).read(10), bytes)


@pytest.mark.parametrize(("magic", "kind"), [(b"\x1f\x8b\x08", "gzip"), (b"BZh9", "bzip2")])
def test_other_compressions_get_a_clear_error(tmp_path, magic: bytes, kind: str) -> None:
    path = tmp_path / "games.pgn.gz"
    path.write_bytes(magic + b"\x00" * 100)
    with pytest.raises(CorruptInputError, match=kind):
        list(iter_games(path))
