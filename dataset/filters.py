"""Which games the pipeline keeps, decided from PGN headers alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

TIME_CONTROL_CLASSES = ("ultrabullet", "bullet", "blitz", "rapid", "classical", "correspondence")

STANDARD_VARIANTS = frozenset({"", "standard", "chess", "from position"})
"""``Variant`` values that are ordinary chess ("From Position" is a standard game from a FEN)."""


def time_control_class(time_control: str) -> str | None:
    """lichess's class for a ``TimeControl`` tag (``"300+3"`` → ``"blitz"``).

    Like lichess, classifies by the estimated duration ``base + 40 * increment``
    seconds. ``"-"`` is correspondence; an unreadable tag gives ``None``.
    """
    time_control = time_control.strip()
    if time_control == "-":
        return "correspondence"
    base, _, increment = time_control.partition("+")
    try:
        estimate = int(base) + 40 * int(increment or 0)
    except ValueError:
        return None
    if estimate < 30:
        return "ultrabullet"
    if estimate < 180:
        return "bullet"
    if estimate < 480:
        return "blitz"
    if estimate < 1500:
        return "rapid"
    return "classical"


MAX_ELO = 65535
"""Ratings above this (or below 0) are junk; they are also stored as 16 bits."""


def parse_elo(value: str | None) -> int | None:
    """A rating tag as an int; ``None`` for missing, ``"?"``, out-of-range or junk."""
    try:
        elo = int(value) if value else None
    except ValueError:
        return None
    return elo if elo is not None and 0 <= elo <= MAX_ELO else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class GameFilter:
    """Which games to keep. Unset fields do not filter."""

    min_elo: int | None = None
    """Both players rated at least this; games with an unknown rating are dropped."""

    max_elo: int | None = None
    """Both players rated at most this; games with an unknown rating are dropped."""

    time_controls: frozenset[str] | None = None
    """Keep only these classes of :data:`TIME_CONTROL_CLASSES`."""

    min_ply: int = 0
    """Keep only games with at least this many half-moves."""

    skip_bots: bool = False
    """Drop games in which a player has the ``BOT`` title."""

    def __post_init__(self) -> None:
        if self.time_controls is not None:
            unknown = set(self.time_controls) - set(TIME_CONTROL_CLASSES)
            if unknown:
                raise ValueError(
                    f"unknown time-control class(es) {sorted(unknown)}; "
                    f"choose from {', '.join(TIME_CONTROL_CLASSES)}"
                )

    def reject_reason(self, headers: Mapping[str, str]) -> str | None:
        """Why a game with *headers* is dropped (a counter name), or ``None`` to keep it."""
        if headers.get("Variant", "").strip().lower() not in STANDARD_VARIANTS:
            return "variant"
        if self.min_elo is not None or self.max_elo is not None:
            ratings = (parse_elo(headers.get("WhiteElo")), parse_elo(headers.get("BlackElo")))
            if None in ratings:
                return "elo_unknown"
            if self.min_elo is not None and min(ratings) < self.min_elo:  # type: ignore[type-var]
                return "elo"
            if self.max_elo is not None and max(ratings) > self.max_elo:  # type: ignore[type-var]
                return "elo"
        time_control = time_control_class(headers.get("TimeControl", ""))
        if self.time_controls is not None and time_control not in self.time_controls:
            return "time_control"
        if self.skip_bots and "BOT" in (headers.get("WhiteTitle"), headers.get("BlackTitle")):
            return "bot"
        return None
