"""Counter-based random numbers in compiled code: Philox4x64-10 and the variates built on it.

Philox4x64-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC 2011; the Random123 library) maps a 256-bit *counter* and a 128-bit *key*
to a *block* of four random 64-bit words with ten rounds of a keyed bijection. A draw is
a pure function of ``(key, counter)``: nothing is carried from one draw to the next, so
skipping a draw never shifts another.

:func:`block` is bit for bit NumPy's ``numpy.random.Philox``, whose generator, given
``Philox(key=[k0, k1], counter=[c0, c1, c2, c3])``, first *increments* the counter (word
``c0`` first, carrying into ``c1``, ``c2``, ``c3``) and then returns the four words of
``block(c0 + 1, c1, c2, c3, k0, k1)`` in order (``tests/test_philox.py`` checks this).

The sampler (``borderesim.run.sampling``, which documents the streams) keys a
replication once (:func:`key_of`) and puts ``(index, stream, attempt, group)`` in the
counter words ``(c0, c1, c2, c3)``. A stream whose variate needs one word packs four
draws in a block: draw ``i`` is word ``i % 4`` of block ``c0 = i // 4`` (:func:`word`).

Speed (the same words and variates): many blocks at once are made with the rounds
written out and the 64 x 64-bit products from 32-bit halves (:func:`blocks_from`,
:func:`blocks_at`), which the compiler vectorises (about 7 ns a block against 13 for
:func:`block` one at a time). :func:`travellers` makes every traveller's block that
way; :func:`fill_group` fills a group's service times (:func:`fill_stage`), a chunk of
travellers at a time, drawing only for those a lane admits (indices gathered without
branching on the class, and their distinct blocks made at once), a stage's word and
lognormal normal once for all its lanes (they share the stage's stream), and the stages'
detections, in one compiled call.

Variates:

* uniform on ``[0, 1)``: the top 53 bits of a word times ``2**-53``, as NumPy's
  ``random()`` makes a double (:func:`unit`);
* standard normal (lognormal service times): Marsaglia and Tsang's 256-layer
  ziggurat (exact; :func:`ziggurat`), one word kept about 99 % of the time, a
  rejected point retried with block ``(i, stream, attempt, group)``, attempt = 1, 2,
  ... (the exact inverse CDF below costs about three times as much); a lognormal
  time is ``exp(mu + sigma z)`` by :mod:`borderesim.run.vexp` (since 0.3.0: vectorised,
  within 1 ulp, the same bits on every machine; 0.2.1 used the C library's ``exp``,
  0.2.0 NumPy's ``np.exp``, which on a processor with AVX-512 is its own routine);
* exponential: ``-ln(1 - u)``;
* gamma: Marsaglia and Tsang (2000), one block per attempt (attempt ``k`` = 0, 1, ...
  in counter word ``c2``): the normal from word 0 by the exact inverse normal CDF
  (Wichura's AS 241, :func:`normal_of`), the acceptance uniform from word 1; a shape
  below 1 draws shape + 1 and multiplies by ``(1 - u) ** (1 / shape)``, ``u`` from
  word 2 of the accepted block (:func:`gamma`);
* Poisson: inversion by sequential search for a mean below 10 (one uniform), else
  Hörmann's PTRS transformed rejection (the algorithm NumPy uses), one block per
  attempt (:func:`poisson`);
* the service-time distributions of ``borderesim.model.distributions`` by their
  ``kind`` and ``params()`` (:func:`service_of`).
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..model.distributions import (
    DETERMINISTIC,
    EMPIRICAL,  # noqa: F401  (the kind service_of falls through to)
    EXPONENTIAL,
    GAMMA,
    LOGNORMAL,
    TRIANGULAR,
    UNIFORM,
)
from .vexp import exp_into, exp_of

M0 = np.uint64(0xD2E7470EE14C6C93)
M1 = np.uint64(0xCA5A826395121157)
W0 = np.uint64(0x9E3779B97F4A7C15)
W1 = np.uint64(0xBB67AE8584CAA73B)
"""Random123's Philox4x64 multipliers and Weyl key increments."""
ROUNDS = 10
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
SHIFT = np.uint64(11)
ZERO = np.uint64(0)



