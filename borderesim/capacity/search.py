"""The staffing search: fewest servers per lane and hour of day that meet every target.

Anchored on the Iterative Staffing Algorithm (Feldman, Mandelbaum, Massey & Whitt,
2008): start each hour from a stationary queueing estimate, then correct it by
simulating the whole time-varying day, so the queue carried over from one hour to the
next is counted. All simulations reuse the same sampled travellers (common random
numbers), so the answer is a deterministic function of the seed.

1. **Start.** Simulate today's roster; from the travellers entering each lane in each
   hour and the lane's mean service time, take Erlang-C's fewest servers for the
   target (``theory.min_servers_for_wait_quantile`` / ``min_servers_for_mean_wait``).
2. **Raise.** Simulate; add one server to every failing lane-hour (within the lane cap
   and the stage's booths); repeat until nothing fails. A failing hour that cannot
   grow is an *infrastructure gap*.
3. **Lower.** Try one server fewer in every third hour at once (hours ``k, k+3, ...``,
   ``k = 0, 1, 2``), so a new failure can be blamed on the nearest lowered hour of its
   stage (carry-over reaches about one hour); put those back, re-simulate, and keep
   what passes. Sweep until nothing more can be removed.

Lanes keep their role: a lane open in today's roster stays open (>= 1 server) in
hours where its stage has travellers; a stage target applies to every lane of the
stage (each lane's travellers must meet it, as service standards are usually
published per lane type); lanes and stages without a target keep today's roster, and
so do hours of day the scenario's counted window never covers (a 6-hour scenario
says nothing about the other 18 hours).

The result is a local minimum: each lane-hour was tried with one server fewer (except
next to hours that fail even at their cap), and a removal is kept only if every
lane-hour still meets its targets on the sampled travellers; it is not a proof that
no cheaper roster exists.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..hourly_metrics import HOURS, by_hour, hour_of_day, window_segments
from ..outcomes import Outcome
from ..plan import Plan
from ..theory import min_servers_for_mean_wait, min_servers_for_wait_quantile
from .evaluate import Evaluation, Evaluator

UNCAPPED = 1000
"""Servers per lane allowed when neither ``booths`` nor ``--max-servers`` limits it."""
MAX_ROUNDS = 200

Progress = Callable[[str], None]


def caps(plan: Plan, booths: dict[str, int | None], max_servers: dict[str, int]
         ) -> tuple[np.ndarray, np.ndarray]:
    """Per-lane and per-stage server caps (int[L], int[S]).

    A stage's cap is ``--max-servers STAGE=N``, else its ``booths``, else ``UNCAPPED``
    per lane; a lane's cap is ``--max-servers STAGE.LANE=N``, else its stage's cap.
    """
    stage_cap = np.zeros(plan.n_stages, dtype=np.int64)
    lane_cap = np.zeros(plan.n_lanes, dtype=np.int64)
    for s, sname in enumerate(plan.stage_names):
        lanes = plan.lanes_of(s)
        cap = max_servers.get(sname, booths.get(sname))
        stage_cap[s] = cap if cap is not None else UNCAPPED * len(lanes)
        for lane in lanes:
            lane_cap[lane] = min(max_servers.get(plan.lane_names[lane], stage_cap[s]), stage_cap[s])
    return lane_cap, stage_cap


def _fit_stage(plan: Plan, roster: np.ndarray, lower: np.ndarray, stage_cap: np.ndarray,
               free: np.ndarray) -> None:
    """Trim ``roster`` in place so no stage exceeds its cap in any hour (largest lane first)."""
    for s in range(plan.n_stages):
        lanes = np.array(plan.lanes_of(s))
        for h in range(HOURS):
            while roster[lanes, h].sum() > stage_cap[s]:
                room = np.where(free[lanes] & (roster[lanes, h] > lower[lanes, h]),
                                roster[lanes, h], -1)
                if room.max() < 0:
                    break
                roster[lanes[int(room.argmax())], h] -= 1


def erlang_start(ev: Evaluator, sched: Evaluation) -> np.ndarray:
    """Stationary Erlang-C estimate per lane-hour from the demand seen under today's roster."""
    base = ev.base
    _, seg_hours, seg_len = window_segments(base.warmup, base.horizon)
    days = by_hour(seg_hours, seg_len) / 60.0
    reps = len(ev.inputs)
    est = np.zeros((base.n_lanes, HOURS), dtype=np.int64)
    for lane in range(base.n_lanes):
        if not ev.rules[lane]:
            continue
        mean_service = float(np.mean([inp.service[lane].mean() for inp in ev.inputs]))
        for h in range(HOURS):
            n = sched.count[lane, h]
            if n == 0:
                continue
            per_hour = n / (reps * days[h]) if days[h] > 0 else n / reps
            lam = per_hour / 60.0  # per minute
            need = 0
            for pct, limit in ev.rules[lane]:
                if pct is None:
                    c = min_servers_for_mean_wait(lam, mean_service, limit, UNCAPPED)
                else:
                    c = min_servers_for_wait_quantile(lam, mean_service, limit, pct / 100,
                                                      UNCAPPED)
                need = max(need, c)
            est[lane, h] = need
    return est


