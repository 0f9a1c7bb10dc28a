"""How a replication's arrays get their memory: small pages, not NumPy's huge-page advice,
and freed memory kept for the next replication.

On Linux NumPy asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on
every array of 4 MB or more. A replication writes each of its big arrays once or twice
from one end to the other (sampled inputs, the trace, the KPI pass), so huge pages save
it little address translation; but where the kernel must first find or assemble free
2 MB blocks, or (on a virtual machine) the host must back fresh guest memory, the first
touch of each huge page costs more than the work done on it. Measured on the
development machine (a 2-core VM, THP ``enabled`` and ``defrag`` both ``madvise``) with
``experiments/year_memory.py --repeat 2`` (a year of a 30 000-a-day crossing, 1.3 GB):
the first replication in a fresh process spends 2.3 s of system time with the advice
and 0.65–0.75 s without; a second one in the same process, on memory the host backs
by then, 0.37 s with it and 0.66 s without. So without the advice every replication
takes about 2.7 s (wall), where with it the first takes 4.2 s and the next ones 2.3 s:
the same total over a few replications, and no first run a planner waits on for half
again as long. The values computed never depend on it; only the time the kernel takes.

Measured again on a second machine (an AMD EPYC 2-core VM, the same THP settings; three
alternating pairs of ``year_memory.py --repeat 2`` with ``NUMPY_MADVISE_HUGEPAGE=0`` and
``1``): the first replication of a fresh process took 3.38-3.70 s wall (1.03-1.12 s
system) without the advice and 5.69-6.26 s (3.30-3.88 s system) with it; the second one
3.19-3.82 s without and 2.77-3.20 s with. Minutes after that VM had booted, huge pages
had come out ahead even in a fresh process (every first touch was slow then, small pages
too): ``experiments/page_touch.py`` measures the two kinds of page on a machine.

:func:`small_pages` turns the advice off while a replication runs
(``simulate.run_replication``: serial runs, workers and sweeps alike) and restores
NumPy's setting after. A user who sets NumPy's own switch, the environment variable
``NUMPY_MADVISE_HUGEPAGE`` (``1`` keeps huge pages), is left NumPy's choice.
Arrays under 4 MB (a 72-hour run of the example scenarios) never get the advice, so
for them nothing changes.

**Freed memory kept** (:func:`keep_freed_memory`, since 0.3.0). glibc's ``malloc``
serves a block over its *mmap threshold* with fresh pages from the kernel and gives
them back when it is freed, and trims the top of its heap once more than its *trim
threshold* is free there; both thresholds start at 128 kB and rise by themselves only
partly. So each replication of the airport example (72 h, arrays of a few hundred kB
to 1 MB) took several hundred to 1 600 fresh pages from the kernel, one page fault each:
``python experiments/freed_memory.py`` measured 736 faults and 11.29 ms a replication
(median) against none and 8.86 ms with freed memory kept. The first
:func:`sampling.sample <borderesim.run.sampling.sample>` of a process sets the mmap
threshold to glibc's largest (32 MB) and the trim threshold to :data:`TRIM`
(``mallopt``), so blocks up to 32 MB come from the heap and up to :data:`TRIM` of freed
heap stays with the process for the next replication instead of going back to the
kernel: a process's memory stays near its peak while it runs (a larger array is mapped
fresh unless the kept heap has room for it, and given back when freed). Not done when
``malloc`` is not glibc's, when the user set glibc's own ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` or ``GLIBC_TUNABLES``, or with ``BORDERESIM_KEEP_MEMORY=0``.

**A big array's pages in one call** (:func:`empty`, since 0.3.0). An array of 32 MB or
more (a year's arrival times, service times, trace and KPI buffer) is above the mmap
threshold, so mostly fresh memory for every replication. :func:`empty` asks the kernel
for all its pages at once (``madvise(MADV_POPULATE_WRITE)``, Linux 5.14 and later) instead
of taking one page fault each as the array is first written: ``python
experiments/page_touch.py`` wrote a fresh GiB in 0.44-0.54 s that way against 0.57-0.67 s
by faults (small pages, three rounds in each of two fresh processes, this workplace's
machine; the README's run). In three alternating pairs of ``python
experiments/year_memory.py`` runs the year's replication in a fresh process took
3.41-3.79 s with it against 3.95-3.99 s without (trace and service times populated then;
the arrival times and the KPI buffer since). A process that has freed memory of that size
may serve it from its heap without any fault (above).
Nowhere else than Linux, or with ``BORDERESIM_KEEP_MEMORY=0``, it is ``np.empty``.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

try:  # NumPy >= 2
    from numpy._core.multiarray import _set_madvise_hugepage as _numpy_advice
except ImportError:  # pragma: no cover - NumPy 1.26
    try:
        from numpy.core.multiarray import _set_madvise_hugepage as _numpy_advice
    except ImportError:  # a NumPy without the switch: nothing to turn off
        _numpy_advice = None

ENV = "NUMPY_MADVISE_HUGEPAGE"
"""NumPy's own switch, read when NumPy is imported; when set, borderesim leaves it alone."""