@lru_cache(maxsize=4096)
def key_of(seed: int, replication: int) -> tuple[np.uint64, np.uint64]:
    """The 128-bit key of one replication: the first two 64-bit words of
    ``SeedSequence(seed, spawn_key=(replication,)).generate_state``."""
    state = np.random.SeedSequence(int(seed), spawn_key=(int(replication),))
    k0, k1 = state.generate_state(2, np.uint64)
    return np.uint64(k0), np.uint64(k1)


@lru_cache(maxsize=4096)
def stream_id(name: str) -> np.uint64:
    """Counter word ``c1`` of stream ``name``: 64 bits of its BLAKE2b hash (little endian)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@intrinsic
def _mulhilo(typingctx, a, b):
    """The high and low 64 bits of the 128-bit product of two uint64 (one ``mulx``)."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide, word64 = ir.IntType(128), ir.IntType(64)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        hi = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), word64)
        return context.make_tuple(builder, signature.return_type,
                                  [hi, builder.trunc(product, word64)])

    return sig, codegen


@njit(cache=True)
def block(c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64,
          k1: np.uint64) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Philox4x64-10 of counter ``(c0, c1, c2, c3)`` under key ``(k0, k1)``: four words.

    Every argument must be a uint64 (``np.uint64``)."""
    for r in range(ROUNDS):
        if r:
            k0 += W0
            k1 += W1
        hi0, lo0 = _mulhilo(M0, c0)
        hi1, lo1 = _mulhilo(M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


M32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)
_M0_LO, _M0_HI = M0 & M32, M0 >> S32
_M1_LO, _M1_HI = M1 & M32, M1 >> S32
"""The multipliers' 32-bit halves (:func:`_mulhilo_halves`)."""


@njit(cache=True, inline="always")
def _mulhilo_halves(u0: np.uint64, u1: np.uint64, v: np.uint64) -> tuple[np.uint64, np.uint64]:
    """The high and low 64 bits of ``(u1 * 2**32 + u0) * v`` from 32-bit partial products
    (Warren, *Hacker's Delight*, 8-2): the same words as :func:`_mulhilo`, in a form a
    compiler vectorises (SIMD has 32 x 32 -> 64-bit multiplies, no 64 x 64 -> 128)."""
    v0 = v & M32
    v1 = v >> S32
    w0 = u0 * v0
    t = u1 * v0 + (w0 >> S32)
    w1 = u0 * v1 + (t & M32)
    return u1 * v1 + (t >> S32) + (w1 >> S32), (w1 << S32) | (w0 & M32)


@njit(cache=True, inline="always")
def _round(c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64,
           k1: np.uint64) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    hi0, lo0 = _mulhilo_halves(_M0_LO, _M0_HI, c0)
    hi1, lo1 = _mulhilo_halves(_M1_LO, _M1_HI, c2)
    return hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0


@njit(cache=True, inline="always")
def _block_wide(c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64,
                k1: np.uint64) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """:func:`block`, its ten rounds written out: a loop making one block an iteration
    vectorises (several blocks per SIMD instruction, about twice as fast a block). Keep
    them written out: with a ``for`` over the rounds the loop does not vectorise (7 against
    40 ns a block in :func:`blocks_from`, measured on this session's machine)."""
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = k0 + W0, k1 + W1
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    return _round(c0, c1, c2, c3, k0 + W0, k1 + W1)


@njit(cache=True)
def blocks_from(first: int, n: int, c1: np.uint64, c2: np.uint64, c3: np.uint64,
                k0: np.uint64, k1: np.uint64, out: np.ndarray) -> None:
    """``out[4 * b: 4 * b + 4]`` = the four words of :func:`block` ``(first + b, c1, c2,
    c3)`` for ``b < n`` (``out``: uint64[>= 4 n]); vectorised."""
    base = np.uint64(first)
    for b in range(n):
        x = _block_wide(base + np.uint64(b), c1, c2, c3, k0, k1)
        out[4 * b] = x[0]
        out[4 * b + 1] = x[1]
        out[4 * b + 2] = x[2]
        out[4 * b + 3] = x[3]


