"""Bounds on scenario numbers: the range in which the model computes (schema-level checks).

These are fixed limits that hold on any machine, checked when a scenario is validated,
each worded with the field's sane range. How much a run may use of *this* machine's
memory is decided later, before sampling, by ``budget.py``.
"""

from __future__ import annotations

MAX_MINUTES = 1e7
"""Longest time any field may hold (minutes, about 19 years): durations, warm-up, services."""
MIN_DURATION = 1.0
"""Shortest counted run (minutes): KPIs per hour need a window to divide by."""
MAX_SERVERS = 100_000
"""Most servers a lane (or a stage's booths) may have in any hour."""
MAX_FLUSH_ABOVE = 1_000_000_000
"""Largest ``flush_above``; beyond it nobody could ever be waved through anyway."""
MAX_REPLICATIONS = 100_000
"""Most replications of one run (more only narrows intervals nobody needs that narrow)."""
CV_RANGE = (1e-3, 100.0)
"""Coefficients of variation the gamma and lognormal samplers compute in (below 0.001
use ``distribution: deterministic``)."""
MAX_SCORE = 50.0
"""Largest score shift of a risk model, in innocent standard deviations (scores beyond
about ±40 already refer everybody or nobody)."""


def years(minutes: float) -> str:
    """``minutes`` in words, for messages ("about 19 years")."""
    return f"about {minutes / 525_600:.0f} years"


def at_most_minutes(x: float) -> float:
    """A time no longer than ``MAX_MINUTES``."""
    if x > MAX_MINUTES:
        raise ValueError(f"must be at most {MAX_MINUTES:,.0f} min ({years(MAX_MINUTES)}), "
                         f"got {x:g} min")
    return x


def run_duration(x: float) -> float:
    """A counted duration between ``MIN_DURATION`` and ``MAX_MINUTES`` minutes."""
    if x < MIN_DURATION:
        raise ValueError(f"must be at least {MIN_DURATION:g} min, got {x:g} min")
    return x


def server_count(value: int | list[int]) -> int | list[int]:
    """A server count (or 24-hour roster) of at most ``MAX_SERVERS`` in every hour."""
    top = max(value) if isinstance(value, list) else value
    if top > MAX_SERVERS:
        raise ValueError(f"at most {MAX_SERVERS:,} servers per lane and hour, got {top:,}")
    return value


def cv(x: float) -> float:
    """A coefficient of variation inside ``CV_RANGE``."""
    lo, hi = CV_RANGE
    if not lo <= x <= hi:
        raise ValueError(f"cv must be between {lo:g} and {hi:g}, got {x:g}"
                         + (" (for no variation use distribution: deterministic)"
                            if x < lo else ""))
    return x
