"""Options and their cost: from the capacity gap to officers on shifts, FTE and money.

For each option of an options file (``schema.OptionsFile``):

1. the scenario gets the option's purchases — extra ``booths`` at a stage, extra e-gates
   (a lane cap of ``installed + bought``, and as many more booths at the stage);
2. ``capacity.gap`` finds the servers each lane needs by hour for the targets (its
   ``required`` roster is taken as given, whatever method produced it);
3. ``shifts.solve_cover`` puts officers on shifts covering that need, a lane's need being
   ``ceil(servers / supervision)`` officers;
4. the roster those officers staff is simulated again on fresh travellers (seed + 1)
   through ``capacity.evaluate.Evaluator`` and judged against the targets like any roster;
5. paid officer-hours become FTE (``costs.fte``, with shrinkage), whole officers are costed
   at their annual cost, and purchases at their capital annuity plus upkeep.

The cheapest option whose fresh-traveller check meets every target is named.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import __version__
from ...errors import ScenarioError
from ...model.scenario import Scenario, load_scenario
from ...output.serialize import to_jsonable
from ...run.plan import Plan, make_plan
from ..capacity import GapResult, gap
from ..capacity.evaluate import Evaluation, Evaluator
from ..capacity.search import caps
from ..capacity.targets import Target, parse_max_servers, parse_targets
from .costs import annuity, fte
from .schema import Option, OptionsFile, load_options
from .shifts import HOURS, ShiftPlan, solve_cover

Say = Callable[[str], None]
BASELINE = "officers only"
"""Name of the option added when the file lists none that buys nothing."""


def supervision(options: OptionsFile) -> dict[str, int]:
    """Servers one officer runs, per lane named in the file (others: 1)."""
    out = dict(options.staffing.supervision)
    for item in options.buy.values():
        if item.kind == "egate" and item.supervision:
            out[item.lane] = item.supervision
    return out


def officer_need(required: np.ndarray, plan: Plan, options: OptionsFile) -> np.ndarray:
    """int[L, 24]: officers each lane needs each hour, ``ceil(servers / supervision)``."""
    k = supervision(options)
    ratio = np.array([k.get(name, 1) for name in plan.lane_names], dtype=np.int64)
    return -(-np.asarray(required, dtype=np.int64) // ratio[:, None])


def trained(plan: Plan, options: OptionsFile) -> tuple[list[str], np.ndarray]:
    """Officer kinds and bool[kinds, L]: which kind may cover which lane."""
    kinds = options.kinds()
    out = np.zeros((len(kinds), plan.n_lanes), dtype=bool)
    for k, kind in enumerate(kinds.values()):
        for where in kind.covers:
            for lane, name in enumerate(plan.lane_names):
                stage = plan.stage_names[plan.lane_stage[lane]]
                out[k, lane] |= where in ("*", name, stage)
    return list(kinds), out


def cover(required: np.ndarray, plan: Plan, options: OptionsFile,
          source: str | None = None) -> ShiftPlan:
    """The optimal shift cover of ``required`` (int[L, 24] servers, e.g. ``GapResult.required``)."""
    kinds, can = trained(plan, options)
    hourly = [options.annual_cost(k) / (options.workforce.hours_per_fte / 60.0) for k in kinds]
    if options.staffing.objective == "cost" and not any(hourly):
        raise ScenarioError("objective 'cost' needs officer costs (workforce.officer_annual_cost"
                            " or officers.KIND.annual_cost)", source, "staffing.objective")
    return solve_cover(officer_need(required, plan, options), list(plan.lane_names), kinds, can,
                       options.staffing.shifts, options.staffing.objective, hourly, source)


def shift_roster(plan_: ShiftPlan, required: np.ndarray, plan: Plan, options: OptionsFile,
                 lane_cap: np.ndarray, stage_cap: np.ndarray, work: np.ndarray) -> np.ndarray:
    """int[L, 24]: servers the shift plan's officers staff through each whole hour.

    Officers assigned to a lane for the whole hour times its supervision ratio, at least
    the requirement and at most the lane's cap (a stage over its booths gives back the
    surplus, largest first). Then each spare officer (present all hour, needed nowhere)
    opens servers where the work per server is highest — ``work[l, h]``: minutes of
    service the lane's travellers bring in that hour — among the lanes the officer is
    trained for, with room under the caps and travellers to serve; an officer who finds
    none stays spare (relief, other duties).
    """
    k = supervision(options)
    ratio = np.array([k.get(name, 1) for name in plan.lane_names], dtype=np.int64)
    roster = np.maximum(required, np.minimum(plan_.assigned_by_hour() * ratio[:, None],
                                             lane_cap[:, None])).astype(np.int64)
    for s in range(plan.n_stages):
        lanes = np.array(plan.lanes_of(s))
        for h in range(HOURS):
            while roster[lanes, h].sum() > stage_cap[s]:
                surplus = roster[lanes, h] - required[lanes, h]
                roster[lanes[int(surplus.argmax())], h] -= 1
    _, can = trained(plan, options)
    spare = plan_.spare_by_hour()
    for h in range(HOURS):
        for kind in range(len(plan_.kinds)):
            for _ in range(int(spare[kind, h])):
                stage_used = np.bincount(plan.lane_stage, weights=roster[:, h],
                                         minlength=plan.n_stages)
                room = np.minimum(lane_cap - roster[:, h],
                                  stage_cap[plan.lane_stage] - stage_used[plan.lane_stage])
                ok = can[kind] & (room > 0) & (work[:, h] > 0)
                if not ok.any():
                    break
                per_server = np.where(ok, work[:, h] / np.maximum(roster[:, h], 1), -1.0)
                lane = int(per_server.argmax())
                roster[lane, h] += min(int(ratio[lane]), int(room[lane]))
    return roster


def service_work(result: GapResult, scenario: Scenario) -> np.ndarray:
    """float[L, 24]: mean minutes of service a clock hour brings to each lane (required roster)."""
    means = []
    for sname, stage in scenario.stages.items():
        for lane in stage.lane_specs(sname).values():
            means.append(lane.service.moments()[0])
    per_hour = result.required_eval.count / result.clock_hours[None, :]
    return per_hour * np.array(means)[:, None]


def option_scenario(scenario: Scenario, plan: Plan, options: OptionsFile, option: Option
                    ) -> tuple[Scenario, list[str]]:
    """The scenario with ``option``'s purchases, and ``--max-servers`` caps for its e-gates."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    max_servers: list[str] = []
    for iname, item in options.buy.items():
        n = option.buy.get(iname, 0)
        if item.kind == "booth":
            data["stages"][item.stage]["booths"] += n
            continue
        stage, _, lname = item.lane.partition(".")
        lane = plan.lane_names.index(item.lane)
        installed = item.installed if item.installed is not None \
            else int(plan.roster[lane].max())
        if installed + n < 1:
            continue
        max_servers.append(f"{item.lane}={installed + n}")
        spec = data["stages"][stage]
        if spec.get("booths") is not None:
            spec["booths"] += n
        if n > 0:
            target = spec["lanes"][lname] if lname else spec
            if item.service is not None:
                target["service"] = item.service.model_dump(mode="json")
            if item.classes is not None and lname:
                target["classes"] = list(item.classes)
    return load_scenario(data), max_servers


