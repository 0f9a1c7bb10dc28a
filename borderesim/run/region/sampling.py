"""Every random draw of one region replication, keyed so that route choice never shifts them.

Travellers are numbered origin by origin (in the file's order), in departure order
within an origin. Per origin ``o`` the streams ``region.<o>.departures`` (Poisson with
the hourly profile, as :func:`borderesim.run.sampling.sample_arrivals`, up to the horizon;
then ``.departures.drain`` up to the run end, as a crossing's drain), ``.classes``,
``.threats``, ``.informed``, ``.knowledge`` and ``.route`` (one uniform each per
traveller) decide who travels. Per crossing ``c`` every traveller of the region gets a
service time in every lane (``crossing.<c>.service.<stage>.<lane>``), a detection draw
at every stage (``crossing.<c>.detect.<stage>``) and the crossing's targeting decision
(its strategy's streams prefixed ``crossing.<c>.``), whether or not they go there: these
are common random numbers, so changing the information, the shares or the adversary
never changes who travels nor what any traveller would meet at any crossing.

**Surges.** A surge in a crossing's own file (``events: [{kind: surge, ...}]``) brings
travellers who have already chosen that crossing (a convoy, a diverted flight): they
arrive there directly, at the times the surge says (``travellers`` spread uniformly
over ``over`` minutes from ``at``, as at a single crossing), never check posted waits
and never change route, a threat among them included. They are numbered after every
origin's travellers, crossing by crossing (file order), then by occurrence (the
event's place in the crossing's list, then its day), and draw everything from streams
of their own, ``crossing.<c>.surge.<k>.<day>.<name>`` (``arrivals``, ``classes``,
``threats``, then the service, detection and targeting streams as above; their class
is the surge's ``class`` or drawn by the region's shares, their threat by the region's
prevalence): adding, moving or removing a surge never shifts any other traveller's
draw. At equal arrival times origin travellers go first, then surges in that order
(as at a single crossing). They count in their crossing's and the region's KPIs.

With ``shared_watchlist`` the watchlist streams are the region's (``region.targeting.
watchlist``) and every watchlist's coverage and false-hit rate become those of the union
of the crossings' lists, ``1 - prod(1 - coverage)``: a traveller listed anywhere is
listed at every crossing that checks a watchlist (a surge's travellers, who reach one
crossing only, draw theirs from the surge's streams).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ...model.events import SurgeEvent, occurrences
from ...model.scenario import Scenario
from ...model.targeting import (
    ByClassStrategy,
    Decision,
    DynamicRule,
    ExploreStrategy,
    LayersStrategy,
    PythonRule,
    RandomStrategy,
    Strategy,
    TargetingContext,
    WatchlistStrategy,
    no_referrals,
)
from ...model.targeting.base import p_refer_if_threat
from ..plan import Plan
from ..sampling import Inputs, sample_arrivals, sample_drain, stream
from .schema import Region

NOT_COUNTED = -1.0
"""Arrival time (minutes) given to travellers a decision is not about: before the run,
so a strategy's counts (``Decision.extra``) leave them out."""


@dataclass(frozen=True)
class SurgeGroup:
    """The travellers of one occurrence of a surge in crossing number ``crossing``'s file:
    traveller numbers ``[start, stop)``, drawing from the streams ``prefix + name``."""

    crossing: int
    start: int
    stop: int
    prefix: str

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class Travellers:
    """Who travels in one replication (one entry per traveller, numbered as above).

    ``origin``: origin index (-1: a surge's traveller); ``depart``: minutes from the
    start of the run (a surge's traveller: its arrival at its crossing); ``cls``: region
    class index; ``u_route``: the uniform an uninformed traveller's crossing is drawn
    with; ``fixed``: the crossing (index) a surge's traveller has already chosen, -1 for
    a traveller who chooses; ``surges``: the surge groups, after the origins' travellers.
    """

    origin: np.ndarray  # int64[N]
    depart: np.ndarray  # float64[N]
    cls: np.ndarray  # int64[N]
    threat: np.ndarray  # bool[N]
    informed: np.ndarray  # bool[N]
    knowing: np.ndarray  # bool[N]
    u_route: np.ndarray  # float64[N]
    fixed: np.ndarray  # int64[N]
    surges: tuple[SurgeGroup, ...] = ()

    @property
    def n(self) -> int:
        return len(self.depart)

    @property
    def n_origin(self) -> int:
        """How many travellers come from the origins (they are numbered first)."""
        return self.surges[0].start if self.surges else self.n


