"""How big a run is, before anything is sampled: travellers, memory and time.

Every random draw of a replication is made up front (``sampling.py``), so a
replication holds arrays of one entry per traveller, per traveller and lane, and per
traveller and stage. Their size is known from the scenario alone: the expected
number of travellers is the integral of the hourly arrival rate over the run. This
module estimates the bytes and seconds a run needs and refuses, with one readable
``ScenarioError`` naming the field to change, what cannot fit in memory.

Memory per traveller and replication (bytes; measured with ``tracemalloc``, which sees
arrays allocated in compiled code too, on one replication of
``simulate.run_replication``, see ``tests/test_trace_memory.py``): kept while the
replication runs, ``28 + 8 * lanes + 26 * stages`` (arrival, exit and P(refer | threat)
times, one-byte class, threat and referral flags; a service time per lane; detection,
a one-byte lane code and three times per stage), 24 more under a queue-aware rule (its
scores and threat means, the thresholds met), plus the KPIs' temporaries at the peak
(``TEMPORARY``: waits and times in the crossing per traveller and per stage; more under
a queue-aware rule; ``TEMPORARY_LEAN`` for a replication bigger than its pooled
percentiles' tails, whose KPIs make one such array at a time: ``metrics._fills``).

The memory a run may use (``memory_cap``) is, unless ``BORDERESIM_MEMORY_LIMIT`` sets
it (bytes, or a number with K, M, G or T, e.g. ``8G``): half the memory the system
reports available, and no more than 90 % of the headroom left under an address-space
limit (``ulimit -v``) when one is set, after ``ADDRESS_RESERVE`` for the engines.
"""

from __future__ import annotations

import math
import os
import re
import resource
import sys
from dataclasses import dataclass

from ..analysis.quantiles import keep_limit, kept_values
from ..errors import ScenarioError
from ..memo import per_object
from ..model.limits import MAX_REPLICATIONS
from ..model.scenario import Scenario
from .plan import is_queue_aware

ENV = "BORDERESIM_MEMORY_LIMIT"
"""Environment variable overriding the memory a run may use (``8G``, ``512M``, bytes)."""
KEPT_BASE, KEPT_PER_LANE, KEPT_PER_STAGE = 28, 8, 26
"""Bytes per traveller a replication keeps: fixed, per lane, per stage."""
KEPT_QUEUE_AWARE = 24
"""Bytes per traveller a queue-aware rule adds to what is kept (``plan.is_queue_aware``)."""
TEMPORARY, TEMPORARY_QUEUE_AWARE = 31, 8
"""Bytes per traveller of temporaries at a replication's peak; more under such a rule."""
TEMPORARY_LEAN = 16
"""``TEMPORARY`` of a replication with more travellers than a tail keeps
(``quantiles.keep_limit``): its KPIs hold one per-traveller array at a time (measured
as ``simulate`` runs it, keeping tails and lane hours: ``tests/test_kpi_memory.py``)."""
RECORDS_FACTOR = 2
"""Keeping traces (``run --out``) holds every replication, and the per-traveller records
written from them need about as much again."""
FAST_US, FAST_US_PER_LANE = 0.3, 0.05
"""Microseconds per traveller of a fast-engine replication (sampling, replay, KPIs)."""
SIMPY_US, SIMPY_US_PER_STAGE = 10.0, 25.0
"""Microseconds per traveller of a SimPy replication."""
WARN_SECONDS = 60.0
"""Runs estimated to take longer than this (on one core) get a warning first."""
ADDRESS_RESERVE = 2**29
"""Address space (bytes) kept for the engines' own libraries under ``ulimit -v``: loading
the compiled kernels maps about 0.3 GiB."""
_SUFFIX = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


@dataclass(frozen=True)
class Budget:
    """The size of a run: ``travellers`` expected per replication, bytes and seconds."""

    travellers: float
    replications: int
    stages: int
    lanes: int
    peak_bytes: float
    """Peak memory the run adds to the process (all workers together)."""
    replication_bytes: float
    """Peak memory of one replication."""
    kept_bytes: float
    """Memory of what a run keeps of every replication: traces for ``--out`` and the
    waits pooled percentiles need (:mod:`borderesim.analysis.quantiles`)."""
    seconds: float
    """Estimated time on one core per worker."""


