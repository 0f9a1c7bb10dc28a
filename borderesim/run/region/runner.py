"""Run a region: route the travellers, replay each crossing through an engine, summarise.

**Posted waits.** At every refresh ``T_k = k * refresh`` (up to the run end: travellers
keep departing during the drain, as arrivals go on at a single crossing) each crossing
posts a wait for its first stage everybody visits (:func:`posted_series`): by default the
travellers waiting then times their lane's mean service time over the servers on duty
(``posted: queue``, a forecast), or the mean wait of those who started service in the
last period (``posted: served``, a report of the past; the previous value when nobody
started, 0 at first). An informed traveller departing in ``[T_k, T_{k+1})`` takes the
reachable crossing with the least travel time + posted wait (on a tie, the crossing
they would choose uninformed).

**Exactness.** The engines are causal: nothing before a time ``T`` depends on arrivals
at or after ``T``. Every traveller arriving before ``T_k`` departed before it and so is
already routed (a surge's travellers, who chose their crossing, are routed from the
start); replaying each crossing's routed travellers with the run ending at ``T_k``
(:func:`up_to`) therefore gives exactly the state the full run will have before
``T_k``. The posted waits, and so every route, are the same whichever exact engine replays them, and
the engines agree traveller by traveller. A final full run per crossing gives the traces
for the KPIs.

**Few replays** (the same posted waits and routes, bit for bit, as a replay at every
refresh: ``tests/test_region_speed.py`` keeps that loop as its reference).

- Uninformed travellers never read a posted wait: they are routed at once, and a
  crossing is replayed only at a refresh where an informed traveller departs.
- Not even there when bounds settle the choice (:func:`settled_route`): under
  ``posted: queue`` a posted wait lies between 0 and the travellers who may be waiting
  (not started at the last replay's end, or arrived since) times the stage's longest
  lane mean over the servers then (:meth:`_Posting.bound`); when every informed
  traveller of the period chooses the same throughout, no replay is needed.
- One replay serves every refresh up to its end (:func:`posted_series`): without a
  pre-empting outage a start is never undone, so a start before ``T_m`` (``served``) and
  who waits at ``T_m`` (entered, not started before it: ``queue``) read the same from any
  run at least as long. A crossing with a pre-empting outage is replayed at every
  refresh, as before.
- Look-ahead: travellers still to be routed depart at ``T_k`` or later and so reach a
  crossing at least its nearest origin's travel time ``d`` later; one replay to the
  last refresh at or before ``T_k + d`` gives every posted wait up to it.
- Once past the horizon a replay shows no counted traveller inside, the crossing's run
  is over (the drain handles no event after that): every later replay is that one, so
  later waits are read from it without replaying.
- Posted waits no replay computed (refreshes no informed traveller reads) are read from
  the final full run, for the record (``RegionReplication.posted``).
- Each replay starts at the last moment the crossing was empty (:func:`empty_since`)
  and holds the routed travellers arriving from then to its end (taken from the
  crossing's travellers sorted once by arrival), so it costs the travellers of the
  current busy period.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ... import __version__
from ...analysis.metrics import replication_kpis, summarise
from ...analysis.shocks import shock_kpis
from ...errors import ScenarioError
from ...output.serialize import dumps, to_jsonable
from ..engines import get_engine
from ..plan import Plan, make_plan
from ..sampling import Inputs
from ..simulate import choose_engine
from ..trace import Trace
from .adversary import TIE, informed_route, threat_route, travel_matrix, uninformed_route
from .sampling import (
    CrossingDraws,
    Travellers,
    crossing_draws,
    crossing_inputs,
    crossing_strategies,
    routed_extra,
    sample_travellers,
)
from .schema import GREEN, Region, load_region


@dataclass
class CrossingRun:
    """One crossing in one replication: its plan, the travellers routed there (global
    indices, in arrival order), their inputs, the trace and the crossing's KPIs."""

    plan: Plan
    who: np.ndarray
    inputs: Inputs
    trace: Trace
    kpis: dict[str, float]
    samples: dict = field(default_factory=dict)
    """The tails ``metrics.summarise`` pools into percentile KPIs (``wait_p95``)."""
    shocks: dict[str, float] = field(default_factory=dict)
    """The crossing's shock KPIs (:func:`borderesim.analysis.shocks.shock_kpis`; also in
    ``kpis``); empty when its file has no events and no reserve officers."""


