"""Capacity-gap analysis: the servers each stage needs, hour by hour, to meet service targets.

``gap(scenario, ["primary.wait_p95<=15min"])`` returns a ``GapResult`` whose ``to_dict()``
is the object ``borderesim gap --json`` prints. Servers are counted in server-hours
per day ("officer-hours"; an e-gate lane counts its gates). The required count of each
lane-hour is a decision made with a stated confidence, on as many replications as it
takes (up to a cap), and the final roster is checked on fresh travellers. See
``search`` for the method, ``bounds`` for the statistics, ``validate`` for the check and
``targets`` for the target grammar.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import __version__
from ...errors import ScenarioError
from ...model.scenario import Scenario, load_scenario
from ...output.serialize import dumps, to_jsonable
from ...run import budget
from ...run.plan import Plan, make_plan
from ...run.simulate import choose_engine
from ..by_hour import HOURS
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
from .validate import Validation, validate

__all__ = ["GapResult", "Target", "Validation", "gap", "parse_max_servers", "parse_target",
           "parse_targets"]

VALIDATION_REPLICATIONS = 200
"""Fresh replications the final roster is re-simulated on, by default."""
GROWTH = 4
"""By default the search may use up to this many times the starting replications."""

TIME_VARYING_NOTE = (
    "hours are not independent: a queue left at the end of one hour is served in the next, "
    "and a queue that starts to build late in an hour is cleared by the next hour's "
    "servers; so an hour next to better-staffed hours can legitimately need fewer servers "
    "than the stationary Erlang-C count for its own demand (and an hour after a peak more). "
    "The validation run on fresh travellers is what confirms these counts")
METHOD_NOTE = (
    "each count is the fewest servers whose targets hold with {conf:.0%} confidence (the "
    "upper bound on the share of travellers waiting longer than the limit, or on the mean "
    "wait, is within the target), found on {reps} replications chosen by the search; "
    "removing any one server-hour makes its stage confidently miss a target, unless listed "
    "as unresolved (a lane open today keeps at least one server while travellers are expected "
    "or observed, and in the hour after, to serve the queue left)")


@dataclass
class GapResult:
    """Scheduled and required rosters (int[L, 24]) with their evaluations.

    ``replications``: how many the search ended with (it started with
    ``start_replications`` and could go up to ``max_replications``); ``validation``:
    the required roster on fresh travellers; ``unresolved[l, h]``: the last server of
    that lane-hour could be needed or spare at ``max_replications``; ``stationary``:
    Erlang-C's count for each lane-hour's own demand (0 without a target).
    """

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
    confidence: float = 0.95
    start_replications: int = 0
    max_replications: int = 0
    levels: list[int] = field(default_factory=list)
    replays: int = 0
    validation: Validation | None = field(default=None, repr=False)
    unresolved: np.ndarray = field(default_factory=lambda: np.zeros((0, HOURS), dtype=bool))
    stationary: np.ndarray = field(default_factory=lambda: np.zeros((0, HOURS), dtype=np.int64))
    scheduled_p95: np.ndarray = field(default_factory=lambda: np.zeros((0, HOURS)))
    plan: Any = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)
    """The notes a planner must not miss (unresolved or missed hours, unreachable targets)."""
    evaluator: Evaluator | None = field(default=None, repr=False)

    def validate(self, roster: np.ndarray | None = None, replications: int | None = None,
                 seed: int | None = None) -> Validation:
        """Any roster (int[L, 24]; default the required one) on the validation run's fresh
        travellers (same seed and replications unless given): the check behind "no single
        server-hour can be removed"."""
        assert self.evaluator is not None
        val = self.validation
        return validate(self.evaluator, self.required if roster is None else roster,
                        (val.seed if val else self.seed + 1) if seed is None else seed,
                        (val.replications if val else VALIDATION_REPLICATIONS)
                        if replications is None else replications, self.confidence)

    def lanes_of(self, stage: str) -> list[int]:
        s = self.stage_names.index(stage)
        return [lane for lane in range(len(self.lane_names)) if self.lane_stage[lane] == s]

    def _lane(self, lane: int) -> str:
        return self.lane_names[lane].split(".", 1)[1] if "." in self.lane_names[lane] \
            else self.lane_names[lane]

    def unresolved_hours(self, stage: str) -> list[dict[str, Any]]:
        """Lane-hours whose last server is neither shown needed nor spare: the hour, the
        lane and the two candidate counts."""
        return [{"hour": int(h), "lane": self._lane(lane),
                 "candidates": [int(self.required[lane, h]) - 1, int(self.required[lane, h])]}
                for lane in self.lanes_of(stage) for h in np.flatnonzero(self.unresolved[lane])]

    def stage_dict(self, stage: str) -> dict[str, Any]:
        s = self.stage_names.index(stage)
        lanes = self.lanes_of(stage)
        sched = self.scheduled[lanes].sum(axis=0)
        req = self.required[lanes].sum(axis=0)
        val = self.validation
        judged = any(self._judged(lane) for lane in lanes)
        rows = []
        for h in range(HOURS):
            open_ = int(self.unresolved[lanes, h].sum())
            row = {
                "hour": h,
                "scheduled": int(sched[h]),
                "required": int(req[h]),
                "gap": int(req[h] - sched[h]),
                "stationary": int(self.stationary[lanes, h].sum()) if judged else None,
                "candidates": [int(req[h]) - open_, int(req[h])] if open_ else None,
                "wait_p95_scheduled": to_jsonable(self.scheduled_p95[s, h]),
                "met_scheduled": bool(self.scheduled_eval.point_met[lanes, h].all()),
                "entering_per_hour": round(float(self.required_eval.stage_count[s, h]
                                                 / self.clock_hours[h]), 2),
            }
            if val is not None:
                row.update({
                    "wait_p95_required": to_jsonable(val.stage_p95[s, h]),
                    "wait_p95_required_interval": to_jsonable(
                        [val.stage_p95_low[s, h], val.stage_p95_high[s, h]]),
                    "met_required": bool(val.met[lanes, h].all()),
                    "validation": val.row(self.plan, lanes, h),
                })
            else:
                row.update({"wait_p95_required": None, "wait_p95_required_interval": None,
                            "met_required": bool(self.required_eval.point_met[lanes, h].all()),
                            "validation": None})
            rows.append(row)
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
            "unresolved": self.unresolved_hours(stage),
            "validation": val.summary(self.plan, lanes) if val is not None and judged else None,
        }
        if len(lanes) > 1 or self.lane_names[lanes[0]] != stage:
            out["lanes"] = {
                self._lane(lane): {
                    "scheduled": [int(x) for x in self.scheduled[lane]],
                    "required": [int(x) for x in self.required[lane]],
                } for lane in lanes
            }
        return out

    def _judged(self, lane: int) -> bool:
        return bool(self.validation is not None and self.validation.applies[:, lane].any()) \
            or bool(self.stationary[lane].any())

    def to_dict(self) -> dict[str, Any]:
        """The ``gap --json`` object (times in minutes; NaN and inf become ``None``)."""
        return to_jsonable({
            "scenario": self.scenario.name,
            "engine": self.engine,
            "seed": self.seed,
            "confidence": self.confidence,
            "replications": self.replications,
            "replications_start": self.start_replications,
            "replications_max": self.max_replications,
            "replications_by_round": self.levels,
            "validation_seed": None if self.validation is None else self.validation.seed,
            "validation_replications": None if self.validation is None
            else self.validation.replications,
            "version": __version__,
            "targets": [t.to_dict() for t in self.targets],
            "stages": {name: self.stage_dict(name) for name in self.stage_names},
            "detection": self.detection,
            "solve_seconds": round(self.seconds, 3),
            "simulations": self.simulations,
            "replicated_days": self.replays,
            "notes": self.notes,
            "warnings": self.warnings,
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
    confidence: float = 0.95,
    max_replications: int | None = None,
    validation_replications: int = VALIDATION_REPLICATIONS,
    validation_seed: int | None = None,
) -> GapResult:
    """Find the servers each lane needs in each hour of day to meet ``targets``.

    ``targets``: texts such as ``"primary.wait_p95<=15min"`` or ``"detection_rate>=0.6"``.
    ``max_servers``: caps such as ``"primary=12"`` or ``"passport.egate=10"`` (these
    replace a stage's ``booths``). ``replications`` (default: the scenario's, at least 2)
    is where the search starts; it doubles them while a decision is unresolved, up to
    ``max_replications`` (default ``GROWTH`` times the start). ``confidence`` (0.5-1):
    how sure each "this many servers meet the target" must be. The final roster is
    re-simulated on ``validation_replications`` fresh days of ``validation_seed``
    (default ``seed + 1``; 0 skips the check). The same seed always gives the same answer.
    """
    t0 = time.perf_counter()
    scenario = load_scenario(scenario)
    plan = make_plan(scenario)
    parsed = parse_targets(list(targets), plan)
    limits = parse_max_servers(list(max_servers), plan)
    if not 0.5 <= confidence < 1:
        raise ScenarioError(f"{confidence!r}: the confidence must be at least 0.5 and below 1",
                            "--confidence")
    reps = max(2, scenario.replications if replications is None else int(replications))
    top = GROWTH * reps if max_replications is None else int(max_replications)
    if top < reps:
        raise ScenarioError(f"{top}: at least the starting replications ({reps}) are needed",
                            "--max-replications")
    if validation_replications < 0 or validation_replications == 1:
        raise ScenarioError(f"{validation_replications}: use 0 (no check) or at least 2",
                            "--validation-replications")
    seed = scenario.seed if seed is None else int(seed)
    vseed = seed + 1 if validation_seed is None else int(validation_seed)
    if vseed == seed:
        raise ScenarioError(f"{vseed}: the validation seed must differ from the search's",
                            "--validation-seed")
    name, reason = choose_engine(scenario, engine)
    budget.check(scenario, top, name, keep_traces=True, kept_by="gap replays every replication")
    warnings = [reason] if reason else []
    booths = {s: st.booths for s, st in scenario.stages.items()}
    lane_cap, stage_cap = caps(plan, booths, limits)
    ev = Evaluator(scenario, plan, name, seed, reps, parsed, confidence)
    search = Search(ev, plan.roster, lane_cap, stage_cap, progress)
    required, req_eval = search.run(top)
    detection = None
    det = [t for t in parsed if t.kpi == "detection_rate"]
    if det:
        required, req_eval, detection = staff_for_detection(search, required, req_eval,
                                                            det[0].value)
        required, req_eval = search.raise_until_met(required)
        if not detection["met"]:
            warnings.append(_detection_note(detection))
    infra = infrastructure_gaps(plan, req_eval, required, lane_cap, stage_cap)
    unresolved = search.unresolved(required)
    sched_eval = ev.evaluate(plan.roster, keep_traces=True)
    sched_p95, sched_eval.traces = sched_eval.stage_wait_p95, None
    val = validate(ev, required, vseed, validation_replications, confidence) \
        if validation_replications else None
    notes, problems = _notes(plan, search, required, unresolved, infra, req_eval, ev, val,
                             confidence)
    warnings += problems
    stage_caps = {sname: (limits.get(sname, booths.get(sname))) for sname in plan.stage_names}
    return GapResult(
        scenario=scenario, targets=parsed, engine=name, seed=seed,
        replications=ev.replications, lane_names=plan.lane_names,
        stage_names=plan.stage_names, lane_stage=plan.lane_stage,
        scheduled=np.array(plan.roster), required=required,
        scheduled_eval=sched_eval, required_eval=req_eval, infrastructure=infra,
        stage_caps=stage_caps, detection=detection, seconds=time.perf_counter() - t0,
        simulations=ev.evaluations, clock_hours=ev.clock_hours, notes=warnings + notes,
        warnings=warnings, evaluator=ev,
        confidence=confidence, start_replications=reps, max_replications=top,
        levels=search.levels, replays=ev.replays, validation=val, unresolved=unresolved,
        stationary=search.stationary, scheduled_p95=sched_p95, plan=plan,
    )


def _hours(hours: list[int]) -> str:
    return ", ".join(f"{h:02d}" for h in hours)


def _notes(plan: Plan, search: Search, required: np.ndarray, unresolved: np.ndarray,
           infra: dict[str, list[int]], req_eval: Evaluation, ev: Evaluator,
           val: Validation | None, confidence: float) -> tuple[list[str], list[str]]:
    """Plain-words notes (the method, the validation, hours below or above the
    stationary count) and warnings (unresolved hours, hours missed on fresh travellers,
    hours failing below the cap)."""
    notes = [METHOD_NOTE.format(conf=confidence, reps=ev.replications)]
    warnings: list[str] = []
    judged = search.free
    below, above = [], []
    for s, sname in enumerate(plan.stage_names):
        lanes = [lane for lane in plan.lanes_of(s) if judged[lane]]
        if not lanes:
            continue
        opened = [f"{h:02d}:00 ({plan.lane_names[lane]}: {required[lane, h] - 1} or "
                  f"{required[lane, h]})"
                  for lane in lanes for h in np.flatnonzero(unresolved[lane])]
        if opened:
            warnings.append(f"stage '{sname}': still unresolved after {ev.replications} "
                         f"replications (the cap; raise --max-replications): "
                         + ", ".join(opened) + "; the larger count is kept")
        for lane in lanes:
            st = search.stationary[lane]
            low = [h for h in range(HOURS) if st[h] and required[lane, h] < st[h]
                   and search.lower[lane, h] < st[h]]
            high = [h for h in range(HOURS) if st[h] and required[lane, h] > st[h]]
            if low:
                below.append(f"{plan.lane_names[lane]} at {_hours(low)}")
            if high:
                above.append(f"{plan.lane_names[lane]} at {_hours(high)}")
        missing = [h for h in range(HOURS) if not req_eval.stage_met[s, h]
                   and h not in infra[sname] and req_eval.stage_count[s, h] > 0]
        if missing:
            warnings.append(f"stage '{sname}': hours {_hours(missing)} are not shown to meet a "
                         f"target after {ev.evaluations} simulations")
        if val is not None:
            summary = val.summary(plan, plan.lanes_of(s))
            if summary["hours_judged"]:
                text = f"stage '{sname}' on fresh travellers (seed {val.seed}): " \
                    + summary["text"]
                (warnings if summary["hours_missed"] else notes).append(
                    text + (f"; missed at {_hours(summary['hours_missed'])}"
                            if summary["hours_missed"] else ""))
    if below or above:
        parts = [f"{word} servers than the stationary Erlang-C count for the hour's own "
                 f"demand at {'; '.join(where)}" for word, where in (("fewer", below),
                                                                     ("more", above)) if where]
        notes.append("; ".join(parts) + ". " + TIME_VARYING_NOTE[0].upper()
                     + TIME_VARYING_NOTE[1:])
    return notes, warnings


def _detection_note(d: dict[str, Any]) -> str:
    if d["limited_by"] == "strategy":
        top = d.get("ceiling")
        best = f"at most {top:.3f} even with every referral inspected" if top is not None \
            else "staffing cannot change it"
        return (f"detection_rate>={d['target']:g} is out of reach of the scenario's strategy "
                f"({best}); it needs more or better-aimed referrals, not more officers")
    return (f"detection_rate>={d['target']:g} needs more secondary servers than the booths "
            f"allow (reached {d['required']:.3f})")