def expected_travellers(scenario: Scenario) -> float:
    """Expected arrivals sampled per replication: the hourly rate integrated over
    ``[0, run_end)``, the counted run and the drain after it (``Scenario.run_end``), plus
    every surge's travellers."""
    from ..model.events import SurgeEvent, occurrences

    rates = scenario.arrivals.hourly()
    hours = scenario.run_end / 60.0
    whole = math.floor(hours)
    days, rest = divmod(whole, 24)
    surges = sum(o.event.travellers for o in occurrences(scenario.events, scenario.run_end)
                 if isinstance(o.event, SurgeEvent))
    return (days * sum(rates) + sum(rates[:rest]) + rates[rest % 24] * (hours - whole)
            + surges)


def n_lanes(scenario: Scenario) -> int:
    """Lanes of all stages."""
    return sum(len(stage.lane_specs(name)) for name, stage in scenario.stages.items())


def estimate(scenario: Scenario, replications: int | None = None, engine: str = "fast",
             keep_traces: bool = False, workers: int = 1) -> Budget:
    """Memory (bytes) and time (seconds) a run of ``scenario`` needs, before sampling.

    ``engine`` is "fast" or "simpy"; ``keep_traces`` keeps every replication in memory;
    ``workers`` replications run at once, each in its own process. A function of the
    scenario and these alone: made once per scenario object and arguments
    (``borderesim.memo``).
    """
    reps = scenario.replications if replications is None else int(replications)
    args = (reps, engine, bool(keep_traces), int(workers))
    return per_object(scenario, f"budget.estimate{args}",
                      lambda: _estimate(scenario, *args))


def _estimate(scenario: Scenario, reps: int, engine: str, keep_traces: bool,
              workers: int) -> Budget:
    """:func:`estimate`, computed."""
    n = expected_travellers(scenario)
    n_hi = n + 5 * math.sqrt(n)  # a Poisson count rarely exceeds its mean by 5 SDs
    stages, lanes = len(scenario.stages), n_lanes(scenario)
    kept = KEPT_BASE + KEPT_PER_LANE * lanes + KEPT_PER_STAGE * stages
    # surely more travellers than a tail keeps: the KPIs' lean layout (metrics._fills)
    temporary = TEMPORARY_LEAN if n - 5 * math.sqrt(n) > keep_limit(reps) else TEMPORARY
    if is_queue_aware(scenario):
        kept += KEPT_QUEUE_AWARE
        temporary += TEMPORARY_QUEUE_AWARE
    one = n_hi * (kept + temporary)
    kept_bytes = RECORDS_FACTOR * reps * n_hi * kept if keep_traces else 0.0
    # pooled percentiles (overall wait, time in the crossing, each stage's wait) keep
    # every wait of a small replication, the largest quarter of a large one
    kept_bytes += reps * (2 + stages) * 8 * kept_values(math.ceil(n_hi), keep_limit(reps))
    at_once = max(1, min(int(workers), reps))
    if engine == "simpy":
        us = SIMPY_US + SIMPY_US_PER_STAGE * stages
    else:
        us = FAST_US + FAST_US_PER_LANE * lanes
    seconds = n * reps * us * 1e-6 / at_once
    return Budget(n, reps, stages, lanes, at_once * one + kept_bytes, one, kept_bytes, seconds)


def parse_bytes(text: str) -> float:
    """``"8G"``, ``"512 M"``, ``"1e9"`` -> bytes (binary multiples); ``ValueError`` if not."""
    match = re.fullmatch(r"\s*([0-9.]+(?:[eE][0-9]+)?)\s*([KMGTB]?)(?:i?B)?\s*",
                         text.upper())
    if not match:
        raise ValueError(f"cannot read {text!r} as a size (examples: 8G, 512M, 2000000000)")
    value = float(match.group(1)) * _SUFFIX[match.group(2)]
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"must be a positive size, got {text!r}")
    return value


def _proc_kib(path: str, key: str) -> float | None:
    """The value of line ``key:`` of a ``/proc`` file given in kB, in bytes, or None (read
    in one call: a run reads it before it starts)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            text = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
    except OSError:
        return None
    label = b"\n" + key.encode() + b":"
    at = (b"\n" + text).find(label)  # the offset in ``text`` of the line's value
    if at < 0:
        return None
    fields = text[at + len(label) - 1:].split(None, 1)
    try:
        return float(fields[0]) * 1024
    except (IndexError, ValueError):
        return None


def _meminfo(key: str) -> float | None:
    """A ``/proc/meminfo`` value in bytes (Linux), or None."""
    return _proc_kib("/proc/meminfo", key)


def _virtual_size() -> float | None:
    """This process's virtual memory size in bytes (Linux), or None."""
    return _proc_kib("/proc/self/status", "VmSize")


