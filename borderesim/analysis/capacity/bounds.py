"""Confidence bounds the capacity search decides with, and the intervals it reports.

**Deciding.** A wait target on a lane-hour is a ratio over the travellers entering it,
pooled over replications: for ``wait_pNN<=t`` the share waiting longer than ``t``
(``Σ_r x_r / Σ_r n_r`` with ``x_r`` the travellers of replication ``r`` waiting longer
than ``t`` and ``n_r`` all of them), for ``wait_mean<=t`` the mean wait (``x_r`` the
sum of waits). With the inverted-CDF percentile (:mod:`borderesim.analysis.by_hour`),
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

This is Woodruff's interval (:mod:`borderesim.analysis.quantiles`, which every percentile in the
package reports) turned into a test: Woodruff bounds the share of waits at most the
pooled percentile with the same ratio estimator over replications and maps it back to
minutes; deciding whether a target holds needs only the share at the target's limit.

**Reporting.** The validation run reports each hour's pooled percentile with
:func:`borderesim.analysis.quantiles.pooled_interval`.
"""

from __future__ import annotations

import numpy as np

from ..student_t import t_quantile

__all__ = ["ratio_bounds"]


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
