"""Everything random, drawn before any engine runs.

**Streams (since borderesim 0.2.0).** Every draw is counter-based: a pure function of
the replication's key and a counter, made in compiled code (``run/philox.py``:
Philox4x64-10, bit for bit NumPy's ``numpy.random.Philox``). The key is the first two
64-bit words of ``SeedSequence(seed, spawn_key=(replication,))``; the four counter
words are ``(index, stream, attempt, group)``: ``stream`` is 64 bits of the BLAKE2b
hash of the stream's name, ``group`` is 0 for the profile's travellers and
``(k + 1) * 2**32 + day`` for surge ``k``'s occurrence on ``day``, ``attempt`` counts
rejection attempts (0 otherwise). The streams, per group:

* ``arrivals.count``: piece ``p``'s Poisson count (index ``p``). The pieces are the
  clock hours of the counted window (the last one cut at the horizon), then those of
  the drain after it, so the counts of the window never depend on how far the drain
  is drawn. A surge has one piece of ``travellers`` arrivals, no count drawn.
* ``travellers``: traveller ``j``'s block (index ``j``, numbered across the pieces):
  word 0 places the ``j``-th draw uniformly in its piece (each piece's times are then
  sorted; the ``j``-th traveller in arrival order has the ``j``-th smallest), word 1
  its class (by the cumulative shares), word 2 whether it is a threat (``u <
  prevalence`` of its class).
* ``service.<stage>`` (since 0.3.0; before, one stream a lane): traveller ``i``'s
  service time in each lane of the stage, from word ``i % 4`` of block ``i // 4``, the
  same word for every lane (drawn once: the sampler's speed): lanes of one
  distribution give the traveller the same time, lognormal lanes the same normal. A
  gamma lane draws from ``service.<stage>.gamma`` (block ``i``, one a rejection
  attempt). The model is unchanged (each lane's law is, and a lane's choice never
  depends on the times drawn); roster comparisons on one seed pair about as closely as
  with one stream a lane (``experiments/crn_lanes.py``: the paired differences'
  variance within about 10 % either way, no gain).
* ``detect.<stage>``: whether threat ``i`` is caught if checked there, word ``i % 4``
  of block ``i // 4``.

Only what can be used is drawn, and skipping a draw shifts no other (each is a pure
function of its counter), so common random numbers hold exactly across knobs: a
traveller referred under two referral rates gets the same secondary service time
under both. A service time is drawn only in lanes admitting the traveller's class, and
at a ``visits: referred`` stage only for travellers the strategy refers, or for every
one when a queue-aware rule (``DynamicRule``, ``PythonRule``) may refer them while the
queues move; the other entries of ``Inputs.service`` are NaN. Detection is drawn for
threats only. Strategies draw from NumPy streams of their own (:func:`stream`,
``ctx.stream("targeting.<name>")``; a surge's travellers from
``surge.<k>.<day>.targeting.<name>``, as before 0.2.0).

Arrivals are drawn up to the latest end of the run (``Plan.run_end``) or an earlier
``until``: the travellers up to an earlier ``until`` are the first ones of a later one,
drawn identically (``Inputs.head``, ``run/drain.py``). Surges (``events:``) add
travellers drawn exactly as the others in their own group: the profile's travellers
are drawn first, each surge's separately, and all are then merged by arrival time
(stable: at equal times profile travellers first, then surges in list order). A
traveller's own draws never depend on whether a surge is added.

Since 0.3.0 a lognormal time is exponentiated by ``run/vexp.py`` (the same bits on
every machine), not the C library's ``exp``. Before 0.2.0 every quantity had a NumPy
PCG64 stream and service times were drawn for every traveller in every lane.
:func:`stream`, :func:`sample_arrivals`, :func:`sample_drain` and :func:`_lane_services`
keep that NumPy path for the region runner (``run/region/``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

from ..memo import per_object
from ..model.distributions import GAMMA
from ..model.events import SurgeEvent, occurrences
from ..model.scenario import Scenario
from ..model.targeting import DynamicRule, PythonRule, TargetingContext, no_referrals
from . import pages, philox
from .budget import check_replication
from .pages import keep_freed_memory
from .plan import Plan


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` for ``replication`` under ``seed``: a PCG64 seeded
    by ``SeedSequence(seed, spawn_key=(replication, crc32(name)))``, from the four words
    that seed sequence gives it (:func:`_stream_words`, kept: every run of a scenario asks
    for the same streams). Its draws, and its children (``spawn``), are that seed
    sequence's generator's."""
    seed, replication = int(seed), int(replication)
    return np.random.Generator(np.random.PCG64(
        _Words(_stream_words(seed, replication, name), seed, _spawn_key(replication, name))))