@dataclass
class OptionResult:
    """One option evaluated: its requirement, shift cover, fresh-traveller check and cost.

    Money is in the file's currency a year; hours are officer-hours a day; waits minutes.
    """

    option: Option
    gap: GapResult = field(repr=False)
    shifts: ShiftPlan
    roster: np.ndarray
    check: Evaluation = field(repr=False)
    detection: float
    detection_target: float | None
    fte: dict[str, float]
    officers: dict[str, int]
    fte_gap: float
    cost: dict[str, Any]
    fte_gap_by_kind: dict[str, float] = field(default_factory=dict)
    """FTE needed minus the establishment, per kind (NaN when the establishment is a total)."""

    @property
    def hours_met(self) -> np.ndarray:
        """bool[24]: every stage meets its targets in that hour on the fresh travellers."""
        return self.check.stage_point_met.all(axis=0)

    @property
    def detection_met(self) -> bool:
        return self.detection_target is None or (
            not math.isnan(self.detection) and self.detection >= self.detection_target)

    @property
    def infrastructure_hours(self) -> list[int]:
        return sorted({h for hours in self.gap.infrastructure.values() for h in hours})

    @property
    def meets(self) -> bool:
        """Every hour meets every target on fresh travellers, with no infrastructure gap."""
        return bool(self.hours_met.all()) and self.detection_met \
            and not self.infrastructure_hours

    def worst_wait(self, stages: list[int]) -> float | None:
        """Largest hourly 95th-percentile wait (minutes) over ``stages`` on the check."""
        vals = self.check.stage_wait_p95[stages]
        return None if np.isnan(vals).all() else float(np.nanmax(vals))

    def to_dict(self, targeted: list[int]) -> dict[str, Any]:
        g = self.gap
        stage_names = list(g.stage_names)
        return {
            "name": self.option.name,
            "buy": dict(self.option.buy),
            "meets_targets": self.meets,
            "hours_met": [bool(x) for x in self.hours_met],
            "hours_missed": [h for h in range(HOURS) if not self.hours_met[h]],
            "worst_wait_p95": to_jsonable(self.worst_wait(targeted)),
            "wait_p95_by_hour": {s: [to_jsonable(float(x)) for x in self.check.stage_wait_p95[i]]
                                 for i, s in enumerate(stage_names)},
            "detection_rate": to_jsonable(self.detection),
            "infrastructure_gap_hours": self.infrastructure_hours,
            "required_servers": {name: [int(x) for x in g.required[i]]
                                 for i, name in enumerate(g.lane_names)},
            "shift_roster": {name: [int(x) for x in self.roster[i]]
                             for i, name in enumerate(g.lane_names)},
            "shifts": self.shifts.to_dict(),
            "fte": {k: round(v, 3) for k, v in self.fte.items()},
            "fte_total": round(sum(self.fte.values()), 3),
            "officers_to_employ": self.officers,
            "fte_gap": round(self.fte_gap, 3),
            "fte_gap_by_kind": {k: to_jsonable(round(v, 3))
                                for k, v in self.fte_gap_by_kind.items()},
            "cost": self.cost,
            "notes": list(g.notes) + list(self.shifts.notes),
        }


