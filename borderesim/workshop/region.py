"""The workshop's region page, as plain functions (tested without a server).

A trainer picks a region file (the one the server was started on, an example from
borderesim's ``scenarios/region`` folder, or an upload) and moves knobs
(:class:`RegionKnobs`): the share of travellers informed of posted waits and how often
those are refreshed, the green border's detection probability, how threats choose their
route, the shared watchlist, demand, and at each crossing the officers of the stage whose
wait is posted and its strategy's main knob (the single-crossing page's, from
:mod:`borderesim.workshop.logic`).

Every knob is a region-file field override: :func:`region_changes` turns the knobs into
``{dotted.path: value}``, the changes of a variant of
:mod:`borderesim.run.region.variants` (``crossings.NAME.FIELD`` reaches a crossing's own
scenario through ``set_region_field``, as ``--set`` does), and only the knobs moved off
the file's own values appear. :func:`run` simulates the changed region
(:func:`~borderesim.run.region.simulate_region`: regional KPIs with 95 % intervals, each
crossing's KPIs, and the value of information paired against ``informed_share: 0`` on
the same travellers); :func:`region_yaml` writes the same setting as a region file that
``borderesim run`` reproduces exactly.

**Uploads never open a server file.** An uploaded region is parsed from its bytes
(bounded, no ``extends:``), and each crossing must name one of borderesim's packaged
crossing files (:func:`packaged_crossings`), compared as a string against that list
before anything is opened; the crossings are read from the packaged folder only.

Units: times in minutes, rates per hour, shares 0-1 (the page shows percentages).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..analysis.kpis import format_value, kpi_info
from ..analysis.metrics import confidence_interval
from ..errors import ScenarioError, shorten
from ..model.hourly import as_24
from ..model.scenario import Scenario, load_scenario
from ..model.targeting import Knob
from ..model.yamlio import decode_text, mapping_from_text, read_text
from ..run.plan import make_plan
from ..run.region import GREEN, Region, RegionResult, is_region_mapping, simulate_region
from ..run.region.cli import shock_rows
from ..run.region.runner import first_open_stage
from ..run.region.schema import region_from_mapping, set_region_field
from ..run.region.variants import variant_overrides
from . import logic

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"
"""borderesim's example scenarios (the repository's ``scenarios`` folder)."""

PACKAGED = SCENARIOS / "region"
"""The example regions, and the folder an uploaded region's crossings are read from."""

HEADLINE = ("region.wait_mean", "region.wait_p95", "region.journey_mean",
            "region.throughput_per_hour", "region.detection_rate",
            "region.threats_missed_per_day", "region.displacement_share",
            "region.information_time_saving")
"""The regional numbers shown large, in order."""

CROSSING_KPIS = ("arrivals_per_hour", "wait_mean", "wait_p95", "detection_rate",
                 "referral_rate")
"""Each crossing's numbers in the table."""

EFFECT_KPIS = ("region.wait_mean", "region.journey_mean", "region.throughput_per_hour",
               "region.detection_rate", "region.threats_missed_per_day",
               "region.displacement_share", f"region.route.{GREEN}.threat_share",
               "region.information_time_saving")
"""The numbers whose change from the previous setting the page puts in words."""

BEHAVIOURS = ("naive", "displacement", "probing")
"""How threats may choose their route (``adversary.behaviour``)."""

REFRESHES = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)
"""Refresh intervals of the posted waits the page offers (minutes), besides the file's."""

REPLICATIONS = 3
"""Most runs of the day the page starts with (fewer when the file asks for fewer, at
least 2 so every number has an interval); the trainer may choose 1 to 20. A slider move
costs about 0.2 s per run on the example region (``experiments/bench_workshop_region.py``)."""


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class RegionSource:
    """A region file as the page holds it (hashable, so it can key a cache).

    ``name``: what error messages name (the path given, or the uploaded file's name);
    ``text``: the file's YAML text as read; ``base``: the folder its crossing files are
    read from; ``uploaded``: its crossings are restricted to :func:`packaged_crossings`.
    """

    name: str
    text: str
    base: str
    uploaded: bool = False


