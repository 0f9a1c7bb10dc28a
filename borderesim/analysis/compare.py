"""Compare targeting strategies on the same travellers, with paired differences.

A strategies file names targeting blocks::

    strategies:
      profile: {strategy: by_class, referral_rate: {general: 0.04, ready: 0.01}}
      risk:    {strategy: risk_score, auc: 0.85, referral_rate: [0.01, 0.02, 0.04, 0.08]}

A list of numbers anywhere in a block is a sweep: the strategy runs once per value
(one swept knob per strategy; it may sit inside ``layers`` or a ``fallback``).
Every variant replaces the scenario's ``targeting`` and runs with the same seed and
replications, so replication r of every variant sees the same travellers, service
times and threat flags (common random numbers). Differences from the baseline (the
first variant of the first strategy listed) are taken replication by replication:
a Student-t 95 % interval for means; for a pooled percentile (``wait_p95``) the
difference of the pooled values with a t-interval on paired per-replication influences
(the linearisation behind its Woodruff interval, :mod:`borderesim.analysis.quantiles`); paired,
so far narrower than the difference of two independent intervals.

A policies file (``compare --policies``) compares *response policies* instead: each
names changes to the scenario's ``stages`` and ``targeting``, deep-merged into it
(mappings key by key, anything else replaced), run as written (no sweeps)::

    policies:
      no reserve: {}
      reserve of 2:
        stages: {primary: {reserve: {officers: 2, open_above: 40, close_below: 10,
                                     call_in: 15min}}}
      flushing: {stages: {secondary: {flush_above: 15}}}
      referral rises with the queue:
        targeting: {strategy: risk_score, auc: 0.85, threshold: 1.6, per_waiting: 0.05}

Only those two fields may change, so every policy sees the same travellers and
shocks; the table then shows the shock KPIs (``shocks.py``) of the stages concerned.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ScenarioError
from ..model.scenario import (
    Scenario,
    deep_merge,
    load_scenario,
    read_named_section,
    validate,
)
from ..model.targeting import Strategy
from ..output.serialize import to_jsonable
from ..run.simulate import Result, simulate
from .kpis import is_declared, kpi_info
from .metrics import confidence_interval, pooled_difference

KEY_KPIS = (
    "detection_rate",
    "threats_missed_per_day",
    "wait_p95",
    "referral_rate",
    "false_referral_rate",
    "innocent_delay_mean",
    "fairness.disparity_ratio",
    "watchlist.hits",
)
"""KPIs shown in the comparison table and differenced against the baseline."""

POLICY_FIELDS = ("stages", "targeting")
"""Scenario fields a policy may change (the travellers and shocks stay the same)."""


@dataclass(frozen=True)
class Variant:
    """One targeting block to run: a named strategy, at one value of its swept knob."""

    group: str
    targeting: dict[str, Any] | None
    knob: str | None = None
    value: float | None = None
    changes: dict[str, Any] | None = None
    """A response policy's changes to ``stages``/``targeting`` (``None``: a strategy)."""

    @property
    def label(self) -> str:
        """``group`` alone, or ``group knob=value`` for a sweep."""
        if self.knob is None:
            return self.group
        return f"{self.group} {self.knob.rsplit('.', 1)[-1]}={self.value:g}"


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def find_sweeps(block: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], list]]:
    """Every non-empty list of numbers inside ``block``, with its path (other lists are walked)."""
    found = []
    if isinstance(block, dict):
        for key, value in block.items():
            found += find_sweeps(value, (*path, str(key)))
    elif isinstance(block, list):
        if block and all(_is_number(v) for v in block):
            found.append((path, block))
        else:
            for i, value in enumerate(block):
                found += find_sweeps(value, (*path, str(i)))
    return found


def _set(block: Any, path: tuple[str, ...], value: Any) -> Any:
    out = copy.deepcopy(block)
    node = out
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value
    return out


def expand(group: str, block: Any, source: str | None = None) -> list[Variant]:
    """The variants of one named strategy: one, or one per value of its swept knob."""
    where = f"strategies.{group}"
    if not isinstance(block, dict):
        raise ScenarioError(f"expected a targeting block (a mapping), got {block!r}", source,
                            where)
    sweeps = find_sweeps(block)
    if not sweeps:
        return [Variant(group, block)]
    if len(sweeps) > 1:
        knobs = " and ".join(".".join(p) for p, _ in sweeps)
        raise ScenarioError(f"sweep one knob per strategy; lists found at {knobs}", source, where)
    path, values = sweeps[0]
    knob = ".".join(path)
    return [Variant(group, _set(block, path, v), knob, float(v)) for v in values]


