"""Percentiles of waits: one definition, pooled over replications, with an honest interval.

**Definition.** A KPI such as ``wait_p95`` is the 95th percentile of the waits of *all*
counted travellers, pooled over every replication (and every day of a run). It uses the
inverted-CDF definition: the smallest observed wait ``w`` with at least 95 % of waits
``<= w`` — the ``ceil(0.95 n)``-th smallest of ``n`` waits, with no interpolation — so
"the 95th percentile is at most ``t``" is exactly "at most 5 % of travellers wait longer
than ``t``", which is what a standard "95 % of travellers wait at most X" says.
Averaging per-replication percentiles is *not* that quantity (it is biased low when a
replication's waits are skewed); it survives only in per-replication rows, named
``..._p95_rep``. Every consumer (run, gap, compare, sweeps, hourly KPIs, report,
workshop) computes percentiles through :func:`quantile` or :func:`pooled_quantile`.

**Interval: Woodruff's, with replications as clusters** (Woodruff 1952, JASA 47;
Sitter & Wu 2001, Biometrika 88). Replications are the only independent units: waits
within a day are strongly correlated (a queue that builds up delays everyone behind it),
so an order-statistic interval treating pooled waits as independent is far too narrow.
Each replication ``r`` contributes ``n_r`` waits of which ``a_r`` are at most the pooled
percentile ``ξ``; the share ``Σa / Σn`` has the ratio-estimator standard error over
replications ``se = sqrt(Σ_r (a_r − p n_r)² / (R (R−1))) / mean(n)``, and the interval is
that share's t-interval mapped back through the pooled quantile function::

    [ Q(0.95 − t·se),  Q(0.95 + t·se) ],   t = t(0.975, R − 1)

(asymmetric, like the waits). Why this one: it needs only counts at one value, so a year
of travellers (~10^7 waits a replication) can afford it, and it had the best coverage of
the methods measured on two M(t)/M/c(t) days with exact answers
(:mod:`borderesim.analysis.transient`; ``experiments/quantile_coverage.py``, 200 independent runs
each of R = 5, 10, 20 replications; re-run on 0.2.0's random streams):

==============================  ===========  ===========  ===========
coverage (roster drop / M/M/5)  R = 5        R = 10       R = 20
==============================  ===========  ===========  ===========
Woodruff (this)                 0.88 / 0.93  0.89 / 0.94  0.93 / 0.95
sectioning (Nakayama 2014)      0.88 / 0.82  0.88 / 0.88  0.84 / 0.83
jackknife over replications     0.86 / 0.82  0.89 / 0.89  0.88 / 0.89
bootstrap over replications     0.67 / 0.72  0.81 / 0.85  0.86 / 0.88
old: mean of per-rep p95, t     0.76 / 0.80  0.62 / 0.76  0.36 / 0.67
==============================  ===========  ===========  ===========

(± 0.03–0.05 each, 200 runs.) Every method undercovers with five replications when days
differ a lot (a 96 %-load peak, a roster drop): use ten or more for a percentile. The
old KPI (per-replication percentiles averaged) was 8 % and 13 % below the exact value in
these cases; the pooled estimate is within sampling error of it. Paired differences
(``compare``) use the linearisation behind the same interval: replication ``r``'s
influence on ``ξ`` is ``−(a_r − p n_r) / (mean(n) f)``, with the density ``f`` read off
the interval (``2 t se / width``); a difference is summed influence, paired by
replication (:func:`paired_interval`).

**Memory.** A run keeps at most about :data:`POOL_VALUES` values per pooled KPI over all
its replications (:func:`keep_limit`: that many divided by the replications, at least
:data:`KEEP_FLOOR`). A replication with more waits than its limit (a year of a busy
crossing holds ~10^7) keeps only its largest ones — at most :data:`KEEP_SHARE` of them —
(:class:`Tail`, selected in compiled passes, :mod:`borderesim.analysis.selection`), their
count, and up to
:data:`GRID` evenly ranked order statistics of the waits it dropped. The pooled
percentile is exact whenever it lies above every dropped wait (always in runs of up to
ten replications of 10^6 travellers) — unless a replication has more of its waits above
the pooled 95th percentile than it kept (a day far more congested than the others). Then
the dropped waits are represented by their grid (each point standing for its share of
them), so the value returned lies between the pooled percentiles at ``share ± 1/grid``
(95 ± 0.1 % with the full grid), and :func:`pooled_quantile` says it is not exact.

**Speed.** A run's KPI pass keeps each tail split (:func:`tail_and_quantile`, ``near``):
one pass moves a replication's values above about its 85th percentile (a sampled
``floor``) to the end of its ``top``, and its own percentile is selected among those.
The pooled percentile, the counts at it and the interval's two bounds are then read off
those upper parts alone, in two compiled calls, whenever they lie above every floor —
the same order statistics, so the same numbers; otherwise (a day far busier than the
others, a wide interval) off the whole tops as above.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from .selection import count_at_most as _count_at_most
from .selection import (
    select,
    select_above,
    select_top,
    select_two,
    split_above,
    split_select,
    window,
)
from .student_t import t_quantile

POOL_VALUES = 10_000_000
"""Values (80 MB) one pooled KPI keeps over all replications of a run, about at most."""

KEEP_FLOOR = 64
"""Values a replication keeps at least (then a run of 10^5 replications exceeds
:data:`POOL_VALUES`)."""

KEEP_SHARE = 0.25
"""Share of a replication's values (the largest) kept, at most, when it has more than its
limit."""

GRID = 1000
"""Order statistics kept, at most, of the values a replication drops (for a rare inexact
pool)."""


def keep_limit(replications: int) -> int:
    """Values each replication of a run of ``replications`` may keep per pooled KPI."""
    return max(KEEP_FLOOR, POOL_VALUES // max(1, int(replications)))


def kept_values(n: int, limit: int) -> int:
    """How many values :func:`tail_of` keeps of ``n`` under ``limit`` (kept and grid)."""
    if n <= limit:
        return n
    m = min(n, math.ceil(KEEP_SHARE * n) + 1, limit)
    return m + min(GRID, limit, n - m)


def rank(n: int, share: float) -> int:
    """0-based index, in ascending order, of the inverted-CDF ``share``-quantile of ``n``
    values (``ceil(share * n) - 1``, rounding off floating-point dust)."""
    return min(n - 1, max(0, math.ceil(round(share * n, 9)) - 1))


def quantile(values: np.ndarray, share: float) -> float:
    """The inverted-CDF ``share``-quantile (``share`` 0-1, e.g. 0.95) of ``values``;
    NaN for no values. Equal to ``np.percentile(values, 100 * share,
    method="inverted_cdf")``, in linear time (:func:`~borderesim.analysis.selection.select`)."""
    values = _floats(values)
    if values.size == 0:
        return math.nan
    return float(select(values, rank(values.size, share)))


def _floats(values: np.ndarray) -> np.ndarray:
    """``values`` as a contiguous float64 array (no copy when it already is one)."""
    return np.ascontiguousarray(values, dtype=np.float64).reshape(-1)


@dataclass(frozen=True)
class Tail:
    """What one replication keeps of its values for a pooled percentile.

    ``n``: how many values there were; ``top``: the largest of them, in no particular
    order (float64; :meth:`quantile` and :func:`count_at_most` select, never sort);
    ``dropped_max``: the largest value not kept (``-inf`` if all were kept); ``grid``:
    evenly ranked order statistics of the values not kept, ascending (empty if none).
    ``split``, ``floor``: every value of the replication not in ``top[split:]`` (its
    :attr:`upper` part) is at most ``max(floor, dropped_max)``, so order statistics and
    counts above that are read off that part alone (:func:`tail_of`'s ``near``; by
    default the upper part is all of ``top``).
    """

    n: int
    top: np.ndarray
    dropped_max: float
    grid: np.ndarray
    split: int = 0
    floor: float = -math.inf

    @property
    def dropped(self) -> int:
        return self.n - self.top.size

    @property
    def upper(self) -> np.ndarray:
        """``top[split:]``: every value above ``max(floor, dropped_max)`` (a view)."""
        return self.top[self.split:]

    def quantile(self, share: float) -> float:
        """This replication's own inverted-CDF ``share``-quantile; NaN when empty or when
        the value was dropped (then take it from the values themselves)."""
        if self.n == 0:
            return math.nan
        k = rank(self.n, share) - self.dropped
        if k >= self.split > 0:  # above every value outside the upper part
            return float(select(self.upper, k - self.split))
        return float(select(self.top, k)) if k >= 0 else math.nan


NEAR_BELOW = 0.1
"""How far below ``near`` (a share) the upper part of a tail made with ``near`` begins,
about: room for the pooled percentile of other replications and its interval."""

SPLIT_FROM = 4096
"""Values a tail's ``top`` holds at least to be split (:func:`tail_of`'s ``near``): a
smaller one is selected in whole as fast, and pooled whole (:data:`UPPER_FROM`)."""


def tail_of(values: np.ndarray, limit: int = POOL_VALUES // 10, own: bool = False,
            near: float | None = None) -> Tail:
    """The :class:`Tail` of ``values``: all of them if at most ``limit``, else the largest
    (:func:`kept_values`; compiled selections, one copy of the kept part; no sort).

    ``own``: ``values`` (contiguous float64) is the caller's scratch: it may be reordered
    and, when all are kept, becomes the tail's ``top`` itself (no copy; the multiset
    of its values is unchanged, so percentiles of it stay right). ``near``: the share
    (0-1) of the percentile the tail is for (0.95): a ``top`` of at least
    :data:`SPLIT_FROM` values is reordered in one pass so that its values above about
    the ``near - NEAR_BELOW`` quantile come last (:attr:`Tail.upper`,
    :func:`~borderesim.analysis.selection.split_above`), and the tail's own and pooled
    percentiles near ``near`` select among those alone."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if not (own and values.flags.c_contiguous):
        values = values.copy()
    n = values.size
    m = n if n <= limit else min(n, math.ceil(KEEP_SHARE * n) + 1, limit)
    if m == n:
        return _split(Tail(n, values, -math.inf, np.zeros(0)), near)
    d = n - m
    grid = min(GRID, limit, d)
    ranks = np.unique(np.round(np.linspace(0, d - 1, grid)).astype(np.int64))
    wanted = np.unique(np.append(ranks, [d - 1, d]))
    got, top = select_top(values, wanted)  # and a copy of the m largest
    at = dict(zip(wanted.tolist(), got.tolist(), strict=True))
    return _split(Tail(n, top, at[d - 1], np.array([at[r] for r in ranks.tolist()])), near)


