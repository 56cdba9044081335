"""Streams PGN files (plain, zstandard-compressed or stdin) and splits them into games.

Nothing is decompressed whole: bytes flow through in chunks and each game's raw text
is handed on as soon as it is complete. Splitting works on bytes, before any decoding
or parsing, and jumps from one ``[%eval`` to the next, so that games without evals
(≈94% of the lichess database) are counted at C speed and never split or parsed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import numpy as np
import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK_SIZE = 1 << 20
"""Compressed bytes read from the source at a time."""

MAX_GAME_SIZE = 1 << 26
"""Text without a game boundary longer than this is passed on as it is (64 MiB)."""

FEED_SIZE = 1 << 12
"""Compressed bytes handed to the decompressor at a time: the precision of error offsets."""

EVAL_MARKER = b"[%eval"

_OTHER_COMPRESSIONS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zX", "xz"))

# A game starts at a tag line ``[Name "`` that follows a blank line. Requiring the tag
# shape keeps a blank line inside the moves (a quirk of some collections) from cutting
# a game in two, so its tail is never mistaken for a header-less game.
_BOUNDARY = b"\n\n["
_TAG_START = re.compile(rb"[A-Za-z0-9_]+[ \t]+\"")
_GAME_BOUNDARY = re.compile(rb"\n[ \t\r]*\n(?=[ \t]*\[[A-Za-z0-9_]+[ \t]+\")")
"""The general boundary, for text with CRLF or blank lines that hold spaces."""
_WHITESPACE_LINE = re.compile(rb"\n[ \t]+\n")


class CorruptInputError(Exception):
    """The input cannot be read past *offset*; everything before it was delivered."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"{path}: corrupt input at compressed byte offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


def display_name(path: str | os.PathLike[str]) -> str:
    return "<stdin>" if str(path) == "-" else os.fspath(path)


def _open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    if str(path) == "-":
        return sys.stdin.buffer
    return open(path, "rb")  # noqa: SIM115 - closed by iter_decompressed


