"""Replications spread over worker processes, with results identical to a serial run.

Replication ``r`` of seed ``s`` depends on nothing but ``(scenario, engine, s, r)``:
its random streams are keyed by the replication number, not drawn in sequence. So a
worker can run any replication on its own and the parent reassembles them in order;
the per-replication KPIs, and hence every interval, equal the serial run's bit for
bit. Works for both engines (each worker loads the fast kernels from the cache).

Workers are started with ``forkserver`` where available (else ``spawn``), never a
bare ``fork`` of a process that may hold threads. As with any ``multiprocessing``
code, a script calling this must guard its entry point with
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from ...scenario import Scenario
from ...trace import Trace

Job = tuple[Scenario, str, int, int, bool]


def _run_one(job: Job) -> tuple[dict[str, float], Trace | None]:
    """Worker: one replication's KPIs (and its trace when asked)."""
    from ...plan import make_plan
    from ...simulate import run_replication

    scenario, engine, seed, replication, keep_trace = job
    kpis, _inputs, trace = run_replication(scenario, make_plan(scenario), engine, seed,
                                           replication)
    return kpis, (trace if keep_trace else None)


def start_method() -> str:
    """The process start method used for workers."""
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def run_replications(
    scenario: Scenario, engine: str, seed: int, replications: int, workers: int,
    keep_traces: bool = False,
) -> list[tuple[dict[str, float], Trace | None]]:
    """KPIs (and traces if ``keep_traces``) of replications ``0..replications-1``, in order.

    Inputs are not sent back (a queue-aware rule holds a function, which does not
    pickle); re-sample them in the parent when needed: sampling is deterministic.
    """
    jobs = [(scenario, engine, int(seed), r, keep_traces) for r in range(replications)]
    context = multiprocessing.get_context(start_method())
    with ProcessPoolExecutor(max_workers=min(workers, replications), mp_context=context) as pool:
        return list(pool.map(_run_one, jobs))
