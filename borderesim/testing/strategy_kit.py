"""Check that a targeting strategy keeps the contract every engine and analysis relies on.

``check_strategy(strategy, scenario)`` runs the strategy's ``decide`` on the scenario's
sampled travellers for a few replications and raises ``AssertionError`` listing every
problem (``strategy_problems`` returns the list instead):

* shapes and types: ``refer`` bool[n], ``p_refer_if_threat`` float[n] in [0, 1], a
  ``DynamicRule``'s ``score`` float[n] (no NaN), ``per_waiting >= 0`` and its
  P(refer | threat) at a threshold (``targeting.base.p_refer_if_threat``) float[n] in
  [0, 1], never rising with the threshold;
  a ``PythonRule`` only on a strategy that declares ``simpy_only``; ``extra`` finite;
* streams: it draws only from ``targeting.*`` streams, and the same streams give the same
  decision (twice in a row, and as ``sampling.sample`` made it); it does not change the
  travellers it is shown;
* pairing across knob values (common random numbers): along the strategy's main knob,
  from fewest referrals to most, every traveller referred at a lower setting is still
  referred at a higher one (static choice, and the queue-aware rule at several queue
  lengths), and ``p_refer_if_threat`` does not fall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..analysis.compare import Variant, knob_variants, with_targeting
from ..model.scenario import Scenario
from ..model.targeting import Decision, DynamicRule, PythonRule, Strategy, TargetingContext
from ..model.targeting.base import p_refer_if_threat as rule_p_refer
from ..run.engines.fast.support import supports
from ..run.plan import make_plan
from ..run.sampling import Inputs, sample, stream

WAITING = (0, 1, 5, 50)
"""Queue lengths at which a queue-aware rule's referrals are compared across knob values."""
STREAM_PREFIX = "targeting."
"""Every stream a strategy draws from is named with this prefix."""


@dataclass(frozen=True)
class StrategyCheck:
    """What ``check_strategy`` looked at: travellers per replication, streams, knob settings."""

    travellers: tuple[int, ...]
    streams: tuple[str, ...]
    settings: tuple[str, ...]


def _with(scenario: Scenario, strategy: Strategy | dict) -> Scenario:
    """``scenario`` with ``strategy`` as its targeting, after the strategy's ``check``.

    A block (mapping) is validated as a scenario file's would be; a ``Strategy`` object is
    used as it is, so a strategy need not be registered to be checked.
    """
    if isinstance(strategy, dict):
        return with_targeting(scenario, Variant("strategy", strategy))
    strategy.check(scenario)
    return scenario.model_copy(update={"targeting": strategy})


def _decide(scenario: Scenario, seed: int, replication: int,
            used: set[str] | None = None) -> tuple[Decision, TargetingContext, Inputs]:
    """The scenario's strategy decided on replication ``replication``'s travellers.

    The travellers are sampled without the strategy (so it cannot change them); the
    context holds copies, the returned ``Inputs`` the originals.
    """
    bare = scenario.model_copy(update={"targeting": None})
    inputs = sample(bare, make_plan(bare), seed, replication)

    def named(name: str) -> np.random.Generator:
        if used is not None:
            used.add(name)
        return stream(seed, replication, name)

    ctx = TargetingContext(scenario=scenario, arrival=inputs.arrival.copy(),
                           cls=inputs.cls.copy(), threat=inputs.threat.copy(), stream=named)
    return scenario.targeting.decide(ctx), ctx, inputs


def _array_problems(name: str, x: object, n: int, kind: str) -> list[str]:
    """Problems with ``x`` as a numpy array of ``n`` entries of dtype kind ``kind``."""
    if not isinstance(x, np.ndarray):
        return [f"{name}: a {type(x).__name__}, not a numpy array"]
    out = []
    if x.shape != (n,):
        out.append(f"{name}: shape {x.shape}, expected ({n},)")
    if x.dtype.kind not in kind:
        out.append(f"{name}: dtype {x.dtype}, expected kind {kind!r}")
    return out


