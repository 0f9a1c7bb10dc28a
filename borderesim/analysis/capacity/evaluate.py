"""Simulate a roster on fixed sampled travellers and judge every lane-hour, with confidence.

The travellers of each replication are sampled once (common random numbers: every
traveller's service time in every lane is drawn up front), so two rosters are
compared on the very same travellers and the search does not flicker with noise.
Replications can be added later (:meth:`Evaluator.ensure`); replication ``r`` of a
seed is always the same travellers, so more replications only add information.

Every counted traveller's wait is measured: as in every run (``borderesim.run.drain``),
the run goes on past the counted window, arrivals and rosters continuing as scheduled,
until every counted traveller has left (up to the scenario's drain cap). Each
replication's drain arrivals are drawn only a few clock hours past the window, and
drawn further (the same travellers first: draws are prefix-stable) only when a roster
leaves a counted traveller inside at that point.

A lane-hour is judged on the travellers *entering* that lane in that hour of day
(pooled over replications and days), per wait target, with one-sided bounds at the
search's confidence (:func:`bounds.ratio_bounds`):

* **met** when every target's upper bound is within its limit (or nobody entered);
* **missed** when some target's lower bound is beyond its limit, or when the lane has
  no server on duty while travellers wait in it ("stranded");
* otherwise **unresolved**: the sample cannot tell yet.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from ...model.scenario import Scenario
from ...run.drain import counted_inside, first_until, next_until
from ...run.engines import get_engine
from ...run.plan import Plan
from ...run.sampling import Inputs, sample
from ...run.trace import Trace
from ..by_hour import HOURS, by_hour, quantile, stage_waits, window_segments
from ..metrics import replication_kpis
from .bounds import ratio_bounds
from .kernel import EPS, lane_hour_sums, stranded_hours
from .targets import Target

CACHED_ROSTERS = 8
"""Rosters whose per-replication sums are kept, so adding replications re-runs only new ones."""


@dataclass(frozen=True)
class Rule:
    """One distinct wait limit: ``percentile`` NN (0-100) or ``None`` for the mean, and
    ``limit`` in minutes. ``threshold`` is what the ratio is compared with: the share
    ``1 - NN/100`` allowed to wait longer than ``limit``, or ``limit`` itself."""

    percentile: float | None
    limit: float

    @property
    def threshold(self) -> float:
        return self.limit if self.percentile is None else 1 - self.percentile / 100


@dataclass
class RepStats:
    """Sums of one replication under one roster (arrays by lane or stage, then hour)."""

    n: np.ndarray  # float[L, 24]: travellers queueing in the lane, by hour entering
    x: np.ndarray  # float[K, L, 24]: per rule, the numerator (count over limit / wait sum)
    stranded: np.ndarray  # bool[L, 24]
    stage_n: np.ndarray  # float[S, 24]


@dataclass
class Evaluation:
    """A roster's performance on ``replications`` sampled days (arrays by hour of day).

    ``count[l, h]``: travellers who queued in lane ``l`` entering in hour ``h`` (summed
    over replications); ``est/low/high[k, l, h]``: rule ``k``'s ratio and its one-sided
    bounds; ``met``/``miss``: judged with confidence (module docstring); ``fail`` is
    ``~point_met`` (the estimates alone miss a target: the plain reading on a check
    run); ``point_met``: the estimates alone meet every target; ``stage_met[s, h]``:
    every lane of the stage met (with confidence), ``stage_point_met`` on the estimates.
    ``traces`` and ``stage_wait_p95`` (float[S, 24], the pooled 95th percentile wait by
    hour entering, minutes) only when traces are kept, else ``None`` and NaN.
    """

    roster: np.ndarray
    replications: int
    count: np.ndarray
    est: np.ndarray
    low: np.ndarray
    high: np.ndarray
    met: np.ndarray
    miss: np.ndarray
    point_met: np.ndarray
    stranded: np.ndarray
    stage_count: np.ndarray
    stage_met: np.ndarray
    stage_point_met: np.ndarray
    stage_wait_p95: np.ndarray
    traces: list[Trace] | None = None

    @property
    def fail(self) -> np.ndarray:
        return ~self.point_met


class Evaluator:
    """Holds the sampled replications of a scenario and judges rosters on them."""

    def __init__(self, scenario: Scenario, plan: Plan, engine: str, seed: int,
                 replications: int, targets: list[Target], confidence: float = 0.95):
        self.scenario = scenario
        self.base = plan
        self.plan = plan
        self.engine = get_engine(engine)
        self.seed = seed
        self.confidence = confidence
        self.inputs: list[Inputs] = []
        self.until: list[float] = []  # how far each replication's drain arrivals are drawn
        self.targets = [t for t in targets if t.is_wait]
        self.rules: list[Rule] = []
        # rules[l]: (percentile or None, limit in minutes) of every wait target on lane l
        self.lane_rules: list[list[tuple[float | None, float]]] = []
        for lane in range(plan.n_lanes):
            sname = plan.stage_names[plan.lane_stage[lane]]
            mine = sorted({(t.percentile, t.value) for t in self.targets
                           if t.applies_to(sname, plan.lane_names[lane])},
                          key=lambda r: (r[0] is None, r[0] or 0.0, r[1]))
            self.lane_rules.append(mine)
            for pct, limit in mine:
                if Rule(pct, limit) not in self.rules:
                    self.rules.append(Rule(pct, limit))
        self.applies = np.array([[(r.percentile, r.limit) in self.lane_rules[lane]
                                  for lane in range(plan.n_lanes)] for r in self.rules],
                                dtype=bool).reshape(len(self.rules), plan.n_lanes)
        # what the compiled sums read (rep_stats): per rule, whether it applies to a lane
        # of each stage, and whether it is on the mean or a count over its limit
        self._rule_stage = np.array([[self.applies[k, plan.lanes_of(s)].any()
                                      for s in range(plan.n_stages)]
                                     for k in range(len(self.rules))],
                                    dtype=bool).reshape(len(self.rules), plan.n_stages)
        self._rule_mean = np.array([r.percentile is None for r in self.rules], dtype=bool)
        self._rule_limit = np.array([r.limit for r in self.rules], dtype=np.float64)
        self.evaluations = 0
        self.replays = 0  # replications simulated, over all evaluations
        self._cache: OrderedDict[bytes, list[RepStats]] = OrderedDict()
        _, seg_hours, seg_len = window_segments(plan.warmup, plan.horizon)
        self._days = np.maximum(by_hour(seg_hours, seg_len) / 60.0, 1.0)
        self.ensure(replications)

    # ------------------------------------------------------------ replications
    @property
    def replications(self) -> int:
        return len(self.inputs)

    @property
    def clock_hours(self) -> np.ndarray:
        """Clock hours observed per hour of day (replications x days; at least one run's)."""
        return self._days * self.replications

    def ensure(self, replications: int) -> None:
        """Sample replications up to ``replications`` (never fewer than now)."""
        first = first_until(self.plan)
        for r in range(len(self.inputs), int(replications)):
            self.inputs.append(sample(self.scenario, self.base, self.seed, r, until=first))
            self.until.append(first)

    # ------------------------------------------------------------ simulation
    def _plan(self, roster: np.ndarray, r: int | None = None) -> Plan:
        """The plan under ``roster``, with replication ``r``'s drain (else the full cap)."""
        plan = replace(self.plan, roster=np.ascontiguousarray(roster, dtype=np.int64))
        return plan if r is None else replace(plan, drain=self.until[r] - plan.horizon)

    def replay(self, roster: np.ndarray, r: int) -> tuple[Plan, Trace]:
        """Run replication ``r`` under ``roster``, drawing more of its drain if a counted
        traveller is still inside where the drawn arrivals end (``drain.replay``'s rule)."""
        while True:
            plan = self._plan(roster, r)
            inputs = self.inputs[r]
            trace = self.engine(plan, inputs)
            if self.until[r] >= self.plan.run_end or not counted_inside(plan, inputs, trace):
                return plan, trace
            self.until[r] = next_until(self.plan, self.until[r], inputs, trace)
            self.inputs[r] = sample(self.scenario, self.base, self.seed, r, until=self.until[r])

    def simulate(self, roster: np.ndarray) -> list[Trace]:
        """Replay every replication under ``roster`` (int[L, 24])."""
        self.evaluations += 1
        self.replays += len(self.inputs)
        return [self.replay(roster, r)[1] for r in range(len(self.inputs))]

    def rep_stats(self, plan: Plan, inputs: Inputs, trace: Trace) -> RepStats:
        """The sums one replication contributes to every lane-hour's judgement (compiled:
        ``capacity.kernel``; the plain statement is ``testing.reference_capacity``)."""
        n, x, stage_n = lane_hour_sums(
            trace.lane, trace.entry, trace.start, inputs.arrival, float(plan.warmup),
            float(plan.horizon), float(plan.run_end), self._rule_stage,
            self._rule_mean, self._rule_limit, plan.n_lanes)
        return RepStats(n, x, self.stranded(plan, trace), stage_n)

    def _stats(self, roster: np.ndarray, keep_traces: bool
               ) -> tuple[list[RepStats], list[Trace] | None]:
        key = np.ascontiguousarray(roster, dtype=np.int64).tobytes()
        have = [] if keep_traces else self._cache.get(key, [])
        todo = range(len(have), len(self.inputs))
        runs = [self.replay(roster, r) for r in todo]
        self.evaluations += 1
        self.replays += len(todo)
        # a longer drain drawn for one roster changes nothing for rosters whose counted
        # travellers had all left before the shorter one ended, so cached sums stay valid
        stats = have + [self.rep_stats(plan, self.inputs[r], tr)
                        for r, (plan, tr) in zip(todo, runs, strict=True)]
        traces = [tr for _, tr in runs]
        self._cache[key] = stats
        self._cache.move_to_end(key)
        while len(self._cache) > CACHED_ROSTERS:
            self._cache.popitem(last=False)
        return stats, (traces if keep_traces else None)

    def evaluate(self, roster: np.ndarray, keep_traces: bool = False) -> Evaluation:
        """Simulate ``roster`` on every replication and judge every lane-hour."""
        stats, traces = self._stats(roster, keep_traces)
        reps = len(stats)
        n = np.stack([s.n for s in stats])
        x = np.stack([s.x for s in stats])
        stranded = np.logical_or.reduce([s.stranded for s in stats])
        count = n.sum(axis=0)
        K = len(self.rules)
        est = np.full((K,) + count.shape, math.nan)
        low, high = est.copy(), est.copy()
        met = np.ones(count.shape, dtype=bool)
        miss = stranded.copy()
        point = ~stranded
        for k, rule in enumerate(self.rules):
            e, lo, hi = ratio_bounds(x[:, k], n, self.confidence)
            est[k], low[k], high[k] = e, lo, hi
            on = self.applies[k][:, None] & (count > 0)
            met &= ~on | (hi <= rule.threshold + EPS)
            miss |= on & (lo > rule.threshold + EPS)
            point &= ~on | (e <= rule.threshold + EPS)
        met &= ~stranded
        plan = self.base
        stage_met = np.ones((plan.n_stages, HOURS), dtype=bool)
        stage_point = stage_met.copy()
        for s in range(plan.n_stages):
            stage_met[s] = met[plan.lanes_of(s)].all(axis=0)
            stage_point[s] = point[plan.lanes_of(s)].all(axis=0)
        p95 = np.full((plan.n_stages, HOURS), math.nan) if traces is None \
            else self._stage_p95(roster, traces)
        return Evaluation(np.array(roster), reps, count.astype(np.int64), est, low, high, met,
                          miss, point, stranded, sum(s.stage_n for s in stats).astype(np.int64),
                          stage_met, stage_point, p95, traces)

    def stage_p95(self, roster: np.ndarray) -> np.ndarray:
        """float[S, 24]: each stage's pooled 95th percentile wait (minutes) by hour entering."""
        return self._stage_p95(roster, self.simulate(roster))

    def _stage_p95(self, roster: np.ndarray, traces: list[Trace]) -> np.ndarray:
        out = np.full((self.plan.n_stages, HOURS), math.nan)
        for s in range(self.plan.n_stages):
            waits = [stage_waits(self._plan(roster, r), self.inputs[r], tr, s)
                     for r, tr in enumerate(traces)]
            hour = np.concatenate([w.hour for w in waits])
            wait = np.concatenate([w.wait for w in waits])
            for h in range(HOURS):
                out[s, h] = quantile(wait[hour == h], 95.0)
        return out

    def stranded(self, plan: Plan, trace: Trace) -> np.ndarray:
        """bool[L, 24]: a lane with no server on duty in that hour while travellers wait in
        it (``capacity.kernel.stranded_hours``)."""
        return stranded_hours(trace.lane, trace.entry, trace.start,
                              np.ascontiguousarray(plan.roster, dtype=np.int64),
                              float(plan.run_end))

    def detection_rate(self, traces: list[Trace]) -> float:
        """Mean over replications of the low-variance ``detection_rate`` KPI (a share)."""
        values = [replication_kpis(self.scenario, self._plan(self.plan.roster, r),
                                   self.inputs[r], tr)["detection_rate"]
                  for r, tr in enumerate(traces)]
        values = [v for v in values if not math.isnan(v)]
        return float(np.mean(values)) if values else math.nan