@dataclass
class RegionReplication:
    """Everything one replication produced.

    ``naive``: each traveller's route as an ordinary traveller; ``threat_route``: the
    route each would take were they a threat; ``route``: the route taken (the threat
    route for threats). ``posted``: posted waits (minutes) at each refresh ``[K, C]``.
    """

    people: Travellers
    draws: list[CrossingDraws]
    naive: np.ndarray
    threat_route: np.ndarray
    route: np.ndarray
    posted: np.ndarray
    refresh_times: np.ndarray
    crossings: dict[str, CrossingRun]
    kpis: dict[str, float] = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    """The tails ``metrics.summarise`` pools into ``region.wait_p95``."""


def up_to(plan: Plan, t: float) -> Plan:
    """``plan`` ending at ``t`` (minutes): what the full run does before ``t``, nothing
    after. Before the horizon: the horizon moved to ``t``, no drain; after it: the drain
    cut to ``t`` (the run still ends earlier once no counted traveller is inside)."""
    if t <= plan.horizon:
        return replace(plan, horizon=t, drain=0.0)
    return replace(plan, drain=min(plan.drain, t - plan.horizon))


def first_open_stage(plan: Plan) -> int:
    """The stage whose wait is posted: the first stage everybody visits (else stage 0)."""
    everyone = np.flatnonzero(~plan.stage_referred)
    return int(everyone[0]) if everyone.size else 0


def in_arrival_order(draws: CrossingDraws, who: np.ndarray) -> np.ndarray:
    """``who`` sorted by arrival at the crossing, ties by traveller number."""
    return who[np.lexsort((who, draws.arrival[who]))]


def empty_since(arrival: np.ndarray, exit_: np.ndarray, t: float, previous: float) -> float:
    """The latest arrival time ``a <= t`` (minutes) at which the crossing was empty: every
    traveller arriving earlier had left by ``a`` (``previous`` if there is none).

    From such a moment the crossing's future depends only on travellers arriving then or
    later (rosters follow the clock; an empty crossing has no one waiting or in service),
    so replays up to a later horizon may start there and stay exact: the refresh loop
    costs the travellers of the current busy period, not the whole day so far.
    """
    if arrival.size == 0:
        return previous
    left = np.where(np.isnan(exit_), np.inf, exit_)
    before = np.concatenate([[-np.inf], np.maximum.accumulate(left)[:-1]])
    ok = np.flatnonzero((before <= arrival) & (arrival <= t))
    return float(arrival[ok[-1]]) if ok.size else previous


def lane_mean_service(scenario) -> np.ndarray:
    """Mean service time (minutes) of every lane, in plan order."""
    from ..sampling import _lane_services

    return np.array([dist.moments()[0] for _, dist in _lane_services(scenario)])


def servers_at(plan: Plan, stage: int, times: np.ndarray) -> np.ndarray:
    """Rostered servers on duty (0 in an outage) summed over ``stage``'s lanes at each of
    ``times`` (minutes, before the run end): :meth:`Plan.capacity`, vectorised."""
    ch = plan.capacity_changes()
    row = np.searchsorted(ch.times, times, side="right") - 1
    return ch.on_duty()[row][:, list(plan.lanes_of(stage))].sum(axis=1)


def posted_series(plan: Plan, trace: Trace, edges: np.ndarray, ks: range, previous: float,
                  rule: str, lane_mean: np.ndarray, servers: np.ndarray) -> list[float]:
    """The waits (minutes) posted at the refreshes ``edges[k]``, ``k`` in ``ks`` (a run of
    consecutive indices, the one before them posted ``previous``), read from ``trace``.

    ``served``: mean wait of those who started service in ``[edges[k-1], edges[k])``
    (the previous value when nobody did). ``queue``: the travellers at the stage before
    ``edges[k]`` and not started before it, times their lane's mean service time
    (``lane_mean``, minutes), over the stage's servers on duty (``servers``:
    :func:`servers_at` at every edge; the previous value when none is on duty).
    One trace serves them all: exact when it runs at least to the last of them and no
    start is undone later (no pre-empting outage), as a start before ``edges[k]`` is
    then the same in every run longer than ``edges[k]``.
    """
    s = first_open_stage(plan)
    start, entry, lane = trace.start[s], trace.entry[s], trace.lane[s]
    out = []
    for k in ks:
        t0, t1 = edges[k - 1], edges[k]
        if rule == "queue":
            if servers[k] > 0:
                waiting = (lane >= 0) & (entry < t1) & ~(start < t1)
                previous = float(lane_mean[lane[waiting]].sum()) / int(servers[k])
        else:
            mine = (start >= t0) & (start < t1)
            if mine.any():
                previous = float((start[mine] - entry[mine]).mean())
        out.append(previous)
    return out