@njit(cache=True)
def blocks_at(c0: np.ndarray, n: int, c1: np.uint64, c2: np.uint64, c3: np.uint64,
              k0: np.uint64, k1: np.uint64, out: np.ndarray) -> None:
    """``out[4 * b: 4 * b + 4]`` = the four words of :func:`block` ``(c0[b], c1, c2, c3)``
    for ``b < n`` (``c0``: uint64; ``out``: uint64[>= 4 n]); vectorised."""
    for b in range(n):
        x = _block_wide(c0[b], c1, c2, c3, k0, k1)
        out[4 * b] = x[0]
        out[4 * b + 1] = x[1]
        out[4 * b + 2] = x[2]
        out[4 * b + 3] = x[3]


@njit(cache=True)
def unit(x: np.uint64) -> float:
    """A uniform double on ``[0, 1)`` from the top 53 bits of ``x`` (as NumPy)."""
    return float(x >> SHIFT) * TO_UNIT


@njit(cache=True)
def pick(x: tuple, k: int) -> np.uint64:
    """Word ``k`` (0-3) of block ``x``."""
    if k == 0:
        return x[0]
    if k == 1:
        return x[1]
    if k == 2:
        return x[2]
    return x[3]


@njit(cache=True)
def word(i: int, sid: np.uint64, group: np.uint64, k0: np.uint64, k1: np.uint64) -> np.uint64:
    """The word of draw ``i`` of a one-word stream: word ``i % 4`` of block ``i // 4``."""
    return pick(block(np.uint64(i >> 2), sid, ZERO, group, k0, k1), i & 3)


