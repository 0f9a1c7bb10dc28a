"""What an engine returns: per-traveller times at every stage.

What these records mean for analyses (counted, finished, checked, flushed, time
waiting and in service) is defined once, in :mod:`borderesim.analysis.outcomes`.

A year of a busy crossing is ~10^7 travellers, so the arrays are kept small where
that loses nothing: lane codes take the narrowest signed integer that holds every
lane index and the codes below 0 (:func:`lane_dtype`: one byte up to 127 lanes), and
without a queue-aware referral rule ``threshold`` is all NaN and takes no memory (a
read-only view, :func:`no_threshold`). Times stay float64 minutes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from . import pages

NOT_VISITED = -1
"""``lane`` code: the traveller did not visit (or has not yet reached) the stage."""
FLUSHED = -2
"""``lane`` code: the traveller was waved through the stage unchecked."""


def window_pieces(warmup: float, horizon: float) -> int:
    """How many clock-hour pieces the counted window ``[warmup, horizon)`` (minutes) has
    (``analysis.by_hour.window_segments``'): one per clock hour it touches."""
    return max(math.ceil(horizon / 60) - math.floor(warmup / 60), 1)
_NAN = np.float64(np.nan).tobytes()


def lane_dtype(n_lanes: int) -> type:
    """The dtype of ``Trace.lane`` for a crossing of ``n_lanes`` lanes (all stages): the
    narrowest signed integer holding the indices, as for classes (``sampling.class_dtype``:
    int8 up to 127 lanes, int16 up to 32 767, else int32); the codes below 0 fit too.
    Arithmetic on lane codes (``lane * 24 + hour``) must widen them first
    (``astype(np.int64)``)."""
    from .sampling import class_dtype  # sampling imports more than a trace needs

    return class_dtype(n_lanes)


def no_threshold(n: int) -> np.ndarray:
    """``Trace.threshold`` of a run without a queue-aware rule: float64[n], all NaN,
    taking no memory (one read-only NaN seen ``n`` times, stride 0)."""
    return np.ndarray((n,), np.float64, _NAN, 0, (0,))


def _is_no_threshold(threshold: np.ndarray) -> bool:
    """Whether ``threshold`` equals :func:`no_threshold` stored as it (one NaN, stride 0)."""
    return (threshold.ndim == 1 and threshold.size > 0 and threshold.strides == (0,)
            and bool(np.isnan(threshold[0])))


@dataclass(frozen=True)
class Trace:
    """Per-traveller record of one replication; times in minutes, NaN where not reached.

    ``entry[s, i]``: reached stage s (joined its queue); ``start``/``end``: service.
    ``lane[s, i]``: global lane index, or ``NOT_VISITED`` / ``FLUSHED``.
    ``exit[i]``: left the crossing (NaN: still inside at the horizon, "unfinished").
    ``referred[i]``: referred (static decision, or the dynamic rule when applied).
    ``threshold[i]``: dynamic-rule threshold in force when decided (NaN if none).
    """

    lane: np.ndarray  # int8/int16/int32[S, n] (lane_dtype)
    entry: np.ndarray  # float64[S, n]
    start: np.ndarray  # float64[S, n]
    end: np.ndarray  # float64[S, n]
    exit: np.ndarray  # float64[n]
    referred: np.ndarray  # bool[n]
    threshold: np.ndarray  # float64[n]; no_threshold(n) without a queue-aware rule
    reserve_minutes: np.ndarray | None = None
    """float64[S]: reserve officer-minutes on duty at each stage up to the horizon."""
    reserve_duty: np.ndarray | None = None
    """float64[L, P] (None without a reserve): reserve officer-minutes serving in each
    lane (assigned to it, the lane not in an outage) within each clock-hour piece of the
    counted window (:func:`window_pieces`; ``analysis.by_hour.window_segments``)."""

    @classmethod
    def empty(cls, n_stages: int, n: int, refer: np.ndarray, n_lanes: int = 1,
              dynamic: bool = True) -> Trace:
        """A trace in which nothing has happened yet (an engine that writes only what
        happens fills it in). ``n_lanes``: lanes of all stages (the lane codes' dtype,
        :func:`lane_dtype`); ``dynamic``: a queue-aware rule records thresholds (else
        ``threshold`` is :func:`no_threshold`)."""
        trace = cls.unfilled(n_stages, n, refer, n_lanes, dynamic)
        trace.lane.fill(NOT_VISITED)
        for times in (trace.entry, trace.start, trace.end, trace.exit):
            times.fill(np.nan)
        if dynamic:
            trace.threshold.fill(np.nan)
        trace.reserve_minutes.fill(0.0)
        return trace

    @classmethod
    def unfilled(cls, n_stages: int, n: int, refer: np.ndarray, n_lanes: int,
                 dynamic: bool) -> Trace:
        """A trace of uninitialised arrays but ``referred`` (a copy of ``refer``), for an
        engine that writes every slot; ``threshold`` is :func:`no_threshold` unless
        ``dynamic``. C-contiguous, so flat views share memory with the arrays."""
        return cls(
            lane=pages.empty((n_stages, n), dtype=lane_dtype(n_lanes)),
            entry=pages.empty((n_stages, n)),
            start=pages.empty((n_stages, n)),
            end=pages.empty((n_stages, n)),
            exit=pages.empty(n),
            referred=np.array(refer, dtype=bool),
            threshold=np.empty(n) if dynamic else no_threshold(n),
            reserve_minutes=np.empty(n_stages),
        )

    def __reduce__(self) -> tuple:
        """Pickle (workers send traces back) without writing out an empty threshold."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if _is_no_threshold(self.threshold):
            fields["threshold"] = len(self.threshold)
        return _rebuild, (fields,)


def _rebuild(fields: dict) -> Trace:
    """A pickled :class:`Trace` (``threshold`` given as a length: :func:`no_threshold`)."""
    if isinstance(fields["threshold"], int):
        fields = {**fields, "threshold": no_threshold(fields["threshold"])}
    return Trace(**fields)