def _inside_counted(plan: Plan, arrival: np.ndarray, trace: Trace) -> bool:
    """True while a counted traveller (arrival in ``[warmup, horizon)``) of ``trace`` is inside."""
    counted = (arrival >= plan.warmup) & (arrival < plan.horizon)
    return bool(np.isnan(trace.exit[counted]).any())


def route_replication(region: Region, seed: int, replication: int, engine: str = "fast",
                      informed_share: float | None = None, replications: int = 10
                      ) -> RegionReplication:
    """Route and run one replication (``engine``: "fast" or "simpy" for every crossing,
    or "auto": fast where it can run the crossing). ``replications``: how many the run
    has (sizes the tails kept for pooled percentiles)."""
    people = sample_travellers(region, seed, replication, informed_share)
    names = region.crossing_names
    strategies = crossing_strategies(region)
    plans = [make_plan(region.scenarios[c]) for c in names]
    runs = [get_engine(choose_engine(region.scenarios[c], engine)[0]) for c in names]
    draws = [crossing_draws(region, c, plans[i], strategies[c], people, seed, replication)
             for i, c in enumerate(names)]
    run_end = region.run_end
    if people.informed.any():
        edges = np.append(np.arange(0.0, run_end, region.spec.information.refresh), run_end)
    else:
        edges = np.array([0.0, run_end])
    route, naive, posting = _route(region, people, draws, plans, runs, edges, seed,
                                   replication)
    chooses = np.flatnonzero((people.fixed < 0) & (people.depart < edges[-1]))
    threat = naive.copy()  # the route each would take as a threat (row by row)
    threat[chooses] = threat_route(region, people, chooses, naive[chooses], draws)
    posted = np.empty((len(edges) - 1, len(names)))
    crossings = {}
    for i, c in enumerate(names):
        # travellers reaching the crossing after the run end are outside the run
        who = in_arrival_order(draws[i], np.flatnonzero((route == i)
                                                        & (draws[i].arrival < run_end)))
        extra = routed_extra(region, c, strategies[c], people, draws[i],
                             np.isin(np.arange(people.n), who), seed, replication)
        inputs = crossing_inputs(draws[i], who, seed, replication, extra)
        trace = runs[i](plans[i], inputs)
        samples: dict = {}
        scenario = region.scenarios[c]
        kpis = replication_kpis(scenario, plans[i], inputs, trace, samples, replications)
        shocks = shock_kpis(scenario, plans[i], inputs, trace)  # none without events/reserve
        kpis.update(shocks)
        crossings[c] = CrossingRun(plans[i], who, inputs, trace, kpis, samples, shocks)
        posted[:, i] = posting[i].finish(trace, edges)
    rep = RegionReplication(people, draws, naive, threat, route, posted, edges[:-1], crossings)
    from .kpis import regional_kpis

    rep.kpis = regional_kpis(region, rep, rep.samples, replications)
    return rep