def _draw_classes(region: Region, rng: np.random.Generator, n: int) -> np.ndarray:
    """Region class indices of ``n`` travellers, by the region's class shares."""
    shares = np.cumsum([c.share for c in region.classes.values()])
    return np.minimum(np.searchsorted(shares / shares[-1], rng.random(n), "right"),
                      len(shares) - 1).astype(np.int64)


def sample_travellers(region: Region, seed: int, replication: int,
                      informed_share: float | None = None) -> Travellers:
    """Draw the travellers of one replication (``informed_share`` overrides the file's):
    the origins' travellers, then every surge's (see the module docstring)."""
    spec = region.spec
    share = spec.information.informed_share if informed_share is None else informed_share
    prevalence = np.array([c.threat_prevalence for c in region.classes.values()])
    arrays = [f for f in Travellers.__dataclass_fields__ if f != "surges"]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in arrays}
    for o, (oname, origin) in enumerate(spec.origins.items()):
        def rng(name: str, oname: str = oname) -> np.random.Generator:
            return stream(seed, replication, f"region.{oname}.{name}")

        depart = np.concatenate([  # the counted window, then the drain (its own stream)
            sample_arrivals(origin.hourly(), spec.horizon, rng("departures")),
            sample_drain(origin.hourly(), spec.horizon, spec.run_end, rng("departures.drain"))])
        n = len(depart)
        cls = _draw_classes(region, rng("classes"), n)
        parts["origin"].append(np.full(n, o, dtype=np.int64))
        parts["depart"].append(depart)
        parts["cls"].append(cls)
        parts["threat"].append(rng("threats").random(n) < prevalence[cls])
        parts["informed"].append(rng("informed").random(n) < share)
        parts["knowing"].append(rng("knowledge").random(n) < spec.adversary.knowledge)
        parts["u_route"].append(rng("route").random(n))
        parts["fixed"].append(np.full(n, -1, dtype=np.int64))
    start = sum(len(d) for d in parts["depart"])
    groups = []
    for c, (cname, scenario) in enumerate(region.scenarios.items()):
        for occ in occurrences(scenario.events, spec.run_end):
            event = occ.event
            if not isinstance(event, SurgeEvent):
                continue
            prefix = f"crossing.{cname}.surge.{occ.index}.{occ.day}."

            def srng(name: str, prefix: str = prefix) -> np.random.Generator:
                return stream(seed, replication, prefix + name)

            # as a single crossing's surge (borderesim.run.sampling.sample)
            times = occ.start + np.sort(srng("arrivals").random(event.travellers)) * event.over
            times = times[times < spec.run_end]
            n = len(times)
            cls = (_draw_classes(region, srng("classes"), n) if event.class_ is None else
                   np.full(n, list(region.classes).index(event.class_), dtype=np.int64))
            parts["origin"].append(np.full(n, -1, dtype=np.int64))
            parts["depart"].append(times)
            parts["cls"].append(cls)
            parts["threat"].append(srng("threats").random(n) < prevalence[cls])
            parts["informed"].append(np.zeros(n, dtype=bool))
            parts["knowing"].append(np.zeros(n, dtype=bool))
            parts["u_route"].append(np.zeros(n))
            parts["fixed"].append(np.full(n, c, dtype=np.int64))
            groups.append(SurgeGroup(c, start, start + n, prefix))
            start += n
    return Travellers(**{k: np.concatenate(v) for k, v in parts.items()}, surges=tuple(groups))