def example_regions() -> dict[str, Path]:
    """Example region files shipped with borderesim: title → path."""
    out: dict[str, Path] = {}
    for path in sorted(PACKAGED.glob("*.yaml")) if PACKAGED.is_dir() else ():
        try:
            data = mapping_from_text(read_text(path, "region file"), str(path), "region file")
        except ScenarioError:
            continue
        if is_region_mapping(data) and isinstance(data.get("name"), str):
            out.setdefault(data["name"], path)
    return out


@cache
def packaged_crossings() -> dict[str, Path]:
    """The crossing files an uploaded region may name → their paths: each scenario file
    of ``scenarios/region`` and of ``scenarios``, named as from ``scenarios/region``
    (``"north_crossing.yaml"``, ``"../land_crossing.yaml"``)."""
    out: dict[str, Path] = {}
    for folder, prefix in ((PACKAGED, ""), (SCENARIOS, "../")):
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            try:
                load_scenario(path)
            except ScenarioError:  # a region, sweep, variants or strategies file
                continue
            out[prefix + path.name] = path
    return out


def source_from_file(path: str | Path) -> RegionSource:
    """A region file on the server (given on the command line, or an example): trusted,
    its crossings read relative to it. Raises ``ScenarioError`` naming ``path``."""
    path = Path(path)
    text = read_text(path, "region file")
    mapping_from_text(text, str(path), "region file")
    return RegionSource(str(path), text, str(path.parent))


def _refuse_server_files(data: dict[str, Any], name: str) -> None:
    """Raise unless every crossing of the uploaded mapping ``data`` names a packaged
    crossing file, by exact name (nothing is opened or resolved to decide)."""
    if "extends" in data:
        raise ScenarioError("an uploaded file cannot use 'extends' (it would name a file "
                            "on the server); upload the combined region instead", name,
                            "extends")
    crossings = data.get("crossings")
    if not isinstance(crossings, dict):
        return  # the schema says what is wrong, and nothing can be opened
    allowed = packaged_crossings()
    for cname, ref in crossings.items():
        if not isinstance(ref, dict) or "scenario" not in ref:
            continue  # the schema refuses it before any crossing is loaded
        wanted = ref["scenario"]
        if not isinstance(wanted, str) or wanted not in allowed:
            raise ScenarioError(
                f"{shorten(wanted)}: an uploaded region may name only borderesim's packaged "
                f"crossing files ({', '.join(allowed) or 'none found'}), never another file "
                "on the server; start the workshop on your own region file from the command "
                "line instead", name, f"crossings.{shorten(cname, quote=False)}.scenario")


def source_from_upload(filename: str, data: bytes) -> RegionSource:
    """An uploaded region file: bounded (``decode_text``), no ``extends:``, and crossings
    that name packaged crossing files only. Errors name the uploaded file (never a server
    path) and quote only the uploaded text."""
    name = Path(filename).name or "uploaded.yaml"
    text = decode_text(data, name)
    mapping = mapping_from_text(text, name, "region file")
    if not is_region_mapping(mapping):
        raise ScenarioError("not a region file (it has no 'crossings:'); upload a scenario "
                            "on the one-crossing page", name, "crossings")
    _refuse_server_files(mapping, name)
    return RegionSource(name, text, str(PACKAGED), uploaded=True)


def changed_mapping(source: RegionSource, changes: dict[str, Any]) -> dict[str, Any]:
    """The region file's mapping with ``changes`` (dotted path → value) applied, as
    ``--set`` applies them (``crossings.NAME.FIELD`` lands in that crossing's ``set``)."""
    data = mapping_from_text(source.text, source.name, "region file")
    for key, value in changes.items():
        try:
            data = set_region_field(data, [p for p in key.split(".") if p], value)
        except ScenarioError as exc:
            raise ScenarioError(exc.problem, source.name, exc.path) from None
    return data


