"""What the workshop page computes, as plain functions (tested without a server).

The page holds a scenario and a handful of knobs (``Knobs``): demand, officers on
duty at each stage, and a targeting strategy with its parameters. ``apply_knobs``
turns them into a validated ``Scenario``; ``run`` simulates it and keeps what the
page shows: the headline numbers with 95 % intervals, the queue length over the day
and one replication's trace for the animation. ``tradeoff_curve`` sweeps the
strategy's main knob on the same travellers (common random numbers).

Units: times in minutes, rates per hour, shares 0-1 (the page shows percentages).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.headline import StageHeadline, worst_stage
from ..analysis.metrics import confidence_interval
from ..analysis.outcomes import occupancy
from ..errors import ScenarioError
from ..model.hourly import as_24
from ..model.scenario import Scenario, load_scenario, load_scenario_text
from ..model.targeting import PRESETS, Knob, Preset, Strategy, basic
from ..model.yamlio import decode_text
from ..output.report.standards import QUEUE_LIMIT
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.simulate import plan_of, simulate
from ..run.trace import Trace
from .incident import Incident, apply_incidents, incident_words

# --------------------------------------------------------------------------- scenarios


def example_scenarios() -> dict[str, Path]:
    """Example scenario files shipped with borderesim: title → path."""
    here = Path(__file__).resolve().parent.parent
    folders = [here / "data", here.parent / "scenarios"]
    out: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            try:
                title = load_scenario(path).name
            except ScenarioError:
                continue
            out.setdefault(title, path)
    return out


def load_uploaded(filename: str, data: bytes) -> Scenario:
    """Validate an uploaded scenario file; errors name the uploaded file (never a server
    path), and ``extends:`` is refused before any file is opened (``load_scenario_text``)."""
    name = Path(filename).name or "uploaded.yaml"
    return load_scenario_text(decode_text(data, name), name)


# --------------------------------------------------------------------------- knobs


@dataclass(frozen=True)
class StrategyForm:
    """How the page offers one targeting strategy: its sliders and how to build it.

    Made from a registered strategy class (or a preset of layers) by ``strategy_forms``;
    the page knows no strategy by name.
    ``sweep``: the knob the trade-off curve varies (None: no curve) over ``grid``.
    ``build(params, scenario)``: the ``targeting:`` block (None: nobody referred).
    ``read(scenario)``: the knob values the scenario itself sets, if it uses this form.
    """

    key: str
    label: str
    knobs: tuple[Knob, ...]
    sweep: str | None
    grid: tuple[float, ...]
    build: Callable[[dict[str, float], Scenario], dict[str, Any] | None]
    read: Callable[[Scenario], dict[str, float] | None]
    needs: tuple[str, ...] = ()
    """Strategies that must be registered for this form to be offered."""


def _targeting(scenario: Scenario) -> dict[str, Any] | None:
    if scenario.targeting is None:
        return None
    return scenario.targeting.model_dump(mode="json", exclude_none=True)


@cache
def _class_form(cls: type[Strategy]) -> StrategyForm:
    """The form of a registered strategy class: its knobs, built and read by the class."""
    tag = cls.tag()

    def read(scenario: Scenario) -> dict[str, float] | None:
        own = scenario.targeting
        if not isinstance(own, cls) or own.strategy != tag:
            return None
        return own.knob_values(scenario)

    return StrategyForm(tag, cls.title or tag, cls.knobs, cls.main_knob, cls.grid,
                        lambda p, s: cls.from_knobs(p, s, s.targeting), read, (tag,))


@cache
def _preset_form(preset: Preset, classes: tuple[type[Strategy], ...]) -> StrategyForm:
    """The form of a preset of layers (of ``classes``, the registered ones now)."""
    return StrategyForm(preset.key, preset.title, preset.knobs, preset.main_knob, preset.grid,
                        preset.from_knobs, preset.knob_values, preset.needs)


NO_FORM = StrategyForm("none", "Nobody referred", (), None, (),
                       lambda p, s: None, lambda s: {} if s.targeting is None else None)
SCENARIO_FORM = StrategyForm("scenario", "As in the scenario file", (), None, (),
                             lambda p, s: _targeting(s), lambda s: {})
"""Keeps the scenario's own targeting block (for strategies the page has no sliders for)."""


