"""Run a region: route the travellers, replay each crossing through an engine, summarise.

**Posted waits.** At every refresh ``T_k = k * refresh`` (up to the run end: travellers
keep departing during the drain, as arrivals go on at a single crossing) each crossing
posts a wait for its first stage everybody visits (:func:`posted_wait`): by default the
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
the engines agree traveller by traveller. Each replay starts at the last moment the
crossing was empty (:func:`empty_since`), so a refresh costs the travellers of the
current busy period. A final full run per crossing gives the traces for the KPIs.
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
from .adversary import informed_route, threat_route, travel_matrix, uninformed_route
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


def posted_wait(plan: Plan, trace: Trace, t0: float, t1: float, previous: float,
                rule: str = "served", lane_mean: np.ndarray | None = None) -> float:
    """The wait (minutes) a crossing posts at ``t1`` for its posted stage.

    ``served``: mean wait of those who started service in ``[t0, t1)`` (``previous``
    when nobody did). ``queue``: the travellers waiting at ``t1`` times their lane's mean
    service time (``lane_mean``, minutes), over the stage's servers on duty (``previous``
    when none is on duty).
    """
    s = first_open_stage(plan)
    start, entry = trace.start[s], trace.entry[s]
    if rule == "queue":
        waiting = (trace.lane[s] >= 0) & (entry < t1) & np.isnan(start)
        servers = sum(plan.capacity(ln, t1) for ln in plan.lanes_of(s))
        if servers == 0:
            return previous
        return float(lane_mean[trace.lane[s][waiting]].sum()) / servers
    mine = (start >= t0) & (start < t1)
    if not mine.any():
        return previous
    return float((start[mine] - entry[mine]).mean())


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
    travel = travel_matrix(region)
    uninformed = uninformed_route(region, people)
    naive = uninformed.copy()
    threat = naive.copy()
    chooses = people.fixed < 0  # a surge's travellers have chosen their crossing already
    route = np.where(chooses, -1, people.fixed)
    run_end = region.run_end
    refresh = region.spec.information.refresh
    posting = region.spec.information.posted
    lane_means = [lane_mean_service(region.scenarios[c]) for c in names]
    if people.informed.any():
        edges = np.append(np.arange(0.0, run_end, refresh), run_end)
    else:
        edges = np.array([0.0, run_end])
    posted = np.zeros((len(edges) - 1, len(names)))
    now = np.zeros(len(names))
    since = np.full(len(names), -np.inf)  # each crossing was empty then: replay from there
    for k in range(len(edges) - 1):
        t0, t1 = edges[k], edges[k + 1]
        batch = np.flatnonzero(chooses & (people.depart >= t0) & (people.depart < t1))
        posted[k] = now
        informed = batch[people.informed[batch]]
        naive[informed] = informed_route(travel, people.origin[informed], now,
                                         uninformed[informed])
        threat[batch] = threat_route(region, people, batch, naive[batch], draws)
        route[batch] = np.where(people.threat[batch], threat[batch], naive[batch])
        if k + 2 < len(edges):  # the posted waits for the next period
            for i in range(len(names)):
                who = in_arrival_order(draws[i], np.flatnonzero(
                    (route == i) & (draws[i].arrival >= since[i])))
                short = up_to(plans[i], float(t1))
                trace = runs[i](short, crossing_inputs(draws[i], who, seed, replication))
                now[i] = posted_wait(plans[i], trace, t0, t1, now[i], posting, lane_means[i])
                since[i] = empty_since(draws[i].arrival[who], trace.exit, t1, since[i])
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
    rep = RegionReplication(people, draws, naive, threat, route, posted, edges[:-1], crossings)
    from .kpis import regional_kpis

    rep.kpis = regional_kpis(region, rep, rep.samples, replications)
    return rep


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


