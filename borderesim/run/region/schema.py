"""Region files: several crossings, where travellers come from, information and adversaries.

A region file names crossings (each an ordinary scenario file whose ``arrivals`` are
replaced by the travellers routed to it; its ``events`` apply there: outages, slowdowns
and reserve officers as at a single crossing, a surge's travellers arriving there
directly, see :mod:`borderesim.run.region.sampling`), origins with their demand and travel times,
the real-time wait information travellers may use, the green border between the ports,
and how threats choose their route. Times are minutes (unit strings accepted); rates are
per hour. The region's ``duration``, ``warmup``, ``drain_cap``, ``replications`` and
``seed`` apply to every crossing (their own are ignored).

Bad input raises one :class:`~borderesim.errors.ScenarioError` naming the region file
(or the crossing file at fault) and the field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from ...errors import InputFileError, ScenarioError, shorten
from ...model import limits
from ...model.distributions import Minutes, MinutesOrZero, RunMinutes
from ...model.hourly import HOURS_PER_DAY, HourlyRate, as_24
from ...model.scenario import (
    ClassName,
    PlainText,
    Probability,
    RunWindow,
    Scenario,
    TravellerClass,
    _format_validation,
    apply_override,
    load_scenario,
    read_yaml_mapping,
    set_path,
)
from ...model.schema_base import Strict

GREEN = "green_border"
"""Route name of the green border (the land between the crossings); not a crossing name."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _identifier(kind: str):
    def check(name: str) -> str:
        if not _NAME.match(name) or len(name) > 64:
            raise ValueError(f"{kind} name {shorten(name)} may use only letters, digits, '_' "
                             "and '-', start with a letter and be at most 64 characters")
        if name == GREEN:
            raise ValueError(f"'{GREEN}' is the route between the crossings; name the "
                             f"{kind} otherwise")
        return name

    return check


def _hourly_probability(value: object) -> object:
    """One probability, or 24 hourly probabilities (hour 0 = 00:00-01:00)."""
    values = value if isinstance(value, list | tuple) else [value]
    if isinstance(value, list | tuple) and len(value) != HOURS_PER_DAY:
        raise ValueError(f"an hourly list needs exactly 24 values (hours 0-23), got {len(value)}")
    for h, v in enumerate(values):
        where = f"hour {h}: " if isinstance(value, list | tuple) else ""
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise ValueError(f"{where}must be a probability between 0 and 1, got {shorten(v)}")
    return [float(v) for v in value] if isinstance(value, list | tuple) else float(value)


CrossingName = Annotated[str, AfterValidator(_identifier("a crossing"))]
OriginName = Annotated[str, AfterValidator(_identifier("an origin"))]
HourlyProbability = Annotated[float | list[float], BeforeValidator(_hourly_probability)]


class CrossingRef(Strict):
    """A crossing of the region: a scenario file, relative to the region file, and
    ``set``: fields of that scenario to change (``{targeting.referral_rate: 0.1}``, as
    ``--set``; ``--set crossings.NAME.FIELD=VALUE`` lands here)."""

    scenario: Annotated[str, Field(min_length=1)]
    set: dict[str, Any] = Field(default_factory=dict)


class Origin(Strict):
    """Where travellers start: Poisson departures ``per_hour`` (one rate or 24 hourly),
    ``travel`` minutes to each crossing they can reach, and the ``shares`` uninformed
    travellers use (summing to 1; none given: the nearest crossing)."""

    per_hour: HourlyRate
    travel: Annotated[dict[str, MinutesOrZero], Field(min_length=1)]
    shares: dict[str, Probability] | None = None

    def hourly(self) -> list[float]:
        """Departures per hour for each hour of the day."""
        return [float(v) for v in as_24(self.per_hour)]


class Information(Strict):
    """Real-time wait information: the share of travellers who check posted waits
    before choosing, how often the posted waits are refreshed (minutes), and how a
    crossing estimates the wait it posts: ``queue`` (those waiting now times their
    lane's mean service time, over the servers on duty: a forecast for a newcomer) or
    ``served`` (the mean wait of those who started service in the last period: a
    report of the past, which lags the queue by a wait)."""

    informed_share: Probability = 0.0
    refresh: Minutes = 15.0
    posted: Literal["queue", "served"] = "queue"


class GreenBorder(Strict):
    """Crossing between the ports (on foot, off-road): no queue, only threats choose it.

    ``travel``: minutes from any origin. ``detection_probability``: patrols, sensors,
    drones; one value or 24 hourly values (by the hour a threat reaches it).
    """

    travel: MinutesOrZero
    detection_probability: HourlyProbability

    def detect_at(self, t: Any) -> Any:
        """P(detection) for a threat reaching the green border at minute(s) ``t``."""
        import numpy as np

        hourly = np.asarray(as_24(self.detection_probability), dtype=float)
        return hourly[(np.floor(np.asarray(t, dtype=float) / 60.0).astype(np.int64)) % 24]