def load(source: RegionSource, changes: dict[str, Any] | None = None) -> Region:
    """The region of ``source`` with ``changes`` applied, validated with its crossings.

    An uploaded region's crossings are checked against :func:`packaged_crossings` and read
    from the packaged folder; an error inside one names the upload and the crossing
    (``upload.yaml: crossings.north: north_crossing.yaml: stages...``), not a server path.
    """
    data = changed_mapping(source, changes or {})
    if not source.uploaded:
        return region_from_mapping(data, source.name, Path(source.base))
    _refuse_server_files(data, source.name)
    try:
        return region_from_mapping(data, source.name, PACKAGED)
    except ScenarioError as exc:
        if exc.source == source.name or exc.source is None:
            raise
        found = next((c for c, ref in data["crossings"].items()
                      if str(PACKAGED / ref["scenario"]) == exc.source), None)
        inner = ": ".join(p for p in (exc.path, exc.problem) if p)
        file = Path(exc.source).name
        raise ScenarioError(f"{file}: {inner}", source.name,
                            f"crossings.{found}" if found else "crossings") from None


# --------------------------------------------------------------------------- knobs


@dataclass(frozen=True)
class CrossingControls:
    """What the page offers at one crossing.

    ``stage``: the stage whose wait is posted (the first everybody visits), whose
    officers the page varies; ``officers``: on duty there at the busiest hour in the file.
    ``form``: the crossing's own strategy (:func:`logic.default_form`); ``knob``: its main
    knob (None: nothing to vary), its range stretched to hold ``value``, that knob's
    value in the file (so the page starts at the file as it is).
    """

    crossing: str
    stage: str
    officers: int
    form: logic.StrategyForm
    knob: Knob | None
    value: float | None


def posted_stage(scenario: Scenario) -> str:
    """The stage whose wait a crossing posts (``runner.first_open_stage``)."""
    return list(scenario.stages)[first_open_stage(make_plan(scenario))]


def crossing_controls(region: Region) -> list[CrossingControls]:
    """Each crossing's officers and main-knob controls, in the file's order."""
    out = []
    for name, scenario in region.scenarios.items():
        stage = posted_stage(scenario)
        form = logic.default_form(scenario)
        knob = next((k for k in form.knobs if k.name == form.sweep), None)
        value = None
        if knob is not None:  # the file's own value, the slider's range stretched to hold it
            value = float((form.read(scenario) or {}).get(knob.name, knob.default))
            knob = replace(knob, lo=min(knob.lo, value), hi=max(knob.hi, value))
        out.append(CrossingControls(name, stage, logic.peak_officers(scenario, stage), form,
                                    knob, value))
    return out


@dataclass(frozen=True)
class RegionKnobs:
    """The region page's settings (hashable, so it can key a cache).

    ``informed_share``: share of travellers checking posted waits (0-1); ``refresh``:
    minutes between refreshes of the posted waits; ``green_detection``: the green
    border's detection probability at its highest hour (an hourly profile keeps its
    shape; None: the region has no green border); ``behaviour`` and ``knowledge``: the
    adversary's; ``shared_watchlist``; ``demand``: multiplier of every origin's
    departures; ``officers``: crossing → officers at its posted stage at the busiest hour
    (every lane's roster scaled alike, as on the single-crossing page); ``targeting``:
    crossing → the value of its strategy's main knob.
    """

    informed_share: float
    refresh: float
    green_detection: float | None
    behaviour: str
    knowledge: float
    shared_watchlist: bool
    demand: float = 1.0
    officers: tuple[tuple[str, int], ...] = ()
    targeting: tuple[tuple[str, float], ...] = ()


def _green_peak(region: Region) -> float | None:
    green = region.spec.green_border
    return None if green is None else float(max(as_24(green.detection_probability)))


def file_knobs(region: Region) -> RegionKnobs:
    """The knobs at the region file's own values (where the page's sliders start)."""
    spec = region.spec
    controls = crossing_controls(region)
    return RegionKnobs(
        informed_share=spec.information.informed_share, refresh=spec.information.refresh,
        green_detection=_green_peak(region), behaviour=spec.adversary.behaviour,
        knowledge=spec.adversary.knowledge, shared_watchlist=spec.shared_watchlist,
        officers=tuple((c.crossing, c.officers) for c in controls),
        targeting=tuple((c.crossing, c.value) for c in controls if c.value is not None))


