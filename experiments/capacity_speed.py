"""Benchmark: what the capacity search pays per replay, beside the engine.

Every roster the search (``borderesim gap``, ``borderesim plan``) tries is replayed on
each sampled day and judged from a few sums per replay (``Evaluator.rep_stats``: who
queued in each lane by hour, each wait rule's sums, stranded lane-hours). This times,
per replication of each example scenario (24 hours, the search's targets of
``tests/test_capacity_kernel.py``), the engine's replay, the compiled sums
(``analysis/capacity/kernel.py``) and their plain NumPy statement
(``borderesim.testing.reference_capacity``, what the search ran before), under the
scenario's roster and under one closed from 03:00 to 05:00 (travellers stranded).
Wall milliseconds, best of ``--repeats``; the load average is printed.

Usage: .venv/bin/python experiments/capacity_speed.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))
from bench_engines import machine  # noqa: E402

REPLICATIONS = 3


def best_ms(work, repeats: int) -> float:
    """Best wall milliseconds of ``work()`` a replication (after one call to warm up)."""
    work()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t)
    return best * 1e3 / REPLICATIONS


def row(ev, roster, repeats: int) -> tuple[int, float, float, float]:
    """Travellers a replication, then the engine's, the NumPy sums' and the compiled
    sums' milliseconds a replication under ``roster``."""
    from borderesim.testing import reference_capacity

    runs = [ev.replay(roster, r) for r in range(REPLICATIONS)]
    pairs = [(p, ev.inputs[r], tr) for r, (p, tr) in enumerate(runs)]
    engine = best_ms(lambda: [ev.engine(p, i) for p, i, _ in pairs], repeats)
    numpy = best_ms(lambda: [reference_capacity.rep_stats(ev, *x) for x in pairs], repeats)
    compiled = best_ms(lambda: [ev.rep_stats(*x) for x in pairs], repeats)
    return sum(i.n for _, i, _ in pairs) // REPLICATIONS, engine, numpy, compiled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    from tests.test_capacity_kernel import evaluator

    print(machine())
    print("| scenario | roster | travellers | engine | sums, NumPy | sums, compiled | faster |")
    print("|---|---|---|---|---|---|---|")
    for name in ("land_crossing", "airport_arrivals", "cargo_terminal"):
        ev = evaluator(name, ["duration=24h"], replications=REPLICATIONS)
        closed = ev.plan.roster.copy()
        closed[:, 3:5] = 0
        for label, roster in (("as scheduled", ev.plan.roster), ("closed 03-05", closed)):
            n, engine, numpy, compiled = row(ev, roster, args.repeats)
            print(f"| {name} | {label} | {n:,} | {engine:.3f} ms | {numpy:.3f} ms "
                  f"| {compiled:.3f} ms | {numpy / compiled:.1f}× |", flush=True)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
