"""Student's t quantiles for whole degrees of freedom, without importing SciPy.

Importing ``scipy.stats`` costs about half a second, which every ``borderesim run`` would
pay for one number per interval. For integer degrees of freedom the t distribution
has a closed-form CDF (Abramowitz & Stegun 26.7.3-4), inverted here by bisection to
full double precision. ``tests/test_student_t.py`` checks it against SciPy.
"""

from __future__ import annotations

import math
from functools import cache


def central_probability(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with ``df`` >= 1 degrees of freedom, t >= 0."""
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:  # 26.7.3: sin(theta) * (1 + c2/2 + 1*3/(2*4) c2^2 + ...)
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        return s * total
    if df == 1:
        return 2 * theta / math.pi
    term, total = 1.0, 1.0  # 26.7.4: 2/pi (theta + sin cos (1 + 2/3 c2 + 2*4/(3*5) c2^2 ...))
    for k in range(1, (df - 1) // 2):
        term *= c2 * (2 * k) / (2 * k + 1)
        total += term
    return 2 / math.pi * (theta + s * math.cos(theta) * total)


@cache
def t_quantile(p: float, df: int) -> float:
    """The ``p``-quantile (0.5 <= p < 1) of Student's t with ``df`` degrees of freedom."""
    if not 0.5 <= p < 1:
        raise ValueError("p must be in [0.5, 1)")
    if df < 1 or int(df) != df:
        raise ValueError("df must be a whole number of at least 1")
    target = 2 * p - 1
    lo, hi = 0.0, 1.0
    while central_probability(hi, int(df)) < target:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if central_probability(mid, int(df)) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
