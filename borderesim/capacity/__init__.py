"""Capacity-gap analysis: the servers each stage needs, hour by hour, to meet service targets.

``gap(scenario, ["primary.wait_p95<=15min"])`` returns a ``GapResult`` whose ``to_dict()``
is the object ``borderesim gap --json`` prints. Servers are counted in server-hours
per day ("officer-hours"; an e-gate lane counts its gates). See ``search`` for the
method and ``targets`` for the target grammar.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__, budget
from ..hourly_metrics import HOURS
from ..plan import make_plan
from ..scenario import Scenario, load_scenario
from ..serialize import dumps, to_jsonable
from ..simulate import choose_engine
from .evaluate import Evaluation, Evaluator
from .search import (
    Progress,
    Search,
    caps,
    infrastructure_gaps,
    officer_hours,
    staff_for_detection,
)
from .targets import Target, parse_max_servers, parse_target, parse_targets

__all__ = ["GapResult", "Target", "gap", "parse_max_servers", "parse_target", "parse_targets"]


@dataclass
class GapResult:
    """Scheduled and required rosters (int[L, 24]) with their evaluations."""

    scenario: Scenario
    targets: list[Target]
    engine: str
    seed: int
    replications: int
    lane_names: tuple[str, ...]
    stage_names: tuple[str, ...]
    lane_stage: np.ndarray
    scheduled: np.ndarray
    required: np.ndarray
    scheduled_eval: Evaluation = field(repr=False)
    required_eval: Evaluation = field(repr=False)
    infrastructure: dict[str, list[int]]
    stage_caps: dict[str, int | None]
    detection: dict[str, Any] | None
    seconds: float
    simulations: int
    clock_hours: np.ndarray = field(default_factory=lambda: np.ones(HOURS))
    """How many clock hours each hour of day was observed (replications x days)."""
    notes: list[str] = field(default_factory=list)

    def lanes_of(self, stage: str) -> list[int]:
        s = self.stage_names.index(stage)
        return [lane for lane in range(len(self.lane_names)) if self.lane_stage[lane] == s]

    def stage_dict(self, stage: str) -> dict[str, Any]:
        s = self.stage_names.index(stage)
        lanes = self.lanes_of(stage)
        sched = self.scheduled[lanes].sum(axis=0)
        req = self.required[lanes].sum(axis=0)
        rows = [{
            "hour": h,
            "scheduled": int(sched[h]),
            "required": int(req[h]),
            "gap": int(req[h] - sched[h]),
            "wait_p95_scheduled": to_jsonable(self.scheduled_eval.stage_wait_p95[s, h]),
            "wait_p95_required": to_jsonable(self.required_eval.stage_wait_p95[s, h]),
            "met_scheduled": bool(self.scheduled_eval.stage_met[s, h]),
            "met_required": bool(self.required_eval.stage_met[s, h]),
            "entering_per_hour": round(float(self.required_eval.stage_count[s, h]
                                             / self.clock_hours[h]), 2),
        } for h in range(HOURS)]
        out = {
            "by_hour": rows,
            "officer_hours_scheduled": officer_hours(self.scheduled, lanes),
            "officer_hours_required": officer_hours(self.required, lanes),
            "officer_hours_gap": officer_hours(self.required, lanes)
            - officer_hours(self.scheduled, lanes),
            "infrastructure_gap_hours": self.infrastructure.get(stage, []),
            "max_servers": self.stage_caps.get(stage),
            "targets": [t.text for t in self.targets if t.is_wait
                        and (t.stage is None or t.stage == stage)],
        }
        if len(lanes) > 1 or self.lane_names[lanes[0]] != stage:
            out["lanes"] = {
                self.lane_names[lane].split(".", 1)[1]: {
                    "scheduled": [int(x) for x in self.scheduled[lane]],
                    "required": [int(x) for x in self.required[lane]],
                } for lane in lanes
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``gap --json`` object (times in minutes; NaN and inf become ``None``)."""
        return to_jsonable({
            "scenario": self.scenario.name,
            "engine": self.engine,
            "seed": self.seed,
            "replications": self.replications,
            "version": __version__,
            "targets": [t.to_dict() for t in self.targets],
            "stages": {name: self.stage_dict(name) for name in self.stage_names},
            "detection": self.detection,
            "solve_seconds": round(self.seconds, 3),
            "simulations": self.simulations,
            "notes": self.notes,
        })

    def to_json(self) -> str:
        return dumps(self.to_dict())


