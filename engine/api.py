"""The Python API: ``engine.load()`` and what it returns.

>>> import engine
>>> boardeval = engine.load()                      # the shipped network
>>> boardeval.evaluate("startpos").cp              # centipawns, White's view
>>> boardeval.analyse("startpos moves e2e4", nodes=400, multipv=3).lines[0].moves

Two views, named apart so nobody mixes them up: ``cp`` and ``mate`` are from White's
view, as lichess shows them; ``value`` and ``wdl`` are from the side to move, as the
network and UCI see them. All methods block and are thread-safe: concurrent callers
share one model, and their boards are evaluated in shared batches.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import chess
import numpy as np

from engine import targets
from engine.batching import BatchingEvaluator
from engine.evaluator import CachedEvaluator, Evaluator, MaterialEvaluator, NetworkEvaluator
from engine.mcts import MCTS, SearchConfig, SearchLimit, SearchLine, auto_mode
from engine.network_files import default_network, read_sidecar
from engine.positions import Position, PositionError, parse_position

if TYPE_CHECKING:
    import pandas as pd


@dataclasses.dataclass(frozen=True)
class PositionEvaluation:
    """The network's static judgement of one position."""

    fen: str
    cp: int | None
    """Centipawns from White's view; ``None`` when the game is over by mate."""

    mate: int | None
    """``0`` on a checkmated board (the side to move is mated), else ``None``."""

    value: float
    """The network's value in [-1, 1], from the side to move."""

    wdl: tuple[int, int, int]
    """Win/draw/loss per mille from the side to move."""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"wdl": list(self.wdl)}


@dataclasses.dataclass(frozen=True)
class AnalysisLine:
    """One root move of a search and its principal variation."""

    moves: list[str]
    """The PV in UCI notation, starting with the root move."""

    cp: int | None
    """Centipawns from White's view; ``None`` when a mate is proven."""

    mate: int | None
    """Moves to mate from White's view (+ White mates), when proven."""

    value: float
    """Search value (Q) in [-1, 1] from the side to move at the root."""

    wdl: tuple[int, int, int]
    """Win/draw/loss per mille from the side to move at the root."""

    visits: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"wdl": list(self.wdl)}


@dataclasses.dataclass(frozen=True)
class Analysis:
    """The result of :meth:`Engine.analyse`: lines best first."""

    fen: str
    nodes: int
    depth: int
    seconds: float
    lines: list[AnalysisLine]
    """Empty when the game is over."""

    @property
    def best_move(self) -> chess.Move | None:
        return chess.Move.from_uci(self.lines[0].moves[0]) if self.lines else None

    def as_dict(self) -> dict:
        return {
            "fen": self.fen,
            "nodes": self.nodes,
            "depth": self.depth,
            "seconds": self.seconds,
            "lines": [line.as_dict() for line in self.lines],
        }


