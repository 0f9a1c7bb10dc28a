"""The sampler's own ``exp`` (``run/vexp.py``) against the C library's, and its bits pinned.

Truth: ``math.exp`` (the C library's, within 1 ulp of the exact value). Lognormal
service times are ``exp`` of their logarithm, so a seed's times are the same bits on
every machine only if this function is: a pinned digest of its values catches a
compiler that fuses its multiplications and additions, or a change of its polynomial.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from borderesim.run import vexp


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(want)


@pytest.mark.parametrize(("lo", "hi"), [(-1.0, 1.0), (-40.0, 40.0), (-700.0, 700.0)])
def test_within_one_ulp_of_the_c_library(lo, hi):
    x = np.random.default_rng(7).uniform(lo, hi, 200_000)
    out = np.empty_like(x)
    vexp.exp_into(x, out, np.empty_like(x))
    want = np.array([math.exp(v) for v in x])
    assert _ulps(out, want).max() <= 1.0
    assert (out == want).mean() > 0.8  # mostly the same double


def test_one_value_and_many_are_the_same_function():
    x = np.concatenate([np.random.default_rng(3).normal(0, 3, 5000), [0.0, -0.0, 700.0,
                        -700.0, 1e-300, math.log(2), -math.log(2), 0.5 * math.log(2)]])
    out = np.empty_like(x)
    vexp.exp_into(x, out, np.empty_like(x))
    assert [vexp.exp_of(v) for v in x] == out.tolist()


def test_beyond_the_limit_and_not_a_number():
    """Past ``LIMIT`` (and for NaN, infinities) the C library's ``exp``: overflow to
    inf, the subnormals, 0."""
    x = np.array([np.nan, np.inf, -np.inf, 700.5, -700.5, 709.7, 710.0, -745.0, -746.0])
    out = np.empty_like(x)
    vexp.exp_into(x, out, np.empty_like(x))
    want = []
    for v in x:
        try:
            want.append(math.exp(v))
        except OverflowError:
            want.append(math.inf)
    np.testing.assert_array_equal(out, want)
    assert [vexp.exp_of(v) for v in x[3:5]] == out[3:5].tolist()


def test_its_bits_are_pinned():
    """The same doubles on every machine (no fused multiply-adds, no other ``exp``)."""
    x = np.linspace(-30.0, 30.0, 100_001)
    out = np.empty_like(x)
    vexp.exp_into(x, out, np.empty_like(x))
    assert hashlib.sha256(out.tobytes()).hexdigest()[:16] == PINNED


PINNED = "bd3e2aca2c72e124"
