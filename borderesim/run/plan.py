"""A scenario flattened into arrays: the form both engines read.

Stages keep the scenario's order. Lanes of all stages are numbered globally;
stage ``s`` owns lanes ``lane_start[s]:lane_start[s + 1]``, in the order listed.
Shocks (``events.py``) become arrays too: outage and slowdown windows per lane and
each stage's reserve; surges are travellers, drawn by ``sampling.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..model.events import OutageEvent, SlowdownEvent, event_lanes, occurrences
from ..model.hourly import as_24
from ..model.scenario import Scenario


def _empty(dtype: type) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass(frozen=True)
class CapacityChanges:
    """Servers on duty per lane, piecewise constant in time (minutes).

    From ``times[k]`` (``times[0] == 0``, all before the horizon) lane ``l`` has
    ``level[k, l]`` rostered servers, none at all while ``down[k, l]`` (an outage);
    ``preempt[k, l]``: an outage that pre-empts starts in lane ``l`` at ``times[k]``.
    """

    times: np.ndarray  # float64[K]
    level: np.ndarray  # int64[K, L]
    down: np.ndarray  # bool[K, L]
    preempt: np.ndarray  # bool[K, L]

    def on_duty(self) -> np.ndarray:
        """int64[K, L]: servers on duty from each change on (0 in an outage)."""
        return np.where(self.down, 0, self.level)


@dataclass(frozen=True)
class Plan:
    """Engine-ready description of a scenario (times in minutes)."""

    stage_names: tuple[str, ...]
    lane_names: tuple[str, ...]
    lane_stage: np.ndarray  # int64[L]: stage of each lane
    lane_start: np.ndarray  # int64[S + 1]
    stage_referred: np.ndarray  # bool[S]: only referred travellers visit
    detect_p: np.ndarray  # float64[S]
    flush_above: np.ndarray  # int64[S]: -1 = never flush
    eligible: np.ndarray  # bool[L, C]: class c may use lane l
    roster: np.ndarray  # int64[L, 24]: servers on duty by hour of day
    warmup: float
    horizon: float
    out_lane: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # int64[O]
    out_from: np.ndarray = field(default_factory=lambda: _empty(np.float64))  # minutes
    out_to: np.ndarray = field(default_factory=lambda: _empty(np.float64))  # minutes
    out_preempt: np.ndarray = field(default_factory=lambda: _empty(np.bool_))
    slow_lane: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # int64[W]
    slow_from: np.ndarray = field(default_factory=lambda: _empty(np.float64))  # minutes
    slow_to: np.ndarray = field(default_factory=lambda: _empty(np.float64))  # minutes
    slow_factor: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    res_officers: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # [S]; 0: none
    res_open: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # [S]
    res_close: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # [S]
    res_call: np.ndarray = field(default_factory=lambda: _empty(np.float64))  # [S] minutes
    booths: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # [S]; -1: no limit
    drain: float = 0.0
    """Longest the run goes on past ``horizon`` while counted travellers are inside (minutes)."""

    @property
    def run_end(self) -> float:
        """Latest end of the run (minutes): nothing at or after it is handled."""
        return self.horizon + self.drain

    @property
    def n_stages(self) -> int:
        return len(self.stage_names)

    @property
    def n_lanes(self) -> int:
        return len(self.lane_names)

    def lanes_of(self, s: int) -> range:
        """Global lane indices of stage ``s``."""
        return range(int(self.lane_start[s]), int(self.lane_start[s + 1]))

    @property
    def has_reserve(self) -> bool:
        """True when some stage declares reserve officers."""
        return bool(np.any(self.res_officers > 0))

    @property
    def has_shocks(self) -> bool:
        """True when outages, slowdowns or reserves change what the engines do."""
        return bool(len(self.out_lane) or len(self.slow_lane) or self.has_reserve)

    def reserve_arrays(self) -> tuple[np.ndarray, ...]:
        """Per stage: reserve officers, open_above, close_below, call_in (minutes), booths.

        Padded to the number of stages (no reserve, no booth limit) when not given.
        """
        S = self.n_stages

        def pad(x: np.ndarray, fill: float, dtype: type) -> np.ndarray:
            return np.asarray(x, dtype=dtype) if len(x) == S else np.full(S, fill, dtype=dtype)

        return (pad(self.res_officers, 0, np.int64), pad(self.res_open, 0, np.int64),
                pad(self.res_close, 0, np.int64), pad(self.res_call, 0.0, np.float64),
                pad(self.booths, -1, np.int64))

    def capacity_changes(self) -> CapacityChanges:
        """Every hour boundary and outage edge before the run end, with the servers then.

        Computed from ``roster``, the outages and ``run_end`` (so a plan copied with a
        new roster, horizon or drain gets its own) and kept on the instance.
        """
        cached = self.__dict__.get("_changes")
        if cached is not None:
            return cached
        end = max(self.run_end, self.horizon)
        hours = np.arange(0.0, end, 60.0)
        edges = np.concatenate([hours, self.out_from, self.out_to])
        times = np.unique(edges[(edges >= 0) & (edges < end)])
        if len(times) == 0 or times[0] != 0.0:
            times = np.concatenate([[0.0], times])
        hour = (np.floor(times / 60.0).astype(np.int64)) % 24
        level = np.ascontiguousarray(self.roster[:, hour].T)
        down = np.zeros(level.shape, dtype=bool)
        preempt = np.zeros(level.shape, dtype=bool)
        for lane, t0, t1, pre in zip(self.out_lane, self.out_from, self.out_to,
                                     self.out_preempt, strict=True):
            down[(times >= t0) & (times < t1), lane] = True
            if pre:
                preempt[times == t0, lane] = True
        changes = CapacityChanges(times, level, down, preempt)
        object.__setattr__(self, "_changes", changes)
        return changes

    def capacity(self, lane: int, t: float) -> int:
        """Rostered servers on duty in ``lane`` at time ``t`` (minutes; 0 in an outage)."""
        ch = self.capacity_changes()
        if t >= max(self.run_end, self.horizon):
            return 0 if self._down_at(lane, t) else int(self.roster[lane, int(t // 60) % 24])
        k = int(np.searchsorted(ch.times, t, side="right")) - 1
        return 0 if ch.down[k, lane] else int(ch.level[k, lane])

    def _down_at(self, lane: int, t: float) -> bool:
        hit = (self.out_lane == lane) & (self.out_from <= t) & (t < self.out_to)
        return bool(hit.any())

    def server_minutes(self, lane: int, t0: float, t1: float) -> float:
        """Rostered server-minutes on duty in ``lane`` between ``t0`` and ``t1``.

        Outages count as no server; reserve officers are not included.
        """
        ch = self.capacity_changes()
        end = max(self.run_end, self.horizon)
        edges = np.concatenate([ch.times, [end]])
        on = ch.on_duty()[:, lane]
        lo = np.clip(edges[:-1], t0, t1)
        hi = np.clip(edges[1:], t0, t1)
        total = float(np.sum(on * (hi - lo)))
        t = max(t0, end)
        while t < t1:  # past the run end: the roster alone
            edge = min(t1, (np.floor(t / 60) + 1) * 60)
            total += self.capacity(lane, t) * (edge - t)
            t = edge
        return total


def strategies_of(strategy: Any) -> list[BaseModel]:
    """A targeting strategy and every strategy nested in it (layers, fallbacks), depth
    first; ``[]`` for ``None``."""
    if not isinstance(strategy, BaseModel):
        return []
    found = [strategy]
    for name in type(strategy).model_fields:
        value = getattr(strategy, name)
        for item in value if isinstance(value, list | tuple) else [value]:
            found += strategies_of(item)
    return found


def is_queue_aware(scenario: Scenario) -> bool:
    """Whether a strategy of ``scenario`` refers by a threshold that rises with the
    queue (a non-zero ``per_waiting``): its runs record ``Trace.threshold``."""
    return any(getattr(s, "per_waiting", 0) for s in strategies_of(scenario.targeting))


def make_plan(scenario: Scenario) -> Plan:
    """Flatten ``scenario`` into a ``Plan``."""
    classes = list(scenario.classes)
    stage_names, lane_names, lane_stage, lane_start = [], [], [], [0]
    referred, detect_p, flush, eligible, roster = [], [], [], [], []
    for s, (sname, stage) in enumerate(scenario.stages.items()):
        stage_names.append(sname)
        referred.append(stage.visits == "referred")
        detect_p.append(stage.detection_probability)
        flush.append(-1 if stage.flush_above is None else stage.flush_above)
        for lname, lane in stage.lane_specs(sname).items():
            lane_names.append(f"{sname}.{lname}" if stage.lanes is not None else sname)
            lane_stage.append(s)
            eligible.append([lane.classes is None or c in lane.classes for c in classes])
            roster.append(as_24(lane.servers))
        lane_start.append(len(lane_names))
    return Plan(
        stage_names=tuple(stage_names),
        lane_names=tuple(lane_names),
        lane_stage=np.array(lane_stage, dtype=np.int64),
        lane_start=np.array(lane_start, dtype=np.int64),
        stage_referred=np.array(referred, dtype=bool),
        detect_p=np.array(detect_p, dtype=np.float64),
        flush_above=np.array(flush, dtype=np.int64),
        eligible=np.array(eligible, dtype=bool).reshape(len(lane_names), len(classes)),
        roster=np.array(roster, dtype=np.int64),
        warmup=scenario.warmup,
        horizon=scenario.horizon,
        drain=scenario.drain,
        **_shock_fields(scenario, lane_names),
    )


def _shock_fields(scenario: Scenario, lane_names: list[str]) -> dict[str, np.ndarray]:
    """OutageEvent and slowdown windows per lane, and each stage's reserve, as plan arrays."""
    index = {}
    for sname, stage in scenario.stages.items():
        for lname in stage.lane_specs(sname):
            index[sname, lname] = len(index)
    out: list[tuple] = []
    slow: list[tuple] = []
    for occ in occurrences(scenario.events, scenario.run_end):
        ev = occ.event
        if isinstance(ev, OutageEvent | SlowdownEvent):
            for lname in event_lanes(scenario, ev):
                lane = index[ev.stage, lname]
                if isinstance(ev, OutageEvent):
                    out.append((lane, occ.start, occ.end, ev.preempt))
                else:
                    slow.append((lane, occ.start, occ.end, ev.factor))
    stages = list(scenario.stages.values())
    reserves = [st.reserve for st in stages]
    fields: dict[str, np.ndarray] = {
        "out_lane": np.array([o[0] for o in out], dtype=np.int64),
        "out_from": np.array([o[1] for o in out], dtype=np.float64),
        "out_to": np.array([o[2] for o in out], dtype=np.float64),
        "out_preempt": np.array([o[3] for o in out], dtype=bool),
        "slow_lane": np.array([w[0] for w in slow], dtype=np.int64),
        "slow_from": np.array([w[1] for w in slow], dtype=np.float64),
        "slow_to": np.array([w[2] for w in slow], dtype=np.float64),
        "slow_factor": np.array([w[3] for w in slow], dtype=np.float64),
        "booths": np.array([-1 if st.booths is None else st.booths for st in stages],
                           dtype=np.int64),
    }
    if any(r is not None for r in reserves):
        fields |= {
            "res_officers": np.array([r.officers if r else 0 for r in reserves], np.int64),
            "res_open": np.array([r.open_above if r else 0 for r in reserves], np.int64),
            "res_close": np.array([r.close_below if r else 0 for r in reserves], np.int64),
            "res_call": np.array([r.call_in if r else 0.0 for r in reserves], np.float64),
        }
    return fields
