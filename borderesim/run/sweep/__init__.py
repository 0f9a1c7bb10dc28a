"""Parameter sweeps: many scenario variants, run locally or on a Dask cluster.

``load_sweep(file)`` reads and validates a sweep file; ``run_sweep(spec, out)`` computes
every (point, replication) not yet stored in ``out``; ``load_results(out)`` reads the rows.
Optional dependencies (the ``sweep`` extra: dask[distributed], SALib, pandas, pyarrow)
are imported only when used.
"""

from __future__ import annotations

from .runner import SweepRun, run_sweep
from .spec import SweepSpec, load_sweep
from .store import load_results, read_manifest

__all__ = ["SweepRun", "SweepSpec", "load_results", "load_sweep", "read_manifest", "run_sweep"]
