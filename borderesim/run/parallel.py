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

Workers never outlive the process that started them (:func:`worker_pool`): on Linux the
kernel kills a worker when its parent dies (``PR_SET_PDEATHSIG``), and everywhere a
watchdog thread in each worker exits it within a second of the parent's death; a
SIGTERM to the parent tears the pool down before the parent exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing.context import BaseContext

from ..model.scenario import Scenario
from ..model.targeting import PythonRule
from .sampling import Inputs
from .trace import Trace

Job = tuple[Scenario, str, int, int, bool, int]

WATCH_SECONDS = 0.5
"""How often (seconds) a worker checks that the process that started it is alive."""

PR_SET_PDEATHSIG = 1


def _parent_gone(owner: int, parent: int) -> bool:
    """True once the owning process ``owner`` or the direct parent ``parent`` has died."""
    if os.getppid() != parent:  # re-parented: the direct parent died
        return True
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # pragma: no cover - the pid was reused by another user
        return True
    return False


def _watch(owner: int, parent: int) -> None:
    """Worker thread: end this process as soon as its owner is gone."""
    event = threading.Event()
    while not event.wait(WATCH_SECONDS):
        if _parent_gone(owner, parent):
            os._exit(1)


def worker_init(owner: int) -> None:
    """Pool initializer: tie this worker's life to the process ``owner`` that made the pool.

    Linux: ask the kernel for SIGKILL when the direct parent dies (the owner, or the
    ``forkserver`` process, which itself exits with the owner). Everywhere: a daemon
    thread polls the parent every ``WATCH_SECONDS`` and exits the worker when it is gone
    (this also covers the moment between the worker starting and the ``prctl`` call).
    SIGINT is ignored in workers: a Ctrl-C is handled by the parent, which stops them.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: watchdog only
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _parent_gone(owner, parent):
        os._exit(1)
    threading.Thread(target=_watch, args=(owner, parent), name="parent-watchdog",
                     daemon=True).start()


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """While open, SIGTERM raises ``SystemExit(143)`` in the main thread, so ``finally``
    blocks and context managers run (pools are torn down, finished rows stored) instead
    of the process vanishing. Elsewhere than the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def kill_workers(pool: ProcessPoolExecutor) -> None:
    """Stop every worker of ``pool`` now (SIGKILL) and release the pool without waiting."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.kill()
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(timeout=5)


@contextlib.contextmanager
def worker_pool(workers: int, context: BaseContext | None = None
                ) -> Iterator[ProcessPoolExecutor]:
    """A ``ProcessPoolExecutor`` whose workers cannot outlive this process.

    Each worker runs :func:`worker_init`. While the pool is open, SIGTERM exits this
    process cleanly (:func:`sigterm_exits`). On a normal exit the pool is shut down and
    waited for; on an exception (SIGTERM, Ctrl-C, a failing task) its workers are
    killed at once. Submit from the thread that opened the pool: with ``spawn``, Linux
    signals a worker when the *thread* that started it ends.
    """
    context = context or multiprocessing.get_context(start_method())
    with sigterm_exits():
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=worker_init, initargs=(os.getpid(),))
        try:
            yield pool
        except BaseException:
            kill_workers(pool)
            raise
        pool.shutdown(wait=True)


def _run_one(job: Job) -> tuple[dict[str, float], dict, tuple[Inputs, Trace] | None]:
    """Worker: one replication's KPIs, the tails of its pooled percentiles
    (:func:`borderesim.analysis.metrics.replication_kpis`) and, when asked, its inputs and trace.

    Inputs are sent back as they are (a queue-aware ``DynamicRule`` is data); a user's
    ``PythonRule`` is code that stays in the worker: its decisions are in the trace
    (``Trace.referred``) and no KPI reads it, so the inputs travel without it.
    """
    from .plan import make_plan
    from .simulate import run_replication

    scenario, engine, seed, replication, keep_trace, replications = job
    tails: dict = {}
    kpis, inputs, trace = run_replication(scenario, make_plan(scenario), engine, seed,
                                          replication, tails, replications)
    if not keep_trace:
        return kpis, tails, None
    if isinstance(inputs.dynamic, PythonRule):
        inputs = replace(inputs, dynamic=None)
    return kpis, tails, (inputs, trace)


def start_method() -> str:
    """The process start method used for workers."""
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def run_replications(
    scenario: Scenario, engine: str, seed: int, replications: int, workers: int,
    keep_traces: bool = False,
) -> list[tuple[dict[str, float], dict, tuple[Inputs, Trace] | None]]:
    """KPIs, pooled-percentile tails (and inputs with traces if ``keep_traces``) of
    replications ``0..replications-1``, in order; the parent never re-samples."""
    jobs = [(scenario, engine, int(seed), r, keep_traces, replications)
            for r in range(replications)]
    with worker_pool(min(workers, replications)) as pool:
        return list(pool.map(_run_one, jobs))