def _watchlists(strategy: Strategy | None) -> list[WatchlistStrategy]:
    if isinstance(strategy, WatchlistStrategy):
        return [strategy]
    if isinstance(strategy, LayersStrategy):
        return [w for layer in strategy.layers for w in _watchlists(layer)]
    return []


def _with_watchlist(strategy: Strategy | None, coverage: float, false_hit: float
                    ) -> Strategy | None:
    """``strategy`` with every watchlist's rates replaced (for a shared regional list)."""
    if isinstance(strategy, WatchlistStrategy):
        return strategy.model_copy(update={"coverage": coverage, "false_hit_rate": false_hit})
    if isinstance(strategy, LayersStrategy):
        return strategy.model_copy(update={"layers": [
            _with_watchlist(layer, coverage, false_hit) for layer in strategy.layers]})
    return strategy


def crossing_strategies(region: Region) -> dict[str, Strategy | None]:
    """Each crossing's targeting in force (with the union list under ``shared_watchlist``)."""
    out = {c: sc.targeting for c, sc in region.scenarios.items()}
    if not region.spec.shared_watchlist:
        return out
    lists = [w for s in out.values() for w in _watchlists(s)]
    if not lists:
        return out
    coverage = 1.0 - float(np.prod([1.0 - w.coverage for w in lists]))
    false_hit = 1.0 - float(np.prod([1.0 - w.false_hit_rate for w in lists]))
    return {c: _with_watchlist(s, coverage, false_hit) for c, s in out.items()}


def strategy_stream(region: Region, crossing: str, seed: int, replication: int):
    """The ``ctx.stream`` of a crossing's strategy: its names prefixed ``crossing.<c>.``,
    except the watchlist's under ``shared_watchlist`` (``region.``)."""

    def rng(name: str) -> np.random.Generator:
        shared = region.spec.shared_watchlist and name.startswith("targeting.watchlist")
        prefix = "region." if shared else f"crossing.{crossing}."
        return stream(seed, replication, prefix + name)

    return rng


def learnable_split(strategy: Strategy | None, ctx: TargetingContext
                    ) -> tuple[np.ndarray, np.ndarray]:
    """What a dry run reveals of the queue-blind part of a strategy: (referred by its
    deterministic part, P(referred by its random part)) per traveller of ``ctx``.

    ``random``, ``by_class`` and ``explore`` refer by a fresh draw each time, which a dry
    run cannot learn, unless their rate is 0 or 1; every other strategy (a risk score, a
    watchlist, a user's rule) is a fixed property of the traveller, learnable by dry
    runs. A queue-aware rule (``Decision.dynamic``) is left to the caller
    (:func:`crossing_draws` probes it at a quiet time: see ``CrossingDraws``).
    ``layers`` combine their layers' parts (deterministic: any; random:
    ``1 - prod(1 - p)``), drawing the same streams as ``layers`` does.
    """
    n = ctx.n
    if strategy is None:
        return np.zeros(n, dtype=bool), np.zeros(n)
    if isinstance(strategy, LayersStrategy):
        used: dict[str, int] = {}

        def layered(name: str) -> np.random.Generator:
            used[name] = used.get(name, 0) + 1
            return ctx.stream(name if used[name] == 1 else f"{name}#{used[name]}")

        inner = replace(ctx, stream=layered)
        det, miss = np.zeros(n, dtype=bool), np.ones(n)
        for layer in strategy.layers:
            d, p = learnable_split(layer, inner)
            det |= d
            miss *= 1.0 - p
        return det, 1.0 - miss
    decision = strategy.decide(ctx)
    if isinstance(strategy, RandomStrategy | ByClassStrategy | ExploreStrategy):
        p = np.asarray(decision.p_refer_if_threat, dtype=float)
        return p >= 1.0, np.where((p > 0) & (p < 1), p, 0.0)
    return np.asarray(decision.refer, dtype=bool), np.zeros(n)