class Search:
    """State of one staffing search (see the module docstring for the method)."""

    def __init__(self, ev: Evaluator, scheduled: np.ndarray, lane_cap: np.ndarray,
                 stage_cap: np.ndarray, progress: Progress | None = None):
        self.ev = ev
        self.plan = ev.base
        self.scheduled = np.array(scheduled, dtype=np.int64)
        self.lane_cap = lane_cap
        self.stage_cap = stage_cap
        self.free = np.array([bool(r) for r in ev.rules])  # lanes the search may change
        self.say = progress or (lambda _msg: None)
        self.sched_eval = ev.evaluate(self.scheduled)
        demand = self.sched_eval.stage_count[self.plan.lane_stage] > 0  # [L, 24]
        self.lower = np.where(self.free[:, None], ((self.scheduled > 0) & demand).astype(np.int64),
                              self.scheduled)
        self.upper = np.where(self.free[:, None], lane_cap[:, None], self.scheduled)
        # hours of day the scenario's window never covers keep today's roster
        _, seg_hours, seg_len = window_segments(self.plan.warmup, self.plan.horizon)
        outside = by_hour(seg_hours, seg_len) == 0
        self.lower[:, outside] = self.scheduled[:, outside]
        self.upper[:, outside] = self.scheduled[:, outside]

    # ------------------------------------------------------------------ raise
    def raise_until_met(self, roster: np.ndarray, free: np.ndarray | None = None
                        ) -> tuple[np.ndarray, Evaluation]:
        """Add a server to every failing changeable lane-hour until all pass or none can grow."""
        free = self.free if free is None else free
        for _ in range(MAX_ROUNDS):
            ev = self.ev.evaluate(roster)
            grow = self._growable(ev, roster, free)
            if not grow.any():
                return roster, ev
            roster = roster + grow
            self.say(f"raise: +{int(grow.sum())} lane-hours")
        return roster, self.ev.evaluate(roster)

    def _growable(self, ev: Evaluation, roster: np.ndarray, free: np.ndarray) -> np.ndarray:
        grow = ev.fail & free[:, None] & (roster < self.upper)
        for s in range(self.plan.n_stages):
            lanes = np.array(self.plan.lanes_of(s))
            for h in np.flatnonzero(grow[lanes].any(axis=0)):
                room = self.stage_cap[s] - roster[lanes, h].sum()
                want = lanes[grow[lanes, h]]
                if len(want) > room:
                    # keep the lanes with the most travellers; the others are blocked
                    order = want[np.argsort(-ev.count[want, h], kind="stable")]
                    grow[order[max(room, 0):], h] = False
        return grow.astype(np.int64)

    # ------------------------------------------------------------------ lower
    def lower_while_met(self, roster: np.ndarray, ev: Evaluation) -> tuple[np.ndarray, Evaluation]:
        """Remove servers where the targets still hold (every third hour at a time)."""
        plan = self.plan
        stage_fail = ~ev.stage_met  # [S, 24]; hours failing at their cap stay as they are
        near_fail = stage_fail | np.roll(stage_fail, 1, axis=1) | np.roll(stage_fail, -1, axis=1)
        blocked = near_fail[plan.lane_stage]
        tight = np.zeros_like(blocked)
        hours = np.arange(HOURS)
        changed = True
        while changed:
            changed = False
            for k in range(3):
                cand = (self.free[:, None] & (roster > self.lower) & ~blocked & ~tight
                        & ((hours % 3) == k)[None, :])
                if not cand.any():
                    continue
                roster, ev, kept = self._try_lower(roster, ev, cand)
                tight |= cand & ~kept
                changed |= bool(kept.any())
        return roster, ev

    def _try_lower(self, roster: np.ndarray, ev: Evaluation, cand: np.ndarray
                   ) -> tuple[np.ndarray, Evaluation, np.ndarray]:
        plan = self.plan
        base_fail = ev.fail
        dec = cand.copy()
        while dec.any():
            trial_ev = self.ev.evaluate(roster - dec)
            new = trial_ev.fail & ~base_fail
            if not new.any():
                self.say(f"lower: -{int(dec.sum())} lane-hours")
                return roster - dec, trial_ev, dec
            back = np.zeros_like(dec)
            for lane, h in zip(*np.nonzero(new), strict=True):
                lanes = np.array(plan.lanes_of(int(plan.lane_stage[lane])))
                options = [(l2, h2) for l2 in lanes for h2 in np.flatnonzero(dec[l2])]
                if not options:
                    continue
                dist = [(min(abs(h2 - h), HOURS - abs(h2 - h)), l2 != lane) for l2, h2 in options]
                back[options[dist.index(min(dist))]] = True
            if not back.any():
                break
            dec &= ~back
        return roster, ev, np.zeros_like(dec)

    # ------------------------------------------------------------------ all
    def run(self) -> tuple[np.ndarray, Evaluation]:
        """The required roster and its evaluation (wait targets only)."""
        start = erlang_start(self.ev, self.sched_eval)
        roster = np.where(self.free[:, None], np.clip(np.maximum(start, self.lower), 0, self.upper),
                          self.scheduled)
        _fit_stage(self.plan, roster, self.lower, self.stage_cap, self.free)
        self.say(f"start: {int(roster.sum())} server-hours (Erlang-C)")
        roster, ev = self.raise_until_met(roster)
        roster, ev = self.lower_while_met(roster, ev)
        return roster, ev


