"""Syzygy tablebases in the search: exact values for positions with few pieces."""

from __future__ import annotations

from collections.abc import Sequence

import chess
import chess.syzygy
import numpy as np

from engine.evaluator import Evaluation, Evaluator


class TablebaseEvaluator:
    """Wraps an evaluator; positions the tablebases cover get their exact value.

    Win/draw/loss from the side to move (cursed wins and blessed losses, which the
    fifty-move rule turns into draws, count as draws). Only the positions the tables
    do not cover reach the inner evaluator, in one call.
    """

    def __init__(self, inner: Evaluator, directories: str) -> None:
        self.inner = inner
        self.tablebase = chess.syzygy.Tablebase()
        for directory in directories.split(":" if ":" in directories else ";"):
            if directory.strip():
                self.tablebase.add_directory(directory.strip())
        self.max_pieces = max(
            (len(name) - 1 for name in self.tablebase.wdl), default=0
        )  # "KQvK" has 3 pieces

    def evaluate(self, boards: Sequence[chess.Board]) -> Evaluation:
        values = np.zeros(len(boards), np.float32)
        rest = []
        for index, board in enumerate(boards):
            wdl = None
            if chess.popcount(board.occupied) <= self.max_pieces and not board.castling_rights:
                try:
                    wdl = self.tablebase.probe_wdl(board)
                except (chess.syzygy.MissingTableError, KeyError):
                    wdl = None
            if wdl is None:
                rest.append(index)
            else:
                values[index] = 1.0 if wdl == 2 else -1.0 if wdl == -2 else 0.0
        if rest:
            evaluation = self.inner.evaluate([boards[index] for index in rest])
            values[rest] = evaluation.values
        return Evaluation(values)