def _same(a: float | None, b: float | None) -> bool:
    """Equal up to a slider's rounding (a percentage slider rounds to 1e-5)."""
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _green_profile(region: Region, peak: float) -> float | list[float]:
    """The green border's detection probability with its highest hour at ``peak``: a
    single value is replaced; an hourly profile is scaled (each hour at most 1)."""
    value = region.spec.green_border.detection_probability
    if not isinstance(value, list):
        return float(peak)
    top = max(value)
    if top <= 0:
        return [float(peak)] * len(value)
    return [min(1.0, float(v) * peak / top) for v in value]


def _at(exc: ScenarioError, region: Region, where: str) -> ScenarioError:
    """``exc`` (about a crossing's own scenario) named as a field of the region file."""
    return ScenarioError(exc.problem, region.source, f"{where}.{exc.path}" if exc.path else where)


def _crossing_changes(region: Region, crossing: str, officers: int | None,
                      knob_value: float | None) -> dict[str, Any]:
    """A crossing's officer and main-knob overrides, made by the single-crossing page's
    own ``logic.apply_knobs`` (rosters scaled alike, the strategy rebuilt from its knobs)
    and written as fields of that crossing's scenario."""
    scenario = region.scenarios.get(crossing)
    if scenario is None:
        raise ScenarioError(f"unknown crossing {shorten(crossing)}; crossings are "
                            f"{region.crossing_names}", region.source, f"crossings.{crossing}")
    out: dict[str, Any] = {}
    where = f"crossings.{crossing}"
    if officers is not None:
        stage = posted_stage(scenario)
        try:
            scaled = logic.apply_knobs(scenario, logic.Knobs(officers=((stage, int(officers)),)))
        except ScenarioError as exc:
            raise _at(exc, region, where) from None
        block = scaled.model_dump(mode="json", exclude_none=True)["stages"][stage]
        if "lanes" in block:
            for lane, spec in block["lanes"].items():
                out[f"{where}.stages.{stage}.lanes.{lane}.servers"] = spec["servers"]
        else:
            out[f"{where}.stages.{stage}.servers"] = block["servers"]
    if knob_value is not None:
        form = logic.default_form(scenario)
        if form.sweep is None:
            raise ScenarioError(f"its strategy ({form.label}) has no main knob", region.source,
                                f"{where}.targeting")
        try:
            rebuilt = logic.apply_knobs(scenario, logic.Knobs(
                strategy=form.key, params=((form.sweep, float(knob_value)),)))
        except ScenarioError as exc:
            raise _at(exc, region, where) from None
        out[f"{where}.targeting"] = rebuilt.targeting.model_dump(mode="json", exclude_none=True)
    return out


def region_changes(region: Region, knobs: RegionKnobs) -> dict[str, Any]:
    """The knobs as region-file field overrides (dotted path → value), only those moved
    off the file's own values: the changes of a variant (``region.variants``), applied
    as ``--set`` applies them. Raises ``ScenarioError`` for a value the region refuses
    (an unknown crossing, fewer than 1 officer, demand below 0)."""
    spec, base = region.spec, file_knobs(region)
    out: dict[str, Any] = {}
    if not _same(knobs.informed_share, base.informed_share):
        out["information.informed_share"] = float(knobs.informed_share)
    if not _same(knobs.refresh, base.refresh):
        out["information.refresh"] = float(knobs.refresh)
    if spec.green_border is not None and knobs.green_detection is not None \
            and not _same(knobs.green_detection, base.green_detection):
        out["green_border.detection_probability"] = _green_profile(region,
                                                                    knobs.green_detection)
    if knobs.behaviour != base.behaviour:
        out["adversary.behaviour"] = knobs.behaviour
    if not _same(knobs.knowledge, base.knowledge):
        out["adversary.knowledge"] = float(knobs.knowledge)
    if bool(knobs.shared_watchlist) != base.shared_watchlist:
        out["shared_watchlist"] = bool(knobs.shared_watchlist)
    if not (knobs.demand >= 0 and math.isfinite(knobs.demand)):
        raise ScenarioError(f"demand must be 0 or more, got {knobs.demand}", region.source,
                            "origins")
    if not _same(knobs.demand, 1.0):
        raw = spec.model_dump(mode="json")["origins"]
        for name, origin in raw.items():
            out[f"origins.{name}.per_hour"] = logic._scale_rate(origin["per_hour"],
                                                                knobs.demand)
    officers, targeting = dict(base.officers), dict(base.targeting)
    moved: dict[str, tuple[int | None, float | None]] = {}
    for crossing, n in knobs.officers:
        if crossing not in officers or int(n) != officers[crossing]:
            moved[crossing] = (int(n), None)
    for crossing, value in knobs.targeting:
        if crossing not in targeting or not _same(value, targeting[crossing]):
            moved[crossing] = (moved.get(crossing, (None, None))[0], float(value))
    for crossing, (n, value) in moved.items():
        out.update(_crossing_changes(region, crossing, n, value))
    return out