@njit(cache=True)
def ndtri(p: float) -> float:
    """The standard normal quantile of ``p`` in (0, 1): Wichura's AS 241 (PPND16)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r
                    + 67265.770927008700853) * r + 45921.953931549871457) * r
                  + 13731.693765509461125) * r + 1971.5909503065514427) * r
                + 133.14166789178437745) * r + 3.387132872796366608)
        den = (((((((5226.495278852545925 * r + 28729.085735721942674) * r
                    + 39307.89580009271061) * r + 21213.794301586595867) * r
                  + 5394.1960214247511077) * r + 687.1870074920579083) * r
                + 42.313330701600911252) * r + 1.0)
        return q * num / den
    r = math.sqrt(-math.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        r -= 1.6
        num = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
                    + 0.24178072517745061177) * r + 1.27045825245236838258) * r
                  + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                + 4.6303378461565452959) * r + 1.42343711074968357734)
        den = (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
                    + 0.0151986665636164571966) * r + 0.14810397642748007459) * r
                  + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                + 2.05319162663775882187) * r + 1.0)
    else:
        r -= 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                    + 0.0012426609473880784386) * r + 0.026532189526576123093) * r
                  + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                + 5.4637849111641143699) * r + 6.6579046435011037772)
        den = (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
                    + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r
                  + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                + 0.59983220655588793769) * r + 1.0)
    return -num / den if q < 0.0 else num / den


@njit(cache=True)
def normal_of(x: np.uint64) -> float:
    """Standard normal from one word: ``ndtri((top 53 bits + 1/2) * 2**-53)``."""
    return ndtri((float(x >> SHIFT) + 0.5) * TO_UNIT)


ZIG_R = 3.6541528853610088
ZIG_V = 4.92867323399e-3
"""Marsaglia and Tsang's 256-layer ziggurat: the base layer's edge and each layer's area."""


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per layer ``k`` (0: the base, holding the tail; 255: the top): the width ``w[k]``
    one 52-bit unit step spans, the inner edge ``inner[k]`` in such steps (below it the
    point is under the curve), and the density ``f[k] = exp(-x_k**2 / 2)`` at the layer's
    top edge ``x_k`` (``f[-1]`` being the base's bottom, 0)."""
    x = np.zeros(256)
    y = np.zeros(256)
    x[0], y[0] = ZIG_R, math.exp(-0.5 * ZIG_R * ZIG_R)
    for k in range(1, 255):
        y[k] = y[k - 1] + ZIG_V / x[k - 1]
        x[k] = math.sqrt(-2.0 * math.log(y[k]))
    y[255] = 1.0  # the top layer reaches the mode (x = 0)
    width = np.concatenate([[ZIG_V / y[0]], x[:255]])
    steps = float(1 << 52)
    inner = np.floor(x / width * steps).astype(np.uint64)
    return width / steps, inner, y


ZIG_W, ZIG_INNER, ZIG_F = _ziggurat_tables()
MASK52 = np.uint64((1 << 52) - 1)


@njit(cache=True)
def ziggurat(x: np.uint64, i: int, sid: np.uint64, group: np.uint64, k0: np.uint64,
             k1: np.uint64) -> float:
    """Standard normal from word ``x`` by the 256-layer ziggurat (exact, rejection): bits
    0-7 pick a layer, bit 8 the sign, bits 12-63 the point in the layer (kept about 99 %
    of the time). A rejected point retries with block ``(i, sid, attempt, group)``,
    ``attempt`` = 1, 2, ...: word 0 a new point, word 1 the wedge's height, words 2-3
    the tail's (Marsaglia's tail method)."""
    attempt = 0
    while True:
        k = int(x & np.uint64(255))
        negative = (x >> np.uint64(8)) & np.uint64(1)
        steps = x >> np.uint64(12)
        z = float(steps) * ZIG_W[k]
        if steps < ZIG_INNER[k]:
            return -z if negative else z
        attempt += 1
        more = block(np.uint64(i), sid, np.uint64(attempt), group, k0, k1)
        if k == 0:  # the tail beyond ZIG_R
            t = -math.log1p(-unit(more[2])) / ZIG_R
            if -2.0 * math.log1p(-unit(more[3])) > t * t:
                return -(ZIG_R + t) if negative else ZIG_R + t
        elif ZIG_F[k - 1] + unit(more[1]) * (ZIG_F[k] - ZIG_F[k - 1]) < math.exp(-0.5 * z * z):
            return -z if negative else z
        x = more[0]


@njit(cache=True)
def gamma(shape: float, i: int, sid: np.uint64, group: np.uint64, k0: np.uint64,
          k1: np.uint64) -> float:
    """Standard gamma (scale 1) of draw ``i`` of stream ``sid``: Marsaglia–Tsang, block
    ``(i, sid, attempt, group)``, a shape below 1 boosted by ``u ** (1 / shape)``."""
    a = shape if shape >= 1.0 else shape + 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    attempt = 0
    while True:
        x = block(np.uint64(i), sid, np.uint64(attempt), group, k0, k1)
        attempt += 1
        z = normal_of(x[0])
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u = unit(x[1])
        if u < 1.0 - 0.0331 * z ** 4 or math.log(u) < 0.5 * z * z + d * (1.0 - v + math.log(v)):
            g = d * v
            if shape < 1.0:
                g *= math.exp(math.log(1.0 - unit(x[2])) / shape)
            return g


@njit(cache=True)
def poisson(mean: float, i: int, sid: np.uint64, group: np.uint64, k0: np.uint64,
            k1: np.uint64) -> int:
    """Poisson count of draw ``i`` of stream ``sid``, block ``(i, sid, attempt, group)``:
    inversion (word 0) below a mean of 10, else PTRS (words 0 and 1 per attempt)."""
    if mean <= 0.0:
        return 0
    if mean < 10.0:
        u = unit(block(np.uint64(i), sid, ZERO, group, k0, k1)[0])
        p = math.exp(-mean)
        cdf = p
        k = 0
        while u >= cdf and p > 0.0:
            k += 1
            p *= mean / k
            cdf += p
        return k
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    attempt = 0
    while True:
        x = block(np.uint64(i), sid, np.uint64(attempt), group, k0, k1)
        attempt += 1
        u = unit(x[0]) - 0.5
        v = unit(x[1])
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -mean + k * loglam - math.lgamma(k + 1.0)):
            return int(k)


@njit(cache=True, inline="always")
def _one_word(kind: int, par: np.ndarray, x: np.uint64, i: int, sid: np.uint64,
              group: np.uint64, k0: np.uint64, k1: np.uint64) -> float:
    """Service time (minutes) of draw ``i`` from its word ``x`` for every kind but
    ``GAMMA``."""
    if kind == LOGNORMAL:  # par: mu, sigma of the log
        return exp_of(par[0] + par[1] * ziggurat(x, i, sid, group, k0, k1))
    if kind == DETERMINISTIC:  # par: the time
        return par[0]
    u = unit(x)
    if kind == EXPONENTIAL:  # par: mean
        return -math.log1p(-u) * par[0]
    if kind == UNIFORM:  # par: low, high
        return par[0] + (par[1] - par[0]) * u
    if kind == TRIANGULAR:  # par: low, mode, high
        a, c, b = par[0], par[1], par[2]
        if u < (c - a) / (b - a):
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1.0 - u) * (b - a) * (b - c))
    n = len(par)  # EMPIRICAL: par holds the values, each drawn with equal weight
    return par[min(int(u * n), n - 1)]


