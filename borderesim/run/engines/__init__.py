"""Engines replay sampled inputs through the crossing and return a ``Trace``."""

from __future__ import annotations

from collections.abc import Callable

from ..plan import Plan
from ..sampling import Inputs
from ..trace import Trace

Engine = Callable[[Plan, Inputs], Trace]


def get_engine(name: str) -> Engine:
    """The engine called ``name`` ("simpy" or "fast")."""
    if name == "simpy":
        from .simpy_engine import run

        return run
    if name == "fast":
        from .fast import run

        return run
    raise ValueError(f"unknown engine {name!r}; choose simpy, fast or auto")
