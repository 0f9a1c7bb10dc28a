"""Scenario files: schema, loading, ``extends:``, ``--set`` overrides and error messages.

A scenario is validated once, with every duration resolved to minutes, and is
immutable afterwards. Nothing here draws random numbers.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, model_validator

from ..errors import InputFileError, ScenarioError, shorten
from . import limits, yamlio
from .distributions import Distribution, Minutes, MinutesOrZero, RunMinutes
from .events import EVENT_KINDS, Event, Reserve, check_events
from .hourly import HourlyCount, HourlyRate, as_24
from .schema_base import Strict
from .targeting import AnyStrategy

Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Servers = Annotated[HourlyCount, AfterValidator(limits.server_count)]
"""Servers on duty (one count or a 24-hour roster), at most ``limits.MAX_SERVERS``."""

DAY = 1440.0
"""Minutes in a day: the longest default drain."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _identifier(kind: str) -> Callable[[str], str]:
    """A check for stage, lane and class names: they appear in dotted paths (``--set``,
    ``gap`` targets) and KPI names, so they are kept to a safe pattern."""

    def check(name: str) -> str:
        if not _NAME.match(name) or len(name) > 64:
            raise ValueError(f"{kind} name {shorten(name)} may use only letters, digits, '_' "
                             "and '-', start with a letter and be at most 64 characters")
        return name

    return check


def _plain_text(text: str) -> str:
    """Free text (scenario name, description) may not hold control characters such as the
    ANSI escapes that recolour a terminal; tabs and line breaks are allowed."""
    bad = _CONTROL.search(text)
    if bad:
        raise ValueError(f"holds a control character ({bad.group()!r} at position "
                         f"{bad.start() + 1}); use plain text")
    return text


StageName = Annotated[str, AfterValidator(_identifier("a stage"))]
LaneName = Annotated[str, AfterValidator(_identifier("a lane"))]
ClassName = Annotated[str, AfterValidator(_identifier("a class"))]
PlainText = Annotated[str, AfterValidator(_plain_text)]


class Arrivals(Strict):
    """Poisson arrivals: ``per_hour`` travellers an hour, or 24 hourly rates repeating daily."""

    per_hour: HourlyRate

    def hourly(self) -> list[float]:
        """Arrival rate for each hour of the day (travellers per hour)."""
        return [float(v) for v in as_24(self.per_hour)]


class TravellerClass(Strict):
    """A group of travellers: its share of arrivals and the share of them who are threats."""

    share: Probability
    threat_prevalence: Probability = 0.0


class Lane(Strict):
    """Parallel servers of one kind within a stage (e-gates, desks, a Ready lane)."""

    servers: Servers
    service: Distribution
    classes: list[str] | None = None
    """Classes allowed in this lane; ``None`` admits everyone."""


class Stage(Strict):
    """A step travellers pass through in order: one lane (``servers``, ``service``) or ``lanes``.

    ``booths`` is the physical limit on servers (used by capacity-gap analysis).
    ``flush_above``: when more than this many travellers are waiting at the stage,
    newcomers are waved through unchecked (and cannot be detected here).
    """

    visits: Literal["all", "referred"] = "all"
    servers: Servers | None = None
    service: Distribution | None = None
    lanes: dict[LaneName, Lane] | None = None
    detection_probability: Probability = 0.0
    booths: Annotated[int, Field(gt=0, le=limits.MAX_SERVERS)] | None = None
    flush_above: Annotated[int, Field(ge=0, le=limits.MAX_FLUSH_ABOVE)] | None = None
    reserve: Reserve | None = None
    """Reserve officers called in when the queue grows (see ``events.Reserve``)."""

    @model_validator(mode="after")
    def _one_shape(self) -> Stage:
        if self.lanes is not None:
            if self.servers is not None or self.service is not None:
                raise ValueError("give either 'lanes' or 'servers' and 'service', not both")
            if not self.lanes:
                raise ValueError("'lanes' must list at least one lane")
        elif self.servers is None or self.service is None:
            missing = "servers" if self.servers is None else "service"
            raise ValueError(f"a stage needs '{missing}' (or 'lanes')")
        return self

    def lane_specs(self, stage_name: str) -> dict[str, Lane]:
        """The stage's lanes; a single-lane stage gives one lane named after the stage."""
        if self.lanes is not None:
            return dict(self.lanes)
        # the stage validated both fields as a lane does: not again (an hourly roster
        # took ~40 us a call, and every run asks several times)
        return {stage_name: Lane.model_construct(servers=self.servers, service=self.service)}


