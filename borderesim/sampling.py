"""Everything random, drawn before any engine runs.

Each quantity has its own named stream, a child of ``SeedSequence(seed)`` keyed by
the replication number and the stream's name, so changing one knob (a service
mean, a referral rate, a lane) never shifts another stream: comparisons on one seed
see the same travellers (common random numbers). Service times are drawn for every
traveller in every lane, visited or not. Arrivals are drawn up to the latest end of
the run (``Plan.run_end``): the counted window from stream ``arrivals``, the drain
after it from ``arrivals.drain``; the other streams are drawn for all of them.
Surges (``events:``) add travellers drawn exactly as the others but from streams of
their own (``surge.<k>.<day>.<name>``, ``k`` the event's place in the list): the
profile's travellers are drawn first, each surge's separately, and all are then
merged by arrival time (stable: at equal times profile travellers first, then surges
in list order). A traveller's own draws never depend on whether a surge is added, nor
on how far the drain is drawn.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from .budget import check_replication
from .events import SurgeEvent, occurrences
from .plan import Plan
from .scenario import Scenario
from .targeting import DynamicRule, PythonRule, TargetingContext, no_referrals


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` for ``replication`` under ``seed``."""
    key = (int(replication), zlib.crc32(name.encode()))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=key)))


@dataclass(frozen=True)
class Inputs:
    """Sampled travellers of one replication, one entry per traveller in arrival order.

    Times are minutes from the start of the run (00:00 of day one).
    """

    seed: int
    replication: int
    arrival: np.ndarray  # float64[n], sorted
    cls: np.ndarray  # int64[n]: index into the scenario's classes
    threat: np.ndarray  # bool[n]
    service: np.ndarray  # float64[L, n]: service time if served in lane l
    caught: np.ndarray  # bool[S, n]: threat caught if checked at stage s
    refer: np.ndarray  # bool[n]: referred by the strategy whatever the queues
    p_refer_if_threat: np.ndarray  # float64[n]
    dynamic: DynamicRule | PythonRule | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.arrival)

    def head(self, m: int) -> Inputs:
        """The first ``m`` travellers (as a shorter drain drawn on the same seed gives)."""
        dyn = self.dynamic
        if isinstance(dyn, DynamicRule):
            dyn = replace(dyn, score=dyn.score[:m], threat_mean=dyn.threat_mean[:m])
        return replace(self, arrival=self.arrival[:m], cls=self.cls[:m],
                       threat=self.threat[:m],
                       service=np.ascontiguousarray(self.service[:, :m]),
                       caught=np.ascontiguousarray(self.caught[:, :m]), refer=self.refer[:m],
                       p_refer_if_threat=self.p_refer_if_threat[:m], dynamic=dyn)


_SMALL = 1 << 20
"""Travellers up to which whole-array temporaries are cheaper than hour-by-hour loops."""