def infrastructure_gaps(plan: Plan, ev: Evaluation, roster: np.ndarray, lane_cap: np.ndarray,
                        stage_cap: np.ndarray) -> dict[str, list[int]]:
    """Hours (per stage) that miss a target although the failing lanes are at their cap."""
    out: dict[str, list[int]] = {}
    for s, sname in enumerate(plan.stage_names):
        lanes = np.array(plan.lanes_of(s))
        hours = []
        for h in range(HOURS):
            failing = lanes[ev.fail[lanes, h]]
            if failing.size == 0:
                continue
            full = roster[lanes, h].sum() >= stage_cap[s]
            if full or (roster[failing, h] >= lane_cap[failing]).any():
                hours.append(h)
        out[sname] = hours
    return out


def detection_deficit_by_hour(ev: Evaluator, current: list, ceiling: list) -> np.ndarray:
    """Where detection is lost, by hour of arrival (float[24], prevalence-weighted).

    For each hour, the prevalence-weighted sum of the strategy's P(referred | threat)
    (the same as the ``detection_rate`` KPI uses) times the share of referred
    travellers actually checked at the referred stages, under the ceiling roster
    minus under the current one.
    """
    plan = ev.plan
    prevalence = np.array([c.threat_prevalence for c in ev.scenario.classes.values()])
    ref = np.flatnonzero(plan.stage_referred)

    def credit(traces: list) -> np.ndarray:
        total = np.zeros(HOURS)
        for inp, tr in zip(ev.inputs, traces, strict=True):
            outcome = Outcome(plan, inp, tr)
            counted = outcome.counted
            hour = hour_of_day(inp.arrival)
            p_ref = outcome.p_refer_if_threat()
            entered = np.zeros(inp.n, dtype=bool)
            checked = np.zeros(inp.n, dtype=bool)
            for s in ref:
                entered |= outcome.entered(s)
                checked |= outcome.checked(s)
            entered &= counted
            checked &= entered
            n_in = np.bincount(hour[entered], minlength=HOURS)[:HOURS]
            n_ok = np.bincount(hour[checked], minlength=HOURS)[:HOURS]
            share = np.where(n_in > 0, n_ok / np.maximum(n_in, 1), 1.0)
            w = prevalence[inp.cls] * p_ref * counted
            total += by_hour(hour, w) * share
        return total

    return credit(ceiling) - credit(current)