def gap(
    scenario: Scenario | dict | str,
    targets: list[str] | tuple[str, ...],
    max_servers: list[str] | tuple[str, ...] = (),
    engine: str = "auto",
    replications: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> GapResult:
    """Find the servers each lane needs in each hour of day to meet ``targets``.

    ``targets``: texts such as ``"primary.wait_p95<=15min"`` or ``"detection_rate>=0.6"``.
    ``max_servers``: caps such as ``"primary=12"`` or ``"passport.egate=10"`` (these
    replace a stage's ``booths``). Replications and seed default to the scenario's;
    the same seed always gives the same answer.
    """
    t0 = time.perf_counter()
    scenario = load_scenario(scenario)
    plan = make_plan(scenario)
    parsed = parse_targets(list(targets), plan)
    limits = parse_max_servers(list(max_servers), plan)
    reps = scenario.replications if replications is None else int(replications)
    seed = scenario.seed if seed is None else int(seed)
    name, reason = choose_engine(scenario, engine)
    budget.check(scenario, reps, name, keep_traces=True, kept_by="gap replays every replication")
    notes = [reason] if reason else []
    booths = {s: st.booths for s, st in scenario.stages.items()}
    lane_cap, stage_cap = caps(plan, booths, limits)
    ev = Evaluator(scenario, plan, name, seed, reps, parsed)
    search = Search(ev, plan.roster, lane_cap, stage_cap, progress)
    required, req_eval = search.run()
    detection = None
    det = [t for t in parsed if t.kpi == "detection_rate"]
    if det:
        required, req_eval, detection = staff_for_detection(search, required, req_eval,
                                                            det[0].value)
        required, req_eval = search.raise_until_met(required)
        if not detection["met"]:
            notes.append(_detection_note(detection))
    infra = infrastructure_gaps(plan, req_eval, required, lane_cap, stage_cap)
    for s, sname in enumerate(plan.stage_names):
        unresolved = [h for h in range(HOURS)
                      if not req_eval.stage_met[s, h] and h not in infra[sname]]
        if unresolved:
            notes.append(f"stage '{sname}': hours {unresolved} still miss a target after "
                         f"{ev.evaluations} simulations")
    stage_caps = {sname: (limits.get(sname, booths.get(sname))) for sname in plan.stage_names}
    return GapResult(
        scenario=scenario, targets=parsed, engine=name, seed=seed, replications=reps,
        lane_names=plan.lane_names, stage_names=plan.stage_names, lane_stage=plan.lane_stage,
        scheduled=np.array(plan.roster), required=required,
        scheduled_eval=search.sched_eval, required_eval=req_eval, infrastructure=infra,
        stage_caps=stage_caps, detection=detection, seconds=time.perf_counter() - t0,
        simulations=ev.evaluations, clock_hours=ev.clock_hours, notes=notes,
    )


def _detection_note(d: dict[str, Any]) -> str:
    if d["limited_by"] == "strategy":
        top = d.get("ceiling")
        best = f"at most {top:.3f} even with every referral inspected" if top is not None \
            else "staffing cannot change it"
        return (f"detection_rate>={d['target']:g} is out of reach of the scenario's strategy "
                f"({best}); it needs more or better-aimed referrals, not more officers")
    return (f"detection_rate>={d['target']:g} needs more secondary servers than the booths "
            f"allow (reached {d['required']:.3f})")
