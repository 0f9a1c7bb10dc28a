"""Figures of a sweep: main effects with intervals, Sobol' indices, two-knob heatmaps.

Each ``draw_*`` function returns a fresh ``matplotlib.figure.Figure`` (no pyplot state,
16:9 slide size and fonts from :mod:`borderesim.output.plots.style`); each ``plot_*`` saves one
as a PNG. KPI values are shown in the unit the catalogue (:mod:`borderesim.analysis.kpis`) gives
them: minutes for waits, a share as %.

Main effects are honest about noise: each level's mean has a 95 % Student-t interval
across replications (the main effect computed on each replication's rows alone), and
every panel of a KPI shares one y scale that starts at zero for a KPI that cannot be
negative, so a 38-43 min zig-zag inside its intervals does not look like an effect.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ...analysis.kpis import kpi_info
from ...analysis.metrics import confidence_interval
from ...run.sweep.sensitivity import main_effects, point_means
from ...run.sweep.spec import SweepSpec
from .style import DPI, legend_below, slide_figure, slide_style, wrap
from .text import plain

KNOB_UNITS = (
    (("servers", "max_servers", "booths"), "servers"),
    (("per_hour",), "per hour"),
    (("rate", "prevalence", "probability", "share", "threshold", "cv"), "0-1"),
    (("mean", "duration", "warmup", "sd", "flush_above_wait"), "as in the scenario"),
)
"""Last part of a swept path → the unit its values are in."""


def _where(spec: SweepSpec) -> str:
    """The swept scenario's name (else its file name), for a title."""
    return str(spec.base.get("name") or Path(spec.scenario_path).stem)