def _forms() -> list[StrategyForm]:
    """Nobody referred, every registered strategy offered with knobs, then the presets
    whose strategies are all registered."""
    registry = Strategy.registry
    forms = [NO_FORM]
    forms += [_class_form(cls) for cls in registry.values() if cls.offered and cls.knobs]
    forms += [_preset_form(p, tuple(p.classes())) for p in PRESETS
              if all(n in registry for n in p.needs)]
    return forms


def profile_rates(rate: float, scenario: Scenario) -> dict[str, float]:
    """Per-class referral rates averaging ``rate`` (see ``targeting.basic.profile_rates``)."""
    return basic.profile_rates(rate, scenario)


def strategy_forms(scenario: Scenario) -> list[StrategyForm]:
    """The strategies offered for ``scenario``: those whose strategies are registered.

    The scenario's own block comes first when no form with sliders reproduces it.
    """
    forms = _forms()
    if scenario.targeting is not None and not any(f.read(scenario) is not None for f in forms):
        forms.insert(0, SCENARIO_FORM)
    return forms


def default_form(scenario: Scenario) -> StrategyForm:
    """The form matching the scenario's own targeting (or the first offered)."""
    forms = strategy_forms(scenario)
    return next((f for f in forms if f.read(scenario) is not None), forms[0])


def knob_values(form: StrategyForm, scenario: Scenario) -> dict[str, float]:
    """Starting slider values: the scenario's own where it uses ``form``, else defaults."""
    own = form.read(scenario) or {}
    out = {}
    for k in form.knobs:
        v = own.get(k.name, k.default)
        out[k.name] = float(min(k.hi, max(k.lo, v)))
    return out


@dataclass(frozen=True)
class Knobs:
    """The page's settings.

    ``demand``: multiplier of the scenario's arrival rates (1 = as written).
    ``officers``: stage → officers on duty at that stage's busiest hour; every lane's
    roster is scaled by the same factor (stages not listed keep their roster).
    ``strategy``: a ``StrategyForm`` key; ``params``: its knob values.
    """

    demand: float = 1.0
    officers: tuple[tuple[str, int], ...] = ()
    strategy: str = "scenario"
    params: tuple[tuple[str, float], ...] = ()
    incidents: tuple[Incident, ...] = ()
    """Outages and surges the trainer pressed (``workshop.incident``), in order."""

    def with_param(self, name: str, value: float) -> Knobs:
        """These knobs with strategy parameter ``name`` set to ``value``."""
        params = dict(self.params)
        params[name] = float(value)
        return replace(self, params=tuple(sorted(params.items())))


def peak_officers(scenario: Scenario, stage: str) -> int:
    """Officers on duty at ``stage`` in its busiest hour (all lanes together)."""
    lanes = scenario.stages[stage].lane_specs(stage).values()
    by_hour = np.sum([as_24(lane.servers) for lane in lanes], axis=0)
    return int(by_hour.max())


def scale_roster(servers: int | list[int], factor: float) -> int | list[int]:
    """A roster (a count, or 24 hourly counts) times ``factor``, rounded.

    Hours with officers keep at least one, so lanes do not close; hours without stay closed.
    """
    def one(n: int) -> int:
        return 0 if n <= 0 else max(1, int(round(n * factor)))
    if isinstance(servers, list):
        return [one(int(n)) for n in servers]
    return one(int(servers))


def _scale_rate(value: float | list[float], factor: float) -> float | list[float]:
    if isinstance(value, list):
        return [float(v) * factor for v in value]
    return float(value) * factor


def find_form(key: str) -> StrategyForm:
    """The form called ``key``."""
    forms = [SCENARIO_FORM, *_forms()]
    for form in forms:
        if form.key == key:
            return form
    raise ScenarioError(f"unknown strategy {key!r}; choose one of "
                        f"{[f.key for f in forms]}", None, "targeting")


