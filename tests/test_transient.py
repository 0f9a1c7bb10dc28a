"""The exact transient M(t)/M/c(t) solution against independent answers.

Erlang-C after a long constant stretch, a dense matrix exponential of the M/M/1 birth-death
chain, Little's law over a day that starts and ends empty (roster drop included), and the
fast engine's per-hour waits over 200 one-day replications.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import trapezoid
from scipy.linalg import expm
from scipy.stats import poisson

from borderesim import simulate
from borderesim.analysis.theory import mmc_mean_wait, mmc_wait_exceeds, mmc_wait_quantile
from borderesim.analysis.transient import solve_scenario, solve_transient
from tests.conftest import single_stage


def test_stationary_limit_is_erlang_c():
    # M/M/4, 1-min services at 75 % load: after 6 h the lane is stationary to ~1e-9.
    lam, mean, c = 3.0, 1.0, 4
    r = solve_transient(lam * 60, c, mean, 6)
    assert r.lost_mass < 1e-9
    last = slice(300, 360)
    assert r.hourly_wait_mean[-1] == pytest.approx(mmc_mean_wait(lam, mean, c), rel=1e-6)
    xs = np.array([0.0, 1.0, 2.5, 4.0])
    exact = [mmc_wait_exceeds(lam, mean, c, x) for x in xs]
    assert r.window_wait_exceeds(last.start, last.stop, xs) == pytest.approx(exact, rel=1e-6)
    assert r.wait_exceeds(330.0, 2.0) == pytest.approx(mmc_wait_exceeds(lam, mean, c, 2.0),
                                                       rel=1e-6)
    p95 = mmc_wait_quantile(lam, mean, c, 0.95)
    assert r.window_wait_quantile(300, 360, 0.95) == pytest.approx(p95, rel=1e-5)
    assert r.queue_mean[-1] == pytest.approx(lam * mmc_mean_wait(lam, mean, c), rel=1e-6)


def test_mm1_from_empty_matches_dense_matrix_exponential():
    # M/M/1 from empty, lambda = 0.8/min, mean service 1 min, first 2 hours. Independently:
    # p(t) = expm(Q t) e_0 on the birth-death chain, and a FIFO arrival seeing n waits the sum
    # of n exponential services: P(W > x) = sum_n p_n P(Poisson(mu x) <= n - 1).
    lam, mu, n_max = 0.8, 1.0, 150
    q = np.zeros((n_max + 1, n_max + 1))
    for n in range(n_max):
        q[n + 1, n] += lam
        q[n, n + 1] += mu
    q -= np.diag(q.sum(axis=0))
    r = solve_transient(lam * 60, 1, 1 / mu, 2)
    n = np.arange(n_max + 1)
    for t in (3.0, 17.0, 60.0, 111.0):
        p = expm(q * t)[:, 0]
        assert r.wait_mean_at[int(t)] == pytest.approx(p @ n / mu, rel=1e-9)
        for x in (0.0, 2.0, 7.0):
            surv = p[1:] @ poisson.cdf(n[1:] - 1, mu * x)
            assert r.wait_exceeds(t, x) == pytest.approx(surv, rel=1e-9, abs=1e-13)
        assert r.queue_mean[int(t)] == pytest.approx(p @ np.maximum(n - 1, 0), rel=1e-9)
        # between grid points the survival is interpolated (log-linear), not exact
        surv = p[1:] @ poisson.cdf(n[1:] - 1, mu * 2.5)
        assert r.wait_exceeds(t, 2.5) == pytest.approx(surv, rel=5e-3)


@pytest.mark.parametrize("kwargs,match", [
    ({"step": 7.0}, "even number of steps"),
    ({"step": 0.0}, "even number of steps"),
    ({"servers": 0}, "nobody is ever on duty"),
    ({"servers": [1] * 23}, "24 values"),
    ({"service_mean": -1.0}, "service_mean"),
    ({"hours": 0}, "hours"),
])
def test_bad_input_is_refused(kwargs, match):
    args = {"per_hour": 30.0, "servers": 1, "service_mean": 1.0, "hours": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        solve_transient(**args)


def test_scenario_adapter_refuses_what_it_cannot_solve():
    sc = single_stage(30, 1, {"distribution": "lognormal", "mean": 1, "cv": 0.5}, hours=2)
    with pytest.raises(ValueError, match="exponential"):
        solve_scenario(sc)


def test_windows_must_be_whole_hours():
    r = solve_transient(30.0, 1, 1.0, 2)
    with pytest.raises(ValueError, match="whole hours"):
        r.window_wait_mean(30, 120)
    with pytest.raises(ValueError, match="not on the"):
        r.wait_exceeds(0.3, 1.0)
    assert r.window_wait_mean(0, 120) == pytest.approx(r.hourly_wait_mean.mean())


# A day with a morning peak, a roster drop from 10 to 1 officers while all are busy (30-min
# services) and a late recovery; no arrivals after 18:00 so the lane ends empty.
ARRIVALS = [0] * 6 + [8, 16, 24, 24, 12, 8, 6, 6, 10, 14, 10, 6] + [0] * 6
ROSTER = [10] * 9 + [1, 1] + [10] * 4 + [3] * 3 + [10] * 6
SERVICE = 30.0


@pytest.fixture(scope="module")
def day():
    return solve_transient(ARRIVALS, ROSTER, SERVICE, 24)


def test_littles_law_over_a_day_that_ends_empty(day):
    # Waiting traveller-minutes two ways: the time integral of E[queue] and the sum over
    # arrival hours of (arrivals x mean wait). Independent paths through the code.
    assert day.lost_mass < 1e-9
    assert day.queue_mean[-1] < 1e-9
    waited = np.nansum(np.array(ARRIVALS) * day.hourly_wait_mean)
    assert day.hourly_queue_mean.sum() * 60 == pytest.approx(waited, rel=1e-4)  # O(step^4)


def test_step_halving_changes_nothing_that_matters(day):
    assert day.step == 6.0  # auto_step: a fifth of the 30-min service
    fine = solve_transient(ARRIVALS, ROSTER, SERVICE, 24, step=3.0)
    busy = [h for h in range(24) if ARRIVALS[h]]
    # O(step^4): at a fifth of the service time per-hour means move by < 2e-4 (relative)
    assert fine.hourly_wait_mean[busy] == pytest.approx(day.hourly_wait_mean[busy], rel=3e-4)
    a, b = 6 * 60, 18 * 60
    assert fine.window_wait_quantile(a, b, 0.95) == pytest.approx(
        day.window_wait_quantile(a, b, 0.95), rel=2e-4)
    # the pooled mean from the pooled survival agrees with the exact per-time means
    x = np.linspace(0, fine.wait_grid[-1], 20001)
    integral = trapezoid(fine.window_wait_exceeds(a, b, x), x)  # any NumPy
    assert integral == pytest.approx(fine.window_wait_mean(a, b), rel=1e-4)


def test_roster_drop_holds_travellers_until_capacity_frees(day):
    # At 09:00 up to ten officers finish their travellers but nobody new starts until none
    # is busy: an arrival at 09:00 almost surely waits, and for several completions.
    assert day.wait_exceeds(9 * 60, 0.0) > 0.9999
    assert day.wait_exceeds(9 * 60, 30.0) > 0.9
    assert day.hourly_wait_mean[9] > day.hourly_wait_mean[8] + 30


def _hourly_waits(result, hours: int) -> tuple[np.ndarray, np.ndarray]:
    """Ratio estimate of the mean wait of arrivals in each hour and its standard error
    (delta method over replications)."""
    totals, counts = np.zeros((len(result.traces), hours)), np.zeros((len(result.traces), hours))
    for r, (_, trace) in enumerate(result.traces):
        entry, start = trace.entry[0], trace.start[0]
        assert not np.isnan(start[entry < hours * 60]).any()  # all of them started
        arrived = entry < hours * 60  # NaN: arrived after the run ended (the drain)
        h = (entry[arrived] // 60).astype(int)
        entry, start = entry[arrived], start[arrived]
        ok = h < hours
        totals[r] = np.bincount(h[ok], start[ok] - entry[ok], minlength=hours)
        counts[r] = np.bincount(h[ok], minlength=hours)
    n = np.maximum(counts.sum(0), 1)
    est = totals.sum(0) / n
    resid = totals - est * counts
    se = resid.std(0, ddof=1) / math.sqrt(len(totals)) / (n / len(totals))
    return est, se


def test_fast_engine_hourly_waits_match_exact(day):
    sc = single_stage(ARRIVALS, ROSTER, {"distribution": "exponential", "mean": "30min"},
                      hours=24, warmup=0, replications=400, seed=3)
    # the scenario adapter reads the same lane (bit for bit: same grid, same chain)
    assert np.array_equal(solve_scenario(sc).hourly_wait_mean, day.hourly_wait_mean,
                          equal_nan=True)
    res = simulate(sc, engine="fast", keep_traces=True)
    # Arrivals stop at 18:00 and 10 officers clear the queue long before the 24:00
    # horizon, so every counted traveller's wait is known (checked in _hourly_waits).
    est, se = _hourly_waits(res, 18)
    # hours 7-17: at 06:00 ten officers face 8 arrivals an hour and nearly nobody waits
    hours = np.arange(7, 18)
    z = (est[hours] - day.hourly_wait_mean[hours]) / se[hours]
    # 11 hours at once: |z| < 3.3 each is about a 1 % family-wise level
    assert np.abs(z).max() < 3.3, np.round(z, 2)
    assert day.hourly_wait_mean[9] > 60  # the drop matters: a real signal, not a zero check
    # Pooled over 07:00-18:00: the share of simulated travellers waiting longer than the
    # exact pooled p95 is 5 % within its interval (a ratio over replications).
    p95 = day.window_wait_quantile(7 * 60, 18 * 60, 0.95)
    over, total = [], []
    for _, trace in res.traces:
        entry, start = trace.entry[0], trace.start[0]
        mine = (entry >= 7 * 60) & (entry < 18 * 60)
        over.append(np.sum(start[mine] - entry[mine] > p95))
        total.append(mine.sum())
    over, total = np.array(over, float), np.array(total, float)
    share = over.sum() / total.sum()
    se_share = (over - share * total).std(ddof=1) / math.sqrt(len(total)) / total.mean()
    assert abs(share - 0.05) < 3 * se_share, (share, se_share)
    assert day.window_wait_mean(7 * 60, 18 * 60) == pytest.approx(
        np.average(est[hours], weights=np.array(ARRIVALS)[hours]), rel=0.05)