def hourly_segments(
    rates: list[float], horizon: float, start: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Start (minutes) and expected arrivals of each clock-hour piece of ``[start, horizon)``."""
    inner = np.arange(np.floor(start / 60) + 1, np.ceil(horizon / 60)) * 60.0
    starts = np.concatenate([[start], inner[(inner > start) & (inner < horizon)]])
    if not start < horizon:
        starts = starts[:0]
    lengths = np.append(starts[1:], horizon)[:len(starts)] - starts
    hours = (starts // 60).astype(np.int64) % 24
    expected = np.asarray(rates, dtype=float)[hours] * lengths / 60.0
    return starts, expected


def sample_arrivals(
    rates: list[float], horizon: float, rng: np.random.Generator, start: float = 0.0,
    tail: np.ndarray | None = None,
) -> np.ndarray:
    """Poisson arrivals in ``[start, horizon)`` with a piecewise-constant hourly rate.

    Each clock hour gets a Poisson count with that hour's mean, placed uniformly in
    the hour, so short peaks are never skipped. Returns sorted times in minutes,
    followed by ``tail`` if given (one array, no copy of a long run's times).
    """
    starts, expected = hourly_segments(rates, horizon, start)
    counts = rng.poisson(expected)
    lengths = np.append(starts[1:], horizon)[:len(starts)] - starts
    n = int(counts.sum())
    extra = 0 if tail is None else len(tail)
    out = np.empty(n + extra)
    times = rng.random(n, out=out[:n])
    if extra:
        out[n:] = tail
    ends = np.cumsum(counts).tolist()
    hours = list(zip([0, *ends[:-1]], ends, starts.tolist(), lengths.tolist(), strict=True))
    if n <= _SMALL:
        seg = np.repeat(np.arange(len(starts)), counts)
        times *= lengths[seg]
        times += starts[seg]
    # the hours are disjoint and in order, so sorting each hour's times sorts them all
    # (the same values as one global sort, several times faster on a long run); a long
    # run is placed hour by hour too, without hour-indexed temporaries
    for lo, hi, t0, length in hours:
        if n > _SMALL:
            times[lo:hi] *= length
            times[lo:hi] += t0
        if hi - lo > 1:
            times[lo:hi].sort()
    return out


def sample_drain(
    rates: list[float], horizon: float, until: float, rng: np.random.Generator
) -> np.ndarray:
    """Poisson arrivals in the drain ``[horizon, until)``, clock hour by clock hour.

    Each hour's count and then its times are drawn in turn, so the arrivals of the
    first hours do not depend on ``until``: a run may draw the drain only as far as
    it needs (``borderesim.drain.replay``). Sorted times in minutes.
    """
    starts, expected = hourly_segments(rates, until, start=horizon)
    ends = np.append(starts[1:], until)[:len(starts)]
    out = [np.zeros(0)]
    for t0, t1, mean in zip(starts, ends, expected, strict=True):
        out.append(np.sort(t0 + rng.random(rng.poisson(mean)) * (t1 - t0)))
    return np.concatenate(out)


def _class_of(edges: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Class index of each uniform draw ``u``: how many cumulative shares ``edges`` are at
    most ``u`` (``searchsorted(edges, u, "right")``), capped at the last class. A few
    classes are counted by comparisons, faster than a binary search per traveller."""
    if len(edges) > 8:
        return np.minimum(np.searchsorted(edges, u, "right"), len(edges) - 1).astype(np.int64)
    cls = np.zeros(u.size, dtype=np.int64)
    for edge in edges[:-1]:  # the last edge only ever adds a class past the cap
        cls += u >= edge
    return cls


def _lane_services(scenario: Scenario) -> list[tuple]:
    return [
        (f"service.{sname}.{lname}", lane.service)
        for sname, stage in scenario.stages.items()
        for lname, lane in stage.lane_specs(sname).items()
    ]


def sample(
    scenario: Scenario, plan: Plan, seed: int, replication: int, until: float | None = None
) -> Inputs:
    """Draw the travellers of one replication (the profile's and every surge's), arriving
    up to ``until`` minutes (default, and at most, ``plan.run_end``; the counted window
    always).

    Every per-traveller draw fills its stream in traveller order, so the travellers up
    to an earlier ``until`` are the first ones of a later one, drawn identically.

    Raises ``ScenarioError`` first if one replication cannot fit in memory (``budget``).
    """
    check_replication(scenario)

    def rng(name: str) -> np.random.Generator:
        return stream(seed, replication, name)

    rates = scenario.arrivals.hourly()
    end = plan.run_end if until is None else min(until, plan.run_end)
    # the counted window, then the drain after it from a stream of its own: the window's
    # travellers are the same whatever the drain cap
    drain = sample_drain(rates, plan.horizon, end, rng("arrivals.drain"))
    arrival = sample_arrivals(rates, plan.horizon, rng("arrivals"), tail=drain)
    groups = [_draw_group(scenario, plan, seed, replication, arrival, rng, None)]
    for occ in occurrences(scenario.events, plan.run_end):
        ev = occ.event
        if not isinstance(ev, SurgeEvent):
            continue
        prefix = f"surge.{occ.index}.{occ.day}."

        def surge_rng(name: str, prefix: str = prefix) -> np.random.Generator:
            return stream(seed, replication, prefix + name)

        times = occ.start + np.sort(surge_rng("arrivals").random(ev.travellers)) * ev.over
        times = times[times < end]
        cls = None if ev.class_ is None else list(scenario.classes).index(ev.class_)
        groups.append(_draw_group(scenario, plan, seed, replication, times, surge_rng, cls))
    return groups[0] if len(groups) == 1 else merge_inputs(groups)


def _draw_group(
    scenario: Scenario, plan: Plan, seed: int, replication: int, arrival: np.ndarray,
    rng, fixed_class: int | None,
) -> Inputs:
    """Classes, threats, service, detection and targeting of travellers arriving at ``arrival``."""
    n = len(arrival)
    # one buffer of uniform draws, refilled stream by stream (the same draws as
    # ``random(n)``): a long run touches less fresh memory
    u = np.empty(n)
    if fixed_class is None:
        shares = np.cumsum([c.share for c in scenario.classes.values()])
        cls = _class_of(shares / shares[-1], rng("classes").random(out=u))
    else:
        cls = np.full(n, fixed_class, dtype=np.int64)
    prevalence = np.array([c.threat_prevalence for c in scenario.classes.values()])
    threat = rng("threats").random(out=u) < prevalence[cls]
    service = np.empty((plan.n_lanes, n))
    for lane, (name, dist) in enumerate(_lane_services(scenario)):
        dist.draw(rng(name), n, out=service[lane])
    caught = np.empty((plan.n_stages, n), dtype=bool)
    for s, sname in enumerate(plan.stage_names):
        np.less(rng(f"detect.{sname}").random(out=u), plan.detect_p[s], out=caught[s])
        caught[s] &= threat
    del u
    ctx = TargetingContext(scenario=scenario, arrival=arrival, cls=cls, threat=threat, stream=rng)
    decision = scenario.targeting.decide(ctx) if scenario.targeting else no_referrals(ctx)
    return Inputs(
        seed=seed,
        replication=replication,
        arrival=arrival,
        cls=cls,
        threat=threat,
        service=service,
        caught=caught,
        refer=np.asarray(decision.refer, dtype=bool),
        p_refer_if_threat=np.asarray(decision.p_refer_if_threat, dtype=np.float64),
        dynamic=decision.dynamic,
        extra=dict(decision.extra),
    )


def merge_inputs(groups: list[Inputs]) -> Inputs:
    """The travellers of several groups as one, numbered by arrival time (stable by group).

    Per-traveller arrays are concatenated and reordered; a queue-aware rule must be the
    same rule (threshold, per_waiting) in every group, its per-traveller arrays are
    merged likewise (a ``PythonRule`` is asked with each group's own numbering).
    ``extra`` counts are summed.
    """
    order = np.argsort(np.concatenate([g.arrival for g in groups]), kind="stable")
    sizes = np.array([g.n for g in groups])
    bounds = np.concatenate([[0], np.cumsum(sizes)])

    def cat(name: str, axis: int = 0) -> np.ndarray:
        return np.take(np.concatenate([getattr(g, name) for g in groups], axis=axis), order,
                       axis=axis)

    extra: dict[str, float] = {}
    for g in groups:
        for key, value in g.extra.items():
            extra[key] = extra.get(key, 0.0) + value
    return Inputs(
        seed=groups[0].seed,
        replication=groups[0].replication,
        arrival=cat("arrival"),
        cls=cat("cls"),
        threat=cat("threat"),
        service=np.ascontiguousarray(cat("service", axis=1)),
        caught=np.ascontiguousarray(cat("caught", axis=1)),
        refer=cat("refer"),
        p_refer_if_threat=cat("p_refer_if_threat"),
        dynamic=_merge_rules([g.dynamic for g in groups], order, bounds),
        extra=extra,
    )


def _merge_rules(rules: list, order: np.ndarray, bounds: np.ndarray
                 ) -> DynamicRule | PythonRule | None:
    """One queue-aware rule for merged groups (``order``: merged -> concatenated index)."""
    if all(r is None for r in rules):
        return None
    first = rules[0]
    if isinstance(first, DynamicRule):
        if not all(isinstance(r, DynamicRule) and r.threshold == first.threshold
                   and r.per_waiting == first.per_waiting for r in rules):
            raise ValueError("surge travellers got a different queue-aware rule")
        return DynamicRule(score=np.concatenate([r.score for r in rules])[order],
                           threshold=first.threshold, per_waiting=first.per_waiting,
                           threat_mean=np.concatenate([r.threat_mean for r in rules])[order])
    group = np.searchsorted(bounds, order, side="right") - 1

    def decide(i: int, waiting: int) -> bool:
        k = int(group[i])
        return bool(rules[k].decide(int(order[i] - bounds[k]), waiting))

    return PythonRule(decide=decide)