# --------------------------------------------------------------------------- words


def _share(x: float) -> str:
    return f"{100 * x:.4g}%"


def setting_items(region: Region, knobs: RegionKnobs) -> list[tuple[str, str]]:
    """The setting in words: (what, value) pairs, in the sidebar's order. The page's
    marker, the saved YAML's header and the words on what changed all use these."""
    items = [("informed of posted waits", _share(knobs.informed_share)),
             ("posted waits refreshed every", f"{knobs.refresh:g} min")]
    if knobs.green_detection is not None:
        hourly = isinstance(region.spec.green_border.detection_probability, list)
        items.append(("green border detection" + (" (highest hour)" if hourly else ""),
                      _share(knobs.green_detection)))
    items += [("threats", knobs.behaviour),
              ("threats who know the routes", _share(knobs.knowledge)),
              ("shared watchlist", "on" if knobs.shared_watchlist else "off"),
              ("demand", f"x{knobs.demand:g}")]
    controls = {c.crossing: c for c in crossing_controls(region)}
    for crossing, n in knobs.officers:
        stage = controls[crossing].stage if crossing in controls else "?"
        items.append((f"{crossing}: officers at {stage} (busiest hour)", f"{int(n)}"))
    for crossing, value in knobs.targeting:
        knob = controls[crossing].knob if crossing in controls else None
        label = knob.label if knob is not None else "main knob"
        shown = _share(value) if knob is None or knob.percent else f"{value:.4g}"
        items.append((f"{crossing}: {label}", shown))
    return items


def setting_words(items: list[tuple[str, str]]) -> str:
    """``"informed of posted waits 40%; ..."``."""
    return "; ".join(f"{what} {value}" for what, value in items)


def setting_id(source: RegionSource, knobs: RegionKnobs, replications: int,
               engine: str) -> str:
    """A short digest (10 hex digits) naming one setting of the region page: the region
    file (name, text and folder), the knobs, the runs and the engine asked for."""
    key = json.dumps([source.name, source.text, source.base, source.uploaded, asdict(knobs),
                      int(replications), engine])
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def setting_marker(items: list[tuple[str, str]], setting: str) -> str:
    """The line the page writes last: the setting in words and its id (``logic.MARKER``)."""
    return f"{logic.MARKER} {setting_words(items)} (setting {setting})"


# --------------------------------------------------------------------------- running


@dataclass
class RegionOutcome:
    """What one setting of the region page produced (picklable, so it can be cached).

    ``kpis``: regional KPIs (name → {"mean", "ci_low", "ci_high", ...}); ``crossings``:
    each crossing's KPIs; ``per_replication``: the regional KPIs of each replication
    (for paired differences between settings on the same travellers); ``changes``: the
    region-file overrides of this setting; ``items``: the setting in words;
    ``map_png``: the region's map (:func:`map_png`); ``shocks``: the shock KPIs of each
    crossing with events or reserve officers, as rows (crossing, KPI, mean, 95% CI,
    unit) of ``borderesim run``'s table (empty when no crossing has any).
    """

    setting: str
    name: str
    seed: int
    engine: str
    replications: int
    routes: list[str]
    kpis: dict[str, dict[str, float]]
    crossings: dict[str, dict[str, dict[str, float]]]
    per_replication: list[dict[str, float]]
    changes: dict[str, Any]
    items: list[tuple[str, str]]
    map_png: bytes
    shocks: list[dict[str, str]] = field(default_factory=list)

    def mean(self, kpi: str) -> float:
        return self.kpis.get(kpi, {}).get("mean", math.nan)