def _probability_problems(name: str, p: object, n: int) -> list[str]:
    """Problems with ``p`` as ``n`` probabilities (numbers in [0, 1], NaN not allowed)."""
    out = _array_problems(name, p, n, "fiub")
    if not out:
        bad = ~((p >= 0) & (p <= 1))
        if bad.any():
            out.append(f"{name}: {int(bad.sum())} value(s) outside [0, 1], e.g. "
                       f"{p[np.flatnonzero(bad)[0]]!r}")
    return out


def decision_problems(decision: Decision, n: int) -> list[str]:
    """Shape, type and range problems of one ``Decision`` for ``n`` travellers."""
    out = _array_problems("refer", decision.refer, n, "b")
    out += _probability_problems("p_refer_if_threat", decision.p_refer_if_threat, n)
    dyn = decision.dynamic
    if isinstance(dyn, DynamicRule):
        score = dyn.score
        out += [f"dynamic.{line}" for line in _array_problems("score", score, n, "f")]
        if isinstance(score, np.ndarray) and np.isnan(score).any():
            out.append("dynamic.score: NaN (use -inf for a traveller the rule never refers)")
        if not (np.isfinite(dyn.per_waiting) and dyn.per_waiting >= 0):
            out.append(f"dynamic.per_waiting: {dyn.per_waiting!r}, expected a finite number >= 0")
        if np.isnan(dyn.threshold):
            out.append("dynamic.threshold: NaN")
        lo = np.full(n, float(dyn.threshold))
        out += [f"dynamic.{line}" for line in _array_problems("threat_mean", dyn.threat_mean,
                                                              n, "f")]
        p_lo = np.asarray(rule_p_refer(np.zeros(n), dyn, lo))
        p_hi = np.asarray(rule_p_refer(np.zeros(n), dyn, lo + 1.0))
        out += [f"dynamic.{line}" for line in _probability_problems(
            "p_refer_if_threat(threshold)", p_lo, n)]
        if p_lo.shape == p_hi.shape == (n,) and np.any(p_hi > p_lo + 1e-12):
            out.append("dynamic.p_refer_if_threat rises with the threshold")
    elif dyn is not None and not isinstance(dyn, PythonRule):
        out.append(f"dynamic: a {type(dyn).__name__}, expected DynamicRule, PythonRule or None")
    for key, value in decision.extra.items():
        if not np.isfinite(value):
            out.append(f"extra[{key!r}]: {value!r} is not finite")
    return out


def _same_decision(a: Decision, b: Decision) -> bool:
    """Whether two decisions refer the same travellers with the same rule and counts."""
    same = (np.array_equal(a.refer, b.refer)
            and np.array_equal(a.p_refer_if_threat, b.p_refer_if_threat, equal_nan=True)
            and a.extra == b.extra and type(a.dynamic) is type(b.dynamic))
    if same and isinstance(a.dynamic, DynamicRule):
        same = (np.array_equal(a.dynamic.score, b.dynamic.score)
                and a.dynamic.threshold == b.dynamic.threshold
                and a.dynamic.per_waiting == b.dynamic.per_waiting)
    return same


def referred_at(decision: Decision, waiting: int) -> np.ndarray:
    """Who is referred when ``waiting`` travellers wait at the referred stage (bool[n]).

    The static choice OR the queue-aware rule; a ``PythonRule`` is not evaluated.
    """
    refer = np.asarray(decision.refer, dtype=bool)
    dyn = decision.dynamic
    if isinstance(dyn, DynamicRule):
        refer = refer | (dyn.score >= dyn.threshold + dyn.per_waiting * waiting)
    return refer


def knob_settings(scenario: Scenario) -> list[Variant]:
    """The scenario's strategy at each setting of its main knob, fewest referrals first.

    From the strategy's own ``tradeoff`` (empty when it has no main knob).
    """
    return knob_variants(scenario.targeting)[0]