def _switch() -> Callable[[bool], bool] | None:
    """NumPy's ``_set_madvise_hugepage(enabled) -> previous``, or None when borderesim
    leaves the advice alone (the user set :data:`ENV`, or NumPy has no such switch)."""
    return None if ENV in os.environ else _numpy_advice


@contextmanager
def small_pages() -> Iterator[None]:
    """Within this block NumPy does not advise huge pages for new arrays (module
    docstring); NumPy's previous setting is restored after, also on an error."""
    switch = _switch()
    if switch is None:
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 32 << 20
"""glibc's largest mmap threshold on 64-bit (``DEFAULT_MMAP_THRESHOLD_MAX``)."""
TRIM = 256 << 20
"""Freed heap memory a process keeps (bytes)."""
KEEP = "BORDERESIM_KEEP_MEMORY"
_GLIBC_OWN = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Keep freed memory for the next replication (module docstring), once per process;
    whether it is kept. A no-op after the first call."""
    global _kept
    if _kept is None:
        _kept = False
        if os.environ.get(KEEP, "1") != "0" and not any(v in os.environ for v in _GLIBC_OWN):
            _kept = _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(M_TRIM_THRESHOLD, TRIM)
    return _kept


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    """The process's own symbols (the C library it runs on), ``madvise``'s argument types
    set once; None where there are none."""
    try:
        lib = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - no dynamic loader
        return None
    if hasattr(lib, "madvise"):
        lib.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return lib


def _mallopt(param: int, value: int) -> bool:
    """glibc's ``mallopt(param, value)``; False where there is no such function."""
    fn = getattr(_libc(), "mallopt", None)
    return fn is not None and bool(fn(ctypes.c_int(param), ctypes.c_int(value)))


MADV_POPULATE_WRITE = 23  # Linux >= 5.14
POPULATE_FROM = MMAP_THRESHOLD
"""Arrays of at least this many bytes get their pages in one call (:func:`empty`): those
glibc maps fresh from the kernel."""
_PAGE = 4096
_populate: bool | None = None


def empty(shape: int | tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """``np.empty(shape, dtype)``; a big one's pages faulted in by one
    ``madvise(MADV_POPULATE_WRITE)`` (module docstring), not one fault a page as it is
    first written. The values are unset either way."""
    out = np.empty(shape, dtype)
    if out.nbytes >= POPULATE_FROM and _can_populate():
        start = (out.ctypes.data + _PAGE - 1) & ~(_PAGE - 1)
        end = (out.ctypes.data + out.nbytes) & ~(_PAGE - 1)
        if end > start:
            _madvise(start, end - start)
    return out


def _can_populate() -> bool:
    global _populate
    if _populate is None:
        _populate = os.environ.get(KEEP, "1") != "0" and _madvise(0, 0) == 0
    return _populate


def _madvise(start: int, length: int) -> int:
    """``madvise(start, length, MADV_POPULATE_WRITE)``; -1 where it fails or is missing."""
    fn = getattr(_libc(), "madvise", None)
    if fn is None:  # pragma: no cover - no madvise
        return -1
    return int(fn(start, length, MADV_POPULATE_WRITE))