def run(source: RegionSource, knobs: RegionKnobs, replications: int, engine: str = "auto"
        ) -> RegionOutcome:
    """Simulate ``source`` with ``knobs`` (``replications`` runs on the file's seed).

    Raises ``ScenarioError`` for a setting the region refuses.
    """
    region = load(source)
    changes = region_changes(region, knobs)
    changed = load(source, changes) if changes else region
    result = simulate_region(changed, engine=engine, replications=int(replications),
                             keep_runs=True)
    setting = setting_id(source, knobs, replications, engine)
    head, *rows = shock_rows(result)
    return RegionOutcome(setting, changed.name, result.seed, result.engine,
                         result.replications, changed.routes, result.kpis, result.crossings,
                         result.per_replication, changes, setting_items(region, knobs),
                         map_png(result, setting),
                         [dict(zip(head, row, strict=True)) for row in rows])


def region_yaml(source: RegionSource, outcome: RegionOutcome) -> str:
    """The outcome's setting as a region file: the file with the setting's changes and
    its number of runs, and a header naming the setting, its words and the same changes
    as ``--set`` options. ``borderesim run`` on it (next to the region's crossing files)
    gives the page's numbers."""
    data = changed_mapping(source, outcome.changes)
    data["replications"] = int(outcome.replications)
    name = Path(source.name).name
    where = ("borderesim's scenarios/region folder (its crossings are the packaged ones)"
             if source.uploaded else f"the folder of {name} (its crossing files are there)")
    lines = [f"# Saved from the borderesim workshop (setting {outcome.setting})",
             *(f"#   {' '.join(f'{a} {b}'.splitlines())}" for a, b in outcome.items),
             f"# The region file {name} with {outcome.replications} runs and these changes:",
             *(f"#   --set {' '.join(s.splitlines())}"
               for s in variant_overrides(outcome.changes)),
             *(() if outcome.changes else ("#   (none: the file's own setting)",)),
             f"# Crossing files are read next to this file: keep it in {where}."]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return "\n".join(lines) + "\n" + body


# --------------------------------------------------------------------------- showing


def _interval(ci: dict[str, float] | None, unit: str, replications: int) -> str:
    if ci is None or math.isnan(ci.get("ci_low", math.nan)):
        return f"interval needs 2+ runs ({replications} run)"
    return (f"95% interval {format_value(ci['ci_low'], unit)} – "
            f"{format_value(ci['ci_high'], unit, with_unit=True)} ({replications} runs)")


def headline(result: RegionResult | RegionOutcome,
             baseline: RegionResult | RegionOutcome | None = None) -> list[dict[str, str]]:
    """The headline numbers as text: ``label``, ``value`` (with its unit), ``interval``
    (``"95% interval 3.9 – 4.6 min (5 runs)"``), ``better`` (lower, higher or neither)
    and ``delta``: the change from ``baseline`` when given and visible, else ``""``."""
    rows = []
    for name in HEADLINE:
        ci = result.kpis.get(name)
        if ci is None:
            continue
        info = kpi_info(name)
        unit = info.unit.name
        delta = ""
        if baseline is not None and name in baseline.kpis:
            d = ci["mean"] - baseline.kpis[name]["mean"]
            shown = format_value(d, unit, sign=True, with_unit=True)
            if not math.isnan(d) and shown.lstrip("+-−") != format_value(0.0, unit,
                                                                         with_unit=True):
                delta = shown
        rows.append({"kpi": name, "label": info.label,
                     "value": format_value(ci["mean"], unit, with_unit=True),
                     "interval": _interval(ci, unit, result.replications),
                     "better": info.family.better, "delta": delta})
    return rows


def _cell(ci: dict[str, float] | None, name: str) -> str:
    """``"0.61 (0.55–0.67)"``: a mean in the KPI's shown unit, with its interval if any."""
    if ci is None:
        return "—"
    info = kpi_info(name)
    text = info.format(ci["mean"])
    if not math.isnan(ci.get("ci_low", math.nan)):
        text += f" ({info.format(ci['ci_low'])}–{info.format(ci['ci_high'])})"
    return text


