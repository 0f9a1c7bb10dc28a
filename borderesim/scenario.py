"""Scenario files: schema, loading, ``extends:``, ``--set`` overrides and error messages.

A scenario is validated once, with every duration resolved to minutes, and is
immutable afterwards. Nothing here draws random numbers.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, model_validator

from . import limits
from .distributions import Distribution, MinutesOrZero, RunMinutes
from .errors import ScenarioError
from .hourly import HourlyCount, HourlyRate, as_24
from .schema_base import Strict
from .targeting import StrategySpec

Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Servers = Annotated[HourlyCount, AfterValidator(limits.server_count)]
"""Servers on duty (one count or a 24-hour roster), at most ``limits.MAX_SERVERS``."""


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
    lanes: dict[str, Lane] | None = None
    detection_probability: Probability = 0.0
    booths: Annotated[int, Field(gt=0, le=limits.MAX_SERVERS)] | None = None
    flush_above: Annotated[int, Field(ge=0, le=limits.MAX_FLUSH_ABOVE)] | None = None

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
        return {stage_name: Lane(servers=self.servers, service=self.service)}


def _default_classes() -> dict[str, TravellerClass]:
    return {"all": TravellerClass(share=1.0)}


class Scenario(Strict):
    """A border crossing point: demand, traveller classes, stages and targeting.

    Times are minutes (unit strings accepted); rates are per hour. The run starts at
    00:00 and lasts ``warmup + duration``; travellers arriving during the warm-up are
    simulated but not counted.
    """

    name: str
    description: str = ""
    duration: RunMinutes = 1440.0
    warmup: MinutesOrZero = 0.0
    replications: Annotated[int, Field(gt=0, le=limits.MAX_REPLICATIONS)] = 10
    seed: Annotated[int, Field(ge=0)] = 0
    arrivals: Arrivals
    classes: dict[str, TravellerClass] = Field(default_factory=_default_classes)
    stages: dict[str, Stage]
    targeting: StrategySpec | None = None

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
        if self.targeting is not None:
            try:
                self.targeting.check(self)
            except ValueError as exc:
                raise ValueError(f"targeting: {exc}") from None
        return self

    @property
    def horizon(self) -> float:
        """End of the run in minutes (warm-up plus counted duration)."""
        return self.warmup + self.duration

    def to_yaml(self) -> str:
        """The fully resolved scenario (all times in minutes) as YAML."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)


# --------------------------------------------------------------------------- loading


def read_yaml_mapping(path: Path, kind: str = "scenario file") -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (``yaml.safe_load``: tags never build objects).

    Any problem — missing, a folder, not text, bad YAML, empty, not a mapping — raises
    one ``ScenarioError`` naming the file; ``kind`` words the message ("sweep file").
    """
    src = str(path)
    if not path.exists():
        raise ScenarioError("file not found", src)
    if path.is_dir():
        raise ScenarioError(f"is a folder, not a {kind}", src)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("not a text file (cannot read it as UTF-8)", src) from None
    if "\x00" in text:
        raise ScenarioError("not a text file (it holds NUL bytes)", src)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"invalid YAML: {where}{problem}", src) from None
    if data is None:
        raise ScenarioError("file is empty", src)
    if not isinstance(data, dict):
        raise ScenarioError(f"expected a mapping of fields, got {type(data).__name__}", src)
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings merge key by key, all else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_extends(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve() if path.exists() else path
    if path in seen:
        raise ScenarioError("'extends' loops back to this file", str(path), "extends")
    data = read_yaml_mapping(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError("must be a file name", str(path), "extends")
    base = _resolve_extends(path.parent / parent, (*seen, path))
    return deep_merge(base, data)


def apply_override(data: dict[str, Any], assignment: str) -> dict[str, Any]:
    """Apply one ``dotted.path=value`` override (value read as YAML) to a copy of ``data``."""
    if "=" not in assignment:
        raise ScenarioError(f"--set needs PATH=VALUE, got {assignment!r}")
    key, _, text = assignment.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ScenarioError(f"--set needs a field path before '=', got {assignment!r}")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    return set_path(data, parts, value)


def set_path(data: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """Return a copy of ``data`` with the nested field ``parts`` set to ``value``."""
    out = copy.deepcopy(data)
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
}


_FIELD_PATH = re.compile(r"^[A-Za-z_]\w*(\.\w+)*$")


def _tag_name(error: Any) -> str:
    """The discriminator's name in an error ("strategy" for a field or a ``strategy()`` tagger)."""
    return error["ctx"]["discriminator"].strip("'").removesuffix("()")


def _format_validation(exc: ValidationError, source: str | None) -> ScenarioError:
    from .targeting import Strategy

    tags = _TAGS | set(Strategy.registry)
    errors = exc.errors()
    first = errors[0]
    loc, after_tag = [], False
    for part in map(str, first["loc"]):
        # a union tag is never followed by another: "layers" after the tag is the field
        is_tag = part in tags and not after_tag
        after_tag = is_tag
        if not is_tag and not part.startswith(
            ("function-", "int", "float", "list[", "str", "dict[", "tagged-union[", "literal[")
        ):
            loc.append(part)
    if first["type"] == "unknown_field":
        loc.append(first["ctx"]["key"])
    msg = first["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "union_tag_invalid":
        msg = f"unknown {_tag_name(first)} {first['ctx']['tag']!r}; " \
            f"choose one of {first['ctx']['expected_tags']}"
    elif first["type"] == "union_tag_not_found":
        msg = f"needs a {_tag_name(first)} field"
    if not loc and msg.startswith("targeting: "):
        # strategy check() messages lead with the field path: "targeting: layers.0: shift: ..."
        while (head := msg.partition(": ")[0]) and _FIELD_PATH.match(head) and ": " in msg:
            loc.append(head)
            msg = msg.partition(": ")[2]
    inp = first.get("input")
    shown = (repr(inp), str(inp))
    if (
        first["type"] not in ("missing", "unknown_field")
        and isinstance(inp, int | float | str)
        and not any(s in msg for s in shown)
    ):
        msg += f" (got {inp!r})"
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


def load_scenario(
    source: str | Path | dict[str, Any] | Scenario, overrides: list[str] | tuple[str, ...] = ()
) -> Scenario:
    """Load and validate a scenario from a YAML file path, a mapping or a ``Scenario``.

    ``overrides`` are ``dotted.path=value`` strings applied after ``extends:`` is resolved.
    Raises ``ScenarioError`` naming the file, the field path and the problem.
    """
    if isinstance(source, Scenario) and not overrides:
        return source
    if isinstance(source, Scenario):
        data, name = source.model_dump(mode="json", exclude_none=True), None
    elif isinstance(source, dict):
        data, name = copy.deepcopy(source), None
        if "extends" in data:
            raise ScenarioError("'extends' needs a scenario file, not a mapping", None, "extends")
    else:
        path = Path(source)
        data, name = _resolve_extends(path), str(source)
    for assignment in overrides:
        try:
            data = apply_override(data, assignment)
        except ScenarioError as exc:
            raise ScenarioError(exc.problem, name, exc.path) from None
    return validate(data, name)


def json_schema() -> str:
    """JSON Schema of scenario files (for editor autocompletion), as indented JSON."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["title"] = "borderesim scenario"
    return json.dumps(schema, indent=2)
