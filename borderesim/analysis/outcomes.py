"""What happened to the travellers of one replication, defined once.

Every analysis (KPIs in ``metrics``, hourly KPIs, the capacity search, the report's
indicators, the per-traveller records, the animation) reads these definitions
instead of spelling them out:

- *counted*: arrived in the counted window ``[warmup, horizon)`` (KPIs count only
  these); the run goes on past the horizon until every counted traveller has left,
  up to ``Plan.run_end`` (the drain cap);
- *finished*: left the crossing before the run ended (else *unfinished*: still
  inside at the drain cap);
- *entered* stage s: reached it (queued there or was waved through);
- *queued* at s: joined one of its lanes (entered and not flushed);
- *flushed* at s: waved through unchecked (``flush_above``);
- *checked* at s: queued and finished service there before the run ended;
- *wait* at s: minutes from reaching s to starting service; *censored* when service
  had not started when the run ended at the drain cap, and then the lower bound
  ``run_end - entry`` (the same number everywhere: run, hourly KPIs, capacity);
- *occupancy*: the time-integral of the number waiting and the number in service
  in each lane over any windows.

Times are minutes from 00:00 of day one. ``Outcome(plan, inputs, trace)`` caches the
traveller-sized masks it reuses (counted, finished, both) and computes per-stage ones
on demand, so a year of a busy crossing (~10^7 travellers) holds few at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..model.targeting.base import p_refer_if_threat
from ..run.trace import FLUSHED, Trace

if TYPE_CHECKING:  # pragma: no cover
    from ..run.plan import Plan
    from ..run.sampling import Inputs

CHUNK = 1 << 20
"""Travellers handled at once where only sums are needed (bounds temporary memory)."""


def is_counted(arrival: np.ndarray, warmup: float, horizon: float = np.inf) -> np.ndarray:
    """Whether each traveller counts for KPIs: arrived (minutes) in ``[warmup, horizon)``."""
    return (arrival >= warmup) & (arrival < horizon)


def is_checked(lane: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether each traveller was checked: served in a lane (not flushed, not skipped)
    and finished there before the run ended. ``lane``/``end`` are ``Trace`` rows of one
    stage (``[n]``) or of all stages (``[S, n]``)."""
    return (lane >= 0) & ~np.isnan(end)


class Occupancy(NamedTuple):
    """Time-integrals over windows, one row per lane of a stage (float64[lanes, K]).

    ``waiting``: traveller-minutes spent queueing (divide by the window length for
    the time-average number waiting); ``busy``: server-minutes spent serving
    (divide by the server-minutes on duty for utilisation).
    """

    waiting: np.ndarray
    busy: np.ndarray