def iter_decompressed(
    path: str | os.PathLike[str],
    *,
    on_read: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """Yields the decompressed bytes of *path* (``-`` is stdin) chunk by chunk.

    zstandard input is recognised by its magic number, not the file name; several
    concatenated frames are read in turn. *on_read* is called with the number of raw
    (compressed) bytes consumed, for progress bars.

    Raises :class:`CorruptInputError` — after yielding all data before the fault —
    when a zstandard stream is corrupt or truncated.
    """
    name = display_name(path)
    stream = _open_binary(path)
    try:
        head = stream.read(len(ZSTD_MAGIC))
        for magic, kind in _OTHER_COMPRESSIONS:
            if head.startswith(magic):
                raise CorruptInputError(name, 0, f"{kind}-compressed; only zstandard is read")
        if not head.startswith(ZSTD_MAGIC):
            data = head
            while data:
                if on_read:
                    on_read(len(data))
                yield data
                data = stream.read(chunk_size)
            return

        decompressor = zstandard.ZstdDecompressor()
        frame = decompressor.decompressobj()
        frame_started = False
        consumed = 0  # compressed bytes fed so far
        data = head
        while data:
            if on_read:
                on_read(len(data))
            # Fed in slices so that an error's offset is exact to a slice.
            for piece_start in range(0, len(data), FEED_SIZE):
                piece = data[piece_start : piece_start + FEED_SIZE]
                while piece:
                    try:
                        output = frame.decompress(piece)
                    except zstandard.ZstdError as error:
                        raise CorruptInputError(name, consumed, str(error)) from None
                    frame_started = True
                    if output:
                        yield output
                    if not frame.eof:
                        break
                    # Concatenated frames: the next one starts in the leftover input.
                    consumed += len(piece) - len(frame.unused_data)
                    piece = frame.unused_data
                    frame = decompressor.decompressobj()
                    frame_started = False
                consumed += len(piece)
            data = stream.read(chunk_size)
        if frame_started and not frame.eof:
            raise CorruptInputError(name, consumed, "truncated zstandard stream")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


@dataclasses.dataclass
class ReadCounts:
    """What the reader saw, before any game was parsed."""

    games: int = 0
    """Games split from the input."""

    without_evals: int = 0
    """Games dropped by the raw-text scan because no move carries ``[%eval``."""


def iter_games(
    path: str | os.PathLike[str],
    *,
    require_evals: bool = True,
    counts: ReadCounts | None = None,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Raw texts of the games in *path*; with *require_evals*, only games with evals.

    Counts what it reads into *counts*. Raises :class:`CorruptInputError` after the
    last complete game before a fault.
    """
    counts = counts if counts is not None else ReadCounts()
    for block in iter_blocks(iter_decompressed(path, on_read=on_read)):
        if require_evals:
            yield from _games_with_evals(block, counts)
        else:
            for game in split_games(block):
                counts.games += 1
                yield game


def iter_blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Regroups a byte stream into blocks that each hold only whole games."""
    pending = b""
    try:
        for chunk in chunks:
            buffer = pending + chunk if pending else chunk
            cut = _last_boundary(buffer)
            if cut == 0 and len(buffer) > MAX_GAME_SIZE:
                cut = len(buffer)  # no game is this long: hand it on rather than hoard it
            if cut > 0:
                yield buffer[:cut]
            pending = buffer[cut:]
    except CorruptInputError:
        # What was read before the fault is delivered (the last game may be cut
        # short; the parser keeps its moves up to the cut), then the error.
        if pending.strip():
            yield pending
        raise
    if pending.strip():
        yield pending


def split_games(block: bytes) -> list[bytes]:
    """The raw game texts of a block of whole games, without separators."""
    if _needs_slow_path(block):
        games, start = [], 0
        for match in _GAME_BOUNDARY.finditer(block):
            games.append(block[start : match.start()])
            start = match.end()
        games.append(block[start:])
    else:
        # At C speed: split at every blank line followed by "[", then glue back the
        # pieces that do not start with a tag.
        pieces = block.split(_BOUNDARY)
        games = [pieces[0]]
        for piece in pieces[1:]:
            if _TAG_START.match(piece):
                games.append(b"[" + piece)
            else:
                games[-1] += _BOUNDARY + piece
    return [game for game in games if game.strip()]


def _needs_slow_path(buffer: bytes) -> bool:
    """Whether game separators may hold CR or spaces, which the fast split does not see."""
    return b"\r" in buffer or _WHITESPACE_LINE.search(buffer) is not None


def _last_boundary(buffer: bytes) -> int:
    """Where the last game that starts in *buffer* begins (0 when none does)."""
    if b"\r" not in buffer:
        # Any real boundary is a valid cut; only a buffer without a single plain one
        # (a file separated by lines holding spaces) needs the general pattern.
        cut = _boundary_before(buffer, 0, len(buffer))
        if cut > 0:
            return cut
    last = 0
    for match in _GAME_BOUNDARY.finditer(buffer):
        last = match.end()
    return last


def _boundary_before(block: bytes, start: int, end: int) -> int:
    """Start of the last game that begins in ``block[start:end]``, else *start*."""
    while (found := block.rfind(_BOUNDARY, start, end)) >= 0:
        if _TAG_START.match(block, found + len(_BOUNDARY)):
            return found + 2
        end = found
    return start


def _boundary_after(block: bytes, position: int) -> int:
    """End of the game that holds *position* (where its separator starts)."""
    while (found := block.find(_BOUNDARY, position)) >= 0:
        if _TAG_START.match(block, found + len(_BOUNDARY)):
            return found
        position = found + 1
    return len(block)


def _eval_markers(text: np.ndarray) -> np.ndarray:
    """Where ``"[%eval"`` starts in *text* (the bytes of a block), vectorised."""
    percent = np.flatnonzero(text[1:-4] == 37) + 1  # "%" with room for "[" before, "eval" after
    is_marker = (text[percent - 1] == 91) & (text[percent + 1] == 101)
    is_marker &= (text[percent + 2] == 118) & (text[percent + 3] == 97) & (text[percent + 4] == 108)
    return percent[is_marker] - 1


def _separator_mask(text: np.ndarray) -> np.ndarray:
    """True where ``"\n\n["`` starts in *text*."""
    newline = text == 10
    mask = newline[:-2] & newline[1:-1]
    mask &= text[2:] == 91
    return mask


def _games_with_evals(block: bytes, counts: ReadCounts) -> Iterator[bytes]:
    """The games of *block* that contain the eval marker; counts all of them.

    Jumps from marker to marker, so runs of games without evals are only counted,
    never split: the hot path on the lichess database.
    """
    # Byte comparisons in numpy: a few cheap passes instead of bytes.find for the
    # marker and bytes.count for separators, which together cost more than
    # decompressing the text.
    if b"\r" in block:
        yield from _games_with_evals_by_splitting(block, counts)
        return
    text = np.frombuffer(block, np.uint8)
    markers = _eval_markers(text)
    if not len(markers):  # the common case: count the games and move on
        games = int(np.count_nonzero(_separator_mask(text))) + 1 if block.strip() else 0
        counts.games += games
        counts.without_evals += games
        return
    if _WHITESPACE_LINE.search(block):
        yield from _games_with_evals_by_splitting(block, counts)
        return
    separators = np.flatnonzero(_separator_mask(text))

    def count_games(start: int, end: int) -> int:
        # Separators wholly inside block[start:end]; one that does not open a tag
        # line would be counted too, but real PGN has none.
        if start >= end:
            return 0
        low = np.searchsorted(separators, start, "left")
        high = np.searchsorted(separators, end - len(_BOUNDARY), "right")
        return int(high - low) + 1

    start = 0
    index = 0
    while index < len(markers):
        marker = int(markers[index])
        game_start = _boundary_before(block, start, marker)
        game_end = _boundary_after(block, marker)
        skipped = count_games(start, game_start)
        counts.games += skipped + 1
        counts.without_evals += skipped
        yield block[game_start:game_end]
        start = game_end + 2
        index = int(np.searchsorted(markers, start, "left"))
    skipped = count_games(start, len(block))
    counts.games += skipped
    counts.without_evals += skipped


def _games_with_evals_by_splitting(block: bytes, counts: ReadCounts) -> Iterator[bytes]:
    """The general path, for CRLF text or blank lines holding spaces."""
    for game in split_games(block):
        counts.games += 1
        if EVAL_MARKER in game:
            yield game
        else:
            counts.without_evals += 1
