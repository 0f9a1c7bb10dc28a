"""What touching fresh memory costs on this machine, with small pages and with huge pages.

A year of a busy crossing writes ~1.3 GB of arrays once each; on a virtual machine the
first touch of that memory can cost more than the work (``experiments/year_memory.py``
shows it as system seconds). This script isolates that cost: in a fresh Python process
it allocates one GiB with NumPy, writes one value per 4 KB page, frees it, and does so
``--rounds`` times, printing wall and system seconds of each round; once with NumPy's
huge-page advice off (``NUMPY_MADVISE_HUGEPAGE=0``: 4 KB pages) and once on
(``NUMPY_MADVISE_HUGEPAGE=1``: transparent 2 MB pages, NumPy's default on Linux, which
a replication turns off: ``borderesim/run/pages.py``), ``--processes`` fresh processes
each; and with small pages taken in one ``madvise(MADV_POPULATE_WRITE)`` call
(``pages.empty``, what a replication does for its arrays of 32 MB or more). Round 1 of
a process may meet memory the machine has never handed out before (on a virtual machine
the host backs it then); later rounds get memory the process has just freed back.

Usage: .venv/bin/python experiments/page_touch.py [--rounds 3] [--processes 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROUNDS = """
import json, resource, time
import numpy as np
from borderesim.run import pages
make = pages.empty if {populate} else np.empty
out = []
for _ in range({rounds}):
    t, s = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    a = make((1 << 30) // 8)
    a[::512] = 0.0  # one write per 4 KB page
    out.append((time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_stime - s))
    del a
print(json.dumps(out))
"""


def rounds(huge: bool, n: int, populate: bool = False) -> list[tuple[float, float]]:
    """(wall, system) seconds of each round in a fresh process (``populate``: the GiB
    allocated by ``pages.empty``, its pages taken in one ``madvise`` call)."""
    env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": "1" if huge else "0"}
    run = subprocess.run([sys.executable, "-c", ROUNDS.format(rounds=n, populate=populate)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="GiB touched per process")
    ap.add_argument("--processes", type=int, default=2, help="fresh processes per setting")
    args = ap.parse_args()
    thp = "/sys/kernel/mm/transparent_hugepage/enabled"
    if os.path.exists(thp):
        with open(thp) as f:
            print(f"transparent huge pages: {f.read().strip()}")
    for huge, populate in ((False, False), (False, True), (True, False)):
        name = ("huge pages" if huge else "small pages") + (
            ", one madvise(MADV_POPULATE_WRITE) (pages.empty)" if populate else "")
        for p in range(args.processes):
            got = rounds(huge, args.rounds, populate)
            print(f"{name}, process {p + 1}: " + "; ".join(
                f"round {k + 1} {w:.3f} s wall ({s:.3f} s system)"
                for k, (w, s) in enumerate(got)) + " per GiB")


if __name__ == "__main__":
    main()
