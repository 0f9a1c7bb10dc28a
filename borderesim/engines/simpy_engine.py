"""The reference engine: SimPy processes replaying sampled inputs through the crossing.

The semantics it implements (as does the fast engine, traveller by traveller) are
stated once, in the docstring of ``borderesim/testing/semantics.py``; the hand-computed
cases in ``borderesim/testing/cases.py`` pin each rule on every engine. In this engine
the tie order is the events' SimPy priority: roster changes ``ROSTER_PRIORITY``,
completions ``2 + i``, arrivals ``2 + n + i``. The run ends ([drain]) at the first such
event at or after the horizon met with no counted traveller inside, or at
``plan.run_end``: that event's handler sets ``over`` and triggers ``stop``, the event
``env.run`` waits for; every handler does nothing once ``over`` is set.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import simpy
from simpy.events import Event

from ..plan import Plan
from ..sampling import Inputs
from ..targeting import PythonRule
from ..trace import FLUSHED, Trace

ROSTER_PRIORITY = 1
"""Event priority of roster changes; completions use ``2 + i``, arrivals ``2 + n + i``."""


def timed(env: simpy.Environment, delay: float, priority: int) -> Event:
    """A timeout that fires after ``delay`` minutes with an explicit tie-break ``priority``."""
    event = Event(env)
    event._ok = True
    event._value = None
    env.schedule(event, priority, delay)
    return event


class Lane:
    """A FIFO queue in front of a changeable number of servers.

    State changes happen at once when called; the returned event only wakes the
    traveller when service starts. A deque keeps thousands waiting cheap.
    """

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env = env
        self.capacity = capacity
        self.busy = 0
        self.queue: deque[Event] = deque()

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

    def set_capacity(self, capacity: int) -> None:
        self.capacity = capacity
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
        self.lanes = [Lane(self.env, plan.capacity(lane, 0.0)) for lane in range(plan.n_lanes)]
        self.trace = Trace.empty(plan.n_stages, inputs.n, inputs.refer)
        self.decided = np.zeros(inputs.n, dtype=bool)
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
            self.env.process(self.traveller(i))

    def roster(self):
        plan = self.plan
        hour = 1
        while hour * 60.0 < plan.run_end:
            yield timed(self.env, hour * 60.0 - self.env.now, ROSTER_PRIORITY)
            if self.ended():
                return
            for lane_index, lane in enumerate(self.lanes):
                lane.set_capacity(int(plan.roster[lane_index, hour % 24]))
            hour += 1

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
            yield self.lanes[lane].request()
            trace.start[s, i] = env.now
            yield timed(env, float(self.inputs.service[lane, i]), 2 + i)
            if self.ended():
                return
            self.lanes[lane].release()
            trace.end[s, i] = env.now
        trace.exit[i] = env.now
        self.inside -= int(self.counted[i])


def run(plan: Plan, inputs: Inputs) -> Trace:
    """Replay ``inputs`` through the crossing described by ``plan`` with SimPy."""
    return CrossingModel(plan, inputs).run()
