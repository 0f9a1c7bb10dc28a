"""The counter-based generator and its variates (``run/philox.py``) against truth.

Truth: NumPy's own Philox4x64-10 (raw words, bit for bit), SciPy's normal quantile, and
each distribution's exact law (SciPy) and exact moments (``moments()``). Every draw is a
fixed function of a fixed key, so each statistical check has one outcome: a correct
sampler passes a KS or chi-square test at level 1e-3 with probability 0.999 over keys,
and a mean is checked within 5 standard errors (the exact variance from the law).
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import special, stats

from borderesim.model.distributions import (
    Deterministic,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Triangular,
    Uniform,
)
from borderesim.run import philox

KEY = philox.key_of(2024, 3)
SID = philox.stream_id("test")
G0 = np.uint64(0)
N = 200_000


def _u64(*words: int) -> tuple[np.uint64, ...]:
    return tuple(np.uint64(w) for w in words)


@pytest.mark.parametrize("counter", [(0, 0, 0, 0), (5, 123456789123, 2, 9),
                                     (2**64 - 1, 7, 0, 0), (2**64 - 1, 2**64 - 1, 4, 0),
                                     (2**64 - 1, 2**64 - 1, 2**64 - 1, 1)])
@pytest.mark.parametrize("seed", [0, 2024, 2**40 + 3])
def test_block_is_numpy_philox_bit_for_bit(counter, seed):
    """NumPy's Philox(key, counter) increments the counter (word 0 first, carrying) and
    then returns the block's four words; 3 blocks in a row, across every carry."""
    k0, k1 = philox.key_of(seed, 1)
    bg = np.random.Philox(key=np.array([k0, k1], dtype=np.uint64),
                          counter=np.array(counter, dtype=np.uint64))
    raw = bg.random_raw(12)
    c = int.from_bytes(b"".join(w.to_bytes(8, "little") for w in counter), "little")
    ours = []
    for step in range(1, 4):
        v = (c + step) % 2**256
        words = [(v >> (64 * k)) & (2**64 - 1) for k in range(4)]
        ours.extend(int(w) for w in philox.block(*_u64(*words), k0, k1))
    assert ours == [int(x) for x in raw]


def test_unit_is_numpys_double():
    k0, k1 = KEY
    gen = np.random.Generator(np.random.Philox(key=np.array([k0, k1], dtype=np.uint64),
                                               counter=np.zeros(4, dtype=np.uint64)))
    words = np.random.Philox(key=np.array([k0, k1], dtype=np.uint64),
                             counter=np.zeros(4, dtype=np.uint64)).random_raw(64)
    np.testing.assert_array_equal([philox.unit(w) for w in words], gen.random(64))


def test_key_and_stream_ids_are_fixed():
    """The key is SeedSequence(seed, spawn_key=(replication,))'s first two words; a
    stream's id is 64 bits of BLAKE2b of its name (so old results stay reproducible)."""
    words = np.random.SeedSequence(7, spawn_key=(2,)).generate_state(2, np.uint64)
    assert philox.key_of(7, 2) == tuple(words)
    assert philox.key_of(7, 2) != philox.key_of(7, 3) != philox.key_of(8, 2)
    assert philox.stream_id("arrivals") != philox.stream_id("arrivals.count")
    assert isinstance(philox.stream_id("x"), np.uint64)


def test_word_packs_four_draws_a_block():
    k0, k1 = KEY
    for i in (0, 1, 2, 3, 4, 1001):
        assert philox.word(i, SID, G0, k0, k1) == philox.block(
            np.uint64(i // 4), SID, G0, G0, k0, k1)[i % 4]


def test_inverse_normal_cdf_matches_scipy():
    p = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 20_001), [1e-300, 1e-20, 2**-54, 0.5,
                                                              1 - 2**-53, 0.02425, 0.075]])
    ours = np.array([philox.ndtri(x) for x in p])
    want = special.ndtri(p)
    np.testing.assert_allclose(ours, want, rtol=1e-14, atol=1e-15)


@njit(cache=False)
def _draws(kind, par, n, sid, k0, k1):
    out = np.empty(n)
    for i in range(n):
        out[i] = philox.service_of(kind, par, i, sid, np.uint64(0), k0, k1)
    return out


@njit(cache=False)
def _normals(n, sid, k0, k1):
    out = np.empty(n)
    for i in range(n):
        out[i] = philox.ziggurat(philox.word(i, sid, np.uint64(0), k0, k1), i, sid,
                                 np.uint64(0), k0, k1)
    return out


