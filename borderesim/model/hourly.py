"""Values that are either one number or a list of 24 hourly values repeating daily."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from ..errors import shorten

HOURS_PER_DAY = 24


def _hourly(kind: type, minimum: float, what: str):
    def check(value: object) -> object:
        def one(v: object, where: str) -> float | int:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{where}must be a number, got {shorten(v)}")
            if not v == v or v in (float("inf"), float("-inf")):
                raise ValueError(f"{where}must be finite, got {shorten(v)}")
            if kind is int and float(v) != int(v):
                raise ValueError(f"{where}must be a whole number, got {shorten(v)}")
            return kind(v)

        if isinstance(value, list | tuple):
            if len(value) != HOURS_PER_DAY:
                raise ValueError(
                    f"an hourly list needs exactly 24 values (hours 0-23), got {len(value)}"
                )
            vals = [one(v, f"hour {h}: ") for h, v in enumerate(value)]
            if any(v < 0 for v in vals):
                h = next(h for h, v in enumerate(vals) if v < 0)
                raise ValueError(f"hour {h}: {what} cannot be negative, got {vals[h]}")
            if not any(v > 0 for v in vals):
                raise ValueError(f"at least one hour needs {what} above zero")
            return vals
        v = one(value, "")
        if not v > minimum:
            raise ValueError(f"{what} must be above {minimum}, got {v}")
        return v

    return check


HourlyRate = Annotated[float | list[float], BeforeValidator(_hourly(float, 0, "the rate"))]
"""Arrivals per hour: one rate, or 24 hourly rates (hour 0 = 00:00-01:00)."""
HourlyCount = Annotated[int | list[int], BeforeValidator(_hourly(int, 0, "the server count"))]
"""Servers on duty: one count, or a roster of 24 hourly counts."""


def as_24(value: float | list[float]) -> list[float]:
    """Expand a scalar-or-hourly value to 24 hourly values."""
    return list(value) if isinstance(value, list | tuple) else [value] * HOURS_PER_DAY
