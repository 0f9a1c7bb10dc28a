"""Each phase of a replication split into a fixed cost and a cost per traveller.

``bench_engines.py`` times sampling, the engine and the KPIs of one 72-hour replication
of each example scenario. This script asks *why* the first two together cost what they
do against the engine: it times the same three phases (``bench_engines.phases``, as
``simulate.run_replication`` runs them) at several run lengths, the shortest an hour
from midnight (a handful of travellers: what a replication costs whatever its size,
Python calls, small arrays, compiled-call dispatch, about its *fixed* cost) and the
longest many days (its increase over the shortest, per traveller added, is the work a
traveller costs; the engine's grows a little with the run, as its arrays outgrow the
caches). It prints the ratio the issue-18 target compares, (sample + KPIs) / engine, at
each length and per traveller: a ratio above 1 only at short lengths is fixed cost, one
above 1 per traveller is work each traveller costs.

Every number is measured in this run, best of ``--repeats`` per phase and replication,
CPU seconds of this process; the machine may be shared (the load average is printed).
Last, the compiled pieces the per-traveller costs are made of, in nanoseconds: a Philox
block, a lognormal service time, ``exp`` (the sampler's own, ``run/vexp.py``, against the
C library's a value at a time), the KPI pass a traveller (:func:`components`).

Usage: .venv/bin/python experiments/phase_costs.py [--hours 1 72 216] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import EXAMPLES, machine, phases  # noqa: E402

PHASES = ("sample", "engine", "kpis")


def measure(path: Path, hours: int, replications: int, repeats: int) -> tuple[int, dict]:
    """Travellers simulated per replication (mean) and each phase's CPU seconds per
    replication (best of ``repeats`` for each replication, then the mean) of ``path``
    run for ``hours`` hours."""
    from borderesim.model.scenario import load_scenario
    from borderesim.run.plan import make_plan

    scenario = load_scenario(path, [f"duration={hours}h", "warmup=0"])
    plan = make_plan(scenario)
    phases(scenario, plan, scenario.seed, 0)  # kernels loaded before timing
    best = {p: np.full(replications, np.inf) for p in PHASES}
    n = np.zeros(replications)
    for _ in range(repeats):
        for r in range(replications):
            got = phases(scenario, plan, scenario.seed, r, replications)
            n[r] = got["n"]
            for p in PHASES:
                best[p][r] = min(best[p][r], got[p][1])
    return int(round(n.mean())), {p: float(best[p].mean()) for p in PHASES}


def best_cpu(work, repeats: int) -> float:
    """Best CPU seconds of ``work()`` over ``repeats`` calls (after one to warm up)."""
    work()
    best = np.inf
    for _ in range(repeats):
        t = time.process_time()
        work()
        best = min(best, time.process_time() - t)
    return float(best)


def components(repeats: int) -> dict[str, float]:
    """Nanoseconds of the compiled pieces the per-traveller costs are made of: a
    Philox4x64-10 block (``philox.blocks_from``, many at a time), a lognormal service
    time (a quarter of a block, the ziggurat and ``exp``: ``philox.fill_service`` of the
    land crossing's general lane for every traveller) and the KPI pass a traveller
    (``kpi_kernel.kpi_sums`` on a 216-hour land-crossing replication)."""
    from borderesim.analysis.metrics import kernel_sums
    from borderesim.model.scenario import load_scenario
    from borderesim.run import drain, philox, sampling, vexp
    from borderesim.run.engines import get_engine
    from borderesim.run.plan import make_plan

    blocks = 1 << 18
    words = np.empty(4 * blocks, dtype=np.uint64)
    key = philox.key_of(1, 0)
    sid = philox.stream_id("phase_costs")
    block = best_cpu(lambda: philox.blocks_from(0, blocks, sid, philox.ZERO, philox.ZERO,
                                                *key, words), repeats) / blocks
    scenario = load_scenario(EXAMPLES["land crossing"], ["duration=216h"])
    plan = make_plan(scenario)
    with sampling.budget_checked(scenario):
        inputs, trace = drain.replay(scenario, plan, get_engine("fast"), scenario.seed, 0)
    tables = sampling._tables(scenario)
    lane = plan.lane_names.index("primary.general")
    out = np.empty(inputs.n)
    admits = np.ascontiguousarray(plan.eligible[lane])
    draw = best_cpu(lambda: philox.fill_service(
        int(tables.kinds[lane]), tables.params[lane, :tables.sizes[lane]], tables.sids[lane],
        philox.ZERO, *key, admits, inputs.cls, inputs.refer, False, out), repeats) / inputs.n
    classes = len(scenario.classes)
    kpis = best_cpu(lambda: kernel_sums(plan, inputs, trace, classes, True, fill=True),
                    repeats) / inputs.n
    logs = np.random.default_rng(0).normal(0.0, 0.5, 1 << 16)
    times, spare = np.empty_like(logs), np.empty_like(logs)
    own = best_cpu(lambda: vexp.exp_into(logs, times, spare), repeats) / logs.size
    c_library = best_cpu(lambda: _c_exp(logs, times), repeats) / logs.size
    return {"a Philox4x64-10 block": block * 1e9, "a lognormal service time": draw * 1e9,
            "exp, the sampler's own (vexp)": own * 1e9, "exp, the C library's": c_library * 1e9,
            "the KPI pass, a traveller": kpis * 1e9}


@njit(cache=True)
def _c_exp(x: np.ndarray, out: np.ndarray) -> None:
    """``out = exp(x)`` by the C library's ``exp``, a value at a time (as before 0.3.0)."""
    for j in range(x.size):
        out[j] = math.exp(x[j])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=int, nargs="+", default=[1, 72, 216],
                    help="run lengths in hours, shortest first (default 1 72 216)")
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(machine())
    print(f"CPU per replication, best of {args.repeats}, {args.replications} replications; "
          "no warm-up; fixed: the shortest run, per traveller: the longest's increase over it")
    print("| scenario | phase | fixed | per traveller | "
          + " | ".join(f"{h} h" for h in args.hours) + " |")
    print("|---|---|---|---|" + "---|" * len(args.hours))
    ratios = []
    for name, path in EXAMPLES.items():
        rows = [measure(path, h, args.replications, args.repeats) for h in args.hours]
        n = np.array([r[0] for r in rows])
        added = max(int(n[-1] - n[0]), 1)
        per = {p: (rows[-1][1][p] - rows[0][1][p]) / added for p in PHASES}
        for p in PHASES:
            cells = " | ".join(f"{r[1][p] * 1e3:.3f} ms" for r in rows)
            print(f"| {name} | {p} | {rows[0][1][p] * 1e6:.0f} µs | {per[p] * 1e9:.0f} ns "
                  f"| {cells} |", flush=True)
        print(f"| {name} | travellers | | | " + " | ".join(f"{x:,}" for x in n) + " |")
        at = [(r[1]["sample"] + r[1]["kpis"]) / r[1]["engine"] for r in rows]
        ratios.append((name, at, (per["sample"] + per["kpis"]) / per["engine"]))
    print()
    for name, at, per_traveller in ratios:
        print(f"{name}: (sample + KPIs) / engine "
              + ", ".join(f"{x:.2f} at {h} h" for x, h in zip(at, args.hours, strict=True))
              + f"; per traveller added {per_traveller:.2f}")
    print("compiled pieces: " + "; ".join(f"{k} {v:.1f} ns" for k, v in
                                          components(args.repeats * 4).items()))
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
