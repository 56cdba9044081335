"""Header filters: lichess's time-control classes and ratings."""

from __future__ import annotations

import pytest

from dataset.filters import GameFilter, parse_elo, time_control_class


@pytest.mark.parametrize(
    ("time_control", "expected"),
    [
        ("15+0", "ultrabullet"),
        ("60+0", "bullet"),
        ("120+1", "bullet"),
        ("180+0", "blitz"),
        ("180+2", "blitz"),
        ("300+3", "blitz"),
        ("480+0", "rapid"),
        ("600+5", "rapid"),
        ("900+10", "rapid"),
        ("1800+0", "classical"),
        ("-", "correspondence"),
        ("abc", None),
    ],
)
def test_time_control_class_matches_lichess(time_control: str, expected: str | None) -> None:
    assert time_control_class(time_control) == expected


def test_parse_elo_handles_missing_ratings() -> None:
    assert parse_elo("1850") == 1850
    assert parse_elo("?") is None and parse_elo("") is None and parse_elo(None) is None


def test_elo_bounds_apply_to_both_players() -> None:
    game_filter = GameFilter(min_elo=1500, max_elo=2000)
    assert game_filter.reject_reason({"WhiteElo": "1600", "BlackElo": "1900"}) is None
    assert game_filter.reject_reason({"WhiteElo": "1400", "BlackElo": "1900"}) == "elo"
    assert game_filter.reject_reason({"WhiteElo": "1600", "BlackElo": "2100"}) == "elo"


def test_standard_variants_pass() -> None:
    for variant in ("", "Standard", "From Position"):
        assert GameFilter().reject_reason({"Variant": variant}) is None
    assert GameFilter().reject_reason({"Variant": "Atomic"}) == "variant"


def test_unknown_time_control_class_is_refused() -> None:
    with pytest.raises(ValueError, match="hyperbullet"):
        GameFilter(time_controls=frozenset({"hyperbullet"}))