def _spawn_key(replication: int, name: str) -> tuple[int, int]:
    """The ``spawn_key`` of stream ``name``'s seed sequence for ``replication``."""
    return replication, zlib.crc32(name.encode())


@lru_cache(maxsize=4096)
def _stream_words(seed: int, replication: int, name: str) -> np.ndarray:
    """The words ``SeedSequence(seed, spawn_key=(replication, crc32(name)))`` seeds a
    PCG64 with (``generate_state(4, uint64)``), read-only."""
    sequence = np.random.SeedSequence(seed, spawn_key=_spawn_key(replication, name))
    words = sequence.generate_state(4, np.uint64)
    words.flags.writeable = False
    return words


class _Words(ISpawnableSeedSequence):
    """A seed sequence that gives a PCG64 the words it was made with (``_stream_words``):
    the same generator as the ``SeedSequence(seed, spawn_key=key)`` they came from,
    without remaking it (its hashing, ~10 µs, is then paid once per seed, replication and
    stream name). ``spawn`` makes that seed sequence (once per stream: it counts its
    children) and spawns from it."""

    def __init__(self, words: np.ndarray, seed: int, key: tuple[int, int]) -> None:
        self.words, self.seed, self.key = words, seed, key
        self.sequence: np.random.SeedSequence | None = None

    def generate_state(self, n_words: int, dtype: type = np.uint32) -> np.ndarray:
        if n_words != len(self.words) or np.dtype(dtype) != self.words.dtype:
            raise ValueError("a stream's seed words are four uint64 (PCG64's)")
        return self.words

    def spawn(self, n_children: int) -> list[np.random.SeedSequence]:
        if self.sequence is None:
            self.sequence = np.random.SeedSequence(self.seed, spawn_key=self.key)
        return self.sequence.spawn(n_children)


@dataclass(frozen=True)
class Inputs:
    """Sampled travellers of one replication, one entry per traveller in arrival order.

    Times are minutes from the start of the run (00:00 of day one).
    """

    seed: int
    replication: int
    arrival: np.ndarray  # float64[n], sorted
    cls: np.ndarray  # int8[n] (int16 past 127 classes): index into the scenario's classes
    threat: np.ndarray  # bool[n]
    service: np.ndarray  # float64[L, n]: service time if served in lane l (NaN: not drawn)
    caught: np.ndarray  # bool[S, n]: threat caught if checked at stage s
    refer: np.ndarray  # bool[n]: referred by the strategy whatever the queues
    p_refer_if_threat: np.ndarray  # float64[n]
    dynamic: DynamicRule | PythonRule | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.arrival)

    def head(self, m: int) -> Inputs:
        """The first ``m`` travellers (as a shorter drain drawn on the same seed gives)."""
        dyn = self.dynamic
        if isinstance(dyn, DynamicRule):
            dyn = replace(dyn, score=dyn.score[:m], threat_mean=dyn.threat_mean[:m])
        return replace(self, arrival=self.arrival[:m], cls=self.cls[:m],
                       threat=self.threat[:m],
                       service=np.ascontiguousarray(self.service[:, :m]),
                       caught=np.ascontiguousarray(self.caught[:, :m]), refer=self.refer[:m],
                       p_refer_if_threat=self.p_refer_if_threat[:m], dynamic=dyn)


_SMALL = 1 << 20
"""Travellers up to which whole-array temporaries are cheaper than hour-by-hour loops."""