@njit(cache=True)
def service_of(kind: int, par: np.ndarray, i: int, sid: np.uint64, group: np.uint64,
               k0: np.uint64, k1: np.uint64) -> float:
    """Service time (minutes) of draw ``i`` of stream ``sid`` from distribution ``kind``
    with parameters ``par`` (``Distribution.params()``): :func:`gamma` of draw ``i`` for
    ``GAMMA``, else from :func:`word` ``i`` (``LOGNORMAL``: ``exp(mu + sigma z)``, ``z``
    :func:`ziggurat`)."""
    if kind == GAMMA:  # par: shape, scale
        return gamma(par[0], i, sid, group, k0, k1) * par[1]
    return _one_word(kind, par, word(i, sid, group, k0, k1), i, sid, group, k0, k1)


@njit(cache=True)
def fill_caught(p: float, sid: np.uint64, group: np.uint64, k0: np.uint64, k1: np.uint64,
                threat: np.ndarray, out: np.ndarray) -> None:
    """``out[i]`` = threat ``i`` is caught if checked: ``unit(word(i)) < p`` (drawn for
    threats only; False for the others)."""
    _caught(p, sid, group, k0, k1, np.flatnonzero(threat), out)


@njit(cache=True, inline="always")
def _caught(p: float, sid: np.uint64, group: np.uint64, k0: np.uint64, k1: np.uint64,
            threats: np.ndarray, out: np.ndarray) -> None:
    """:func:`fill_caught` given the threats' indices ``threats``."""
    out[:] = False
    for i in threats:
        out[i] = unit(word(i, sid, group, k0, k1)) < p


CHUNK = 4096
"""Travellers a lane's service times are filled for at a time (a multiple of 4): the
scratch arrays of :func:`fill_stage` (:func:`scratch`) stay small and in cache. Their
words lie in at most ``CHUNK`` distinct blocks (one each when they are far apart)."""
_NO_INDEX = np.empty(0, dtype=np.int64)


@njit(cache=True)
def scratch() -> tuple[np.ndarray, ...]:
    """Scratch arrays of :func:`fill_stage`: draw indices, their words' places in the
    blocks made, block counters, block words, normals, draws redone, draws a lane keeps,
    and three for a lognormal lane's logarithms, times and :func:`vexp.exp_into`."""
    return (np.empty(CHUNK, dtype=np.int64), np.empty(CHUNK, dtype=np.int64),
            np.empty(CHUNK + 1, dtype=np.uint64), np.empty(4 * CHUNK + 4, dtype=np.uint64),
            np.empty(CHUNK), np.empty(CHUNK, dtype=np.int64), np.empty(CHUNK, dtype=np.int64),
            np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK))


@njit(cache=True)
def _normals(sid: np.uint64, group: np.uint64, k0: np.uint64, k1: np.uint64, idx: np.ndarray,
             at: np.ndarray, m: int, words: np.ndarray, normals: np.ndarray,
             redo_t: np.ndarray) -> None:
    """``normals[t]`` = the :func:`ziggurat` normal of draw ``idx[t]`` from its word
    ``words[at[t]]``, ``t < m`` (``redo_t``: scratch, ``m`` integers): the ziggurat's
    first test, which keeps about 99 % of the points, made for every draw without
    branching, then the other points redrawn one by one."""
    redo = 0
    for t in range(m):  # the first test, without branching; redo_t[:redo]: the others
        x = words[np.uint64(at[t])]  # unsigned indices: not wrapped
        k = x & np.uint64(255)
        steps = x >> np.uint64(12)
        z = float(steps) * ZIG_W[k]
        normals[t] = -z if (x >> np.uint64(8)) & np.uint64(1) else z
        redo_t[redo] = t
        redo += steps >= ZIG_INNER[k]
    for r in range(redo):
        t = redo_t[r]
        normals[t] = ziggurat(words[at[t]], idx[t], sid, group, k0, k1)


