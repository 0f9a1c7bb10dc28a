"""Service targets for capacity-gap analysis, parsed from text such as
``"primary.wait_p95<=15min"``, ``"wait_p95<=20min"``, ``"secondary.wait_mean<=10"``
or ``"detection_rate>=0.6"``, and server caps such as ``"passport=30"``.

Grammar: ``[STAGE[.LANE].]KPI OP VALUE``.

* ``wait_mean`` and ``wait_pNN`` (NN a percentile, e.g. p95, p90, p99.5) are upper limits
  (``<=``) on the wait in the queue at a stage, in minutes; a bare number is minutes and
  unit strings are accepted (``15min``, ``900 s``, ``0.25 h``). Without a stage the
  target applies to every stage; without a lane, to every lane of the stage.
* ``detection_rate`` is a lower limit (``>=``) on the crossing's detection rate, a share
  (``0.6`` or ``60%``); it takes no stage.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ...errors import ScenarioError
from ...model.units import to_minutes
from ...run.plan import Plan

WAIT_KPIS = "wait_mean, wait_pNN (e.g. wait_p95 or wait_p99.5)"
_TARGET = re.compile(r"^\s*([A-Za-z0-9_.\-]+?)\s*(<=|>=|=<|=>|<|>|==|=)\s*(.*?)\s*$")
_PCT = re.compile(r"^wait_p(\d+(?:\.\d+)?)$")
_DECIMAL_PCT = re.compile(r"(?:^|\.)(wait_p\d+\.\d+)$")
"""A decimal percentile KPI (``wait_p99.5``) at the end of ``[STAGE[.LANE].]KPI``."""


def _split_path(path: str) -> tuple[list[str], str]:
    """``[STAGE[.LANE].]KPI`` -> (the stage and lane words, the KPI); ``wait_p99.5`` is one KPI."""
    m = _DECIMAL_PCT.search(path)
    front, kpi = (path[:m.start()], m.group(1)) if m else (path.rpartition(".")[::2])
    return (front.split(".") if front else []), kpi


@dataclass(frozen=True)
class Target:
    """One parsed target.

    ``stage``/``lane``: where it applies (``None``: every stage / every lane of the stage).
    ``kpi``: ``wait_mean``, ``wait_pNN`` or ``detection_rate``; ``op``: ``<=`` or ``>=``.
    ``value``: minutes for waits, a share (0-1) for detection.
    ``percentile``: NN for ``wait_pNN`` (0-100), else ``None``.
    """

    text: str
    stage: str | None
    lane: str | None
    kpi: str
    op: str
    value: float
    percentile: float | None = None

    @property
    def is_wait(self) -> bool:
        return self.kpi.startswith("wait_")

    def applies_to(self, stage: str, lane_name: str) -> bool:
        """Whether the target covers the lane called ``lane_name`` of ``stage``.

        ``lane_name`` is the plan's lane name (``stage.lane``, or the stage name for a
        single-lane stage).
        """
        if not self.is_wait:
            return False
        if self.stage is not None and self.stage != stage:
            return False
        return self.lane is None or lane_name == f"{stage}.{self.lane}"

    def to_dict(self) -> dict:
        """JSON form: the text plus its parsed parts (``value`` in minutes or as a share)."""
        d = asdict(self)
        d["target"] = d.pop("text")
        d["unit"] = "min" if self.is_wait else "share"
        return d


def _lanes_of_stage(plan: Plan, stage: str) -> list[str]:
    s = plan.stage_names.index(stage)
    return [plan.lane_names[lane].split(".", 1)[1] for lane in plan.lanes_of(s)
            if "." in plan.lane_names[lane]]


def _where(plan: Plan, parts: list[str], text: str,
           src: str = "--target") -> tuple[str | None, str | None]:
    """Resolve the stage and lane words in front of the KPI (``src``: the option, for errors)."""
    if not parts:
        return None, None
    stage = parts[0]
    if stage not in plan.stage_names:
        raise ScenarioError(
            f"{text!r}: unknown stage {stage!r}; stages are {list(plan.stage_names)}", src)
    if len(parts) == 1:
        return stage, None
    lanes = _lanes_of_stage(plan, stage)
    if len(parts) > 2 or parts[1] not in lanes:
        where = ".".join(parts[1:])
        known = f"its lanes are {lanes}" if lanes else "it has no named lanes"
        raise ScenarioError(f"{text!r}: stage {stage!r} has no lane {where!r}; {known}", src)
    return stage, parts[1]


def parse_target(text: str, plan: Plan) -> Target:
    """Parse one target against the stages and lanes of ``plan``.

    Raises ``ScenarioError`` (the CLI's exit 2) naming what is wrong.
    """
    src = "--target"
    m = _TARGET.match(text or "")
    if not m:
        raise ScenarioError(
            f"cannot read {text!r}; write [STAGE.]KPI<=VALUE, e.g. primary.wait_p95<=15min "
            "or detection_rate>=0.6", src)
    path, op, raw = m.groups()
    if op in ("=<", "=>"):
        op = op[::-1]
    if op not in ("<=", ">="):
        raise ScenarioError(f"{text!r}: use <= or >= (got {op!r})", src)
    if not raw:
        raise ScenarioError(f"{text!r}: missing the value after {op}", src)
    parts, kpi = _split_path(path)
    if kpi == "detection_rate":
        if parts:
            raise ScenarioError(
                f"{text!r}: detection_rate is a crossing-wide KPI; write detection_rate>=X", src)
        if op != ">=":
            raise ScenarioError(f"{text!r}: a detection target is a lower limit; use >=", src)
        try:
            value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            raise ScenarioError(f"{text!r}: cannot read {raw!r} as a share (0.6 or 60%)",
                                src) from None
        if not 0 <= value <= 1:
            raise ScenarioError(f"{text!r}: a detection rate is a share from 0 to 1", src)
        return Target(text, None, None, kpi, op, value)
    pct = None
    if kpi != "wait_mean":
        mp = _PCT.match(kpi)
        if not mp:
            raise ScenarioError(
                f"{text!r}: unknown KPI {kpi!r}; choose {WAIT_KPIS} or detection_rate", src)
        pct = float(mp.group(1))
        if not 0 < pct < 100:
            raise ScenarioError(f"{text!r}: the percentile must be between 0 and 100", src)
    stage, lane = _where(plan, parts, text)
    if op != "<=":
        raise ScenarioError(f"{text!r}: a wait target is an upper limit; use <=", src)
    try:
        value = to_minutes(raw)
    except ValueError as exc:
        raise ScenarioError(f"{text!r}: {exc}", src) from None
    if not value >= 0 or value == float("inf"):
        raise ScenarioError(f"{text!r}: the wait limit must be a finite time of 0 or more", src)
    return Target(text, stage, lane, kpi, op, value, pct)


def parse_targets(texts: list[str] | tuple[str, ...], plan: Plan) -> list[Target]:
    """Parse every target; at least one is needed and no text may repeat."""
    if not texts:
        raise ScenarioError("give at least one --target, e.g. --target 'primary.wait_p95<=15min'")
    targets = [parse_target(t, plan) for t in texts]
    if sum(t.kpi == "detection_rate" for t in targets) > 1:
        raise ScenarioError("give at most one detection_rate target", "--target")
    return targets


def parse_max_servers(texts: list[str] | tuple[str, ...], plan: Plan) -> dict[str, int]:
    """Parse ``STAGE=N`` or ``STAGE.LANE=N`` caps into ``{"stage" or "stage.lane": N}``."""
    caps: dict[str, int] = {}
    src = "--max-servers"
    for text in texts:
        key, eq, raw = text.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ScenarioError(f"{text!r}: write STAGE=N or STAGE.LANE=N", src)
        stage, lane = _where(plan, key.split("."), text, src)
        try:
            n = int(raw)
        except ValueError:
            raise ScenarioError(f"{text!r}: {raw.strip()!r} is not a whole number", src) from None
        if n < 1:
            raise ScenarioError(f"{text!r}: the cap must be at least 1 server", src)
        caps[stage if lane is None else f"{stage}.{lane}"] = n
    return caps
