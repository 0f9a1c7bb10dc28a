"""The staffing-options file: shift patterns, officer kinds, workforce and what a planner can buy.

A separate YAML file (not a block of the scenario), because one crossing is planned under
several sets of rules and prices, and a scenario stays a description of the crossing::

    name: Airport options
    cost_source: "ILLUSTRATIVE costs, not quotes"
    currency: EUR
    discount_rate: 0.035                 # a share per year
    workforce:
      shrinkage: 0.30                    # share of paid hours not available for duty
      hours_per_fte: 1950 h              # paid hours of one full-time officer a year
      establishment: 150                 # officers on the payroll today (FTE)
      officer_annual_cost: 60000         # fully loaded, per FTE a year
    staffing:
      objective: paid_hours              # or officers, or cost
      shifts:
        - {name: 8h, length: 8h, starts: any, break: 30min, break_window: [2h, 5h]}
        - {name: 12h, length: 12h, starts: [6, 18], break: 60min, break_window: [4h, 7h]}
      officers:                          # kinds of officer and the stages/lanes they cover
        border: {covers: [passport]}
        customs: {covers: [secondary], annual_cost: 65000}
      supervision: {passport.egate: 5}   # one officer supervises 5 e-gates
    buy:
      gates: {kind: egate, lane: passport.egate, installed: 8, capital_cost: 250000,
              upkeep_per_year: 20000, life_years: 10}
      booths: {kind: booth, stage: passport, capital_cost: 120000, life_years: 20}
    options:
      - {name: officers only}
      - {name: +6 e-gates, buy: {gates: 6}}

Times follow the package's rule (a bare number is minutes; write units: ``8h``, ``30min``);
shift lengths are whole hours and shifts start on the hour; breaks and their windows are
multiples of 15 minutes (``SLOT``). Money is in ``currency`` per year unless it says capital.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ...errors import ScenarioError
from ...model.distributions import Distribution, Minutes, MinutesOrZero
from ...model.scenario import Scenario, _format_validation, read_yaml_mapping
from ...model.schema_base import Strict
from ...run.plan import Plan

SLOT = 15.0
"""Minutes in one slot of the shift model (breaks are placed on this grid)."""
DAY = 1440.0

Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]


def _on_grid(value: float, step: float, what: str) -> float:
    if abs(value / step - round(value / step)) > 1e-9:
        raise ValueError(f"{what} must be a multiple of {step:g} min, got {value:g} min")
    return float(round(value / step) * step)


class Shift(Strict):
    """One allowed shift pattern: its length, start hours and one paid break.

    ``length``: minutes (whole hours, 1-24 h). ``starts``: ``any`` (every hour) or hours of
    day 0-23. ``break``: minutes, paid, taken in one piece, starting between
    ``break_window[0]`` and ``break_window[1]`` minutes after the shift starts (default:
    from 1 h in until 1 h before the end). Where each officer's break falls is a decision
    of the integer programme, so breaks never leave a slot uncovered.
    """

    name: str | None = None
    length: Minutes
    starts: Literal["any"] | list[Annotated[int, Field(ge=0, le=23)]] = "any"
    break_minutes: MinutesOrZero = Field(0.0, alias="break")
    break_window: tuple[MinutesOrZero, MinutesOrZero] | None = None

    @field_validator("length")
    @classmethod
    def _whole_hours(cls, v: float) -> float:
        v = _on_grid(v, 60.0, "a shift length")
        if not 60 <= v <= DAY:
            raise ValueError(f"a shift lasts 1 h to 24 h, got {v / 60:g} h")
        return v

    @field_validator("break_minutes")
    @classmethod
    def _break_on_grid(cls, v: float) -> float:
        return _on_grid(v, SLOT, "a break")

    @field_validator("starts")
    @classmethod
    def _distinct(cls, v: str | list[int]) -> str | list[int]:
        if isinstance(v, list):
            if not v:
                raise ValueError("list at least one start hour, or write 'any'")
            if len(set(v)) != len(v):
                raise ValueError(f"start hours repeat: {v}")
        return v

    @model_validator(mode="after")
    def _break_fits(self) -> Shift:
        b = self.break_minutes
        if b >= self.length:
            raise ValueError(f"the break ({b:g} min) must be shorter than the shift")
        if self.break_window is not None:
            lo = _on_grid(self.break_window[0], SLOT, "break_window")
            hi = _on_grid(self.break_window[1], SLOT, "break_window")
            if lo > hi:
                raise ValueError("break_window: the earliest start comes after the latest")
            if hi + b > self.length:
                raise ValueError(f"break_window: a break starting {hi:g} min in ends after "
                                 "the shift")
        return self

    @property
    def label(self) -> str:
        """The shift's name, or e.g. ``8h`` from its length."""
        return self.name or f"{self.length / 60:g}h"

    def start_hours(self) -> list[int]:
        """Hours of day (0-23) at which this shift may start."""
        return list(range(24)) if self.starts == "any" else sorted(self.starts)

    def break_offsets(self) -> list[int]:
        """Slots after the shift's start at which its break may start (``[0]`` if no break)."""
        if self.break_minutes == 0:
            return [0]
        if self.break_window is not None:
            lo, hi = self.break_window
        else:
            lo, hi = 60.0, self.length - 60.0 - self.break_minutes
            if hi < lo:  # a short shift: anywhere inside it
                lo, hi = 0.0, self.length - self.break_minutes
        return list(range(round(lo / SLOT), round(hi / SLOT) + 1))