def staff_for_detection(search: Search, roster: np.ndarray, ev: Evaluation, target: float
                        ) -> tuple[np.ndarray, Evaluation, dict]:
    """Add servers at referred stages until ``detection_rate >= target``, if staffing can.

    Staffing moves detection only through referred travellers who are waved through
    (``flush_above``) and through queue-aware referral rules (fewer waiting, more
    referred); the strategy's referral probabilities are the ceiling. Returns the
    roster, its evaluation and a summary (``limited_by`` says what stops the target).
    """
    plan, evr = search.plan, search.ev
    info = {"target": target, "scheduled": evr.detection_rate(search.sched_eval.traces)}
    ref_lanes = np.array([lane for lane in range(plan.n_lanes)
                          if plan.stage_referred[plan.lane_stage[lane]]], dtype=np.int64)
    current = evr.detection_rate(ev.traces)
    info["before_detection_staffing"] = current
    if current >= target or ref_lanes.size == 0:
        info.update(required=current, ceiling=None, met=current >= target,
                    limited_by=None if current >= target else "strategy")
        return roster, ev, info
    free = np.zeros(plan.n_lanes, dtype=bool)
    free[ref_lanes] = True
    top = roster.copy()
    top[ref_lanes] = search.lane_cap[ref_lanes, None]
    _fit_stage(plan, top, roster, search.stage_cap, free)
    top_ev = evr.evaluate(top)
    ceiling = evr.detection_rate(top_ev.traces)
    info["ceiling"] = ceiling
    if ceiling < target:
        info.update(required=current, met=False, limited_by="strategy")
        return roster, ev, info
    for _ in range(MAX_ROUNDS):
        deficit = detection_deficit_by_hour(evr, ev.traces, top_ev.traces)
        hours = np.flatnonzero(deficit >= 0.5 * deficit.max()) if deficit.max() > 0 else []
        grown = False
        for h in hours:
            s = None
            for lane in sorted(ref_lanes, key=lambda lane: -ev.count[lane, h]):
                s = int(plan.lane_stage[lane])
                lanes = np.array(plan.lanes_of(s))
                if roster[lane, h] < search.lane_cap[lane] and \
                        roster[lanes, h].sum() < search.stage_cap[s]:
                    roster = roster.copy()
                    roster[lane, h] += 1
                    grown = True
                    break
        if not grown:
            break
        ev = evr.evaluate(roster)
        current = evr.detection_rate(ev.traces)
        search.say(f"detection: {current:.3f} (target {target:g})")
        if current >= target:
            break
    met = current >= target
    info.update(required=current, met=met, limited_by=None if met else "infrastructure")
    return roster, ev, info


def officer_hours(roster: np.ndarray, lanes: range) -> float:
    """Server-hours per day of ``lanes`` (one server on duty for one hour = 1)."""
    return float(roster[list(lanes)].sum())
