"""Coverage of the pooled-p95 interval (Woodruff, replications as clusters) against exact theory.

For two M(t)/M/c(t) lanes whose exact pooled 95th-percentile wait is known
(:func:`borderesim.analysis.transient.solve_transient`), run ``RUNS`` independent runs of ``R``
replications each (replications ``k R .. k R + R - 1`` of one seed: independent streams),
summarise each exactly as ``borderesim run`` does (:func:`borderesim.analysis.metrics.summarise`)
and count how often the reported 95 % interval of ``desk.wait_p95`` holds the exact value.
For comparison it also reports the coverage of a sectioning interval around the same
pooled value, a jackknife over replications (pseudo-values of the pooled percentile), a
percentile bootstrap over replications (200 resamples), and how often the old KPI
(per-replication p95, averaged, with a t-interval) held it and how far that KPI sat from
the exact value.

    PYTHONPATH=. python experiments/quantile_coverage.py [RUNS] [R ...]
"""

from __future__ import annotations

import sys

import numpy as np

from borderesim.analysis.metrics import confidence_interval, summarise
from borderesim.analysis.quantiles import pooled_quantile, sectioning_interval
from borderesim.analysis.student_t import t_quantile
from borderesim.analysis.transient import solve_transient
from borderesim.model.scenario import load_scenario
from borderesim.run.plan import make_plan
from borderesim.run.simulate import run_replication

CASES = {
    # a morning peak, a roster drop from 10 to 1 while busy (30-min services), quiet evening
    "roster drop, 30-min services": (
        [0] * 6 + [8, 16, 24, 24, 12, 8, 6, 6, 10, 14, 10, 6] + [0] * 6,
        [10] * 9 + [1, 1] + [10] * 4 + [3] * 3 + [10] * 6, 30.0),
    # an M(t)/M/5 day with 5-min services, peaks at 96 % load, quiet evening
    "M(t)/M/5, 5-min services": (
        [0] * 6 + [20, 40, 58, 50, 40, 45, 55, 57, 45, 35, 25, 10] + [0] * 6, 5, 5.0),
}


def scenario(per_hour: list[float], servers, service_mean: float) -> dict:
    return {"name": "coverage", "duration": "24h", "warmup": "0h", "replications": 1,
            "seed": 11, "arrivals": {"per_hour": per_hour},
            "stages": {"desk": {"servers": servers, "service": {
                "distribution": "exponential", "mean": f"{service_mean}min"}}}}


def jackknife(tails: list[dict], value: float) -> tuple[float, float]:
    """Delete-one-replication jackknife t-interval of the pooled p95, centred on it."""
    t = [x["desk.wait_p95"] for x in tails]
    r = len(t)
    loo = np.array([pooled_quantile(t[:j] + t[j + 1:], 0.95)[0] for j in range(r)])
    pseudo = r * value - (r - 1) * loo
    half = t_quantile(0.975, r - 1) * pseudo.std(ddof=1) / np.sqrt(r)
    return value - half, value + half


def bootstrap(tails: list[dict], rng: np.random.Generator, b: int = 200
              ) -> tuple[float, float]:
    """Percentile bootstrap over replications of the pooled p95."""
    t = [x["desk.wait_p95"] for x in tails]
    values = [pooled_quantile([t[j] for j in rng.integers(0, len(t), len(t))], 0.95)[0]
              for _ in range(b)]
    lo, hi = np.quantile(values, [0.025, 0.975])
    return float(lo), float(hi)


def main(runs: int, sizes: list[int]) -> None:
    for name, (arrivals, servers, mean) in CASES.items():
        exact = solve_transient(arrivals, servers, mean, 24).window_wait_quantile(
            6 * 60, 18 * 60, 0.95)
        sc = load_scenario(scenario(arrivals, servers, mean))
        plan = make_plan(sc)
        total = runs * max(sizes)
        reps, tails = [], []
        for r in range(total):
            t: dict = {}
            k, _, _ = run_replication(sc, plan, "fast", sc.seed, r, t)
            reps.append(k)
            tails.append(t)
        print(f"{name}: exact pooled p95 {exact:.3f} min")
        for size in sizes:
            hit = old_hit = sect_hit = jack_hit = boot_hit = approx = 0
            est, old = [], []
            for i in range(runs):
                part = slice(i * size, (i + 1) * size)
                ci = summarise(reps[part], tails[part])["desk.wait_p95"]
                hit += ci["ci_low"] <= exact <= ci["ci_high"]
                approx += bool(ci.get("approximate"))
                lo, hi = sectioning_interval(ci["mean"], [k["desk.wait_p95_rep"]
                                                          for k in reps[part]])
                sect_hit += lo <= exact <= hi
                lo, hi = jackknife(tails[part], ci["mean"])
                jack_hit += lo <= exact <= hi
                lo, hi = bootstrap(tails[part], np.random.default_rng(i))
                boot_hit += lo <= exact <= hi
                est.append(ci["mean"])
                o = confidence_interval([k["desk.wait_p95_rep"] for k in reps[part]])
                old_hit += o["ci_low"] <= exact <= o["ci_high"]
                old.append(o["mean"])
            cov = hit / runs
            se = np.sqrt(cov * (1 - cov) / runs)
            print(f"  R={size:3d}: coverage {cov:.3f} ± {1.96 * se:.3f} over {runs} runs "
                  f"(sectioning {sect_hit / runs:.3f}, jackknife {jack_hit / runs:.3f}, "
                  f"bootstrap {boot_hit / runs:.3f}); mean estimate {np.mean(est):.3f} "
                  f"({approx} not exact) | old KPI mean {np.mean(old):.3f}, its coverage "
                  f"{old_hit / runs:.3f}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 200, args[1:] or [5, 10, 20])
