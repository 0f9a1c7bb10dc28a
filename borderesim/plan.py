"""A scenario flattened into arrays: the form both engines read.

Stages keep the scenario's order. Lanes of all stages are numbered globally;
stage ``s`` owns lanes ``lane_start[s]:lane_start[s + 1]``, in the order listed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hourly import as_24
from .scenario import Scenario


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

    def capacity(self, lane: int, t: float) -> int:
        """Servers on duty in ``lane`` at time ``t`` (minutes)."""
        return int(self.roster[lane, int(t // 60) % 24])

    def server_minutes(self, lane: int, t0: float, t1: float) -> float:
        """Server-minutes on duty in ``lane`` between ``t0`` and ``t1``."""
        total, t = 0.0, t0
        while t < t1:
            edge = min(t1, (np.floor(t / 60) + 1) * 60)
            total += self.capacity(lane, t) * (edge - t)
            t = edge
        return total


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
    )