def apply_knobs(scenario: Scenario, knobs: Knobs) -> Scenario:
    """``scenario`` with the page's settings applied, validated (raises ``ScenarioError``)."""
    if not knobs.demand >= 0 or math.isinf(knobs.demand):
        raise ScenarioError(f"demand must be 0 or more, got {knobs.demand}", None, "arrivals")
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["arrivals"]["per_hour"] = _scale_rate(data["arrivals"]["per_hour"], knobs.demand)
    for stage, wanted in knobs.officers:
        if stage not in data["stages"]:
            raise ScenarioError(f"no stage called {stage!r}", None, "stages")
        peak = peak_officers(scenario, stage)
        factor = int(wanted) / peak if peak > 0 else 0.0
        sdata = data["stages"][stage]
        if int(wanted) < 1:
            raise ScenarioError("needs at least 1 officer", None, f"stages.{stage}.servers")
        if "lanes" in sdata:
            for lane in sdata["lanes"].values():
                lane["servers"] = scale_roster(lane["servers"], factor)
        else:
            sdata["servers"] = scale_roster(sdata["servers"], factor)
    form = find_form(knobs.strategy)
    params = {**knob_values(form, scenario), **dict(knobs.params)}
    block = form.build(params, scenario)
    if block is None:
        data.pop("targeting", None)
    else:
        data["targeting"] = block
    return apply_incidents(load_scenario(data), knobs.incidents)


# --------------------------------------------------------------------------- running


WORST_WAIT = "worst_stage.wait_p95"
"""Headline key: the pooled 95th-percentile wait of the stage that breaks first."""

HEADLINE = (
    (WORST_WAIT, "95 % wait, worst stage", "min"),
    ("throughput_per_hour", "Throughput (travellers per hour)", "/h"),
    ("detection_rate", "Detection rate (threats caught)", "%"),
    ("innocent_referred_per_day", "Innocent travellers referred", "per day"),
)
"""KPIs the page leads with: key, words shown, unit."""


@dataclass
class Outcome:
    """What one setting produced (picklable, so the page can cache it).

    ``kpis``: name → {"mean", "ci_low", "ci_high"} over ``replications``.
    ``queue_hours``/``queue``: mean number waiting at each stage in time bins over the
    day, averaged over replications (bin middles in hours from 00:00; stage → travellers).
    ``plan``, ``inputs``, ``trace``: replication 0, replayed by the animation.
    """

    scenario: Scenario
    engine: str
    replications: int
    kpis: dict[str, dict[str, float]]
    per_replication: list[dict[str, float]]
    queue_hours: np.ndarray
    queue: dict[str, np.ndarray]
    plan: Plan
    inputs: Inputs | None
    trace: Trace | None
    warnings: list[str] = field(default_factory=list)

    def mean(self, kpi: str) -> float:
        return self.kpis.get(kpi, {}).get("mean", math.nan)


