"""Hand-computed conformance cases: tiny crossings whose traces are worked out on paper.

Each case is a function whose docstring states the hand computation; it returns a
``Case`` holding a small ``Plan`` and ``Inputs`` built directly (picked arrival times,
classes, service times, rosters and scores, no random sampling) and the expected trace.
``CASES`` lists them all; every rule in ``semantics.ENGINE_RULES`` has at least one.
Times are minutes. Service times are given per traveller, one per lane (global lane
order), as ``Inputs.service`` holds them for every lane whether visited or not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..plan import Plan
from ..sampling import Inputs
from ..targeting import DynamicRule
from ..trace import FLUSHED, NOT_VISITED, Trace

NAN = float("nan")


@dataclass(frozen=True)
class Lane:
    """A lane: ``servers`` on duty (one number, or per hour 0, 1, ... with the last
    value repeated to hour 23) and the class indices it admits (``None``: all)."""

    servers: int | Sequence[int] = 1
    classes: Sequence[int] | None = None

    def roster(self) -> list[int]:
        """Servers on duty for each of the 24 hours of the day."""
        hours = [self.servers] if isinstance(self.servers, int) else list(self.servers)
        return (hours + [hours[-1]] * 24)[:24]


@dataclass(frozen=True)
class Stage:
    """A stage: its lanes in order, ``visits: referred``, ``flush_above`` (-1: never),
    ``reserve`` ``(officers, open_above, close_below, call_in)`` and ``booths`` (-1: none)."""

    lanes: Sequence[Lane] = (Lane(),)
    referred: bool = False
    flush_above: int = -1
    reserve: tuple[int, int, int, float] | None = None
    booths: int = -1


@dataclass(frozen=True)
class Visit:
    """Expected record of one traveller at one stage: lane code and times (NaN: none)."""

    lane: int
    entry: float = NAN
    start: float = NAN
    end: float = NAN


SKIP = Visit(NOT_VISITED)
"""Not visited (a ``visits: referred`` stage passed by, or not reached before the horizon)."""


def flushed(t: float) -> Visit:
    """Waved through the stage at ``t``."""
    return Visit(FLUSHED, t)


@dataclass(frozen=True)
class Row:
    """Expected record of one traveller: a ``Visit`` per stage, exit time, referral."""

    visits: Sequence[Visit]
    exit: float = NAN
    referred: bool = False
    threshold: float = NAN


@dataclass(frozen=True)
class QueueRule:
    """A queue-aware referral rule: refer if ``score >= threshold + per_waiting * waiting``."""

    score: Sequence[float]
    threshold: float
    per_waiting: float


@dataclass(frozen=True)
class Case:
    """One hand-computed conformance case (see the module docstring)."""

    name: str
    rule: str
    why: str
    stages: Sequence[Stage]
    arrival: Sequence[float]
    service: Sequence[Sequence[float]]
    expected: Sequence[Row]
    horizon: float = 600.0
    warmup: float = 0.0
    drain: float = 0.0
    cls: Sequence[int] | None = None
    n_classes: int = 1
    refer: Sequence[bool] | None = None
    queue_rule: QueueRule | None = None
    stage_names: Sequence[str] = ()
    outages: Sequence[tuple[int, float, float, bool]] = ()
    """(global lane, from, to, preempt) of each outage."""
    slowdowns: Sequence[tuple[int, float, float, float]] = ()
    """(global lane, from, to, factor) of each slowdown."""
    reserve_minutes: Sequence[float] | None = None
    """Expected reserve officer-minutes per stage (``None``: not checked)."""

    def plan(self) -> Plan:
        """The crossing as engines read it."""
        lanes = [(s, lane) for s, stage in enumerate(self.stages) for lane in stage.lanes]
        names = self.names()
        lane_start = np.cumsum([0] + [len(stage.lanes) for stage in self.stages])
        res = [stage.reserve or (0, 0, 0, 0.0) for stage in self.stages]
        out, slow = list(zip(*self.outages, strict=True)), list(zip(*self.slowdowns, strict=True))
        shocks = {
            "out_lane": np.array(out[0] if out else [], dtype=np.int64),
            "out_from": np.array(out[1] if out else [], dtype=np.float64),
            "out_to": np.array(out[2] if out else [], dtype=np.float64),
            "out_preempt": np.array(out[3] if out else [], dtype=bool),
            "slow_lane": np.array(slow[0] if slow else [], dtype=np.int64),
            "slow_from": np.array(slow[1] if slow else [], dtype=np.float64),
            "slow_to": np.array(slow[2] if slow else [], dtype=np.float64),
            "slow_factor": np.array(slow[3] if slow else [], dtype=np.float64),
            "res_officers": np.array([r[0] for r in res], dtype=np.int64),
            "res_open": np.array([r[1] for r in res], dtype=np.int64),
            "res_close": np.array([r[2] for r in res], dtype=np.int64),
            "res_call": np.array([r[3] for r in res], dtype=np.float64),
            "booths": np.array([stage.booths for stage in self.stages], dtype=np.int64),
        }
        return Plan(
            stage_names=tuple(names),
            lane_names=tuple(f"{names[s]}.{chr(65 + k - lane_start[s])}"
                             for k, (s, _) in enumerate(lanes)),
            lane_stage=np.array([s for s, _ in lanes], dtype=np.int64),
            lane_start=lane_start.astype(np.int64),
            stage_referred=np.array([stage.referred for stage in self.stages], dtype=bool),
            detect_p=np.zeros(len(self.stages)),
            flush_above=np.array([stage.flush_above for stage in self.stages], dtype=np.int64),
            eligible=np.array([[lane.classes is None or c in lane.classes
                                for c in range(self.n_classes)] for _, lane in lanes],
                              dtype=bool).reshape(len(lanes), self.n_classes),
            roster=np.array([lane.roster() for _, lane in lanes], dtype=np.int64),
            warmup=float(self.warmup),
            horizon=float(self.horizon),
            **shocks,
            drain=float(self.drain),
        )

    def names(self) -> list[str]:
        """Stage names (``stage_names``, else ``s0``, ``s1``, ...)."""
        return list(self.stage_names) or [f"s{s}" for s in range(len(self.stages))]

    def inputs(self) -> Inputs:
        """The travellers, as sampling would have drawn them."""
        n = len(self.arrival)
        dynamic = None
        if self.queue_rule is not None:
            rule = self.queue_rule
            dynamic = DynamicRule(score=np.array(rule.score, dtype=np.float64),
                                  threshold=rule.threshold, per_waiting=rule.per_waiting,
                                  threat_mean=np.full(n, -np.inf))
        return Inputs(
            seed=0,
            replication=0,
            arrival=np.array(self.arrival, dtype=np.float64),
            cls=np.array(self.cls if self.cls is not None else [0] * n, dtype=np.int64),
            threat=np.zeros(n, dtype=bool),
            service=np.ascontiguousarray(np.array(self.service, dtype=np.float64)
                                         .reshape(n, -1).T),
            caught=np.zeros((len(self.stages), n), dtype=bool),
            refer=np.array(self.refer if self.refer is not None else [False] * n, dtype=bool),
            p_refer_if_threat=np.zeros(n),
            dynamic=dynamic,
        )

    def expected_trace(self) -> Trace:
        """The hand-computed trace."""
        def grid(attr: str) -> np.ndarray:
            return np.array([[getattr(row.visits[s], attr) for row in self.expected]
                             for s in range(len(self.stages))]).reshape(len(self.stages), -1)

        return Trace(
            lane=grid("lane").astype(np.int64),
            entry=grid("entry").astype(np.float64),
            start=grid("start").astype(np.float64),
            end=grid("end").astype(np.float64),
            exit=np.array([row.exit for row in self.expected], dtype=np.float64),
            referred=np.array([row.referred for row in self.expected], dtype=bool),
            threshold=np.array([row.threshold for row in self.expected], dtype=np.float64),
            reserve_minutes=(None if self.reserve_minutes is None
                             else np.array(self.reserve_minutes, dtype=np.float64)),
        )


CASES: list[Case] = []
"""Every conformance case, in the order defined below."""


def case(rule: str, **spec) -> Callable[[Callable[[], None]], Case]:
    """Register the decorated function's docstring and ``spec`` as a ``Case`` for ``rule``."""
    def register(fn: Callable[[], None]) -> Case:
        made = Case(name=fn.__name__, rule=rule, why=(fn.__doc__ or "").strip(), **spec)
        CASES.append(made)
        return made
    return register