def interval_minutes(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Total length (minutes) of intervals ``[a_i, b_i)`` inside each ``[edges[k], edges[k+1])``.

    ``edges`` must be increasing. Runs in O((n + K) log n) with sorted cumulative sums.
    """
    a = np.asarray(a, dtype=float)
    b = np.maximum(np.asarray(b, dtype=float), a)
    edges = np.asarray(edges, dtype=float)

    def covered_before(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
        s = np.sort(starts)
        csum = np.concatenate([[0.0], np.cumsum(s)])
        k = np.searchsorted(s, x, side="left")
        return k * x - csum[k]

    # length of the intervals falling before x: sum (x - a)^+ - sum (x - b)^+
    total = covered_before(edges, a) - covered_before(edges, b)
    return np.diff(total)


def _clipped(a: np.ndarray, b: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Length of each interval [a, b) inside [t0, t1) (a new array; a and b untouched)."""
    out = np.minimum(b, t1)
    out -= np.maximum(a, t0)
    return np.clip(out, 0, None, out=out)


def occupancy(plan: Plan, trace: Trace, s: int, edges: np.ndarray) -> Occupancy:
    """Time spent waiting and in service in each lane of stage ``s``, per window.

    ``edges``: increasing times (minutes) bounding the windows ``[edges[k],
    edges[k+1])``. A traveller queued in a lane waits from ``entry`` to ``start`` and
    is served from ``start`` to ``end``; a time not reached (NaN) is the run's end
    (``plan.run_end``), so windows past it see nobody. Travellers who arrived during the
    warm-up count too: these are time averages of the crossing's state.

    One window is summed directly in chunks of travellers (no sorting, bounded
    memory); several windows by sorted cumulative sums (:func:`interval_minutes`),
    which costs O((n + K) log n) instead of O(n K).
    """
    edges = np.asarray(edges, dtype=float)
    lanes = plan.lanes_of(s)
    lane, entry, start, end = trace.lane[s], trace.entry[s], trace.start[s], trace.end[s]
    if edges.size == 2:
        t0, t1 = float(edges[0]), float(edges[1])
        waiting, busy = np.zeros(len(lanes)), np.zeros(len(lanes))
        for lo in range(0, lane.size, CHUNK):
            part = slice(lo, lo + CHUNK)
            served = lane[part] >= 0
            by_lane = lane[part][served] - lanes[0]
            begin = start[part][served]
            begin[np.isnan(begin)] = plan.run_end
            waiting += np.bincount(by_lane, _clipped(entry[part][served], begin, t0, t1),
                                   len(lanes))
            finish = end[part][served]
            finish[np.isnan(finish)] = plan.run_end
            busy += np.bincount(by_lane, _clipped(begin, finish, t0, t1), len(lanes))
        return Occupancy(waiting[:, None], busy[:, None])
    waiting = np.zeros((len(lanes), edges.size - 1))
    busy = np.zeros((len(lanes), edges.size - 1))
    for j, ln in enumerate(lanes):
        mine = lane == ln
        begin = np.where(np.isnan(start[mine]), plan.run_end, start[mine])
        finish = np.where(np.isnan(end[mine]), plan.run_end, end[mine])
        waiting[j] = interval_minutes(entry[mine], begin, edges)
        busy[j] = interval_minutes(begin, finish, edges)
    return Occupancy(waiting, busy)


@dataclass(frozen=True)
class Outcome:
    """One replication seen through the definitions of this module.

    Masks are bool[n] in traveller order; per-stage ones are computed on each call.
    """

    plan: Plan
    inputs: Inputs
    trace: Trace

    @cached_property
    def counted(self) -> np.ndarray:
        """Arrived in the counted window ``[warmup, horizon)``."""
        return is_counted(self.inputs.arrival, self.plan.warmup, self.plan.horizon)

    @cached_property
    def finished(self) -> np.ndarray:
        """Left the crossing before the run ended (counted or not)."""
        return ~np.isnan(self.trace.exit)

    @cached_property
    def done(self) -> np.ndarray:
        """Counted and finished."""
        return self.counted & self.finished

    @cached_property
    def in_run(self) -> np.ndarray:
        """Arrived before the run ended (counted or not): the traveller has a trace.
        Travellers sampled for the drain but arriving after the run ended have none."""
        out = self.finished.copy()
        for s in range(self.plan.n_stages):
            out |= self.entered(s)
        return out

    @property
    def unfinished(self) -> np.ndarray:
        """Counted but still inside when the run ended at the drain cap."""
        return self.counted & ~self.finished

    def entered(self, s: int) -> np.ndarray:
        """Reached stage ``s`` (queued there or flushed)."""
        return ~np.isnan(self.trace.entry[s])

    def queued(self, s: int) -> np.ndarray:
        """Joined a lane of stage ``s`` (entered and not flushed)."""
        return self.trace.lane[s] >= 0

    def flushed(self, s: int) -> np.ndarray:
        """Waved through stage ``s`` unchecked."""
        return self.trace.lane[s] == FLUSHED

    def started(self, s: int) -> np.ndarray:
        """Started service at stage ``s`` before the run ended."""
        return ~np.isnan(self.trace.start[s])

    def checked(self, s: int | None = None) -> np.ndarray:
        """Checked at stage ``s`` (bool[n]), or at every stage (bool[S, n]) if ``s`` is None."""
        if s is None:
            return is_checked(self.trace.lane, self.trace.end)
        return is_checked(self.trace.lane[s], self.trace.end[s])

    def censored(self, s: int) -> np.ndarray:
        """Queued at stage ``s`` but not started there when the run ended (at the cap):
        their wait there is only known to be at least ``run_end - entry``."""
        return self.queued(s) & ~self.started(s)

    def wait(self, s: int) -> np.ndarray:
        """Minutes from reaching stage ``s`` to starting service there (float64[n]).

        A traveller still waiting when the run ended (:meth:`censored`) gets the lower
        bound ``plan.run_end - entry``; 0 where the stage was not reached or flushed.
        """
        trace = self.trace
        begin = np.where(self.queued(s) & ~self.started(s), self.plan.run_end, trace.start[s])
        out = np.subtract(begin, trace.entry[s])
        out[np.isnan(out)] = 0.0
        return out

    def time_in_system(self) -> np.ndarray:
        """Minutes from arrival to leaving (float64[n]); the lower bound
        ``plan.run_end - arrival`` for a traveller still inside when the run ended."""
        exit_ = np.where(self.finished, self.trace.exit, self.plan.run_end)
        return np.subtract(exit_, self.inputs.arrival)

    def reached_referral(self) -> np.ndarray:
        """Passed the point where referral is settled: finished, or reached the first
        ``visits: referred`` stage or any later one. All False without such a stage."""
        ref = np.flatnonzero(self.plan.stage_referred)
        if ref.size == 0:
            return np.zeros(self.inputs.n, dtype=bool)
        out = self.finished.copy()
        for s in range(int(ref[0]), self.plan.n_stages):
            out |= self.entered(s)
        return out

    def p_refer_if_threat(self) -> np.ndarray:
        """P(referred were they a threat) per traveller, at the thresholds they met
        (float64[n]; :func:`borderesim.model.targeting.base.p_refer_if_threat`)."""
        return p_refer_if_threat(self.inputs.p_refer_if_threat, self.inputs.dynamic,
                                 self.trace.threshold)

    def occupancy(self, s: int, edges: np.ndarray) -> Occupancy:
        """:func:`occupancy` of stage ``s`` over the windows bounded by ``edges``."""
        return occupancy(self.plan, self.trace, s, edges)
