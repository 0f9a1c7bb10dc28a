"""Benchmark: where a ``simulate()`` call spends its time, fast engine against SimPy.

Everything printed is measured in this one run, on this machine, one process at a
time. The machine may be shared, so each phase is timed as the best of several
repeats, and CPU seconds of the process are the headline (what the work itself
cost); wall seconds are printed beside them. The machine comes first (processor, the
CPU Numba compiles for, AVX-512 or not, cores, versions): every time printed is this
machine's, and another machine's may differ by a large factor.

1. The issue-18 table: each example scenario for 72 hours, fast engine, replications
   0..R-1. Per replication: seconds sampling (``sample``, as ``drain.replay`` calls it
   within ``simulate()``: the drain drawn only as far as needed, the memory check done
   once per run rather than per replication), replaying (the engine), and computing the
   KPIs (``replication_kpis`` with the tails pooled percentiles keep, and the lane
   hours the overload warnings read, as ``simulate.run_replication`` does); the
   engine's share of the three; and the whole ``simulate()`` call (which also
   summarises across replications) with the fast engine against the same call with
   SimPy.
   *Travellers* are those the run simulated (arrived before the run ended), not drain
   arrivals drawn but never reached.
2. The engine loop alone on ``scenarios/land_crossing.yaml``: travellers/s of each
   engine on the same inputs, traces compared traveller by traveller; then the fast loop
   again in ``--loop-processes`` fresh processes (a process on this shared machine may
   run its whole life slower than the next: the spread is printed beside the number).
3. A year of a 30 000-travellers-a-day crossing (land crossing with
   ``arrivals.per_hour=1250``, ``duration=365d`` and booths scaled to ~80 % load), warm,
   in a fresh process: sample + engine + KPIs, and peak memory (``ru_maxrss``).
4. A workshop update at default settings (land crossing, 5 replications), server side:
   ``workshop.logic.run`` of the new setting (a slider that leaves the trade-off curve
   cached, such as the main knob), and the same plus ``logic.tradeoff_curve`` (a slider
   that changes the curve, such as demand or officers).
5. Cold compile time and cache-load time of the kernels; a second CLI run's wall time.

Writes ``figures/engine_speed.png``; with ``--write-readme`` also rewrites the README's
speed tables (between ``<!-- speed-table:start -->`` and ``<!-- speed-table:end -->``)
with this run's numbers, each target marked met or not.
Usage: .venv/bin/python experiments/bench_engines.py [--replications 5] [--days 365]
       [--write-readme]
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
EXAMPLES = {"land crossing": LAND, "airport": ROOT / "scenarios" / "airport_arrivals.yaml",
            "cargo terminal": ROOT / "scenarios" / "cargo_terminal.yaml"}
FIGURE = ROOT / "figures" / "engine_speed.png"
YEAR = ["arrivals.per_hour=1250", "stages.primary.lanes.general.servers=26",
        "stages.primary.lanes.ready.servers=10", "stages.secondary.servers=12"]
"""Overrides turning the land crossing into a 30 000-a-day port (plus ``duration``)."""

TARGETS = {"simulate_ratio": 75.0, "engine_per_s": 15e6, "year_s": 3.0, "year_gb": 1.5,
           "workshop_s": 0.25}
"""The issue's targets: whole simulate() fast/SimPy on the land crossing (72 h), engine
travellers/s, the year end to end (warm), its peak memory, one workshop update."""


def clock() -> tuple[float, float]:
    """(wall, CPU) seconds now."""
    return time.perf_counter(), time.process_time()


def since(t: tuple[float, float]) -> np.ndarray:
    """(wall, CPU) seconds since ``t``."""
    w, c = clock()
    return np.array([w - t[0], c - t[1]])


def phases(scenario, plan, seed: int, replication: int, replications: int = 5) -> dict:
    """(wall, CPU) seconds of sample, engine and KPIs of one replication as
    ``simulate.run_replication`` runs it (``drain.replay``, then ``replication_kpis``
    keeping the tails of pooled percentiles and ``overload.lane_hours``), its KPIs, and
    how many travellers it simulated (arrived before the run ended)."""
    from borderesim.analysis.metrics import replication_kpis
    from borderesim.analysis.outcomes import Outcome
    from borderesim.run import drain
    from borderesim.run.engines import get_engine
    from borderesim.run.pages import small_pages
    from borderesim.run.sampling import budget_checked

    engine = get_engine("fast")
    spent = []

    def timed(p, inputs):
        t = clock()
        trace = engine(p, inputs)
        spent.append(since(t))
        return trace

    # simulate() checks memory once per run, not per replication; run_replication turns
    # NumPy's huge-page advice off while it samples, replays and computes the KPIs
    with budget_checked(scenario), small_pages():
        t = clock()
        inputs, trace = drain.replay(scenario, plan, timed, seed, replication)
        whole = since(t)
        t = clock()
        samples: dict = {}  # the tails and, under "lane_hours", the overload's lane hours
        kpis = replication_kpis(scenario, plan, inputs, trace, samples, replications)
        k = since(t)
    eng = np.sum(spent, axis=0)
    n = int(Outcome(plan, inputs, trace).in_run.sum())
    return {"sample": whole - eng, "engine": eng, "kpis": k, "n": n, "kpi": kpis}



def scenario_row(path: Path, replications: int, repeats: int, simpy_repeats: int) -> dict:
    """One row of the table: ``path`` for 72 hours (best of ``repeats`` per phase)."""
    from borderesim.model.scenario import load_scenario
    from borderesim.run.plan import make_plan
    from borderesim.run.simulate import simulate

    scenario = load_scenario(path, ["duration=72h"])
    plan = make_plan(scenario)
    phases(scenario, plan, scenario.seed, 0)  # load the kernels before timing
    best = {p: np.full((replications, 2), np.inf) for p in ("sample", "engine", "kpis")}
    n = 0
    for _ in range(repeats):
        n = 0
        for r in range(replications):
            got = phases(scenario, plan, scenario.seed, r, replications)
            n += got["n"]
            for p in best:
                best[p][r] = np.minimum(best[p][r], got[p])
    per_rep = {p: best[p].sum(axis=0) / replications for p in best}
    whole = {}
    for engine, k in (("fast", repeats), ("simpy", simpy_repeats)):
        whole[engine] = np.full(2, np.inf)
        for _ in range(k):
            t = clock()
            simulate(scenario, engine=engine, replications=replications)
            whole[engine] = np.minimum(whole[engine], since(t))
    return {"travellers": n / replications, **per_rep, "simulate_fast": whole["fast"],
            "simulate_simpy": whole["simpy"], "ratio": whole["simpy"] / whole["fast"]}


def engines_on_land(replications: int, simpy_repeats: int) -> dict:
    """Both engine loops on the same sampled inputs of the land crossing (best of repeats).

    Travellers counted are those simulated (arrived before the run ended)."""
    from borderesim.analysis.outcomes import Outcome
    from borderesim.model.scenario import load_scenario
    from borderesim.run import drain
    from borderesim.run.engines import fast, simpy_engine
    from borderesim.run.plan import make_plan

    scenario = load_scenario(LAND)
    plan = make_plan(scenario)
    plans: list = []

    def keep_plan(p, inputs):  # the plan each replay ended with (its drain as drawn)
        plans.append(p)
        return fast.run(p, inputs)

    runs = []
    for r in range(replications):
        runs.append(drain.replay(scenario, plan, keep_plan, scenario.seed, r))
        plans[len(runs) - 1:] = plans[-1:]
    n = sum(int(Outcome(plan, i, tr).in_run.sum()) for i, tr in runs)
    simpy = fast_t = np.full(2, np.inf)
    for _ in range(simpy_repeats):
        t = clock()
        ref = [simpy_engine.run(p, i) for p, (i, _) in zip(plans, runs, strict=True)]
        simpy = np.minimum(simpy, since(t))
    for _ in range(20):  # repeat the (short) fast replay; keep the best
        t = clock()
        got = [fast.run(p, i) for p, (i, _) in zip(plans, runs, strict=True)]
        fast_t = np.minimum(fast_t, since(t))
    same = all(np.array_equal(a.start, b.start, equal_nan=True) and
               np.array_equal(a.lane, b.lane) for a, b in zip(ref, got, strict=True))
    return {"travellers": n, "simpy": simpy, "fast": fast_t, "identical": same,
            "simpy_per_s": n / simpy, "fast_per_s": n / fast_t, "ratio": simpy / fast_t}


def in_fresh_process(code: str, env: dict | None = None):
    """Run Python ``code`` in a fresh interpreter (from the repository root) and return the
    JSON its last printed line holds."""
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


LOOP_RUN = """
import json, sys
sys.path.insert(0, {here!r})
from bench_engines import engines_on_land
print(json.dumps(engines_on_land({replications}, 1)["fast_per_s"].tolist()))
"""


def loop_in_processes(processes: int, replications: int) -> list[float]:
    """The fast engine loop's travellers/s (CPU) on the land crossing, as
    :func:`engines_on_land` measures it, in each of ``processes`` fresh processes: on a
    shared virtual machine a process may run its whole life slower than the next."""
    code = LOOP_RUN.format(here=str(Path(__file__).resolve().parent),
                           replications=replications)
    return [in_fresh_process(code)[1] for _ in range(processes)]


def workshop_update(repeats: int) -> dict:
    """Seconds of one slider move at default settings on the land crossing, server side."""
    from dataclasses import replace

    from borderesim.model.scenario import load_scenario
    from borderesim.workshop import logic

    scenario = load_scenario(LAND)
    form = logic.default_form(scenario)
    start = logic.knob_values(form, scenario)
    knobs = logic.Knobs(officers=tuple((s, logic.peak_officers(scenario, s))
                                       for s in scenario.stages),
                        strategy=form.key, params=tuple(sorted(start.items())))
    main = next(k for k in form.knobs if k.name == form.sweep)
    moved_main = knobs.with_param(main.name, start[main.name] + main.step)
    moved_demand = replace(knobs, demand=1.05)
    reps = 5  # the page's default

    def run(k: logic.Knobs) -> None:
        logic.run(logic.apply_knobs(scenario, k), reps, "auto")

    def run_and_curve(k: logic.Knobs) -> None:
        run(k)
        logic.tradeoff_curve(scenario, logic.curve_knobs(k), reps, "auto")

    run_and_curve(knobs)  # warm: kernels loaded, as on a page already showing
    out = {}
    for name, f, k in (("run", run, moved_main), ("run_and_curve", run_and_curve, moved_demand)):
        out[name] = np.full(2, np.inf)
        for _ in range(repeats):
            t = clock()
            f(k)
            out[name] = np.minimum(out[name], since(t))
    out["curve_points"] = len(form.grid)
    return out


COMPILE = """
import time, json
t0 = time.perf_counter()
from borderesim.run.engines import fast
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.model.scenario import load_scenario
s = load_scenario({land!r}, ["duration=60"]); p = make_plan(s); i = sample(s, p, 0, 0)
t1 = time.perf_counter(); fast.run(p, i); t2 = time.perf_counter()
from borderesim.analysis.metrics import replication_kpis
replication_kpis(s, p, i, fast.run(p, i)); t3 = time.perf_counter()
print(json.dumps({{"imports_s": t1 - t0, "first_run_s": t2 - t1, "first_kpis_s": t3 - t2}}))
"""


def compile_and_load() -> dict:
    """First run of the kernels in a process with an empty cache, then in a second one."""
    cache = Path(tempfile.mkdtemp(prefix="numba-cache-"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    try:
        out = [in_fresh_process(COMPILE.format(land=str(LAND)), env) for _ in range(2)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"cold_compile_s": out[0]["first_run_s"] + out[0]["first_kpis_s"],
            "cache_load_s": out[1]["first_run_s"] + out[1]["first_kpis_s"],
            "imports_s": out[1]["imports_s"]}


YEAR_RUN = """
import json, resource, sys
sys.path.insert(0, {here!r})
from bench_engines import phases
from borderesim.run.plan import make_plan
from borderesim.model.scenario import load_scenario
day = load_scenario({land!r}, {day!r})
# kernels loaded, including those that cut a long run's tails (a run sized for 1000
# replications keeps only ~10 000 values): the run below is warm
phases(day, make_plan(day), 0, 0, 1000)
s = load_scenario({land!r}, {overrides!r}); p = make_plan(s)
got = phases(s, p, s.seed, 0, s.replications)  # tails sized as simulate() sizes them
out = {{k: got[k].tolist() for k in ("sample", "engine", "kpis")}}
out["n"] = got["n"]; out["wait_mean"] = got["kpi"]["wait_mean"]
out["utilization"] = got["kpi"]["primary.utilization"]
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def year(days: int) -> dict:
    """The 30 000-a-day crossing for ``days`` days, warm, in a fresh process."""
    code = YEAR_RUN.format(land=str(LAND), overrides=[*YEAR, f"duration={days}d"],
                           day=[*YEAR, "duration=1d"],
                           here=str(Path(__file__).resolve().parent))
    return in_fresh_process(code)


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
    return {"second_run_s": time.perf_counter() - t}


