"""The network's shape as a config dataclass (importable without TensorFlow)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Shape of the network."""

    blocks: int = 4
    """Residual blocks (the default 4x32 learns the most per CPU millisecond, docs/TRAINING.md)."""

    filters: int = 32
    """Channels of the stem and of every residual block."""

    squeeze_excitation: bool = False
    """Add a squeeze-and-excitation gate to each block."""

    se_ratio: int = 4
    """Channel reduction inside the squeeze-and-excitation gate."""

    value_channels: int = 32
    """Channels of the value head's 1×1 convolution."""

    value_hidden: int = 128
    """Units of the value head's hidden dense layer."""

    policy_head: bool = False
    """Add the ``policy`` output (trained on the move played in the game)."""

    l2: float = 0.0
    """L2 penalty on convolution and dense kernels (use AdamW's decay instead when 0)."""

    def __post_init__(self) -> None:
        if self.blocks < 0 or self.filters < 1:
            raise ValueError("blocks must be >= 0 and filters >= 1")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ModelConfig:
        """A named size: ``"4x32"``, ``"6x64"``, ``"10x128"`` (blocks × filters)."""
        try:
            blocks, filters = (int(part) for part in name.lower().split("x"))
        except ValueError:
            raise ValueError(f"model preset must look like 6x64, got {name!r}") from None
        return cls(blocks=blocks, filters=filters, **overrides)

    @property
    def name(self) -> str:
        return f"{self.blocks}x{self.filters}" + ("-se" if self.squeeze_excitation else "")


PRESETS = ("4x32", "6x64", "10x128")
