"""What the rows say: per-point means, main effects and Sobol' indices (SALib).

Sobol' indices need the points exactly as SALib's Saltelli scheme drew them
(``n * (D + 2)`` points, no second order), so they exist only for ``method: sobol``.
Each point's output is its KPI averaged over replications. ``S1`` is the share of the
output's variance due to a parameter alone, ``ST`` including all its interactions;
``*_conf`` are half-widths of 95 % bootstrap intervals. Integer parameters are sampled
on ``[low - 0.5, high + 0.5]`` and rounded, so the indices describe the rounded model.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .spec import META_COLUMNS, SweepSpec

SENSITIVITY = "sensitivity.csv"


def point_means(df, paths: tuple[str, ...]):
    """One row per point: the swept values and each KPI averaged over replications."""
    kpis = [c for c in df.columns if c not in META_COLUMNS and c not in paths]
    first = df.groupby("point", sort=True)[list(paths)].first()
    means = df.groupby("point", sort=True)[kpis].mean()
    return first.join(means)


def sobol_indices(spec: SweepSpec, df, kpis: list[str] | None = None):
    """First- and total-order Sobol' indices of each KPI (rows: kpi, parameter).

    KPIs undefined (NaN) at some point or constant over all points are left out.
    """
    if spec.method != "sobol":
        raise ValueError("Sobol' indices need a sweep with sample.method: sobol")
    import numpy as np
    import pandas as pd
    from SALib.analyze import sobol

    means = point_means(df, spec.paths)
    if len(means) != len(spec.points):
        raise ValueError(f"Sobol' indices need every point; {len(means)} of "
                         f"{len(spec.points)} are done")
    problem = {"num_vars": len(spec.paths), "names": list(spec.paths),
               "bounds": [list(spec.ranges[p]) for p in spec.paths]}
    names = kpis or [c for c in means.columns if c not in spec.paths]
    out = []
    for kpi in names:
        y = means[kpi].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sobol.analyze(problem, y, calc_second_order=False, seed=spec.seed)
        for j, p in enumerate(spec.paths):
            out.append({"kpi": kpi, "parameter": p,
                        "S1": float(res["S1"][j]), "S1_conf": float(res["S1_conf"][j]),
                        "ST": float(res["ST"][j]), "ST_conf": float(res["ST_conf"][j])})
    return pd.DataFrame(out, columns=["kpi", "parameter", "S1", "S1_conf", "ST", "ST_conf"])


def main_effects(spec: SweepSpec, df, kpi: str, bins: int = 8) -> dict[str, tuple[list, list]]:
    """Per swept parameter: its values and the KPI's mean over all other parameters.

    Grid sweeps average at each level; sampled sweeps bin a numeric parameter into
    ``bins`` equal-count bins (bin centres, bin means).
    """
    import numpy as np

    means = point_means(df, spec.paths)
    out = {}
    for p in spec.paths:
        x = means[p]
        levels = x.unique()
        if spec.method == "grid" or len(levels) <= bins:
            g = means.groupby(p, sort=True)[kpi].mean()
            out[p] = (list(g.index), [float(v) for v in g.to_numpy()])
            continue
        edges = np.unique(np.quantile(x.to_numpy(dtype=float), np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, x.to_numpy(dtype=float), side="right") - 1,
                        0, len(edges) - 2)
        xs, ys = [], []
        for b in range(len(edges) - 1):
            sel = which == b
            if sel.any():
                xs.append(float(x.to_numpy(dtype=float)[sel].mean()))
                ys.append(float(means[kpi].to_numpy(dtype=float)[sel].mean()))
        out[p] = (xs, ys)
    return out


def write_sensitivity(spec: SweepSpec, df, out: Path) -> Path | None:
    """Write ``sensitivity.csv`` (all KPIs) for a complete Sobol' sweep; None otherwise."""
    if spec.method != "sobol":
        return None
    table = sobol_indices(spec, df)
    path = Path(out) / SENSITIVITY
    from ...output.records import csv_safe_frame

    csv_safe_frame(table).to_csv(path, index=False, float_format="%.6g")
    return path