@dataclass(frozen=True)
class CrossingDraws:
    """What every traveller of the region would meet at one crossing (arrays over all N).

    ``arrival``: departure + travel (minutes; NaN where the origin has no road there).
    ``decision``: the crossing's targeting with the travellers' real threat flags.
    ``p_threat``: P(referred were they a threat), at an empty queue; ``static`` and
    ``random_p``: :func:`learnable_split` of the traveller as a threat; ``score``: their
    score as a threat under a queue-aware rule (score units; ``-inf`` without one);
    ``learnable``: what a probing threat's dry run reveals, referred by ``static`` or by
    the queue-aware rule *at a quiet time* (``score >= threshold``, nobody waiting: the
    posted wait does not say how many wait at the referral stage, so a dry run has no
    better-defined queue; as the threshold only rises with the queue, a threat passing
    it passes at any queue, and one it refers stays away even when a busy queue would
    have let it through); ``detect``: P(detected were they a threat) at this crossing
    with nobody waved through.
    """

    arrival: np.ndarray
    cls: np.ndarray
    threat: np.ndarray
    service: np.ndarray
    caught: np.ndarray
    decision: Decision
    p_threat: np.ndarray
    learnable: np.ndarray
    random_p: np.ndarray
    detect: np.ndarray
    static: np.ndarray
    score: np.ndarray


def stage_misses(plan: Plan) -> tuple[float, float]:
    """(P(missed by every stage all visit), P(missed by every ``visits: referred`` stage))."""
    miss = 1.0 - plan.detect_p
    return float(np.prod(miss[~plan.stage_referred])), float(np.prod(miss[plan.stage_referred]))


def _context(scenario: Scenario, arrival: np.ndarray, cls: np.ndarray, threat: np.ndarray,
             rng) -> TargetingContext:
    return TargetingContext(scenario=scenario, arrival=np.where(np.isnan(arrival), NOT_COUNTED,
                                                                arrival),
                            cls=cls, threat=threat, stream=rng)


def _decide(strategy: Strategy | None, ctx: TargetingContext) -> Decision:
    return strategy.decide(ctx) if strategy is not None else no_referrals(ctx)


Streams = Callable[[str], np.random.Generator]
"""A named-stream function: stream name -> generator."""


def crossing_groups(region: Region, crossing: str, people: Travellers, seed: int,
                    replication: int) -> list[tuple[slice, Streams, Streams]]:
    """The groups of travellers who may reach ``crossing``, each as (traveller numbers,
    its streams, its strategy's streams): the origins' travellers (``crossing.<c>.``;
    :func:`strategy_stream`), then each surge at the crossing (the surge's own streams)."""

    def rng(name: str) -> np.random.Generator:
        return stream(seed, replication, f"crossing.{crossing}.{name}")

    out = [(slice(0, people.n_origin), rng, strategy_stream(region, crossing, seed, replication))]
    c = region.crossing_names.index(crossing)
    for group in people.surges:
        if group.crossing == c:
            def surge(name: str, prefix: str = group.prefix) -> np.random.Generator:
                return stream(seed, replication, prefix + name)

            out.append((group.slice, surge, surge))
    return out