def knob_variants(strategy: Strategy | None) -> tuple[list[Variant], int, str]:
    """``strategy`` at each setting of its main knob, fewest referrals first
    (``Strategy.tradeoff``), the index of its own setting and the settings in words;
    ``[], -1, why`` when there is no strategy or it has no main knob."""
    if strategy is None:
        return [], -1, "the scenario has no targeting strategy: nobody is referred"
    sweep = strategy.tradeoff()
    if sweep is None:
        return [], -1, f"strategy '{strategy.strategy}' has no referral knob to vary"
    variants = [Variant(strategy.strategy, s.model_dump(mode="json", exclude_none=True),
                        sweep.knob, v) for v, s in zip(sweep.values, sweep.strategies,
                                                       strict=True)]
    return variants, sweep.own, sweep.note


def load_strategies(path: str | Path) -> list[Variant]:
    """Read a strategies file into the variants to run, in the order listed."""
    source, strategies = read_named_section(path, "strategies file", "strategies",
                                            "needs a mapping of named targeting blocks")
    variants: list[Variant] = []
    for group, block in strategies.items():
        variants += expand(str(group), block, source)
    return variants


def load_policies(path: str | Path) -> list[Variant]:
    """Read a policies file into the variants to run, in the order listed."""
    source, policies = read_named_section(path, "policies file", "policies",
                                          "needs a mapping of named policies")
    variants = []
    for name, block in policies.items():
        where = f"policies.{name}"
        block = {} if block is None else block
        if not isinstance(block, dict):
            raise ScenarioError(f"expected a mapping of scenario changes, got {block!r}", source,
                                where)
        for key in block:
            if key not in POLICY_FIELDS:
                raise ScenarioError(f"a policy may change only {' and '.join(POLICY_FIELDS)}",
                                    source, f"{where}.{key}")
        variants.append(Variant(str(name), block.get("targeting"), changes=block))
    return variants