def _default_classes() -> dict[str, TravellerClass]:
    return {"all": TravellerClass(share=1.0)}


class RunWindow:
    """The run's time window, for a model with ``duration``, ``warmup`` and ``drain_cap``
    fields (minutes): a scenario, or a region of crossings. (No annotations here: the
    models declare and validate those fields themselves.)"""

    @property
    def horizon(self) -> float:
        """End of the run in minutes (warm-up plus counted duration)."""
        return self.warmup + self.duration

    @property
    def drain(self) -> float:
        """Minutes the run may go on past the horizon (the resolved ``drain_cap``)."""
        return min(self.duration, DAY) if self.drain_cap is None else self.drain_cap

    @property
    def run_end(self) -> float:
        """Latest end of the run in minutes: the horizon plus the drain cap."""
        return self.horizon + self.drain


class Scenario(RunWindow, Strict):
    """A border crossing point: demand, traveller classes, stages and targeting.

    Times are minutes (unit strings accepted); rates are per hour. The run starts at
    00:00; the *counted window* is ``[warmup, warmup + duration)`` (its end is the
    *horizon*); travellers arriving during the warm-up are simulated but not counted.
    After the horizon the run goes on (arrivals and rosters as scheduled, nobody
    arriving then counted) until every counted traveller has left, for at most
    ``drain_cap`` minutes (default: ``duration``, at most one day; ``0``: stop at the
    horizon). Only travellers still inside at that cap have waits known as lower bounds.
    """

    name: PlainText
    description: PlainText = ""
    kind: Literal["land", "airport", "cargo", "generic"] | None = None
    """What sort of crossing this is; it decides which service standards a report applies
    (``None``: unspecified, only the standards that fit any crossing)."""
    duration: RunMinutes = 1440.0
    warmup: MinutesOrZero = 0.0
    drain_cap: Annotated[MinutesOrZero, AfterValidator(limits.at_most_minutes)] | None = None
    """Longest the run goes on past the horizon to let counted travellers leave (minutes;
    ``None``: ``min(duration, 24 h)``)."""
    replications: Annotated[int, Field(gt=0, le=limits.MAX_REPLICATIONS)] = 10
    seed: Annotated[int, Field(ge=0)] = 0
    arrivals: Arrivals
    classes: dict[ClassName, TravellerClass] = Field(default_factory=_default_classes)
    stages: dict[StageName, Stage]
    targeting: AnyStrategy | None = None
    events: list[Event] = Field(default_factory=list)
    """Shocks: surges, outages and slowdowns (see ``events.py``)."""
    recovery_target: Minutes = 15.0
    """p95 wait (minutes) a stage must be back under for the recovery-time KPI (``shocks.py``)."""

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.classes:
            raise ValueError("'classes' must list at least one class")
        total = sum(c.share for c in self.classes.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"classes: shares must sum to 1, they sum to {total:g}")
        if not self.stages:
            raise ValueError("'stages' must list at least one stage")
        for sname, stage in self.stages.items():
            lanes = stage.lane_specs(sname)
            for lname, lane in lanes.items():
                unknown = sorted(set(lane.classes or []) - set(self.classes))
                if unknown:
                    raise ValueError(
                        f"stages.{sname}.lanes.{lname}.classes: unknown class(es) {unknown}; "
                        f"classes are {sorted(self.classes)}"
                    )
            for cname in self.classes:
                admits = (lane.classes is None or cname in lane.classes for lane in lanes.values())
                if not any(admits):
                    raise ValueError(f"stages.{sname}: no lane admits class '{cname}'")
        check_events(self)
        if self.targeting is not None:
            try:
                self.targeting.check(self)
            except ValueError as exc:
                raise ValueError(f"targeting: {exc}") from None
        return self

    def to_yaml(self) -> str:
        """The fully resolved scenario (all times in minutes) as YAML."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)


# --------------------------------------------------------------------------- loading


def read_named_section(path: str | Path, kind: str, section: str, problem: str
                       ) -> tuple[str, dict[str, Any]]:
    """Read a file that holds one named mapping (``strategies:``, ``policies:``,
    ``variants:``) and an optional ``description``; returns (source, that mapping).

    Raises ``ScenarioError`` for any other field, or ``problem`` when the section is not a
    non-empty mapping.
    """
    source = str(path)
    data = read_yaml_mapping(Path(path), kind)
    allowed = (section, "description")
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise ScenarioError(f"unknown field; allowed: {', '.join(allowed)}", source,
                            str(unknown[0]))
    found = data.get(section)
    if not isinstance(found, dict) or not found:
        raise ScenarioError(problem, source, section)
    return source, found


def read_yaml_mapping(path: Path, kind: str = "scenario file") -> dict[str, Any]:
    """Read a YAML file that must hold a mapping, within ``yamlio``'s bounds.

    Only a regular file of at most 5 MB is read; aliases, nesting and duplicate keys are
    checked and tags never build objects. Any problem — missing, a folder, a device or
    FIFO, too large, not text, bad YAML, empty, not a mapping — raises one
    ``InputFileError`` (a ``ScenarioError``) naming the file; ``kind`` words the message.
    """
    return yamlio.read_mapping(Path(path), kind)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings merge key by key, all else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


MAX_EXTENDS = 20
"""Longest chain of ``extends:`` (a file extending a file extending ...)."""


def _resolve_extends(
    path: Path, seen: tuple[str, ...] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The mapping of ``path`` merged over the files its ``extends:`` chain names.

    Returns (merged data, the data of ``path`` itself). A file reached through
    ``extends:`` that cannot be used is reported against the referring file and its
    ``extends`` field, without quoting the target's content.
    """
    data = read_yaml_mapping(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, copy.deepcopy(data)
    src = str(path)
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError("must be a file name", src, "extends")
    if len(seen) + 1 >= MAX_EXTENDS:
        raise ScenarioError(f"the chain of 'extends' is longer than {MAX_EXTENDS} files", src,
                            "extends")
    here = os.path.realpath(path)
    target = path.parent / parent
    if os.path.realpath(target) in (*seen, here):
        raise ScenarioError("loops back to a file that extends it", src, "extends")
    try:
        base, _ = _resolve_extends(target, (*seen, here))
    except InputFileError as exc:
        if exc.source != str(target):
            raise  # a file further down the chain: already reported against its referrer
        raise ScenarioError(f"{shorten(parent)} {exc.summary}", src, "extends") from None
    return deep_merge(base, data), copy.deepcopy(data)


def apply_override(data: dict[str, Any], assignment: str) -> dict[str, Any]:
    """Apply one ``dotted.path=value`` override (value read as YAML) to a copy of ``data``."""
    if "=" not in assignment:
        raise ScenarioError(f"--set needs PATH=VALUE, got {shorten(assignment)}")
    key, _, text = assignment.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ScenarioError(f"--set needs a field path before '=', got {shorten(assignment)}")
    try:
        value = yamlio.parse_yaml(text, "--set")
    except ScenarioError:
        value = text
    return set_path(data, parts, value)


def set_path(data: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """Return a copy of ``data`` with the nested field ``parts`` set to ``value``."""
    return set_paths(data, [(parts, value)])


def set_paths(data: dict[str, Any], fields: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """Return a copy of ``data`` with each nested field ``parts`` of ``fields`` set to its
    value, in order (one deep copy for all of them: a sweep point sets several)."""
    out = copy.deepcopy(data)
    for parts, value in fields:
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                where = ".".join(parts[: i + 1])
                raise ScenarioError(f"cannot set {'.'.join(parts)}: {where} is not a mapping")
            node = nxt
        node[parts[-1]] = value
    return out


_TAGS = {
    "exponential", "deterministic", "lognormal", "gamma", "uniform", "triangular", "empirical",
    *EVENT_KINDS,
}


_FIELD_PATH = re.compile(r"^[A-Za-z_]\w*(\.\w+)*$")
_TYPE_STEPS = {"int", "float", "str", "bool"}
_TYPE_PREFIXES = ("function-", "list[", "dict[", "tagged-union[", "literal[", "union[")
"""Parts of a pydantic error location naming a type or validator step, not a field."""


def _tag_name(error: Any) -> str:
    """The discriminator's name in an error ("strategy" for a field or a ``strategy()`` tagger)."""
    return error["ctx"]["discriminator"].strip("'").removesuffix("()")


def _format_validation(exc: ValidationError, source: str | None) -> ScenarioError:
    from .targeting import Strategy

    tags = _TAGS | set(Strategy.registry)
    errors = exc.errors()
    first = errors[0]
    loc, after_tag = [], False
    parts = [str(p) for p in first["loc"]]
    if parts[-1:] == ["[key]"]:
        parts = parts[:-2]  # a bad mapping key (a name): the message quotes it
    for part in parts:
        # a union tag is never followed by another: "layers" after the tag is the field
        is_tag = part in tags and not after_tag
        after_tag = is_tag
        if not is_tag and part not in _TYPE_STEPS and not part.startswith(_TYPE_PREFIXES):
            loc.append(shorten(part, quote=False))
    if first["type"] == "unknown_field":
        loc.append(shorten(first["ctx"]["key"], quote=False))
    msg = first["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "union_tag_invalid":
        msg = f"unknown {_tag_name(first)} {shorten(first['ctx']['tag'])}; " \
            f"choose one of {first['ctx']['expected_tags']}"
    elif first["type"] == "union_tag_not_found":
        msg = f"needs a {_tag_name(first)} field"
    if not loc and msg.startswith("targeting: "):
        # strategy check() messages lead with the field path: "targeting: layers.0: shift: ..."
        while (head := msg.partition(": ")[0]) and _FIELD_PATH.match(head) and ": " in msg:
            loc.append(head)
            msg = msg.partition(": ")[2]
    inp = first.get("input")
    # only a scalar is ever rendered, and only a short piece of it: never the whole input
    if (
        first["type"] not in ("missing", "unknown_field")
        and isinstance(inp, int | float | str)
        and not any(s in msg for s in (repr(inp), str(inp)))
    ):
        msg += f" (got {shorten(inp)})"
    more = len(errors) - 1
    if more:
        msg += f" [and {more} more problem{'s' if more > 1 else ''}]"
    return ScenarioError(msg, source, ".".join(loc) or None)


def validate(data: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate a scenario mapping, raising one readable ``ScenarioError``."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise _format_validation(exc, source) from None


def _inherited(data: dict[str, Any], own: dict[str, Any], loc: str | None) -> bool:
    """Whether the field at dotted ``loc`` is in ``data`` only through ``extends:``."""
    if not loc:
        return False
    node, mine = data, own
    for part in loc.split("."):
        if not isinstance(node, dict) or part not in node:
            return False  # not in the merged data either (a missing field)
        if not isinstance(mine, dict) or part not in mine:
            return True
        node, mine = node[part], mine[part]
    return False


def load_scenario(
    source: str | Path | dict[str, Any] | Scenario, overrides: list[str] | tuple[str, ...] = ()
) -> Scenario:
    """Load and validate a scenario from a YAML file path, a mapping or a ``Scenario``.

    ``overrides`` are ``dotted.path=value`` strings applied after ``extends:`` is resolved.
    Raises ``ScenarioError`` naming the file, the field path and the problem. A problem in
    a field the file only inherits through ``extends:`` is reported against the file's
    ``extends`` field without quoting the other file (validate that file for details).
    """
    if isinstance(source, Scenario) and not overrides:
        return source
    if isinstance(source, Scenario):
        data, name = source.model_dump(mode="json", exclude_none=True), None
        own = data
    elif isinstance(source, dict):
        data, name = copy.deepcopy(source), None
        if "extends" in data:
            raise ScenarioError("'extends' needs a scenario file, not a mapping", None, "extends")
        own = data
    else:
        path = Path(source)
        (data, own), name = _resolve_extends(path), str(source)
    for assignment in overrides:
        try:
            data = apply_override(data, assignment)
        except ScenarioError as exc:
            raise ScenarioError(exc.problem, name, exc.path) from None
        try:
            own = apply_override(own, assignment)
        except ScenarioError:
            pass
    try:
        return validate(data, name)
    except ScenarioError as exc:
        if own is data or not _inherited(data, own, exc.path):
            raise
        raise ScenarioError(
            "the scenario it names is invalid in a field this file does not set; "
            "validate that file on its own for details", name, "extends") from None


def load_scenario_text(text: str, source: str = "upload") -> Scenario:
    """Validate a scenario sent as text (an upload): bounded YAML, and no ``extends:``.

    An uploaded scenario can never name a file on the server: ``extends``, and a region
    file's ``crossings:``, are refused before any file is opened. Errors name ``source``
    (the uploaded file's name).
    """
    data = yamlio.mapping_from_text(text, source)
    if "extends" in data:
        raise ScenarioError("an uploaded file cannot use 'extends' (it would name a file "
                            "on the server); upload the combined scenario instead", source,
                            "extends")
    if "crossings" in data:  # a region file (borderesim.run.region.is_region_mapping)
        raise ScenarioError("a region file cannot be uploaded as a scenario; upload it on the "
                            "region page (Page: 'A region of crossings'), which reads only "
                            "borderesim's own crossing files, or start the workshop on it: "
                            "borderesim workshop REGION.yaml", source, "crossings")
    return validate(data, source)


def json_schema() -> str:
    """JSON Schema of scenario files (for editor autocompletion), as indented JSON."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["title"] = "borderesim scenario"
    return json.dumps(schema, indent=2)
