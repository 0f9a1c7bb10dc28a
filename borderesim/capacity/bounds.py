"""Confidence bounds the capacity search decides with, and the intervals it reports.

**Deciding.** A wait target on a lane-hour is a ratio over the travellers entering it,
pooled over replications: for ``wait_pNN<=t`` the share waiting longer than ``t``
(``Σ_r x_r / Σ_r n_r`` with ``x_r`` the travellers of replication ``r`` waiting longer
than ``t`` and ``n_r`` all of them), for ``wait_mean<=t`` the mean wait (``x_r`` the
sum of waits). With the inverted-CDF percentile (:mod:`borderesim.hourly_metrics`),
"the pooled NN-th percentile is at most ``t``" is *exactly* "the pooled share waiting
longer than ``t`` is at most ``1 - NN/100``", so bounding the share bounds the
percentile. :func:`ratio_bounds` gives one-sided bounds at a confidence ``c``:

the ratio estimator's t-interval over replications (replications are the independent
units; travellers within a day are correlated, so a binomial bound over travellers would
be far too narrow), ``est ± t(c, R-1) · se`` with
``se² = R Σ_r (x_r - est · n_r)² / ((R - 1) (Σ n_r)²)``. An hour where no sampled
traveller waited longer than the limit has a zero-width interval: with few travellers
in an hour nothing better is known, and the validation run on fresh travellers is the
check.

**Reporting.** The validation run reports each hour's pooled percentile with the
sectioning interval over replications (:func:`sectioning_interval`, the definition of
issue 14: centred on the pooled percentile, spread of the per-replication percentiles
around it).
"""

from __future__ import annotations

import math

import numpy as np

from ..student_t import t_quantile

__all__ = ["grouped_quantiles", "ratio_bounds", "rank", "sectioning_interval"]


# --- the pooled-percentile definition of issue 14 (borderesim.quantiles on the `summaries`
# branch); kept here until that module is on main, then these two become an import.
def rank(n: int, share: float) -> int:
    """0-based ascending index of the inverted-CDF ``share``-quantile of ``n`` values."""
    return min(n - 1, max(0, math.ceil(round(share * n, 9)) - 1))


def sectioning_interval(pooled: float, per_replication: np.ndarray | list[float],
                        level: float = 0.95) -> tuple[float, float]:
    """``pooled ± t · S / √R``, ``S`` the spread of the per-replication estimates around
    ``pooled`` (NaN replications left out); NaN bounds with fewer than two."""
    x = np.asarray([v for v in per_replication if not math.isnan(v)], dtype=float)
    if x.size < 2 or math.isnan(pooled):
        return math.nan, math.nan
    s = math.sqrt(float(((x - pooled) ** 2).sum()) / (x.size - 1))
    half = t_quantile(0.5 + level / 2, x.size - 1) * s / math.sqrt(x.size)
    return pooled - half, pooled + half


def ratio_bounds(x: np.ndarray, n: np.ndarray, confidence: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate, lower and upper one-sided ``confidence`` bounds of ``Σx / Σn``.

    ``x``, ``n``: float[R, ...], one row per replication. Where ``Σn == 0`` all three
    are NaN. With a single replication the bounds are infinite (nothing is known of the
    spread).
    """
    reps = x.shape[0]
    big_x, big_n = x.sum(axis=0), n.sum(axis=0)
    seen = big_n > 0
    safe_n = np.where(seen, big_n, 1.0)
    est = np.where(seen, big_x / safe_n, np.nan)
    if reps < 2:
        half = np.where(seen, np.inf, np.nan)
        return est, est - half, est + half
    resid = x - np.where(seen, est, 0.0) * n
    var = reps * (resid ** 2).sum(axis=0) / ((reps - 1) * safe_n ** 2)
    half = t_quantile(confidence, reps - 1) * np.sqrt(var)
    low, high = est - half, est + half
    return est, np.where(seen, low, np.nan), np.where(seen, high, np.nan)


def grouped_quantiles(keys: np.ndarray, values: np.ndarray, groups: int, share: float,
                      order: np.ndarray | None = None) -> np.ndarray:
    """The inverted-CDF ``share``-quantile of ``values`` within each group ``0..groups-1``
    (``keys`` the group of each value); NaN for empty groups. ``order``: the permutation
    sorting ``values`` ascending, if the caller has it (several groupings share it)."""
    out = np.full(groups, math.nan)
    if values.size == 0:
        return out
    if order is None:
        order = np.argsort(values, kind="stable")
    k = keys[order]
    # a stable sort by group keeps each group's values ascending (radix sort on int16)
    by_group = np.argsort(k.astype(np.int16) if groups <= 32767 else k, kind="stable")
    sorted_values = values[order][by_group]
    count = np.bincount(k, minlength=groups)[:groups]
    start = np.cumsum(count) - count
    has = count > 0
    pos = np.ceil(np.round(share * count[has], 9)).astype(np.int64) - 1
    pos = np.clip(pos, 0, count[has] - 1)
    out[has] = sorted_values[start[has] + pos]
    return out