def waiting_over_time(plan: Plan, trace: Trace, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Mean number waiting (queued, not in service) at each stage in each time bin.

    ``edges``: bin edges in minutes (within the run); one value per bin, the time
    average of the queue length over the bin (``outcomes.occupancy``; cumulative-sum
    round-off below zero is clipped).
    """
    width = np.diff(edges)
    return {name: np.maximum(occupancy(plan, trace, s, edges).waiting.sum(axis=0) / width, 0.0)
            for s, name in enumerate(plan.stage_names)}


def innocent_referred_per_day(kpis: dict[str, float], scenario: Scenario) -> float:
    """Innocent travellers referred per day in one replication (from its KPIs)."""
    innocent = kpis.get("arrived", 0.0) - kpis.get("threats", 0.0)
    rate = kpis.get("false_referral_rate", math.nan)
    if math.isnan(rate):
        return 0.0
    return rate * innocent / (scenario.duration / 1440.0)


def run(scenario: Scenario, replications: int = 5, engine: str = "auto",
        seed: int | None = None, step: float = 10.0, keep_trace: bool = True) -> Outcome:
    """Simulate ``scenario`` (``replications`` on ``seed``, default the scenario's).

    ``step``: width of the queue-over-the-day bins (minutes). ``keep_trace``: keep the
    traces (for the queue curve and the animation); off for trade-off curve points.
    """
    result = simulate(scenario, engine=engine, replications=replications, seed=seed,
                      keep_traces=keep_trace)
    per_rep = [dict(k, innocent_referred_per_day=innocent_referred_per_day(k, scenario))
               for k in result.per_replication]
    kpis = dict(result.kpis)
    kpis["innocent_referred_per_day"] = confidence_interval(
        k["innocent_referred_per_day"] for k in per_rep)
    plan = plan_of(scenario)  # the plan simulate() ran
    edges = np.append(np.arange(0.0, plan.horizon, step), plan.horizon)
    queue = {s: np.zeros(edges.size - 1) for s in plan.stage_names}
    for _, trace in result.traces:
        for s, q in waiting_over_time(plan, trace, edges).items():
            queue[s] += q / len(result.traces)
    inputs, trace = result.traces[0] if result.traces else (None, None)
    if inputs is not None:
        inputs = replace(inputs, dynamic=None)  # a closure: cannot be pickled, not needed
    mids = (edges[:-1] + edges[1:]) / 2
    return Outcome(scenario, result.engine, result.replications, kpis, per_rep, mids / 60.0,
                   queue, plan, inputs, trace, list(result.warnings))


@dataclass(frozen=True)
class CurvePoint:
    """One setting on the trade-off curve (means over the replications)."""

    value: float
    wait_p95: float
    """Minutes: the worst stage's pooled 95th-percentile wait (``worst_wait``)."""
    detection_rate: float
    false_referral_rate: float


def tradeoff_curve(scenario: Scenario, knobs: Knobs, replications: int = 3,
                   engine: str = "auto", grid: tuple[float, ...] | None = None
                   ) -> tuple[str | None, list[CurvePoint]]:
    """Detection against wait as the strategy's main knob varies (others as set).

    Every point sees the same travellers (same seed). Returns the knob's name and the
    points (empty when the strategy has no knob to sweep).
    """
    form = find_form(knobs.strategy)
    if form.sweep is None:
        return None, []
    points = []
    for value in grid if grid is not None else form.grid:
        s = apply_knobs(scenario, knobs.with_param(form.sweep, value))
        o = run(s, replications, engine, step=60.0, keep_trace=False)
        points.append(CurvePoint(float(value), worst_wait(o.kpis, s), o.mean("detection_rate"),
                                 o.mean("false_referral_rate")))
    return form.sweep, points


def curve_knobs(knobs: Knobs) -> Knobs:
    """``knobs`` without the value of the knob the curve sweeps (a cache key for the curve)."""
    form = find_form(knobs.strategy)
    return replace(knobs, params=tuple((k, v) for k, v in knobs.params if k != form.sweep))


def stage_limits(scenario: Scenario) -> dict[str, float]:
    """The "95 % within X min" queue standard the page judges every stage by (minutes):
    the report's default for the scenario's ``kind``."""
    limit = QUEUE_LIMIT[scenario.kind]
    return {stage: limit for stage in scenario.stages}


def worst(kpis: dict[str, dict[str, float]], scenario: Scenario) -> StageHeadline | None:
    """The stage that breaks first: its own pooled 95th-percentile wait against the
    page's queue standard (``headline.worst_stage``)."""
    return worst_stage(kpis, list(scenario.stages), stage_limits(scenario))


def worst_wait(kpis: dict[str, dict[str, float]], scenario: Scenario) -> float:
    """Minutes: the worst stage's pooled 95th-percentile wait (NaN if none)."""
    found = worst(kpis, scenario)
    return math.nan if found is None else found.wait_p95


def headline(outcome: Outcome) -> list[dict[str, Any]]:
    """The page's four numbers: label, unit, mean and 95 % interval (shown units).

    The first is the worst stage's own 95th-percentile wait (the stage named in its
    label), never a percentile over everyone, which hides the stage that breaks.
    """
    rows = []
    nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    for key, label, unit in HEADLINE:
        ci = outcome.kpis.get(key, nan)
        if key == WORST_WAIT:
            found = worst(outcome.kpis, outcome.scenario)
            ci = outcome.kpis.get(f"{found.stage}.wait_p95", nan) if found else nan
            label = f"95 % wait at {found.stage} (worst stage)" if found else label
        k = 100.0 if unit == "%" else 1.0
        rows.append({"key": key, "label": label, "unit": unit, "mean": ci["mean"] * k,
                     "low": ci["ci_low"] * k, "high": ci["ci_high"] * k})
    return rows


def fmt_number(value: float, unit: str) -> str:
    """A headline value in words: ``"4.2 min"``, ``"183/h"``, ``"8.0%"``, ``"131 per day"``."""
    if value is None or math.isnan(value):
        return "—"
    digits = 1 if unit in ("min", "%") else 0
    space = "" if unit in ("%", "/h") else " "
    return f"{value:,.{digits}f}{space}{unit}"


def fmt_interval(row: dict[str, Any], replications: int) -> str:
    """``"95% interval 3.9–4.6 (5 runs)"`` for a headline row."""
    if math.isnan(row["low"]):
        return f"interval needs 2+ runs ({replications} run)"
    digits = 1 if row["unit"] in ("min", "%") else 0
    return (f"95% interval {row['low']:,.{digits}f}–{row['high']:,.{digits}f} "
            f"({replications} runs)")


def stage_waits(outcome: Outcome) -> str:
    """One line on each stage's wait: ``"primary: 0.3 min on average, 1.5 min for 95 %"``."""
    parts = []
    for stage, spec in outcome.scenario.stages.items():
        mean, p95 = outcome.mean(f"{stage}.wait_mean"), outcome.mean(f"{stage}.wait_p95")
        who = " (referred travellers)" if spec.visits == "referred" else ""
        parts.append(f"{stage}{who}: wait {fmt_number(mean, 'min')} on average, "
                     f"{fmt_number(p95, 'min')} at the 95th percentile")
    return "; ".join(parts)


def shock_words(outcome: Outcome) -> str:
    """The shock KPIs in one line: each stage's peak queue and recovery time, and the
    reserve officer-hours used (``borderesim.analysis.shocks``)."""
    parts = []
    for stage in outcome.scenario.stages:
        peak = outcome.mean(f"{stage}.queue_peak")
        recovery = outcome.mean(f"{stage}.recovery_min")
        if math.isnan(peak):
            continue
        words = f"{stage}: queue peaks at {peak:,.0f}"
        words += ("" if math.isnan(recovery) else f", back under the recovery target after "
                  f"{recovery:,.0f} min")
        parts.append(words)
    hours = outcome.mean("reserve_officer_hours")
    if not math.isnan(hours) and hours > 0:
        parts.append(f"reserve officers worked {hours:.1f} h")
    return "After the incident — " + "; ".join(parts) if parts else ""


def describe_setting(knobs: Knobs) -> list[str]:
    """The page's settings in words, one item each (demand, officers, targeting).

    Used by the page's marker of the setting it shows, the saved YAML's header and the
    PNG snapshot, so all three say the same thing.
    """
    form = find_form(knobs.strategy)
    officers = ", ".join(f"{stage} {n}" for stage, n in knobs.officers) or "as rostered"
    labels = {k.name: k for k in form.knobs}
    params = []
    for name, value in knobs.params:
        knob = labels.get(name)
        shown = f"{value:.4g}" if knob is None or not knob.percent else f"{100 * value:.4g}%"
        params.append(f"{name.replace('_', ' ')} {shown}")
    targeting = ", ".join([form.label, *params])
    words = [f"demand x{knobs.demand:g}", f"officers at the busiest hour: {officers}",
             f"targeting: {targeting}"]
    return words + [incident_words(i) for i in knobs.incidents]


def setting_id(scenario_text: str, knobs: Knobs, replications: int, engine: str) -> str:
    """A short digest (10 hex digits) naming one setting of the page.

    Everything the page's numbers and downloads are computed from goes in: the scenario
    (as YAML text), the knobs, the number of replications and the engine asked for. The
    page shows it next to the downloads and writes it into both files, so a file can be
    matched to the screen it was saved from.
    """
    key = json.dumps([scenario_text, knobs.demand, knobs.officers, knobs.strategy,
                      knobs.params, [incident_words(i) for i in knobs.incidents],
                      [repr(i) for i in knobs.incidents], int(replications), engine])
    return hashlib.sha256(key.encode()).hexdigest()[:10]


MARKER = "Numbers, charts and downloads show:"
"""How the page's marker of the setting on screen begins (the browser test waits for it)."""


def setting_marker(knobs: Knobs, setting: str) -> str:
    """The line the page shows after its downloads: the setting in words and its id."""
    return f"{MARKER} {'; '.join(describe_setting(knobs))} (setting {setting})"


def scenario_yaml(scenario: Scenario, knobs: Knobs, setting: str = "") -> str:
    """The current setting as a scenario file (all times in minutes), with a note on top.

    ``setting``: the page's ``setting_id``, recorded in the note when given.
    """
    lines = ["# Saved from the borderesim workshop"
             + (f" (setting {setting})" if setting else ""),
             *(f"#   {' '.join(item.splitlines())}" for item in describe_setting(knobs))]
    return "\n".join(lines) + "\n" + scenario.to_yaml()


_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
"""Every ASCII punctuation character: CommonMark lets each be backslash-escaped."""


def plain(text: str) -> str:
    """``text`` escaped so Streamlit's Markdown shows it literally.

    Every ASCII punctuation character gets a backslash, so names and descriptions from a
    scenario file cannot make the page render images, links, HTML, LaTeX or headings
    (an image would make every viewer's browser fetch an outside address).
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