@njit(cache=True)
def fill_stage(kinds: np.ndarray, pars: np.ndarray, sizes: np.ndarray, sid: np.uint64,
               group: np.uint64, k0: np.uint64, k1: np.uint64, admits: np.ndarray,
               cls: np.ndarray, among: np.ndarray, only_among: bool, out: np.ndarray,
               idx: np.ndarray, at: np.ndarray, counters: np.ndarray, words: np.ndarray,
               normals: np.ndarray, redo_t: np.ndarray, keep: np.ndarray, args: np.ndarray,
               values: np.ndarray, spare: np.ndarray) -> None:
    """``out[r, i]`` = :func:`service_of` draw ``i`` of stream ``sid`` for lane ``r``
    (distribution ``kinds[r]`` with parameters ``pars[r, :sizes[r]]``) for each
    traveller ``i`` with ``admits[r, cls[i]]`` (and, if ``only_among``, listed in the
    increasing indices ``among``); NaN for the others. The lanes share the stream (a
    stage's): a traveller's word, and a lognormal's normal, are made once for all of
    them. ``idx`` to ``keep``: scratch arrays (:func:`scratch`).

    :data:`CHUNK` travellers at a time: the indices of those some lane admits (without
    branching on their class) and the distinct blocks their words lie in (consecutive
    when every traveller is drawn, :func:`blocks_from`, else :func:`blocks_at`), the
    normals (:func:`_normals`) if a lane is lognormal, then each lane's times: every
    drawn one when the lane admits all of them, else those it admits, listed without
    branching. A lognormal time is ``exp(mu + sigma z)`` (:func:`vexp.exp_into`, a
    lane's times at once), for the times drawn only; ``GAMMA`` lanes draw their blocks
    one by one."""
    n_lanes, n_classes = admits.shape
    union = np.zeros(n_classes, dtype=np.bool_)
    for r in range(n_lanes):
        union |= admits[r]
    covers = np.ones(n_lanes, dtype=np.bool_)  # lane r admits every class drawn
    for r in range(n_lanes):
        for c in range(n_classes):
            covers[r] &= admits[r, c] or not union[c]
    every = not only_among
    for c in range(n_classes):
        every &= union[c]
    one_word = lognormal = False
    for r in range(n_lanes):
        one_word |= kinds[r] != GAMMA
        lognormal |= kinds[r] == LOGNORMAL
    if only_among:  # else NaN is written chunk by chunk, where a lane skips travellers
        out[:, :] = np.nan
    total = len(among) if only_among else out.shape[1]
    for lo in range(0, total, CHUNK):
        hi = min(lo + CHUNK, total)
        m = 0
        if every:
            m = hi - lo
            for t in range(m):
                idx[t] = lo + t
                at[t] = t  # consecutive blocks: lo is a multiple of 4
        elif only_among:
            for t in range(lo, hi):
                i = among[t]
                idx[m] = i
                m += union[np.uint64(cls[i])]  # (an unsigned index is not wrapped)
        else:
            for i in range(lo, hi):
                idx[m] = i
                m += union[np.uint64(cls[i])]
        if not only_among:
            for r in range(n_lanes):
                if not (every and covers[r]):
                    out[r, lo:hi] = np.nan
        if m == 0:
            continue
        if one_word:
            if every:
                blocks_from(lo >> 2, (m + 3) >> 2, sid, ZERO, group, k0, k1, words)
            else:
                nb = 0
                last = -1
                for t in range(m):  # idx is increasing: distinct blocks are consecutive
                    i = idx[t]
                    counters[nb] = np.uint64(i >> 2)
                    nb += (i >> 2) != last
                    last = i >> 2
                    at[t] = 4 * (nb - 1) + (i & 3)
                blocks_at(counters, nb, sid, ZERO, group, k0, k1, words)
            if lognormal:
                _normals(sid, group, k0, k1, idx, at, m, words, normals, redo_t)
        for r in range(n_lanes):
            kind, par = kinds[r], pars[r, :sizes[r]]
            kept = m
            if not covers[r]:  # the drawn travellers lane r admits, without branching
                kept = 0
                for t in range(m):
                    keep[kept] = t
                    kept += admits[r, np.uint64(cls[idx[t]])]
            if kind == LOGNORMAL:  # par: mu, sigma of the log
                mu, sigma = par[0], par[1]
                if covers[r]:
                    for t in range(m):
                        args[t] = mu + sigma * normals[t]
                    if every:  # straight into the lane's row
                        exp_into(args[:m], out[r, lo:hi], spare)
                        continue
                    exp_into(args[:m], values, spare)
                    for t in range(m):
                        out[r, np.uint64(idx[t])] = values[t]
                    continue
                for q in range(kept):
                    args[q] = mu + sigma * normals[np.uint64(keep[q])]
                exp_into(args[:kept], values, spare)
                for q in range(kept):
                    out[r, np.uint64(idx[np.uint64(keep[q])])] = values[q]
                continue
            for q in range(kept):
                t = q if covers[r] else keep[q]
                i = idx[t]
                if kind == GAMMA:  # par: shape, scale; a block a draw (and attempt)
                    value = gamma(par[0], i, sid, group, k0, k1) * par[1]
                else:
                    value = _one_word(kind, par, words[at[t]], i, sid, group, k0, k1)
                out[r, np.uint64(i)] = value