@dataclass
class _Posting:
    """One crossing's posted waits while the travellers are routed: ``values[k]`` is the
    wait posted at ``edges[k]`` (minutes), known for ``k <= done``."""

    index: int
    plan: Plan
    run: Any
    draws: CrossingDraws
    rule: str
    lane_mean: np.ndarray
    servers: np.ndarray
    values: np.ndarray
    replay_each: bool
    """A pre-empting outage can undo a start later: replay at every refresh."""
    nearest: float
    """Least travel time (minutes) to the crossing from any origin (``inf``: none)."""
    longest: float = field(init=False)
    order: np.ndarray = field(init=False)
    sorted_arrival: np.ndarray = field(init=False)
    done: int = 0
    since: float = -np.inf
    last_end: float = -np.inf
    """End (minutes) of the last replay ..."""
    unstarted: int = 0
    """... and how many of its travellers had not started at the posted stage then."""
    frozen: Trace | None = None
    """The replay after which nothing more happens (past the horizon, no counted
    traveller inside): every later replay is this one."""

    def __post_init__(self) -> None:
        lanes = list(self.plan.lanes_of(first_open_stage(self.plan)))
        self.longest = float(self.lane_mean[lanes].max()) if lanes else 0.0
        self.order = in_arrival_order(self.draws, np.arange(len(self.draws.arrival)))
        self.sorted_arrival = self.draws.arrival[self.order]

    def series(self, trace: Trace, edges: np.ndarray, upto: int) -> None:
        """Read ``values[done + 1 .. upto]`` from ``trace`` (:func:`posted_series`)."""
        ks = range(self.done + 1, upto + 1)
        self.values[self.done + 1:upto + 1] = posted_series(
            self.plan, trace, edges, ks, float(self.values[self.done]), self.rule,
            self.lane_mean, self.servers)
        self.done = max(self.done, upto)

    def at(self, k: int, route: np.ndarray, edges: np.ndarray, seed: int,
           replication: int) -> float:
        """The wait posted at ``edges[k]``: one replay of the routed travellers arriving
        from ``since`` to ``edges[k]``, or to the last refresh no unrouted traveller can
        reach before (none once frozen)."""
        asked = k
        if k > self.done:
            if self.frozen is not None:
                self.series(self.frozen, edges, k)
            else:
                if not self.replay_each:  # the travellers still to route arrive later
                    k = max(k, int(np.searchsorted(edges[:-1], edges[k] + self.nearest,
                                                   side="right")) - 1)
                t1 = float(edges[k])
                lo, hi = np.searchsorted(self.sorted_arrival, [self.since, t1])
                window = self.order[lo:hi]
                who = window[route[window] == self.index]
                trace = self.run(up_to(self.plan, t1),
                                 crossing_inputs(self.draws, who, seed, replication))
                self.series(trace, edges, k)
                self.last_end = t1
                self.unstarted = int(np.isnan(trace.start[first_open_stage(self.plan)]).sum())
                arrival = self.draws.arrival[who]
                self.since = empty_since(arrival, trace.exit, t1, self.since)
                if t1 >= self.plan.horizon and not _inside_counted(self.plan, arrival, trace):
                    self.frozen = trace
        return float(self.values[asked])

    def known(self, k: int) -> bool:
        """True when the wait posted at ``edges[k]`` needs no replay."""
        return k <= self.done or self.frozen is not None or self.replay_each

    def bound(self, k: int, route: np.ndarray, edges: np.ndarray) -> float | None:
        """An upper bound (minutes) on the wait posted at ``edges[k]`` without replaying,
        or None (``posted: served``, or no server on duty then). ``posted: queue``
        counts, among the travellers waiting then, only ones that had not started at
        the stage when the last replay ended or arrived since: at most that many times
        the stage's longest lane mean, over the servers then (a start is never undone:
        no pre-empting outage). A waiting time is never negative."""
        servers = int(self.servers[k])
        if self.rule != "queue" or servers == 0:
            return None
        lo, hi = np.searchsorted(self.sorted_arrival, [self.last_end, edges[k]])
        window = self.order[lo:hi]
        n = self.unstarted + int(np.count_nonzero(route[window] == self.index))
        return n * self.longest / servers * (1.0 + 1e-6)  # 1e-6: the float sum's rounding

    def finish(self, trace: Trace, edges: np.ndarray) -> np.ndarray:
        """Every posted wait, the ones no replay needed read from the full ``trace``."""
        self.series(self.frozen if self.frozen is not None else trace, edges,
                    len(self.values) - 1)
        return self.values


def settled_route(travel: np.ndarray, origin: np.ndarray, low: np.ndarray,
                  high: np.ndarray, uninformed: np.ndarray) -> np.ndarray | None:
    """:func:`informed_route` when it chooses the same for every posted wait between
    ``low`` and ``high`` (minutes, per crossing), else None.

    Costs rise with the posted wait (rounding too), so the choice at ``low`` holds
    throughout when it keeps the uninformed crossing, whose highest cost is within
    ``TIE`` of every other crossing's lowest; or when it moves, the uninformed crossing's
    lowest cost being out of ``TIE`` of the best's highest and the chosen crossing's
    highest below every other's lowest.
    """
    choice = informed_route(travel, origin, low, uninformed)
    lo = travel[origin] + low[None, :]
    hi = travel[origin] + high[None, :]
    rows = np.arange(len(origin))

    def lowest_but(column: np.ndarray) -> np.ndarray:
        others = lo.copy()
        others[rows, column] = np.inf
        return others.min(axis=1)

    kept = hi[rows, uninformed] <= lowest_but(uninformed) + TIE
    moved = (lo[rows, uninformed] > hi.min(axis=1) + TIE) & \
        (hi[rows, choice] < lowest_but(choice))
    settled = np.where(choice == uninformed, kept, moved)
    return choice if settled.all() else None