def crossing_draws(region: Region, crossing: str, plan: Plan, strategy: Strategy | None,
                   people: Travellers, seed: int, replication: int) -> CrossingDraws:
    """Draw what every traveller would meet at ``crossing`` (see :class:`CrossingDraws`),
    group by group (:func:`crossing_groups`); a surge's traveller at another crossing
    never arrives here (NaN) and meets nothing."""
    travel = np.array([o.travel.get(crossing, np.nan) for o in region.spec.origins.values()])
    arrival = np.full(people.n, np.nan)
    n_o = people.n_origin
    arrival[:n_o] = people.depart[:n_o] + travel[people.origin[:n_o]]
    mine = people.fixed == region.crossing_names.index(crossing)
    arrival[mine] = people.depart[mine]
    cls = np.asarray(region.class_map[crossing], dtype=np.int64)[people.cls]
    parts = [(where, _group_draws(region, crossing, plan, strategy, arrival[where], cls[where],
                                  people.threat[where], rng, strat_rng))
             for where, rng, strat_rng in crossing_groups(region, crossing, people, seed,
                                                          replication)]
    if len(parts) == 1 and n_o == people.n:
        return parts[0][1]
    return _join(parts, plan, arrival, cls, people.threat)


def _group_draws(region: Region, crossing: str, plan: Plan, strategy: Strategy | None,
                 arrival: np.ndarray, cls: np.ndarray, threat: np.ndarray, rng: Streams,
                 strat_rng: Streams) -> CrossingDraws:
    """What the travellers of one group would meet at ``crossing`` (``cls``: the
    crossing's class indices), drawn from the group's streams ``rng`` and ``strat_rng``."""
    from ..sampling import _lane_services

    scenario = region.scenarios[crossing]
    n = len(arrival)
    service = np.empty((plan.n_lanes, n))
    for lane, (name, dist) in enumerate(_lane_services(scenario)):
        service[lane] = dist.draw(rng(name), n)
    caught = np.empty((plan.n_stages, n), dtype=bool)
    for s, sname in enumerate(plan.stage_names):
        caught[s] = threat & (rng(f"detect.{sname}").random(n) < plan.detect_p[s])
    actual = _decide(strategy, _context(scenario, arrival, cls, threat, strat_rng))
    as_threat = _context(scenario, arrival, cls, np.ones(n, dtype=bool), strat_rng)
    dry = _decide(strategy, as_threat)
    rule = dry.dynamic
    thresholds = np.full(n, rule.threshold if isinstance(rule, DynamicRule) else np.nan)
    p_threat = p_refer_if_threat(np.asarray(dry.p_refer_if_threat, dtype=float), rule,
                                 thresholds)
    static, random_p = learnable_split(strategy, as_threat)
    score = rule.score if isinstance(rule, DynamicRule) else np.full(n, -np.inf)
    learnable = static | (score >= rule.threshold) if isinstance(rule, DynamicRule) else static
    miss_all, miss_ref = stage_misses(plan)
    if plan.stage_referred.any():
        detect = 1.0 - miss_all * (1.0 - p_threat * (1.0 - miss_ref))
    else:
        detect = np.full(n, 1.0 - miss_all)
    return CrossingDraws(arrival, cls, threat, service, caught, actual, p_threat, learnable,
                         random_p, detect, static, score)


def _join(parts: list[tuple[slice, CrossingDraws]], plan: Plan, arrival: np.ndarray,
          cls: np.ndarray, threat: np.ndarray) -> CrossingDraws:
    """One ``CrossingDraws`` over every traveller from the groups' (nothing elsewhere:
    never referred, never detected)."""
    n = len(arrival)
    service = np.zeros((plan.n_lanes, n))
    caught = np.zeros((plan.n_stages, n), dtype=bool)
    refer, p_refer = np.zeros(n, dtype=bool), np.zeros(n)
    p_threat, learnable, random_p, detect = np.zeros(n), np.zeros(n, bool), np.zeros(n), \
        np.zeros(n)
    static, score = np.zeros(n, dtype=bool), np.full(n, -np.inf)
    extra: dict[str, float] = {}
    for where, d in parts:
        service[:, where], caught[:, where] = d.service, d.caught
        refer[where] = np.asarray(d.decision.refer, dtype=bool)
        p_refer[where] = np.asarray(d.decision.p_refer_if_threat, dtype=float)
        p_threat[where], learnable[where], random_p[where], detect[where] = \
            d.p_threat, d.learnable, d.random_p, d.detect
        static[where], score[where] = d.static, d.score
        for key, value in d.decision.extra.items():
            extra[key] = extra.get(key, 0.0) + value
    decision = Decision(refer, p_refer, _join_rules(parts, n), extra)
    return CrossingDraws(arrival, cls, threat, service, caught, decision, p_threat, learnable,
                         random_p, detect, static, score)


