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

**Interval: sectioning over replications** (Asmussen & Glynn 2007, §III.5a; Nakayama
2014, "Confidence intervals for quantiles using sectioning when applying variance-
reduction techniques", ACM TOMACS 24(4)). With ``R`` independent replications, ``ξ`` the
pooled percentile and ``ξ_r`` the percentile of replication ``r`` alone::

    ξ ± t(0.975, R-1) · S / √R,    S² = Σ_r (ξ_r − ξ)² / (R − 1)

Why this one:

* Replications are the only independent units: waits within a day are strongly
  correlated (a queue that builds up delays everyone behind it), so an order-statistic
  (binomial) interval that treats the pooled waits as independent is far too narrow.
* Unlike *batching* (the mean of the ``ξ_r`` with a t-interval), sectioning centres on
  the pooled estimator, whose bias is ``R`` times smaller than a replication's; the
  spread of the ``ξ_r`` around ``ξ`` includes their bias, so ``S`` errs on the wide side.
* A jackknife needs ``R`` leave-one-out pooled percentiles and a bootstrap hundreds of
  resampled ones; sectioning needs only the pooled percentile and one per replication,
  which a year of travellers (~10^7 waits a replication) can afford.
* Paired differences (``compare``) use the same method on ``ξ^A_r − ξ^B_r`` centred on
  ``ξ^A − ξ^B`` (:func:`sectioning_interval` with per-replication differences).

Its coverage was measured against the exact pooled 95th percentile of a time-varying
M(t)/M/c lane (:mod:`borderesim.transient`); see ``tests/test_summaries.py`` for the
fast version of that check and ``experiments/quantile_coverage.py`` for the measurement.

**Memory.** A replication keeps only the largest :data:`KEEP_SHARE` of its waits
(:class:`Tail`, built with ``np.partition``, no Python loops), plus their count and the
largest wait it dropped. The pooled percentile is exact whenever it lies above every
dropped wait — always unless one replication has more than ``KEEP_SHARE`` of its waits
above the pooled 95th percentile (at least ``KEEP_SHARE / 0.05`` = 5 times its share of
the pool); otherwise :func:`pooled_quantile` returns a value that overstates the wait
(dropped waits counted at their replication's cut-off) and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .student_t import t_quantile

KEEP_SHARE = 0.25
"""Share of a replication's values (the largest) kept for pooling a percentile."""


def rank(n: int, share: float) -> int:
    """0-based index, in ascending order, of the inverted-CDF ``share``-quantile of ``n``
    values (``ceil(share * n) - 1``, rounding off floating-point dust)."""
    return min(n - 1, max(0, math.ceil(round(share * n, 9)) - 1))


def quantile(values: np.ndarray, share: float) -> float:
    """The inverted-CDF ``share``-quantile (``share`` 0-1, e.g. 0.95) of ``values``;
    NaN for no values. Equal to ``np.percentile(values, 100 * share,
    method="inverted_cdf")``, in linear time."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return math.nan
    k = rank(values.size, share)
    return float(np.partition(values, k)[k])


@dataclass(frozen=True)
class Tail:
    """What one replication keeps of its values for a pooled percentile.

    ``n``: how many values there were; ``top``: the largest of them, ascending;
    ``dropped_max``: the largest value not kept (``-inf`` if all were kept).
    """

    n: int
    top: np.ndarray
    dropped_max: float

    @property
    def dropped(self) -> int:
        return self.n - self.top.size

    def quantile(self, share: float) -> float:
        """This replication's own inverted-CDF ``share``-quantile (NaN when empty;
        exact when ``1 - share <= KEEP_SHARE``)."""
        if self.n == 0:
            return math.nan
        k = rank(self.n, share) - self.dropped
        return float(self.top[k]) if k >= 0 else self.dropped_max


def tail_of(values: np.ndarray, keep: float = KEEP_SHARE) -> Tail:
    """The :class:`Tail` of ``values`` (one partial sort, one copy of the kept part)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    m = min(n, math.ceil(keep * n) + 1)
    if m == n:
        return Tail(n, np.sort(values), -math.inf)
    part = np.partition(values, (n - m - 1, n - m))
    return Tail(n, np.sort(part[n - m:]), float(part[n - m - 1]))


def pooled_quantile(tails: Sequence[Tail], share: float) -> tuple[float, bool]:
    """The inverted-CDF ``share``-quantile of all values of ``tails`` pooled, and whether
    it is exact (see the module docstring); NaN when there are no values."""
    n = sum(t.n for t in tails)
    if n == 0:
        return math.nan, True
    k = rank(n, share) - sum(t.dropped for t in tails)
    kept = np.concatenate([t.top for t in tails])
    cut = max(t.dropped_max for t in tails)
    if k >= 0:
        value = float(np.partition(kept, k)[k])
        if value >= cut:
            return value, True
    # not exact: count every dropped value at its replication's cut-off (an upper bound)
    values = np.concatenate([kept, [t.dropped_max for t in tails if t.dropped]])
    weights = np.concatenate([np.ones(kept.size), [t.dropped for t in tails if t.dropped]])
    order = np.argsort(values, kind="stable")
    position = np.searchsorted(np.cumsum(weights[order]), rank(n, share) + 1)
    return float(values[order][position]), False


def sectioning_interval(pooled: float, per_replication: Sequence[float],
                        level: float = 0.95) -> tuple[float, float]:
    """``pooled ± t · S / √R`` with ``S`` the spread of the per-replication estimates
    around ``pooled`` (NaN replications left out); NaN bounds with fewer than two."""
    x = np.asarray([v for v in per_replication if not math.isnan(v)], dtype=float)
    if x.size < 2 or math.isnan(pooled):
        return math.nan, math.nan
    s = math.sqrt(float(((x - pooled) ** 2).sum()) / (x.size - 1))
    half = t_quantile(0.5 + level / 2, x.size - 1) * s / math.sqrt(x.size)
    return pooled - half, pooled + half
