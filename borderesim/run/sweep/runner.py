"""Run a sweep: every (point, replication) is one task, computed serially, in a local
process pool, or on a Dask distributed cluster, and stored as it finishes.

A task loads the base scenario with the point's values set, then runs replication ``r``
with the sweep's seed (``simulate.run_replication``): the same travellers for every
point (common random numbers), and the same row wherever the task runs. Tasks are
shipped in small chunks (tasks of one point stay together, so a point is validated
once per chunk); the chunking never changes a row.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ...errors import ScenarioError
from ...output.tables import printable
from ..plan import make_plan
from ..simulate import choose_engine, run_replication
from .progress import Progress
from .spec import SweepSpec, column_value, point_scenario
from .store import ResultStore


@dataclass(frozen=True)
class Job:
    """A chunk of tasks with everything a worker needs (picklable; no shared state)."""

    base: dict[str, Any]
    values: dict[int, dict[str, Any]]
    engines: dict[int, str]
    kinds: dict[str, str]
    seed: int
    tasks: tuple[tuple[int, int], ...]
    region_file: str | None = None
    """Set for a region sweep (``base`` is a region mapping; rows hold ``region.*`` KPIs)."""
    replications: int = 10
    """The sweep's replications (sizes a region's pooled-percentile tails)."""


def run_job(job: Job) -> list[dict[str, Any]]:
    """Compute the rows of a chunk: one per (point, replication), KPIs as floats."""
    rows, cache = [], {}
    for point, rep in job.tasks:
        if job.region_file is not None:
            from ..region.sweep import point_region, row_kpis

            if point not in cache:
                cache = {point: point_region(job.base, job.values[point], job.region_file)}
            kpis = row_kpis(cache[point], job.engines[point], job.seed, rep,
                            job.replications)
        else:
            if point not in cache:
                scenario = point_scenario(job.base, job.values[point])
                cache = {point: (scenario, make_plan(scenario))}
            scenario, plan = cache[point]
            kpis, _, _ = run_replication(scenario, plan, job.engines[point], job.seed, rep)
        row: dict[str, Any] = {p: column_value(v, job.kinds[p])
                               for p, v in job.values[point].items()}
        row.update(point=point, replication=rep, seed=job.seed, engine=job.engines[point])
        row.update(kpis)
        rows.append(row)
    return rows


def chunk(todo: list[tuple[int, int]], size: int) -> list[tuple[tuple[int, int], ...]]:
    """Split ``todo`` (sorted by point) into runs of at most ``size`` tasks."""
    return [tuple(todo[i:i + size]) for i in range(0, len(todo), size)]


def resolve_engines(spec: SweepSpec, points: set[int]) -> tuple[dict[int, str], list[str]]:
    """The concrete engine of each point (``auto`` resolved here, once, for every worker)."""
    engines, notes = {}, []
    for i in sorted(points):
        if spec.region_file is not None:
            from ..region.sweep import resolved_engine

            engines[i] = resolved_engine(spec.scenario_for(i), spec.engine)
            continue
        name, reason = choose_engine(spec.scenario_for(i), spec.engine)
        engines[i] = name
        if reason and reason not in notes:
            notes.append(reason)
    return engines, notes


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity where the platform reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


# --------------------------------------------------------------------------- backends

Backend = Callable[[list[Job]], Iterator[list[dict[str, Any]]]]


def serial(jobs: list[Job]) -> Iterator[list[dict[str, Any]]]:
    """Run the jobs one after another in this process."""
    for job in jobs:
        yield run_job(job)


def process_pool(workers: int) -> Backend:
    """Run the jobs on ``workers`` local processes (spawned, so nothing is inherited).

    The workers end with this process, whatever kills it (``parallel.worker_pool``).
    """

    def run(jobs: list[Job]) -> Iterator[list[dict[str, Any]]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        from ..parallel import worker_pool

        with worker_pool(workers, multiprocessing.get_context("spawn")) as pool:
            pending: set = set()
            queue = iter(jobs)
            for job in queue:
                pending.add(pool.submit(run_job, job))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    for job in queue:
                        pending.add(pool.submit(run_job, job))
                        break
                    yield fut.result()

    return run


def dask_cluster(address: str) -> Backend:
    """Run the jobs on the Dask distributed scheduler at ``address`` (e.g. tcp://host:8786).

    Workers need borderesim installed (the same version). The cluster is left running.
    """

    def run(jobs: list[Job]) -> Iterator[list[dict[str, Any]]]:
        from .deps import need

        need("distributed")
        from distributed import Client, as_completed

        try:  # connect timeout: dask config distributed.comm.timeouts.connect (30 s)
            client = Client(address)
        except (OSError, TimeoutError) as exc:
            raise ScenarioError(f"cannot reach the Dask scheduler: {exc}", None,
                                "--scheduler") from None
        try:
            futures = [client.submit(run_job, job, pure=False) for job in jobs]
            for fut in as_completed(futures):
                yield fut.result()
                fut.release()
        finally:
            client.close()

    return run


# --------------------------------------------------------------------------- orchestration


@dataclass
class SweepRun:
    """What one invocation did: tasks computed now and found done before, wall seconds."""

    out: Path
    total: int
    computed: int
    already_done: int
    seconds: float
    backend: str
    engines: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    tty: bool | None = None,
    flush_seconds: float = 2.0,
    chunk_size: int | None = None,
) -> SweepRun:
    """Compute every (point, replication) of ``spec`` not yet stored in ``out``.

    ``workers``: local processes (default: all cores; 1 runs in this process).
    ``scheduler``: a Dask scheduler address; the sweep then runs on that cluster.
    Finished rows are written at least every ``flush_seconds`` (wall seconds), so a
    crash loses at most that much work and never a written row; on SIGTERM (or Ctrl-C)
    the rows finished so far are written before the process exits.
    """
    t0 = time.monotonic()
    out = Path(out)
    if scheduler:
        backend, name = dask_cluster(scheduler), f"dask {scheduler}"
        width = 8
    else:
        workers = workers or usable_cores()
        width = workers
        backend, name = (serial, "serial") if workers == 1 else (
            process_pool(workers), f"{workers} processes")
    from ..parallel import sigterm_exits

    def warn(message: str) -> None:
        print(f"borderesim: warning: {printable(message)}", file=stream if stream is not None
              else sys.stderr, flush=True)

    with sigterm_exits(), ResultStore(out, spec, warn=warn) as store:
        done = store.done()
        todo = [(p, r) for p in range(len(spec.points)) for r in range(spec.replications)
                if (p, r) not in done]
        engines, notes = resolve_engines(spec, {p for p, _ in todo})
        size = chunk_size or (spec.replications if width == 1
                              else max(1, min(64, math.ceil(len(todo) / (width * 8)))))
        kinds = spec.column_kinds()
        jobs = []
        for tasks in chunk(todo, size):
            pts = sorted({p for p, _ in tasks})
            jobs.append(Job(spec.base, {p: spec.points[p] for p in pts},
                            {p: engines[p] for p in pts}, kinds, spec.seed, tasks,
                            spec.region_file, spec.replications))
        bar = Progress(spec.n_tasks, len(done), stream, tty) if progress and todo else None
        if bar is not None:
            bar.start()
            for note in notes:
                bar.message(f"note: {note}")
        buffer: list[dict[str, Any]] = []
        last = time.monotonic()
        computed = 0
        try:
            for rows in backend(jobs):
                buffer.extend(rows)
                computed += len(rows)
                if bar is not None:
                    bar.advance(len(rows))
                if time.monotonic() - last >= flush_seconds:
                    ready, buffer = buffer, []  # never written twice, even if append fails
                    store.append(ready)
                    last = time.monotonic()
        finally:
            store.append(buffer)  # whatever finished, even when interrupted
            if bar is not None:
                bar.close()
    used: dict[str, int] = {}
    for p, _ in todo:
        used[engines[p]] = used.get(engines[p], 0) + 1
    return SweepRun(out, spec.n_tasks, computed, len(done), time.monotonic() - t0, name,
                    used, notes)