def memory_cap() -> tuple[float, str]:
    """Bytes a run may use, and how that was decided (for messages)."""
    env = os.environ.get(ENV)
    if env:
        try:
            return parse_bytes(env), f"{ENV}={env}"
        except ValueError as exc:
            raise ScenarioError(str(exc), None, ENV) from None
    available = _meminfo("MemAvailable")
    if available is None:
        try:
            available = float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            available = 8.0 * 2**30
    cap, how = 0.5 * available, "half the available memory"
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    used = None if soft == resource.RLIM_INFINITY else _virtual_size()
    if used is not None:
        room = 0.9 * max(0.0, soft - used - ADDRESS_RESERVE)
        if room < cap:
            cap, how = room, "the room left under this process's address-space limit"
    return cap, how


def gib(n_bytes: float) -> str:
    """Bytes in words: "52 GiB", "0.3 GiB"."""
    value = n_bytes / 2**30
    return f"{value:.2g} GiB" if value < 10 or value >= 1e6 else f"{value:,.0f} GiB"


def duration_words(seconds: float) -> str:
    """Seconds in words: "5 min", "3.2 h", "12 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:,.0f} days"


def check(scenario: Scenario, replications: int | None = None, engine: str = "fast",
          keep_traces: bool = False, workers: int = 1, kept_by: str = "--out") -> str | None:
    """Refuse a run that cannot fit in memory; return a warning if it will take minutes.

    Raises ``ScenarioError`` naming the field to change (``arrivals.per_hour`` when one
    replication is too big, ``replications`` when kept traces are, ``--workers`` when
    parallel replications are). ``kept_by`` says in messages why every replication is
    kept. Returns a one-line warning, or ``None``.
    """
    reps = scenario.replications if replications is None else int(replications)
    if reps > MAX_REPLICATIONS:
        raise ScenarioError(f"at most {MAX_REPLICATIONS:,} replications, got {reps:,}", None,
                            "replications")
    b = estimate(scenario, reps, engine, keep_traces, workers)
    cap, how = memory_cap()
    if b.peak_bytes > cap:
        limit = f"at most {gib(cap)} may be used ({how}; set {ENV} to change it)"
        size = f"{b.travellers:.2g} travellers a replication × {b.stages} stage(s), " \
               f"{b.lanes} lane(s)"
        if b.replication_bytes > cap:
            lanes_heavy = KEPT_PER_LANE * b.lanes > KEPT_BASE + TEMPORARY + \
                KEPT_PER_STAGE * b.stages
            field = "stages" if lanes_heavy else "arrivals.per_hour"
            fix = ("fewer lanes" if lanes_heavy
                   else "lower per_hour, duration, warmup or drain_cap")
            raise ScenarioError(f"the run would need ~{gib(b.replication_bytes)} for {size}; "
                                f"{limit}; {fix}", None, field)
        parallel = b.peak_bytes - b.kept_bytes - b.replication_bytes
        if b.kept_bytes >= parallel:
            what = (f"every replication's travellers ({kept_by})" if keep_traces else
                    "every replication's waits (for the pooled percentiles)")
            raise ScenarioError(
                f"keeping {what} would need "
                f"~{gib(b.peak_bytes)} for {size} × {reps:,} replications; {limit}; lower "
                "replications, duration or per_hour"
                + (", or run without --out" if keep_traces and kept_by == "--out" else ""),
                None, "replications")
        raise ScenarioError(
            f"{workers} workers at once would need ~{gib(b.peak_bytes)} ({gib(b.replication_bytes)}"
            f" each, {size}); {limit}; use fewer workers", None, "--workers")
    return slow_warning(b, engine)


def slow_warning(b: Budget, engine: str) -> str | None:
    """A one-line warning when the run ``b`` is estimated to take over ``WARN_SECONDS``."""
    if b.seconds > WARN_SECONDS:
        return (f"this run may take about {duration_words(b.seconds)} "
                f"({b.travellers:.2g} travellers × {b.replications:,} replications, {engine} "
                "engine); lower replications or duration for a quicker look")
    return None


def check_replication(scenario: Scenario) -> None:
    """Refuse to sample one replication that cannot fit in memory (``ScenarioError``)."""
    b = estimate(scenario, 1)
    cap, _ = memory_cap()
    if b.replication_bytes > cap:
        check(scenario, 1)


def announce(message: str) -> None:
    """Print a warning line on stderr now (before a long run starts)."""
    print(f"borderesim: warning: {message}", file=sys.stderr, flush=True)
