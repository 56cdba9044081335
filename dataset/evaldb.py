"""The lichess evaluation database (``lichess_db_eval.jsonl[.zst]``) as training records.

One JSON object per line::

    {"fen": "…", "evals": [{"pvs": [{"cp": 31, "line": "e2e4 e7e5 …"}],
                            "knodes": 1234, "depth": 36}]}

Each line becomes one record: the deepest evaluation (most knodes among equals), its
first line's ``cp`` or ``mate`` (White's view, as lichess stores them) and that line's
first move as the policy target. There is no game, hence no result: the records carry
``UNKNOWN_RESULT`` and training refuses a result or blend target on them. Every
position is its own unit for the train/validation split. Bad lines are counted under
a reason and skipped; the lines around them are kept.
"""

from __future__ import annotations

import collections
import json
import os
import re
from collections.abc import Iterator

import chess
import numpy as np

from dataset.games import game_hash
from dataset.reader import iter_decompressed
from dataset.records import MAX_CP, MAX_MATE, NO_MOVE, RECORD_DTYPE, encode_move
from engine import targets
from engine.encoding import pack_tuple

_EVAL_DB_NAME = re.compile(r"\.jsonl(\.zst)?$", re.IGNORECASE)


def is_eval_db(path: str | os.PathLike[str]) -> bool:
    """Whether *path* names an evaluation-database file (``.jsonl`` or ``.jsonl.zst``)."""
    return bool(_EVAL_DB_NAME.search(os.fspath(path)))


def iter_lines(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The non-blank lines of *path* (zstd or plain); raises ``CorruptInputError`` after
    yielding every line before a fault (a truncated last line is dropped)."""
    rest = b""
    for chunk in iter_decompressed(path):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from (line for line in lines if line.strip())
    if rest.strip():
        yield rest


class EvalDbParser:
    """Turns evaluation-database lines into records, counting every line it drops."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def parse_many(self, lines: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Records of *lines* and, per record, the 64-bit hash of its split unit."""
        rows, hashes = [], []
        for line in lines:
            self.counts["evaldb_lines"] += 1
            try:
                parsed = self._parse(line)
            except Exception:  # a line we did not foresee must not end the run
                self.counts["skipped_evaldb_unexpected_error"] += 1
                continue
            if parsed is not None:
                rows.append(parsed[0])
                hashes.append(parsed[1])
        records = np.array(rows, dtype=RECORD_DTYPE)
        if len(records):
            value = targets.eval_to_value(records["cp"], records["mate"])
            records["value"] = targets.white_to_side_to_move(value, records["turn"])
        self.counts["positions"] += len(records)
        self.counts["evaldb_positions"] += len(records)
        return records, np.array(hashes, dtype=np.uint64)

    def _skip(self, reason: str) -> None:
        self.counts[f"skipped_evaldb_{reason}"] += 1

    def _parse(self, line: bytes) -> tuple[tuple, int] | None:
        try:
            entry = json.loads(line)
        except ValueError:
            return self._skip("bad_json")
        if not isinstance(entry, dict) or not isinstance(entry.get("fen"), str):
            return self._skip("bad_json")
        fen, evals = entry["fen"], entry.get("evals")
        if not isinstance(evals, list) or not evals:
            return self._skip("no_evals")
        try:
            fields = fen.split()
            board = chess.Board(" ".join(fields + ["0", "1"][max(0, len(fields) - 4) :]))
        except ValueError:
            return self._skip("bad_fen")
        if not board.is_valid() or board.is_game_over():
            return self._skip("bad_fen")
        try:
            deepest = max(evals, key=lambda e: (e.get("depth", 0), e.get("knodes", 0)))
            line = deepest["pvs"][0]
        except (AttributeError, KeyError, IndexError, TypeError):
            return self._skip("no_evals")
        if isinstance(line.get("mate"), int) and line["mate"] != 0:
            cp, mate = 0, max(-MAX_MATE, min(MAX_MATE, line["mate"]))
        elif isinstance(line.get("cp"), int):
            cp, mate = max(-MAX_CP, min(MAX_CP, line["cp"])), 0
        else:
            return self._skip("bad_score")
        move_code = NO_MOVE
        first = str(line.get("line", "")).split()[:1]
        try:  # parse_uci also turns castling written king-takes-rook into e1g1
            move = board.parse_uci(first[0]) if first else None
        except ValueError:
            move = None
        if move:  # not None, not a null move
            move_code = encode_move(move)
        else:
            self.counts["evaldb_pv_without_legal_move"] += 1
        key_hash = game_hash(board.epd())
        game_id = f"{key_hash:016x}"[:10].encode()
        labels = (0.0, cp, mate, targets.UNKNOWN_RESULT, 0, 0, 0, game_id)
        return pack_tuple(board) + (move_code,) + labels, key_hash