def crossing_table(result: RegionResult | RegionOutcome) -> list[dict[str, Any]]:
    """One row per crossing: its name and each of :data:`CROSSING_KPIS` as text, the
    95 % interval in brackets where the run has one."""
    rows = []
    for name, kpis in result.crossings.items():
        row: dict[str, Any] = {"crossing": name}
        for k in CROSSING_KPIS:
            info = kpi_info(k)
            row[f"{info.short} ({info.unit.symbol})"] = _cell(kpis.get(k), k)
        rows.append(row)
    return rows


def route_table(outcome: RegionOutcome, baseline: RegionOutcome | None = None
                ) -> list[dict[str, str]]:
    """Threats by route: the share of threats taking each route and the share of those
    detected there (with intervals), and the share in ``baseline`` (the file's setting)
    when given."""
    rows = []
    for route in outcome.routes:
        share, det = f"region.route.{route}.threat_share", f"region.route.{route}.detection_rate"
        row = {"route": "green border" if route == GREEN else route,
               "threats (%)": _cell(outcome.kpis.get(share), share),
               "caught there (%)": _cell(outcome.kpis.get(det), det)}
        if baseline is not None:
            row["threats, file (%)"] = kpi_info(share).format(baseline.mean(share))
        rows.append(row)
    return rows


def _paired(before: RegionOutcome, after: RegionOutcome, name: str) -> dict[str, float] | None:
    """The paired difference ``after - before`` of a KPI over replications on the same
    travellers (same seed and runs), or None when the two cannot be paired."""
    if before.replications != after.replications or before.seed != after.seed:
        return None
    try:
        diffs = [a[name] - b[name] for a, b in zip(after.per_replication,
                                                  before.per_replication, strict=True)]
    except (KeyError, ValueError):
        return None
    return confidence_interval(diffs)


def change_words(before: RegionOutcome, after: RegionOutcome) -> str:
    """What changed from the previous setting ``before`` to ``after``, in words: the
    knobs moved, then each of :data:`EFFECT_KPIS` whose shown value changed, with the
    paired difference's 95 % interval (same travellers) and whether it excludes 0."""
    old = dict(before.items)
    moved = [f"{what} {old[what]} → {value}" for what, value in after.items
             if what in old and old[what] != value]
    if before.replications != after.replications:
        moved.append(f"runs {before.replications} → {after.replications}")
    if not moved:
        return "Same setting as before."
    effects = []
    for name in EFFECT_KPIS:
        if name not in after.kpis or name not in before.kpis:
            continue
        info = kpi_info(name)
        unit = info.unit.name
        a, b = before.mean(name), after.mean(name)
        was, now = (format_value(v, unit, with_unit=True) for v in (a, b))
        if was == now:
            continue
        text = f"{info.label.lower()} {was} → {now}"
        diff = _paired(before, after, name)
        if diff is not None and not math.isnan(diff.get("ci_low", math.nan)):
            real = diff["ci_low"] > 0 or diff["ci_high"] < 0
            text += (f" ({format_value(diff['mean'], unit, sign=True)}, paired 95% interval "
                     f"{format_value(diff['ci_low'], unit, sign=True)} to "
                     f"{format_value(diff['ci_high'], unit, sign=True)}"
                     + ("" if real else ", within noise") + ")")
        effects.append(text)
    said = "Changed from the previous setting: " + "; ".join(moved) + "."
    if not effects:
        return said + " No headline number changed."
    return said + " Effect: " + "; ".join(effects) + "."


def map_png(result: RegionResult, setting: str = "") -> bytes:
    """The map of :mod:`borderesim.run.region.figure` (origins, crossings, the green
    border; flows and waits on the edges) as PNG, from ``simulate_region(...,
    keep_runs=True)``; ``setting`` (the page's :func:`setting_id`) goes in its
    ``Description`` text chunk. Threats by route are the page's table, not drawn here:
    the map alone draws in about half the time, and it is drawn on every slider move."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..run.region.figure import plot_region_map

    fig = Figure(figsize=(8.0, 4.5))
    FigureCanvasAgg(fig)
    plot_region_map(result, fig.add_axes((0.01, 0.01, 0.98, 0.86)))  # no layout pass
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100,
                metadata={"Description": f"borderesim workshop setting {setting}"})
    return buf.getvalue()
