"""Benchmark: the fast (Numba) engine against the SimPy engine, and a year at 30 000 a day.

Everything printed is measured in this one run, on this machine, on one core per
process (the parts run one after another, never in parallel). Wall-clock seconds
are the headline; CPU seconds of the process are shown beside them because the
machine may be shared (CPU time is what the work itself cost).

1. Travellers per second of each engine on ``scenarios/land_crossing.yaml``: the same
   sampled inputs (same seed, replications 0..R-1) replayed by both engines, and
   their ratio. Each engine's time is the best of several repeats of the whole set
   (``--simpy-repeats`` for SimPy, 20 for the short fast replay), so a busy moment on
   a shared machine penalises neither side. Also traveller-stage visits per second.
2. Cold compile time: a fresh process with an empty ``NUMBA_CACHE_DIR`` runs the
   kernel once; cache-load time: a second fresh process, same cache dir.
3. A year of a 30 000-travellers-a-day crossing (land crossing with
   ``arrivals.per_hour=1250``, ``duration=365d`` and booths scaled to ~80 % load;
   about 11 M travellers, two stages) in a fresh process, kernels already cached:
   seconds to sample, replay (fast engine) and compute KPIs, peak memory
   (``ru_maxrss``), and the replay once more in the same process.
4. Seconds until a second ``borderesim run --engine fast`` process prints its result.

Writes ``figures/engine_speed.png``.
Usage: .venv/bin/python experiments/bench_engines.py [--replications 5] [--days 365]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LAND = ROOT / "scenarios" / "land_crossing.yaml"
FIGURE = ROOT / "figures" / "engine_speed.png"
YEAR = ["arrivals.per_hour=1250", "stages.primary.lanes.general.servers=26",
        "stages.primary.lanes.ready.servers=10", "stages.secondary.servers=12"]
"""Overrides turning the land crossing into a 30 000-a-day port (plus ``duration``)."""

TARGETS = {"ratio": 300.0, "visits_per_s": 10e6, "year_s": 3.0, "year_gb": 2.0,
           "second_run_s": 2.0}


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(t: tuple[float, float]) -> tuple[float, float]:
    w, c = clock()
    return w - t[0], c - t[1]


def visits(trace) -> int:
    """Traveller-stage visits: (stage, traveller) pairs the traveller reached."""
    return int((~np.isnan(trace.entry)).sum())


def engines_on_land(replications: int, simpy_repeats: int) -> dict:
    """Both engines on the same sampled inputs of the land crossing (best of repeats)."""
    from borderesim.engines import fast, simpy_engine
    from borderesim.plan import make_plan
    from borderesim.sampling import sample
    from borderesim.scenario import load_scenario

    scenario = load_scenario(LAND)
    plan = make_plan(scenario)
    inputs = [sample(scenario, plan, scenario.seed, r) for r in range(replications)]
    n = sum(i.n for i in inputs)
    fast.run(plan, inputs[0])  # load the kernel before timing
    simpy_wall = simpy_cpu = np.inf
    for _ in range(simpy_repeats):
        t = clock()
        ref = [simpy_engine.run(plan, i) for i in inputs]
        wall, cpu = since(t)
        simpy_wall, simpy_cpu = min(simpy_wall, wall), min(simpy_cpu, cpu)
    best_wall = best_cpu = np.inf
    for _ in range(20):  # repeat the (short) fast replay; keep the best
        t = clock()
        got = [fast.run(plan, i) for i in inputs]
        wall, cpu = since(t)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    same = all(np.array_equal(a.start, b.start, equal_nan=True) and
               np.array_equal(a.lane, b.lane) for a, b in zip(ref, got, strict=True))
    v = sum(visits(tr) for tr in got)
    return {"travellers": n, "visits": v, "simpy_s": simpy_wall, "simpy_cpu_s": simpy_cpu,
            "fast_s": best_wall, "fast_cpu_s": best_cpu, "identical": same,
            "simpy_per_s": n / simpy_wall, "fast_per_s": n / best_wall,
            "ratio": simpy_wall / best_wall, "ratio_cpu": simpy_cpu / best_cpu}


COMPILE = """
import time, json
t0 = time.perf_counter()
from borderesim.engines import fast
from borderesim.plan import make_plan
from borderesim.sampling import sample
from borderesim.scenario import load_scenario
s = load_scenario({land!r}, ["duration=60"]); p = make_plan(s); i = sample(s, p, 0, 0)
t1 = time.perf_counter(); fast.run(p, i); t2 = time.perf_counter()
print(json.dumps({{"imports_s": t1 - t0, "first_run_s": t2 - t1}}))
"""


def compile_and_load() -> dict:
    """First run of the kernel in a process with an empty cache, then in a second one."""
    cache = Path(tempfile.mkdtemp(prefix="numba-cache-"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    try:
        out = []
        for _ in range(2):
            run = subprocess.run([sys.executable, "-c", COMPILE.format(land=str(LAND))],
                                 env=env, cwd=ROOT, capture_output=True, text=True, check=True)
            out.append(json.loads(run.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"cold_compile_s": out[0]["first_run_s"], "cache_load_s": out[1]["first_run_s"],
            "imports_s": out[1]["imports_s"]}


YEAR_RUN = """
import time, json, resource
from borderesim.engines import fast
from borderesim.metrics import replication_kpis
from borderesim.plan import make_plan
from borderesim.sampling import sample
from borderesim.scenario import load_scenario
s = load_scenario({land!r}, {overrides!r}); p = make_plan(s)
tiny = load_scenario({land!r}, ["duration=60"]); tp = make_plan(tiny)
fast.run(tp, sample(tiny, tp, 0, 0))  # kernel loaded: the run below is warm
def clock(): return time.perf_counter(), time.process_time()
out = {{}}
t = clock(); i = sample(s, p, s.seed, 0); u = clock()
out["sample"] = (u[0] - t[0], u[1] - t[1])
tr = fast.run(p, i); v = clock()
out["engine"] = (v[0] - u[0], v[1] - u[1])
k = replication_kpis(s, p, i, tr); w = clock()
out["kpis"] = (w[0] - v[0], w[1] - v[1])
del tr
x = clock(); tr = fast.run(p, i); y = clock()
out["engine_again"] = (y[0] - x[0], y[1] - x[1])
out["n"] = int(i.n); out["visits"] = int((tr.entry == tr.entry).sum())
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["wait_mean"] = k["wait_mean"]; out["utilization"] = k["primary.utilization"]
print(json.dumps(out))
"""


def year(days: int) -> dict:
    """The 30 000-a-day crossing for ``days`` days, warm, in a fresh process."""
    code = YEAR_RUN.format(land=str(LAND), overrides=[*YEAR, f"duration={days}d"])
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def second_cli_run() -> dict:
    """Wall seconds of ``borderesim run --engine fast`` after one run has filled the cache."""
    script = Path(sys.executable).with_name("borderesim")
    cmd = ([str(script)] if script.exists() else
           [sys.executable, "-c", "import sys; from borderesim.cli import main; "
            "sys.exit(main())"])
    cmd += ["run", str(LAND), "--engine", "fast"]
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)  # fills the cache if needed
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
    wall = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import borderesim.simulate"], cwd=ROOT, check=True)
    return {"second_run_s": wall, "python_import_s": time.perf_counter() - t}


def plot(land: dict, yr: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    rates = [land["simpy_per_s"], land["fast_per_s"], yr["n"] / yr["engine"][0]]
    labels = ["SimPy\nland crossing", "fast\nland crossing", "fast\n30 000/day, year"]
    bars = ax1.bar(labels, rates, color=["#9aa9b9", "#2a6f97", "#014f86"])
    ax1.set_yscale("log")
    ax1.set_ylabel("travellers per second (wall)")
    ax1.set_title(f"fast / SimPy = {land['ratio']:.0f}x", fontsize=10)
    for b, r in zip(bars, rates, strict=True):
        ax1.text(b.get_x() + b.get_width() / 2, r * 1.1, f"{r:,.0f}", ha="center", fontsize=8)
    ax1.set_ylim(min(rates) / 3, max(rates) * 6)
    parts = ["sample", "engine", "kpis"]
    secs = [yr[p][0] for p in parts]
    ax2.barh(parts[::-1], secs[::-1], color=["#61a5c2", "#014f86", "#9aa9b9"])
    ax2.set_xlabel("seconds (wall), one process")
    ax2.set_title(f"a year at 30 000/day ({yr['n'] / 1e6:.1f} M travellers):\n"
                  f"{sum(secs):.1f} s in all, {yr['peak_mb'] / 1024:.1f} GB peak memory",
                  fontsize=10)
    ax2.axvline(TARGETS["year_s"], color="#c1121f", lw=1, ls="--")
    ax2.text(TARGETS["year_s"], 2.45, " 3 s target (all three)", color="#c1121f", fontsize=8)
    for y, s in enumerate(secs[::-1]):
        ax2.text(s, y, f" {s:.2f} s", va="center", fontsize=8)
    ax2.set_xlim(0, max(secs) * 1.3)
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=5,
                    help="land-crossing replications each engine replays (default 5)")
    ap.add_argument("--simpy-repeats", type=int, default=3,
                    help="repeats of the SimPy replay; the best is kept (default 3)")
    ap.add_argument("--days", type=int, default=365, help="days of the big run (default 365)")
    ap.add_argument("--no-figure", action="store_true")
    args = ap.parse_args()

    land = engines_on_land(args.replications, args.simpy_repeats)
    print(f"land crossing, {args.replications} replications, {land['travellers']:,} travellers, "
          f"same inputs; traces identical: {land['identical']}")
    print(f"  simpy  {land['simpy_s']:8.3f} s  {land['simpy_per_s']:>14,.0f} travellers/s "
          f"(best of {args.simpy_repeats})")
    print(f"  fast   {land['fast_s']:8.4f} s  {land['fast_per_s']:>14,.0f} travellers/s "
          f"(best of 20)")
    print(f"  ratio  {land['ratio']:.0f}x wall, {land['ratio_cpu']:.0f}x CPU "
          f"(target >= {TARGETS['ratio']:.0f}x)")
    print(f"  fast traveller-stage visits/s: {land['visits'] / land['fast_s']:,.0f}")

    cc = compile_and_load()
    print(f"cold compile (empty NUMBA_CACHE_DIR): {cc['cold_compile_s']:.2f} s; "
          f"cache load in a second process: {cc['cache_load_s']:.3f} s "
          f"(imports before it: {cc['imports_s']:.2f} s)")

    yr = year(args.days)
    total = sum(yr[p][0] for p in ("sample", "engine", "kpis"))
    total_cpu = sum(yr[p][1] for p in ("sample", "engine", "kpis"))
    vps = yr["visits"] / yr["engine"][0]
    print(f"30 000 travellers/day for {args.days} days: {yr['n']:,} travellers, "
          f"{yr['visits']:,} traveller-stage visits (wait mean {yr['wait_mean']:.2f} min, "
          f"primary utilisation {yr['utilization']:.2f})")
    for p in ("sample", "engine", "kpis"):
        print(f"  {p:7s} {yr[p][0]:6.2f} s wall  {yr[p][1]:6.2f} s CPU")
    print(f"  total   {total:6.2f} s wall  {total_cpu:6.2f} s CPU "
          f"(target < {TARGETS['year_s']:.0f} s); peak memory {yr['peak_mb']:,.0f} MB "
          f"(target < {TARGETS['year_gb'] * 1024:,.0f} MB)")
    again = yr["engine_again"][0]
    print(f"  engine alone: {yr['n'] / yr['engine'][0]:,.0f} travellers/s, "
          f"{vps:,.0f} visits/s (first run in the process, memory freshly mapped); "
          f"run again: {again:.2f} s, {yr['visits'] / again:,.0f} visits/s "
          f"(target >= {TARGETS['visits_per_s']:,.0f})")

    cli = second_cli_run()
    print(f"second `borderesim run --engine fast` process: {cli['second_run_s']:.2f} s "
          f"(target < {TARGETS['second_run_s']:.0f} s; `import borderesim.simulate` alone: "
          f"{cli['python_import_s']:.2f} s)")
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
    if not args.no_figure:
        plot(land, yr, FIGURE)
        print(f"wrote {FIGURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
