"""Pre-arrival database checks: API/PNR, INTERPOL or regional watchlists.

A threat is listed with probability ``coverage``; an innocent traveller is wrongly
matched with probability ``false_hit_rate``. Listed travellers are referred. The
check is made when the traveller arrives; while the database is unreachable
(an ``outage``), nobody is matched and the declared ``fallback`` decides instead.

Listing draws one uniform per traveller from the stream ``targeting.watchlist``
(listed if ``u < coverage`` for a threat, ``u < false_hit_rate`` otherwise), so
raising the coverage only adds travellers to the list.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from ...analysis import outcomes
from ..schema_base import Strict
from ..units import to_minutes
from .base import Decision, DynamicRule, Knob, PythonRule, Strategy, TargetingContext, share_words
from .basic import Rate
from .registry import AnyFallback, register_strategy

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

STREAM = "targeting.watchlist"
DAY = 1440.0
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def clock_minutes(value: object) -> float:
    """A time of day as minutes after 00:00: ``"14:30"``, or a duration (``"14.5 h"``, 870)."""
    if isinstance(value, str):
        match = _CLOCK.match(value)
        if match:
            hours, minutes = int(match.group(1)), int(match.group(2))
            if hours > 24 or minutes > 59 or (hours == 24 and minutes):
                raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
            return hours * 60.0 + minutes
    minutes = to_minutes(value)
    if not minutes >= 0:
        raise ValueError(f"must be 0 or later, got {value!r}")
    return minutes


ClockMinutes = Annotated[float, BeforeValidator(clock_minutes)]
"""Minutes after 00:00; accepts "HH:MM" and duration strings."""


class Outage(Strict):
    """A window when the database cannot be reached.

    ``daily: true`` (default): ``start`` and ``end`` are times of day ("02:00",
    "5:30", or durations from midnight such as "2 h"), repeating every day; a window
    whose end is before its start runs over midnight. ``daily: false``: they are
    times from the start of the run (minutes, or unit strings such as "26 h").
    """

    start: ClockMinutes
    end: ClockMinutes
    daily: bool = True

    @model_validator(mode="after")
    def _sensible(self) -> Outage:
        if self.daily:
            if self.start >= DAY or self.end > DAY:
                raise ValueError("a daily outage needs times of day between 00:00 and 24:00 "
                                 "(use daily: false for times from the start of the run)")
            if self.start == self.end:
                raise ValueError("start and end are the same time: the outage would be empty")
        elif self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def covers(self, t: np.ndarray) -> np.ndarray:
        """Whether each time ``t`` (minutes from the start of the run) is in the outage."""
        if not self.daily:
            return (t >= self.start) & (t < self.end)
        tod = np.mod(t, DAY)
        if self.start < self.end:
            return (tod >= self.start) & (tod < self.end)
        return (tod >= self.start) | (tod < self.end)


@register_strategy
class WatchlistStrategy(Strategy):
    """Refer travellers matched against a watchlist when they arrive.

    ``coverage``: share of threats on the list. ``false_hit_rate``: share of innocent
    travellers wrongly matched. ``outages``: windows without the database; then the
    ``fallback`` (required with outages) decides: ``none`` (nobody referred on
    watchlist grounds), ``all`` (everybody), or any strategy block. Reports
    ``watchlist.hits`` and ``watchlist.false_hits`` (counted travellers matched).
    Knobs: ``coverage`` (the main one) and ``false_hit_rate``.
    """

    title = "Watchlist (API/PNR, database checks)"
    knobs = (Knob("coverage", "Watchlist coverage (share of threats listed)",
                  0.0, 1.0, 0.05, 0.5),
             Knob("false_hit_rate", "Watchlist false hits (share of innocent travellers "
                  "matched)", 0.0, 0.02, 0.0005, 0.001))
    main_knob = "coverage"
    grid = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)

    strategy: Literal["watchlist"]
    coverage: Rate
    false_hit_rate: Rate = 0.0
    outages: list[Outage] = Field(default_factory=list)
    fallback: AnyFallback | None = None

    @model_validator(mode="after")
    def _fallback_declared(self) -> WatchlistStrategy:
        if self.outages and self.fallback is None:
            raise ValueError("outages need a declared 'fallback': none, all, or a strategy block")
        if self.fallback is not None and not self.outages:
            raise ValueError("'fallback' is only used during 'outages'; list the outages or "
                             "remove the fallback")
        return self

    def _fallback_strategy(self) -> Strategy | None:
        return self.fallback if isinstance(self.fallback, Strategy) else None

    def check(self, scenario) -> None:
        inner = self._fallback_strategy()
        if inner is not None:
            try:
                inner.check(scenario)
            except ValueError as exc:
                raise ValueError(f"fallback: {exc}") from None

    def queue_aware(self) -> bool:
        inner = self._fallback_strategy()
        return inner is not None and inner.queue_aware()

    def describe(self, scenario: Scenario) -> str:
        text = (f"checks travellers against a watchlist holding {share_words(self.coverage)} "
                f"of threats, wrongly matching {share_words(self.false_hit_rate)} of innocents")
        if self.outages:
            inner = self._fallback_strategy()
            fallback = self.fallback if inner is None else inner.describe(scenario)
            text += f"; during {len(self.outages)} outage window(s) the fallback {fallback}"
        return text

    def offline(self, arrival: np.ndarray) -> np.ndarray:
        """Whether the database is down when each traveller arrives."""
        down = np.zeros(len(arrival), dtype=bool)
        for outage in self.outages:
            down |= outage.covers(arrival)
        return down

    def decide(self, ctx: TargetingContext) -> Decision:
        u = ctx.stream(STREAM).random(ctx.n)
        listed = u < np.where(ctx.threat, self.coverage, self.false_hit_rate)
        down = self.offline(ctx.arrival)
        hit = listed & ~down
        counted = outcomes.is_counted(ctx.arrival, ctx.scenario.warmup, ctx.scenario.horizon)
        extra = {
            "watchlist.hits": float((hit & counted).sum()),
            "watchlist.false_hits": float((hit & counted & ~ctx.threat).sum()),
        }
        refer = hit.copy()
        p = np.where(down, 0.0, self.coverage)
        dynamic = None
        if self.fallback == "all":
            refer |= down
            p = np.where(down, 1.0, p)
        elif isinstance(self.fallback, Strategy):
            other = self.fallback.decide(ctx)
            refer |= down & other.refer
            p = np.where(down, other.p_refer_if_threat, p)
            dynamic = _only_when(other.dynamic, down)
            for name, value in other.extra.items():
                extra[name] = extra.get(name, 0.0) + value
        return Decision(refer=refer, p_refer_if_threat=p, dynamic=dynamic, extra=extra)


def _only_when(rule: DynamicRule | PythonRule | None, mask: np.ndarray
               ) -> DynamicRule | PythonRule | None:
    """``rule`` restricted to the travellers in ``mask`` (the others never pass it)."""
    if rule is None:
        return None
    if isinstance(rule, PythonRule):
        return PythonRule(lambda i, waiting: bool(mask[i]) and rule.decide(i, waiting))
    return DynamicRule(score=np.where(mask, rule.score, -np.inf), threshold=rule.threshold,
                       per_waiting=rule.per_waiting,
                       threat_mean=np.where(mask, rule.threat_mean, -np.inf))
