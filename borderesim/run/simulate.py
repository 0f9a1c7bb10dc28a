"""Run a scenario: sample, replay through an engine, and summarise KPIs across replications."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..analysis.metrics import replication_kpis, summarise
from ..analysis.overload import LaneHours
from ..analysis.overload import overload_warnings as lane_warnings
from ..analysis.shocks import shock_kpis
from ..errors import ScenarioError
from ..memo import per_object
from ..model.scenario import Scenario, load_scenario
from ..output.serialize import dumps, to_jsonable
from . import budget, drain
from .drain import drain_warnings
from .engines import get_engine
from .pages import small_pages
from .plan import Plan, make_plan
from .sampling import Inputs, budget_checked
from .trace import Trace


@dataclass
class Result:
    """Summary of a run; ``to_dict()`` is the JSON object ``borderesim run --json`` prints."""

    scenario: Scenario
    engine: str
    seed: int
    replications: int
    kpis: dict[str, dict[str, float]]
    per_replication: list[dict[str, float]]
    warnings: list[str] = field(default_factory=list)
    traces: list[tuple[Inputs, Trace]] = field(default_factory=list, repr=False)
    influence: dict[str, list[float]] = field(default_factory=dict, repr=False)
    """Pooled percentile KPI → each replication's influence on it (paired differences)."""
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """The run's summary; NaN (undefined) and infinite values become ``None``."""
        return to_jsonable({
            "scenario": self.scenario.name,
            "engine": self.engine,
            "seed": self.seed,
            "replications": self.replications,
            "version": self.version,
            "kpis": self.kpis,
        })

    def to_json(self) -> str:
        return dumps(self.to_dict())

    def mean(self, kpi: str) -> float:
        """The estimate of ``kpi``: its mean across replications, or for a pooled
        percentile (``wait_p95``) the percentile of all replications' travellers."""
        return self.kpis[kpi]["mean"]


def plan_of(scenario: Scenario) -> Plan:
    """``make_plan(scenario)``, made once per scenario object (a scenario is immutable: a
    changed one, e.g. by ``--set``, is a new object), so a scenario simulated again (a
    benchmark, the workshop's run and its plan) also keeps what analyses derived from
    its plan (``borderesim.memo``)."""
    return per_object(scenario, "simulate.plan", lambda: make_plan(scenario))


def choose_engine(scenario: Scenario, engine: str) -> tuple[str, str | None]:
    """Resolve ``auto`` to an engine; returns (engine, reason for falling back or None)."""
    if engine != "auto":
        get_engine(engine)
        if engine == "fast":
            from .engines.fast import supports

            reason = supports(scenario)
            if reason:
                raise ScenarioError(f"the fast engine cannot run this scenario: {reason} "
                                    "(use --engine simpy or auto)")
        return engine, None
    try:
        from .engines.fast import supports
    except ImportError as exc:  # pragma: no cover - depends on the install
        return "simpy", f"fast engine unavailable ({exc}); using simpy"
    reason = supports(scenario)
    if reason:
        return "simpy", f"fast engine cannot run this scenario ({reason}); using simpy"
    return "fast", None


def run_replication(
    scenario: Scenario, plan: Plan, engine: str, seed: int, replication: int,
    samples: dict[str, Any] | None = None, replications: int = 10,
) -> tuple[dict[str, float], Inputs, Trace]:
    """Sample and simulate one replication; returns its KPIs, inputs and trace
    (the drain drawn only as far as the run needs: ``drain.replay``).

    ``samples``: filled with what summaries pool across replications: the tails of
    pooled percentiles (:func:`replication_kpis`, sized for a run of ``replications``)
    and, under ``"lane_hours"``, the :class:`~borderesim.analysis.overload.LaneHours` the
    overload warnings read (both from :func:`replication_kpis`' one pass). NumPy's
    huge-page advice is off meanwhile (:func:`borderesim.run.pages.small_pages`).
    """
    with small_pages():  # big arrays: no huge-page advice (pages.py)
        inputs, trace = drain.replay(scenario, plan, get_engine(engine), seed, replication)
        kpis = replication_kpis(scenario, plan, inputs, trace, samples, replications)
        kpis.update(shock_kpis(scenario, plan, inputs, trace))  # nothing without events/reserve
    return kpis, inputs, trace