def pairing_problems(decisions: Sequence[Decision], labels: Sequence[str]) -> list[str]:
    """Problems with decisions made on the same streams, ordered from fewest referrals."""
    out = []
    for k in range(1, len(decisions)):
        lo, hi = decisions[k - 1], decisions[k]
        where = f"{labels[k - 1]} -> {labels[k]}"
        for waiting in WAITING:
            lost = referred_at(lo, waiting) & ~referred_at(hi, waiting)
            if lost.any():
                out.append(f"{where}: {int(lost.sum())} traveller(s) referred at the lower "
                           f"setting but not the higher (waiting {waiting}), e.g. traveller "
                           f"{int(np.flatnonzero(lost)[0])}; draws are not paired")
                break
        fell = np.asarray(hi.p_refer_if_threat) < np.asarray(lo.p_refer_if_threat) - 1e-12
        if fell.any():
            out.append(f"{where}: p_refer_if_threat falls for {int(fell.sum())} traveller(s)")
    return out


def strategy_problems(
    strategy: Strategy, scenario: Scenario, seed: int = 1, replications: int = 2,
    variants: Sequence[Strategy | dict] | None = None,
) -> tuple[list[str], StrategyCheck]:
    """Every problem ``check_strategy`` finds, and what it checked.

    ``variants``: the strategy at settings of its knob, fewest referrals first (default:
    ``knob_settings``); ``scenario`` gives the travellers (its own targeting is replaced).
    """
    own = _with(scenario, strategy)
    if variants is None:
        settings = knob_settings(own)
        scenarios = [with_targeting(own, v) for v in settings]
        labels = [v.label if v.knob is None else f"{v.knob}={v.value:g}" for v in settings]
    else:
        scenarios = [_with(own, v) for v in variants]
        labels = [f"setting {k}" for k in range(len(variants))]
    problems: list[str] = []
    used: set[str] = set()
    sizes = []
    for rep in range(replications):
        decision, ctx, inputs = _decide(own, seed, rep, used)
        shown = (inputs.arrival, inputs.cls, inputs.threat)
        sizes.append(ctx.n)
        found = decision_problems(decision, ctx.n)
        if isinstance(decision.dynamic, PythonRule) and supports(own) is None:
            found.append("dynamic: a PythonRule, but no strategy sets simpy_only, so "
                         "--engine auto would not know to use SimPy")
        if not all(np.array_equal(a, b) for a, b in zip(shown, (ctx.arrival, ctx.cls, ctx.threat),
                                                          strict=True)):
            found.append("decide changed the travellers it was shown (arrival, cls or threat)")
        if not found:
            again, _, _ = _decide(own, seed, rep)
            inputs = sample(own, make_plan(own), seed, rep)
            piped = replace(decision, refer=inputs.refer,
                            p_refer_if_threat=inputs.p_refer_if_threat,
                            dynamic=inputs.dynamic, extra=inputs.extra)
            if not _same_decision(decision, again):
                found.append("the same streams gave a different decision the second time")
            elif not _same_decision(decision, piped):
                found.append("sampling.sample recorded a different decision from the same streams")
        if not found and scenarios:
            found += pairing_problems([_decide(sc, seed, rep)[0] for sc in scenarios], labels)
        problems += [f"replication {rep}: {line}" for line in found]
    foreign = sorted(name for name in used if not name.startswith(STREAM_PREFIX))
    if foreign:
        problems.append(f"draws from stream(s) {foreign}: a strategy's own streams are named "
                        f"'{STREAM_PREFIX}<name>' so its draws are independent of the "
                        "travellers' (arrivals, classes, threats, service times)")
    return problems, StrategyCheck(tuple(sizes), tuple(sorted(used)), tuple(labels))


def check_strategy(
    strategy: Strategy, scenario: Scenario, seed: int = 1, replications: int = 2,
    variants: Sequence[Strategy | dict] | None = None,
) -> StrategyCheck:
    """Raise ``AssertionError`` listing every contract problem of ``strategy`` (see the
    module docstring); return what was checked. Arguments as ``strategy_problems``."""
    problems, checked = strategy_problems(strategy, scenario, seed, replications, variants)
    if problems:
        name = getattr(strategy, "strategy", type(strategy).__name__)
        raise AssertionError(f"strategy {name!r}: {len(problems)} problem(s)\n  "
                             + "\n  ".join(problems))
    return checked
