"""The staffing search: fewest servers per lane and hour of day that meet every target
with a stated confidence.

Anchored on the Iterative Staffing Algorithm (Feldman, Mandelbaum, Massey & Whitt,
2008): start each hour from a stationary queueing estimate, then correct it by
simulating the whole time-varying day, so the queue carried over from one hour to the
next is counted. All simulations reuse the same sampled travellers (common random
numbers), so the answer is a deterministic function of the seed.

Each lane-hour is judged with confidence (:mod:`evaluate`): *met* when the upper bound
of every target's statistic is within its limit, *missed* when a lower bound is beyond
it, otherwise *unresolved*.

1. **Start.** Simulate today's roster; from the travellers entering each lane in each
   hour and the lane's mean service time, take Erlang-C's fewest servers for the
   target (``theory.min_servers_for_wait_quantile`` / ``min_servers_for_mean_wait``).
2. **Raise.** Add one server to every lane-hour not yet *met* (within the lane cap and
   the stage's booths); repeat until all are met. A lane-hour that cannot grow is an
   *infrastructure gap*.
3. **Lower.** Try one server fewer in every third hour of one lane of each stage at
   once (hours ``k, k+3, ...``), so a lane-hour that gets worse can be blamed on the
   nearest lowered hour of its stage (carry-over reaches about one hour). A removal is
   *kept* when every lane-hour of its stage that was met is still met; it is *needed*
   when something it is blamed for is confidently missed; otherwise it is
   *unresolved*. Repeat (raise, lower) until nothing changes.
4. **More replications.** If any removal is unresolved, double the replications (up
   to ``max_replications``) and repeat 2-3 for the unresolved ones; decisions already
   made stand, and a stage with nothing unresolved (nor any stage before it on the
   route) is final. Removals still unresolved at the cap are reported with both counts.

Each stage is judged on its own targets only: a removal at one stage is never blamed
for another stage's waits (downstream stages then adapt in the next raise), so a stage
that cannot meet its target does not inflate another's requirement.

Lanes keep their role: a lane open in today's roster stays open (>= 1 server) in
hours where its stage has travellers. **No lane is closed on travellers who are
expected but happened not to be sampled**: the floor is set from the scenario's
expected arrivals (hourly rate x class share, for the classes the lane serves,
:func:`expected_lane_demand`), not only from the travellers the replications drew, so
a lane with any expected demand in an hour, or in the hour before (its queue left at
the end of that hour must be served; a server coming on hours later strands it), keeps
>= 1 server (the lanes open today, or the class's first lane when none is); an hour
with no expected demand in it or the hour before may still get 0. An empty sample
cannot show a target met for travellers who come, and a 0-server hour fails anyone who
does, so the conservative floor is the honest choice. A stage target applies to every lane of the
stage (each lane's travellers must meet it, as service standards are usually
published per lane type); lanes and stages without a target keep today's roster, and
so do hours of day the scenario's counted window never covers (a 6-hour scenario
says nothing about the other 18 hours).

**What "fewest" means.** The result is a local minimum: every server-hour above the
lane's floor was tried one fewer, and kept only because removing it made its stage
confidently miss a target (or it is listed as unresolved). It is not a proof that no
cheaper roster exists (moving a server between hours is not tried). The final roster is
re-simulated on fresh travellers (:mod:`validate`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...model.scenario import Scenario
from ...run.plan import Plan
from ..by_hour import HOURS, by_hour, hour_of_day, window_segments
from ..outcomes import Outcome
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
    """Stationary Erlang-C count per lane-hour for the demand seen under today's roster
    (0 where the lane has no target or no travellers)."""
    base = ev.base
    _, seg_hours, seg_len = window_segments(base.warmup, base.horizon)
    days = by_hour(seg_hours, seg_len) / 60.0
    reps = sched.replications
    est = np.zeros((base.n_lanes, HOURS), dtype=np.int64)
    for lane in range(base.n_lanes):
        if not ev.lane_rules[lane]:
            continue
        # drawn only for travellers the lane could serve (NaN for the others)
        mean_service = float(np.mean([np.nanmean(inp.service[lane])
                                      for inp in ev.inputs[:reps]]))
        for h in range(HOURS):
            n = sched.count[lane, h]
            if n == 0:
                continue
            per_hour = n / (reps * days[h]) if days[h] > 0 else n / reps
            lam = per_hour / 60.0  # per minute
            need = 0
            for pct, limit in ev.lane_rules[lane]:
                if pct is None:
                    c = min_servers_for_mean_wait(lam, mean_service, limit, UNCAPPED)
                else:
                    c = min_servers_for_wait_quantile(lam, mean_service, limit, pct / 100,
                                                      UNCAPPED)
                need = max(need, c)
            est[lane, h] = need
    return est


def expected_lane_demand(scenario: Scenario, plan: Plan) -> np.ndarray:
    """float[C, 24]: expected arrivals per hour of each class (hourly rate x share).

    Surges are left out (their travellers are sampled and seen by the search).
    """
    rates = np.array(scenario.arrivals.hourly(), dtype=float)
    shares = np.array([c.share for c in scenario.classes.values()], dtype=float)
    return shares[:, None] * rates[None, :]


def expected_floor(scenario: Scenario, plan: Plan) -> np.ndarray:
    """bool[L, 24]: lane-hours that must keep >= 1 server because travellers are expected.

    A class is expected at a stage everyone visits in hour ``h`` when its expected
    arrivals in ``h`` or ``h - 1`` (the queue carried into ``h``) are positive. It then
    needs a lane: every one of its lanes open in today's roster keeps a server, or its
    first lane when none is open today. Referred-only stages keep the floor of the
    travellers observed there (their demand depends on the targeting strategy).
    """
    by_class = expected_lane_demand(scenario, plan)
    expected = (by_class > 0) | (np.roll(by_class, 1, axis=1) > 0)  # [C, 24]
    out = np.zeros(plan.roster.shape, dtype=bool)
    for s in range(plan.n_stages):
        if plan.stage_referred[s]:
            continue
        lanes = np.array(plan.lanes_of(s))
        for c in range(by_class.shape[0]):
            mine = lanes[plan.eligible[lanes, c]]
            if mine.size == 0:
                continue
            open_today = plan.roster[mine] > 0  # [n, 24]
            need = open_today.copy()
            need[0] |= ~open_today.any(axis=0)
            out[mine] |= need & expected[c][None, :]
    return out


def _cyclic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(a - b) % HOURS
    return np.minimum(d, HOURS - d)


class Search:
    """State of one staffing search (see the module docstring for the method)."""

    def __init__(self, ev: Evaluator, scheduled: np.ndarray, lane_cap: np.ndarray,
                 stage_cap: np.ndarray, progress: Progress | None = None):
        self.ev = ev
        self.plan = ev.base
        self.scheduled = np.array(scheduled, dtype=np.int64)
        self.lane_cap = lane_cap
        self.stage_cap = stage_cap
        self.free = np.array([bool(r) for r in ev.lane_rules])  # lanes the search may change
        self.say = progress or (lambda _msg: None)
        self.sched_eval = ev.evaluate(self.scheduled)
        demand = self.sched_eval.stage_count[self.plan.lane_stage] > 0  # [L, 24]
        floor = ((self.scheduled > 0) & demand) | expected_floor(ev.scenario, self.plan)
        self.lower = np.where(self.free[:, None], floor.astype(np.int64), self.scheduled)
        self.upper = np.where(self.free[:, None], lane_cap[:, None], self.scheduled)
        self.lower = np.minimum(self.lower, self.upper)
        # hours of day the scenario's window never covers keep today's roster
        _, seg_hours, seg_len = window_segments(self.plan.warmup, self.plan.horizon)
        outside = by_hour(seg_hours, seg_len) == 0
        self.lower[:, outside] = self.scheduled[:, outside]
        self.upper[:, outside] = self.scheduled[:, outside]
        self.stationary = erlang_start(ev, self.sched_eval)
        # removal decisions, keyed by the count they were made at (0: none)
        self.needed_at = np.zeros_like(self.scheduled)
        self.unsure_at = np.zeros_like(self.scheduled)
        self.levels: list[int] = []
        self.changeable = self.free.copy()  # lanes of stages not yet final

    # ------------------------------------------------------------------ raise
    def raise_until_met(self, roster: np.ndarray, free: np.ndarray | None = None
                        ) -> tuple[np.ndarray, Evaluation]:
        """Add a server to every changeable lane-hour not yet met, until all are met or
        none can grow."""
        free = self.free if free is None else free
        for _ in range(MAX_ROUNDS):
            ev = self.ev.evaluate(roster)
            grow = self._growable(ev, roster, free)
            if not grow.any():
                return roster, ev
            roster = roster + grow
            self.say(f"raise: +{int(grow.sum())} lane-hours ({self._where(grow)})")
        return roster, self.ev.evaluate(roster)

    def _growable(self, ev: Evaluation, roster: np.ndarray, free: np.ndarray) -> np.ndarray:
        grow = ~ev.met & free[:, None] & (roster < self.upper)
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

    def _where(self, mask: np.ndarray) -> str:
        """``lane hh, hh; lane hh`` for the lane-hours of ``mask`` (progress messages)."""
        return "; ".join(f"{self.plan.lane_names[lane]} "
                         + ", ".join(f"{h:02d}" for h in np.flatnonzero(mask[lane]))
                         for lane in np.flatnonzero(mask.any(axis=1)))

    # ------------------------------------------------------------------ lower
    def _blame(self, elems: np.ndarray, bad: np.ndarray) -> np.ndarray:
        """bool[L, 24]: the elements of ``elems`` nearest (in hours of day, within the
        same stage) to some lane-hour of ``bad``."""
        out = np.zeros_like(elems)
        for s in range(self.plan.n_stages):
            lanes = np.array(self.plan.lanes_of(s))
            el, eh = np.nonzero(elems[lanes])
            if el.size == 0:
                continue
            for _, h in zip(*np.nonzero(bad[lanes]), strict=True):
                d = _cyclic(eh, h)
                near = d == d.min()
                out[lanes[el[near]], eh[near]] = True
        return out

    def _try_lower(self, roster: np.ndarray, ev: Evaluation, dec: np.ndarray
                   ) -> tuple[np.ndarray, Evaluation, bool]:
        """Try removing one server at every lane-hour of ``dec``; keep what may go."""
        trial = self.ev.evaluate(roster - dec)
        was_met = ev.met
        needed = dec & self._blame(dec, trial.miss & was_met)
        unsure = dec & self._blame(dec, ~trial.met & ~trial.miss & was_met) & ~needed
        self.needed_at[needed] = roster[needed]
        self.unsure_at[unsure] = roster[unsure]
        keep = dec & ~needed & ~unsure
        if not keep.any():
            return roster, ev, False
        new_ev = trial
        if not np.array_equal(keep, dec):  # fewer removals than tried: check them together
            while True:
                new_ev = self.ev.evaluate(roster - keep)
                bad = ~new_ev.met & was_met & self._stage_mask(keep)
                if not bad.any():
                    break
                blamed = keep & self._blame(keep, bad)
                self.unsure_at[blamed] = roster[blamed]
                keep &= ~blamed
                if not keep.any():
                    return roster, ev, False
        self.say(f"lower: -{int(keep.sum())} lane-hours ({self._where(keep)})")
        return roster - keep, new_ev, True

    def _stage_mask(self, elems: np.ndarray) -> np.ndarray:
        """bool[L, 24]: every lane-hour of the stages that have an element in ``elems``."""
        stages = np.unique(self.plan.lane_stage[elems.any(axis=1)])
        return np.isin(self.plan.lane_stage, stages)[:, None] & np.ones((1, HOURS), dtype=bool)

    def lower_while_met(self, roster: np.ndarray, ev: Evaluation
                        ) -> tuple[np.ndarray, Evaluation, bool]:
        """Remove servers while every stage still meets its targets (module docstring, 3)."""
        plan = self.plan
        hours = np.arange(HOURS)
        stage_lanes = [plan.lanes_of(s) for s in range(plan.n_stages)]
        width = max(len(lanes) for lanes in stage_lanes)
        changed_any = False
        changed = True
        while changed:
            changed = False
            for j in range(width):
                for k in range(3):
                    open_ = (self.changeable[:, None] & (roster > self.lower) & ev.met
                             & (self.needed_at != roster) & (self.unsure_at != roster)
                             & ((hours % 3) == k)[None, :])
                    dec = np.zeros_like(open_)
                    for lanes in stage_lanes:
                        if j < len(lanes):
                            dec[lanes[j]] = open_[lanes[j]]
                    if not dec.any():
                        continue
                    roster, ev, kept = self._try_lower(roster, ev, dec.astype(bool))
                    changed |= kept
            changed_any |= changed
        return roster, ev, changed_any

    # ------------------------------------------------------------------ all
    def start(self) -> np.ndarray:
        """The starting roster: Erlang-C per lane-hour, within the floors and caps."""
        roster = np.where(self.free[:, None],
                          np.clip(np.maximum(self.stationary, self.lower), 0, self.upper),
                          self.scheduled)
        _fit_stage(self.plan, roster, self.lower, self.stage_cap, self.free)
        return roster

    def settle(self, roster: np.ndarray) -> tuple[np.ndarray, Evaluation]:
        """Raise and lower at the current replications until nothing changes."""
        for _ in range(MAX_ROUNDS):
            roster, ev = self.raise_until_met(roster, self.changeable)
            roster, ev, changed = self.lower_while_met(roster, ev)
            if not changed:
                break
        return roster, ev

    def unresolved(self, roster: np.ndarray) -> np.ndarray:
        """bool[L, 24]: lane-hours whose last server could not be shown needed or spare."""
        return self.free[:, None] & (self.unsure_at == roster) & (roster > self.lower)

    def run(self, max_replications: int | None = None) -> tuple[np.ndarray, Evaluation]:
        """The required roster and its evaluation (wait targets only), adding replications
        where a removal is unresolved, up to ``max_replications``."""
        top = max(self.ev.replications, max_replications or 0)
        roster = self.start()
        self.say(f"start: {int(roster.sum())} server-hours (Erlang-C)")
        while True:
            self.levels.append(self.ev.replications)
            self.unsure_at[self.changeable] = 0
            roster, ev = self.settle(roster)
            open_ = self.unresolved(roster)
            if not open_.any() or self.ev.replications >= top:
                return roster, ev
            # a stage settled with all stages before it is final: more replications for
            # another stage's sake must not change it (stages on their own targets)
            settled = True
            for s in range(self.plan.n_stages):
                lanes = self.plan.lanes_of(s)
                settled &= not open_[lanes].any()
                if settled:
                    self.changeable[lanes] = False
            more = min(2 * self.ev.replications, top)
            self.say(f"{int(self.unresolved(roster).sum())} lane-hours unresolved: "
                     f"{more} replications")
            self.ev.ensure(more)
def infrastructure_gaps(plan: Plan, ev: Evaluation, roster: np.ndarray, lane_cap: np.ndarray,
                        stage_cap: np.ndarray) -> dict[str, list[int]]:
    """Hours (per stage) not shown to meet a target (with the search's confidence) although
    the failing lanes are at their cap."""
    out: dict[str, list[int]] = {}
    for s, sname in enumerate(plan.stage_names):
        lanes = np.array(plan.lanes_of(s))
        hours = []
        for h in range(HOURS):
            failing = lanes[~ev.met[lanes, h]]
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
    sched = evr.evaluate(search.scheduled, keep_traces=True)
    info = {"target": target, "scheduled": evr.detection_rate(sched.traces)}
    ev = evr.evaluate(roster, keep_traces=True)
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
    top_ev = evr.evaluate(top, keep_traces=True)
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
        ev = evr.evaluate(roster, keep_traces=True)
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
