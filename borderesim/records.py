"""Per-traveller records of a run as columns, and files a run writes with ``--out``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .plan import make_plan
from .serialize import dumps
from .simulate import Result


def traveller_columns(result: Result) -> dict[str, np.ndarray]:
    """One row per traveller and replication: times in minutes, NaN where not reached."""
    plan = make_plan(result.scenario)
    classes = np.array(list(result.scenario.classes))
    lanes = np.array([*plan.lane_names, "flushed", ""])  # codes -2 and -1 index the tail
    cols: dict[str, list[np.ndarray]] = {}

    def add(name: str, values: np.ndarray) -> None:
        cols.setdefault(name, []).append(values)

    for inputs, trace in result.traces:
        n = inputs.n
        add("replication", np.full(n, inputs.replication))
        add("traveller", np.arange(n))
        add("arrival", inputs.arrival)
        add("class", classes[inputs.cls])
        add("counted", inputs.arrival >= plan.warmup)
        add("threat", inputs.threat)
        add("referred", trace.referred)
        started = ~np.isnan(trace.start)
        add("wait", np.where(started, trace.start - trace.entry, 0.0).sum(axis=0))
        add("exit", trace.exit)
        add("time_in_system", trace.exit - inputs.arrival)
        checked = (trace.lane >= 0) & ~np.isnan(trace.end)
        add("detected", (inputs.caught & checked).any(axis=0))
        for s, sname in enumerate(plan.stage_names):
            add(f"{sname}.lane", lanes[trace.lane[s]])
            add(f"{sname}.entry", trace.entry[s])
            add(f"{sname}.start", trace.start[s])
            add(f"{sname}.end", trace.end[s])
    return {k: np.concatenate(v) for k, v in cols.items()}


def write_csv(columns: dict[str, np.ndarray], path: Path) -> None:
    """Write columns to a CSV file (empty cells for NaN)."""
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        formatted = []
        for name in names:
            col = columns[name]
            if col.dtype.kind == "f":
                formatted.append(["" if np.isnan(v) else repr(float(v)) for v in col])
            elif col.dtype.kind == "b":
                formatted.append(np.where(col, "1", "0").tolist())
            else:
                formatted.append(col.astype(str).tolist())
        for i in range(n):
            writer.writerow([f[i] for f in formatted])


def write_outputs(result: Result, out: Path) -> list[Path]:
    """Write summary.json, per_replication.csv, travellers.csv and scenario.yaml to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    summary = result.to_dict() | {"warnings": result.warnings}
    files = {
        "summary.json": dumps(summary),
        "scenario.yaml": result.scenario.to_yaml(),
    }
    for name, text in files.items():
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)
    names = list(result.per_replication[0]) if result.per_replication else []
    per_rep = {n: np.array([r.get(n, np.nan) for r in result.per_replication]) for n in names}
    per_rep = {"replication": np.arange(result.replications)} | per_rep
    write_csv(per_rep, out / "per_replication.csv")
    written = [out / n for n in (*files, "per_replication.csv")]
    if result.traces:
        write_csv(traveller_columns(result), out / "travellers.csv")
        written.append(out / "travellers.csv")
    return written