def _short(path: str) -> str:
    """A dotted path shortened for an axis label (its last two parts)."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else path


def knob_label(path: str) -> str:
    """An axis label for a swept scenario path: ``"general.servers (servers)"``."""
    last = path.rsplit(".", 1)[-1]
    unit = next((u for ends, u in KNOB_UNITS if last.endswith(ends)), "as in the scenario")
    return f"{_short(path)} ({unit})"


def _effects(spec: SweepSpec, df, kpi: str) -> dict[str, tuple[list, np.ndarray, np.ndarray,
                                                                  np.ndarray]]:
    """Per parameter: levels, mean, interval low and high (shown unit) across replications."""
    scale = kpi_info(kpi).unit.scale
    overall = main_effects(spec, df, kpi)
    reps = sorted(df["replication"].unique())
    per_rep = [main_effects(spec, df[df["replication"] == r], kpi) for r in reps]
    out = {}
    for p, (xs, ys) in overall.items():
        lo, hi = np.full(len(xs), np.nan), np.full(len(xs), np.nan)
        if len(reps) > 1 and all(len(e[p][0]) == len(xs) for e in per_rep):
            for i in range(len(xs)):
                ci = confidence_interval([e[p][1][i] for e in per_rep])
                lo[i], hi[i] = ci["ci_low"] * scale, ci["ci_high"] * scale
        out[p] = (xs, np.asarray(ys, dtype=float) * scale, lo, hi)
    return out


@slide_style
def draw_main_effects(spec: SweepSpec, df, kpis: list[str],
                      size: tuple[float, float] | None = None) -> Figure:
    """One row per KPI, one panel per swept parameter: the KPI's mean at each value of the
    parameter (averaged over the others) with its 95 % interval, one y scale per row."""
    params = list(spec.paths)
    fig = slide_figure(size)
    axes = fig.subplots(len(kpis), len(params), squeeze=False, sharey="row", sharex="col")
    has_ci = False
    # characters per line of a y label: about 75 % of a row's height at 14 pt (7.7 pt/char)
    chars = max(10, int(fig.get_figheight() * 72 / len(kpis) * 0.75 / 7.7))
    for i, kpi in enumerate(kpis):
        info = kpi_info(kpi)
        lows = []
        for j, (p, (xs, ys, lo, hi)) in enumerate(_effects(spec, df, kpi).items()):
            ax = axes[i][j]
            numeric = all(isinstance(x, int | float) for x in xs)
            pos = np.asarray(xs if numeric else range(len(xs)), dtype=float)
            if np.nanmin(ys, initial=0.0) >= 0:  # a KPI that cannot be negative (waits,
                lo = np.maximum(lo, 0.0)  # shares, counts): its interval stops at zero
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                has_ci = True
                ax.fill_between(pos, np.where(ok, lo, ys), np.where(ok, hi, ys), alpha=0.25,
                                color="C0", lw=0, label="95 % interval (replications)")
                ax.errorbar(pos[ok], ys[ok], yerr=[ys[ok] - lo[ok], hi[ok] - ys[ok]], fmt="none",
                            ecolor="C0", capsize=4)
            ax.plot(pos, ys, marker="o", color="C0", label="mean over the other parameters")
            if not numeric:
                ax.set_xticks(pos, [plain(x) for x in xs], rotation=20)
            if i == len(kpis) - 1:
                ax.set_xlabel(plain(knob_label(p)))
            lows += [*ys[np.isfinite(ys)]]
        if lows and min(lows) >= 0:  # the whole scale, from zero: noise stays small
            axes[i][0].set_ylim(bottom=0)
        axes[i][0].set_ylabel(wrap(info.axis_label, chars))
    if has_ci:
        legend_below(fig, axes=[axes[0][0]], ncol=2)
    noun = "replication" if spec.replications == 1 else "replications"
    fig.suptitle(plain(wrap(f"Main effects at {_where(spec)}: {len(spec.points)} points × "
                            f"{spec.replications} {noun}, seed {spec.seed}"
                            + ("" if has_ci else " (one replication: no interval)"), 100)))
    return fig


def plot_main_effects(spec: SweepSpec, df, kpis: list[str], path: str | Path,
                      dpi: int = DPI, size: tuple[float, float] | None = None) -> Path:
    """Save :func:`draw_main_effects` as a PNG at ``path``."""
    draw_main_effects(spec, df, kpis, size).savefig(path, dpi=dpi)
    return Path(path)


@slide_style
def draw_sensitivity(table, kpis: list[str], title: str | None = None,
                     size: tuple[float, float] | None = None) -> Figure:
    """Bars of first-order (S1) and total-order (ST) Sobol' indices per KPI with their
    95 % bootstrap intervals (SALib's ``S1_conf``/``ST_conf``), on the indices' 0-1 scale."""
    kpis = [k for k in kpis if (table["kpi"] == k).any()]
    if not kpis:
        raise ValueError("no Sobol' indices for the chosen KPIs")
    fig = slide_figure(size)
    axes = fig.subplots(1, len(kpis), squeeze=False, sharex=True, sharey=True)[0]
    low, high = 0.0, 1.0
    params = list(dict.fromkeys(table["parameter"]))
    y = np.arange(len(params))[::-1]  # the first parameter on top
    for ax, kpi in zip(axes, kpis, strict=True):
        t = table[table["kpi"] == kpi].set_index("parameter").reindex(params)
        ax.barh(y + 0.2, t["S1"], 0.4, xerr=t["S1_conf"], capsize=4, label="first order S1",
                color="C0")
        ax.barh(y - 0.2, t["ST"], 0.4, xerr=t["ST_conf"], capsize=4, label="total order ST",
                color="C1")
        for k in ("S1", "ST"):
            low = min(low, float((t[k] - t[f"{k}_conf"]).min()))
            high = max(high, float((t[k] + t[f"{k}_conf"]).max()))
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(plain(wrap(kpi_info(kpi).label, 28)))
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(wrap("Sobol' index (share of variance, 0-1)", 24))
    axes[0].set_yticks(y, [plain(_short(p)) for p in params])
    axes[0].set_xlim(low - 0.03, high + 0.03)
    axes[0].set_ylabel("swept parameter")
    legend_below(fig, axes=axes[:1], ncol=2)
    fig.suptitle(plain(wrap(title or "Sobol' indices", 100)
                       + "\nbars: 95 % bootstrap intervals"))
    return fig


def plot_sensitivity(table, kpis: list[str], path: str | Path, dpi: int = DPI,
                     title: str | None = None, size: tuple[float, float] | None = None) -> Path:
    """Save :func:`draw_sensitivity` as a PNG at ``path``."""
    draw_sensitivity(table, kpis, title, size).savefig(path, dpi=dpi)
    return Path(path)


def _heatmap(fig: Figure, ax, means, x: str, y: str, kpi: str, label: str, log: bool) -> None:
    from matplotlib.colors import LogNorm

    table = means.pivot_table(index=y, columns=x, values=kpi, aggfunc="mean")
    z = table.to_numpy(dtype=float) * kpi_info(kpi).unit.scale
    pos = z[np.isfinite(z) & (z > 0)]
    shown, norm = z, None
    if log and pos.size:  # zeros take the lowest colour
        norm = LogNorm(vmin=pos.min(), vmax=pos.max())
        shown = np.where(np.isfinite(z) & (z <= 0), pos.min(), z)
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis", norm=norm)
    ax.set_xticks(range(len(table.columns)), [plain(v) for v in table.columns])
    ax.set_yticks(range(len(table.index)), [plain(v) for v in table.index])
    ax.set_xlabel(plain(knob_label(x)))
    ax.set_ylabel(plain(knob_label(y)))
    ax.grid(False)
    small = len(table.columns) > 8 or len(table.index) > 8
    for (i, j), v in np.ndenumerate(z):
        if np.isfinite(v) and not small:
            dark = im.norm(shown[i, j]) < 0.6
            ax.text(j, i, f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}", ha="center",
                    va="center", fontsize=12, color="w" if dark else "k")
    fig.colorbar(im, ax=ax, label=plain(wrap(label + (", log scale" if norm else ""), 40)))


@slide_style
def draw_heatmaps(spec: SweepSpec, df, kpi: str, pairs: list[tuple[str, str]] | None = None,
                  label: str | None = None, log: bool = False,
                  size: tuple[float, float] | None = None) -> Figure:
    """Heatmaps of a KPI's mean over replications (and the other parameters) for pairs of
    swept parameters (default: every pair of the first three), one panel per pair.

    ``log``: a logarithmic colour scale (for waits spanning seconds to hours).
    """
    pairs = pairs or list(combinations(spec.paths[:3], 2))
    if not pairs:
        raise ValueError("a heatmap needs two swept parameters")
    means = point_means(df, spec.paths)
    fig = slide_figure(size)
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    label = label or kpi_info(kpi).axis_label
    for ax, (x, y) in zip(axes, pairs, strict=True):
        _heatmap(fig, ax, means, x, y, kpi, label, log)
    noun = "replication" if spec.replications == 1 else "replications"
    others = "" if len(spec.paths) == 2 else ", averaged over the other parameters"
    fig.suptitle(plain(wrap(f"{kpi_info(kpi).label} at {_where(spec)}: mean of "
                            f"{spec.replications} {noun} per point{others}", 100)))
    return fig


def heatmap_pairs(spec: SweepSpec) -> list[tuple[str, str]]:
    """The parameter pairs ``sweep --plot`` draws heatmaps for (grid sweeps; at most 3)."""
    if spec.method != "grid" or len(spec.paths) < 2:
        return []
    return list(combinations(spec.paths[:3], 2))


def plot_heatmap(spec: SweepSpec, df, x: str, y: str, kpi: str, path: str | Path,
                 dpi: int = DPI, label: str | None = None, log: bool = False,
                 size: tuple[float, float] | None = None) -> Path:
    """Save one heatmap (``x`` × ``y``) of :func:`draw_heatmaps` as a PNG at ``path``."""
    draw_heatmaps(spec, df, kpi, [(x, y)], label, log, size).savefig(path, dpi=dpi)
    return Path(path)


__all__ = ["draw_heatmaps", "draw_main_effects", "draw_sensitivity", "heatmap_pairs",
           "knob_label", "plot_heatmap", "plot_main_effects", "plot_sensitivity"]