def test_ziggurat_is_standard_normal():
    z = _normals(1_000_000, SID, *KEY)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / 1000 and abs(z.var() - 1) < 5 * np.sqrt(2) / 1000
    # the tail beyond the base layer's edge (its own rejection path) and a wedge-heavy
    # band have the normal's mass
    for lo, hi in ((philox.ZIG_R, np.inf), (0.0, 0.05), (2.0, 2.5)):
        p = 2 * (stats.norm.cdf(hi) - stats.norm.cdf(lo))
        hit = ((np.abs(z) >= lo) & (np.abs(z) < hi)).mean()
        assert abs(hit - p) < 5 * np.sqrt(p * (1 - p) / z.size), (lo, hi, hit, p)


LAWS = [
    (Exponential(distribution="exponential", mean=2.0), stats.expon(scale=2.0)),
    (Lognormal(distribution="lognormal", mean=2.0, cv=0.7),
     stats.lognorm(s=np.sqrt(np.log1p(0.49)), scale=2.0 / np.sqrt(1.49))),
    (Gamma(distribution="gamma", mean=15.0, cv=0.6),
     stats.gamma(a=1 / 0.36, scale=15.0 * 0.36)),
    (Gamma(distribution="gamma", mean=3.0, cv=2.0),  # shape 1/4: the boost
     stats.gamma(a=0.25, scale=12.0)),
    (Gamma(distribution="gamma", mean=1.0, cv=0.01), stats.gamma(a=1e4, scale=1e-4)),
    (Uniform(distribution="uniform", low=1.0, high=3.0), stats.uniform(1.0, 2.0)),
    (Triangular(distribution="triangular", low=1.0, mode=1.5, high=3.5),
     stats.triang(c=0.2, loc=1.0, scale=2.5)),
]


@pytest.mark.parametrize("dist,law", LAWS, ids=lambda x: getattr(x, "distribution", ""))
def test_service_times_follow_their_law(dist, law):
    x = _draws(dist.kind, np.array(dist.params()), N, SID, *KEY)
    assert stats.kstest(x, law.cdf).pvalue > 1e-3
    mean, second = dist.moments()
    assert mean == pytest.approx(law.mean(), rel=1e-12)
    assert second == pytest.approx(law.var() + law.mean() ** 2, rel=1e-12)
    assert abs(x.mean() - mean) < 5 * law.std() / np.sqrt(N)
    # the second moment within 5 standard errors, from the law's 4th moment
    se2 = np.sqrt((law.moment(4) - second**2) / N)
    assert abs((x**2).mean() - second) < 5 * se2
    assert x.min() >= 0


def test_empirical_and_deterministic():
    emp = Empirical(distribution="empirical", values=[1.0, 2.0, 3.0, 2.0])
    x = _draws(emp.kind, np.array(emp.params()), N, SID, *KEY)
    counts = np.array([(x == v).sum() for v in (1.0, 2.0, 3.0)])
    assert counts.sum() == N
    assert stats.chisquare(counts, N * np.array([0.25, 0.5, 0.25])).pvalue > 1e-3
    det = Deterministic(distribution="deterministic", mean=2.5)
    assert set(_draws(det.kind, np.array(det.params()), 100, SID, *KEY)) == {2.5}


@pytest.mark.parametrize("mean", [0.3, 4.0, 9.99, 10.0, 37.5, 1250.0])
def test_poisson_counts(mean):
    n = 100_000
    x = np.array([philox.poisson(mean, i, SID, G0, *KEY) for i in range(n)])
    assert abs(x.mean() - mean) < 5 * np.sqrt(mean / n)
    assert abs(x.var() / mean - 1) < 5 * np.sqrt(2 / n) + 5 / np.sqrt(n * mean)
    # chi-square over bins holding at least 20 expected counts each
    law = stats.poisson(mean)
    lo, hi = int(law.ppf(1e-4)), int(law.ppf(1 - 1e-4))
    edges = np.arange(lo, hi + 2)
    p = np.diff(law.cdf(edges - 1))
    p[0] += law.cdf(lo - 1)
    p[-1] += law.sf(hi)
    got = np.histogram(np.clip(x, lo, hi), bins=np.append(edges[:-1], hi + 1) - 0.5)[0]
    keep = n * p >= 20
    obs = np.append(got[keep], got[~keep].sum())
    exp = np.append(n * p[keep], n * p[~keep].sum())
    obs, exp = obs[exp > 0], exp[exp > 0]
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3
    assert philox.poisson(0.0, 0, SID, G0, *KEY) == 0


def test_sort_unit_sorts():
    rng = np.random.default_rng(0)
    for m in (0, 1, 2, 7, 1000):
        u = rng.random(m)
        out = np.empty(m)
        philox.sort_unit(u, np.empty(m + 1, dtype=np.int64), out)
        np.testing.assert_array_equal(out, np.sort(u))
    u = np.array([0.5, 0.5, 0.0, 0.999999, 0.5])
    out = np.empty(5)
    philox.sort_unit(u, np.empty(6, dtype=np.int64), out)
    np.testing.assert_array_equal(out, np.sort(u))