@dataclass
class WorkforcePlan:
    """Every option of an options file evaluated on one scenario (``plan --json``)."""

    scenario: Scenario
    options: OptionsFile
    source: str | None
    targets: list[Target]
    engine: str
    seed: int
    check_seed: int
    replications: int
    results: list[OptionResult]
    notes: list[str] = field(default_factory=list)

    @property
    def targeted_stages(self) -> list[int]:
        """Stages with a wait target (all stages when none has one)."""
        names = list(self.results[0].gap.stage_names)
        hit = [i for i, s in enumerate(names)
               if any(t.is_wait and t.stage in (None, s) for t in self.targets)]
        return hit or list(range(len(names)))

    @property
    def cheapest(self) -> OptionResult | None:
        """The option meeting every target at the lowest total annual cost (None: none does)."""
        ok = [r for r in self.results if r.meets]
        return min(ok, key=lambda r: r.cost["total"]) if ok else None

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON form (no NaN): money a year, hours a day, waits in minutes."""
        o, w = self.options, self.options.workforce
        best = self.cheapest
        return {
            "scenario": self.scenario.name,
            "options_file": self.source,
            "options_name": o.name,
            "cost_source": o.cost_source,
            "currency": o.currency,
            "discount_rate": o.discount_rate,
            "version": __version__,
            "engine": self.engine,
            "replications": self.replications,
            "seed": self.seed,
            "check_seed": self.check_seed,
            "targets": [t.to_dict() for t in self.targets],
            "workforce": {"shrinkage": w.shrinkage, "hours_per_fte": w.hours_per_fte / 60.0,
                          "days_per_year": w.days_per_year,
                          "establishment": o.establishment(),
                          "objective": o.staffing.objective},
            "options": [r.to_dict(self.targeted_stages) for r in self.results],
            "cheapest": best.option.name if best else None,
            "notes": self.notes,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)


def _costs(options: OptionsFile, option: Option, officers: dict[str, int]) -> dict[str, Any]:
    staff = sum(n * options.annual_cost(k) for k, n in officers.items())
    items = []
    for iname, n in option.buy.items():
        item = options.buy[iname]
        cap = n * annuity(item.capital_cost, options.discount_rate, item.life_years)
        items.append({"item": iname, "units": n, "capital": n * item.capital_cost,
                      "capital_annualised": round(cap, 2),
                      "upkeep": n * item.upkeep_per_year})
    capital = sum(i["capital_annualised"] for i in items)
    upkeep = sum(i["upkeep"] for i in items)
    return {"staff": round(staff, 2), "capital_annualised": round(capital, 2),
            "upkeep": round(upkeep, 2), "total": round(staff + capital + upkeep, 2),
            "items": items}


def evaluate_option(scenario: Scenario, options: OptionsFile, option: Option,
                    targets: list[str], source: str | None = None, engine: str = "auto",
                    replications: int | None = None, seed: int | None = None) -> OptionResult:
    """Requirement, shift cover, fresh-traveller check, FTE and cost of one option."""
    base_plan = make_plan(scenario)
    sc, max_servers = option_scenario(scenario, base_plan, options, option)
    result = gap(sc, targets, max_servers, engine=engine, replications=replications, seed=seed)
    plan = make_plan(sc)
    shifts = cover(result.required, plan, options, source)
    booths = {s: st.booths for s, st in sc.stages.items()}
    lane_cap, stage_cap = caps(plan, booths, parse_max_servers(max_servers, plan))
    roster = shift_roster(shifts, result.required, plan, options, lane_cap, stage_cap,
                          service_work(result, sc))
    ev = Evaluator(sc, plan, result.engine, result.seed + 1, result.replications,
                   result.targets)
    check = ev.evaluate(roster, keep_traces=True)
    det_target = next((t.value for t in result.targets if t.kpi == "detection_rate"), None)
    w = options.workforce
    ftes = {k: fte(h, w.days_per_year, w.hours_per_fte / 60.0, w.shrinkage)
            for k, h in shifts.paid_hours.items()}
    officers = {k: math.ceil(v - 1e-9) for k, v in ftes.items()}
    return OptionResult(
        option=option, gap=result, shifts=shifts, roster=roster, check=check,
        detection=ev.detection_rate(check.traces), detection_target=det_target, fte=ftes,
        officers=officers, fte_gap=sum(ftes.values()) - options.establishment(),
        fte_gap_by_kind={k: v - options.establishment(k) for k, v in ftes.items()},
        cost=_costs(options, option, officers))


def plan_workforce(scenario: Scenario | dict | str, options: OptionsFile | str,
                   targets: list[str] | tuple[str, ...], engine: str = "auto",
                   replications: int | None = None, seed: int | None = None,
                   say: Say | None = None) -> WorkforcePlan:
    """Evaluate every option of ``options`` (a file path or a loaded file) on ``scenario``.

    A baseline buying nothing ("officers only") is added when the file lists none.
    Raises ``ScenarioError`` for bad input, including a requirement no shift can cover.
    """
    scenario = load_scenario(scenario)
    source = None
    if not isinstance(options, OptionsFile):
        options, source = load_options(options)
    plan = make_plan(scenario)
    options.check_against(scenario, plan, source)
    parsed = parse_targets(list(targets), plan)
    todo = list(options.options)
    if not any(not any(o.buy.values()) for o in todo):
        todo.insert(0, Option(name=BASELINE))
    results = []
    for i, option in enumerate(todo):
        if say:
            say(f"option {i + 1}/{len(todo)}: {option.name}")
        results.append(evaluate_option(scenario, options, option, list(targets), source,
                                       engine, replications, seed))
    first = results[0].gap
    out = WorkforcePlan(scenario=scenario, options=options, source=source, targets=parsed,
                        engine=first.engine, seed=first.seed, check_seed=first.seed + 1,
                        replications=first.replications, results=results)
    if out.cheapest is None:
        closest = min(results, key=lambda r: (int((~r.hours_met).sum()), r.cost["total"]))
        out.notes.append(
            f"no option meets every target on fresh travellers; closest: {closest.option.name!r}"
            f" (hours missed: {[h for h in range(HOURS) if not closest.hours_met[h]]}"
            + (f", infrastructure gap hours {closest.infrastructure_hours}"
               if closest.infrastructure_hours else "")
            + ("" if closest.detection_met else ", detection target missed") + ")")
    return out
