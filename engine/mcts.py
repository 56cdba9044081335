"""Batched Monte Carlo tree search (PUCT) over an :class:`~engine.evaluator.Evaluator`.

The search never sees the network, only the evaluator seam, so it runs on the
material and random evaluators as well as on a trained net.

Sign conventions: a node's statistics are from the point of view of the player who
made the move into it (its parent's side to move), so a parent picks the child with
the highest Q. Evaluators return values for the side to move in the evaluated board;
those are negated once to enter the tree.

Two expansion modes: ``policy`` (the network's policy head gives priors, the leaf's
own value is backed up) and ``value`` (all children of a leaf are evaluated in one
batch; priors come from a softmax of their values and the leaf backs up its best
child, a one-ply lookahead). Leaves are gathered in batches with virtual loss.
Terminal positions are scored by the rules, and proven wins and losses propagate
(MCTS-solver), so forced mates are found and reported as mate scores.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Literal

import chess
import numpy as np

from engine import targets
from engine.checks import checking_moves, winning_captures
from engine.evaluator import Evaluator
from engine.moves import legal_move_logits

SearchMode = Literal["policy", "value"]


def auto_mode(has_policy: bool) -> SearchMode:
    """Expansion by the policy head when the evaluator has one, else by values."""
    return "policy" if has_policy else "value"


WIN, DRAW, LOSS = 1, 0, -1
"""Proven results, from the point of view of the player who moved into the node."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """How the tree grows."""

    cpuct: float = 1.5
    """Exploration constant of PUCT."""

    batch_size: int = 16
    """Leaves gathered (with virtual loss) per evaluator call."""

    mode: SearchMode = "value"
    """``policy`` needs a policy head; ``value`` works with any evaluator."""

    fpu_reduction: float = 0.3
    """First-play urgency: unvisited children score the parent's Q minus this."""

    policy_temperature: float = 1.0
    """Softmax temperature of the policy head's logits (``policy`` mode); above 1
    flattens the priors, as lc0's ``PolicyTemperature`` does."""

    value_temperature: float = 0.15
    """Softmax temperature turning child values into priors (``value`` mode)."""

    forcing_prior: float = 0.25
    """Share of the prior spread evenly over forcing moves: checks and, in policy
    mode, captures that win material at first sight (``engine.checks``).

    Where there are none, value mode spreads it over all moves and policy mode keeps
    the policy as it is. A value-only evaluator scores a sacrifice by its material
    loss, and a policy learned from human moves rarely proposes one; without this
    the search would seldom look at the check that mates in two. Nor do human games
    teach the policy to take a piece left hanging, so at a few hundred visits the
    search would not see the opponent take it."""

    virtual_loss: int = 1
    """Visits counted as losses on a path while its leaf waits for evaluation."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchLimit:
    """When the search stops. Unset fields do not limit; none set means until ``stop()``."""

    nodes: int | None = None
    """Stop after this many visits of the root."""

    movetime: float | None = None
    """Stop after this many seconds."""

    depth: int | None = None
    """Stop when the average depth of the search reaches this."""


@dataclasses.dataclass(frozen=True)
class SearchLine:
    """One root move and what the search thinks of it, from the root side to move."""

    move: chess.Move
    visits: int
    value: float
    """Q in [-1, 1] for the side to move at the root."""

    mate: int | None
    """Moves to mate when proven (+ we mate, - we are mated), else ``None``."""

    pv: list[chess.Move]

    @property
    def score_cp(self) -> int:
        """Centipawns for the root side to move, through the inverse value mapping."""
        return int(round(float(targets.value_to_cp(self.value))))

    @property
    def wdl(self) -> tuple[int, int, int]:
        """Win/draw/loss per mille from the value; without a draw model D is 0 unless proven."""
        return targets.value_to_wdl(self.value)


@dataclasses.dataclass(frozen=True)
class SearchInfo:
    """Progress of a search, as the UCI ``info`` line reports it."""

    depth: int
    seldepth: int
    nodes: int
    nps: int
    time: float
    lines: list[SearchLine]
    """Root moves, best first (MultiPV reads as many as it wants)."""

    @property
    def best(self) -> SearchLine:
        return self.lines[0]

    @property
    def score_cp(self) -> int:
        """Centipawns of the best line, for the root side to move."""
        return self.best.score_cp

    @property
    def wdl(self) -> tuple[int, int, int]:
        """Win/draw/loss per mille of the best line."""
        return self.best.wdl


UNPROVEN = 2
"""``Node.child_proven`` entry of a child with no proof (WIN/DRAW/LOSS otherwise)."""


class Node:
    """A position in the tree; statistics from the view of the player who moved into it.

    A parent also holds its children's visits, value sums and proofs in arrays (edge
    statistics, as lc0 keeps them), so choosing a child is a few vector operations
    rather than a walk over child objects; the backup keeps both copies equal.
    """

    __slots__ = ("moves", "children", "prior", "visits", "value_sum", "child_visits",
                 "child_value_sum", "child_proven", "child_estimate", "proven",
                 "proven_plies", "expanded")  # fmt: skip

    def __init__(self) -> None:
        self.moves: list[chess.Move] = []
        self.children: list[Node | None] = []
        self.prior = np.zeros(0, np.float32)
        self.child_visits = np.zeros(0, np.float64)
        self.child_value_sum = np.zeros(0, np.float64)
        self.child_proven = np.zeros(0, np.int8)
        self.child_estimate: np.ndarray | None = None  # value mode: children's evals
        self.visits = 0
        self.value_sum = 0.0
        self.proven: int | None = None
        self.proven_plies = 0
        self.expanded = False

    @property
    def q(self) -> float:
        return self.value_sum / self.visits if self.visits else 0.0

    def set_moves(self, moves: list[chess.Move]) -> None:
        """Makes room for a child per legal move (still unexpanded: no priors yet)."""
        count = len(moves)
        self.moves = moves
        self.children = [None] * count
        self.child_visits = np.zeros(count, np.float64)
        self.child_value_sum = np.zeros(count, np.float64)
        self.child_proven = np.full(count, UNPROVEN, np.int8)

    def prove_child(self, index: int, result: int, plies: int = 0) -> None:
        """Child *index* is decided by the rules: *result* for the player moving into it."""
        child = self.children[index] = Node()
        child.proven, child.proven_plies = result, plies
        self.child_proven[index] = result


def _terminal_value(board: chess.Board, at_root: bool,
                    legal_moves: list[chess.Move] | None = None) -> int | None:  # fmt: skip
    """The rules' verdict for the side to move (WIN/DRAW/LOSS), or ``None`` to evaluate.

    *legal_moves*, when the caller has them, spares generating the first one again.
    Inside the tree a position seen before (in the game or on the path) is a draw:
    the side that could avoid it will, and cycling would only waste visits.
    """
    if not (legal_moves if legal_moves is not None else any(board.generate_legal_moves())):
        return LOSS if board.is_check() else DRAW
    if board.halfmove_clock >= 100 or board.is_insufficient_material():
        return DRAW
    # A repetition needs four reversible plies since the last capture or pawn move.
    if not at_root and board.halfmove_clock >= 4 and board.is_repetition(2):
        return DRAW
    return None


class MCTS:
    """A reusable searcher: :meth:`search` yields progress, :meth:`stop` ends it early."""

    def __init__(self, evaluator: Evaluator, config: SearchConfig | None = None) -> None:
        self.evaluator = evaluator
        self.config = config or SearchConfig()
        self._stop = threading.Event()
        self._root: Node | None = None
        self._root_board: chess.Board | None = None
        self._root_moves: set[chess.Move] | None = None

    def stop(self) -> None:
        """Asks a running search to finish its current batch and return (thread-safe)."""
        self._stop.set()

    def reset(self) -> None:
        """Forgets the tree (a new game)."""
        self._root, self._root_board = None, None

    @property
    def root(self) -> Node | None:
        return self._root

    # --- the search loop -----------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def search(
        self,
        board: chess.Board,
        limit: SearchLimit,
        *,
        root_moves: Sequence[chess.Move] | None = None,
        info_interval: float = 0.5,
    ) -> Iterator[SearchInfo]:
        """Runs simulations until *limit* or :meth:`stop`, yielding progress.

        Yields a :class:`SearchInfo` every *info_interval* seconds and once at the end
        (the last one holds the best move). *root_moves* restricts the moves searched
        at the root (UCI ``searchmoves``). *board* is not modified; its move stack
        counts for repetitions.
        """
        self._stop.clear()
        if not any(board.legal_moves):
            return
        root = self._reuse_or_new_root(board)
        self._root_moves = set(root_moves) if root_moves else None
        start = time.monotonic()
        next_info = start + info_interval
        depth_sum, leaves, seldepth = 0, 0, 0
        seconds_per_leaf = 0.0  # measured, so a batch never overruns the move time
        if not root.expanded:
            self._run_batch(board, root, [([], root)])
            seconds_per_leaf = time.monotonic() - start
        while not self._should_stop(root, limit, start, depth_sum, leaves):
            batch = []
            batch_size = self.config.batch_size
            if limit.movetime is not None:
                left = limit.movetime - (time.monotonic() - start)
                fits = int(left / seconds_per_leaf) if seconds_per_leaf > 0 else 1
                batch_size = max(1, min(batch_size, fits))
            for _ in range(batch_size):
                path = self._select(board, root)
                if path is None:
                    break
                batch.append(path)
                depth_sum += len(path[0])
                leaves += 1
                seldepth = max(seldepth, len(path[0]))
                if root.proven is not None:
                    break
            if not batch:
                break
            batch_start = time.monotonic()
            self._run_batch(board, root, batch)
            now = time.monotonic()
            seconds_per_leaf = (now - batch_start) / len(batch)
            if now >= next_info:
                next_info = now + info_interval
                yield self._info(root, start, depth_sum, leaves, seldepth)
        yield self._info(root, start, depth_sum, leaves, seldepth)

    def _should_stop(self, root: Node, limit: SearchLimit, start: float, depth_sum: int,
                     leaves: int) -> bool:  # fmt: skip
        if self._stop.is_set() or root.proven is not None:
            return True
        if limit.nodes is not None and root.visits >= limit.nodes:
            return True
        if limit.movetime is not None and time.monotonic() - start >= limit.movetime:
            return True
        return limit.depth is not None and leaves > 0 and depth_sum / leaves >= limit.depth

    def _reuse_or_new_root(self, board: chess.Board) -> Node:
        """The subtree of the new position when it follows the last search's root."""
        old_root, old_board = self._root, self._root_board
        self._root_board = board.copy()
        if old_root is not None and old_board is not None:
            old_moves, new_moves = old_board.move_stack, board.move_stack
            if (
                board.root().fen() == old_board.root().fen()
                and new_moves[: len(old_moves)] == old_moves
            ):
                node: Node | None = old_root
                for move in new_moves[len(old_moves) :]:
                    if node is None or not node.expanded or move not in node.moves:
                        node = None
                        break
                    node = node.children[node.moves.index(move)]
                if node is not None and node.expanded:
                    # A proof may rest on a repetition, which the root does not count;
                    # the children's proofs re-prove it at the next backup if it holds.
                    node.proven = None
                    self._root = node
                    return node
        self._root = Node()
        return self._root

    # --- selection -----------------------------------------------------------------

    def _select(self, board: chess.Board, root: Node) -> tuple[list[int], Node] | None:
        """Walks from the root to a leaf by PUCT, adding virtual loss on the way."""
        path: list[int] = []
        node = root
        while node.expanded and node.proven is None:
            index = self._best_child(node, at_root=node is root)
            if index is None:
                return None
            child = node.children[index]
            if child is None:
                child = node.children[index] = Node()
            path.append(index)
            loss = self.config.virtual_loss
            child.visits += loss
            child.value_sum -= loss
            node.child_visits[index] += loss
            node.child_value_sum[index] -= loss
            node = child
        if node is root and node.proven is not None:
            return None
        return path, node

    def _best_child(self, node: Node, *, at_root: bool = False) -> int | None:
        visits, proven = node.child_visits, node.child_proven
        decided = (proven != UNPROVEN).any()  # rare: skip the proof masks without one
        if decided and (proven == WIN).any():  # a winning move needs no more visits
            return None
        unvisited = visits == 0
        first_play = node.child_estimate if node.child_estimate is not None \
            else -node.q - self.config.fpu_reduction  # fmt: skip
        q = np.where(unvisited, first_play, node.child_value_sum / np.maximum(visits, 1.0))
        if decided:
            q[proven == DRAW] = 0.0  # exact, whatever the visits said before the proof
        u = self.config.cpuct * node.prior * math.sqrt(max(node.visits, 1)) / (1.0 + visits)
        score = q + u
        restricted = at_root and self._root_moves is not None
        if decided:
            score[proven == LOSS] = -np.inf  # proven losses for the mover are never chosen
        if restricted:
            allowed = np.array([move in self._root_moves for move in node.moves])
            score[~allowed] = -np.inf
        if (decided or restricted) and not np.isfinite(score).any():
            return None
        return int(np.argmax(score))

    # --- evaluation and backup -----------------------------------------------------

    def _run_batch(self, board: chess.Board, root: Node,
                   batch: Sequence[tuple[list[int], Node]]) -> None:  # fmt: skip
        """Evaluates the leaves of *batch* with one evaluator call and backs them up."""
        pending: list[tuple[Node, chess.Board, list[chess.Move]]] = []
        results: dict[int, float] = {}
        first_of: dict[int, int] = {}  # a leaf reached twice in one batch is expanded once
        for number, (path, leaf) in enumerate(batch):
            if id(leaf) in first_of:
                continue
            first_of[id(leaf)] = number
            if leaf.proven is not None:  # a decided position: no board, no rules, no network
                results[number] = float(leaf.proven)
                continue
            # Only moves since the last capture or pawn move can repeat a position, and
            # copying a long game's whole move stack per leaf is slow.
            leaf_board = board.copy(stack=board.halfmove_clock)
            node = root
            for index in path:
                leaf_board.push(node.moves[index])
                node = node.children[index]  # type: ignore[assignment]
            moves = list(leaf_board.legal_moves)  # for the verdict and the expansion
            verdict = _terminal_value(leaf_board, at_root=not path, legal_moves=moves)
            if verdict is not None and path:
                leaf.proven = -verdict  # the mover's view: a mated side-to-move is a win
                leaf.proven_plies = 0
                results[number] = float(leaf.proven)
            else:
                pending.append((leaf, leaf_board, moves))
        if pending:
            self._expand(pending, results, first_of)
        for path, leaf in batch:
            self._backup(root, path, results[first_of[id(leaf)]])
        # A reused root's proof was cleared (see _reuse_or_new_root) while its
        # children's stand, so no backup reports a change: re-prove it here.
        self._update_proof(root)

    def _expand(self, pending: list[tuple[Node, chess.Board, list[chess.Move]]],
                results: dict[int, float], numbers: dict[int, int]) -> None:  # fmt: skip
        """Expands the *pending* leaves with one evaluator call; their values go to
        *results* under the batch number that *numbers* gives each leaf."""
        if self.config.mode == "policy":
            evaluation = self.evaluator.evaluate([b for _, b, _ in pending])
            if evaluation.policy is None:
                raise ValueError("search mode 'policy' needs an evaluator with a policy head")
            for row, (leaf, leaf_board, moves) in enumerate(pending):
                leaf.set_moves(moves)
                logits = legal_move_logits(evaluation.policy[row], leaf.moves, leaf_board.turn)
                prior = _softmax(logits, self.config.policy_temperature)
                forcing = self._mark_checkmates(leaf, leaf_board)
                forcing |= winning_captures(leaf_board, moves)
                if forcing.any() and self.config.forcing_prior > 0:
                    share = self.config.forcing_prior
                    prior = (1.0 - share) * prior + share * forcing / forcing.sum()
                leaf.prior = prior.astype(np.float32)
                leaf.expanded = True
                self._update_proof(leaf)
                results[numbers[id(leaf)]] = (
                    float(leaf.proven)
                    if leaf.proven is not None
                    else -float(evaluation.values[row])
                )
            return

        # Value mode: every child of every leaf in one call.
        child_boards: list[chess.Board] = []
        spans = []
        verdicts: list[list[int | None]] = []
        checks: list[np.ndarray] = []
        for leaf, leaf_board, moves in pending:
            leaf.set_moves(moves)
            first = len(child_boards)
            leaf_verdicts = []
            leaf_checks = np.zeros(len(leaf.moves), bool)
            for index, move in enumerate(leaf.moves):
                leaf_board.push(move)
                verdict = _terminal_value(leaf_board, at_root=False)
                leaf_verdicts.append(verdict)
                leaf_checks[index] = leaf_board.is_check()
                if verdict is None:
                    child_boards.append(leaf_board.copy(stack=False))
                leaf_board.pop()
            verdicts.append(leaf_verdicts)
            checks.append(leaf_checks)
            spans.append((first, len(child_boards)))
        values = self.evaluator.evaluate(child_boards).values if child_boards else np.zeros(0)
        for (leaf, _, _), (first, last), leaf_verdicts, leaf_checks in zip(
            pending, spans, verdicts, checks, strict=True
        ):
            network = iter(values[first:last])
            estimate = np.empty(len(leaf.moves), np.float64)
            for index, verdict in enumerate(leaf_verdicts):
                if verdict is None:
                    estimate[index] = -float(next(network))  # child's mover = this leaf's side
                else:
                    leaf.prove_child(index, -verdict)
                    estimate[index] = float(-verdict)
            leaf.child_estimate = estimate
            forcing = leaf_checks if leaf_checks.any() else np.ones_like(leaf_checks)
            leaf.prior = (
                (1.0 - self.config.forcing_prior)
                * _softmax(estimate, self.config.value_temperature)
                + self.config.forcing_prior * forcing / forcing.sum()
            ).astype(np.float32)
            leaf.expanded = True
            self._update_proof(leaf)
            # The leaf's value for its own mover is minus its best reply's.
            results[numbers[id(leaf)]] = (
                float(leaf.proven) if leaf.proven is not None else -float(estimate.max())
            )

    @staticmethod
    def _mark_checkmates(leaf: Node, leaf_board: chess.Board) -> np.ndarray:
        """Which of *leaf*'s moves give check; those that mate become proven children.

        Policy mode sees a child's verdict only when it visits it, and a policy learned
        from human moves may give the mating move too little prior to be visited: this
        finds the checks from bitboards and plays only those.
        """
        checks = checking_moves(leaf_board, leaf.moves)
        for index in np.flatnonzero(checks):
            leaf_board.push(leaf.moves[index])
            if not any(leaf_board.generate_legal_moves()):
                leaf.prove_child(index, WIN)
            leaf_board.pop()
        return checks

    def _backup(self, root: Node, path: list[int], value: float) -> None:
        """Adds *value* (for the player who moved into the leaf) along *path*; undoes
        the virtual loss and propagates proofs."""
        nodes = [root]
        for index in path:
            nodes.append(nodes[-1].children[index])  # type: ignore[arg-type]
        loss = self.config.virtual_loss
        for depth in range(len(nodes) - 1, 0, -1):
            node, parent, index = nodes[depth], nodes[depth - 1], path[depth - 1]
            node.visits += 1 - loss
            node.value_sum += value + loss
            parent.child_visits[index] += 1 - loss
            parent.child_value_sum[index] += value + loss
            # A parent's proof can only change when a child's does. Siblings proven in
            # this batch but not yet backed up count too (the shortest mate wins).
            if node.proven is not None and parent.child_proven[index] == UNPROVEN:
                for sibling, child in enumerate(parent.children):
                    if child is not None and child.proven is not None:
                        parent.child_proven[sibling] = child.proven
                self._update_proof(parent)
            value = -value
        root.visits += 1
        root.value_sum += value

    def _update_proof(self, node: Node) -> None:
        """A node is won for its mover if every reply loses for the opponent... and so on.

        Children's proofs (``child_proven``) are from their own mover, this node's side
        to move.
        """
        if node.proven is not None or not node.children:
            return
        results = node.child_proven
        wins = np.flatnonzero(results == WIN)
        if len(wins):  # this node's side to move has a winning move: a loss for our mover
            plies = min(node.children[i].proven_plies for i in wins)  # type: ignore[union-attr]
            node.proven, node.proven_plies = LOSS, plies + 1
        elif (results != UNPROVEN).all():
            if (results == LOSS).all():
                plies = max(c.proven_plies for c in node.children)  # type: ignore[union-attr]
                node.proven, node.proven_plies = WIN, plies + 1
            else:
                node.proven = DRAW

    # --- reporting -----------------------------------------------------------------

    def _info(self, root: Node, start: float, depth_sum: int, leaves: int,
              seldepth: int) -> SearchInfo:  # fmt: skip
        elapsed = max(time.monotonic() - start, 1e-9)
        lines = [
            self._line(root, index)
            for index, move in enumerate(root.moves)
            if self._root_moves is None or move in self._root_moves
        ]
        lines.sort(key=_line_order, reverse=True)
        depth = int(round(depth_sum / leaves)) if leaves else 1
        return SearchInfo(max(depth, 1), max(seldepth, 1), root.visits,
                          int(root.visits / elapsed), elapsed, lines)  # fmt: skip

    def _line(self, root: Node, index: int) -> SearchLine:
        child = root.children[index]
        move = root.moves[index]
        if child is not None and child.proven is not None:
            value = float(child.proven)
            mate = None
            if child.proven == WIN:
                mate = (child.proven_plies + 2) // 2
            elif child.proven == LOSS:
                mate = -((child.proven_plies + 1) // 2)
        elif child is not None and child.visits:
            value, mate = child.q, None
        elif root.child_estimate is not None:
            value, mate = float(root.child_estimate[index]), None
        else:
            value, mate = -1.0, None
        return SearchLine(move, child.visits if child else 0, value, mate,
                          [move, *self._pv(child)])  # fmt: skip

    def _pv(self, node: Node | None) -> list[chess.Move]:
        pv = []
        while node is not None and node.expanded and node.children:
            lines = [(c.visits if c else 0, -(c.proven or 0) if c else 0, i)
                     for i, c in enumerate(node.children)]  # fmt: skip
            visits, _, index = max(lines)
            if visits == 0 and node.proven is None:
                break
            pv.append(node.moves[index])
            node = node.children[index]
        return pv


def _line_order(line: SearchLine) -> tuple[float, float, float]:
    if line.mate is not None:
        # Shorter mates first; being mated later is better than sooner.
        return (1.0, -line.mate, 0.0) if line.mate > 0 else (-1.0, -line.mate, 0.0)
    return (0.0, line.visits, line.value)


def _softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    if not len(values):
        return np.zeros(0, np.float32)
    scaled = (values - values.max()) / max(temperature, 1e-6)
    weights = np.exp(scaled)
    return (weights / weights.sum()).astype(np.float32)
