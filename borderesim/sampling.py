"""Everything random, drawn before any engine runs.

Each quantity has its own named stream, a child of ``SeedSequence(seed)`` keyed by
the replication number and the stream's name, so changing one knob (a service
mean, a referral rate, a lane) never shifts another stream: comparisons on one seed
see the same travellers (common random numbers). Service times are drawn for every
traveller in every lane, visited or not.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .budget import check_replication
from .plan import Plan
from .scenario import Scenario
from .targeting import DynamicRule, PythonRule, TargetingContext, no_referrals


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` for ``replication`` under ``seed``."""
    key = (int(replication), zlib.crc32(name.encode()))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=key)))


@dataclass(frozen=True)
class Inputs:
    """Sampled travellers of one replication, one entry per traveller in arrival order.

    Times are minutes from the start of the run (00:00 of day one).
    """

    seed: int
    replication: int
    arrival: np.ndarray  # float64[n], sorted
    cls: np.ndarray  # int64[n]: index into the scenario's classes
    threat: np.ndarray  # bool[n]
    service: np.ndarray  # float64[L, n]: service time if served in lane l
    caught: np.ndarray  # bool[S, n]: threat caught if checked at stage s
    refer: np.ndarray  # bool[n]: referred by the strategy whatever the queues
    p_refer_if_threat: np.ndarray  # float64[n]
    dynamic: DynamicRule | PythonRule | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.arrival)


def hourly_segments(rates: list[float], horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Start (minutes) and expected arrivals of each clock-hour segment up to ``horizon``."""
    n_seg = int(np.ceil(horizon / 60))
    starts = np.arange(n_seg) * 60.0
    lengths = np.minimum(starts + 60.0, horizon) - starts
    expected = np.array([rates[h % 24] for h in range(n_seg)]) * lengths / 60.0
    return starts, expected


def sample_arrivals(rates: list[float], horizon: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson arrivals with a piecewise-constant hourly rate, sampled exactly.

    Each clock hour gets a Poisson count with that hour's mean, placed uniformly in
    the hour, so short peaks are never skipped. Returns sorted times in minutes.
    """
    starts, expected = hourly_segments(rates, horizon)
    counts = rng.poisson(expected)
    lengths = np.minimum(starts + 60.0, horizon) - starts
    seg = np.repeat(np.arange(len(starts)), counts)
    times = starts[seg] + rng.random(len(seg)) * lengths[seg]
    return np.sort(times)


def _lane_services(scenario: Scenario) -> list[tuple]:
    return [
        (f"service.{sname}.{lname}", lane.service)
        for sname, stage in scenario.stages.items()
        for lname, lane in stage.lane_specs(sname).items()
    ]


def sample(scenario: Scenario, plan: Plan, seed: int, replication: int) -> Inputs:
    """Draw the travellers of one replication.

    Raises ``ScenarioError`` first if one replication cannot fit in memory (``budget``).
    """
    check_replication(scenario)

    def rng(name: str) -> np.random.Generator:
        return stream(seed, replication, name)

    arrival = sample_arrivals(scenario.arrivals.hourly(), scenario.horizon, rng("arrivals"))
    n = len(arrival)
    shares = np.cumsum([c.share for c in scenario.classes.values()])
    cls = np.minimum(np.searchsorted(shares / shares[-1], rng("classes").random(n), "right"),
                     len(shares) - 1).astype(np.int64)
    prevalence = np.array([c.threat_prevalence for c in scenario.classes.values()])
    threat = rng("threats").random(n) < prevalence[cls]
    service = np.empty((plan.n_lanes, n))
    for lane, (name, dist) in enumerate(_lane_services(scenario)):
        service[lane] = dist.draw(rng(name), n)
    caught = np.empty((plan.n_stages, n), dtype=bool)
    for s, sname in enumerate(plan.stage_names):
        caught[s] = threat & (rng(f"detect.{sname}").random(n) < plan.detect_p[s])
    ctx = TargetingContext(scenario=scenario, arrival=arrival, cls=cls, threat=threat, stream=rng)
    decision = scenario.targeting.decide(ctx) if scenario.targeting else no_referrals(ctx)
    return Inputs(
        seed=seed,
        replication=replication,
        arrival=arrival,
        cls=cls,
        threat=threat,
        service=service,
        caught=caught,
        refer=np.asarray(decision.refer, dtype=bool),
        p_refer_if_threat=np.asarray(decision.p_refer_if_threat, dtype=np.float64),
        dynamic=decision.dynamic,
        extra=dict(decision.extra),
    )