class Adversary(Strict):
    """How threats choose a route.

    ``naive``: like everyone else. ``displacement``: a knowing threat takes the route
    with the lowest detection probability for it. ``probing``: a knowing threat learns
    by dry runs whether it would be referred at each crossing (the deterministic part
    of the targeting only) and avoids those crossings; the green border if referred
    everywhere. Probing is assumed at a quiet time: a queue-aware rule is probed at its
    threshold with nobody waiting (``CrossingDraws.learnable``). ``knowledge``: share of
    threats who know (0-1). A surge's travellers (in a crossing's file) never choose.
    """

    behaviour: Literal["naive", "displacement", "probing"] = "naive"
    knowledge: Probability = 1.0


class RegionSpec(RunWindow, Strict):
    """A region file as validated (crossings not yet loaded)."""

    name: PlainText
    description: PlainText = ""
    duration: RunMinutes = 1440.0
    warmup: MinutesOrZero = 0.0
    drain_cap: Annotated[MinutesOrZero, AfterValidator(limits.at_most_minutes)] | None = None
    """Longest the run goes on past the horizon to let counted travellers leave (minutes;
    ``None``: ``min(duration, 24 h)``), as for a scenario; travellers keep departing."""
    replications: Annotated[int, Field(gt=0, le=limits.MAX_REPLICATIONS)] = 10
    seed: Annotated[int, Field(ge=0)] = 0
    crossings: Annotated[dict[CrossingName, CrossingRef], Field(min_length=1)]
    origins: Annotated[dict[OriginName, Origin], Field(min_length=1)]
    classes: dict[ClassName, TravellerClass] | None = None
    """Traveller classes of the whole region (default: the first crossing's); every
    crossing must declare the same class names."""
    information: Information = Field(default_factory=Information)
    green_border: GreenBorder | None = None
    adversary: Adversary = Field(default_factory=Adversary)
    shared_watchlist: bool = False
    """A watchlist hit at one crossing applies at every crossing with a watchlist."""



@dataclass(frozen=True)
class Region:
    """A validated region with its crossings loaded (durations and seeds made the region's).

    ``crossing_names`` keep the file's order; ``classes`` are the region's classes, in
    order; ``class_map[c][k]`` is the index of region class ``k`` in crossing ``c``.
    """

    spec: RegionSpec
    scenarios: dict[str, Scenario]
    classes: dict[str, TravellerClass]
    class_map: dict[str, list[int]]
    source: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def crossing_names(self) -> list[str]:
        return list(self.scenarios)

    @property
    def routes(self) -> list[str]:
        """Crossings in order, then the green border if there is one."""
        return self.crossing_names + ([GREEN] if self.spec.green_border else [])

    @property
    def horizon(self) -> float:
        return self.spec.horizon

    @property
    def run_end(self) -> float:
        return self.spec.run_end


def is_region_mapping(data: Any) -> bool:
    """Whether a YAML mapping is a region file (it has a top-level ``crossings:`` key)."""
    return isinstance(data, dict) and "crossings" in data


MAX_REFRESHES = 200_000
"""Most refreshes of the posted waits in one run (each replays every crossing)."""


