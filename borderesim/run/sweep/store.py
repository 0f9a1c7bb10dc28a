"""Where a sweep keeps its results: a manifest and a Parquet dataset of part files.

``DIR/results.parquet/`` is a folder of part files; ``pandas.read_parquet`` reads it as
one table. Each part is written to ``DIR/.tmp/`` and moved into place with
``os.replace`` (atomic), so a sweep killed at any moment leaves only whole parts: the
rows it holds are exactly the (point, replication) pairs finished, each once. A rerun
reads which pairs exist and computes only the rest. ``DIR/manifest.json`` records the
sweep file, the resolved base scenario, the points and the package version; a rerun of
a different sweep into the same folder is refused. ``DIR/.lock`` (``flock``) keeps two
runs from writing the same folder at once.

Only files named exactly as this store names its parts (``PART_NAME``) are read. When a
run opens the folder, anything else in ``results.parquet/`` (a sync tool's
``part-X (1).parquet``, a stray file), a part that cannot be read (truncated, empty,
random bytes), and a part whose rows are not this sweep's or repeat a (point,
replication) already held by another part are moved to ``DIR/quarantine/`` (never
deleted), named in one warning line each, and their rows are computed again. So every
(point, replication) is stored exactly once.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ... import __version__
from ...errors import ScenarioError
from .spec import META_COLUMNS, SweepSpec

RESULTS = "results.parquet"
MANIFEST = "manifest.json"
QUARANTINE = "quarantine"
PART_NAME = re.compile(r"part-\d{20}-\d+-\d{6}\.parquet")
"""The exact name of a part this store writes: ``part-<time ns>-<pid>-<sequence>.parquet``."""


def _stderr_warning(message: str) -> None:
    print(f"borderesim: warning: {message}", file=sys.stderr)


def is_part(path: Path) -> bool:
    """True when ``path`` is named as this store names its part files."""
    return PART_NAME.fullmatch(path.name) is not None


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

    def __init__(self, out: Path, spec: SweepSpec,
                 warn: Callable[[str], None] = _stderr_warning):
        self.out = Path(out)
        self.warn = warn
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
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(f"cannot create this folder: {exc.strerror or exc}",
                                str(self.out), "--out") from None
        if not os.access(self.out, os.W_OK | os.X_OK):
            raise ScenarioError("cannot write into this folder (permission denied)",
                                str(self.out), "--out")
        self._lock()
        self.tmp.mkdir(exist_ok=True)
        for stale in self.tmp.iterdir():  # left by a run killed while writing
            stale.unlink()
        self._check_manifest()
        self.parts.mkdir(exist_ok=True)
        self._screen_parts()
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
            if others or (self.parts.is_dir() and any(self.parts.iterdir())):
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
                                   "engine", "borderesim_version")
                       if old.get(k) != json.loads(json.dumps(mine[k]))]
            what = ", ".join(differs) or "settings"
            raise ScenarioError(
                f"this folder holds results of a different sweep ({old.get('sweep_file')}; "
                f"differs in {what}); use another --out folder or delete this one",
                str(self.out))

    # ----------------------------------------------------------------- reading

    def part_files(self) -> list[Path]:
        """The finished part files (named exactly as this store names them), in name order."""
        return part_files(self.parts)

    def _screen_parts(self) -> None:
        """Set aside every file of the results folder that is not a sound part of this sweep.

        Sound: named by ``PART_NAME``, readable, with integer ``point`` and
        ``replication`` inside the sweep, this sweep's seed, and no (point, replication)
        that an earlier part (name order) already holds.
        """
        import pyarrow.parquet as pq

        seen: set[tuple[int, int]] = set()
        for f in sorted(self.parts.iterdir()):
            if not is_part(f):
                self._quarantine(f, "not a part file this sweep wrote")
                continue
            try:
                t = pq.read_table(f, columns=["point", "replication", "seed"])
                keys = list(zip(t.column("point").to_pylist(),
                                t.column("replication").to_pylist(), strict=True))
                seeds = set(t.column("seed").to_pylist())
            except Exception as exc:  # noqa: BLE001 - any unreadable file is set aside
                self._quarantine(f, f"damaged ({_first_line(exc)})")
                continue
            problem = self._foreign(keys, seeds, seen)
            if problem:
                self._quarantine(f, problem)
                continue
            seen.update(keys)

    def _foreign(self, keys: list[tuple[Any, Any]], seeds: set[Any],
                 seen: set[tuple[int, int]]) -> str | None:
        """Why a readable part's rows do not belong here, or None when they do."""
        n_points, reps = len(self.spec.points), self.spec.replications
        if seeds - {self.spec.seed}:
            return "rows of another seed"
        for p, r in keys:
            if not (isinstance(p, int) and isinstance(r, int)
                    and 0 <= p < n_points and 0 <= r < reps):
                return f"a row outside this sweep (point {p}, replication {r})"
        if len(set(keys)) != len(keys) or seen.intersection(keys):
            return "rows another part already holds (a copy?)"
        return None

    def _quarantine(self, f: Path, why: str) -> None:
        """Move ``f`` into ``DIR/quarantine/`` (a new name if taken) and say so."""
        folder = self.out / QUARANTINE
        folder.mkdir(exist_ok=True)
        target, n = folder / f.name, 1
        while target.exists():
            n += 1
            target = folder / f"{f.name}.{n}"
        os.replace(f, target)
        self.warn(f"{f}: {why}; moved to {target} (missing rows are computed again)")

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
        try:
            atomic_write_bytes(path, sink.getvalue().to_pybytes(), self.tmp)
        except OSError as exc:  # disk full, folder removed or made read-only meanwhile
            raise ScenarioError(f"cannot write: {exc.strerror or exc}",
                                str(exc.filename or path), "--out") from None

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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def part_files(folder: Path) -> list[Path]:
    """The files in ``folder`` named as this store names its parts, in name order."""
    if not folder.is_dir():
        return []
    return sorted(f for f in folder.iterdir() if is_part(f) and f.is_file())


def load_results(out: str | Path):
    """All rows of the sweep in ``out`` as a DataFrame sorted by (point, replication).

    Reads only the part files (``PART_NAME``); an unreadable part or a (point,
    replication) stored twice is an error naming the fix (rerun the sweep, which sets
    such parts aside and recomputes their rows).
    """
    from .deps import need

    need("pandas", "pyarrow")
    import pandas as pd
    import pyarrow.parquet as pq

    files = part_files(Path(out) / RESULTS)
    if not files:
        raise ScenarioError("no results yet (run the sweep first)", str(out))
    tables = []
    for f in files:
        try:
            tables.append(pq.read_table(f).to_pandas())
        except Exception as exc:  # noqa: BLE001 - any unreadable part
            raise ScenarioError(f"damaged part ({_first_line(exc)}); rerun the sweep to "
                                "set it aside and compute its rows again", str(f)) from None
    df = pd.concat(tables, ignore_index=True)
    if df.duplicated(["point", "replication"]).any():
        raise ScenarioError("a (point, replication) is stored twice; rerun the sweep to set "
                            "the copy aside", str(out))
    return df.sort_values(["point", "replication"]).reset_index(drop=True)


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of the sweep in ``out``."""
    path = Path(out) / MANIFEST
    if not path.exists():
        raise ScenarioError(f"no {MANIFEST} here; not a sweep folder", str(out))
    return json.loads(path.read_text())
