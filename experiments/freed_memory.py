"""Freed memory kept for the next replication, or handed back to the kernel: faults and time.

``borderesim.run.pages.keep_freed_memory`` (since 0.3.0) sets glibc's mmap and trim
thresholds so that a replication's arrays reuse the memory the previous one freed. This
script runs the same replications of each example scenario (72 hours, fast engine, as
``simulate.run_replication`` runs them: sample, engine, KPIs) in fresh processes, with
the switch on (the default) and off (``BORDERESIM_KEEP_MEMORY=0``), alternating, and
prints per replication (after the first two, which load the kernels and size the heap)
the minor page faults (fresh pages the kernel handed the process) and the wall time,
median and range over the replications of all rounds. Measured in this run, on this
machine (shared: the load average is printed).

Usage: .venv/bin/python experiments/freed_memory.py [--rounds 3] [--replications 12]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {"land crossing": "land_crossing.yaml", "airport": "airport_arrivals.yaml",
            "cargo terminal": "cargo_terminal.yaml"}
WORKER = """
import json, resource, sys, time
from borderesim.model.scenario import load_scenario
from borderesim.run.plan import make_plan
from borderesim.run.sampling import budget_checked
from borderesim.run.simulate import run_replication
scenario = load_scenario(sys.argv[1], ["duration=72h"])
plan = make_plan(scenario)
rows = []
with budget_checked(scenario):
    for r in range(int(sys.argv[2])):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.perf_counter()
        run_replication(scenario, plan, "fast", scenario.seed, r, {}, 10)
        rows.append((time.perf_counter() - t,
                     resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0))
print(json.dumps(rows[2:]))
"""


def run(path: Path, replications: int, keep: bool) -> list[tuple[float, int]]:
    """(wall seconds, minor faults) of each replication after the first two, in a fresh
    process with the switch ``keep``."""
    env = dict(os.environ, BORDERESIM_KEEP_MEMORY="1" if keep else "0")
    out = subprocess.run([sys.executable, "-c", WORKER, str(path), str(replications)],
                         env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return [tuple(row) for row in json.loads(out.stdout)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--replications", type=int, default=12)
    args = ap.parse_args()
    print(f"72-hour replications, fast engine, {args.rounds} alternating rounds of "
          f"{args.replications} replications a process (the first two left out)")
    print("| scenario | freed memory | faults a replication | ms a replication (median, range) |")
    print("|---|---|---|---|")
    for name, file in EXAMPLES.items():
        got: dict[bool, list] = {True: [], False: []}
        for _ in range(args.rounds):
            for keep in (False, True):
                got[keep] += run(ROOT / "scenarios" / file, args.replications, keep)
        for keep in (False, True):
            ms = np.array([w for w, _ in got[keep]]) * 1e3
            faults = np.array([f for _, f in got[keep]])
            spread = f"{np.median(ms):.2f} ({ms.min():.2f}–{ms.max():.2f})"
            print(f"| {name} | {'kept' if keep else 'handed back'} | "
                  f"{np.median(faults):,.0f} | {spread} |", flush=True)
    print(f"load average after the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
