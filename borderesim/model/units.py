"""Duration strings ("45 s", "2 min", "1.5 h") resolved to minutes, the package's time unit."""

from __future__ import annotations

import re

from ..errors import shorten

_FACTORS = {
    "s": 1 / 60, "sec": 1 / 60, "secs": 1 / 60, "second": 1 / 60, "seconds": 1 / 60,
    "m": 1.0, "min": 1.0, "mins": 1.0, "minute": 1.0, "minutes": 1.0,
    "h": 60.0, "hr": 60.0, "hrs": 60.0, "hour": 60.0, "hours": 60.0,
    "d": 1440.0, "day": 1440.0, "days": 1440.0,
}
_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*$")


def to_minutes(value: object) -> float:
    """Return ``value`` in minutes.

    Numbers are taken as minutes; strings may carry a unit: s, min, h or d
    (with the usual spellings), e.g. ``"45 s"``, ``"2min"``, ``"1.5 h"``.
    Raises ``ValueError`` with a readable message for anything else.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 45 s, 2 min or 1.5 h, not a boolean")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 45 s, 2 min or 1.5 h, got {shorten(value)}")
    match = _PATTERN.match(value)
    if not match:
        raise ValueError(
            f"cannot read {shorten(value)} as a duration (examples: 45 s, 2 min, 1.5 h)")
    number, unit = match.groups()
    if unit == "":
        return float(number)
    factor = _FACTORS.get(unit.lower())
    if factor is None:
        raise ValueError(
            f"unknown time unit {shorten(unit)} in {shorten(value)} (use s, min, h or d)")
    return float(number) * factor
