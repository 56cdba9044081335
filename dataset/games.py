"""Turns the raw text of one lichess game into training records.

A lean replacement for ``chess.pgn.read_game`` on the hot path: headers by regex,
movetext by one tokenizer, moves by ``Board.parse_san``, and no game tree. Only the
main line is read (variations are skipped). The eval after a move belongs to the
position that move produced; the record stores the move played *from* it next.

Bad input never raises: a game that cannot be used is counted under a reason, and an
illegal or garbled move ends the game there, keeping every position before it.
"""

from __future__ import annotations

import collections
import hashlib
import re
from collections.abc import Iterable

import chess
import numpy as np

from dataset.filters import GameFilter, parse_elo
from dataset.records import MAX_CP, MAX_MATE, NO_MOVE, RECORD_DTYPE, encode_move
from dataset.san import parse_san
from engine import targets
from engine.encoding import pack_tuple

_HEADER_BLOCK = re.compile(
    r'(?:[ \t]*\[[A-Za-z0-9_]+[ \t]+"(?:[^"\\\n]|\\.)*"[ \t]*\][ \t]*(?:\r?\n|$))+'
)
_HEADER = re.compile(r'\[([A-Za-z0-9_]+)[ \t]+"((?:[^"\\\n]|\\.)*)"')
_TOKEN = re.compile(
    r"""
      (\{[^}]*\}?)               # 1: comment (unterminated at a truncated end)
    | ([()])                     # 2: variation start or end
    | (1-0|0-1|1/2-1/2|\*)       # 3: game termination marker
    | \d+\.+                     # move number
    | \$\d+ | [!?]+              # annotations
    | ;[^\n]*                    # rest-of-line comment
    | ([^\s{}()\[\];.$!?]+)      # 4: a move in SAN (or junk that parse_san refuses)
    """,
    re.VERBOSE,
)
_COMMENT, _PAREN, _TERMINATION, _SAN = 1, 2, 3, 4
_EVAL = re.compile(r"\[%eval\s+(#)?([+-]?\d+(?:\.\d+)?)")
_LICHESS_ID = re.compile(r"lichess\.org/([A-Za-z0-9]{8})")

Counts = collections.Counter[str]
"""Counter names: ``games_parsed``, ``games_kept``, ``skipped_<reason>``, ``positions``…"""


def parse_headers(text: str) -> tuple[dict[str, str], int]:
    """The tag pairs at the start of *text* and where the movetext begins.

    A byte-order mark or blank lines before the first tag are allowed.
    """
    start = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    match = _HEADER_BLOCK.match(text, start)
    if not match:
        return {}, 0
    headers = {name: value.replace('\\"', '"') for name, value in _HEADER.findall(match[0])}
    return headers, match.end()


def game_key(headers: dict[str, str], movetext: str = "") -> str:
    """What identifies a game across files: its lichess id, else its main headers.

    The train/validation split hashes this, so copies of one game (the same master
    game in two players' collections) always land on the same side. Games whose
    headers say nothing (all missing or ``?``) are told apart by their first moves.
    """
    game_id = headers.get("GameId") or ""
    if not game_id and (match := _LICHESS_ID.search(headers.get("Site", ""))):
        game_id = match[1]
    if game_id:
        return game_id
    fields = [
        headers.get(name, "").strip()
        for name in ("Event", "Site", "Date", "Round", "White", "Black", "Result")
    ]
    if all(field.strip("?.-") == "" for field in fields):
        fields.append(" ".join(movetext.split())[:200])
    return "|".join(fields)


