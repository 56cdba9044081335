"""boardeval: a residual-CNN chess evaluator with Monte Carlo tree search.

``engine.load()`` is the Python API (see :mod:`engine.api`). It is imported on first
use, so ``python -m engine.uci`` starts without numpy or the network runtime.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Engine", "load"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from engine import api

        return getattr(api, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
