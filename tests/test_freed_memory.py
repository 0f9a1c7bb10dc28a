"""A replication's memory (``run/pages.py``): freed memory kept for the next replication
(``keep_freed_memory``), a big array's pages taken in one call (``empty``).

Counted, not timed: the minor page faults (fresh pages the kernel hands the process) of
the third and fourth 72-hour airport replications in a fresh process, with the switch
on (the default) and off (``BORDERESIM_KEEP_MEMORY=0``). Without it glibc gives each
replication's arrays of a few hundred kB back to the kernel and takes them again
(about 1 580 pages a replication on the development machine); with it, nearly none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from borderesim.run import pages

resource = pytest.importorskip("resource")
AIRPORT = Path(__file__).resolve().parent.parent / "scenarios" / "airport_arrivals.yaml"

SCRIPT = """
import resource
from borderesim.model.scenario import load_scenario
from borderesim.run import drain, pages
from borderesim.run.engines import get_engine
from borderesim.run.plan import make_plan
scenario = load_scenario({path!r}, ["duration=72h"])
plan, engine = make_plan(scenario), get_engine("fast")
for r in range(4):
    if r == 2:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    drain.replay(scenario, plan, engine, scenario.seed, r)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, pages.keep_freed_memory())
"""


def _faults(keep: str) -> tuple[int, bool]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")}
    env[pages.KEEP] = keep
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(path=str(AIRPORT))], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), out[1] == "True"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_process_reuses_its_freed_memory():
    kept_faults, kept = _faults("1")
    if not kept:
        pytest.skip("malloc here is not glibc's (no mallopt)")
    faults, off = _faults("0")
    assert not off
    if faults <= 500:  # the replications' arrays are not handed back and taken again
        pytest.skip(f"this malloc keeps freed memory by itself ({faults} faults without)")
    assert kept_faults < faults / 10


POPULATE = """
import resource
import numpy as np
from borderesim.run import pages
n = (64 << 20) // 8
def faults_writing(make):
    with pages.small_pages():
        a = make(n)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        a[:] = 1.0
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(faults_writing(np.empty), faults_writing(pages.empty), pages._can_populate())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's madvise")
def test_a_big_arrays_pages_come_in_one_call():
    """``pages.empty`` of 64 MB: writing it then takes (nearly) no page fault, where a
    plain ``np.empty`` of the same size takes one a page (small pages: NumPy's huge-page
    advice off, as in a replication). In a fresh process: in one that has run
    replications, freed heap memory kept (``keep_freed_memory``) may serve both at no
    fault at all."""
    import numpy as np

    out = subprocess.run([sys.executable, "-c", POPULATE], capture_output=True, text=True,
                         check=True).stdout.split()
    plain, populated, can = int(out[0]), int(out[1]), out[2] == "True"
    if not can:
        pytest.skip("no MADV_POPULATE_WRITE here (Linux < 5.14)")
    assert populated < 32 <= plain  # 16 384 pages of 4 kB (32 where huge pages are forced)
    small = pages.empty(1000)
    assert small.shape == (1000,) and small.dtype == np.float64