def _join_rules(parts: list[tuple[slice, CrossingDraws]], n: int
                ) -> DynamicRule | PythonRule | None:
    """The groups' queue-aware rules as one over every traveller (numbered globally)."""
    rules = [(where, d.decision.dynamic) for where, d in parts]
    present = [r for _, r in rules if r is not None]
    if not present:
        return None
    first = present[0]
    if isinstance(first, DynamicRule):
        score, mean = np.full(n, -np.inf), np.full(n, -np.inf)  # -inf: never referred
        for where, r in rules:
            if r is None:
                continue
            if not (isinstance(r, DynamicRule) and r.threshold == first.threshold
                    and r.per_waiting == first.per_waiting):
                raise ValueError("a surge's travellers got a different queue-aware rule")
            score[where], mean[where] = r.score, r.threat_mean
        return DynamicRule(score=score, threshold=first.threshold,
                           per_waiting=first.per_waiting, threat_mean=mean)
    owner = np.full(n, -1, dtype=np.int64)
    for k, (where, _) in enumerate(rules):
        owner[where] = k

    def decide(i: int, waiting: int) -> bool:
        k = int(owner[i])
        where, rule = rules[k] if k >= 0 else (slice(0, 0), None)
        return isinstance(rule, PythonRule) and bool(rule.decide(i - where.start, waiting))

    return PythonRule(decide)


def routed_extra(region: Region, crossing: str, strategy: Strategy | None,
                 people: Travellers, draws: CrossingDraws, here: np.ndarray, seed: int,
                 replication: int) -> dict[str, float]:
    """The strategy's counts (``Decision.extra``) over the travellers routed to
    ``crossing`` only (``here``: bool over every traveller), group by group."""
    if strategy is None:
        return {}
    scenario = region.scenarios[crossing]
    out: dict[str, float] = {}
    for where, _, strat_rng in crossing_groups(region, crossing, people, seed, replication):
        arrival = np.where(here[where], draws.arrival[where], NOT_COUNTED)
        ctx = TargetingContext(scenario=scenario, arrival=arrival, cls=draws.cls[where],
                               threat=draws.threat[where], stream=strat_rng)
        for key, value in strategy.decide(ctx).extra.items():
            out[key] = out.get(key, 0.0) + value
    return out


def crossing_inputs(draws: CrossingDraws, who: np.ndarray, seed: int, replication: int,
                    extra: dict[str, float] | None = None) -> Inputs:
    """The ``Inputs`` of one crossing: the travellers ``who`` (global indices, already in
    arrival order) with their draws."""
    d = draws.decision
    rule = d.dynamic
    if isinstance(rule, DynamicRule):
        rule = DynamicRule(score=rule.score[who], threshold=rule.threshold,
                           per_waiting=rule.per_waiting, threat_mean=rule.threat_mean[who])
    elif isinstance(rule, PythonRule):
        decide = rule.decide
        rule = PythonRule(lambda i, waiting: decide(int(who[i]), waiting))
    return Inputs(
        seed=seed,
        replication=replication,
        arrival=draws.arrival[who],
        cls=draws.cls[who],
        threat=draws.threat[who],
        service=np.ascontiguousarray(draws.service[:, who]),
        caught=np.ascontiguousarray(draws.caught[:, who]),
        refer=np.asarray(d.refer, dtype=bool)[who],
        p_refer_if_threat=np.asarray(d.p_refer_if_threat, dtype=float)[who],
        dynamic=rule,
        extra=dict(extra or {}),
    )