class OfficerKind(Strict):
    """Officers with one training: the stages (``stage``) or lanes (``stage.lane``) they cover.

    ``annual_cost``: cost of one FTE a year (default: ``workforce.officer_annual_cost``).
    """

    covers: list[str] = Field(min_length=1)
    annual_cost: Money | None = None


class Staffing(Strict):
    """Shift rules and who can work where.

    ``objective``: what the integer programme minimises — ``paid_hours`` (officer-hours paid
    a day, breaks included), ``officers`` (officers on shift a day) or ``cost`` (paid hours
    weighted by each kind's annual cost). ``officers``: kinds of officer (default: one kind,
    ``officer``, covering every lane). ``supervision``: servers one officer runs in a lane
    (``stage.lane`` or a single-lane stage's name), e.g. 5 e-gates; default 1.
    """

    objective: Literal["paid_hours", "officers", "cost"] = "paid_hours"
    shifts: list[Shift] = Field(min_length=1)
    officers: dict[str, OfficerKind] | None = None
    supervision: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)


class Workforce(Strict):
    """From a day's shifts to a payroll.

    ``shrinkage``: share of paid hours an officer is not available for rostered duty
    (annual leave, public holidays, training, sickness; breaks are in the shifts, so leave
    them out). Default 0.30: half of the workforce planners surveyed by SWPP (Society of
    Workforce Planning Professionals, "WFM Survey Results", On Target, spring 2024) assume
    26-35 % long-term shrinkage (that figure includes breaks). ``hours_per_fte``: paid hours
    of one full-time officer a year (minutes; write ``1950 h`` = 37.5 h x 52 weeks).
    ``establishment``: full-time officers on the payroll today (a total, or per officer
    kind). ``officer_annual_cost``: cost of one FTE a year, salary and on-costs.
    ``days_per_year``: days the crossing opens.
    """

    shrinkage: Share = 0.30
    hours_per_fte: Minutes = 1950 * 60.0
    establishment: Annotated[float, Field(ge=0, allow_inf_nan=False)] | \
        dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = 0
    officer_annual_cost: Money = 0.0
    days_per_year: Annotated[float, Field(gt=0, le=366)] = 365.0

    @field_validator("hours_per_fte")
    @classmethod
    def _plausible(cls, v: float) -> float:
        if v < 100 * 60:
            raise ValueError(f"{v:g} min is under 100 h a year; write the unit, e.g. 1950 h")
        return v


class Item(Strict):
    """Something a planner can buy, in units.

    ``kind: egate`` adds gates to ``lane`` (``installed`` today; default: the lane's largest
    hourly count in the scenario); ``service``/``classes``, when given, replace the lane's in
    every option that buys the item (new-generation gates upgrade the whole bank);
    ``supervision``: gates one officer supervises (else ``staffing.supervision`` or 1).
    ``kind: booth`` adds one booth (desk, bay) to ``stage``'s ``booths``.
    ``capital_cost``: per unit, paid once, annualised over ``life_years`` at the file's
    ``discount_rate``; ``upkeep_per_year``: per unit a year.
    """

    kind: Literal["egate", "booth"]
    lane: str | None = None
    stage: str | None = None
    installed: Annotated[int, Field(ge=0)] | None = None
    capital_cost: Money
    upkeep_per_year: Money = 0.0
    life_years: Annotated[float, Field(gt=0, le=100)]
    service: Distribution | None = None
    classes: list[str] | None = None
    supervision: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Item:
        if self.kind == "egate":
            if self.lane is None:
                raise ValueError("an egate item needs 'lane' (stage.lane)")
            if self.stage is not None:
                raise ValueError("an egate item names its 'lane', not a 'stage'")
        else:
            if self.stage is None:
                raise ValueError("a booth item needs 'stage'")
            extra = [k for k in ("lane", "installed", "service", "classes", "supervision")
                     if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"a booth item takes no {extra[0]!r}")
        return self


