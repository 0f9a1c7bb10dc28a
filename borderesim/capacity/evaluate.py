"""Simulate a roster on fixed sampled travellers and judge every lane-hour against targets.

The travellers of each replication are sampled once (common random numbers: every
traveller's service time in every lane is drawn up front), so two rosters are
compared on the very same travellers and the search does not flicker with noise.

The day is treated as repeating: after the last arrival the run continues for
``DRAIN`` minutes (rosters follow the clock hour as always) with no new arrivals, so
travellers still queueing at the scenario's horizon are followed until served. Under
FIFO lanes, travellers arriving later never delay earlier ones, so this gives their
waits exactly. A lane-hour fails when the travellers *entering* that lane in that
hour of day (pooled over replications and days) miss a wait target, or when the lane
has no server on duty while travellers wait in it ("stranded").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..engines import get_engine
from ..hourly_metrics import HOURS, by_hour, hour_of_day, quantile, stage_waits, window_segments
from ..metrics import replication_kpis
from ..outcomes import occupancy
from ..plan import Plan
from ..sampling import Inputs, sample
from ..scenario import Scenario
from ..trace import Trace
from .targets import Target

DRAIN = 24 * 60.0
"""Minutes the run goes on after the horizon, without arrivals, to finish every wait."""
EPS = 1e-9


@dataclass
class Evaluation:
    """A roster's performance on the sampled travellers (all arrays by hour of day).

    ``count[l, h]``: counted travellers who queued in lane ``l`` entering in hour ``h``;
    ``fail[l, h]``: that lane-hour misses a target or strands travellers;
    ``stage_wait_p95[s, h]``, ``stage_met[s, h]``: the stage's pooled 95th percentile
    wait (minutes) and whether all its lanes meet their targets in hour ``h``.
    """

    roster: np.ndarray
    count: np.ndarray
    fail: np.ndarray
    stranded: np.ndarray
    stage_wait_p95: np.ndarray
    stage_count: np.ndarray
    stage_met: np.ndarray
    traces: list[Trace]


class Evaluator:
    """Holds the sampled replications of a scenario and judges rosters on them."""

    def __init__(self, scenario: Scenario, plan: Plan, engine: str, seed: int,
                 replications: int, targets: list[Target]):
        self.scenario = scenario
        self.base = plan
        # its own drain, without arrivals: sampled and run with no scenario drain
        plan = replace(plan, drain=0.0)
        self.plan = replace(plan, horizon=plan.horizon + DRAIN)
        self.engine = get_engine(engine)
        self.inputs: list[Inputs] = [sample(scenario, plan, seed, r) for r in range(replications)]
        self.targets = [t for t in targets if t.is_wait]
        # rules[l]: (percentile or None, limit in minutes) of every wait target on lane l
        self.rules: list[list[tuple[float | None, float]]] = []
        for lane in range(plan.n_lanes):
            sname = plan.stage_names[plan.lane_stage[lane]]
            self.rules.append([(t.percentile, t.value) for t in self.targets
                               if t.applies_to(sname, plan.lane_names[lane])])
        self.evaluations = 0
        _, seg_hours, seg_len = window_segments(plan.warmup, plan.horizon)
        # clock hours observed per hour of day (at least one run's worth, for the drain)
        self.clock_hours = np.maximum(by_hour(seg_hours, seg_len) / 60.0, 1.0) * replications

    def simulate(self, roster: np.ndarray) -> list[Trace]:
        """Replay every replication under ``roster`` (int[L, 24])."""
        plan = replace(self.plan, roster=np.ascontiguousarray(roster, dtype=np.int64))
        self.evaluations += 1
        return [self.engine(plan, inputs) for inputs in self.inputs]

    def evaluate(self, roster: np.ndarray) -> Evaluation:
        """Simulate ``roster`` and judge every lane-hour against the wait targets."""
        plan = replace(self.plan, roster=np.ascontiguousarray(roster, dtype=np.int64))
        traces = self.simulate(roster)
        L, S = plan.n_lanes, plan.n_stages
        count = np.zeros((L, HOURS), dtype=np.int64)
        fail = np.zeros((L, HOURS), dtype=bool)
        stranded = self.stranded(plan, traces)
        p95 = np.full((S, HOURS), math.nan)
        stage_count = np.zeros((S, HOURS), dtype=np.int64)
        for s in range(S):
            waits = [stage_waits(plan, inp, tr, s)
                     for inp, tr in zip(self.inputs, traces, strict=True)]
            hour = np.concatenate([w.hour for w in waits])
            lane = np.concatenate([w.lane for w in waits])
            wait = np.concatenate([w.wait for w in waits])
            stage_count[s] = np.bincount(hour, minlength=HOURS)[:HOURS]
            order = np.argsort(hour, kind="stable")
            bounds = np.searchsorted(hour[order], np.arange(HOURS + 1))
            for h in range(HOURS):
                p95[s, h] = quantile(wait[order[bounds[h]:bounds[h + 1]]], 95.0)
            for lane_id in plan.lanes_of(s):
                mine = lane == lane_id
                lh, lw = hour[mine], wait[mine]
                n = np.bincount(lh, minlength=HOURS)[:HOURS]
                count[lane_id] = n
                for pct, limit in self.rules[lane_id]:
                    if pct is None:  # mean wait
                        total = np.bincount(lh, weights=lw, minlength=HOURS)[:HOURS]
                        bad = total > (limit + EPS) * n
                    else:  # share waiting longer than the limit
                        over = np.bincount(lh, weights=(lw > limit + EPS).astype(float),
                                           minlength=HOURS)[:HOURS]
                        bad = over > (1 - pct / 100) * n + EPS
                    fail[lane_id] |= bad & (n > 0)
        fail |= stranded
        met = np.ones((S, HOURS), dtype=bool)
        for s in range(S):
            for lane_id in plan.lanes_of(s):
                met[s] &= ~fail[lane_id]
        return Evaluation(np.array(roster), count, fail, stranded, p95, stage_count, met, traces)

    def stranded(self, plan: Plan, traces: list[Trace]) -> np.ndarray:
        """bool[L, 24]: a lane with no server on duty in that hour while travellers wait in it."""
        edges = np.arange(0.0, plan.horizon + 60.0, 60.0)
        hours = hour_of_day(edges[:-1])
        out = np.zeros((plan.n_lanes, HOURS), dtype=bool)
        closed = plan.roster[:, hours] == 0  # [L, bins]
        stages = np.unique(plan.lane_stage[closed.any(axis=1)])
        waiting = {s: sum(occupancy(plan, tr, s, edges).waiting for tr in traces) for s in stages}
        for lane in np.flatnonzero(closed.any(axis=1)):
            s = plan.lane_stage[lane]
            bad = closed[lane] & (waiting[s][lane - plan.lanes_of(s)[0]] > EPS)
            out[lane, np.unique(hours[bad])] = True
        return out

    def detection_rate(self, traces: list[Trace]) -> float:
        """Mean over replications of the low-variance ``detection_rate`` KPI (a share)."""
        values = [replication_kpis(self.scenario, self.plan, inp, tr)["detection_rate"]
                  for inp, tr in zip(self.inputs, traces, strict=True)]
        values = [v for v in values if not math.isnan(v)]
        return float(np.mean(values)) if values else math.nan
