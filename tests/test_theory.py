"""The model against exact queueing theory: Erlang-C, Pollaczek-Khinchine, Little's law.

Each check runs independent replications and asks that the theoretical value falls
inside the 95 % t-interval the package reports; runs are long enough (many
relaxation times) that warm-up and end effects are far below the interval width.
"""

from __future__ import annotations

import pytest

from borderesim import load_scenario, simulate
from borderesim.analysis.theory import erlang_c, mg1_mean_wait, mmc_mean_wait
from tests.conftest import single_stage

ENGINE = "auto"  # the fast engine when present; it agrees with SimPy traveller by traveller


def test_erlang_c_textbook_values():
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/10 at a = 8: 0.409 (standard tables)
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-3)


@pytest.mark.parametrize("rho,days", [(0.5, 4), (0.8, 8), (0.95, 30)])
def test_mmc_mean_wait_inside_interval(rho, days):
    c, mean = 3, 1.0
    lam = rho * c / mean  # per minute
    sc = single_stage(lam * 60, c, {"distribution": "exponential", "mean": mean},
                      hours=24 * days, warmup=24, replications=10, seed=11)
    res = simulate(sc, engine=ENGINE)
    theory = mmc_mean_wait(lam, mean, c)
    ci = res.kpis["desk.wait_mean"]
    assert ci["ci_low"] <= theory <= ci["ci_high"], (theory, ci)
    thr = res.kpis["throughput_per_hour"]
    assert thr["ci_low"] <= lam * 60 <= thr["ci_high"]


@pytest.mark.parametrize(
    "rho,service,days",
    [
        (0.5, {"distribution": "lognormal", "mean": 1, "cv": 0.5}, 4),
        (0.8, {"distribution": "gamma", "mean": 1, "cv": 1.5}, 20),
        (0.8, {"distribution": "deterministic", "mean": 1}, 8),
        (0.95, {"distribution": "lognormal", "mean": 1, "cv": 0.5}, 60),
    ],
)
def test_pollaczek_khinchine_inside_interval(rho, service, days):
    sc = load_scenario(single_stage(rho * 60, 1, service, hours=24 * days, warmup=24,
                                    replications=10, seed=5))
    mean, second = sc.stages["desk"].service.moments()
    theory = mg1_mean_wait(rho / mean, mean, second)
    ci = simulate(sc, engine=ENGINE).kpis["desk.wait_mean"]
    assert ci["ci_low"] <= theory <= ci["ci_high"], (theory, ci)


def test_littles_law_per_replication(demo):
    # 5 secondary officers (about 86 % load): with 4 (107 %) the queue grows all run, and
    # the window's queue-time misses the waits counted travellers finish after the horizon
    demo["stages"]["secondary"]["servers"] = 5
    demo["targeting"]["referral_rate"] = 0.05
    demo["duration"] = "72h"
    res = simulate(demo, engine=ENGINE, replications=4)
    for rep in res.per_replication:
        for stage in ("primary", "secondary"):
            lam = rep["arrivals_per_hour"] / 60 * rep[f"{stage}.visit_rate"]
            little = lam * rep[f"{stage}.wait_mean"]
            assert rep[f"{stage}.queue_mean"] == pytest.approx(little, rel=0.05, abs=0.01)
