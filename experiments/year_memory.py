"""Where the year run's memory goes: resident memory per phase of one replication.

Runs the year of ``bench_engines.py`` (the land crossing at 30 000 travellers a day for
365 days, warm, in this process) through ``bench_engines.phases`` (as
``simulate.run_replication`` runs it) and splits it into phases: sampling, the engine,
the KPIs (everything after the engine; a "drain check" when the drain is redrawn). For
each phase it prints the resident memory (``VmRSS``) before and after and the peak
during the phase (``VmHWM``, reset before the phase by writing 5 to
``/proc/self/clear_refs``, Linux), with ``tracemalloc``'s peak beside it (it sees
arrays allocated in compiled code too: numba allocates through Python's allocator; not
the interpreter's own memory from before it started), the fresh memory the phase wrote
(minor page faults times the page size: pages the kernel handed the process, each
zeroed first, however often they were freed before), and the phase's wall, user and
system seconds (system time is mostly the kernel handing the process fresh pages: on a
virtual machine the first touch of fresh memory can cost more than the work; a
replication runs without NumPy's huge-page advice, ``borderesim/run/pages.py``). Also
the MB of what a replication keeps (``Inputs``, ``Trace`` arrays by name; a stride-0
view as 0) and the whole run's ``ru_maxrss``.

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
from bench_engines import LAND, YEAR, phases  # noqa: E402


def _status(key: str) -> float:
    """A ``/proc/self/status`` value in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return float(line.split()[1]) / 1024
    return float("nan")


def _sizes(obj) -> dict[str, float]:
    """MB held by each array field of a dataclass (and of a dynamic rule's arrays)."""
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


class Meter:
    """Phases one after another: ``start(name)`` ends the running one, ``stop()`` ends it."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.running: tuple | None = None

    def start(self, name: str) -> None:
        self.stop()
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # VmHWM := VmRSS
        tracemalloc.reset_peak()
        self.running = (name, _status("VmRSS"), time.perf_counter(),
                        resource.getrusage(resource.RUSAGE_SELF))

    def stop(self) -> None:
        if self.running is None:
            return
        name, before, t0, r0 = self.running
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        self.rows.append((name, time.perf_counter() - t0, r1.ru_utime - r0.ru_utime,
                          r1.ru_stime - r0.ru_stime, before, _status("VmRSS"),
                          _status("VmHWM"), tracemalloc.get_traced_memory()[1] / 2**20,
                          (r1.ru_minflt - r0.ru_minflt) * resource.getpagesize() / 2**20))
        self.running = None


def measured_run(scenario, plan, meter: Meter | None) -> tuple[int, dict[str, float]]:
    """``bench_engines.phases`` on replication 0, its phases measured by ``meter`` (if
    given); returns the travellers and the MB of what the replication kept."""
    import borderesim.run.engines as engines
    from borderesim.run import drain

    get_engine, sample = engines.get_engine, drain.sample
    kept: dict[str, float] = {}

    def sampled(*args, **kwargs):
        if meter:
            if meter.running and meter.running[0] == "kpis":
                meter.running = ("drain check", *meter.running[1:])
            meter.start("sample")
        return sample(*args, **kwargs)

    def engine(p, inputs):
        if meter:
            meter.start("engine")
        trace = get_engine("fast")(p, inputs)
        if meter:
            meter.start("kpis")
        kept.clear()
        kept.update({**_sizes(inputs), **_sizes(trace)})
        return trace

    engines.get_engine, drain.sample = (lambda name: engine), sampled
    try:
        got = phases(scenario, plan, scenario.seed, 0, scenario.replications)
    finally:
        engines.get_engine, drain.sample = get_engine, sample
        if meter:
            meter.stop()
    return got["n"], kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=2, help="runs of the year (default 2)")
    args = ap.parse_args()

    from borderesim.model.scenario import load_scenario
    from borderesim.run.plan import make_plan

    tiny = load_scenario(LAND, ["duration=60"])
    measured_run(tiny, make_plan(tiny), None)  # kernels loaded: the runs below are warm
    scenario = load_scenario(LAND, [*YEAR, f"duration={args.days}d"])
    plan = make_plan(scenario)
    tracemalloc.start()
    for run in range(args.repeat):
        meter = Meter()
        n, kept = measured_run(scenario, plan, meter)
        print(f"run {run + 1}: {n:,} travellers simulated")
        print(f"  {'phase':11} {'wall s':>6} {'user s':>6} {'sys s':>6} {'RSS before':>11} "
              f"{'RSS after':>10} {'peak RSS':>9} {'traced peak':>12} {'fresh':>6}  (MB)")
        for name, dt, user, sys_, before, after, hwm, traced, fresh in meter.rows:
            print(f"  {name:11} {dt:6.2f} {user:6.2f} {sys_:6.2f} {before:11.0f} {after:10.0f} "
                  f"{hwm:9.0f} {traced:12.0f} {fresh:6.0f}")
        print("  kept: " + ", ".join(f"{k} {v:.0f}" for k, v in kept.items() if v >= 1))
    print(f"ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
