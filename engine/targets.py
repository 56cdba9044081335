"""Every conversion between centipawns, mates, game results and network values.

Two perspectives meet here and nowhere else:

* **White's view** — lichess ``[%eval]`` comments, the cloud-eval API, PGN results.
* **Side to move's view** — network inputs and outputs, UCI ``score``.

A *value* is a float in [-1, 1]. Centipawns map to value with
``tanh(scale * cp)``; the default scale is lichess's win-percentage model
(``win% = 50 + 50 * value``). Mates map to ±1, or just inside it with shorter
mates higher when ``mate_inside`` is set. All functions accept numpy arrays or scalars.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

LICHESS_SCALE = 0.00184104
"""lichess's win-percentage model: ``2 * win% - 1 = tanh(0.00184104 * cp)``."""

MAX_VALUE = 1.0 - 1e-6
"""Values are clipped to this before the inverse tanh, so cp stays finite."""

MATE_STEP = 1e-5
"""With ``mate_inside``, each move to mate costs this much value (mate in 1 = 0.99999).

Small enough that a mate in 100 (0.999) still outranks any eval up to ±20 pawns.
"""

MAX_MATE_DISTANCE = 100
"""Mates longer than this score like this one."""

ArrayLike = npt.ArrayLike
TargetKind = Literal["eval", "result", "blend"]


def cp_to_value(cp: ArrayLike, *, scale: float = LICHESS_SCALE) -> np.ndarray:
    """``tanh(scale * cp)``; same perspective in as out."""
    return np.tanh(scale * np.asarray(cp, dtype=np.float64))


def value_to_cp(value: ArrayLike, *, scale: float = LICHESS_SCALE) -> np.ndarray:
    """The inverse of :func:`cp_to_value`; values at ±1 give large but finite cp."""
    clipped = np.clip(np.asarray(value, dtype=np.float64), -MAX_VALUE, MAX_VALUE)
    return np.arctanh(clipped) / scale


def mate_to_value(mate: ArrayLike, *, mate_inside: bool = False) -> np.ndarray:
    """Value of a mate score: +1 when *mate* > 0 (the viewer mates), -1 when < 0.

    *mate* counts moves as UCI and lichess do (``#3`` → 3, ``#-2`` → -2), same
    perspective in as out. With *mate_inside*, ``|value| = 1 - MATE_STEP * moves`` so
    that shorter mates rank higher and a mate still beats any eval up to ±20 pawns.
    """
    mate = np.asarray(mate, dtype=np.float64)
    if not mate_inside:
        return np.sign(mate)
    distance = np.clip(np.abs(mate), 1, MAX_MATE_DISTANCE)
    return np.sign(mate) * (1.0 - MATE_STEP * distance)


def eval_to_value(
    cp: ArrayLike,
    mate: ArrayLike,
    *,
    scale: float = LICHESS_SCALE,
    mate_inside: bool = False,
) -> np.ndarray:
    """Value of an engine evaluation: *mate* (non-zero) wins over *cp*; same perspective."""
    mate = np.asarray(mate)
    return np.where(
        mate != 0, mate_to_value(mate, mate_inside=mate_inside), cp_to_value(cp, scale=scale)
    )


def value_to_wdl(value: float) -> tuple[int, int, int]:
    """Win/draw/loss per mille for a value in [-1, 1], same perspective.

    There is no draw model: D is 1000 for a value of exactly 0 (a proven or
    rule draw) and 0 otherwise, and W - L follows the value.
    """
    if abs(value) < 1e-9:
        return (0, 1000, 0)
    win = int(round(500 * (1 + value)))
    return (win, 0, 1000 - win)


def white_to_side_to_move(white_view: ArrayLike, turn: ArrayLike) -> np.ndarray:
    """A score from White's view turned into the side to move's (``turn`` True = White)."""
    return np.where(np.asarray(turn, dtype=bool), white_view, np.negative(white_view))


def side_to_move_to_white(side_to_move_view: ArrayLike, turn: ArrayLike) -> np.ndarray:
    """A score from the side to move's view turned into White's."""
    return white_to_side_to_move(side_to_move_view, turn)


RESULT_WHITE_VIEW = {"1-0": 1, "0-1": -1, "1/2-1/2": 0}
"""PGN ``Result`` tags as White's outcome; anything else (``*``) is unknown."""

