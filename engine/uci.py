"""``boardeval-uci``: the engine speaking the Universal Chess Interface on stdin/stdout.

The reader thread (this one) parses commands; searches run in a worker thread, so
``stop``, ``isready``, ``ponderhit`` and ``quit`` are answered during a search. Only
protocol lines go to stdout, one ``print`` per line, flushed; problems are reported
as ``info string`` and the engine stays usable. Nothing heavy is imported before the
first ``isready`` or ``go``, so ``uciok`` comes at once.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import chess

from engine.timeman import Clock, move_time

ENGINE_NAME = "boardeval 0.1"
AUTHOR = "the boardeval developers"


@dataclasses.dataclass
class Option:
    """A UCI option: its declaration and its current value."""

    name: str
    kind: str  # check, spin, combo, button, string
    default: object = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    real_range: tuple[float, float] | None = None
    """A string option that holds a real number in this range (UCI has no real type)."""

    value: object = None

    def declaration(self) -> str:
        line = f"option name {self.name} type {self.kind}"
        if self.kind == "button":
            return line
        default = self.default
        if self.kind == "check":
            default = "true" if default else "false"
        if self.kind == "string" and default == "":
            default = "<empty>"
        line += f" default {default}"
        if self.kind == "spin":
            line += f" min {self.minimum} max {self.maximum}"
        for choice in self.choices:
            line += f" var {choice}"
        return line

    def parse(self, text: str) -> object:
        """The value *text* sets, or ``ValueError`` saying why it cannot."""
        if self.kind == "check":
            if text.lower() not in ("true", "false"):
                raise ValueError(f"{self.name} takes true or false, not {text!r}")
            return text.lower() == "true"
        if self.kind == "spin":
            try:
                number = int(text)
            except ValueError:
                raise ValueError(f"{self.name} takes a whole number, not {text!r}") from None
            if not (self.minimum or 0) <= number <= (self.maximum or number):
                raise ValueError(f"{self.name} must be in [{self.minimum}, {self.maximum}]")
            return number
        if self.kind == "combo":
            for choice in self.choices:
                if choice.lower() == text.lower():
                    return choice
            raise ValueError(f"{self.name} is one of {', '.join(self.choices)}")
        if self.kind == "string" and self.real_range is not None:
            low, high = self.real_range
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"{self.name} takes a number, not {text!r}") from None
            if not low <= number <= high:
                raise ValueError(f"{self.name} must be in [{low:g}, {high:g}]")
            return text
        if self.kind == "string":
            return "" if text in ("<empty>", "") else text
        return None


def default_options() -> dict[str, Option]:
    options = [
        Option("WeightsFile", "string", ""),  # empty: the shipped network; "material"
        Option("Threads", "spin", 1, 1, max(os.cpu_count() or 1, 1)),
        # auto: the network's int8 file when it has one (engine.quantize), else float32
        Option("Backend", "combo", "auto", choices=("auto", "litert", "litert-int8", "tensorflow")),
        Option("BatchSize", "spin", 16, 1, 1024),
        Option("CPuct", "string", "1.5", real_range=(0.0, 100.0)),
        Option("ForcingPrior", "string", "0.25", real_range=(0.0, 1.0)),
        Option("PolicyTemperature", "string", "1.0", real_range=(0.1, 10.0)),
        Option("SearchMode", "combo", "auto", choices=("auto", "value", "policy")),
        Option("MultiPV", "spin", 1, 1, 500),
        Option("UCI_ShowWDL", "check", False),
        Option("Move Overhead", "spin", 50, 0, 5000),
        Option("Ponder", "check", False),
        Option("Hash", "spin", 64, 1, 65536),
        Option("Nodes", "spin", 0, 0, 1_000_000_000),
        Option("Clear Hash", "button"),
        Option("SyzygyPath", "string", ""),
    ]
    for option in options:
        option.value = option.default
    return {option.name.lower(): option for option in options}


class UCIEngine:
    """The protocol state machine; :meth:`handle` takes one line."""

    def __init__(self, output: Callable[[str], None]) -> None:
        self._output = output
        self._output_lock = threading.Lock()
        self.options = default_options()
        self.board = chess.Board()
        self.debug = False
        self._searcher = None  # engine.mcts.MCTS, built lazily
        self._cache = None  # its CachedEvaluator, for hashfull
        self._evaluator_key: tuple[object, ...] | None = None
        self._thread: threading.Thread | None = None
        self._pondering = threading.Event()
        self._infinite = threading.Event()
        self._finished = threading.Event()
        self._finished.set()
        self._ponder_budget: float | None = None  # the move time once the ponder move is hit
        self._timer: threading.Timer | None = None
        self._pending_bestmove: str | None = None

    # --- output --------------------------------------------------------------------

    def send(self, line: str) -> None:
        with self._output_lock:
            self._output(line)

    def info_string(self, text: str) -> None:
        self.send(f"info string {text}")

    # --- dispatch ------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Processes one command line; returns False after ``quit``."""
        tokens = line.strip().split()
        if not tokens:
            return True
        command, arguments = tokens[0], tokens[1:]
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            self.info_string(f"unknown command: {line.strip()[:200]}")
            return True
        try:
            return handler(arguments) is not False
        except Exception as error:  # one bad command must never end the engine
            self.info_string(f"error in {command}: {error}")
            return True

    def _cmd_uci(self, _: list[str]) -> None:
        self.send(f"id name {ENGINE_NAME}")
        self.send(f"id author {AUTHOR}")
        for option in self.options.values():
            self.send(option.declaration())
        self.send("uciok")

    def _cmd_isready(self, _: list[str]) -> None:
        self._ensure_searcher()
        self.send("readyok")

    def _cmd_debug(self, arguments: list[str]) -> None:
        self.debug = bool(arguments) and arguments[0] == "on"

    def _cmd_ucinewgame(self, _: list[str]) -> None:
        self._stop_and_wait()
        if self._searcher is not None:
            self._searcher.reset()
        self.board = chess.Board()

    def _cmd_setoption(self, arguments: list[str]) -> None:
        text = " ".join(arguments)
        if not text.startswith("name "):
            raise ValueError("setoption needs: name <id> [value <x>]")
        name, _, value = text[5:].partition(" value ")
        option = self.options.get(name.strip().lower())
        if option is None:
            raise ValueError(f"no option named {name.strip()!r}")
        if option.kind == "button":
            if option.name == "Clear Hash" and self._searcher is not None:
                self._searcher.reset()
            return
        option.value = option.parse(value.strip())  # rebuilt at the next isready or go

    def _cmd_position(self, arguments: list[str]) -> None:
        if not arguments:
            raise ValueError("position needs startpos or fen")
        if "moves" in arguments:
            split = arguments.index("moves")
            setup, moves = arguments[:split], arguments[split + 1 :]
        else:
            setup, moves = arguments, []
        if setup[0] == "startpos":
            board = chess.Board()
        elif setup[0] == "fen" and len(setup) > 1:
            board = chess.Board(" ".join(setup[1:]))
        else:
            raise ValueError("position needs startpos or fen <fen>")
        for text in moves:
            move = chess.Move.from_uci(text)
            if move not in board.legal_moves:
                raise ValueError(f"illegal move {text} in {board.fen()}; position unchanged")
            board.push(move)
        self.board = board

    def _cmd_stop(self, _: list[str]) -> None:
        self._pondering.clear()
        self._infinite.clear()
        if self._searcher is not None:
            self._searcher.stop()

    def _cmd_ponderhit(self, _: list[str]) -> None:
        if not self._pondering.is_set():
            return
        self._pondering.clear()
        if self._ponder_budget is None:
            return  # a node or depth limit ends it, or stop does
        self._timer = threading.Timer(self._ponder_budget, self._cmd_stop, args=([],))
        self._timer.daemon = True
        self._timer.start()

    def _cmd_quit(self, _: list[str]) -> bool:
        self._stop_and_wait()
        return False

    def _cmd_go(self, arguments: list[str]) -> None:
        from engine.mcts import SearchLimit

        self._stop_and_wait()
        parameters = _parse_go(arguments)
        searcher = self._ensure_searcher()
        clock = Clock(
            wtime=_seconds(parameters.get("wtime")),
            btime=_seconds(parameters.get("btime")),
            winc=_seconds(parameters.get("winc")) or 0.0,
            binc=_seconds(parameters.get("binc")) or 0.0,
            movestogo=_int(parameters.get("movestogo")),
        )
        movetime = _seconds(parameters.get("movetime"))
        if movetime is not None:
            movetime = max(movetime - self._overhead(), 0.001)
        else:
            movetime = move_time(clock, self.board.turn, move_overhead=self._overhead(),
                                 ply=self.board.ply())  # fmt: skip
        nodes = _int(parameters.get("nodes")) or (int(self.options["nodes"].value) or None)
        infinite = "infinite" in parameters
        ponder = "ponder" in parameters
        self._ponder_budget = movetime
        if infinite or ponder:
            movetime = None
        limit = SearchLimit(nodes=nodes, movetime=movetime, depth=_int(parameters.get("depth")))
        if ponder:
            self._pondering.set()
        if infinite or (
            not ponder
            and limit.nodes is None
            and limit.movetime is None
            and limit.depth is None
            and "mate" not in parameters
        ):
            self._infinite.set()
        root_moves = []
        for text in parameters.get("searchmoves", []):
            move = chess.Move.from_uci(text)
            if move in self.board.legal_moves:
                root_moves.append(move)
        board = self.board.copy()
        self._finished.clear()
        self._thread = threading.Thread(
            target=self._search, args=(searcher, board, limit, root_moves or None), daemon=True
        )
        self._thread.start()

    # --- the search thread ---------------------------------------------------------

    def _search(self, searcher, board: chess.Board, limit, root_moves) -> None:
        best = None
        try:  # yields nothing without legal moves
            for info in searcher.search(board, limit, root_moves=root_moves):
                self._send_info(info)
                best = info
        except Exception as error:
            self.info_string(f"search failed: {error}")
        # In infinite and ponder mode no bestmove before stop or ponderhit.
        while (self._infinite.is_set() or self._pondering.is_set()) and not searcher.stop_requested:
            time.sleep(0.005)
        if best is None and any(board.legal_moves):
            best_move = next(iter(board.legal_moves))
            self.send(f"bestmove {best_move.uci()}")
        elif best is None:
            self.send("bestmove (none)")
        else:
            line = f"bestmove {best.best.move.uci()}"
            if len(best.best.pv) > 1:
                line += f" ponder {best.best.pv[1].uci()}"
            self.send(line)
        self._finished.set()

    def _send_info(self, info) -> None:
        multipv = int(self.options["multipv"].value)
        for rank, line in enumerate(info.lines[:multipv], start=1):
            score = f"mate {line.mate}" if line.mate is not None else f"cp {line.score_cp}"
            text = f"info depth {info.depth} seldepth {info.seldepth} multipv {rank} score {score}"
            if self.options["uci_showwdl"].value:
                text += " wdl {} {} {}".format(*line.wdl)
            text += f" nodes {info.nodes} nps {info.nps} time {int(info.time * 1000)}"
            if self._cache is not None:
                text += f" hashfull {1000 * len(self._cache) // self._cache.max_entries}"
            text += f" pv {' '.join(move.uci() for move in line.pv)}"
            self.send(text)

    # --- helpers -------------------------------------------------------------------

    def _overhead(self) -> float:
        return int(self.options["move overhead"].value) / 1000.0

    def _stop_and_wait(self) -> None:
        self._pondering.clear()
        self._infinite.clear()
        if self._searcher is not None:
            self._searcher.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _ensure_searcher(self):
        from engine.evaluator import (
            CachedEvaluator,
            MaterialEvaluator,
            NetworkEvaluator,
            search_backend,
        )
        from engine.mcts import MCTS, SearchConfig

        key = tuple(self.options[name].value for name in _SEARCHER_OPTIONS)
        if self._searcher is not None and key == self._evaluator_key:
            return self._searcher
        from engine.network_files import shipped_network

        weights = str(self.options["weightsfile"].value or "") or shipped_network()
        if weights is None:
            weights = "material"
            self.info_string("the shipped network is missing: searching with material count")
        has_policy = False
        if weights == "material":
            evaluator = MaterialEvaluator()
        else:
            backend = str(self.options["backend"].value)
            if backend == "auto":
                backend = search_backend(weights)
            network = NetworkEvaluator(weights, backend=backend,  # type: ignore[arg-type]
                                       threads=int(self.options["threads"].value))  # fmt: skip
            evaluator, has_policy = network, network.has_policy
            self.info_string(f"network {network.sidecar.get('name') or weights}, "
                             f"backend {backend}")  # fmt: skip
        entries = max(int(self.options["hash"].value) * (1 << 20) // 200, 1)  # ~200 B an entry
        evaluator = self._cache = CachedEvaluator(evaluator, max_entries=entries)
        syzygy = str(self.options["syzygypath"].value or "")
        if syzygy:
            from engine.tablebase import TablebaseEvaluator

            evaluator = TablebaseEvaluator(evaluator, syzygy)
        config = SearchConfig(
            cpuct=float(self.options["cpuct"].value),
            forcing_prior=float(self.options["forcingprior"].value),
            policy_temperature=float(self.options["policytemperature"].value),
            batch_size=int(self.options["batchsize"].value),
            mode=_search_mode(self.options["searchmode"].value, has_policy),
        )  # type: ignore[arg-type]
        self._searcher = MCTS(evaluator, config)
        self._evaluator_key = key
        return self._searcher


def _search_mode(option: str, has_policy: bool) -> str:
    """``auto``: expand by the policy head when the network has one."""
    from engine.mcts import auto_mode

    return auto_mode(has_policy) if option == "auto" else option


_SEARCHER_OPTIONS = ("weightsfile", "backend", "threads", "batchsize", "cpuct", "forcingprior",
                     "policytemperature", "searchmode", "hash", "syzygypath")  # fmt: skip
"""Options whose change rebuilds the evaluator and searcher."""

_GO_FLAGS = {"infinite", "ponder"}
_GO_VALUES = {"wtime", "btime", "winc", "binc", "movestogo", "movetime", "nodes", "depth", "mate"}


def _parse_go(arguments: Sequence[str]) -> dict:
    parameters: dict = {}
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if word in _GO_FLAGS:
            parameters[word] = True
            index += 1
        elif word in _GO_VALUES:
            if index + 1 >= len(arguments):
                raise ValueError(f"go {word} needs a value")
            value = arguments[index + 1]
            if not value.lstrip("-").isdigit():
                raise ValueError(f"go {word} takes a number, not {value!r}")
            parameters[word] = value
            index += 2
        elif word == "searchmoves":
            moves = []
            index += 1
            while index < len(arguments) and arguments[index] not in _GO_FLAGS | _GO_VALUES:
                moves.append(arguments[index])
                index += 1
            parameters["searchmoves"] = moves
        else:
            raise ValueError(f"unknown go parameter {word!r}")
    return parameters


def _seconds(milliseconds: str | None) -> float | None:
    return None if milliseconds is None else max(int(milliseconds), 0) / 1000.0


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def run(input_stream: TextIO, output_stream: TextIO) -> int:
    def write(line: str) -> None:
        output_stream.write(line + "\n")
        output_stream.flush()

    engine = UCIEngine(write)
    for line in input_stream:
        if not engine.handle(line):
            break
    else:
        engine._stop_and_wait()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    return run(sys.stdin, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
