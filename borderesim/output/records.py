"""Per-traveller records of a run as columns, and files a run writes with ``--out``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.outcomes import Outcome
from ..run.plan import make_plan
from ..run.simulate import Result
from .serialize import dumps

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (or strip them)."""


def csv_cell(text: str) -> str:
    """A text cell that a spreadsheet shows as text and never runs.

    A cell starting with ``= + - @``, a tab or a carriage return gets a leading single
    quote (the OWASP rule against CSV formula injection); other text is unchanged.
    Apply it to text only: numbers written by the package stay numbers.
    """
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_safe_frame(df: Any) -> Any:
    """A copy of the pandas DataFrame ``df`` with ``csv_cell`` applied to its column
    names and to every text cell (numeric columns untouched), ready for ``to_csv``."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = df.rename(columns=lambda c: csv_cell(c) if isinstance(c, str) else c)
    for name in out.columns:
        if is_object_dtype(out[name].dtype) or is_string_dtype(out[name].dtype):
            out[name] = out[name].map(lambda v: csv_cell(v) if isinstance(v, str) else v)
    return out


def traveller_columns(result: Result) -> dict[str, np.ndarray]:
    """One row per traveller and replication: times in minutes, NaN where not reached.

    Travellers sampled for the drain who would have arrived after the run ended are
    left out (:attr:`Outcome.in_run`)."""
    plan = make_plan(result.scenario)
    classes = np.array(list(result.scenario.classes))
    lanes = np.array([*plan.lane_names, "flushed", ""])  # codes -2 and -1 index the tail
    cols: dict[str, list[np.ndarray]] = {}

    keep = np.zeros(0, dtype=bool)

    def add(name: str, values: np.ndarray) -> None:
        cols.setdefault(name, []).append(np.asarray(values)[keep])

    for inputs, trace in result.traces:
        outcome = Outcome(plan, inputs, trace)
        keep = outcome.in_run
        n = inputs.n
        add("replication", np.full(n, inputs.replication))
        add("traveller", np.arange(n))
        add("arrival", inputs.arrival)
        add("class", classes[inputs.cls])
        add("counted", outcome.counted)
        add("threat", inputs.threat)
        add("referred", trace.referred)
        add("wait", sum(outcome.wait(s) for s in range(plan.n_stages)))
        add("exit", trace.exit)
        add("time_in_system", trace.exit - inputs.arrival)
        add("detected", (inputs.caught & outcome.checked()).any(axis=0))
        for s, sname in enumerate(plan.stage_names):
            add(f"{sname}.lane", lanes[trace.lane[s]])
            add(f"{sname}.entry", trace.entry[s])
            add(f"{sname}.start", trace.start[s])
            add(f"{sname}.end", trace.end[s])
    return {k: np.concatenate(v) for k, v in cols.items()}


def write_csv(columns: dict[str, np.ndarray], path: Path) -> None:
    """Write columns to a CSV file (empty cells for NaN; text through ``csv_cell``)."""
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([csv_cell(name) for name in names])
        formatted = []
        for name in names:
            col = columns[name]
            if col.dtype.kind == "f":
                formatted.append(["" if np.isnan(v) else repr(float(v)) for v in col])
            elif col.dtype.kind == "b":
                formatted.append(np.where(col, "1", "0").tolist())
            elif col.dtype.kind in "iu":
                formatted.append(col.astype(str).tolist())
            else:
                formatted.append([csv_cell(v) for v in col.astype(str).tolist()])
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
