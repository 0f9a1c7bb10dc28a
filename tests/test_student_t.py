"""The SciPy-free t quantile agrees with SciPy."""

from __future__ import annotations

import pytest
from scipy import stats

from borderesim.analysis.student_t import t_quantile


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 9, 10, 19, 29, 99, 500])
@pytest.mark.parametrize("p", [0.5, 0.9, 0.95, 0.975, 0.995])
def test_matches_scipy(df, p):
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-10, abs=1e-12)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        t_quantile(0.3, 5)
    with pytest.raises(ValueError):
        t_quantile(0.95, 0)