def _route(region: Region, people: Travellers, draws: list[CrossingDraws],
           plans: list[Plan], runs: list, edges: np.ndarray, seed: int, replication: int
           ) -> tuple[np.ndarray, np.ndarray, list[_Posting]]:
    """(route, naive route, each crossing's :class:`_Posting`) of every traveller: the
    uninformed at once, the informed period by period as the posted waits they read
    are replayed (see the module docstring)."""
    names = region.crossing_names
    travel = travel_matrix(region)
    uninformed = uninformed_route(region, people)
    naive = uninformed.copy()
    route = np.where(people.fixed < 0, -1, people.fixed)
    n_periods = len(edges) - 1
    period = np.searchsorted(edges, people.depart, side="right") - 1
    chooses = (people.fixed < 0) & (period < n_periods)
    informed = chooses & people.informed
    plain = np.flatnonzero(chooses & ~informed)
    threats = plain[people.threat[plain]]
    route[plain] = naive[plain]
    route[threats] = threat_route(region, people, threats, naive[threats], draws)
    info = region.spec.information
    posting = []
    for i, c in enumerate(names):
        plan = plans[i]
        values = np.full(n_periods, np.nan)
        values[0] = 0.0
        posting.append(_Posting(
            i, plan, runs[i], draws[i], info.posted, lane_mean_service(region.scenarios[c]),
            servers_at(plan, first_open_stage(plan), edges[:-1]), values,
            bool(np.any(plan.out_preempt)), float(np.min(travel[:, i], initial=np.inf))))
    by_period = np.flatnonzero(informed)
    by_period = by_period[np.argsort(period[by_period], kind="stable")]
    cuts = np.searchsorted(period[by_period], np.arange(n_periods + 1))
    each = any(p.replay_each for p in posting)
    n_c = len(posting)
    for k in range(n_periods):
        batch = by_period[cuts[k]:cuts[k + 1]]
        if batch.size == 0 and not each:
            continue
        low, high = np.zeros(n_c), np.full(n_c, np.inf)
        for i, p in enumerate(posting):
            if p.known(k):
                low[i] = high[i] = p.at(k, route, edges, seed, replication)
            elif batch.size:
                bound = p.bound(k, route, edges)
                high[i] = np.inf if bound is None else bound
        if batch.size == 0:
            continue
        choice = settled_route(travel, people.origin[batch], low, high, uninformed[batch])
        if choice is None:  # the bounds do not settle it: replay
            now = np.array([p.at(k, route, edges, seed, replication) for p in posting])
            choice = informed_route(travel, people.origin[batch], now, uninformed[batch])
        naive[batch] = choice
        route[batch] = choice
        hit = batch[people.threat[batch]]
        route[hit] = threat_route(region, people, hit, naive[hit], draws)
    return route, naive, posting


@dataclass
class RegionResult:
    """Summary of a region run; ``to_dict()`` is what ``borderesim run REGION --json`` prints.

    ``kpis``: regional KPIs (``region.*``, with 95 % intervals; a crossing's shock KPIs
    as ``region.route.<crossing>.<KPI>``, :func:`borderesim.run.region.kpis.crossing_shocks`);
    ``crossings``: each crossing's KPIs, as ``run`` reports them for a single crossing
    (its shock KPIs included).
    """

    region: Region
    engine: str
    seed: int
    replications: int
    kpis: dict[str, dict[str, float]]
    crossings: dict[str, dict[str, dict[str, float]]]
    per_replication: list[dict[str, float]]
    runs: list[RegionReplication] = field(default_factory=list, repr=False)
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """The run's summary; NaN and infinite values become ``None``."""
        return to_jsonable({
            "region": self.region.name,
            "engine": self.engine,
            "seed": self.seed,
            "replications": self.replications,
            "version": self.version,
            "kpis": self.kpis,
            "crossings": self.crossings,
        })

    def to_json(self) -> str:
        return dumps(self.to_dict())

    def mean(self, kpi: str, crossing: str | None = None) -> float:
        """Mean of a regional KPI, or of a crossing's KPI when ``crossing`` is given."""
        table = self.kpis if crossing is None else self.crossings[crossing]
        return table[kpi]["mean"]