A, B = 0, 1
"""Global lane indices of the first two lanes, for readability in one-stage cases."""


# --- ties ---------------------------------------------------------------------------------

@case("ties",
      stages=[Stage(lanes=[Lane(1), Lane(2)])],
      arrival=[0.0, 0.25, 1.0],
      service=[[10.0, 10.0], [0.75, 10.0], [5.0, 5.0]],
      expected=[Row([Visit(B, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(A, 0.25, 0.25, 1.0)], exit=1.0),
                Row([Visit(A, 1.0, 1.0, 6.0)], exit=6.0)])
def completion_before_arrival() -> None:
    """A completion and an arrival at t=1.0: the completion is handled first.

    Lanes A (1 server) and B (2 servers). t=0: traveller 0 picks B (keys A -1, B -2) and
    is served until 10. t=0.25: traveller 1 sees A -1, B -1, picks A by order, served
    until 0.25 + 0.75 = 1.0. t=1.0: traveller 1 completes first, so A is idle (key -1)
    and ties with B (0 waiting - 1 idle); traveller 2 picks A and is served 1.0 to 6.0.
    Handling the arrival first would have seen A busy (key 0) and sent it to B.
    """


@case("ties",
      stages=[Stage(lanes=[Lane([0, 1], classes=[0]), Lane(1, classes=[1])]), Stage()],
      stage_names=["first", "second"], n_classes=2, cls=[0, 1],
      arrival=[0.0, 30.0],
      service=[[10.0, 10.0, 5.0], [40.0, 40.0, 5.0]],
      expected=[Row([Visit(A, 0.0, 60.0, 70.0), Visit(2, 70.0, 70.0, 75.0)], exit=75.0),
                Row([Visit(B, 30.0, 30.0, 70.0), Visit(2, 70.0, 75.0, 80.0)], exit=80.0)])
def completions_by_traveller_index() -> None:
    """Two completions at t=70 are handled by traveller index, not by when they began.

    Stage "first": lane A admits class 0 and is closed in hour 0 (1 server from 60),
    lane B admits class 1 (1 server). Traveller 0 (class 0) arrives at 0 and waits in the
    closed lane A (its only lane) until it opens at 60, served 60 to 70. Traveller 1
    (class 1) arrives at 30, served in B 30 to 70 (its completion was scheduled first).
    At t=70 traveller 0's completion comes first: it takes the single server of stage
    "second" at 70 (until 75); traveller 1 then queues there and starts at 75.
    """


@case("ties",
      stages=[Stage(lanes=[Lane([1, 0])])],
      arrival=[0.0, 30.0],
      service=[[60.0], [5.0]],
      expected=[Row([Visit(A, 0.0, 0.0, 60.0)], exit=60.0),
                Row([Visit(A, 30.0)])])
def roster_before_completion() -> None:
    """A roster drop and a completion at t=60: the roster change is handled first.

    One lane, 1 server in hour 0 and none after. Traveller 0 is served 0 to 60;
    traveller 1 arrives at 30 and waits. At t=60 the roster first sets 0 servers, then
    traveller 0's completion frees a server but busy (0) is not below 0 on duty, so
    traveller 1 never starts (unfinished). Completion first would have started them.
    """


@case("ties",
      stages=[Stage(lanes=[Lane(1), Lane([0, 1])])],
      arrival=[0.0, 60.0],
      service=[[100.0, 100.0], [5.0, 5.0]],
      expected=[Row([Visit(A, 0.0, 0.0, 100.0)], exit=100.0),
                Row([Visit(B, 60.0, 60.0, 65.0)], exit=65.0)])
def roster_before_arrival() -> None:
    """A roster change and an arrival at t=60: the roster change is handled first.

    Lane A has 1 server all day; lane B is closed in hour 0 and has 1 server from 60.
    Traveller 0 takes A at 0 (B is closed) and is served until 100. At t=60 B opens
    first, so traveller 1 sees A (open, 0 waiting - 0 idle = 0) and B (open, -1) and is
    served in B 60 to 65. Arrival first would have seen B closed and queued in A.
    """


@case("ties",
      stages=[Stage(lanes=[Lane(1), Lane(1)])],
      arrival=[0.0, 1.0, 1.0, 1.0],
      service=[[3.0, 3.0], [4.0, 2.0], [5.0, 7.0], [1.0, 1.0]],
      expected=[Row([Visit(A, 0.0, 0.0, 3.0)], exit=3.0),
                Row([Visit(B, 1.0, 1.0, 3.0)], exit=3.0),
                Row([Visit(A, 1.0, 3.0, 8.0)], exit=8.0),
                Row([Visit(B, 1.0, 3.0, 4.0)], exit=4.0)])
def arrivals_by_traveller_index() -> None:
    """Three arrivals at t=1.0 are handled by index, each seeing what the previous did.

    Lanes A and B, 1 server each. Traveller 0 takes A at 0 (until 3). At t=1.0:
    traveller 1 sees A 0, B -1 and is served in B (1 to 3); traveller 2 sees A 0, B 0
    and queues in A; traveller 3 sees A 1, B 0 and queues in B. At t=3 both servers
    free (completions 0 then 1): traveller 2 starts in A (3 to 8), traveller 3 in B
    (3 to 4).
    """


# --- rosters ------------------------------------------------------------------------------

@case("rosters",
      stages=[Stage(lanes=[Lane([2, 1]), Lane(1)])],
      arrival=[50.0, 55.0, 56.0, 58.0, 62.0],
      service=[[20.0, 20.0], [20.0, 20.0], [30.0, 30.0], [5.0, 5.0], [1.0, 1.0]],
      expected=[Row([Visit(A, 50.0, 50.0, 70.0)], exit=70.0),
                Row([Visit(A, 55.0, 55.0, 75.0)], exit=75.0),
                Row([Visit(B, 56.0, 56.0, 86.0)], exit=86.0),
                Row([Visit(A, 58.0, 75.0, 80.0)], exit=80.0),
                Row([Visit(B, 62.0, 86.0, 87.0)], exit=87.0)])
def roster_drop_while_busy() -> None:
    """Servers going off duty finish the traveller in hand; nobody starts until busy < on duty.

    Lane A has 2 servers in hour 0 and 1 from 60; lane B has 1. Traveller 0 takes A at 50
    (keys A -2, B -1; until 70), traveller 1 A at 55 (A -1, B -1, order; until 75),
    traveller 2 B at 56 (A 0, B -1; until 86), traveller 3 queues in A at 58 (A 0, B 0,
    order). At 60 A drops to 1 server with 2 busy: both finish (70, 75). At 62 traveller 4
    sees A: 1 waiting - max(0, 1 - 2) idle = 1 and B: 0 and queues in B. At 70
    traveller 0 leaves but busy 1 is not below 1 on duty: traveller 3 keeps waiting; at
    75 it starts (until 80). At 86 traveller 4 starts in B (until 87).
    """


@case("rosters",
      stages=[Stage(lanes=[Lane([2, 1]), Lane(1)])],
      arrival=[0.0, 1.0, 2.0, 61.0],
      service=[[100.0, 100.0], [100.0, 100.0], [100.0, 100.0], [1.0, 1.0]],
      expected=[Row([Visit(A, 0.0, 0.0, 100.0)], exit=100.0),
                Row([Visit(A, 1.0, 1.0, 101.0)], exit=101.0),
                Row([Visit(B, 2.0, 2.0, 102.0)], exit=102.0),
                Row([Visit(A, 61.0, 101.0, 102.0)], exit=102.0)])
def idle_is_never_negative() -> None:
    """After a drop leaves a lane with more busy than on duty, its idle count is 0, not negative.

    Lane A: 2 servers in hour 0, 1 from 60; lane B: 1 server. Travellers 0 and 1 take A
    at 0 and 1 (keys A -2 then -1 vs B -1, order), traveller 2 takes B at 2; all serve
    100. At 60 A drops to 1 server with 2 busy. At 61 traveller 3 sees A: 0 waiting -
    max(0, 1 - 2) = 0 and B: 0 - 0 = 0, ties, and picks A by order (a negative idle would
    rank A 1 and send it to B). A frees a server at 100 but busy 1 is not below 1; at 101
    busy is 0 and traveller 3 starts (until 102).
    """


# --- lanes --------------------------------------------------------------------------------

@case("lanes",
      stages=[Stage(lanes=[Lane(1), Lane(3)])],
      arrival=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
      service=[[10.0, 10.0]] * 6,
      expected=[Row([Visit(B, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(B, 0.1, 0.1, 10.1)], exit=10.1),
                Row([Visit(A, 0.2, 0.2, 10.2)], exit=10.2),
                Row([Visit(B, 0.3, 0.3, 10.3)], exit=10.3),
                Row([Visit(A, 0.4, 10.2, 20.2)], exit=20.2),
                Row([Visit(B, 0.5, 10.0, 20.0)], exit=20.0)])
def lowest_waiting_minus_idle_then_order() -> None:
    """Lane choice is the lowest (closed, waiting - idle, order).

    Lane A has 1 server, B 3; all services 10. Keys (A, B) seen on arrival: t=0 (-1, -3)
    -> B; 0.1 (-1, -2) -> B; 0.2 (-1, -1) -> A by order; 0.3 (0, -1) -> B; 0.4 (0, 0)
    -> A, queued; 0.5 (1, 0) -> B, queued. Traveller 5 starts in B when traveller 0
    leaves (10.0), traveller 4 in A when traveller 2 leaves (0.2 + 10 = 10.2).
    """


@case("lanes",
      stages=[Stage(lanes=[Lane([0, 1]), Lane(1)])],
      arrival=[0.0, 1.0, 2.0, 3.0],
      service=[[30.0, 30.0], [5.0, 5.0], [5.0, 5.0], [5.0, 5.0]],
      expected=[Row([Visit(B, 0.0, 0.0, 30.0)], exit=30.0),
                Row([Visit(B, 1.0, 30.0, 35.0)], exit=35.0),
                Row([Visit(B, 2.0, 35.0, 40.0)], exit=40.0),
                Row([Visit(B, 3.0, 40.0, 45.0)], exit=45.0)])
def closed_lane_ranks_last() -> None:
    """A lane with no server on duty is skipped however long the open lanes' queues.

    Lane A is closed in hour 0 (1 server from 60); lane B has 1 server. Every traveller
    picks B: traveller 3 at t=3 sees A (closed, 0 - 0 = 0) and B (open, 2 waiting - 0
    idle = 2); being closed outranks the shorter queue. B serves them one after another
    (0-30, 30-35, 35-40, 40-45).
    """


@case("lanes",
      stages=[Stage(lanes=[Lane(1, classes=[0]), Lane(1)])],
      n_classes=2, cls=[1, 1, 0, 1],
      arrival=[0.0, 1.0, 2.0, 3.0],
      service=[[10.0, 10.0], [10.0, 10.0], [10.0, 10.0], [10.0, 10.0]],
      expected=[Row([Visit(B, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(B, 1.0, 10.0, 20.0)], exit=20.0),
                Row([Visit(A, 2.0, 2.0, 12.0)], exit=12.0),
                Row([Visit(B, 3.0, 20.0, 30.0)], exit=30.0)])
def class_restricted_lanes() -> None:
    """Only lanes admitting the traveller's class are considered.

    Lane A admits class 0 only (an e-gate), lane B all; 1 server each, services 10.
    Class-1 travellers 0, 1 and 3 all use B even though A is idle (key -1) when they
    arrive at 0 and 1: 0 is served at once, 1 and 3 queue (10-20, 20-30). The class-0
    traveller 2 sees A -1 and B 1 and is served in A at 2 (until 12).
    """


# --- flushing -----------------------------------------------------------------------------

@case("flushing",
      stages=[Stage(lanes=[Lane(1), Lane(1)], flush_above=1), Stage()],
      stage_names=["primary", "booth"],
      arrival=[0.0, 1.0, 2.0, 3.0, 4.0],
      service=[[10.0, 10.0, 1.0]] * 5,
      expected=[Row([Visit(A, 0.0, 0.0, 10.0), Visit(2, 10.0, 10.0, 11.0)], exit=11.0),
                Row([Visit(B, 1.0, 1.0, 11.0), Visit(2, 11.0, 11.0, 12.0)], exit=12.0),
                Row([Visit(A, 2.0, 10.0, 20.0), Visit(2, 20.0, 20.0, 21.0)], exit=21.0),
                Row([Visit(B, 3.0, 11.0, 21.0), Visit(2, 21.0, 21.0, 22.0)], exit=22.0),
                Row([flushed(4.0), Visit(2, 4.0, 4.0, 5.0)], exit=5.0)])
def flush_above_k_waiting() -> None:
    """With ``flush_above: 1`` a traveller finding 2 waiting (all lanes) is waved through.

    Primary: lanes A and B, 1 server each, services 10; booth: 1 server, services 1.
    Travellers 0 and 1 are served at once (A 0-10, B 1-11). Traveller 2 (t=2) finds 0
    waiting and queues in A; traveller 3 (t=3) finds 1 waiting (not more than 1) and
    queues in B. Traveller 4 (t=4) finds 2 waiting, one per lane: flushed (lane -2, no
    service) and goes straight to the booth (4-5). The others pass the booth as they
    finish primary: 10-11; at 11 traveller 0's booth completion comes before traveller
    1's primary completion, so 1 is served 11-12; 2 at 20-21; at 21 traveller 2 leaves
    the booth before traveller 3 arrives there, so 3 is served 21-22.
    """


# --- referral -----------------------------------------------------------------------------

@case("referral",
      stages=[Stage(), Stage(referred=True)],
      stage_names=["primary", "secondary"],
      arrival=[0.0, 2.0, 4.0, 6.0, 8.0],
      service=[[1.0, 100.0]] * 5,
      refer=[False, False, False, False, True],
      queue_rule=QueueRule(score=[0.6, 0.5, 1.4, 1.5, -1e9], threshold=0.5, per_waiting=1.0),
      expected=[Row([Visit(0, 0.0, 0.0, 1.0), Visit(1, 1.0, 1.0, 101.0)], exit=101.0,
                    referred=True, threshold=0.5),
                Row([Visit(0, 2.0, 2.0, 3.0), Visit(1, 3.0, 101.0, 201.0)], exit=201.0,
                    referred=True, threshold=0.5),
                Row([Visit(0, 4.0, 4.0, 5.0), SKIP], exit=5.0, threshold=1.5),
                Row([Visit(0, 6.0, 6.0, 7.0), Visit(1, 7.0, 201.0, 301.0)], exit=301.0,
                    referred=True, threshold=1.5),
                Row([Visit(0, 8.0, 8.0, 9.0), Visit(1, 9.0, 301.0, 401.0)], exit=401.0,
                    referred=True, threshold=2.5)])
def queue_aware_threshold() -> None:
    """Referred if score >= 0.5 + 1.0 * waiting at secondary, OR-ed with the static choice.

    Primary serves everyone in 1 minute (arrivals 0, 2, 4, 6, 8), so travellers reach
    secondary (1 server, services 100) at 1, 3, 5, 7, 9. Traveller 0: 0 waiting,
    threshold 0.5, score 0.6 -> referred, served 1-101. Traveller 1: 0 waiting (0 is in
    service, not waiting), threshold 0.5, score 0.5 -> referred (>=), queued. Traveller
    2: 1 waiting, threshold 1.5, score 1.4 -> not referred, leaves at 5. Traveller 3:
    1 waiting, threshold 1.5, score 1.5 -> referred, queued. Traveller 4: 2 waiting,
    threshold 2.5 recorded, score far below but statically referred. Secondary then
    serves 1 at 101-201, 3 at 201-301, 4 at 301-401.
    """


@case("referral",
      stages=[Stage(), Stage(referred=True), Stage(), Stage(referred=True)],
      stage_names=["primary", "secondary", "customs", "search"],
      arrival=[0.0, 1.0, 2.0],
      service=[[1.0, 10.0, 1.0, 2.0]] * 3,
      queue_rule=QueueRule(score=[0.0, 0.0, 0.0], threshold=0.0, per_waiting=0.5),
      expected=[Row([Visit(0, 0.0, 0.0, 1.0), Visit(1, 1.0, 1.0, 11.0),
                     Visit(2, 11.0, 11.0, 12.0), Visit(3, 12.0, 12.0, 14.0)],
                    exit=14.0, referred=True, threshold=0.0),
                Row([Visit(0, 1.0, 1.0, 2.0), Visit(1, 2.0, 11.0, 21.0),
                     Visit(2, 21.0, 21.0, 22.0), Visit(3, 22.0, 22.0, 24.0)],
                    exit=24.0, referred=True, threshold=0.0),
                Row([Visit(0, 2.0, 2.0, 3.0), SKIP, Visit(2, 3.0, 3.0, 4.0), SKIP],
                    exit=4.0, threshold=0.5)])
def referral_settled_once() -> None:
    """The rule is applied at the first referred stage only; later ones reuse the decision.

    Stages primary, secondary (referred), customs, search (referred), 1 server each.
    Rule: score 0 >= 0 + 0.5 * waiting. Traveller 0 reaches secondary at 1 with 0
    waiting (threshold 0, referred; 1-11), customs 11-12, search 12-14. Traveller 1
    reaches secondary at 2 with 0 waiting (threshold 0, referred), waits until 11 (11-21),
    customs 21-22, search 22-24. Traveller 2 reaches secondary at 3 with 1 waiting
    (threshold 0.5): not referred, so it skips secondary, passes customs 3-4 and skips
    search, leaving at 4 (it is not re-decided at search).
    """


# --- stages -------------------------------------------------------------------------------

@case("stages",
      stages=[Stage(), Stage(referred=True), Stage(referred=True), Stage()],
      stage_names=["primary", "secondary", "search", "exit"],
      arrival=[0.0, 0.0, 10.0],
      refer=[True, False, True],
      service=[[2.0, 3.0, 4.0, 1.0], [2.0, 3.0, 4.0, 1.0], [2.0, 3.0, 4.0, 1.0]],
      expected=[Row([Visit(0, 0.0, 0.0, 2.0), Visit(1, 2.0, 2.0, 5.0),
                     Visit(2, 5.0, 5.0, 9.0), Visit(3, 9.0, 9.0, 10.0)],
                    exit=10.0, referred=True),
                Row([Visit(0, 0.0, 2.0, 4.0), SKIP, SKIP, Visit(3, 4.0, 4.0, 5.0)],
                    exit=5.0),
                Row([Visit(0, 10.0, 10.0, 12.0), Visit(1, 12.0, 12.0, 15.0),
                     Visit(2, 15.0, 15.0, 19.0), Visit(3, 19.0, 19.0, 20.0)],
                    exit=20.0, referred=True)])
def referred_stages_in_order() -> None:
    """Stages are visited in order; ``visits: referred`` ones by referred travellers only.

    Four stages, 1 server each (services 2, 3, 4, 1). Travellers 0 and 1 arrive at 0:
    0 is served at primary 0-2, then secondary 2-5, search 5-9, exit 9-10. Traveller 1
    (not referred) waits at primary until 2 (2-4), passes both referred stages at once
    (no entry, lane -1) and is served at exit 4-5. Traveller 2 (referred, arriving at
    10) walks through all four: 10-12, 12-15, 15-19, 19-20.
    """


# --- horizon ------------------------------------------------------------------------------

@case("horizon",
      stages=[Stage(lanes=[Lane(2)])],
      horizon=10.0,
      arrival=[1.0, 2.0, 3.0, 4.0, 10.0, 12.0],
      service=[[5.0], [8.0], [100.0], [1.0], [1.0], [1.0]],
      expected=[Row([Visit(A, 1.0, 1.0, 6.0)], exit=6.0),
                Row([Visit(A, 2.0, 2.0)]),
                Row([Visit(A, 3.0, 6.0)]),
                Row([Visit(A, 4.0)]),
                Row([SKIP]),
                Row([SKIP])])
def events_at_horizon_unhandled() -> None:
    """With no drain, nothing at or after the horizon (t=10) is handled; those inside are
    unfinished.

    One lane with 2 servers. Traveller 0 is served 1-6 and leaves. Traveller 1 starts at
    2 and would end at 2 + 8 = 10, the horizon: no end, no exit. Traveller 2 waits from 3
    and starts at 6 (traveller 0 left), still in service at the horizon. Traveller 3
    waits from 4 and never starts. Travellers 4 (arriving at exactly 10) and 5 (12) have
    no trace at all.
    """


# --- outages ------------------------------------------------------------------------------

@case("outages",
      stages=[Stage()],
      outages=[(A, 10.0, 20.0, False)],
      arrival=[0.0, 5.0, 12.0],
      service=[[15.0], [2.0], [1.0]],
      expected=[Row([Visit(A, 0.0, 0.0, 15.0)], exit=15.0),
                Row([Visit(A, 5.0, 20.0, 22.0)], exit=22.0),
                Row([Visit(A, 12.0, 22.0, 23.0)], exit=23.0)])
def outage_finishes_the_traveller_in_hand() -> None:
    """An outage without pre-emption: the traveller in hand is finished, nobody starts.

    One server; outage 10 to 20. Traveller 0 is served 0 to 15 (through the outage's
    start). Traveller 1 arrives at 5 and waits; at 15 the server is free but none is on
    duty, so they start when it ends, 20 to 22. Traveller 2 arrives at 12 (the only lane
    is closed, they wait there) and is served 22 to 23.
    """


@case("outages",
      stages=[Stage(lanes=[Lane([2, 1])])],
      outages=[(A, 10.0, 70.0, True)],
      arrival=[0.0, 1.0, 2.0],
      service=[[30.0], [30.0], [1.0]],
      expected=[Row([Visit(A, 0.0, 70.0, 100.0)], exit=100.0),
                Row([Visit(A, 1.0, 100.0, 130.0)], exit=130.0),
                Row([Visit(A, 2.0, 130.0, 131.0)], exit=131.0)])
def preempted_travellers_return_to_the_head_and_start_over() -> None:
    """A pre-empting outage sends those in service back to the head of the queue.

    One lane, 2 servers in hour 0 and 1 from 60; outage 10 to 70 with ``preempt``.
    Travellers 0 and 1 start at 0 and 1 (30 minutes each); traveller 2 arrives at 2 and
    waits. At 10 both are pre-empted and the queue becomes 0, 1, 2 (earliest start
    first, ahead of those waiting). At 70 one server is on duty: traveller 0 starts over
    with their full 30 minutes (70 to 100), then traveller 1 (100 to 130), then
    traveller 2 (130 to 131).
    """


@case("outages",
      stages=[Stage(lanes=[Lane(1), Lane(1)])],
      outages=[(A, 0.0, 30.0, False)],
      arrival=[0.0, 5.0, 40.0],
      service=[[10.0, 10.0], [10.0, 10.0], [1.0, 1.0]],
      expected=[Row([Visit(B, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(B, 5.0, 10.0, 20.0)], exit=20.0),
                Row([Visit(A, 40.0, 40.0, 41.0)], exit=41.0)])
def a_lane_in_an_outage_ranks_as_closed() -> None:
    """Lane choice treats a lane in an outage as closed.

    Lanes A and B, one server each; A is out from 0 to 30. Traveller 0 takes B at 0.
    Traveller 1 at 5 sees A closed (ranked last though its key, 0 - 0, beats B's 0 + 0
    only by order) and queues in B, served 10 to 20. At 40 both are open and idle;
    traveller 2 takes A by order.
    """


# --- slowdowns ----------------------------------------------------------------------------

@case("slowdowns",
      stages=[Stage()],
      slowdowns=[(A, 1.0, 11.0, 3.0)],
      arrival=[0.0, 1.0, 10.0, 11.0],
      service=[[2.0], [2.0], [2.0], [2.0]],
      expected=[Row([Visit(A, 0.0, 0.0, 2.0)], exit=2.0),
                Row([Visit(A, 1.0, 2.0, 8.0)], exit=8.0),
                Row([Visit(A, 10.0, 10.0, 16.0)], exit=16.0),
                Row([Visit(A, 11.0, 16.0, 18.0)], exit=18.0)])
def slowdown_applies_to_services_starting_in_the_window() -> None:
    """Service times x factor for travellers *starting* service in [from, to).

    D/D/1 with 2-minute services; slowdown x3 from 1 to 11. Traveller 0 starts at 0
    (before it): 0 to 2. Traveller 1 arrives at 1 and starts at 2 (inside): 2 to 8.
    Traveller 2 starts on arrival at 10 (inside): 10 to 16. Traveller 3 arrives at 11
    (inside) but starts at 16 (after): 16 to 18.
    """


# --- reserve ------------------------------------------------------------------------------

@case("reserve",
      stages=[Stage(reserve=(1, 1, 1, 5.0))],
      arrival=[0.0, 0.0, 0.0, 0.0],
      service=[[10.0], [10.0], [10.0], [10.0]],
      reserve_minutes=[15.0],
      expected=[Row([Visit(A, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(A, 0.0, 5.0, 15.0)], exit=15.0),
                Row([Visit(A, 0.0, 10.0, 20.0)], exit=20.0),
                Row([Visit(A, 0.0, 15.0, 25.0)], exit=25.0)])
def reserve_officer_called_joins_and_leaves() -> None:
    """One reserve officer (open_above 1, close_below 1, call_in 5) worked by hand.

    One server, four travellers at 0, 10 minutes each. Traveller 0 starts; traveller 1
    waits (1 waiting, not above 1); traveller 2 waits (2 > 1): an officer is called, due
    at 5; traveller 3 waits (one is already on the way). At 5 the officer opens a
    booth: traveller 1 starts, 5 to 15 (1 still waits, but the one reserve officer is
    serving). At 10 traveller 0 ends; 2 wait (not below 1), nobody leaves; traveller 2
    starts, 10 to 20. At 15 traveller 1 ends; 1 waits, nobody leaves; traveller 3 starts,
    15 to 25. At 20 traveller 2 ends with 0 waiting (below 1): the officer leaves.
    Reserve officer-minutes: 20 - 5 = 15.
    """


@case("reserve",
      stages=[Stage(lanes=[Lane(1), Lane(1)], reserve=(2, 0, 0, 2.0), booths=3)],
      arrival=[0.0, 0.0, 0.0, 3.0],
      service=[[10.0, 10.0]] * 4,
      horizon=30.0,
      reserve_minutes=[28.0],
      expected=[Row([Visit(A, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(B, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(A, 0.0, 2.0, 12.0)], exit=12.0),
                Row([Visit(A, 3.0, 10.0, 20.0)], exit=20.0)])
def reserve_officer_needs_a_free_booth() -> None:
    """Reserve (2 officers, open_above 0, close_below 0, call_in 2) with 3 booths.

    Lanes A and B, one server each. At 0 travellers 0 and 1 take A and B; traveller 2
    queues in A (keys 0, 0: A by order): 1 waiting > 0, an officer is called, due at 2.
    At 2 the officer takes A (most waiting; 2 servers on duty < 3 booths): traveller 2
    starts, 2 to 12; nobody waits, no new call. Traveller 3 arrives at 3: keys A 0 (two
    busy), B 0: A by order; 1 waiting > 0: a call, due at 5. At 5 the stage has 3
    servers on duty, no booth: the officer goes home; though 1 still waits, nobody
    joins a queue after, so nobody is called again. At 10 travellers 0 and 1 end
    (nobody leaves: close_below 0); traveller 3 starts in A, 10 to 20. The one officer
    serves from 2 to the horizon, 30: 28 officer-minutes.
    """


@case("reserve",
      stages=[Stage(lanes=[Lane(1, classes=[0]), Lane(1, classes=[1])], reserve=(1, 1, 0, 1.0))],
      n_classes=2, cls=[1, 1, 1],
      arrival=[0.0, 0.0, 0.0],
      service=[[5.0, 5.0]] * 3,
      horizon=20.0,
      reserve_minutes=[19.0],
      expected=[Row([Visit(B, 0.0, 0.0, 5.0)], exit=5.0),
                Row([Visit(B, 0.0, 1.0, 6.0)], exit=6.0),
                Row([Visit(B, 0.0, 5.0, 10.0)], exit=10.0)])
def reserve_officer_joins_the_lane_with_most_waiting() -> None:
    """The officer opens a booth in the lane with the most travellers waiting.

    Lane A admits class 0, lane B class 1; three class-1 travellers at 0 (5 minutes).
    Traveller 0 starts in B; 1 and 2 wait there (2 > open_above 1): a call, due at 1.
    At 1 lane B has 2 waiting, A none: the officer joins B and traveller 1 starts, 1 to
    6. Traveller 0 ends at 5 (close_below 0: nobody leaves); traveller 2 starts, 5 to
    10. The officer stays to the horizon: 19 officer-minutes.
    """


@case("reserve",
      stages=[Stage(lanes=[Lane(1), Lane(1)], reserve=(1, 1, 0, 1.0))],
      arrival=[0.0, 0.0, 0.0, 0.0],
      service=[[10.0, 10.0]] * 4,
      horizon=30.0,
      reserve_minutes=[29.0],
      expected=[Row([Visit(A, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(B, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(A, 0.0, 1.0, 11.0)], exit=11.0),
                Row([Visit(B, 0.0, 10.0, 20.0)], exit=20.0)])
def reserve_officer_tie_goes_to_the_first_lane() -> None:
    """Lanes with equally many waiting: the officer joins the first listed.

    Lanes A and B, one server each; four travellers at 0 (10 minutes). Travellers 0 and
    1 take A and B; traveller 2 queues in A (keys 0, 0: A by order), traveller 3 in B
    (keys A 1, B 0); 2 waiting > 1: an officer is called, due at 1. At 1 both lanes
    have 1 waiting: the officer joins A, traveller 2 starts 1 to 11. Traveller 3 starts
    in B when traveller 1 ends, 10 to 20. The officer stays (close_below 0): 29 minutes.
    """


@case("reserve",
      stages=[Stage(reserve=(2, 0, 0, 0.0), booths=1)],
      arrival=[0.0, 0.0, 1.0],
      service=[[10.0]] * 3,
      horizon=30.0,
      reserve_minutes=[0.0],
      expected=[Row([Visit(A, 0.0, 0.0, 10.0)], exit=10.0),
                Row([Visit(A, 0.0, 10.0, 20.0)], exit=20.0),
                Row([Visit(A, 1.0, 20.0)])])
def reserve_officer_without_a_booth_is_not_called_again_at_once() -> None:
    """An officer who finds no booth goes home; only the next traveller joining calls again.

    One server, one booth; reserve of 2 with open_above 0 and call_in 0. Traveller 1
    queues at 0 (1 > 0): an officer is called, due at 0 at once. No booth is free: home.
    Re-calling then would loop at t = 0 forever; nobody is called until traveller 2
    joins at 1: called, at 1 no booth, home again. Service is the roster's alone: 0 to
    10, 10 to 20, 20 to 30 (that end is at the horizon: not reached). No officer-minutes.
    """


# --- drain --------------------------------------------------------------------------------

@case("drain",
      stages=[Stage(lanes=[Lane(2)])],
      warmup=2.0, horizon=10.0, drain=50.0,
      arrival=[1.0, 3.0, 8.0, 12.0, 18.0],
      service=[[30.0], [4.0], [9.0], [2.0], [1.0]],
      expected=[Row([Visit(A, 1.0, 1.0)]),
                Row([Visit(A, 3.0, 3.0, 7.0)], exit=7.0),
                Row([Visit(A, 8.0, 8.0, 17.0)], exit=17.0),
                Row([Visit(A, 12.0, 17.0)]),
                Row([SKIP])])
def drain_until_counted_travellers_leave() -> None:
    """Past the horizon (t=10) the run goes on only while a counted traveller is inside.

    Warm-up 2, horizon 10, drain cap 50 (run end 60); one lane with 2 servers. Traveller
    0 arrives in the warm-up (not counted) and is served from 1, to end at 31. Traveller 1
    (counted) is served 3-7. Traveller 2 (counted) starts at 8 on the server 1 freed and
    would leave at 17, so the run goes on past 10. Traveller 3 arrives at 12, after the
    counted window (not counted, but handled: a counted traveller is inside) and waits.
    At 17 traveller 2's completion is handled: traveller 3 starts in the freed server and
    traveller 2 leaves; nobody counted is inside now. The next event, traveller 4's
    arrival at 18, is not handled and the run ends: traveller 3 has no end, traveller 0
    (a warm-up traveller, who never holds the run open) no end, traveller 4 no trace.
    """


@case("drain",
      stages=[Stage(lanes=[Lane(1)])],
      horizon=10.0, drain=5.0,
      arrival=[1.0, 2.0, 3.0, 12.0, 16.0],
      service=[[6.0], [6.0], [6.0], [1.0], [1.0]],
      expected=[Row([Visit(A, 1.0, 1.0, 7.0)], exit=7.0),
                Row([Visit(A, 2.0, 7.0, 13.0)], exit=13.0),
                Row([Visit(A, 3.0, 13.0)]),
                Row([Visit(A, 12.0)]),
                Row([SKIP])])
def drain_cap_ends_the_run() -> None:
    """The drain cap (run end = horizon 10 + 5 = 15) ends the run with counted travellers
    inside: they are unfinished and their waits are known only as lower bounds.

    One lane, 1 server, services 6. Travellers 0-2 (counted) are served 1-7, 7-13 and
    from 13; traveller 2 would end at 19, at or after the run end 15: no end, no exit.
    Traveller 3 arrives at 12 (after the window; handled, traveller 2 is inside) and
    waits, never starting. Traveller 4 arrives at 16, after the run end: no trace.
    """
