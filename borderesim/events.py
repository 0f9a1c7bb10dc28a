"""Shocks and agile response: the ``events:`` list and a stage's ``reserve:``.

Schema and the flattening of events into occurrences (minutes from the start of the
run). The rules the engines follow are stated in ``borderesim/testing/semantics.py``
(**Surges**, [outages], [slowdowns], [reserve]).

Clock times are ``"HH:MM"`` of day ``day`` (default 1); ``every: day`` repeats an event
on every later day of the run. An event whose (first) start is at or after the end of
the run is an error naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, model_validator

from . import limits
from .distributions import MinutesOrZero
from .schema_base import Strict

if TYPE_CHECKING:
    from .scenario import Scenario

MAX_SURGE = 100_000_000
"""Most travellers one surge may add (memory is checked by ``budget`` besides)."""
DAY = 1440.0
"""Minutes in a day."""

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def clock_minutes(value: object) -> float:
    """``"HH:MM"`` (00:00 to 24:00) as minutes after midnight.

    Raises ``ValueError`` with a readable message for anything else.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a clock time such as \"09:30\", got {value!r}")
    match = _CLOCK.match(value)
    if not match:
        raise ValueError(f"cannot read {value!r} as a clock time (examples: \"09:30\", \"17:05\")")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{value!r} is not a clock time between 00:00 and 24:00")
    return hours * 60.0 + minutes


def clock_text(minutes: float) -> str:
    """Minutes after midnight as ``"HH:MM"`` (how a clock time is written back out)."""
    return f"{int(minutes // 60):02d}:{int(minutes % 60):02d}"


Clock = Annotated[float, BeforeValidator(clock_minutes), PlainSerializer(clock_text)]
"""A clock time, held as minutes after midnight, written back as ``"HH:MM"``."""
Day = Annotated[int, Field(ge=1, le=int(limits.MAX_MINUTES // 1440) + 1)]


class _Timed(Strict):
    day: Day = 1
    """Day of the (first) occurrence, 1 = the first day of the run."""
    every: Literal["day"] | None = None
    """``day``: repeat on every later day of the run."""


class SurgeEvent(_Timed):
    """``travellers`` extra arrivals spread uniformly over ``over`` minutes from ``at``.

    They come on top of the arrival profile. ``class`` fixes their class; without it
    they are drawn by the scenario's shares.
    """

    kind: Literal["surge"]
    at: Clock
    travellers: Annotated[int, Field(ge=0, le=MAX_SURGE)]
    over: Annotated[MinutesOrZero, AfterValidator(limits.at_most_minutes)] = 0.0
    class_: str | None = Field(default=None, alias="class")

    @property
    def start(self) -> float:
        return self.at


class _Window(_Timed):
    stage: str
    lane: str | None = None
    """A lane of ``stage``; ``None``: every lane of the stage."""
    start: Clock = Field(alias="from")
    to: Clock

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if not self.to > self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class OutageEvent(_Window):
    """No server on duty in the lane(s) from ``from`` to ``to``.

    Roster semantics (the traveller in hand is finished) unless ``preempt``: then the
    travellers in service go back to the head of their lane's queue and start over.
    """

    kind: Literal["outage"]
    preempt: bool = False


class SlowdownEvent(_Window):
    """Service times × ``factor`` for travellers starting service from ``from`` to ``to``."""

    kind: Literal["slowdown"]
    factor: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]


Event = Annotated[SurgeEvent | OutageEvent | SlowdownEvent, Field(discriminator="kind")]
EVENT_KINDS = ("surge", "outage", "slowdown")


class Reserve(Strict):
    """Reserve officers a stage calls in when its queue grows (an agile response).

    When more than ``open_above`` travellers wait at the stage, one reserve officer is
    called and opens a booth ``call_in`` minutes later (if a booth is free); when fewer
    than ``close_below`` wait, a reserve officer leaves after finishing a traveller.
    """

    officers: Annotated[int, Field(gt=0, le=limits.MAX_SERVERS)]
    open_above: Annotated[int, Field(ge=0, le=limits.MAX_FLUSH_ABOVE)]
    close_below: Annotated[int, Field(ge=0, le=limits.MAX_FLUSH_ABOVE)]
    call_in: Annotated[MinutesOrZero, AfterValidator(limits.at_most_minutes)] = 0.0

    @model_validator(mode="after")
    def _hysteresis(self) -> Reserve:
        if self.close_below > self.open_above + 1:
            raise ValueError("close_below must not exceed open_above + 1 (officers would "
                             "leave while more are being called)")
        return self


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an event: times in minutes from the start of the run."""

    index: int
    """Position of the event in ``events:``."""
    day: int
    start: float
    end: float
    event: SurgeEvent | OutageEvent | SlowdownEvent


def occurrences(events: list | tuple, until: float) -> list[Occurrence]:
    """Every occurrence of ``events`` starting before ``until`` (minutes; windows cut there),
    in list order."""
    out = []
    for index, event in enumerate(events):
        day = event.day
        while True:
            base = (day - 1) * DAY
            start = base + event.start
            if not start < until:
                break
            if isinstance(event, SurgeEvent):
                end = start + event.over
            else:
                end = base + event.to
            out.append(Occurrence(index, day, start, min(end, until), event))
            if event.every is None:
                break
            day += 1
    return out


def _clock_text(minutes: float) -> str:
    day, rest = divmod(minutes, DAY)
    return f"{int(rest // 60):02d}:{int(rest % 60):02d} on day {int(day) + 1}"


def check_events(scenario: Scenario) -> None:
    """Cross-field checks of ``events`` and ``reserve`` against the scenario.

    Raises ``ValueError("events.2.lane: ...")``: the field path leads the message.
    """
    classes = set(scenario.classes)
    for k, event in enumerate(scenario.events):
        where = f"events.{k}"
        first = (event.day - 1) * DAY + event.start
        if not first < scenario.horizon:
            field = "at" if isinstance(event, SurgeEvent) else "from"
            raise ValueError(f"{where}.{field}: {_clock_text(first)} is not within the run "
                             f"(it ends at {_clock_text(scenario.horizon)})")
        if isinstance(event, SurgeEvent):
            if event.class_ is not None and event.class_ not in classes:
                raise ValueError(f"{where}.class: unknown class {event.class_!r}; "
                                 f"classes are {sorted(classes)}")
            continue
        stage = scenario.stages.get(event.stage)
        if stage is None:
            raise ValueError(f"{where}.stage: unknown stage {event.stage!r}; "
                             f"stages are {list(scenario.stages)}")
        lanes = stage.lane_specs(event.stage)
        if event.lane is not None and event.lane not in lanes:
            raise ValueError(f"{where}.lane: unknown lane {event.lane!r} of stage "
                             f"{event.stage!r}; lanes are {list(lanes)}")


def event_lanes(scenario: Scenario, event: OutageEvent | SlowdownEvent) -> list[str]:
    """Names of the lanes (of ``event.stage``) an outage or slowdown applies to."""
    lanes = list(scenario.stages[event.stage].lane_specs(event.stage))
    return lanes if event.lane is None else [event.lane]


def shock_window(scenario: Scenario) -> tuple[float, float] | None:
    """The span (minutes) from the first shock's start to the last shock's end, or None."""
    occ = occurrences(scenario.events, scenario.horizon)
    if not occ:
        return None
    return min(o.start for o in occ), max(o.end for o in occ)