def fill_service(kind: int, par: np.ndarray, sid: np.uint64, group: np.uint64, k0: np.uint64,
                 k1: np.uint64, admits: np.ndarray, cls: np.ndarray, refer: np.ndarray,
                 referred_only: bool, out: np.ndarray) -> None:
    """``out[i]`` = :func:`service_of` draw ``i`` for traveller ``i`` of class ``cls[i]``
    when ``admits[cls[i]]`` and, if ``referred_only``, ``refer[i]``; NaN otherwise."""
    among = np.flatnonzero(refer) if referred_only else _NO_INDEX
    fill_stage(np.array([kind]), np.asarray(par, dtype=np.float64).reshape(1, -1),
               np.array([len(par)]), sid, group, k0, k1, admits.reshape(1, -1), cls, among,
               referred_only, out.reshape(1, -1), *scratch())


@njit(cache=True)
def fill_group(kinds: np.ndarray, pars: np.ndarray, sizes: np.ndarray, sids: np.ndarray,
               group: np.uint64, k0: np.uint64, k1: np.uint64, eligible: np.ndarray,
               cls: np.ndarray, refer: np.ndarray, referred_only: np.ndarray, everyone: bool,
               service: np.ndarray, detect_p: np.ndarray, detect_sids: np.ndarray,
               threat: np.ndarray, caught: np.ndarray) -> None:
    """Every lane's service times and every stage's detections of one group, in one
    compiled call: ``service[l]`` as :func:`fill_service` of lane ``l`` (distribution
    ``kinds[l]`` with parameters ``pars[l, :sizes[l]]``, stream ``sids[l]``, classes
    ``eligible[l]``, ``referred_only[l] and not everyone``), consecutive lanes on one
    stream (a stage's) made together (:func:`fill_stage`); ``caught[s]`` as
    :func:`fill_caught` (``detect_p[s]``, stream ``detect_sids[s]``)."""
    idx, at, counters, words, normals, redo_t, keep, args, values, spare = scratch()
    referred = np.flatnonzero(refer) if not everyone else np.empty(0, dtype=np.int64)
    lane = 0
    while lane < len(kinds):
        only = referred_only[lane] and not everyone
        end = lane + 1
        while (end < len(kinds) and sids[end] == sids[lane]
               and (referred_only[end] and not everyone) == only):
            end += 1
        fill_stage(kinds[lane:end], pars[lane:end], sizes[lane:end], sids[lane], group, k0,
                   k1, eligible[lane:end], cls, referred, only, service[lane:end], idx,
                   at, counters, words, normals, redo_t, keep, args, values, spare)
        lane = end
    threats = np.flatnonzero(threat)  # few: detection is drawn for threats only
    for s in range(len(detect_p)):
        _caught(detect_p[s], detect_sids[s], group, k0, k1, threats, caught[s])