class Option(Strict):
    """One thing to evaluate: a name and how many units of each item it buys."""

    name: str = Field(min_length=1)
    buy: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)


class OptionsFile(Strict):
    """A staffing-options file (see the module docstring)."""

    name: str
    description: str = ""
    cost_source: str = Field(min_length=1)
    """Where the costs come from; write ``illustrative`` when they are not sourced."""
    currency: str = "EUR"
    discount_rate: Share = 0.035
    workforce: Workforce = Field(default_factory=Workforce)
    staffing: Staffing
    buy: dict[str, Item] = Field(default_factory=dict)
    options: list[Option] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> OptionsFile:
        names = [o.name for o in self.options]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"options: the name {dup[0]!r} is used twice")
        for i, opt in enumerate(self.options):
            unknown = sorted(set(opt.buy) - set(self.buy))
            if unknown:
                raise ValueError(f"options.{i}.buy: unknown item {unknown[0]!r}; items are "
                                 f"{sorted(self.buy)}")
        est = self.workforce.establishment
        kinds = set(self.staffing.officers or {"officer": None})
        if isinstance(est, dict) and set(est) - kinds:
            raise ValueError(f"workforce.establishment: unknown officer kind "
                             f"{sorted(set(est) - kinds)[0]!r}; kinds are {sorted(kinds)}")
        return self

    def kinds(self) -> dict[str, OfficerKind]:
        """Officer kinds; by default one kind, ``officer``, covering every stage."""
        return dict(self.staffing.officers or {"officer": OfficerKind(covers=["*"])})

    def annual_cost(self, kind: str) -> float:
        """Cost of one FTE of ``kind`` a year (currency)."""
        own = self.kinds()[kind].annual_cost
        return self.workforce.officer_annual_cost if own is None else own

    def establishment(self, kind: str | None = None) -> float:
        """Officers on the payroll today: in total, or of one kind (0 when not given)."""
        est = self.workforce.establishment
        if isinstance(est, dict):
            return float(sum(est.values()) if kind is None else est.get(kind, 0.0))
        return float(est) if kind is None else float("nan")

    def check_against(self, scenario: Scenario, plan: Plan, source: str | None) -> None:
        """Raise ``ScenarioError`` if a stage, lane or class named here is not in ``scenario``."""
        lanes = set(plan.lane_names)
        stages = set(plan.stage_names)

        def bad(path: str, problem: str) -> ScenarioError:
            return ScenarioError(problem, source, path)

        for kname, kind in self.kinds().items():
            for i, where in enumerate(kind.covers):
                if where != "*" and where not in lanes | stages:
                    raise bad(f"staffing.officers.{kname}.covers.{i}",
                              f"no stage or lane {where!r}; stages are {sorted(stages)}, "
                              f"lanes {sorted(lanes - stages)}")
        for lane in self.staffing.supervision:
            if lane not in lanes:
                raise bad(f"staffing.supervision.{lane}",
                          f"no lane {lane!r}; lanes are {sorted(lanes)}")
        for iname, item in self.buy.items():
            if item.kind == "egate":
                if item.lane not in lanes:
                    raise bad(f"buy.{iname}.lane", f"no lane {item.lane!r}; lanes are "
                              f"{sorted(lanes)}")
                sup = self.staffing.supervision.get(item.lane)
                if item.supervision and sup and sup != item.supervision:
                    raise bad(f"buy.{iname}.supervision",
                              f"{item.supervision} differs from staffing.supervision."
                              f"{item.lane} ({sup}); give it once")
                unknown = sorted(set(item.classes or []) - set(scenario.classes))
                if unknown:
                    raise bad(f"buy.{iname}.classes", f"unknown class {unknown[0]!r}; classes "
                              f"are {sorted(scenario.classes)}")
            else:
                if item.stage not in stages:
                    raise bad(f"buy.{iname}.stage", f"no stage {item.stage!r}; stages are "
                              f"{sorted(stages)}")
                if scenario.stages[item.stage].booths is None:
                    raise bad(f"buy.{iname}.stage", f"stage {item.stage!r} has no 'booths' in "
                              "the scenario, so there is no limit to add booths to")


def load_options(source: str | Path | dict) -> tuple[OptionsFile, str | None]:
    """Read and validate an options file (or mapping); returns it and its name for errors.

    Any problem raises one ``ScenarioError``: ``FILE: FIELD.PATH: PROBLEM``.
    """
    if isinstance(source, dict):
        data, src = source, None
    else:
        src = str(source)
        data = read_yaml_mapping(Path(source), "options file")
    try:
        return OptionsFile.model_validate(data), src
    except ValidationError as exc:
        raise _format_validation(exc, src) from None