class Engine:
    """A loaded network with search around it; see the module docstring."""

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        name: str = "",
        has_policy: bool = False,
        search: SearchConfig | None = None,
        max_batch: int = 256,
        cache_entries: int = 1 << 18,
    ) -> None:
        self.name = name
        self.has_policy = has_policy
        self.search_config = search or SearchConfig(mode=auto_mode(has_policy))
        self.max_batch = max_batch
        self._batcher = BatchingEvaluator(evaluator, max_batch=max_batch)
        self.evaluator: Evaluator = CachedEvaluator(self._batcher, max_entries=cache_entries)

    @property
    def network_calls(self) -> int:
        """Calls made to the network so far (batches, not boards)."""
        return self._batcher.calls

    # --- static evaluation -----------------------------------------------------------

    def evaluate(
        self, position: Position, moves: Sequence[str] | str | None = None
    ) -> PositionEvaluation:
        """The network's evaluation of *position* (after *moves*); no search."""
        return self.evaluate_boards([parse_position(position, moves)])[0]

    def evaluate_many(
        self, positions: Iterable[Position], *, errors: str = "raise"
    ) -> pd.DataFrame:
        """A DataFrame row per position: ``fen, cp, mate, value, wdl`` (and ``error``).

        Boards are evaluated ``max_batch`` at a time, one network call per batch. With
        ``errors="keep"`` a position that cannot be set up keeps its row, with the
        input in ``fen``, empty results and the reason in ``error``; with ``"raise"``
        the first bad position raises :class:`PositionError`.
        """
        import pandas as pd

        if errors not in ("raise", "keep"):
            raise ValueError("errors must be 'raise' or 'keep'")
        rows: list[dict] = []
        boards: list[chess.Board] = []
        slots: list[int] = []
        for position in positions:
            try:
                board = parse_position(position)
            except PositionError as error:
                if errors == "raise":
                    raise
                rows.append(_error_row(position, str(error)))
                continue
            slots.append(len(rows))
            rows.append({})
            boards.append(board)
        for start in range(0, len(boards), self.max_batch):
            chunk = self.evaluate_boards(boards[start : start + self.max_batch])
            for slot, result in zip(slots[start : start + self.max_batch], chunk, strict=True):
                rows[slot] = dataclasses.asdict(result) | {"error": None}
        columns = ["fen", "cp", "mate", "value", "wdl", "error"]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({"cp": "Int64", "mate": "Int64", "value": "float64"})

    def evaluate_boards(self, boards: Sequence[chess.Board]) -> list[PositionEvaluation]:
        """Static evaluations of *boards*: one network call, shared with concurrent callers."""
        over = [_game_over_value(board) for board in boards]
        live = [board for board, value in zip(boards, over, strict=True) if value is None]
        values = iter(self.evaluator.evaluate(live).values.tolist() if live else [])
        results = []
        for board, end in zip(boards, over, strict=True):
            value = float(next(values)) if end is None else float(end)
            mated = end == -1
            white_value = value if board.turn == chess.WHITE else -value
            cp = None if mated else int(round(float(targets.value_to_cp(white_value))))
            wdl = targets.value_to_wdl(value)
            results.append(PositionEvaluation(board.fen(), cp, 0 if mated else None, value, wdl))
        return results

    # --- search ----------------------------------------------------------------------

    def analyse(
        self,
        position: Position,
        moves: Sequence[str] | str | None = None,
        *,
        nodes: int | None = None,
        time: float | None = None,
        multipv: int = 1,
    ) -> Analysis:
        """Searches *position* for *nodes* visits and/or *time* seconds (default 800 nodes).

        Each call searches its own tree, so calls are independent; concurrent calls
        still share network batches.
        """
        if multipv < 1:
            raise ValueError("multipv must be at least 1")
        if nodes is not None and nodes < 1 or time is not None and time <= 0:
            raise ValueError("nodes and time must be positive")
        board = parse_position(position, moves)
        if nodes is None and time is None:
            nodes = 800
        searcher = MCTS(self.evaluator, self.search_config)
        limit = SearchLimit(nodes=nodes, movetime=time)
        info = None
        for info in searcher.search(board, limit, info_interval=float("inf")):  # noqa: B007
            pass  # the last report holds the result
        if info is None:  # no legal moves
            return Analysis(board.fen(), 0, 0, 0.0, [])
        lines = [_analysis_line(board, line) for line in info.lines[:multipv]]
        return Analysis(board.fen(), info.nodes, info.depth, info.time, lines)

    def best_move(
        self,
        position: Position,
        moves: Sequence[str] | str | None = None,
        *,
        nodes: int | None = None,
        time: float | None = None,
    ) -> chess.Move | None:
        """The move the search prefers (``None`` when the game is over)."""
        return self.analyse(position, moves, nodes=nodes, time=time).best_move


def load(
    weights: str | os.PathLike[str] | None = None,
    *,
    backend: str = "litert",
    threads: int | None = None,
    search: SearchConfig | None = None,
    max_batch: int = 256,
) -> Engine:
    """An :class:`Engine` on *weights*: a run directory or ``model.json``, ``"material"``
    for the material-count baseline, or ``None`` for the network shipped in the package.
    """
    if str(weights) == "material":
        return Engine(MaterialEvaluator(), name="material", search=search, max_batch=max_batch)
    path = default_network() if weights is None else weights
    sidecar = read_sidecar(path)
    evaluator = NetworkEvaluator(path, backend=backend, threads=threads)  # type: ignore[arg-type]
    return Engine(
        evaluator,
        name=str(sidecar.get("name") or sidecar["directory"]),
        has_policy=evaluator.has_policy,
        search=search,
        max_batch=max_batch,
    )


def _game_over_value(board: chess.Board) -> int | None:
    """-1 when the side to move is mated, 0 for a drawn end, ``None`` while play goes on."""
    outcome = board.outcome(claim_draw=False)
    if outcome is None:
        return None
    return 0 if outcome.winner is None else -1


def _analysis_line(board: chess.Board, line: SearchLine) -> AnalysisLine:
    sign = 1 if board.turn == chess.WHITE else -1
    mate = None if line.mate is None else sign * line.mate
    cp = None if mate is not None else sign * line.score_cp
    return AnalysisLine(
        [move.uci() for move in line.pv], cp, mate, line.value, line.wdl, line.visits
    )


def _error_row(position: object, message: str) -> dict:
    fen = position.fen() if isinstance(position, chess.Board) else str(position)
    return {"fen": fen, "cp": None, "mate": None, "value": np.nan, "wdl": None, "error": message}
