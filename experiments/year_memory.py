"""Where the year run's memory goes: resident memory per phase of one replication.

Runs the year of ``bench_engines.py`` (the land crossing at 30 000 travellers a day for
365 days, warm, in this process) as ``simulate.run_replication`` runs it, phase by
phase: sampling, the engine, the KPIs. For each phase it prints the resident memory
(``VmRSS``) before and after and the peak during the phase (``VmHWM``, reset before
the phase by writing 5 to ``/proc/self/clear_refs``, Linux), with ``tracemalloc``'s
peak beside it (it sees arrays allocated in compiled code too: numba allocates
through Python's allocator; not the interpreter's own memory from before it started),
and the phase's wall, user and system seconds (system time is mostly the kernel
handing the process fresh pages: on a virtual machine the first touch of fresh memory
can cost more than the work). Also the MB of what a replication keeps (``Inputs``,
``Trace`` arrays by name; a stride-0 view as 0) and the whole run's ``ru_maxrss``.

Usage: .venv/bin/python experiments/year_memory.py [--days 365] [--repeat 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import LAND, YEAR  # noqa: E402


def _status(key: str) -> float:
    """A ``/proc/self/status`` value in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return float(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    tracemalloc.reset_peak()


def _sizes(obj) -> dict[str, float]:
    """MB of each array field of a dataclass (and of a dynamic rule's arrays)."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            held = 0 if 0 in value.strides else value.nbytes
            out[f"{f.name} {value.dtype}"] = held / 2**20
        elif dataclasses.is_dataclass(value):
            for k, v in _sizes(value).items():
                out[f"{f.name}.{k}"] = v
    return out


def one_run(scenario, plan, engine, phase) -> tuple[int, dict[str, float]]:
    """One replication as ``simulate.run_replication`` runs it, each phase timed by
    ``phase(name, fn)``; returns the travellers and the MB of what it kept."""
    from borderesim.analysis.metrics import replication_kpis
    from borderesim.analysis.outcomes import Outcome
    from borderesim.analysis.overload import lane_hours
    from borderesim.run import drain

    inputs, trace = drain.replay(scenario, plan,
                                 lambda p, inp: phase("engine", lambda: engine(p, inp)),
                                 scenario.seed, 0)
    samples: dict = {}

    def kpis():
        k = replication_kpis(scenario, plan, inputs, trace, samples, scenario.replications)
        samples["lane_hours"] = lane_hours(Outcome(plan, inputs, trace))
        return k

    phase("kpis", kpis)
    return inputs.n, {**_sizes(inputs), **_sizes(trace)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=2, help="runs of the year (default 2)")
    args = ap.parse_args()

    from borderesim.model.scenario import load_scenario
    from borderesim.run import drain
    from borderesim.run.engines import get_engine
    from borderesim.run.plan import make_plan

    engine = get_engine("fast")
    tiny = load_scenario(LAND, ["duration=60"])
    one_run(tiny, make_plan(tiny), engine, lambda name, fn: fn())  # kernels loaded
    scenario = load_scenario(LAND, [*YEAR, f"duration={args.days}d"])
    plan = make_plan(scenario)
    tracemalloc.start()
    rows = []

    def phase(name: str, fn):
        before = _status("VmRSS")
        _reset_peak()
        t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        out = fn()
        dt, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
        rows.append((name, dt, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime, before,
                     _status("VmRSS"), _status("VmHWM"),
                     tracemalloc.get_traced_memory()[1] / 2**20))
        return out

    sample = drain.sample

    def sampled(*a, **k):
        return phase("sample", lambda: sample(*a, **k))

    drain.sample = sampled
    for run in range(args.repeat):
        rows.clear()
        n, kept = one_run(scenario, plan, engine, phase)
        print(f"run {run + 1}: {n:,} travellers")
        print(f"  {'phase':8} {'wall s':>6} {'user s':>6} {'sys s':>6} {'RSS before':>11} "
              f"{'RSS after':>10} {'peak RSS':>9} {'traced peak':>12}  (MB)")
        for name, dt, user, sys_, before, after, hwm, traced in rows:
            print(f"  {name:8} {dt:6.2f} {user:6.2f} {sys_:6.2f} {before:11.0f} {after:10.0f} "
                  f"{hwm:9.0f} {traced:12.0f}")
        print("  kept: " + ", ".join(f"{k} {v:.0f}" for k, v in kept.items() if v >= 1))
    print(f"ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
