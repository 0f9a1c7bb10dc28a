"""Officers on shifts covering an hourly requirement: an integer programme solved by HiGHS.

The day is cut into 96 slots of 15 minutes and repeats (a 22:00 eight-hour shift covers
22:00-06:00). Decision variables (all integers >= 0):

* ``y[k, p, s, b]``: officers of kind ``k`` working shift pattern ``p`` from start hour
  ``s`` whose break starts ``b`` slots into the shift. Break placement is a decision, so
  cover never relies on an officer who is on break: an officer counts in a slot only when
  on shift and not on break. (Breaks are not covered by a separate relief pool; the
  programme staggers breaks, and adds an officer only where staggering cannot keep the
  cover.) Officers on a shift = ``sum_b y``.
* ``a[k, g, t]``: officers of kind ``k`` assigned to cover group ``g`` (a lane) in slot
  ``t``, only for kinds trained for ``g``.

Constraints, for every slot ``t``: each kind assigns at most the officers it has present,
``sum_g a[k, g, t] <= sum_{p,s,b present at t} y[k, p, s, b]``; each lane gets its need,
``sum_k a[k, g, t] >= need[g, hour(t)]``. The objective is paid officer-hours (breaks
are paid), officers, or cost (paid hours times each kind's annual cost). Hours are met
slot by slot, so the officers present in every quarter of an hour — and thus in the
whole hour — are at least the hour's need.

``scipy.optimize.milp`` (HiGHS branch and bound) proves optimality: the status and the
relative MIP gap (0 when the incumbent equals the dual bound) are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import coo_matrix

from ...errors import ScenarioError
from .schema import SLOT, Shift

HOURS = 24
SLOTS_PER_HOUR = round(60 / SLOT)
SLOTS = HOURS * SLOTS_PER_HOUR
TIME_LIMIT = 120.0
"""Seconds HiGHS may search before it stops with its best roster and an open gap."""

_STATUS = {0: "optimal", 1: "time limit reached", 2: "infeasible", 3: "unbounded",
           4: "solver error"}


def clock(slot: int) -> str:
    """``HH:MM`` of a slot of the day (slots wrap at 24 h)."""
    minutes = int((slot % SLOTS) * SLOT)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class ShiftColumn:
    """One variable ``y``: a kind, pattern, start hour and break offset (in slots)."""

    kind: int
    pattern: int
    start: int
    brk: int

    def present(self, shift: Shift) -> np.ndarray:
        """bool[SLOTS]: slots this officer is on shift and not on break."""
        out = np.zeros(SLOTS, dtype=bool)
        first = self.start * SLOTS_PER_HOUR
        length = round(shift.length / SLOT)
        out[(first + np.arange(length)) % SLOTS] = True
        nb = round(shift.break_minutes / SLOT)
        if nb:
            out[(first + self.brk + np.arange(nb)) % SLOTS] = False
        return out


@dataclass
class ShiftPlan:
    """The optimal cover.

    ``officers[(kind, shift label, start hour)]``: officers starting that shift;
    ``breaks[...]``: for the same key, ``{"HH:MM": officers}`` whose break starts then;
    ``present[k, t]``: officers of kind ``k`` present (not on break) in slot ``t``;
    ``assigned[k, g, t]``: officers of kind ``k`` covering group ``g`` in slot ``t``;
    ``need[g, h]``: the hourly requirement in officers. Hours are officer-hours a day.
    """

    kinds: list[str]
    groups: list[str]
    need: np.ndarray
    officers: dict[tuple[str, str, int], int]
    breaks: dict[tuple[str, str, int], dict[str, int]]
    present: np.ndarray
    assigned: np.ndarray
    paid_hours: dict[str, float]
    status: str
    mip_gap: float
    objective: str
    objective_value: float
    dual_bound: float
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def proven_optimal(self) -> bool:
        return self.status == "optimal" and self.mip_gap <= 1e-9

    @property
    def required_hours(self) -> float:
        """Officer-hours a day the requirement asks for (sum of hourly needs)."""
        return float(self.need.sum())

    @property
    def total_paid_hours(self) -> float:
        return float(sum(self.paid_hours.values()))

    def on_duty_by_hour(self) -> np.ndarray:
        """int[kinds, 24]: officers of each kind present through the whole hour (min of slots)."""
        return self.present.reshape(len(self.kinds), HOURS, SLOTS_PER_HOUR).min(axis=2)

    def assigned_by_hour(self) -> np.ndarray:
        """int[groups, 24]: officers covering each group through the whole hour."""
        per_slot = self.assigned.sum(axis=0)
        return per_slot.reshape(len(self.groups), HOURS, SLOTS_PER_HOUR).min(axis=2)

    def spare_by_hour(self) -> np.ndarray:
        """int[kinds, 24]: officers of each kind present but assigned to no lane, all hour."""
        free = self.present - self.assigned.sum(axis=1)
        return free.reshape(len(self.kinds), HOURS, SLOTS_PER_HOUR).min(axis=2)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (hours of day as ``HH:00``; hours are officer-hours a day)."""
        total = sum(self.officers.values())
        return {
            "objective": self.objective,
            "objective_value": round(self.objective_value, 6),
            "status": self.status,
            "mip_gap": self.mip_gap,
            "dual_bound": round(self.dual_bound, 6),
            "proven_optimal": self.proven_optimal,
            "solve_seconds": round(self.seconds, 3),
            "officers_on_shift": total,
            "officers_by_kind": {k: sum(n for (kk, _, _), n in self.officers.items() if kk == k)
                                 for k in self.kinds},
            "shifts": [{"kind": k, "shift": name, "start": f"{s:02d}:00", "officers": n,
                        "breaks": self.breaks[(k, name, s)]}
                       for (k, name, s), n in sorted(self.officers.items(),
                                                     key=lambda kv: (kv[0][0], kv[0][2]))],
            "paid_hours": round(self.total_paid_hours, 3),
            "paid_hours_by_kind": {k: round(v, 3) for k, v in self.paid_hours.items()},
            "required_hours": self.required_hours,
            "slack_hours": round(self.total_paid_hours - self.required_hours, 3),
            "need_by_hour": {g: [int(x) for x in self.need[i]]
                             for i, g in enumerate(self.groups)},
            "on_duty_by_hour": {k: [int(x) for x in row]
                                for k, row in zip(self.kinds, self.on_duty_by_hour(),
                                                  strict=True)},
            "notes": self.notes,
        }