UNKNOWN_RESULT = -128
"""Stored result for games without a decisive or drawn ``Result`` tag."""


def result_to_white_view(result: str) -> int:
    """+1 / 0 / -1 for a PGN result string, :data:`UNKNOWN_RESULT` for ``*`` or junk."""
    return RESULT_WHITE_VIEW.get(result.strip(), UNKNOWN_RESULT)


def result_to_value(white_result: ArrayLike, turn: ArrayLike) -> np.ndarray:
    """Game-result target from the side to move: +1 won, 0 drawn, -1 lost (NaN unknown)."""
    white_result = np.asarray(white_result, dtype=np.float64)
    white_result = np.where(white_result == UNKNOWN_RESULT, np.nan, white_result)
    return white_to_side_to_move(white_result, turn)


def blend(eval_value: ArrayLike, result_value: ArrayLike, lambda_: float) -> np.ndarray:
    """``lambda * eval + (1 - lambda) * result``, as Stockfish's NNUE trainer blends them."""
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lambda_}")
    return lambda_ * np.asarray(eval_value) + (1.0 - lambda_) * np.asarray(result_value)


def value_to_win_percent(value: ArrayLike) -> np.ndarray:
    """lichess's win percentage (0-100) for a value, same perspective."""
    return 50.0 + 50.0 * np.asarray(value, dtype=np.float64)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TargetConfig:
    """What a network is trained to predict, always from the side to move."""

    kind: TargetKind = "eval"
    """``eval`` (tanh-scaled engine eval), ``result`` (game outcome) or ``blend``."""

    lambda_: float = 1.0
    """Weight of the eval in a blend; 1 is pure eval (results unused), 0 pure result."""

    scale: float = LICHESS_SCALE
    """Centipawn scale of the tanh."""

    mate_inside: bool = False
    """Map mates just inside ±1, shorter mates higher."""

    def __post_init__(self) -> None:
        if self.kind not in ("eval", "result", "blend"):
            raise ValueError(f"unknown target kind {self.kind!r}")
        if not 0.0 <= self.lambda_ <= 1.0:
            raise ValueError(f"lambda must be in [0, 1], got {self.lambda_}")
        if self.scale <= 0:
            raise ValueError(f"scale must be positive, got {self.scale}")

    @property
    def uses_results(self) -> bool:
        """Whether game results enter the target (a blend at lambda 1 is pure eval)."""
        return self.kind == "result" or (self.kind == "blend" and self.lambda_ < 1.0)

    def compute(
        self, *, cp: ArrayLike, mate: ArrayLike, white_result: ArrayLike, turn: ArrayLike
    ) -> np.ndarray:
        """Targets from White-view ``cp``/``mate``/result columns of shard records."""
        eval_value = white_to_side_to_move(
            eval_to_value(cp, mate, scale=self.scale, mate_inside=self.mate_inside), turn
        )
        if not self.uses_results:
            return eval_value
        result_value = result_to_value(white_result, turn)
        if self.kind == "result":
            return result_value
        return blend(eval_value, result_value, self.lambda_)

    def compute_tf(self, *, cp: Any, mate: Any, white_result: Any, turn: Any) -> Any:
        """:meth:`compute` as TensorFlow ops, for ``tf.data`` (float32; NaN for unknown results).

        The same formulas as the numpy functions above; the tests hold the two together.
        """
        import tensorflow as tf

        cp = tf.cast(cp, tf.float32)
        mate = tf.cast(mate, tf.float32)
        white = tf.equal(tf.cast(turn, tf.int32), 1)
        if self.mate_inside:
            distance = tf.clip_by_value(tf.abs(mate), 1.0, float(MAX_MATE_DISTANCE))
            mate_value = tf.sign(mate) * (1.0 - MATE_STEP * distance)
        else:
            mate_value = tf.sign(mate)
        eval_white = tf.where(mate != 0, mate_value, tf.tanh(self.scale * cp))
        eval_value = tf.where(white, eval_white, -eval_white)
        if not self.uses_results:
            return eval_value
        result = tf.cast(white_result, tf.float32)
        result = tf.where(result == UNKNOWN_RESULT, float("nan"), result)
        result_value = tf.where(white, result, -result)
        if self.kind == "result":
            return result_value
        return self.lambda_ * eval_value + (1.0 - self.lambda_) * result_value
