"""What an engine returns: per-traveller times at every stage.

What these records mean for analyses (counted, finished, checked, flushed, time
waiting and in service) is defined once, in :mod:`borderesim.analysis.outcomes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NOT_VISITED = -1
"""``lane`` code: the traveller did not visit (or has not yet reached) the stage."""
FLUSHED = -2
"""``lane`` code: the traveller was waved through the stage unchecked."""


def window_pieces(warmup: float, horizon: float) -> int:
    """How many clock-hour pieces the counted window ``[warmup, horizon)`` (minutes) has
    (``analysis.by_hour.window_segments``'): one per clock hour it touches."""
    return max(math.ceil(horizon / 60) - math.floor(warmup / 60), 1)


@dataclass(frozen=True)
class Trace:
    """Per-traveller record of one replication; times in minutes, NaN where not reached.

    ``entry[s, i]``: reached stage s (joined its queue); ``start``/``end``: service.
    ``lane[s, i]``: global lane index, or ``NOT_VISITED`` / ``FLUSHED``.
    ``exit[i]``: left the crossing (NaN: still inside at the horizon, "unfinished").
    ``referred[i]``: referred (static decision, or the dynamic rule when applied).
    ``threshold[i]``: dynamic-rule threshold in force when decided (NaN if none).
    """

    lane: np.ndarray  # int64[S, n]
    entry: np.ndarray  # float64[S, n]
    start: np.ndarray  # float64[S, n]
    end: np.ndarray  # float64[S, n]
    exit: np.ndarray  # float64[n]
    referred: np.ndarray  # bool[n]
    threshold: np.ndarray  # float64[n]
    reserve_minutes: np.ndarray | None = None
    """float64[S]: reserve officer-minutes on duty at each stage up to the horizon."""
    reserve_duty: np.ndarray | None = None
    """float64[L, P] (None without a reserve): reserve officer-minutes serving in each
    lane (assigned to it, the lane not in an outage) within each clock-hour piece of the
    counted window (:func:`window_pieces`; ``analysis.by_hour.window_segments``)."""

    @classmethod
    def empty(cls, n_stages: int, n: int, refer: np.ndarray) -> Trace:
        """A trace in which nothing has happened yet (engines fill it in)."""
        nan = np.full((n_stages, n), np.nan)
        return cls(
            lane=np.full((n_stages, n), NOT_VISITED, dtype=np.int64),
            entry=nan,
            start=nan.copy(),
            end=nan.copy(),
            exit=np.full(n, np.nan),
            referred=np.array(refer, dtype=bool),
            threshold=np.full(n, np.nan),
            reserve_minutes=np.zeros(n_stages),
        )