def with_policy(scenario: Scenario, variant: Variant, source: str | None = None) -> Scenario:
    """``scenario`` with a policy's changes deep-merged in (validated); problems are
    reported against the policies file (``policies.NAME (scenario stages.x...)``)."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    try:
        return validate(deep_merge(data, variant.changes or {}))
    except ScenarioError as exc:
        where = f"policies.{variant.group}"
        path = where if not exc.path else f"{where} (scenario {exc.path})"
        raise ScenarioError(exc.problem, source, path) from None


def policy_kpis(scenarios: list[Scenario]) -> tuple[str, ...]:
    """KPIs shown for response policies: overall wait and detection, reserve hours, and
    the peak queue, recovery and flushing of every stage a shock or a policy touches."""
    from ..model.events import OutageEvent, SlowdownEvent

    base = scenarios[0]
    stages = {e.stage for e in base.events if isinstance(e, OutageEvent | SlowdownEvent)}
    for sc in scenarios:
        stages |= {name for name, st in sc.stages.items()
                   if st.reserve is not None or st.flush_above is not None}
    ordered = [name for name in base.stages if name in stages] or [next(iter(base.stages))]
    kpis = ["wait_p95", "detection_rate"]
    if base.events:
        kpis.append("detection_rate.shock")
    kpis.append("reserve_officer_hours")
    for name in ordered:
        kpis.append(f"{name}.queue_peak")
        if base.events:
            kpis += [f"{name}.recovery_min", f"{name}.flushed_in_shock"]
    return tuple(kpis)


def with_targeting(scenario: Scenario, variant: Variant, source: str | None = None) -> Scenario:
    """``scenario`` with its targeting replaced by the variant's block (validated).

    Problems in the block are reported against the strategies file: the field path
    ``strategies.NAME...`` instead of ``targeting...``.
    """
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["targeting"] = variant.targeting
    try:
        return validate(data)
    except ScenarioError as exc:
        where = f"strategies.{variant.group}"
        path = exc.path or ""
        if path == "targeting" or path.startswith("targeting."):
            path = where + path[len("targeting"):]
        else:
            path = where if not path else f"{where} (scenario {path})"
        problem = exc.problem
        if variant.knob is not None and not path.endswith(f".{variant.knob}"):
            problem += f" (with {variant.knob} = {variant.value:g})"
        raise ScenarioError(problem, source, path) from None


@dataclass
class Comparison:
    """Results of every variant on one seed; ``baseline`` indexes the reference variant."""

    scenario: Scenario
    variants: list[Variant]
    results: list[Result]
    seed: int
    replications: int
    baseline: int = 0
    warnings: list[str] = field(default_factory=list)
    key_kpis: tuple[str, ...] = KEY_KPIS
    """KPIs in the table and differenced (``KEY_KPIS``, or ``policy_kpis`` for policies)."""

    @property
    def engines(self) -> list[str]:
        return sorted({r.engine for r in self.results})

    def mean(self, i: int, kpi: str) -> float:
        """Mean of ``kpi`` across replications for variant ``i`` (NaN if absent)."""
        return self.results[i].kpis.get(kpi, {}).get("mean", math.nan)

    def interval(self, i: int, kpi: str) -> dict[str, float]:
        nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
        return self.results[i].kpis.get(kpi, nan)

    def difference(self, i: int, kpi: str) -> dict[str, float]:
        """``kpi`` of variant i minus the baseline's, with a 95 % interval paired by
        replication (replications where either value is NaN left out).

        A mean KPI: the mean of per-replication differences with a t-interval. A pooled
        percentile (``wait_p95``): the difference of the pooled percentiles with a
        t-interval on per-replication differences of their influences
        (:func:`borderesim.analysis.metrics.pooled_difference`).
        """
        mine, base = self.results[i], self.results[self.baseline]
        if is_declared(kpi) and kpi_info(kpi).summary == "pooled_quantile":
            nan = [math.nan] * self.replications
            return pooled_difference(self.interval(i, kpi), self.interval(self.baseline, kpi),
                                     mine.influence.get(kpi, nan), base.influence.get(kpi, nan))
        diffs = [a.get(kpi, math.nan) - b.get(kpi, math.nan)
                 for a, b in zip(mine.per_replication, base.per_replication, strict=True)]
        return confidence_interval(diffs)

    def to_dict(self) -> dict[str, Any]:
        """The ``compare --json`` object; NaN and infinite values become ``None``."""
        out = []
        for i, (variant, result) in enumerate(zip(self.variants, self.results, strict=True)):
            out.append({
                "name": variant.label,
                "strategy": variant.group,
                "knob": variant.knob,
                "value": variant.value,
                "targeting": variant.targeting,
                "engine": result.engine,
                "kpis": result.kpis,
                "changes": variant.changes,
                "difference": {k: self.difference(i, k) for k in self.key_kpis},
            })
        return to_jsonable({
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications": self.replications,
            "version": __version__,
            "baseline": self.variants[self.baseline].label,
            "key_kpis": list(self.key_kpis),
            "strategies": out,
            "warnings": self.warnings,
        })


def compare(
    scenario: Scenario | dict | str,
    variants: list[Variant],
    engine: str = "auto",
    replications: int | None = None,
    seed: int | None = None,
    source: str | None = None,
    workers: int = 1,
) -> Comparison:
    """Run every variant on the same seed and replications and pair them up.

    ``source`` names the strategies file in error messages. Every variant is
    validated before any runs, so a bad block fails fast. ``workers`` > 1 runs each
    variant's replications in parallel processes (same results).
    """
    scenario = load_scenario(scenario)
    if not variants:
        raise ScenarioError("no strategies to compare", source, "strategies")
    seed = scenario.seed if seed is None else int(seed)
    reps = scenario.replications if replications is None else int(replications)
    scenarios = [with_targeting(scenario, v, source) if v.changes is None
                 else with_policy(scenario, v, source) for v in variants]
    results = [simulate(s, engine=engine, replications=reps, seed=seed, workers=workers)
               for s in scenarios]
    arrived = {tuple(rep["arrived"] for rep in r.per_replication) for r in results}
    if len(arrived) != 1:  # pragma: no cover - would be a sampling bug
        raise RuntimeError("variants saw different travellers: common random numbers broken")
    warnings = list(dict.fromkeys(
        f"{v.label}: {w}" for v, r in zip(variants, results, strict=True) for w in r.warnings
    ))
    policies = any(v.changes is not None for v in variants)
    key_kpis = policy_kpis(scenarios) if policies else KEY_KPIS
    return Comparison(scenario, list(variants), results, seed, reps, 0, warnings, key_kpis)
