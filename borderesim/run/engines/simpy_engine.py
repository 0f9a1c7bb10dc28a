"""The reference engine: SimPy processes replaying sampled inputs through the crossing.

The semantics it implements (as does the fast engine, traveller by traveller) are
stated once, in the docstring of ``borderesim/testing/semantics.py``; the hand-computed
cases in ``borderesim/testing/cases.py`` pin each rule on every engine. In this engine
the tie order is the events' SimPy priority: capacity changes (roster hours, outage
edges) ``ROSTER_PRIORITY``, reserve officers arriving at stage ``s``
``reserve_priority(s, S)`` (between 1 and 2), completions ``2 + i``, arrivals ``2 + n + i``.
The run ends ([drain]) at the first such event at or after the horizon met with no
counted traveller inside, or at ``plan.run_end``: that event's handler sets ``over``
and triggers ``stop``, the event ``env.run`` waits for; every handler does nothing
once ``over`` is set.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np
import simpy
from simpy.events import Event

from ...model.targeting import PythonRule
from ..plan import Plan
from ..sampling import Inputs
from ..trace import FLUSHED, Trace, window_pieces

ROSTER_PRIORITY = 1
"""Event priority of roster changes; completions use ``2 + i``, arrivals ``2 + n + i``."""


def reserve_priority(s: int, n_stages: int) -> float:
    """Priority of a reserve officer arriving at stage ``s``: after capacity changes,
    before completions, stages in order."""
    return 1 + (s + 1) / (n_stages + 1)


def timed(env: simpy.Environment, delay: float, priority: int) -> Event:
    """A timeout that fires after ``delay`` minutes with an explicit tie-break ``priority``."""
    event = Event(env)
    event._ok = True
    event._value = None
    env.schedule(event, priority, delay)
    return event


def accrue(row: np.ndarray, officers: int, t0: float, t1: float, warmup: float,
           horizon: float) -> None:
    """Add ``officers`` x the minutes of ``[t0, t1)`` in each clock-hour piece of the
    counted window ``[warmup, horizon)`` to ``row`` (a lane's ``Trace.reserve_duty``)."""
    a, b = max(t0, warmup), min(t1, horizon)
    first = math.floor(warmup / 60)
    while officers > 0 and a < b:
        hour = math.floor(a / 60)
        edge = min(b, (hour + 1) * 60.0)
        row[hour - first] += officers * (edge - a)
        a = edge


class Lane:
    """A FIFO queue in front of a changeable number of servers.

    State changes happen at once when called; the returned event only wakes the
    traveller when service starts. A deque keeps thousands waiting cheap.
    """

    def __init__(self, env: simpy.Environment, level: int, down: bool = False):
        self.env = env
        self.level = level  # rostered servers
        self.down = down  # in an outage: no server at all
        self.reserve = 0  # reserve officers serving here
        self.capacity = 0 if down else level  # servers on duty (kept up to date, not derived
        # on each read: the hot path reads it often)
        self.busy = 0
        self.queue: deque[Event] = deque()
        self.serving: dict[int, float] = {}  # traveller -> service start (minutes)
        self.duty: np.ndarray | None = None  # Trace.reserve_duty's row (with a reserve)
        self.window = (0.0, 0.0)  # the counted window (minutes)
        self.since = 0.0  # since when reserve and down have held

    def accrue(self) -> None:
        """Count the reserve officers' serving minutes up to now (``Trace.reserve_duty``):
        called before the reserve or the outage state changes."""
        if self.duty is not None:
            if not self.down:
                accrue(self.duty, self.reserve, self.since, self.env.now, *self.window)
            self.since = self.env.now

    def _on_duty(self) -> None:
        """Servers on duty: rostered plus reserve, none in an outage."""
        self.capacity = 0 if self.down else self.level + self.reserve

    @property
    def waiting(self) -> int:
        return len(self.queue)

    @property
    def idle(self) -> int:
        return max(0, self.capacity - self.busy)

    def request(self) -> Event:
        event = Event(self.env)
        self.queue.append(event)
        self._fill()
        return event

    def release(self) -> None:
        self.busy -= 1
        self._fill()

    def set_capacity(self, level: int, down: bool) -> None:
        self.accrue()
        self.level, self.down = level, down
        self._on_duty()
        self._fill()

    def add_reserve(self, k: int) -> None:
        """``k`` reserve officers join (+1) or leave (-1)."""
        self.accrue()
        self.reserve += k
        self._on_duty()
        self._fill()

    def _fill(self) -> None:
        while self.queue and self.busy < self.capacity:
            self.busy += 1
            self.queue.popleft().succeed()


class CrossingModel:
    """One replication of the crossing as SimPy processes."""

    def __init__(self, plan: Plan, inputs: Inputs):
        self.plan = plan
        self.inputs = inputs
        self.env = simpy.Environment()
        self.changes = plan.capacity_changes()
        self.lanes = [Lane(self.env, int(self.changes.level[0, lane]),
                           bool(self.changes.down[0, lane])) for lane in range(plan.n_lanes)]
        dyn = inputs.dynamic
        self.trace = Trace.empty(plan.n_stages, inputs.n, inputs.refer, plan.n_lanes,
                                 dynamic=dyn is not None and not isinstance(dyn, PythonRule))
        self.decided = np.zeros(inputs.n, dtype=bool)
        self.procs: dict[int, simpy.Process] = {}
        self.resume: dict[int, Event] = {}
        (self.res_officers, self.res_open, self.res_close, self.res_call,
         self.booths) = plan.reserve_arrays()
        self.res_on = np.zeros(plan.n_stages, dtype=np.int64)  # reserve officers serving
        self.res_pending = np.zeros(plan.n_stages, dtype=bool)  # one called, on the way
        self.reserve_minutes = self.trace.reserve_minutes
        self.has_reserve = bool(self.res_officers.any())
        if self.has_reserve:
            duty = np.zeros((plan.n_lanes, window_pieces(plan.warmup, plan.horizon)))
            self.trace = replace(self.trace, reserve_duty=duty)
            for lane, row in zip(self.lanes, duty, strict=True):
                lane.duty, lane.window = row, (plan.warmup, plan.horizon)
        self.slowed = len(plan.slow_lane) > 0
        self.plain = not (self.slowed or plan.out_preempt.any())  # the service is just a delay
        arrival = inputs.arrival
        self.counted = (arrival >= plan.warmup) & (arrival < plan.horizon)
        self.inside = 0  # counted travellers arrived and not yet left
        self.over = False
        self.stop = Event(self.env)

    def run(self) -> Trace:
        self.env.process(self.arrivals())
        self.env.process(self.roster())
        cap = timed(self.env, max(self.plan.run_end, self.plan.horizon), 0)
        cap.callbacks.append(lambda _: self.end())
        self.env.run(until=self.stop)
        self.reserve_minutes += self.res_on * self.env.now  # officers on duty at the end
        for lane in self.lanes:
            lane.accrue()
        return self.trace

    def end(self) -> None:
        """End the run: no event is handled from now on."""
        if not self.over:
            self.over = True
            self.stop.succeed()

    def ended(self) -> bool:
        """Whether the event being handled comes after the run's end ([drain])."""
        if not self.over and self.inside == 0 and self.env.now >= self.plan.horizon:
            self.end()
        return self.over

    def arrivals(self):
        n = self.inputs.n
        for i, t in enumerate(self.inputs.arrival):
            yield timed(self.env, float(t) - self.env.now, 2 + n + i)
            if self.ended():
                return
            self.inside += int(self.counted[i])
            proc = self.env.process(self.traveller(i))
            if not self.plain:  # a pre-empting outage interrupts the process
                self.procs[i] = proc

    def roster(self):
        """Capacity changes: every hour boundary and outage edge ([rosters], [outages])."""
        ch = self.changes
        for k in range(1, len(ch.times)):
            yield timed(self.env, float(ch.times[k]) - self.env.now, ROSTER_PRIORITY)
            if self.ended():
                return
            for lane_index, lane in enumerate(self.lanes):
                if ch.preempt[k, lane_index]:
                    self.preempt(lane_index)
                lane.set_capacity(int(ch.level[k, lane_index]), bool(ch.down[k, lane_index]))

    def preempt(self, lane_index: int) -> None:
        """[outages] Travellers in service go back to the head of the queue, earliest start
        first (ties by traveller), and will start their service over."""
        lane = self.lanes[lane_index]
        s = int(self.plan.lane_stage[lane_index])
        for i in sorted(lane.serving, key=lambda j: (lane.serving[j], j), reverse=True):
            del lane.serving[i]
            lane.busy -= 1
            event = Event(self.env)
            lane.queue.appendleft(event)
            self.resume[i] = event
            self.trace.start[s, i] = np.nan
            self.procs[i].interrupt()

    def serve(self, q: Lane, lane: int, s: int, i: int):
        """Traveller i's service in ``lane`` (started now), under slowdowns and pre-emption:
        when pre-empted ([outages]) they wait at the head of the queue and start over."""
        env = self.env
        while True:
            q.serving[i] = env.now
            try:
                yield timed(env, self.service_time(lane, i), 2 + i)
                break
            except simpy.Interrupt:  # pre-empted by an outage: back in the queue
                yield self.resume.pop(i)
                self.trace.start[s, i] = env.now
        del q.serving[i]

    def service_time(self, lane: int, i: int) -> float:
        """[slowdowns] Traveller i's service time in ``lane`` starting now (minutes)."""
        d = float(self.inputs.service[lane, i])
        plan, now = self.plan, self.env.now
        for w in range(len(plan.slow_lane)):
            if plan.slow_lane[w] == lane and plan.slow_from[w] <= now < plan.slow_to[w]:
                d = d * float(plan.slow_factor[w])
        return d

    def call_reserve(self, s: int) -> None:
        """[reserve] Call one officer if more than open_above wait and one is free."""
        if (self.res_officers[s] > 0 and not self.res_pending[s]
                and self.res_on[s] < self.res_officers[s]
                and self.waiting_at(s) > self.res_open[s]):
            self.res_pending[s] = True
            event = timed(self.env, float(self.res_call[s]),
                          reserve_priority(s, self.plan.n_stages))  # type: ignore[arg-type]
            event.callbacks.append(lambda _: self.reserve_arrives(s))

    def reserve_arrives(self, s: int) -> None:
        """[reserve] The officer takes a booth in the lane with most waiting (not in an
        outage; ties by order listed) if the stage has a free booth, and the call rule is
        checked again; else the officer goes home."""
        if self.ended():
            return
        self.res_pending[s] = False
        lanes = [ln for ln in self.plan.lanes_of(s) if not self.lanes[ln].down]
        on_duty = sum(self.lanes[ln].level + self.lanes[ln].reserve
                      for ln in self.plan.lanes_of(s))
        if lanes and (self.booths[s] < 0 or on_duty < self.booths[s]):
            best = max(lanes, key=lambda ln: (self.lanes[ln].waiting, -ln))
            self.res_on[s] += 1
            self.reserve_minutes[s] -= self.env.now
            self.lanes[best].add_reserve(1)
            self.call_reserve(s)  # after going home, only a traveller joining calls again

    def waiting_at(self, s: int) -> int:
        return sum(self.lanes[lane].waiting for lane in self.plan.lanes_of(s))

    def is_referred(self, i: int, s: int) -> bool:
        """Settle traveller i's referral on first reaching referred stage s."""
        trace, dyn = self.trace, self.inputs.dynamic
        if not self.decided[i]:
            self.decided[i] = True
            if isinstance(dyn, PythonRule):
                referred = bool(dyn.decide(i, self.waiting_at(s)))
                trace.referred[i] = trace.referred[i] or referred
            elif dyn is not None:
                threshold = dyn.threshold + dyn.per_waiting * self.waiting_at(s)
                trace.threshold[i] = threshold
                trace.referred[i] = trace.referred[i] or dyn.score[i] >= threshold
        return bool(trace.referred[i])

    def choose_lane(self, i: int, s: int) -> int:
        cls = self.inputs.cls[i]
        best, best_key = -1, None
        for lane in self.plan.lanes_of(s):
            if not self.plan.eligible[lane, cls]:
                continue
            q = self.lanes[lane]
            key = (q.capacity == 0, q.waiting - q.idle)
            if best_key is None or key < best_key:
                best, best_key = lane, key
        return best

    def traveller(self, i: int):
        plan, trace, env = self.plan, self.trace, self.env
        for s in range(plan.n_stages):
            if plan.stage_referred[s] and not self.is_referred(i, s):
                continue
            trace.entry[s, i] = env.now
            if plan.flush_above[s] >= 0 and self.waiting_at(s) > plan.flush_above[s]:
                trace.lane[s, i] = FLUSHED
                continue
            lane = self.choose_lane(i, s)
            trace.lane[s, i] = lane
            q = self.lanes[lane]
            request = q.request()
            if self.has_reserve and not request.triggered:
                self.call_reserve(s)
            yield request
            trace.start[s, i] = env.now
            if self.plain:
                yield timed(env, float(self.inputs.service[lane, i]), 2 + i)
            else:
                yield from self.serve(q, lane, s, i)
            if self.ended():
                return
            if q.reserve > 0 and self.waiting_at(s) < self.res_close[s]:
                self.res_on[s] -= 1
                self.reserve_minutes[s] += env.now
                q.add_reserve(-1)  # [reserve] an officer leaves after finishing
            q.release()
            trace.end[s, i] = env.now
        trace.exit[i] = env.now
        self.inside -= int(self.counted[i])


def run(plan: Plan, inputs: Inputs) -> Trace:
    """Replay ``inputs`` through the crossing described by ``plan`` with SimPy."""
    return CrossingModel(plan, inputs).run()
