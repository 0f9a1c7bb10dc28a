"""Order statistics in compiled passes: what ``np.partition`` gives, without its slow cases.

``np.partition`` copies its input and, on arrays full of ties (waits that are mostly
zero), takes up to a hundred times longer than on distinct values. Percentiles here
need one or a few order statistics of arrays of up to ~10^7 values, so
:func:`select` finds the ``k``-th smallest by bracketing it between two values of a
small evenly spaced sample (Floyd and Rivest's idea), counting in one read-only pass
how many values fall below, between and above, and selecting among the few between
(a three-way quickselect, which handles ties in one step). An array of ties resolves
in the counting pass. NaN ranks above everything, as in ``np.partition`` and
``np.sort``; ``-0.0`` and ``0.0`` are equal (either may be returned).

:func:`select_many` reads several order statistics at once, in place (no copy),
leaving the array partitioned at each; :func:`select_top` reads them off a big array
(the tails of a year's waits, ``quantiles.tail_of``) with a copy of its largest
values, by a histogram of the values' bits, in two passes that leave it as it was;
:func:`window` keeps the values around a few close ranks; :func:`split_above` moves a
replication's largest values (above a sampled quantile) to its end in one pass, so
that a pooled percentile and its interval are selected among those alone
(``quantiles.tail_of``'s ``near``).
Everything returned is an element of the input: the results are exactly those of a
sort.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_SMALL = 256
"""Arrays up to this size are selected directly (a copy and a quickselect)."""


@njit(cache=True)
def _swap(a: np.ndarray, i: int, j: int) -> None:  # pragma: no cover - compiled
    t = a[i]
    a[i] = a[j]
    a[j] = t


@njit(cache=True)
def _partition3(a: np.ndarray, lo: int, hi: int) -> tuple[int, int]:  # pragma: no cover
    """Three-way partition of ``a[lo:hi+1]`` (no NaN) around the median of its first,
    middle and last values: returns ``(lt, gt)`` with ``a[lo:lt] < pivot``,
    ``a[lt:gt+1] == pivot`` and ``a[gt+1:hi+1] > pivot``. Two branch-free Lomuto
    passes (values below the pivot to the front, then values equal to it): no
    mispredicted branch per value, which is what makes a partition slow."""
    x, y, z = a[lo], a[(lo + hi) // 2], a[hi]
    pivot = max(min(x, y), min(max(x, y), z))
    lt = lo
    for i in range(lo, hi + 1):
        v = a[i]
        a[i] = a[lt]
        a[lt] = v
        lt += v < pivot
    gt = lt
    for i in range(lt, hi + 1):
        v = a[i]
        a[i] = a[gt]
        a[gt] = v
        gt += v <= pivot
    return lt, gt - 1


@njit(cache=True)
def _quickselect(a: np.ndarray, lo: int, hi: int, k: int) -> float:  # pragma: no cover
    """The value ``a[lo:hi+1]`` (no NaN) holds at rank ``k`` (``lo <= k <= hi``) once
    sorted, leaving ``a[lo:k]`` at most and ``a[k+1:hi+1]`` at least that value.
    Sorts the remaining range after many rounds (no quadratic worst case)."""
    rounds = 0
    while hi > lo:
        rounds += 1
        if rounds > 64:
            a[lo:hi + 1] = np.sort(a[lo:hi + 1])
            return a[k]
        lt, gt = _partition3(a, lo, hi)
        if k < lt:
            hi = lt - 1
        elif k > gt:
            lo = gt + 1
        else:
            return a[k]
    return a[k]


@njit(cache=True)
def nan_last(a: np.ndarray) -> int:  # pragma: no cover - compiled
    """Move the NaNs of ``a`` to its end, in place; returns how many values are not NaN."""
    j = a.size
    i = 0
    while i < j:
        if math.isnan(a[i]):
            j -= 1
            _swap(a, i, j)
        else:
            i += 1
    return j


@njit(cache=True)
def _direct(a: np.ndarray, k: int) -> float:  # pragma: no cover - compiled
    """:func:`select` by a quickselect of a copy of ``a``."""
    b = a.copy()
    valid = nan_last(b)
    return b[k] if k >= valid else _quickselect(b, 0, valid - 1, k)


@njit(cache=True)
def _even_sample(a: np.ndarray, size: int) -> np.ndarray:  # pragma: no cover - compiled
    """The values that are not NaN among ``size`` evenly spaced ones of ``a``, sorted."""
    step = a.size // size
    sample = np.empty(size)
    got = 0
    for j in range(size):
        v = a[j * step]
        sample[got] = v
        got += not math.isnan(v)
    return np.sort(sample[:got])


@njit(cache=True)
def _bracket(a: np.ndarray, k: int) -> tuple[float, float]:  # pragma: no cover - compiled
    """Two values of an evenly spaced sample of ``a`` between which its ``k``-th smallest
    lies with near certainty (three standard deviations of a sample rank each way;
    ``-inf``/``inf`` past the sample's ends; ``a`` has more than :data:`_SMALL`)."""
    n = a.size
    sample = _even_sample(a, min(n // 4, max(64, int(n ** 0.6))))
    got = sample.size
    lo, hi = -np.inf, np.inf
    if got > 0:
        p = min(max(k / n, 0.0), 1.0)
        at = int(p * got)
        margin = int(3.0 * math.sqrt(got * p * (1.0 - p))) + 2
        if at - margin >= 0:
            lo = sample[at - margin]
        if at + margin < got:
            hi = sample[at + margin]
    return lo, hi


@njit(cache=True)
def _count(a: np.ndarray, lo: float, hi: float) -> tuple[int, int]:  # pragma: no cover
    """How many values of ``a`` lie below ``lo``, and how many in ``[lo, hi]`` (one
    branch-free pass; NaN in neither)."""
    below = 0
    between = 0
    for j in range(a.size):
        v = a[j]
        below += v < lo
        between += (v >= lo) & (v <= hi)
    return below, between


@njit(cache=True)
def _between(a: np.ndarray, lo: float, hi: float, between: int) -> np.ndarray:  # pragma: no cover
    """A copy of the ``between`` values of ``a`` in ``[lo, hi]``, in their order."""
    b = np.empty(between + 1)  # written without branches: one slot past the end
    got = 0
    for j in range(a.size):
        v = a[j]
        b[got] = v
        got += (v >= lo) & (v <= hi)
    return b[:between]


@njit(cache=True)
def window(a: np.ndarray, k_lo: int, k_hi: int) -> tuple[int, np.ndarray]:  # pragma: no cover
    """``(below, values)``: a copy of the values of ``a`` from its ``k_lo``-th to its
    ``k_hi``-th smallest (and a few around them, no NaN), and how many values rank
    below them; order statistic ``j`` of ``a`` is ``select(values, j - below)`` for
    ``below <= j < below + values.size``. ``(0, a.copy())`` when the sample's bracket
    misses. Several order statistics close together (a pooled percentile and its
    interval) are then read off a fraction of the values."""
    return _window(a, k_lo, k_hi)


@njit(cache=True)
def _window(a: np.ndarray, k_lo: int, k_hi: int) -> tuple[int, np.ndarray]:  # pragma: no cover
    """:func:`window`, for compiled callers: :func:`window` itself is only called from
    Python (once, with both loaded from Numba's cache, a function also compiled into
    another failed to hand its array back to Python: "descr is NULL")."""
    n = a.size
    if n <= _SMALL:
        return 0, a.copy()
    lo, _ = _bracket(a, k_lo)
    _, hi = _bracket(a, k_hi)
    below, between = _count(a, lo, hi)
    if not (below <= k_lo and k_hi < below + between):
        return 0, a.copy()
    return below, _between(a, lo, hi, between)


@njit(cache=True)
def select(a: np.ndarray, k: int) -> float:  # pragma: no cover - compiled
    """The ``k``-th smallest value of ``a`` (0-based; NaN ranked last), ``a`` untouched.

    A sample of ``a`` brackets rank ``k`` between two of its values (:func:`_bracket`);
    one branch-free pass counts the values below and between, a second copies those
    between, and the same is done on them until few are left. A bracket that misses
    (an unlucky sample) or hardly narrows falls back to a quickselect of the values at
    hand: always exact, only slower.
    """
    cur = a
    while cur.size > _SMALL:
        n = cur.size
        lo, hi = _bracket(cur, k)
        below, between = _count(cur, lo, hi)
        if not (below <= k < below + between) or 2 * between > n:
            return _direct(cur, k)
        if lo == hi:
            return lo
        cur = _between(cur, lo, hi, between)
        k -= below
    return _direct(cur, k)


@njit(cache=True)
def select_many(a: np.ndarray, ranks: np.ndarray) -> np.ndarray:  # pragma: no cover
    """The values of ``a`` at the ascending 0-based ``ranks`` once sorted (NaN last);
    reorders ``a`` in place, partitioned at every rank (``a[:r]`` holds the ``r``
    smallest values for each ``r`` in ``ranks``, as ``np.partition(a, ranks)`` leaves
    it). Each three-way partition settles every rank it brackets, so ``r`` ranks of
    ``n`` values take about ``n log r`` steps."""
    return _select_many(a, ranks)


@njit(cache=True)
def _select_many(a: np.ndarray, ranks: np.ndarray) -> np.ndarray:  # pragma: no cover
    """:func:`select_many`, for compiled callers (:func:`select_top`; see :func:`_window`)."""
    out = np.empty(ranks.size)
    valid = nan_last(a)
    # ranges of a still to split, each with the slice of ranks inside it
    stack = np.empty((ranks.size + 1, 4), dtype=np.int64)
    lo_r = 0
    while lo_r < ranks.size and ranks[lo_r] < valid:
        lo_r += 1
    for j in range(lo_r, ranks.size):
        out[j] = np.nan
    if lo_r == 0:
        return out
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = 0, valid - 1, 0, lo_r
    top = 1
    while top > 0:
        top -= 1
        lo, hi, r0, r1 = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
        if r1 - r0 == 1 or hi - lo < 16:
            if hi - lo < 16:
                a[lo:hi + 1] = np.sort(a[lo:hi + 1])
                for j in range(r0, r1):
                    out[j] = a[ranks[j]]
            else:
                out[r0] = _quickselect(a, lo, hi, ranks[r0])
            continue
        lt, gt = _partition3(a, lo, hi)
        m0 = r0
        while m0 < r1 and ranks[m0] < lt:
            m0 += 1
        m1 = m0
        while m1 < r1 and ranks[m1] <= gt:
            out[m1] = a[lt]
            m1 += 1
        if m0 > r0:  # each range on the stack holds a rank: ranks bound its depth
            stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = lo, lt - 1, r0, m0
            top += 1
        if r1 > m1:
            stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = gt + 1, hi, m1, r1
            top += 1
    return out


@njit(cache=True)
def count_at_most(a: np.ndarray, x: float) -> int:  # pragma: no cover - compiled
    """How many values of ``a`` are ``<= x`` (NaN never is)."""
    count = 0
    for j in range(a.size):
        count += a[j] <= x
    return count


@njit(cache=True)
def split_above(a: np.ndarray, share: float) -> tuple[int, float]:  # pragma: no cover
    """Reorder ``a`` in place, values ``<= floor`` first (in one branch-free pass), and
    return ``(split, floor)``: ``a[:split]`` holds the values ``<= floor``, ``a[split:]``
    the others (NaN among them). ``floor`` is the value at ``share`` (0-1) of an evenly
    spaced sample of ``a`` (so about ``1 - share`` of the values end above it);
    ``(0, -inf)``, ``a`` untouched, when ``a`` has at most :data:`_SMALL` values or the
    sample only NaN."""
    n = a.size
    if n <= _SMALL:
        return 0, -np.inf
    # floor need not be exact: a small sample is enough
    sample = _even_sample(a, min(n // 4, _SMALL))
    got = sample.size
    if got == 0:
        return 0, -np.inf
    floor = sample[min(got - 1, max(0, int(share * got)))]
    lt = 0
    for i in range(n):
        v = a[i]
        a[i] = a[lt]
        a[lt] = v
        lt += v <= floor
    return lt, floor


@njit(cache=True)
def split_select(a: np.ndarray, share: float,
                 k: int) -> tuple[int, float, float]:  # pragma: no cover - compiled
    """:func:`split_above` of ``a`` at ``share``, then its ``k``-th smallest value, among
    the values above ``floor`` when they hold it: ``(split, floor, value)``."""
    split, floor = split_above(a, share)
    if k >= split > 0:
        return split, floor, select(a[split:], k - split)
    return split, floor, select(a, k)


@njit(cache=True)
def select_above(a: np.ndarray, starts: np.ndarray,
                 k: int) -> tuple[float, np.ndarray]:  # pragma: no cover - compiled
    """:func:`select` of rank ``k`` of ``a``, and how many values of each piece
    ``a[starts[j]:starts[j + 1]]`` are not at most it (above it, or NaN): int64[len - 1]."""
    value = select(a, k)
    above = np.zeros(starts.size - 1, dtype=np.int64)
    for j in range(starts.size - 1):
        above[j] = starts[j + 1] - starts[j] - count_at_most(a[starts[j]:starts[j + 1]], value)
    return value, above


@njit(cache=True)
def select_two(a: np.ndarray, k1: int, k2: int) -> tuple[float, float]:  # pragma: no cover
    """:func:`select` of ranks ``k1 <= k2`` of ``a`` (``a`` untouched): both from one
    :func:`window` of ``a`` when it holds them, a fraction of the values."""
    if a.size > _SMALL:
        below, near = _window(a, k1, k2)
        if below <= k1 and k2 < below + near.size:
            return select(near, k1 - below), select(near, k2 - below)
    return select(a, k1), select(a, k2)


# --- many order statistics of a big array and its largest values, by histogram ---------

_BUCKETS = 1 << 16
"""Buckets of :func:`select_top`'s histogram (of key ranges; four interleaved copies)."""

_TOP_FROM = 1 << 18
"""Values an array holds at least for :func:`select_top` to take the histogram (below,
:func:`select_many` is as fast)."""

_CHUNK = 4096
"""Values whose buckets :func:`_buckets` computes at once (a vectorised loop)."""

_LOW63 = 0x7FFFFFFFFFFFFFFF
_KEY_INF = 0x7FF0000000000000
"""The key of ``inf`` (``-inf``'s is ``-1 - _KEY_INF``); NaN's keys lie beyond either."""


@njit(cache=True, inline="always")
def _key(bits: int) -> int:  # pragma: no cover - compiled
    """An int64 ordered as the float64 whose bits are ``bits`` (``-0.0`` as ``0.0``)."""
    k = bits ^ ((bits >> 63) & _LOW63)
    return k + (k == -1)


@njit(cache=True, inline="always")
def _bucket(k: int, kt: int, lo: int, lo2: int, shift: int) -> int:  # pragma: no cover
    """The bucket of key ``k`` (:func:`_buckets`; ``lo2 = lo >> 1``)."""
    f = min((max(k >> 1, lo2) - lo2) >> shift, _BUCKETS - 4)
    return (k >= lo) + f + (k >= kt) + (k > kt)


@njit(cache=True)
def _buckets(bits: np.ndarray, idx: np.ndarray, kt: int, lo: int, shift: int,
             spread: int) -> int:  # pragma: no cover - compiled
    """Write into ``idx`` the bucket of each value of ``bits`` (float64 bits): 0 below
    key ``lo``, then ``1 + (key - lo) / 2**shift`` (in halved keys, not to overflow) up
    to the last, except that key ``kt`` has a bucket of its own (the next one; those
    above move up two); plus ``_BUCKETS * (j % 4)`` when ``spread`` (interleaved copies
    of the histogram: a run of one bucket, the zero waits, is no chain of increments of
    one counter). Monotone in the key. Returns how many are NaN."""
    lo2 = lo >> 1
    nan = 0
    for j in range(bits.size):
        k = _key(bits[j])
        nan += (k > _KEY_INF) | (k < -1 - _KEY_INF)
        idx[j] = _bucket(k, kt, lo, lo2, shift) + spread * (j & 3) * _BUCKETS
    return nan


@njit(cache=True)
def _key_plan(bits: np.ndarray, d: int) -> tuple[int, int, int, int]:  # pragma: no cover
    """``(kt, lo, shift, kt_bits)`` of :func:`_buckets` for an array whose rank ``d`` (and
    the ranks below) is wanted, from an evenly spaced sample: ``kt`` (whose float64
    bits are ``kt_bits``) the key the sample holds most often (the zero waits: a bucket
    of their own), ``lo`` its smallest key above its minimum other than ``kt`` (so that a
    lone ``-inf`` below the zero waits leaves the buckets on the waits), and ``shift``
    spreads the buckets from ``lo`` to a little above the sample's rank ``d``."""
    n = bits.size
    size = min(n // 4, 16384)
    step = n // size
    sample = np.empty(size, dtype=np.int64)
    raw = np.empty(size, dtype=np.int64)
    for j in range(size):
        raw[j] = bits[j * step]
        sample[j] = _key(raw[j])
    order = np.argsort(sample)
    best, run, at = 0, 0, 0
    for i in range(size):
        run = run + 1 if i and sample[order[i]] == sample[order[i - 1]] else 1
        if run > best:
            best, at = run, i
    kt, kt_bits = sample[order[at]], raw[order[at]]
    i = 1  # lo: the next key above the minimum, or above kt when that is it
    while i < size and (sample[order[i]] == sample[order[0]] or sample[order[i]] == kt):
        i += 1
    lo = sample[order[i]] if i < size else max(sample[order[0]], kt) + 1
    p = min(d / n, 1.0)
    margin = int(4.0 * math.sqrt(size * p * (1.0 - p))) + 2
    hi = max(sample[order[min(size - 1, int(p * size) + margin)]], lo)
    span = (hi >> 1) - (lo >> 1)
    shift = 0
    while (span >> shift) > _BUCKETS - 4:
        shift += 1
    return kt, lo, shift, kt_bits


@njit(cache=True)
def _histogram(bits: np.ndarray, kt: int, lo: int, shift: int
               ) -> tuple[np.ndarray, int]:  # pragma: no cover
    """How many values of ``bits`` fall in each bucket of :func:`_buckets` (int64[B]),
    and how many are NaN (the buckets are made again by the pass after, not kept: 2 bytes
    a value)."""
    counts = np.zeros(4 * _BUCKETS, dtype=np.int32)
    idx = np.empty(_CHUNK, dtype=np.uint32)
    nan = 0
    for s0 in range(0, bits.size, _CHUNK):
        part = bits[s0:s0 + _CHUNK]
        nan += _buckets(part, idx, kt, lo, shift, 1)
        for j in range(part.size):
            counts[idx[j]] += 1
    out = np.zeros(_BUCKETS, dtype=np.int64)
    for c in range(4):
        out += counts[c * _BUCKETS:(c + 1) * _BUCKETS]
    return out, nan


@njit(cache=True)
def select_top(a: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, top)``: the values of ``a`` at the ascending 0-based ``ranks`` once
    sorted (NaN last; :func:`select_many`'s), and a new array of its values from rank
    ``ranks[-1]`` up (its ``a.size - ranks[-1]`` largest, in no particular order).
    ``a`` (contiguous) may be reordered.

    A big array is read twice, never reordered: a histogram of its values' keys (their
    float64 bits, ordered; buckets spread over the range the ranks lie in, from an
    evenly spaced sample, and one for the value it holds most often alone: the zero
    waits), then one pass copies the values of the buckets above the last rank's to
    ``top`` and gathers those of the few buckets holding a rank, where
    :func:`select_many` finds them; a bucket of ties resolves without it. An array with
    NaN, or whose ranks' buckets hold more than a quarter of it, takes
    :func:`select_many` (in place) instead: always exact.
    """
    n = a.size
    d = ranks[-1]
    if n < _TOP_FROM or n >= 2**31 or d >= n:
        got = _select_many(a, ranks)
        return got, a[d:].copy()
    bits = a.view(np.int64)
    kt, lo, shift, kt_bits = _key_plan(bits, d)
    tied = _bucket(kt, kt, lo, lo >> 1, shift)  # the bucket of kt alone
    counts, nan = _histogram(bits, kt, lo, shift)
    starts = np.zeros(_BUCKETS + 1, dtype=np.int64)
    starts[1:] = np.cumsum(counts)
    where = np.searchsorted(starts, ranks, side="right") - 1
    bd = where[-1]
    # slots of the buckets to gather (holding a rank; not the one of ties)
    slot = np.full(_BUCKETS, -1, dtype=np.int64)
    total = 0
    for b in where:
        if b != tied and slot[b] < 0:
            slot[b] = total
            total += counts[b]
    if nan or 4 * total > n:
        got = _select_many(a, ranks)
        return got, a[d:].copy()
    first = slot.copy()
    need = np.zeros(_BUCKETS // 64, dtype=np.uint64)  # a bit a bucket to gather: in L1
    for b in range(_BUCKETS):
        if slot[b] >= 0:
            need[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
    buf = np.empty(total, dtype=np.int64)
    top = np.empty(n - d + 1, dtype=np.int64)  # one slot past the end: written blind
    idx = np.empty(_CHUNK, dtype=np.uint32)
    jt = 0
    for s0 in range(0, n, _CHUNK):
        part = bits[s0:s0 + _CHUNK]
        _buckets(part, idx, kt, lo, shift, 0)
        for j in range(part.size):
            b = idx[j]
            v = part[j]
            top[jt] = v
            jt += b > bd
            if (need[b >> 6] >> (b & 63)) & 1:
                q = slot[b]
                buf[q] = v
                slot[b] = q + 1
    values = np.empty(ranks.size)
    tie = np.array([kt_bits]).view(np.float64)[0]
    fbuf, ftop = buf.view(np.float64), top.view(np.float64)
    j = 0
    while j < ranks.size:
        b = where[j]
        e = j
        while e < ranks.size and where[e] == b:
            e += 1
        if b == tied:
            values[j:e] = tie
        else:
            values[j:e] = _select_many(fbuf[first[b]:first[b] + counts[b]],
                                      ranks[j:e] - starts[b])
        j = e
    if bd == tied:
        ftop[jt:n - d] = tie
    else:  # the last rank's bucket is partitioned at it
        ftop[jt:n - d] = fbuf[first[bd] + d - starts[bd]:first[bd] + counts[bd]]
    return values, ftop[:n - d]
