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

With ``shared_watchlist`` the watchlist streams are the region's (``region.targeting.
watchlist``) and every watchlist's coverage and false-hit rate become those of the union
of the crossings' lists, ``1 - prod(1 - coverage)``: a traveller listed anywhere is
listed at every crossing that checks a watchlist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

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
class Travellers:
    """Who travels in one replication (one entry per traveller, numbered as above).

    ``depart``: minutes from the start of the run; ``cls``: region class index;
    ``u_route``: the uniform an uninformed traveller's crossing is drawn with.
    """

    origin: np.ndarray  # int64[N]
    depart: np.ndarray  # float64[N]
    cls: np.ndarray  # int64[N]
    threat: np.ndarray  # bool[N]
    informed: np.ndarray  # bool[N]
    knowing: np.ndarray  # bool[N]
    u_route: np.ndarray  # float64[N]

    @property
    def n(self) -> int:
        return len(self.depart)


def sample_travellers(region: Region, seed: int, replication: int,
                      informed_share: float | None = None) -> Travellers:
    """Draw the travellers of one replication (``informed_share`` overrides the file's)."""
    spec = region.spec
    share = spec.information.informed_share if informed_share is None else informed_share
    shares = np.cumsum([c.share for c in region.classes.values()])
    prevalence = np.array([c.threat_prevalence for c in region.classes.values()])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in Travellers.__dataclass_fields__}
    for o, (oname, origin) in enumerate(spec.origins.items()):
        def rng(name: str, oname: str = oname) -> np.random.Generator:
            return stream(seed, replication, f"region.{oname}.{name}")

        depart = np.concatenate([  # the counted window, then the drain (its own stream)
            sample_arrivals(origin.hourly(), spec.horizon, rng("departures")),
            sample_drain(origin.hourly(), spec.horizon, spec.run_end, rng("departures.drain"))])
        n = len(depart)
        cls = np.minimum(np.searchsorted(shares / shares[-1], rng("classes").random(n), "right"),
                         len(shares) - 1).astype(np.int64)
        parts["origin"].append(np.full(n, o, dtype=np.int64))
        parts["depart"].append(depart)
        parts["cls"].append(cls)
        parts["threat"].append(rng("threats").random(n) < prevalence[cls])
        parts["informed"].append(rng("informed").random(n) < share)
        parts["knowing"].append(rng("knowledge").random(n) < spec.adversary.knowledge)
        parts["u_route"].append(rng("route").random(n))
    return Travellers(**{k: np.concatenate(v) for k, v in parts.items()})


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
    """What a dry run reveals: (referred by the deterministic part, P(referred by the
    random part)) per traveller of ``ctx``.

    ``random``, ``by_class`` and ``explore`` refer by a fresh draw each time, which a dry
    run cannot learn, unless their rate is 0 or 1; every other strategy (a risk score, a
    watchlist, a user's rule) is a fixed property of the traveller, learnable by dry
    runs (a queue-aware threshold is taken at an empty queue). ``layers`` combine their
    layers' parts (deterministic: any; random: ``1 - prod(1 - p)``), drawing the same
    streams as ``layers`` does.
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
    refer = np.asarray(decision.refer, dtype=bool)
    rule = decision.dynamic
    if isinstance(rule, DynamicRule):
        refer = refer | (rule.score >= rule.threshold)
    return refer, np.zeros(n)


@dataclass(frozen=True)
class CrossingDraws:
    """What every traveller of the region would meet at one crossing (arrays over all N).

    ``arrival``: departure + travel (minutes; NaN where the origin has no road there).
    ``decision``: the crossing's targeting with the travellers' real threat flags.
    ``p_threat``: P(referred were they a threat), at an empty queue; ``learnable`` and
    ``random_p``: :func:`learnable_split` of the traveller as a threat; ``detect``:
    P(detected were they a threat) at this crossing with nobody waved through.
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


def crossing_draws(region: Region, crossing: str, plan: Plan, strategy: Strategy | None,
                   people: Travellers, seed: int, replication: int) -> CrossingDraws:
    """Draw what every traveller would meet at ``crossing`` (see :class:`CrossingDraws`)."""
    from ..sampling import _lane_services

    scenario = region.scenarios[crossing]
    travel = np.array([o.travel.get(crossing, np.nan) for o in region.spec.origins.values()])
    arrival = people.depart + travel[people.origin]
    cls = np.asarray(region.class_map[crossing], dtype=np.int64)[people.cls]
    n = people.n

    def rng(name: str) -> np.random.Generator:
        return stream(seed, replication, f"crossing.{crossing}.{name}")

    service = np.empty((plan.n_lanes, n))
    for lane, (name, dist) in enumerate(_lane_services(scenario)):
        service[lane] = dist.draw(rng(name), n)
    caught = np.empty((plan.n_stages, n), dtype=bool)
    for s, sname in enumerate(plan.stage_names):
        caught[s] = people.threat & (rng(f"detect.{sname}").random(n) < plan.detect_p[s])
    strat_rng = strategy_stream(region, crossing, seed, replication)
    actual = _decide(strategy, _context(scenario, arrival, cls, people.threat, strat_rng))
    as_threat = _context(scenario, arrival, cls, np.ones(n, dtype=bool), strat_rng)
    dry = _decide(strategy, as_threat)
    rule = dry.dynamic
    thresholds = np.full(n, rule.threshold if isinstance(rule, DynamicRule) else np.nan)
    p_threat = p_refer_if_threat(np.asarray(dry.p_refer_if_threat, dtype=float), rule,
                                 thresholds)
    learnable, random_p = learnable_split(strategy, as_threat)
    miss_all, miss_ref = stage_misses(plan)
    if plan.stage_referred.any():
        detect = 1.0 - miss_all * (1.0 - p_threat * (1.0 - miss_ref))
    else:
        detect = np.full(n, 1.0 - miss_all)
    return CrossingDraws(arrival, cls, people.threat, service, caught, actual, p_threat, learnable,
                         random_p, detect)


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
