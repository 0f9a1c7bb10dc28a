"""``exp`` in compiled code: vectorised, and the same bits on every machine.

The lognormal service times (``run/philox.py``) are ``exp(mu + sigma z)``. The C
library's ``exp`` is one call a value (5.0-8.5 ns in ``experiments/phase_costs.py``'s
runs, more than the Philox word and the ziggurat normal together; :func:`exp_into` 2.9-4.2
ns), and NumPy's ``np.exp`` is another function on processors with AVX-512;
:func:`exp_into` is a loop the compiler vectorises,
built only from IEEE additions and multiplications (Numba contracts none of them into
fused multiply-adds without ``fastmath``), so a seed draws the same service times
everywhere. Since borderesim 0.3.0.

The method (Cody and Waite's reduction, then a polynomial): ``k = round(x / ln 2)`` by
adding and subtracting ``1.5 * 2**52``; ``r = x - k ln 2`` with ``ln 2`` split in a
high part exact in ``k * LN2_HI`` and a low part, ``|r| <= ln 2 / 2``; ``exp(r)`` by its
Taylor series to degree 13 in Horner's form (truncation below 2e-16 relative); then
``2**k`` added to the exponent bits. Within 1 ulp of the C library's ``exp`` for ``|x|
<=`` :data:`LIMIT` (``tests/test_vexp.py``; so within 2 ulp of the exact value); beyond,
where the result nears overflow or the subnormals, the C library's ``exp`` is used.
:func:`exp_of` is the same function of one value, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LIMIT = 700.0
"""The largest ``|x|`` computed by the polynomial (``exp(x)`` then normal)."""
INV_LN2 = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # the high 32 bits of ln 2: k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
ROUND = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer
ROUND_BITS = np.int64(0x4338000000000000)  # its bits
TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))


@njit(cache=True, inline="always")
def _rounded(x: float) -> float:
    """``x / ln 2 + 1.5 * 2**52``, rounded: ``k = round(x / ln 2)`` in its low bits
    (``|x| <= LIMIT``)."""
    return x * INV_LN2 + ROUND


@njit(cache=True, inline="always")
def _poly(x: float, t: float) -> float:
    """``exp(x - k ln 2)`` (``t``: :func:`_rounded` of ``x``) by its Taylor polynomial,
    Horner's form."""
    k = t - ROUND
    r = (x - k * LN2_HI) - k * LN2_LO
    c = TAYLOR
    return ((((((((((((c[13] * r + c[12]) * r + c[11]) * r + c[10]) * r + c[9]) * r + c[8])
                   * r + c[7]) * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2])
             * r + c[1]) * r + c[0]


@njit(cache=True)
def exp_into(x: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """``out[j] = exp(x[j])`` for ``j < len(x)``, as :func:`exp_of` (float64 arrays,
    ``out`` and ``scratch`` contiguous, at least as long as ``x``, neither of them
    ``x``). Two vectorised loops (the polynomial, then ``2**k`` added to the exponent
    bits), then a scan redoing ``|x| > LIMIT`` (and NaN) with the C library's ``exp``."""
    n = len(x)
    for j in range(n):
        xj = min(max(x[j], -LIMIT), LIMIT)  # beyond: redone below
        t = _rounded(xj)
        scratch[j] = t
        out[j] = _poly(xj, t)
    bits, k = out[:n].view(np.int64), scratch[:n].view(np.int64)
    for j in range(n):
        bits[j] += (k[j] - ROUND_BITS) << 52
    for j in range(n):
        if not abs(x[j]) <= LIMIT:
            out[j] = math.exp(x[j])


@njit(cache=True)
def exp_of(x: float) -> float:
    """``exp(x)``: the polynomial of :func:`exp_into` times ``2**k`` (exact) for ``|x| <=
    LIMIT``, else the C library's ``exp``."""
    if not abs(x) <= LIMIT:
        return math.exp(x)
    t = _rounded(x)
    return _poly(x, t) * math.ldexp(1.0, int(t - ROUND))