def overload_warnings(plan: Plan, kpis: dict[str, dict[str, float]],
                      lanes: Sequence[LaneHours] = ()) -> list[str]:
    """Plain-words warnings: stages whose load over the run reaches their capacity (or
    that nobody staffs), then every lane running above capacity in some hour of day
    (:func:`borderesim.analysis.overload.overload_warnings`; ``lanes``: one per replication)."""
    out = []
    for sname in plan.stage_names:
        load = kpis.get(f"{sname}.offered_load", {}).get("mean", math.nan)
        if math.isinf(load):
            out.append(f"stage '{sname}': no server is on duty during the counted window, "
                       "yet travellers need it; they wait until the run ends")
        elif load >= 1.0:
            out.append(
                f"stage '{sname}': demand is {load:.0%} of its capacity over the run; the queue "
                "grows without bound, so waits depend on how long the run lasts"
            )
    return out + lane_warnings(plan, lanes)


def simulate(
    scenario: Scenario | dict | str,
    engine: str = "auto",
    replications: int | None = None,
    seed: int | None = None,
    keep_traces: bool = False,
    workers: int = 1,
) -> Result:
    """Simulate ``scenario`` and summarise KPIs with 95 % confidence intervals.

    ``engine``: "simpy", "fast" or "auto" (fast when it can express the scenario).
    ``replications`` and ``seed`` default to the scenario's own. Replication ``r``
    of seed ``s`` always sees the same travellers, whatever the engine.
    ``workers``: processes running replications in parallel; the result is identical
    to a serial run (``workers=1``).

    Before sampling, ``budget.check`` refuses (``ScenarioError``) a run that cannot fit
    in memory and prints a one-line warning on stderr when it will take minutes; that
    check covers every replication, so sampling does not repeat it per replication
    (``sampling.budget_checked``).
    """
    scenario = load_scenario(scenario)
    reps = scenario.replications if replications is None else int(replications)
    if reps < 1:
        raise ValueError("replications must be at least 1")
    seed = scenario.seed if seed is None else int(seed)
    if int(workers) < 1:
        raise ValueError("workers must be at least 1")
    # refuse before the engines are even imported; warn once the engine is known
    checked = "simpy" if engine == "simpy" else "fast"
    slow = budget.check(scenario, reps, checked, keep_traces, int(workers))
    name, reason = choose_engine(scenario, engine)
    if name != checked:  # auto fell back to SimPy: its own time estimate
        slow = budget.slow_warning(budget.estimate(scenario, reps, name, keep_traces,
                                                   int(workers)), name)
    if slow:
        budget.announce(slow)
    plan = plan_of(scenario)
    per_rep, samples, traces = [], [], []
    if int(workers) > 1 and reps > 1:
        from .parallel import run_replications

        done = run_replications(scenario, name, seed, reps, int(workers), keep_traces)
        for kpis, tails, kept in done:
            per_rep.append(kpis)
            samples.append(tails)
            if kept is not None:
                traces.append(kept)
    else:
        with budget_checked(scenario):  # budget.check above covered every replication
            for r in range(reps):
                tails: dict[str, Any] = {}
                kpis, inputs, trace = run_replication(scenario, plan, name, seed, r, tails,
                                                      reps)
                per_rep.append(kpis)
                samples.append(tails)
                if keep_traces:
                    traces.append((inputs, trace))
                del inputs, trace  # free this replication before the next is sampled
    influence: dict[str, list[float]] = {}
    summary = summarise(per_rep, samples, influence)
    lanes = [s["lane_hours"] for s in samples if "lane_hours" in s]
    warnings = ([reason] if reason else []) + overload_warnings(plan, summary, lanes)
    warnings += drain_warnings(plan, summary)
    return Result(scenario, name, seed, reps, summary, per_rep, warnings, traces,
                  influence=influence)
