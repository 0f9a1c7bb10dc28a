"""Benchmark: 1000 points x 1 day of the land crossing, one replication each.

The target (issue 6) is under 60 s on 2 cores. Runs the real command
``borderesim sweep`` in a subprocess (so the time includes starting Python, validating
all points, starting the workers and writing Parquet), once with the fast engine and,
for scale, a 50-point slice with the SimPy engine. Prints measured numbers only.
Usage: .venv/bin/python experiments/bench_sweep.py [--workers 2] [--points 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LAND = ROOT / "scenarios" / "land_crossing.yaml"


def sweep_file(folder: Path, points: int, engine: str) -> Path:
    """An LHS sweep of ``points`` points over general booths and a constant arrival rate."""
    path = folder / f"bench_{engine}_{points}.yaml"
    path.write_text(yaml.safe_dump({
        "scenario": str(LAND), "replications": 1, "seed": 1, "engine": engine,
        "sample": {"method": "lhs", "n": points, "ranges": {
            "stages.primary.lanes.general.servers": [5, 10],
            "arrivals.per_hour": [150.0, 330.0]}},
    }))
    return path


def timed_sweep(path: Path, out: Path, workers: int) -> float:
    """Wall seconds of one complete ``borderesim sweep`` subprocess."""
    shutil.rmtree(out, ignore_errors=True)
    exe = Path(sys.executable).with_name("borderesim")
    t = time.perf_counter()
    done = subprocess.run([str(exe), "sweep", str(path), "--out", str(out), "--workers",
                           str(workers), "--no-progress"], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode:
        sys.exit(done.stderr)
    print("   ", done.stdout.strip().splitlines()[-1])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--simpy-points", type=int, default=50)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average before: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fast = timed_sweep(sweep_file(tmp, args.points, "fast"), tmp / "fast", args.workers)
        print(f"fast : {args.points} points x 1 day in {fast:.1f} s end to end "
              f"({args.points / fast:.1f} points/s, {args.workers} workers)")
        n = args.simpy_points
        slow = timed_sweep(sweep_file(tmp, n, "simpy"), tmp / "simpy", args.workers)
        print(f"simpy: {n} points x 1 day in {slow:.1f} s end to end ({n / slow:.2f} points/s)")
        ratio = (args.points / fast) / (n / slow)
        print(f"throughput ratio fast/simpy (incl. startup): {ratio:.1f}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