def _check_coverable(need: np.ndarray, groups: list[str], shifts: list[Shift],
                     trained: np.ndarray, source: str | None) -> None:
    """Name the first lane-slot no kind or no shift can cover, as a ``ScenarioError``."""
    for g, name in enumerate(groups):
        if need[g].any() and not trained[:, g].any():
            raise ScenarioError(f"lane {name!r} needs officers but no officer kind covers it",
                                source, "staffing.officers")
    can = np.zeros(SLOTS, dtype=bool)
    for p, sh in enumerate(shifts):
        for s in sh.start_hours():
            for b in sh.break_offsets():
                can |= ShiftColumn(0, p, s, b).present(sh)
    hourly = need.sum(axis=0)
    for t in range(SLOTS):
        if hourly[t // SLOTS_PER_HOUR] > 0 and not can[t]:
            lane = groups[int(np.argmax(need[:, t // SLOTS_PER_HOUR] > 0))]
            raise ScenarioError(
                f"no allowed shift covers {clock(t)}-{clock(t + 1)} (lane {lane!r} needs "
                f"officers in hour {t // SLOTS_PER_HOUR}); add a shift start or length",
                source, "staffing.shifts")


def solve_cover(need: np.ndarray, groups: list[str], kinds: list[str], trained: np.ndarray,
                shifts: list[Shift], objective: str = "paid_hours",
                hourly_cost: list[float] | None = None, source: str | None = None,
                time_limit: float = TIME_LIMIT) -> ShiftPlan:
    """The cheapest officers on ``shifts`` covering ``need`` (int[G, 24] officers per hour).

    ``trained[k, g]``: kind ``k`` may cover group ``g``. ``objective``: ``paid_hours``,
    ``officers`` or ``cost`` (paid hours x ``hourly_cost[k]``). Raises ``ScenarioError``
    (naming ``source``) when no shift set can cover the need.
    """
    import time

    t0 = time.perf_counter()
    need = np.asarray(need, dtype=np.int64)
    if need.shape != (len(groups), HOURS) or (need < 0).any():
        raise ValueError("need must be int[groups, 24] of counts >= 0")
    trained = np.asarray(trained, dtype=bool)
    _check_coverable(need, groups, shifts, trained, source)
    K, G = len(kinds), len(groups)
    cols = [ShiftColumn(k, p, s, b) for k in range(K) for p, sh in enumerate(shifts)
            for s in sh.start_hours() for b in sh.break_offsets()]
    need_slots = np.repeat(need, SLOTS_PER_HOUR, axis=1)  # [G, SLOTS]
    assign = [(k, g, t) for k in range(K) for g in range(G) if trained[k, g]
              for t in range(SLOTS) if need_slots[g, t] > 0]
    ny, na = len(cols), len(assign)
    cost = np.zeros(ny + na)
    for j, c in enumerate(cols):
        hours = shifts[c.pattern].length / 60.0
        cost[j] = {"officers": 1.0, "paid_hours": hours,
                   "cost": hours * (hourly_cost[c.kind] if hourly_cost else 1.0)}[objective]
    rows, cidx, vals = [], [], []
    # supply rows r = k * SLOTS + t: sum_g a - sum_present y <= 0
    for j, c in enumerate(cols):
        for t in np.flatnonzero(c.present(shifts[c.pattern])):
            rows.append(c.kind * SLOTS + t)
            cidx.append(j)
            vals.append(-1.0)
    for i, (k, _g, t) in enumerate(assign):
        rows.append(k * SLOTS + t)
        cidx.append(ny + i)
        vals.append(1.0)
    # demand rows: K * SLOTS + index of (g, t) with need > 0
    demand = [(g, t) for g in range(G) for t in range(SLOTS) if need_slots[g, t] > 0]
    row_of = {gt: K * SLOTS + i for i, gt in enumerate(demand)}
    for i, (_k, g, t) in enumerate(assign):
        rows.append(row_of[(g, t)])
        cidx.append(ny + i)
        vals.append(1.0)
    n_rows = K * SLOTS + len(demand)
    A = coo_matrix((vals, (rows, cidx)), shape=(n_rows, ny + na)).tocsr()
    lb = np.concatenate([np.full(K * SLOTS, -np.inf),
                         [need_slots[g, t] for g, t in demand]])
    ub = np.concatenate([np.zeros(K * SLOTS), np.full(len(demand), np.inf)])
    res = milp(cost, constraints=LinearConstraint(A, lb, ub), integrality=np.ones(ny + na),
               bounds=(0, np.inf),
               options={"time_limit": time_limit, "mip_rel_gap": 0.0, "disp": False})
    status = _STATUS.get(res.status, f"status {res.status}")
    if res.x is None:
        raise ScenarioError(f"the shift programme found no cover ({status}: {res.message})",
                            source, "staffing")
    x = np.round(res.x).astype(np.int64)
    officers: dict[tuple[str, str, int], int] = {}
    breaks: dict[tuple[str, str, int], dict[str, int]] = {}
    present = np.zeros((K, SLOTS), dtype=np.int64)
    paid = dict.fromkeys(kinds, 0.0)
    for j, c in enumerate(cols):
        if x[j] == 0:
            continue
        sh = shifts[c.pattern]
        key = (kinds[c.kind], sh.label, c.start)
        officers[key] = officers.get(key, 0) + int(x[j])
        if sh.break_minutes:
            at = clock(c.start * SLOTS_PER_HOUR + c.brk)
            breaks.setdefault(key, {})[at] = breaks.get(key, {}).get(at, 0) + int(x[j])
        else:
            breaks.setdefault(key, {})
        present[c.kind] += x[j] * c.present(sh)
        paid[kinds[c.kind]] += float(x[j] * sh.length / 60.0)
    assigned = np.zeros((K, G, SLOTS), dtype=np.int64)
    for i, (k, g, t) in enumerate(assign):
        assigned[k, g, t] += x[ny + i]
    for key in breaks:
        breaks[key] = dict(sorted(breaks[key].items()))
    gap = float(res.mip_gap) if res.mip_gap is not None and math.isfinite(res.mip_gap) else 0.0
    bound = res.mip_dual_bound if res.mip_dual_bound is not None else res.fun
    notes = [] if status == "optimal" else [
        f"HiGHS stopped ({status}) with a relative MIP gap of {gap:.2%}: the cover is "
        "feasible but not proven cheapest"]
    return ShiftPlan(kinds=list(kinds), groups=list(groups), need=need, officers=officers,
                     breaks=breaks, present=present, assigned=assigned, paid_hours=paid,
                     status=status, mip_gap=gap, objective=objective,
                     objective_value=float(res.fun), dual_bound=float(bound),
                     seconds=time.perf_counter() - t0, notes=notes)

