"""Time of one region replication (``simulate_region``, fast engine) on the example regions.

A replication is the run of the day with posted waits plus its replay with nobody
informed (the value of information), as ``simulate_region`` does it. Printed per
replication, after a warm-up (kernels compiled or loaded): the median and best wall time
and the process's CPU time (steadier on a shared machine), with the load average.

    python experiments/bench_region_replication.py [--repeats 5] [--replications 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from borderesim.run.region import load_region, simulate_region

REGIONS = Path(__file__).resolve().parent.parent / "scenarios" / "region"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--replications", type=int, default=3)
    args = parser.parse_args()
    reps = args.replications
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; per replication, "
          f"{args.repeats} calls of {reps} replications")
    for name in ("north", "incident"):
        region = load_region(REGIONS / f"{name}.yaml")
        simulate_region(region, "fast", 1)  # warm
        wall, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            simulate_region(region, "fast", reps)
            wall.append((time.perf_counter() - t) / reps)
            cpu.append((time.process_time() - c) / reps)
        print(f"  {name}: wall {statistics.median(wall) * 1e3:.0f} ms (best "
              f"{min(wall) * 1e3:.0f}), CPU {statistics.median(cpu) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