def _check_origins(spec: RegionSpec, source: str | None) -> None:
    refreshes = spec.run_end / spec.information.refresh
    if spec.information.informed_share > 0 and refreshes > MAX_REFRESHES:
        raise ScenarioError(f"{refreshes:,.0f} refreshes over the run (duration plus drain); "
                            f"at most {MAX_REFRESHES:,}: refresh less often",
                            source, "information.refresh")
    crossings = list(spec.crossings)
    for oname, origin in spec.origins.items():
        for cname in origin.travel:
            if cname not in spec.crossings:
                raise ScenarioError(f"unknown crossing {shorten(cname)}; crossings are "
                                    f"{crossings}", source, f"origins.{oname}.travel.{cname}")
        if origin.shares is None:
            continue
        for cname in origin.shares:
            if cname not in origin.travel:
                where = ("no travel time is given to it" if cname in spec.crossings
                         else f"unknown crossing; crossings are {crossings}")
                raise ScenarioError(f"{shorten(cname)}: {where}", source,
                                    f"origins.{oname}.shares.{cname}")
        total = sum(origin.shares.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ScenarioError(f"shares must sum to 1, they sum to {total:g}", source,
                                f"origins.{oname}.shares")


def _load_crossing(name: str, ref: CrossingRef, spec: RegionSpec, base: Path,
                   source: str | None) -> Scenario:
    path = base / ref.scenario
    where = f"crossings.{name}.scenario"
    overrides = [f"{key}={json.dumps(value)}" for key, value in ref.set.items()]
    overrides += [f"duration={spec.duration!r}", f"warmup={spec.warmup!r}",
                 f"drain_cap={spec.drain!r}",
                 f"seed={spec.seed}", f"replications={spec.replications}"]
    if spec.classes is not None:  # the region's classes replace the crossing's
        classes = {k: c.model_dump(mode="json") for k, c in spec.classes.items()}
        overrides.append(f"classes={json.dumps(classes)}")
    try:
        return load_scenario(path, overrides)
    except InputFileError as exc:
        if exc.source != str(path):
            raise
        raise ScenarioError(f"{shorten(ref.scenario)} {exc.summary}", source, where) from None


def _classes(spec: RegionSpec, scenarios: dict[str, Scenario], source: str | None
             ) -> tuple[dict[str, TravellerClass], dict[str, list[int]]]:
    first = next(iter(scenarios.values()))
    classes = dict(spec.classes) if spec.classes is not None else dict(first.classes)
    if not classes:
        raise ScenarioError("must list at least one class", source, "classes")
    total = sum(c.share for c in classes.values())
    if spec.classes is not None and not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ScenarioError(f"shares must sum to 1, they sum to {total:g}", source, "classes")
    class_map = {}
    for cname, sc in scenarios.items():
        if set(sc.classes) != set(classes):
            raise ScenarioError(
                f"the crossing's classes {sorted(sc.classes)} differ from the region's "
                f"{sorted(classes)}; every crossing must declare the same class names",
                source, f"crossings.{cname}")
        names = list(sc.classes)
        class_map[cname] = [names.index(k) for k in classes]
    return classes, class_map


def region_from_mapping(data: dict[str, Any], source: str | None = None,
                        base: Path | None = None) -> Region:
    """Validate a region mapping and load its crossings (paths relative to ``base``)."""
    try:
        spec = RegionSpec.model_validate(data)
    except ValidationError as exc:
        raise _format_validation(exc, source) from None
    _check_origins(spec, source)
    base = Path(".") if base is None else base
    scenarios = {name: _load_crossing(name, ref, spec, base, source)
                 for name, ref in spec.crossings.items()}
    classes, class_map = _classes(spec, scenarios, source)
    return Region(spec, scenarios, classes, class_map, source)


def set_region_field(data: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """A copy of the region mapping ``data`` with the field ``parts`` set to ``value``;
    ``crossings.NAME.FIELD...`` (not ``scenario`` or ``set``) goes into that crossing's
    ``set`` (a field of its own scenario). Raises ``ScenarioError`` (field path only)
    for an unknown crossing or a path through a non-mapping."""
    if len(parts) < 3 or parts[0] != "crossings" or parts[2] in ("scenario", "set"):
        return set_path(data, parts, value)
    crossings = data.get("crossings")
    if not isinstance(crossings, dict) or not isinstance(crossings.get(parts[1]), dict):
        known = list(crossings) if isinstance(crossings, dict) else []
        raise ScenarioError(f"unknown crossing {shorten(parts[1])}; crossings are {known}",
                            None, f"crossings.{parts[1]}")
    return set_path(data, ["crossings", parts[1], "set", ".".join(parts[2:])], value)


def _region_override(data: dict[str, Any], assignment: str) -> dict[str, Any]:
    """One ``--set`` assignment on a region mapping (see :func:`set_region_field`)."""
    key, eq, text = assignment.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if not eq or not parts:
        return apply_override(data, assignment)  # its own message for a malformed one
    value = apply_override({}, f"value={text}")["value"]
    return set_region_field(data, parts, value)


def load_region(source: str | Path | dict[str, Any] | Region,
                overrides: list[str] | tuple[str, ...] = ()) -> Region:
    """Load a region from a YAML file, a mapping or a ``Region``.

    ``overrides``: ``dotted.path=value`` strings, as ``--set`` for scenarios (e.g.
    ``information.informed_share=0.5``; ``crossings.north.targeting.auc=0.9`` sets a
    field of that crossing's scenario, through its ``set``). Crossing files are read
    relative to the region file. Raises ``ScenarioError`` (``FILE: FIELD.PATH: PROBLEM``).
    """
    if isinstance(source, Region) and not overrides:
        return source
    if isinstance(source, Region):
        data, name, base = source.spec.model_dump(mode="json", exclude_none=True), \
            source.source, Path(source.source).parent if source.source else None
    elif isinstance(source, dict):
        data, name, base = dict(source), None, None
    else:
        path = Path(source)
        data, name, base = read_yaml_mapping(path, "region file"), str(source), path.parent
    for assignment in overrides:
        try:
            data = _region_override(data, assignment)
        except ScenarioError as exc:
            raise ScenarioError(exc.problem, name, exc.path) from None
    return region_from_mapping(data, name, base)