def game_hash(key: str) -> int:
    """A stable 64-bit hash of a :func:`game_key` (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def _record_game_id(headers: dict[str, str], key: str, key_hash: int) -> bytes:
    if key == headers.get("GameId") or _LICHESS_ID.search(headers.get("Site", "")):
        return key.encode("ascii", errors="replace")[:10]
    return f"{key_hash:016x}"[:10].encode()


class GameParser:
    """Parses raw game texts into record arrays, counting everything it drops."""

    def __init__(self, game_filter: GameFilter | None = None) -> None:
        self.game_filter = game_filter or GameFilter()
        self.counts: Counts = collections.Counter()

    def parse_many(self, texts: Iterable[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Records of all *texts* and, per record, the 64-bit hash of its game key."""
        rows: list[tuple] = []
        hashes: list[int] = []
        for text in texts:
            before = len(rows)
            try:
                key_hash = self._parse(text, rows)
            except Exception:  # a game we did not foresee must not end the run
                del rows[before:]
                self.counts["skipped_unexpected_error"] += 1
                continue
            hashes.extend([key_hash] * (len(rows) - before))
        records = np.array(rows, dtype=RECORD_DTYPE)
        if len(records):
            value = targets.eval_to_value(records["cp"], records["mate"])
            records["value"] = targets.white_to_side_to_move(value, records["turn"])
        return records, np.array(hashes, dtype=np.uint64)

    def _parse(self, raw: bytes, rows: list[tuple]) -> int:
        """Appends the records of one game to *rows*; returns its key hash."""
        counts = self.counts
        counts["games_parsed"] += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            counts["games_non_utf8"] += 1

        headers, movetext_start = parse_headers(text)
        if not headers:
            counts["skipped_no_headers"] += 1
            return 0
        reason = self.game_filter.reject_reason(headers)
        if reason:
            counts[f"skipped_{reason}"] += 1
            return 0
        try:
            board = chess.Board(headers["FEN"]) if "FEN" in headers else chess.Board()
        except ValueError:
            counts["skipped_bad_fen"] += 1
            return 0

        key = game_key(headers, text[movetext_start : movetext_start + 400])
        key_hash = game_hash(key)
        result = targets.result_to_white_view(headers.get("Result", "*"))
        white_elo = parse_elo(headers.get("WhiteElo")) or 0
        black_elo = parse_elo(headers.get("BlackElo")) or 0
        record_game_id = _record_game_id(headers, key, key_hash)

        first_row = len(rows)
        packed: tuple | None = None  # the evaluated position waiting for its next move
        labels: tuple = ()  # the record fields after the move, for *packed*
        moved = False  # a move was played since the last eval comment
        depth = 0  # variation nesting
        ply = 0
        evaluated = 0
        for match in _TOKEN.finditer(text, movetext_start):
            kind = match.lastindex  # which group matched; None for numbers, annotations
            if kind == _SAN:
                if depth:
                    continue
                try:
                    move = parse_san(board, match[_SAN])
                    if not move:
                        raise chess.InvalidMoveError("null move")
                except ValueError:
                    counts["games_truncated_illegal_move"] += 1
                    break
                if packed is not None:
                    rows.append(packed + (encode_move(move),) + labels)
                    packed = None
                board.push(move)
                ply += 1
                moved = True
            elif kind == _COMMENT:
                if depth or not moved:
                    continue
                evaluation = _EVAL.search(match[_COMMENT])
                if evaluation is None:
                    continue
                moved = False
                evaluated += 1
                mate_sign, number = evaluation.groups()
                if mate_sign:
                    mate = int(float(number))
                    if mate == 0:  # "#0": already mated; the rules score it, not evals
                        counts["positions_mate_zero"] += 1
                        continue
                    cp = 0
                    mate = max(-MAX_MATE, min(MAX_MATE, mate))
                else:
                    mate = 0
                    cp = max(-MAX_CP, min(MAX_CP, round(float(number) * 100)))
                packed = pack_tuple(board)
                labels = (0.0, cp, mate, result, ply, white_elo, black_elo, record_game_id)
            elif kind == _PAREN:
                depth += 1 if match[_PAREN] == "(" else -1
            elif kind == _TERMINATION and not depth:
                if text[match.end() :].strip():
                    # A blank line inside the moves left their tail after the result
                    # (or a header-less game follows): never play it on this board.
                    counts["games_trailing_text_after_result"] += 1
                break
        if packed is not None:
            rows.append(packed + (NO_MOVE,) + labels)

        counts["positions_without_eval"] += ply - evaluated
        positions = len(rows) - first_row
        if ply < self.game_filter.min_ply:
            del rows[first_row:]
            counts["skipped_too_short"] += 1
            return key_hash
        if not positions:
            counts["skipped_no_evals_parsed"] += 1
            return key_hash
        counts["games_kept"] += 1
        counts["positions"] += positions
        return key_hash
