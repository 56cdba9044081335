"""Time management: a share of the clock, never the whole of it."""

from __future__ import annotations

import chess
import pytest

from engine.timeman import Clock, move_time


def test_no_clock_no_limit() -> None:
    assert move_time(Clock(), chess.WHITE) is None


def test_uses_the_movers_clock_and_increment() -> None:
    clock = Clock(wtime=60.0, btime=6.0, winc=1.0, binc=0.0)
    assert move_time(clock, chess.WHITE) > move_time(clock, chess.BLACK)
    assert move_time(clock, chess.WHITE) == pytest.approx(60 / 30 + 0.75 - 0.05)


def test_movestogo_divides_the_remaining_time() -> None:
    assert move_time(Clock(wtime=10.0, movestogo=5), chess.WHITE) == pytest.approx(2 - 0.05)


@pytest.mark.parametrize("remaining", [0.01, 0.05, 0.2, 1.0])
def test_never_spends_more_than_half_the_clock(remaining: float) -> None:
    spent = move_time(Clock(btime=remaining, binc=0.01), chess.BLACK, move_overhead=0.02)
    assert spent <= max(remaining / 2, 0.005)


def test_one_second_plus_a_hundredth_lasts_a_long_game() -> None:
    clock_left, increment = 1.0, 0.01
    for ply in range(0, 400, 2):
        clock = Clock(wtime=clock_left, winc=increment)
        spent = move_time(clock, chess.WHITE, ply=ply, move_overhead=0.02)
        clock_left += increment - spent - 0.003  # 3 ms lost between bestmove and the clock
        assert clock_left > 0, ply
