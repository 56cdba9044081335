"""How long to think about a move under a chess clock (UCI ``go wtime btime …``).

The budget is the remaining time shared over the moves still to play, plus most of
the increment, minus a move overhead for the GUI and network; it never exceeds what
is on the clock, so the engine does not lose on time.
"""

from __future__ import annotations

import dataclasses

import chess


@dataclasses.dataclass(frozen=True, kw_only=True)
class Clock:
    """The clock state a ``go`` command gives, in seconds."""

    wtime: float | None = None
    btime: float | None = None
    winc: float = 0.0
    binc: float = 0.0
    movestogo: int | None = None


def move_time(clock: Clock, turn: chess.Color, *, move_overhead: float = 0.05,
              ply: int = 0) -> float | None:  # fmt: skip
    """Seconds to spend on this move, or ``None`` when the clock does not limit it.

    Without ``movestogo``, assumes about 30 moves remain early in a game and fewer
    (down to 15) later, as engines commonly do.
    """
    remaining = clock.wtime if turn == chess.WHITE else clock.btime
    if remaining is None:
        return None
    increment = clock.winc if turn == chess.WHITE else clock.binc
    moves_left = max(clock.movestogo, 1) if clock.movestogo else max(30 - ply // 6, 15)
    budget = remaining / moves_left + 0.75 * increment - move_overhead
    hard_cap = max(remaining - move_overhead, 0.0) * 0.5  # never bet the whole clock
    return max(min(budget, hard_cap), 0.005)
