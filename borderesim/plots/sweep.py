"""Figures of a sweep: main effects, Sobol' indices and a two-parameter heatmap.

Each function draws on a fresh ``matplotlib.figure.Figure`` (no pyplot state) and
saves a PNG at ``path``. KPI values are shown in the unit the catalogue
(:mod:`borderesim.kpis`) gives them: minutes for waits, a share as %.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ..kpis import kpi_info
from ..sweep.sensitivity import main_effects, point_means
from ..sweep.spec import SweepSpec
from .text import plain


def _axis(kpi: str) -> str:
    """``"wait_p95 (min)"``: a KPI's name and the unit it is shown in."""
    return f"{kpi} ({kpi_info(kpi).unit.symbol})"


def _short(path: str) -> str:
    """A dotted path shortened for an axis label (its last two parts)."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else path


def plot_main_effects(spec: SweepSpec, df, kpis: list[str], path: str | Path,
                      dpi: int = 110) -> Path:
    """One panel per (KPI, swept parameter): the KPI averaged over the other parameters."""
    params = list(spec.paths)
    fig = Figure(figsize=(3.0 * len(params) + 0.6, 2.4 * len(kpis) + 0.6))
    axes = fig.subplots(len(kpis), len(params), squeeze=False)
    for i, kpi in enumerate(kpis):
        effects = main_effects(spec, df, kpi)
        scale = kpi_info(kpi).unit.scale
        for j, p in enumerate(params):
            ax = axes[i][j]
            xs, ys = effects[p]
            numeric = all(isinstance(x, int | float) for x in xs)
            pos = xs if numeric else list(range(len(xs)))
            ax.plot(pos, [y * scale for y in ys], marker="o", lw=1.5, ms=4)
            if not numeric:
                ax.set_xticks(pos, [plain(x) for x in xs], rotation=30, fontsize=7)
            ax.grid(alpha=0.3)
            if i == len(kpis) - 1:
                ax.set_xlabel(plain(_short(p)), fontsize=8)
            if j == 0:
                ax.set_ylabel(plain(_axis(kpi)), fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"Main effects ({len(spec.points)} points × {spec.replications} "
                 f"replications, seed {spec.seed})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)


def plot_sensitivity(table, kpis: list[str], path: str | Path, dpi: int = 110,
                     title: str | None = None) -> Path:
    """Bars of first-order (S1) and total-order (ST) Sobol' indices per KPI, 95 % bars."""
    import numpy as np

    kpis = [k for k in kpis if (table["kpi"] == k).any()]
    if not kpis:
        raise ValueError("no Sobol' indices for the chosen KPIs")
    fig = Figure(figsize=(4.2 * len(kpis), 3.4))
    axes = fig.subplots(1, len(kpis), squeeze=False)[0]
    for ax, kpi in zip(axes, kpis, strict=True):
        t = table[table["kpi"] == kpi]
        x = np.arange(len(t))
        ax.bar(x - 0.2, t["S1"], 0.4, yerr=t["S1_conf"], capsize=2, label="first order S1")
        ax.bar(x + 0.2, t["ST"], 0.4, yerr=t["ST_conf"], capsize=2, label="total order ST")
        ax.set_xticks(x, [plain(_short(p)) for p in t["parameter"]], rotation=25, ha="right",
                      fontsize=7)
        ax.set_ylim(bottom=min(0.0, float(t["S1"].min()) - 0.05))
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(plain(kpi), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("Sobol' index (share of variance)", fontsize=8)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(plain(title), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)


def plot_heatmap(spec: SweepSpec, df, x: str, y: str, kpi: str, path: str | Path,
                 dpi: int = 110, label: str | None = None, log: bool = False) -> Path:
    """Heatmap of a KPI's mean over replications across two swept grid parameters.

    ``log``: a logarithmic colour scale (for waits spanning seconds to hours).
    """
    import numpy as np
    from matplotlib.colors import LogNorm

    means = point_means(df, spec.paths)
    table = means.pivot_table(index=y, columns=x, values=kpi, aggfunc="mean")
    z = table.to_numpy(dtype=float) * kpi_info(kpi).unit.scale
    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.subplots()
    pos = z[np.isfinite(z) & (z > 0)]
    shown, norm = z, None
    if log and pos.size:  # zeros take the lowest colour
        norm = LogNorm(vmin=pos.min(), vmax=pos.max())
        shown = np.where(np.isfinite(z) & (z <= 0), pos.min(), z)
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis", norm=norm)
    ax.set_xticks(range(len(table.columns)), [plain(v) for v in table.columns])
    ax.set_yticks(range(len(table.index)), [plain(v) for v in table.index])
    ax.set_xlabel(plain(x), fontsize=8)
    ax.set_ylabel(plain(y), fontsize=8)
    for (i, j), v in np.ndenumerate(z):
        if np.isfinite(v):
            dark = im.norm(shown[i, j]) < 0.6
            ax.text(j, i, f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}", ha="center",
                    va="center", fontsize=7, color="w" if dark else "k")
    fig.colorbar(im, ax=ax, label=plain(label or _axis(kpi)))
    ax.set_title(plain(f"{label or kpi}: mean of {spec.replications} replications"),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)