def _split(tail: Tail, near: float | None) -> Tail:
    """``tail`` with its ``top`` split around about the ``near - NEAR_BELOW`` quantile of
    all its values (:func:`tail_of`); as it is without ``near``."""
    if near is None or tail.top.size < SPLIT_FROM:
        return tail
    split, floor = split_above(tail.top, _split_share(tail, near))
    if split == 0:
        return tail
    return Tail(tail.n, tail.top, tail.dropped_max, tail.grid, split,
                max(floor, tail.dropped_max))


def _split_share(tail: Tail, near: float) -> float:
    """The share of ``tail.top`` below its split for ``near`` (:func:`_split`)."""
    share = max(near - NEAR_BELOW, 0.0)
    if tail.dropped:
        share = min(max((share * tail.n - tail.dropped) / tail.top.size, 0.0), 1.0)
    return share


def tail_and_quantile(values: np.ndarray, share: float, limit: int = POOL_VALUES // 10,
                      own: bool = False) -> tuple[Tail, float]:
    """``tail_of(values, limit, own, near=share)`` and that tail's own ``share``-quantile
    (:meth:`Tail.quantile`; NaN when it was dropped), in one compiled call when every
    value is kept (:func:`~borderesim.analysis.selection.split_select`)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    n = values.size
    if n > limit or n == 0:
        tail = tail_of(values, limit, own, near=share)
        return tail, tail.quantile(share)
    if not (own and values.flags.c_contiguous):
        values = values.copy()
    if n < SPLIT_FROM:
        return Tail(n, values, -math.inf, _NONE), float(select(values, rank(n, share)))
    split, floor, value = split_select(values, max(share - NEAR_BELOW, 0.0), rank(n, share))
    return Tail(n, values, -math.inf, _NONE, split, floor), float(value)


_NONE = np.zeros(0)
"""The grid of a tail that dropped nothing (read-only)."""
_NONE.flags.writeable = False


def _pool(tails: Sequence[Tail]) -> tuple[int, int, np.ndarray, float]:
    """Values, dropped values, the kept values concatenated and the largest dropped value
    of ``tails`` pooled."""
    n = sum(t.n for t in tails)
    dropped = sum(t.dropped for t in tails)
    kept = (_floats(np.concatenate([t.top for t in tails])) if tails
            else np.zeros(0))
    return n, dropped, kept, max((t.dropped_max for t in tails), default=-math.inf)


def pooled_quantile(tails: Sequence[Tail], share: float) -> tuple[float, bool]:
    """The inverted-CDF ``share``-quantile of all values of ``tails`` pooled, and whether
    it is exact (see the module docstring); NaN when there are no values."""
    got = _Upper.of(tails).value(share) if tails else None
    if got is not None:
        return got[0], True
    n, dropped, kept, cut = _pool(tails)
    if n == 0:
        return math.nan, True
    return _pooled_value(tails, kept, n, dropped, cut, share)


def _pooled_value(tails: Sequence[Tail], kept: np.ndarray, n: int, dropped: int, cut: float,
                  share: float, near: tuple[int, np.ndarray] | None = None
                  ) -> tuple[float, bool]:
    """:func:`pooled_quantile` from the pooled ``kept`` values (left untouched), ``n``
    values in all, ``dropped`` of them not kept, the largest of those ``cut``;
    ``near``: a :func:`~borderesim.analysis.selection.window` of ``kept`` to select in
    when it holds the rank."""
    k = rank(n, share) - dropped
    if k >= 0:
        if near is not None and near[0] <= k < near[0] + near[1].size:
            value = float(select(near[1], k - near[0]))
        else:
            value = float(select(kept, k))
        if value >= cut:
            return value, True
    return _grid_quantile(tails, kept, n, share), False


def _grid_quantile(tails: Sequence[Tail], kept: np.ndarray, n: int, share: float) -> float:
    """:func:`pooled_quantile` when it is not exact: each grid point of the dropped values
    stands for its share of them."""
    values = np.concatenate([kept, *(t.grid for t in tails)])
    weights = np.concatenate([np.ones(kept.size),
                              *(np.full(t.grid.size, t.dropped / max(t.grid.size, 1))
                                for t in tails)])
    order = np.argsort(values, kind="stable")
    position = np.searchsorted(np.cumsum(weights[order]), rank(n, share) + 1 - 1e-9)
    return float(values[order][min(position, values.size - 1)])


def count_at_most(tail: Tail, x: float) -> float:
    """How many of the replication's values are ``<= x`` (exact when ``x`` is at least
    its largest dropped value, else read off the grid of dropped values)."""
    if x >= tail.dropped_max:
        return float(tail.dropped + _count_at_most(_floats(tail.top), x))
    return float(np.searchsorted(tail.grid, x, side="right")) * tail.dropped / tail.grid.size


@dataclass(frozen=True)
class PooledEstimate:
    """A pooled percentile with its Woodruff interval (:func:`pooled_interval`).

    ``influence[r]``: replication ``r``'s linearised contribution (its mean is about the
    estimate's error), for paired differences; ``exact``: whether ``value`` is exact
    (:func:`pooled_quantile`; ``low`` and ``high`` may come from the grid).
    """

    value: float
    low: float
    high: float
    exact: bool
    influence: np.ndarray


UPPER_FROM = 16_384
"""Values the tops of a pool hold at least for :func:`pooled_interval` to pool the upper
parts of split tails (fewer values; a pool of days far apart may need the whole tops
after all, so a small pool takes them at once)."""


class _Upper:
    """The :attr:`Tail.upper` parts of ``tails`` pooled (``whole``: the whole tops):
    every pooled order statistic and count at or above ``cut`` (the highest floor, or
    largest dropped value) is read off them alone, exactly, in compiled calls.
    :meth:`value` and :meth:`pair` say ``None`` where they cannot (values below ``cut``
    or NaN: then :func:`pooled_interval` pools as before, the grid included)."""

    def __init__(self, tails: Sequence[Tail], whole: bool = False) -> None:
        parts = [t.top if whole else t.upper for t in tails]
        self.n = [t.n for t in tails]
        self.values = np.concatenate(parts)
        self.starts = np.array([0, *accumulate(p.size for p in parts)], dtype=np.int64)
        self.total = sum(self.n)
        self.below = self.total - self.values.size  # values outside the upper parts
        self.dropped = self.total - sum(t.top.size for t in tails)
        self.cut = max(t.dropped_max if whole else max(t.floor, t.dropped_max)
                       for t in tails)

    @classmethod
    def of(cls, tails: Sequence[Tail]) -> _Upper:
        """The upper parts of ``tails`` when some are split and their tops hold at least
        :data:`UPPER_FROM` values, else the whole tops (``tails`` not empty)."""
        split = any(t.split for t in tails) and sum(t.top.size for t in tails) >= UPPER_FROM
        return cls(tails, whole=not split)

    def rank(self, share: float) -> int | None:
        """The rank of the pooled ``share``-quantile among the upper values; None when
        it lies below them, or below the values the whole tops dropped."""
        r = rank(self.total, share)
        return r - self.below if r >= max(self.below, self.dropped) else None

    def value(self, share: float) -> tuple[float, np.ndarray] | None:
        """The pooled ``share``-quantile (exact) and each tail's :func:`count_at_most`
        of it; None when it is not above ``cut``."""
        k = self.rank(share)
        if k is None:
            return None
        value, above = select_above(self.values, self.starts, k)
        if not value >= self.cut:
            return None
        return value, np.array([float(n - c) for n, c in zip(self.n, above.tolist(),
                                                              strict=True)])

    def pair(self, low: float, high: float) -> tuple[float, float] | None:
        """The pooled quantiles at shares ``low <= high``; None unless both are above
        ``cut``."""
        k1, k2 = self.rank(low), self.rank(high)
        if k1 is None or k2 is None:
            return None
        v1, v2 = select_two(self.values, k1, k2)
        return (v1, v2) if v1 >= self.cut and v2 >= self.cut else None


def pooled_interval(tails: Sequence[Tail], share: float, level: float = 0.95
                    ) -> PooledEstimate:
    """The pooled ``share``-quantile of ``tails`` with its Woodruff interval (module
    docstring); NaN bounds with fewer than two replications holding values.

    The values are first read off the tails' upper parts (:class:`_Upper`: tails split
    by :func:`tail_of`'s ``near``) or whole tops, in a few compiled calls; only when one
    needed is not there (below a floor, or a dropped value: the grid) are they pooled
    as before. The same numbers either way."""
    upper = _Upper.of(tails) if tails else None
    got = upper.value(share) if upper is not None else None
    if got is not None:
        est = _woodruff(tails, share, level, got[0], True, got[1], upper.pair)
        if est is not None:
            return est
    total, dropped, kept, cut = _pool(tails)
    near = None  # the values ranked within 5 % either side: the interval's selections
    if total and rank(total, share) - dropped >= 0 and kept.size > 4096:
        k_lo, k_hi = (min(max(rank(total, b) - dropped, 0), kept.size - 1)
                      for b in (max(share - 0.05, 0.0), min(share + 0.05, 1.0)))
        near = window(kept, k_lo, k_hi)
    value, exact = (_pooled_value(tails, kept, total, dropped, cut, share, near) if total
                    else (math.nan, True))

    def pair(low: float, high: float) -> tuple[float, float]:
        return (_pooled_value(tails, kept, total, dropped, cut, low, near)[0],
                _pooled_value(tails, kept, total, dropped, cut, high, near)[0])

    counts = (np.array([count_at_most(t, value) if t.n else 0.0 for t in tails])
              if sum(t.n > 0 for t in tails) >= 2 else None)
    est = _woodruff(tails, share, level, value, exact, counts, pair)
    assert est is not None  # the whole tops always give the values
    return est


def _woodruff(tails: Sequence[Tail], share: float, level: float, value: float, exact: bool,
              a: np.ndarray | None,
              pair: Callable[[float, float], tuple[float, float] | None]
              ) -> PooledEstimate | None:
    """:func:`pooled_interval` given the pooled ``value``, ``a`` (each tail's
    :func:`count_at_most` of it; None with fewer than two tails holding values) and
    ``pair(low, high)`` (the pooled values at two shares, or None when it cannot say:
    then None)."""
    n = np.array([t.n for t in tails], dtype=float)
    r = sum(t.n > 0 for t in tails)
    influence = np.zeros(len(tails))
    if r < 2 or a is None:
        return PooledEstimate(value, math.nan, math.nan, exact, influence)
    used = n > 0
    a_used, n_used = (a, n) if r == n.size else (a[used], n[used])
    total = np.add.reduce(n_used)
    ratio = np.add.reduce(a_used) / total
    resid = a - ratio * n
    r_used = resid if r == n.size else resid[used]
    mean_n = float(total) / r  # np.mean: the sum over the count
    se = math.sqrt(float(np.add.reduce(r_used * r_used)) / (r * (r - 1))) / mean_n
    t = t_quantile(0.5 + level / 2, r - 1)
    got = pair(max(share - t * se, 0.0), min(share + t * se, 1.0))
    if got is None:
        return None
    low, high = got
    if high > low:  # density read off the interval: f = 2 t se / width
        influence[used] = -r_used / mean_n * (high - low) / (2 * t * se)
    return PooledEstimate(value, low, high, exact, influence)


def paired_interval(diff: float, influence_a: np.ndarray, influence_b: np.ndarray,
                    level: float = 0.95) -> tuple[float, float]:
    """``diff ± t · sd(ψ_a − ψ_b) / √R``: a difference of two pooled percentiles paired
    by replication through their influences (NaN with fewer than two replications)."""
    d = np.asarray(influence_a, dtype=float) - np.asarray(influence_b, dtype=float)
    if d.size < 2 or math.isnan(diff):
        return math.nan, math.nan
    half = t_quantile(0.5 + level / 2, d.size - 1) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return diff - half, diff + half


def sectioning_interval(pooled: float, per_replication: Sequence[float],
                        level: float = 0.95) -> tuple[float, float]:
    """The sectioning interval (Nakayama 2014), measured against Woodruff's in
    ``experiments/quantile_coverage.py``: ``pooled ± t · S / √R`` with ``S`` the spread
    of the per-replication percentiles around ``pooled`` (NaN ones left out)."""
    x = np.asarray([v for v in per_replication if not math.isnan(v)], dtype=float)
    if x.size < 2 or math.isnan(pooled):
        return math.nan, math.nan
    s = math.sqrt(float(((x - pooled) ** 2).sum()) / (x.size - 1))
    half = t_quantile(0.5 + level / 2, x.size - 1) * s / math.sqrt(x.size)
    return pooled - half, pooled + half
