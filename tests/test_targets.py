"""Value conversions: round trips, signs and perspective (property tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine import targets

centipawns = st.integers(min_value=-2500, max_value=2500)
mates = st.integers(min_value=-60, max_value=60).filter(lambda m: m != 0)
turns = st.booleans()


def test_lichess_scale_matches_the_win_percent_model() -> None:
    # lichess: win% = 50 + 50 * (2 / (1 + exp(-0.00368208 * cp)) - 1)
    for cp in (-800, -150, 0, 35, 300, 1200):
        lichess = 50 + 50 * (2 / (1 + math.exp(-0.00368208 * cp)) - 1)
        assert targets.value_to_win_percent(targets.cp_to_value(cp)) == pytest.approx(lichess)


@given(centipawns)
def test_cp_value_round_trip(cp: int) -> None:
    value = targets.cp_to_value(cp)
    assert -1 < value < 1
    assert targets.value_to_cp(value) == pytest.approx(cp, abs=1e-6)


@given(centipawns, st.floats(min_value=1e-4, max_value=1e-2))
def test_cp_value_round_trip_with_any_scale(cp: int, scale: float) -> None:
    assume(abs(cp * scale) < 7)  # beyond, tanh saturates at the clip of MAX_VALUE
    value = targets.cp_to_value(cp, scale=scale)
    assert targets.value_to_cp(value, scale=scale) == pytest.approx(cp, abs=1e-3, rel=1e-6)


@given(centipawns)
def test_value_sign_follows_cp_sign(cp: int) -> None:
    assert np.sign(targets.cp_to_value(cp)) == np.sign(cp)


def test_value_to_cp_is_finite_at_the_ends() -> None:
    assert np.isfinite(targets.value_to_cp([-1.0, 1.0])).all()
    assert targets.value_to_cp(1.0) > 3000


@given(mates)
def test_mates_map_to_plus_minus_one(mate: int) -> None:
    assert targets.mate_to_value(mate) == np.sign(mate)
    inside = targets.mate_to_value(mate, mate_inside=True)
    assert 0.9 < abs(inside) < 1 and np.sign(inside) == np.sign(mate)


@given(mates, mates)
def test_shorter_mates_rank_higher_inside(a: int, b: int) -> None:
    if a > 0 and b > 0 and a < b:
        assert targets.mate_to_value(a, mate_inside=True) > targets.mate_to_value(
            b, mate_inside=True
        )
    if a < 0 and b < 0 and abs(a) < abs(b):
        assert targets.mate_to_value(a, mate_inside=True) < targets.mate_to_value(
            b, mate_inside=True
        )


@given(mates, st.integers(min_value=-2000, max_value=2000))
def test_mate_beats_every_centipawn_score_inside(mate: int, cp: int) -> None:
    mate_value = targets.mate_to_value(abs(mate), mate_inside=True)
    assert mate_value > targets.cp_to_value(abs(cp))


@given(centipawns, mates)
def test_eval_to_value_prefers_the_mate(cp: int, mate: int) -> None:
    assert targets.eval_to_value(cp, mate) == np.sign(mate)
    assert targets.eval_to_value(cp, 0) == pytest.approx(targets.cp_to_value(cp))


@given(st.floats(min_value=-1, max_value=1), turns)
def test_perspective_conversion_is_an_involution(value: float, turn: bool) -> None:
    side = targets.white_to_side_to_move(value, turn)
    assert side == (value if turn else -value)
    assert targets.side_to_move_to_white(side, turn) == value


@pytest.mark.parametrize(
    ("result", "turn", "expected"),
    [
        ("1-0", True, 1),
        ("1-0", False, -1),
        ("0-1", True, -1),
        ("0-1", False, 1),
        ("1/2-1/2", True, 0),
        ("1/2-1/2", False, 0),
    ],
)
def test_result_target_is_from_the_side_to_move(result: str, turn: bool, expected: int) -> None:
    assert targets.result_to_value(targets.result_to_white_view(result), turn) == expected


def test_unknown_result_is_nan() -> None:
    assert targets.result_to_white_view("*") == targets.UNKNOWN_RESULT
    assert math.isnan(targets.result_to_value(targets.UNKNOWN_RESULT, True))


@given(st.floats(-1, 1), st.sampled_from([-1.0, 0.0, 1.0]), st.floats(0, 1))
def test_blend_lies_between_eval_and_result(
    eval_value: float, result: float, lambda_: float
) -> None:
    blended = targets.blend(eval_value, result, lambda_)
    low, high = sorted((eval_value, result))
    assert low - 1e-12 <= blended <= high + 1e-12
    assert targets.blend(eval_value, result, 1.0) == eval_value
    assert targets.blend(eval_value, result, 0.0) == result


def test_blend_refuses_lambda_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="lambda"):
        targets.blend(0.1, 1.0, 1.5)


def test_target_config_computes_each_kind_from_white_view_columns() -> None:
    columns = dict(
        cp=np.array([300, 300, 0]),
        mate=np.array([0, 0, -2]),
        white_result=np.array([1, 1, -1]),
        turn=np.array([True, False, True]),
    )
    eval_target = targets.TargetConfig(kind="eval").compute(**columns)
    v = math.tanh(targets.LICHESS_SCALE * 300)
    np.testing.assert_allclose(eval_target, [v, -v, -1])
    result_target = targets.TargetConfig(kind="result").compute(**columns)
    np.testing.assert_array_equal(result_target, [1, -1, -1])
    blended = targets.TargetConfig(kind="blend", lambda_=0.25).compute(**columns)
    np.testing.assert_allclose(blended, 0.25 * eval_target + 0.75 * result_target)


def test_target_config_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        targets.TargetConfig(kind="mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        targets.TargetConfig(kind="blend", lambda_=-0.1)
    with pytest.raises(ValueError):
        targets.TargetConfig(scale=0)


def test_blend_with_lambda_one_ignores_unknown_results() -> None:
    config = targets.TargetConfig(kind="blend", lambda_=1.0)
    value = config.compute(cp=[100], mate=[0], white_result=[targets.UNKNOWN_RESULT], turn=[True])
    assert np.isfinite(value).all()
