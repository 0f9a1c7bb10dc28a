"""Sweep files: which scenario, which fields to vary, and the points that makes.

A sweep file names a base scenario (relative to the sweep file), fixed overrides
(``set``), and either a ``grid`` (full factorial over dotted paths) or a ``sample``
(Latin hypercube or Sobol' points over ``ranges``, drawn with SALib)::

    scenario: ../land_crossing.yaml
    replications: 5
    seed: 1
    engine: auto            # auto | simpy | fast
    set: {duration: 6h}     # applied to every point
    grid:
      stages.primary.lanes.general.servers: [4, 6, 8]
      arrivals.per_hour: [200, 300]

Integer ranges: when both bounds of a ``sample`` range are written as integers
(``[4, 10]``), sampled values are whole numbers, each of ``4..10`` equally likely
(SALib samples ``[low - 0.5, high + 0.5]`` and the value is rounded). Write
``[4.0, 10.0]`` to sample real numbers. Every point is validated before anything runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import __version__
from ...errors import ScenarioError
from ...model.limits import MAX_REPLICATIONS
from ...model.scenario import (
    Scenario,
    load_scenario,
    read_yaml_mapping,
    set_path,
    set_paths,
    validate,
)
from ..budget import check_replication

SPEC_KEYS = ("scenario", "replications", "seed", "engine", "set", "grid", "sample")
SAMPLE_KEYS = ("method", "n", "ranges", "seed")
METHODS = ("lhs", "sobol")
ENGINES = ("auto", "simpy", "fast")
META_COLUMNS = ("point", "replication", "seed", "engine")
"""Columns every result row has besides the swept paths and the KPIs."""
MAX_POINTS = 100_000
"""Most points a sweep may make (each is validated before anything runs)."""
MAX_TASKS = 1_000_000
"""Most (point, replication) runs a sweep may ask for."""


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: base scenario, points (``{dotted.path: value}``) and run settings.

    ``base`` is the resolved base scenario (with ``set`` applied) as a mapping, times in
    minutes; ``points[i]`` holds the swept values of point ``i`` as Python objects.
    """

    source: str
    scenario_path: str
    base: dict[str, Any]
    paths: tuple[str, ...]
    points: tuple[dict[str, Any], ...]
    replications: int
    seed: int
    engine: str
    method: str  # "grid", "lhs" or "sobol"
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    integer: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    """The sweep file's settings as read (for the manifest)."""
    region_file: str | None = None
    """Set when the base is a region file (:mod:`borderesim.run.region.sweep`): ``base`` is
    then the region's mapping and rows hold regional KPIs."""
    crossings: dict[str, Any] = field(default_factory=dict)
    """A region's crossings as resolved scenarios (part of the fingerprint)."""

    @property
    def n_tasks(self) -> int:
        """Number of (point, replication) pairs."""
        return len(self.points) * self.replications

    def scenario_for(self, point: int) -> Scenario:
        """The validated scenario of point ``point`` (a ``Region`` for a region sweep)."""
        if self.region_file is not None:
            from ..region.sweep import point_region

            return point_region(self.base, self.points[point], self.region_file)
        return point_scenario(self.base, self.points[point])

    def column_kinds(self) -> dict[str, str]:
        """Per swept path, how its values are stored: int, float, bool, str or json."""
        return {p: _kind([pt[p] for pt in self.points]) for p in self.paths}

    def fingerprint(self) -> str:
        """Hash of everything that decides the rows (base, points, replications, seed, and
        the package version: a new version may draw different random streams, so its rows
        are never mixed with an older version's)."""
        what = {"base": self.base, "paths": self.paths, "points": self.points,
                "replications": self.replications, "seed": self.seed, "engine": self.engine,
                "version": __version__}
        if self.region_file is not None:
            what["crossings"] = self.crossings
        blob = json.dumps(what, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def point_scenario(base: dict[str, Any], values: dict[str, Any]) -> Scenario:
    """Validate ``base`` with each dotted path of ``values`` set (as a Python object)."""
    return validate(set_paths(base, [(path.split("."), value) for path, value in values.items()]))


def _kind(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    return "json"


def column_value(value: Any, kind: str) -> Any:
    """A swept value as stored in its result column (non-scalars as JSON text)."""
    if kind == "json":
        return json.dumps(value)
    if kind == "float":
        return float(value)
    return value


# --------------------------------------------------------------------------- reading


def _read(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, "sweep file")


def _unknown(keys: Any, allowed: tuple[str, ...], src: str, prefix: str = "") -> None:
    import difflib

    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(f"unknown field{hint}; allowed: {', '.join(allowed)}", src,
                                f"{prefix}{key}")


def _int(data: dict, key: str, src: str, minimum: int, prefix: str = "") -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"must be a whole number >= {minimum}, got {value!r}", src,
                            f"{prefix}{key}")
    return value


def _mapping(value: Any, src: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"must be a mapping of dotted.path: ..., got {value!r}", src, where)
    if not value:
        raise ScenarioError("must list at least one dotted.path", src, where)
    for key in value:
        if not isinstance(key, str) or not all(key.split(".")):
            raise ScenarioError(f"{key!r} is not a dotted field path", src, where)
    return value


def _grid(grid: Any, src: str) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    grid = _mapping(grid, src, "grid")
    for path, values in grid.items():
        if not isinstance(values, list):
            raise ScenarioError(f"must be a list of values, got {values!r}", src, f"grid.{path}")
        if not values:
            raise ScenarioError("the list of values is empty", src, f"grid.{path}")
    paths = tuple(grid)
    size = math.prod(len(grid[p]) for p in paths)
    if size > MAX_POINTS:
        shape = " × ".join(str(len(grid[p])) for p in paths)
        raise ScenarioError(f"{shape} = {size:,} points; at most {MAX_POINTS:,} are allowed "
                            "(use fewer values, or a 'sample' of the ranges)", src, "grid")
    points = [dict(zip(paths, combo, strict=True))
              for combo in itertools.product(*(grid[p] for p in paths))]
    return paths, points


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _sample(sample: Any, seed: int, src: str):
    if not isinstance(sample, dict):
        raise ScenarioError(f"must be a mapping (method, n, ranges), got {sample!r}", src,
                            "sample")
    _unknown(sample, SAMPLE_KEYS, src, "sample.")
    method = sample.get("method")
    if method not in METHODS:
        raise ScenarioError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}",
                            src, "sample.method")
    n = _int(sample, "n", src, 1, "sample.")
    if n is None:
        raise ScenarioError("required field is missing", src, "sample.n")
    if method == "sobol" and n & (n - 1):
        raise ScenarioError(f"Sobol' sampling needs n to be a power of 2, got {n}", src,
                            "sample.n")
    sample_seed = _int(sample, "seed", src, 0, "sample.")
    ranges = _mapping(sample.get("ranges"), src, "sample.ranges")
    rows = n if method == "lhs" else n * (len(ranges) + 2)
    if rows > MAX_POINTS:
        made = "" if method == "lhs" else f" (n × {len(ranges) + 2} = {rows:,} points)"
        raise ScenarioError(f"{n:,} is too many{made}; at most {MAX_POINTS:,} points are "
                            "allowed", src, "sample.n")
    bounds, integer = {}, []
    for path, rng in ranges.items():
        where = f"sample.ranges.{path}"
        if not (isinstance(rng, list) and len(rng) == 2 and all(_number(v) for v in rng)):
            raise ScenarioError(f"must be [low, high] (two numbers), got {rng!r}", src, where)
        low, high = rng
        if not low < high:
            raise ScenarioError(f"low must be below high, got [{low}, {high}]", src, where)
        bounds[path] = (low, high)
        if all(isinstance(v, int) for v in rng):
            integer.append(path)
    paths = tuple(bounds)
    problem = {"num_vars": len(paths), "names": list(paths),
               "bounds": [[lo - 0.5, hi + 0.5] if p in integer else [lo, hi]
                          for p, (lo, hi) in bounds.items()]}
    x = draw(problem, method, n, seed if sample_seed is None else sample_seed)
    points = []
    for row in x:
        point = {}
        for p, v in zip(paths, row, strict=True):
            if p in integer:
                lo, hi = bounds[p]
                point[p] = int(min(max(round(float(v)), lo), hi))
            else:
                point[p] = float(v)
        points.append(point)
    return method, paths, points, bounds, tuple(integer)