def hourly_segments(
    rates: list[float], horizon: float, start: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Start (minutes) and expected arrivals of each clock-hour piece of ``[start, horizon)``."""
    inner = np.arange(np.floor(start / 60) + 1, np.ceil(horizon / 60)) * 60.0
    starts = np.concatenate([[start], inner[(inner > start) & (inner < horizon)]])
    if not start < horizon:
        starts = starts[:0]
    lengths = np.append(starts[1:], horizon)[:len(starts)] - starts
    hours = (starts // 60).astype(np.int64) % 24
    expected = np.asarray(rates, dtype=float)[hours] * lengths / 60.0
    return starts, expected


def sample_arrivals(
    rates: list[float], horizon: float, rng: np.random.Generator, start: float = 0.0,
    tail: np.ndarray | None = None,
) -> np.ndarray:
    """Poisson arrivals in ``[start, horizon)`` with a piecewise-constant hourly rate.

    Each clock hour gets a Poisson count with that hour's mean, placed uniformly in
    the hour, so short peaks are never skipped. Returns sorted times in minutes,
    followed by ``tail`` if given (one array, no copy of a long run's times).
    """
    starts, expected = hourly_segments(rates, horizon, start)
    counts = rng.poisson(expected)
    lengths = np.append(starts[1:], horizon)[:len(starts)] - starts
    n = int(counts.sum())
    extra = 0 if tail is None else len(tail)
    out = np.empty(n + extra)
    times = rng.random(n, out=out[:n])
    if extra:
        out[n:] = tail
    ends = np.cumsum(counts).tolist()
    hours = list(zip([0, *ends[:-1]], ends, starts.tolist(), lengths.tolist(), strict=True))
    if n <= _SMALL:
        seg = np.repeat(np.arange(len(starts)), counts)
        times *= lengths[seg]
        times += starts[seg]
    # the hours are disjoint and in order, so sorting each hour's times sorts them all
    # (the same values as one global sort, several times faster on a long run); a long
    # run is placed hour by hour too, without hour-indexed temporaries
    for lo, hi, t0, length in hours:
        if n > _SMALL:
            times[lo:hi] *= length
            times[lo:hi] += t0
        if hi - lo > 1:
            times[lo:hi].sort()
    return out


def sample_drain(
    rates: list[float], horizon: float, until: float, rng: np.random.Generator
) -> np.ndarray:
    """Poisson arrivals in the drain ``[horizon, until)``, clock hour by clock hour.

    Each hour's count and then its times are drawn in turn, so the arrivals of the
    first hours do not depend on ``until``: a run may draw the drain only as far as
    it needs (``borderesim.run.drain.replay``). Sorted times in minutes.
    """
    starts, expected = hourly_segments(rates, until, start=horizon)
    ends = np.append(starts[1:], until)[:len(starts)]
    out = [np.zeros(0)]
    for t0, t1, mean in zip(starts, ends, expected, strict=True):
        out.append(np.sort(t0 + rng.random(rng.poisson(mean)) * (t1 - t0)))
    return np.concatenate(out)


def _lane_services(scenario: Scenario) -> list[tuple]:
    return [
        (f"service.{sname}.{lname}", lane.service)
        for sname, stage in scenario.stages.items()
        for lname, lane in stage.lane_specs(sname).items()
    ]


def _service_stream(stage: str, service) -> str:
    """The stream a lane of ``stage`` with distribution ``service`` draws from (since
    0.3.0): ``service.<stage>``, shared by the stage's lanes, or ``service.<stage>.gamma``
    for a gamma distribution (a block a draw, apart from the stage's one-word draws)."""
    return f"service.{stage}.gamma" if service.kind == GAMMA else f"service.{stage}"


@dataclass(frozen=True)
class _Tables:
    """What sampling reads from a scenario alone, the same for every replication
    (:func:`_tables`). Arrays must not be modified (they stay writeable: a read-only
    array would make the compiled functions compile again for it)."""

    rates: tuple[float, ...]  # arrivals per hour, by hour of day
    class_names: tuple[str, ...]
    edges: np.ndarray  # float64[C]: cumulative class shares over their total
    prevalence: np.ndarray  # float64[C]: threat prevalence of each class
    kinds: np.ndarray  # int64[L]: each lane's distribution (``Distribution.kind``)
    params: np.ndarray  # float64[L, P]: its ``params()``, padded
    sizes: np.ndarray  # int64[L]: how many of ``params[l]`` are its own
    sids: np.ndarray  # uint64[L]: stream id of the lane's stage (``_service_stream``)
    detect: np.ndarray  # uint64[S]: stream id of ``detect.<stage>``
    travellers: np.uint64  # stream id of ``travellers``
    count: np.uint64  # stream id of ``arrivals.count``
    cls_like: np.ndarray  # empty, of the classes' type (``class_dtype``)


def _tables(scenario: Scenario) -> _Tables:
    """The :class:`_Tables` of ``scenario``, made once per scenario object (a scenario
    is immutable; a changed one, e.g. by ``--set``, is a new object with its own) and
    dropped when the scenario is garbage-collected (``borderesim.memo``)."""
    def make() -> _Tables:
        classes = list(scenario.classes.values())
        shares = np.cumsum([c.share for c in classes])
        lanes = _lane_services(scenario)
        params = [dist.params() for _, dist in lanes]
        padded = np.zeros((len(lanes), max(map(len, params), default=1)))
        for lane, par in enumerate(params):
            padded[lane, :len(par)] = par
        return _Tables(
            rates=tuple(float(r) for r in scenario.arrivals.hourly()),
            class_names=tuple(scenario.classes),
            edges=shares / shares[-1],
            prevalence=np.array([c.threat_prevalence for c in classes], dtype=np.float64),
            kinds=np.array([int(dist.kind) for _, dist in lanes], dtype=np.int64),
            params=padded,
            sizes=np.array([len(par) for par in params], dtype=np.int64),
            sids=np.array([philox.stream_id(_service_stream(sname, lane.service))
                           for sname, stage in scenario.stages.items()
                           for lane in stage.lane_specs(sname).values()], dtype=np.uint64),
            detect=np.array([philox.stream_id(f"detect.{name}") for name in scenario.stages],
                            dtype=np.uint64),
            travellers=philox.stream_id("travellers"),
            count=philox.stream_id("arrivals.count"),
            cls_like=np.empty(0, dtype=class_dtype(len(classes))))
    return per_object(scenario, "sampling.tables", make)


_CHECKED: ContextVar[Scenario | None] = ContextVar("borderesim_sampling_checked", default=None)


@contextmanager
def budget_checked(scenario: Scenario) -> Iterator[None]:
    """Within this block, :func:`sample` does not re-check that one replication of
    ``scenario`` fits in memory (``budget.check_replication``): the caller has checked
    the whole run (``budget.check``, as ``simulate()`` does before it samples). Any
    other scenario is still checked."""
    token = _CHECKED.set(scenario)
    try:
        yield
    finally:
        _CHECKED.reset(token)


def class_dtype(n_classes: int) -> type:
    """The smallest signed integer type holding class indices ``0..n_classes - 1``."""
    return np.int8 if n_classes <= 127 else np.int16 if n_classes <= 32767 else np.int32


def surge_group(occ_index: int, day: int) -> int:
    """Counter word ``group`` of surge ``occ_index``'s occurrence on ``day``."""
    return ((occ_index + 1) << 32) | day


def sample(
    scenario: Scenario, plan: Plan, seed: int, replication: int, until: float | None = None
) -> Inputs:
    """Draw the travellers of one replication (the profile's and every surge's), arriving
    up to ``until`` minutes (default, and at most, ``plan.run_end``; the counted window
    always).

    Every draw is a function of its counter alone (module docstring), so the travellers
    up to an earlier ``until`` are the first ones of a later one, drawn identically.

    Raises ``ScenarioError`` first if one replication cannot fit in memory (``budget``).
    """
    if _CHECKED.get() is not scenario:
        check_replication(scenario)
    keep_freed_memory()  # the next replication reuses this one's memory (run/pages.py)
    tables = _tables(scenario)
    key = philox.key_of(seed, replication)
    end = plan.run_end if until is None else min(until, plan.run_end)
    starts, lengths, expected, total = _pieces(tables.rates, plan.horizon, end)
    if 8 * total < pages.POPULATE_FROM:  # one compiled call
        drawn = philox.profile(expected, starts, lengths, tables.count, tables.travellers,
                               _ZERO, *key, tables.edges, tables.prevalence, tables.cls_like)
    else:  # the same draws, the arrival times' pages taken at once (pages.empty)
        counts = philox.counts_of(expected, tables.count, _ZERO, *key)
        drawn = _travellers(tables, key, 0, counts, starts, lengths, None,
                            pages.empty(int(counts.sum())))
    groups = [_draw_group(scenario, plan, seed, replication, key, 0, "", drawn)]
    if not scenario.events:
        return groups[0]
    for occ in occurrences(scenario.events, plan.run_end):
        ev = occ.event
        if not isinstance(ev, SurgeEvent):
            continue
        group = surge_group(occ.index, occ.day)
        cls = None if ev.class_ is None else tables.class_names.index(ev.class_)
        drawn = _travellers(tables, key, group, np.array([ev.travellers]),
                            np.array([occ.start]), np.array([float(ev.over)]), cls)
        m = int(np.searchsorted(drawn[0], end, "left"))  # sorted: those before the end
        drawn = tuple(np.ascontiguousarray(a[:m]) for a in drawn)
        groups.append(_draw_group(scenario, plan, seed, replication, key, group,
                                  f"surge.{occ.index}.{occ.day}.", drawn))
    return groups[0] if len(groups) == 1 else merge_inputs(groups)


@lru_cache(maxsize=256)
def _pieces(rates: tuple[float, ...], horizon: float, end: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Start, length (minutes) and expected arrivals of each piece: the clock hours of
    ``[0, horizon)`` (always all of them), then those of ``[horizon, end)``, and the
    expected arrivals of all (kept: every replication of a run asks for the same)."""
    s0, e0 = hourly_segments(list(rates), horizon)
    s1, e1 = hourly_segments(list(rates), end, start=horizon)
    starts, expected = np.concatenate([s0, s1]), np.concatenate([e0, e1])
    lengths = np.append(starts[1:], max(end, horizon))[:len(starts)] - starts
    for a in (starts, lengths, expected):
        a.flags.writeable = False
    return starts, lengths, expected, float(expected.sum())


_ZERO = np.uint64(0)


def _travellers(tables: _Tables, key: tuple, group: int, counts: np.ndarray,
                starts: np.ndarray, lengths: np.ndarray, fixed_class: int | None,
                arrival: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival times (sorted), classes and threats of ``counts[p]`` travellers in each
    piece ``[starts[p], starts[p] + lengths[p])`` (stream ``travellers``; ``tables``:
    the scenario's :func:`_tables`), the times written to ``arrival`` if given."""
    n = int(counts.sum())
    arrival = np.empty(n) if arrival is None else arrival
    cls = np.empty(n, dtype=class_dtype(len(tables.prevalence)))
    threat = np.empty(n, dtype=bool)
    philox.travellers(counts.astype(np.int64, copy=False),
                      starts.astype(np.float64, copy=False),
                      lengths.astype(np.float64, copy=False), tables.travellers,
                      np.uint64(group), *key, tables.edges,
                      -1 if fixed_class is None else fixed_class, tables.prevalence, arrival,
                      cls, threat)
    return arrival, cls, threat


def _draw_group(
    scenario: Scenario, plan: Plan, seed: int, replication: int, key: tuple, group: int,
    prefix: str, drawn: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> Inputs:
    """Targeting, service and detection of travellers arriving at ``arrival`` with
    classes ``cls`` and threats ``threat`` (``drawn``), in counter ``group``; the
    strategy's NumPy streams are named ``prefix + name``."""
    arrival, cls, threat = drawn
    n = len(arrival)
    ctx = TargetingContext(scenario=scenario, arrival=arrival, cls=cls, threat=threat,
                           stream=lambda name: stream(seed, replication, prefix + name))
    decision = scenario.targeting.decide(ctx) if scenario.targeting else no_referrals(ctx)
    refer = np.asarray(decision.refer, dtype=bool)
    tables = _tables(scenario)
    service = pages.empty((plan.n_lanes, n))
    caught = pages.empty((plan.n_stages, n), dtype=bool)
    # one compiled call for every lane and stage; a queue-aware rule may refer anyone
    # when they reach the stage (``everyone``)
    philox.fill_group(tables.kinds, tables.params, tables.sizes, tables.sids, np.uint64(group),
                      *key, plan.eligible, cls, refer, _referred_only(plan),
                      decision.dynamic is not None, service, plan.detect_p, tables.detect,
                      threat, caught)
    return Inputs(
        seed=seed,
        replication=replication,
        arrival=arrival,
        cls=cls,
        threat=threat,
        service=service,
        caught=caught,
        refer=refer,
        p_refer_if_threat=np.asarray(decision.p_refer_if_threat, dtype=np.float64),
        dynamic=decision.dynamic,
        extra=dict(decision.extra),
    )


def _referred_only(plan: Plan) -> np.ndarray:
    """Per lane: only referred travellers visit its stage (made once per plan)."""
    return per_object(plan, "sampling.referred_only",
                      lambda: np.ascontiguousarray(plan.stage_referred[plan.lane_stage]))


def merge_inputs(groups: list[Inputs]) -> Inputs:
    """The travellers of several groups as one, numbered by arrival time (stable by group).

    Per-traveller arrays are concatenated and reordered; a queue-aware rule must be the
    same rule (threshold, per_waiting) in every group, its per-traveller arrays are
    merged likewise (a ``PythonRule`` is asked with each group's own numbering).
    ``extra`` counts are summed.
    """
    order = np.argsort(np.concatenate([g.arrival for g in groups]), kind="stable")
    sizes = np.array([g.n for g in groups])
    bounds = np.concatenate([[0], np.cumsum(sizes)])

    def cat(name: str, axis: int = 0) -> np.ndarray:
        return np.take(np.concatenate([getattr(g, name) for g in groups], axis=axis), order,
                       axis=axis)

    extra: dict[str, float] = {}
    for g in groups:
        for key, value in g.extra.items():
            extra[key] = extra.get(key, 0.0) + value
    return Inputs(
        seed=groups[0].seed,
        replication=groups[0].replication,
        arrival=cat("arrival"),
        cls=cat("cls"),
        threat=cat("threat"),
        service=np.ascontiguousarray(cat("service", axis=1)),
        caught=np.ascontiguousarray(cat("caught", axis=1)),
        refer=cat("refer"),
        p_refer_if_threat=cat("p_refer_if_threat"),
        dynamic=_merge_rules([g.dynamic for g in groups], order, bounds),
        extra=extra,
    )


def _merge_rules(rules: list, order: np.ndarray, bounds: np.ndarray
                 ) -> DynamicRule | PythonRule | None:
    """One queue-aware rule for merged groups (``order``: merged -> concatenated index)."""
    if all(r is None for r in rules):
        return None
    first = rules[0]
    if isinstance(first, DynamicRule):
        if not all(isinstance(r, DynamicRule) and r.threshold == first.threshold
                   and r.per_waiting == first.per_waiting for r in rules):
            raise ValueError("surge travellers got a different queue-aware rule")
        return DynamicRule(score=np.concatenate([r.score for r in rules])[order],
                           threshold=first.threshold, per_waiting=first.per_waiting,
                           threat_mean=np.concatenate([r.threat_mean for r in rules])[order])
    group = np.searchsorted(bounds, order, side="right") - 1

    def decide(i: int, waiting: int) -> bool:
        k = int(group[i])
        return bool(rules[k].decide(int(order[i] - bounds[k]), waiting))

    return PythonRule(decide=decide)