def check_memory(region: Region) -> None:
    """Refuse (``ScenarioError`` on ``origins``) a region whose replication cannot fit in
    memory: every crossing holds draws for every traveller of the region (every surge's
    included)."""
    from ...model.scenario import Arrivals
    from ..budget import estimate, gib, memory_cap

    total = np.sum([o.hourly() for o in region.spec.origins.values()], axis=0)
    demand = Arrivals(per_hour=[float(v) for v in total])
    surges = [e for sc in region.scenarios.values() for e in sc.events if e.kind == "surge"]
    need = sum(estimate(sc.model_copy(update={"arrivals": demand, "events": [
        *(e for e in sc.events if e.kind != "surge"), *surges]}), 1).replication_bytes
               for sc in region.scenarios.values())
    cap, how = memory_cap()
    if need > cap:
        raise ScenarioError(f"one replication would need ~{gib(need)} (every crossing holds "
                            f"draws for every traveller of the region); at most {gib(cap)} "
                            f"may be used ({how}); lower per_hour, duration or warmup"
                            + (" or a surge's travellers" if surges else ""),
                            region.source, "origins")


def replication_with_information(region: Region, seed: int, replication: int,
                                 engine: str = "fast", replications: int = 10
                                 ) -> tuple[dict[str, float], RegionReplication]:
    """One replication's regional KPIs with ``region.information_time_saving`` (minutes:
    mean travel + wait saved per traveller against the same travellers replayed with
    ``informed_share: 0``; 0 when nobody is informed), and the replication itself."""
    rep = route_replication(region, seed, replication, engine, replications=replications)
    k = dict(rep.kpis)
    k["region.information_time_saving"] = 0.0
    if region.spec.information.informed_share > 0:
        base = route_replication(region, seed, replication, engine, informed_share=0.0,
                                 replications=replications)
        k["region.information_time_saving"] = base.kpis["region.journey_mean"] - \
            k["region.journey_mean"]
    return k, rep


def engine_name(region: Region, engine: str) -> str:
    """The engine that runs ``region``'s crossings under ``engine`` ("fast", "simpy" or,
    when ``auto`` picks differently per crossing, "fast+simpy")."""
    engines = {choose_engine(sc, engine)[0] for sc in region.scenarios.values()}
    return engines.pop() if len(engines) == 1 else "+".join(sorted(engines))


def simulate_region(region: Region | dict | str, engine: str = "fast",
                    replications: int | None = None, seed: int | None = None,
                    keep_runs: bool = False) -> RegionResult:
    """Simulate a region; regional and per-crossing KPIs with 95 % t-intervals.

    ``engine``: "fast" (default; regional sweeps need its speed), "simpy" or "auto".
    The value of information (``region.information_time_saving``: mean travel + wait
    saved per traveller) replays every
    replication with ``informed_share: 0`` on the same travellers (paired).
    """
    region = load_region(region)
    check_memory(region)
    reps = region.spec.replications if replications is None else int(replications)
    if reps < 1:
        raise ValueError("replications must be at least 1")
    seed = region.spec.seed if seed is None else int(seed)
    per_rep, per_crossing, kept = [], {c: [] for c in region.crossing_names}, []
    samples: list[dict] = []
    crossing_samples: dict[str, list[dict]] = {c: [] for c in region.crossing_names}
    for r in range(reps):
        k, rep = replication_with_information(region, seed, r, engine, reps)
        samples.append(rep.samples)
        per_rep.append(k)
        for c, run in rep.crossings.items():
            per_crossing[c].append(run.kpis)
            crossing_samples[c].append(run.samples)
        if keep_runs:
            kept.append(rep)
    return RegionResult(region, engine_name(region, engine), seed, reps,
                        summarise(per_rep, samples),
                        {c: summarise(v, crossing_samples[c]) for c, v in per_crossing.items()},
                        per_rep, kept)


def route_names(region: Region) -> list[str]:
    """Route names in route-number order (crossings, then ``green_border``)."""
    return region.crossing_names + ([GREEN] if region.spec.green_border else [])