def draw(problem: dict[str, Any], method: str, n: int, seed: int):
    """SALib sample matrix: ``n`` Latin-hypercube rows, or ``n * (D + 2)`` Sobol' rows."""
    from .deps import need

    need("SALib")
    if method == "lhs":
        from SALib.sample import latin

        return latin.sample(problem, n, seed=seed)
    from SALib.sample import sobol

    return sobol.sample(problem, n, calc_second_order=False, seed=seed)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file and every point it makes.

    Raises ``ScenarioError`` naming the sweep file and the field at fault.
    """
    path = Path(path)
    src = str(path)
    data = _read(path)
    _unknown(data, SPEC_KEYS, src)
    scen = data.get("scenario")
    if not isinstance(scen, str) or not scen:
        raise ScenarioError("required: the base scenario file (relative to this file)", src,
                            "scenario")
    scen_path = path.parent / scen
    if not scen_path.exists():
        raise ScenarioError(f"scenario file not found: {scen_path}", src, "scenario")
    region_file, crossings = None, {}
    if is_region_file(scen_path):
        from ..region.sweep import crossing_dumps, dump, region_base

        region_file = str(scen_path)
        base_scenario, base, crossings = region_base(scen_path)
    else:
        base_scenario = load_scenario(scen_path)
        base = base_scenario.model_dump(mode="json", exclude_none=True)
    fixed = data.get("set")
    if fixed is not None:
        for key, value in _mapping(fixed, src, "set").items():
            base = _set(base, key, value, src, f"set.{key}", region_file)
        base_scenario = _check(base, src, "set", None, region_file)
        if region_file is not None:
            base, crossings = dump(base_scenario), crossing_dumps(base_scenario)
        else:
            base = base_scenario.model_dump(mode="json", exclude_none=True)
    engine = data.get("engine", "auto")
    if engine not in ENGINES:
        raise ScenarioError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}",
                            src, "engine")
    reps = _int(data, "replications", src, 1)
    seed = _int(data, "seed", src, 0)
    defaults = base_scenario.spec if region_file is not None else base_scenario
    reps = defaults.replications if reps is None else reps
    seed = defaults.seed if seed is None else seed
    if reps > MAX_REPLICATIONS:
        raise ScenarioError(f"at most {MAX_REPLICATIONS:,} replications, got {reps:,}", src,
                            "replications")
    has_grid, has_sample = "grid" in data, "sample" in data
    if has_grid == has_sample:
        raise ScenarioError("give exactly one of 'grid' or 'sample'", src,
                            "grid" if has_grid else None)
    ranges: dict[str, tuple[float, float]] = {}
    integer: tuple[str, ...] = ()
    if has_grid:
        method = "grid"
        paths, points = _grid(data["grid"], src)
        section = "grid"
    else:
        method, paths, points, ranges, integer = _sample(data["sample"], seed, src)
        section = "sample.ranges"
    if len(points) * reps > MAX_TASKS:
        raise ScenarioError(f"{len(points):,} points × {reps:,} replications = "
                            f"{len(points) * reps:,} runs; at most {MAX_TASKS:,} are allowed "
                            "(fewer points or replications)", src,
                            "replications" if "replications" in data else section)
    clash = [p for p in paths if p in META_COLUMNS]
    if clash:
        raise ScenarioError(f"'{clash[0]}' is a result column name, not a field", src,
                            f"{section}.{clash[0]}")
    for i, point in enumerate(points):
        data_i = base
        for p, value in point.items():
            data_i = _set(data_i, p, value, src, f"{section}.{p}", region_file)
        _check(data_i, src, section, (i, point), region_file)
    settings = {k: data[k] for k in SPEC_KEYS if k in data}
    return SweepSpec(src, str(scen_path), base, paths, tuple(points), reps, seed, engine,
                     method, ranges, integer, settings, region_file, crossings)


def is_region_file(path: Path) -> bool:
    """Whether ``path`` is a region file (a top-level ``crossings:``)."""
    from ..region.cli import is_region_file as check

    return check(path)


def _set(data: dict, path: str, value: Any, src: str, where: str,
         region_file: str | None = None) -> dict:
    try:
        if region_file is not None:
            from ..region.sweep import set_field

            return set_field(data, path, value)
        return set_path(data, path.split("."), value)
    except ScenarioError as exc:
        raise ScenarioError(exc.problem, src, where) from None


def _check(data: dict, src: str, section: str, point: tuple[int, dict] | None,
           region_file: str | None = None) -> Any:
    """Validate ``data`` (and that one replication fits in memory); a failure names the
    sweep file and the swept field at fault. Returns the scenario (a ``Region`` when
    ``region_file`` is given: ``data`` is then a region mapping)."""
    try:
        if region_file is not None:
            from ..region.sweep import check_point

            return check_point(data, {}, region_file)
        scenario = validate(data)
        check_replication(scenario)
        return scenario
    except ScenarioError as exc:
        inner = f"{exc.path}: {exc.problem}" if exc.path else exc.problem
        if region_file is not None and exc.source not in (None, region_file):
            inner = f"{exc.source}: {inner}"  # a crossing file
        if point is None:
            raise ScenarioError(f"invalid base {'region' if region_file else 'scenario'}: "
                                f"{inner}", src, section) from None
        i, values = point
        culprit = next(
            (k for k in values if exc.path and (exc.path == k or exc.path.startswith(k + ".")
                                                or k.startswith(exc.path + ".")
                                                or k.endswith("." + exc.path))),
            next(iter(values)),
        )
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        what = "region" if region_file else "scenario"
        raise ScenarioError(f"point {i} ({shown}) is not a valid {what}: {inner}", src,
                            f"{section}.{culprit}") from None