@njit(cache=True)
def sort_unit(u: np.ndarray, count: np.ndarray, out: np.ndarray) -> None:
    """``out[:m]`` = ``u[:m]`` sorted, for ``m = len(u)`` values in ``[0, 1)``: a bucket sort
    (``m`` buckets, ``count`` holds at least ``m + 1`` integers) finished by an insertion
    sort, expected linear time for uniform values."""
    m = len(u)
    count[:m + 1] = 0
    for k in range(m):
        count[int(u[k] * m) + 1] += 1
    for b in range(m):
        count[b + 1] += count[b]
    for k in range(m):
        b = int(u[k] * m)
        out[count[b]] = u[k]
        count[b] += 1
    for k in range(1, m):
        v = out[k]
        j = k - 1
        while j >= 0 and out[j] > v:
            out[j + 1] = out[j]
            j -= 1
        out[j + 1] = v


@njit(cache=True)
def class_of(edges: np.ndarray, v: float) -> int:
    """Class of uniform ``v``: how many cumulative shares ``edges`` are at most ``v``
    (``searchsorted(edges, v, "right")``), capped at the last class."""
    c = 0
    for e in range(len(edges) - 1):  # branch-free: classes are drawn at random
        c += v >= edges[e]
    return c


@njit(cache=True)
def travellers(counts: np.ndarray, starts: np.ndarray, lengths: np.ndarray, sid: np.uint64,
               group: np.uint64, k0: np.uint64, k1: np.uint64, edges: np.ndarray,
               fixed_class: int, prevalence: np.ndarray, arrival: np.ndarray,
               cls: np.ndarray, threat: np.ndarray) -> None:
    """Arrival times, classes and threats from block ``(j, sid, 0, group)`` of each
    traveller ``j`` (numbered across the pieces in order).

    Piece ``p`` holds ``counts[p]`` arrivals at ``starts[p] + u * lengths[p]``, ``u`` the
    sorted uniforms of word 0 of its blocks. Traveller ``j`` (in arrival order) gets class
    ``searchsorted(edges, unit(word 1), "right")`` capped at the last class
    (``fixed_class`` when it is 0 or more) and is a threat when ``unit(word 2) <
    prevalence[class]``.
    """
    n = len(arrival)
    words = np.empty(4 * min(n, CHUNK), dtype=np.uint64)
    for lo in range(0, n, CHUNK):  # every traveller's block, vectorised; word 0 kept
        hi = min(lo + CHUNK, n)
        blocks_from(lo, hi - lo, sid, ZERO, group, k0, k1, words)
        for j in range(lo, hi):
            b = 4 * (j - lo)
            arrival[j] = unit(words[b])
            c = fixed_class if fixed_class >= 0 else class_of(edges, unit(words[b + 1]))
            cls[j] = c
            threat[j] = unit(words[b + 2]) < prevalence[c]
    top = counts.max() if len(counts) else 0
    ordered = np.empty(top)
    count = np.empty(top + 1, dtype=np.int64)
    j = 0
    for p in range(len(counts)):  # each piece's uniforms sorted, then placed in it
        m = counts[p]
        sort_unit(arrival[j:j + m], count, ordered)
        for k in range(m):
            arrival[j + k] = starts[p] + ordered[k] * lengths[p]
        j += m


@njit(cache=True)
def counts_of(expected: np.ndarray, sid: np.uint64, group: np.uint64, k0: np.uint64,
              k1: np.uint64) -> np.ndarray:
    """Poisson count of each piece ``p`` (mean ``expected[p]``): :func:`poisson` draw ``p``."""
    out = np.empty(len(expected), dtype=np.int64)
    for p in range(len(expected)):
        out[p] = poisson(expected[p], p, sid, group, k0, k1)
    return out


@njit(cache=True)
def profile(expected: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
            count_sid: np.uint64, sid: np.uint64, group: np.uint64, k0: np.uint64,
            k1: np.uint64, edges: np.ndarray, prevalence: np.ndarray, cls_like: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`counts_of` then :func:`travellers` in one compiled call: the arrival times,
    classes (of ``cls_like``'s type) and threats of the profile's travellers."""
    counts = counts_of(expected, count_sid, group, k0, k1)
    n = counts.sum()
    arrival = np.empty(n)
    cls = np.empty(n, dtype=cls_like.dtype)
    threat = np.empty(n, dtype=np.bool_)
    travellers(counts, starts, lengths, sid, group, k0, k1, edges, -1, prevalence, arrival,
               cls, threat)
    return arrival, cls, threat