def ms(x: np.ndarray) -> str:
    """A (wall, CPU) pair of seconds as CPU milliseconds (wall beside it)."""
    return f"{x[1] * 1e3:.2f} ms ({x[0] * 1e3:.2f})"


def table(rows: dict[str, dict]) -> list[str]:
    """The issue's table as Markdown lines (CPU times; wall in brackets)."""
    out = ["| scenario | travellers | sample | engine | KPIs | engine share | "
           "whole `simulate()` fast vs SimPy |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        share = r["engine"] / (r["sample"] + r["engine"] + r["kpis"])
        out.append(f"| {name} | {r['travellers']:,.0f} | {ms(r['sample'])} | "
                   f"{ms(r['engine'])} | {ms(r['kpis'])} | {share[1]:.0%} ({share[0]:.0%}) | "
                   f"{r['ratio'][1]:.0f}× ({r['ratio'][0]:.0f}×) |")
    return out


README_START, README_END = "<!-- speed-table:start -->", "<!-- speed-table:end -->"
"""Markers around the tables ``--write-readme`` rewrites in README.md."""


def _spread(rates: list[float]) -> str:
    """``; a–b M in k fresh processes`` of the loop rates measured in fresh processes."""
    if not rates:
        return ""
    return (f"; {min(rates) / 1e6:.1f}–{max(rates) / 1e6:.1f} M in {len(rates)} fresh "
            "processes")


def readme_tables(rows: dict[str, dict], land: dict, yr: dict, ws: dict, cc: dict | None,
                  cli: dict | None, repeats: int) -> str:
    """The README's speed section from this run's numbers (CPU times): the issue's table
    and the targets, each marked met or not by the same comparison the printout makes."""
    from borderesim import __version__

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    load = os.getloadavg()[0]
    lines = [f"Measured by `python experiments/bench_engines.py --write-readme` in one run on "
             f"borderesim {__version__}, on {machine()} (load average {load:.1f}; CPU times, "
             f"best of {repeats}), fast engine, 72 hours, per replication:", "",
             "| scenario | travellers | sample | engine | KPIs | engine share | whole "
             "`simulate()` fast vs SimPy |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        share = r["engine"][1] / (r["sample"][1] + r["engine"][1] + r["kpis"][1])
        travellers = f"{r['travellers']:,.0f}".replace(",", " ")
        phases_ms = " | ".join(f"{r[p][1] * 1e3:.2f} ms" for p in ("sample", "engine", "kpis"))
        lines.append(f"| {name} | {travellers} | {phases_ms} | {share * 100:.0f} % | "
                     f"{r['ratio'][1]:.0f}× |")
    extra = [(r["sample"][1] + r["kpis"][1]) / r["engine"][1] for r in rows.values()]
    ratio = rows["land crossing"]["ratio"][1]
    total = sum(yr[p][1] for p in ("sample", "engine", "kpis"))
    gb = yr["peak_mb"] / 1024
    per_s = land["fast_per_s"][1]
    lines += ["", "| measure | measured | target (issue 18) | met? |", "|---|---|---|---|",
              f"| sampling + KPIs no longer than the engine, every example | "
              f"{min(extra):.2f}–{max(extra):.2f}× the engine | ≤ 1× | {met(max(extra) <= 1)} |",
              f"| whole `simulate()`, fast vs SimPy, land crossing 72 h | {ratio:.0f}× | "
              f"≥ {TARGETS['simulate_ratio']:.0f}× | {met(ratio >= TARGETS['simulate_ratio'])} |",
              f"| a year at 30 000/day ({yr['n'] / 1e6:.1f} M travellers), warm, end to end, in "
              f"a fresh process | {total:.2f} s (sample {yr['sample'][1]:.2f} + engine "
              f"{yr['engine'][1]:.2f} + KPIs {yr['kpis'][1]:.2f}) | < {TARGETS['year_s']:.0f} s "
              f"| {met(total < TARGETS['year_s'])} |",
              f"| the same year's peak memory | {gb:.2f} GB | < {TARGETS['year_gb']} GB | "
              f"{met(gb < TARGETS['year_gb'])} |",
              f"| workshop update (land crossing, 5 replications) | {ws['run'][1] * 1e3:.0f} ms; "
              f"{ws['run_and_curve'][1] * 1e3:.0f} ms when the trade-off curve is redrawn | "
              f"< {TARGETS['workshop_s'] * 1e3:.0f} ms | "
              f"{met(ws['run_and_curve'][1] < TARGETS['workshop_s'])} |",
              f"| engine loop, land crossing | {per_s / 1e6:.2f} M travellers/s "
              f"({land['ratio'][1]:.0f}× SimPy){_spread(land.get('processes', []))} | "
              f"≥ {TARGETS['engine_per_s'] / 1e6:.0f} M | "
              f"{met(per_s >= TARGETS['engine_per_s'])} |"]
    if cc is not None and cli is not None:
        lines.append(f"| cold compile / cache load in a second process; a second `run` "
                     f"process, start to result | {cc['cold_compile_s']:.1f} s / "
                     f"{cc['cache_load_s']:.2f} s; {cli['second_run_s']:.2f} s | – | – |")
    return "\n".join(lines)


def plot(rows: dict[str, dict], yr: dict, path: Path) -> None:
    """Per-replication phases of each example (CPU ms) and the year's phases (CPU s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"sample": "#61a5c2", "engine": "#014f86", "kpis": "#9aa9b9"}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    names = list(rows)
    left = np.zeros(len(names))
    for p, c in colors.items():
        vals = np.array([rows[n][p][1] * 1e3 for n in names])
        ax1.barh(names[::-1], vals[::-1], left=left[::-1], color=c, label=p)
        left += vals
    for y, n in enumerate(names[::-1]):
        r = rows[n]
        ax1.text(left[::-1][y], y, f" {r['ratio'][1]:.0f}× SimPy", va="center", fontsize=8)
    ax1.set_xlabel("CPU ms per replication (72 h), fast engine")
    ax1.set_xlim(0, left.max() * 1.35)
    ax1.legend(fontsize=8, loc="lower right")
    ax1.set_title("sample + engine + KPIs; whole simulate() vs SimPy", fontsize=10)
    parts = ["sample", "engine", "kpis"]
    secs = [yr[p][1] for p in parts]
    ax2.barh(parts[::-1], secs[::-1], color=[colors[p] for p in parts[::-1]])
    ax2.set_xlabel("CPU seconds, one process, warm")
    ax2.set_title(f"a year at 30 000/day ({yr['n'] / 1e6:.1f} M travellers):\n"
                  f"{sum(secs):.1f} s in all, {yr['peak_mb'] / 1024:.2f} GB peak memory",
                  fontsize=10)
    for y, s in enumerate(secs[::-1]):
        ax2.text(s, y, f" {s:.2f} s", va="center", fontsize=8)
    ax2.axvline(TARGETS["year_s"], color="#c1121f", lw=1, ls="--")
    ax2.text(TARGETS["year_s"], 2.45, f" {TARGETS['year_s']:.0f} s target (all three)",
             color="#c1121f", fontsize=8)
    ax2.set_xlim(0, max(max(secs), TARGETS["year_s"]) * 1.4)
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path)


def machine() -> str:
    """What the numbers were measured on: the processor, the CPU Numba compiles for and
    whether it has AVX-512 (the Philox blocks' vectorised code uses it), the cores and
    the versions of Python, NumPy and Numba."""
    import platform

    import numba
    from llvmlite import binding

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    avx512 = bool(binding.get_host_cpu_features().get("avx512f"))
    return (f"{model} (Numba compiles for {binding.get_host_cpu_name()}; AVX-512 "
            f"{'yes' if avx512 else 'no'}), {os.cpu_count()} cores; Python "
            f"{platform.python_version()}, NumPy {np.__version__}, Numba {numba.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=5,
                    help="replications of each example (default 5)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="repeats of each fast timing; the best is kept (default 5)")
    ap.add_argument("--simpy-repeats", type=int, default=1,
                    help="repeats of the SimPy timings; the best is kept (default 1)")
    ap.add_argument("--days", type=int, default=365, help="days of the big run (default 365)")
    ap.add_argument("--no-compile", action="store_true",
                    help="skip the cold-compile and second-CLI-run measurements")
    ap.add_argument("--no-figure", action="store_true")
    ap.add_argument("--loop-processes", type=int, default=4,
                    help="fresh processes the engine loop is also timed in (default 4)")
    ap.add_argument("--write-readme", action="store_true",
                    help="rewrite the README's speed tables with this run's numbers")
    args = ap.parse_args()

    print(f"machine: {machine()}")
    print("per replication, fast engine, 72 hours; CPU time (wall in brackets), best of "
          f"{args.repeats} ({args.simpy_repeats} for SimPy), {args.replications} replications")
    rows = {name: scenario_row(path, args.replications, args.repeats, args.simpy_repeats)
            for name, path in EXAMPLES.items()}
    print("\n".join(table(rows)))
    for name, r in rows.items():
        extra = (r["sample"] + r["kpis"]) / r["engine"]
        print(f"  {name}: sample + KPIs = {extra[1]:.2f}× the engine (CPU; target <= 1); "
              f"simulate() fast {r['simulate_fast'][1]:.3f} s, SimPy "
              f"{r['simulate_simpy'][1]:.2f} s CPU")
    land_ratio = rows["land crossing"]["ratio"][1]
    print(f"  whole simulate() fast vs SimPy, land crossing: {land_ratio:.0f}× CPU "
          f"(target >= {TARGETS['simulate_ratio']:.0f}×)")

    land = engines_on_land(args.replications, max(1, args.simpy_repeats))
    print(f"engine loop, land crossing (24 h), {args.replications} replications, "
          f"{land['travellers']:,} travellers simulated, same inputs; traces identical: "
          f"{land['identical']}")
    print(f"  fast  {land['fast_per_s'][1]:>14,.0f} travellers/s CPU "
          f"({land['fast_per_s'][0]:,.0f} wall; target >= {TARGETS['engine_per_s']:,.0f})")
    print(f"  simpy {land['simpy_per_s'][1]:>14,.0f} travellers/s CPU; loop ratio "
          f"{land['ratio'][1]:.0f}× CPU ({land['ratio'][0]:.0f}× wall)")
    land["processes"] = loop_in_processes(args.loop_processes, args.replications)
    print(f"  fast, in {args.loop_processes} fresh processes: "
          + ", ".join(f"{r / 1e6:.2f}" for r in land["processes"]) + " M travellers/s CPU")

    yr = year(args.days)
    total = np.sum([yr[p] for p in ("sample", "engine", "kpis")], axis=0)
    print(f"30 000 travellers/day for {args.days} days, warm, fresh process: {yr['n']:,} "
          f"travellers simulated (wait mean {yr['wait_mean']:.2f} min, primary utilisation "
          f"{yr['utilization']:.2f})")
    print("  " + ", ".join(f"{p} {yr[p][1]:.2f} s" for p in ("sample", "engine", "kpis"))
          + f": total {total[1]:.2f} s CPU ({total[0]:.2f} s wall; target < "
          f"{TARGETS['year_s']:.0f} s); peak memory {yr['peak_mb'] / 1024:.2f} GB "
          f"(target < {TARGETS['year_gb']} GB)")

    ws = workshop_update(args.repeats)
    print(f"workshop update, land crossing, 5 replications: logic.run "
          f"{ws['run'][1] * 1e3:.0f} ms CPU ({ws['run'][0] * 1e3:.0f} wall); with the "
          f"trade-off curve ({ws['curve_points']} points) {ws['run_and_curve'][1] * 1e3:.0f} ms "
          f"CPU ({ws['run_and_curve'][0] * 1e3:.0f} wall); target < "
          f"{TARGETS['workshop_s'] * 1e3:.0f} ms")

    cc = cli = None
    if not args.no_compile:
        cc = compile_and_load()
        print(f"cold compile (empty NUMBA_CACHE_DIR): {cc['cold_compile_s']:.2f} s; "
              f"cache load in a second process: {cc['cache_load_s']:.3f} s "
              f"(imports before it: {cc['imports_s']:.2f} s)")
        cli = second_cli_run()
        print(f"second `borderesim run --engine fast` process: {cli['second_run_s']:.2f} s")
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
    if not args.no_figure:
        plot(rows, yr, FIGURE)
        print(f"wrote {FIGURE.relative_to(ROOT)}")
    if args.write_readme:
        from borderesim.analysis.kpis import replace_section

        tables = readme_tables(rows, land, yr, ws, cc, cli, args.repeats)
        changed = replace_section(tables, README_START, README_END, ROOT / "README.md")
        print("README.md speed tables " + ("rewritten" if changed else "already these"))


if __name__ == "__main__":
    main()
