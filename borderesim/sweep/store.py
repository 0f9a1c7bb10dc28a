"""Where a sweep keeps its results: a manifest and a Parquet dataset of part files.

``DIR/results.parquet/`` is a folder of part files; ``pandas.read_parquet`` reads it as
one table. Each part is written to ``DIR/.tmp/`` and moved into place with
``os.replace`` (atomic), so a sweep killed at any moment leaves only whole parts: the
rows it holds are exactly the (point, replication) pairs finished, each once. A rerun
reads which pairs exist and computes only the rest. ``DIR/manifest.json`` records the
sweep file, the resolved base scenario, the points and the package version; a rerun of
a different sweep into the same folder is refused. ``DIR/.lock`` (``flock``) keeps two
runs from writing the same folder at once.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ScenarioError
from .spec import META_COLUMNS, SweepSpec

RESULTS = "results.parquet"
MANIFEST = "manifest.json"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, tmp_dir: Path) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = tmp_dir / f"{path.name}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def manifest_for(spec: SweepSpec) -> dict[str, Any]:
    """The manifest recording what made a sweep's rows."""
    return {
        "borderesim_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "sweep_file": str(Path(spec.source).resolve()),
        "sweep": spec.settings,
        "scenario_file": str(Path(spec.scenario_path).resolve()),
        "base_scenario": spec.base,
        "method": spec.method,
        "paths": list(spec.paths),
        "integer_paths": list(spec.integer),
        "replications": spec.replications,
        "seed": spec.seed,
        "engine": spec.engine,
        "n_points": len(spec.points),
        "points": list(spec.points),
        "fingerprint": spec.fingerprint(),
    }


class ResultStore:
    """The results folder of one sweep; use as a context manager (holds the lock)."""

    def __init__(self, out: Path, spec: SweepSpec):
        self.out = Path(out)
        self.spec = spec
        self.parts = self.out / RESULTS
        self.tmp = self.out / ".tmp"
        self.columns: list[str] = []
        self.kinds = spec.column_kinds()
        self._lock_fh: Any = None
        self._seq = 0

    # ----------------------------------------------------------------- open / close

    def __enter__(self) -> ResultStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> set[tuple[int, int]]:
        """Lock the folder, check or write the manifest; return the pairs already done."""
        from .deps import need

        need("pandas", "pyarrow")
        if self.out.exists() and not self.out.is_dir():
            raise ScenarioError("--out must be a folder, this is a file", str(self.out))
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock()
        self.tmp.mkdir(exist_ok=True)
        for stale in self.tmp.iterdir():  # left by a run killed while writing
            stale.unlink()
        self._check_manifest()
        self.parts.mkdir(exist_ok=True)
        self._unify_schemas()
        return self.done()

    def close(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    def _lock(self) -> None:
        self._lock_fh = open(self.out / ".lock", "a+")  # noqa: SIM115 - held while open
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            return
        try:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_fh.close()
            self._lock_fh = None
            raise ScenarioError("another sweep is writing to this folder right now",
                                str(self.out)) from None

    def _check_manifest(self) -> None:
        path = self.out / MANIFEST
        mine = manifest_for(self.spec)
        if not path.exists():
            others = [p.name for p in self.out.iterdir()
                      if not p.name.startswith(".") and p.name != RESULTS]
            if others or any(self.parts.glob("*.parquet")):
                raise ScenarioError(
                    f"folder is not empty and holds no {MANIFEST}; choose a new --out folder",
                    str(self.out))
            atomic_write_bytes(path, json.dumps(mine, indent=2, default=str).encode(),
                               self.tmp)
            return
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"cannot read {MANIFEST}: {exc}", str(self.out)) from None
        if old.get("fingerprint") != mine["fingerprint"]:
            differs = [k for k in ("base_scenario", "paths", "points", "replications", "seed",
                                   "engine") if old.get(k) != json.loads(json.dumps(mine[k]))]
            what = ", ".join(differs) or "settings"
            raise ScenarioError(
                f"this folder holds results of a different sweep ({old.get('sweep_file')}; "
                f"differs in {what}); use another --out folder or delete this one",
                str(self.out))

    # ----------------------------------------------------------------- reading

    def part_files(self) -> list[Path]:
        """The finished part files, in name order."""
        return sorted(self.parts.glob("part-*.parquet"))

    def done(self) -> set[tuple[int, int]]:
        """(point, replication) pairs already stored."""
        import pyarrow.parquet as pq

        out: set[tuple[int, int]] = set()
        for f in self.part_files():
            t = pq.read_table(f, columns=["point", "replication"])
            out.update(zip(t.column("point").to_pylist(), t.column("replication").to_pylist(),
                           strict=True))
        return out

    def _unify_schemas(self) -> None:
        """Give every part the same columns (a run may have died while widening them)."""
        import pyarrow.parquet as pq

        files = self.part_files()
        names: list[str] = []
        for f in files:
            names += [n for n in pq.read_schema(f).names if n not in names]
        self.columns = names
        for f in files:
            if pq.read_schema(f).names != names:
                self._rewrite(f)

    def _rewrite(self, f: Path) -> None:
        import pyarrow.parquet as pq

        self._write(self._table(pq.read_table(f).to_pylist()), f)

    # ----------------------------------------------------------------- writing

    def _table(self, rows: list[dict[str, Any]]):
        """Rows as an Arrow table with this folder's columns and types, sorted by key."""
        import pyarrow as pa

        rows = sorted(rows, key=lambda r: (r["point"], r["replication"]))
        types = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
        cols = {}
        for c in self.columns:
            if c in self.kinds:
                typ = types.get(self.kinds[c], pa.string())
            elif c in META_COLUMNS:
                typ = pa.string() if c == "engine" else pa.int64()
            else:
                typ = pa.float64()
            values = [r.get(c) for r in rows]
            if typ == pa.float64():
                values = [float("nan") if v is None else float(v) for v in values]
            cols[c] = pa.array(values, type=typ)
        return pa.table(cols)

    def _write(self, table, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        atomic_write_bytes(path, sink.getvalue().to_pybytes(), self.tmp)

    def append(self, rows: list[dict[str, Any]]) -> Path | None:
        """Store ``rows`` (each a finished (point, replication)) as one new part, atomically."""
        if not rows:
            return None
        new = [c for r in rows for c in r if c not in self.columns]
        if new:
            lead = list(self.spec.paths) + list(META_COLUMNS)
            cols = list(dict.fromkeys([*lead, *self.columns, *new]))
            self.columns = [c for c in lead if c in cols] + [c for c in cols if c not in lead]
            for f in self.part_files():  # widen older parts; rare (a KPI only some points have)
                self._rewrite(f)
        self._seq += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}.parquet"
        path = self.parts / name
        self._write(self._table(rows), path)
        return path


def load_results(out: str | Path):
    """All rows of the sweep in ``out`` as a DataFrame sorted by (point, replication)."""
    from .deps import need

    need("pandas", "pyarrow")
    import pandas as pd

    folder = Path(out) / RESULTS
    if not folder.is_dir() or not any(folder.glob("part-*.parquet")):
        raise ScenarioError("no results yet (run the sweep first)", str(out))
    df = pd.read_parquet(folder)
    return df.sort_values(["point", "replication"]).reset_index(drop=True)


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of the sweep in ``out``."""
    path = Path(out) / MANIFEST
    if not path.exists():
        raise ScenarioError(f"no {MANIFEST} here; not a sweep folder", str(out))
    return json.loads(path.read_text())
