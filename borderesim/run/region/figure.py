"""The region as a map: origins and crossings as nodes, flows and waits on the edges.

Every label that may hold user text (region, origin and crossing names) goes through
:func:`borderesim.output.plots.text.plain`.
"""

from __future__ import annotations

import numpy as np

from ...output.plots.text import plain
from .runner import RegionResult
from .schema import GREEN


def flows(result: RegionResult) -> dict[tuple[str, str], float]:
    """Travellers per hour from each origin to each route, averaged over the kept runs
    (``simulate_region(..., keep_runs=True)``); departures in the counted window
    ``[warmup, horizon)`` (not the drain after it). A surge's travellers come from no
    origin (they arrive at their crossing directly) and are not among them."""
    region = result.region
    spec = region.spec
    routes = region.routes
    hours = spec.duration / 60.0
    out = {(o, r): 0.0 for o in spec.origins for r in routes}
    if not result.runs:
        raise ValueError("flows need the runs: simulate_region(..., keep_runs=True)")
    for rep in result.runs:
        counted = (rep.people.depart >= spec.warmup) & (rep.people.depart < spec.horizon)
        for o, oname in enumerate(spec.origins):
            mine = counted & (rep.people.origin == o)
            counts = np.bincount(rep.route[mine], minlength=len(routes))
            for r, rname in enumerate(routes):
                out[(oname, rname)] += counts[r] / hours / len(result.runs)
    return out


def plot_region_map(result: RegionResult, ax) -> None:
    """Draw ``result``'s region on ``ax``: origins (left), crossings and the green border
    (right); each edge labelled with its flow (travellers/h), each crossing with its mean
    wait (min) and the share of threats taking it (the green border: threats only)."""
    region = result.region
    origins = list(region.spec.origins)
    routes = region.routes
    f = flows(result)
    ys_o = np.linspace(0.8, 0.2, len(origins)) if len(origins) > 1 else np.array([0.5])
    ys_r = np.linspace(0.85, 0.15, len(routes)) if len(routes) > 1 else np.array([0.5])
    pos = {("o", o): (0.12, y) for o, y in zip(origins, ys_o, strict=True)}
    pos.update({("r", r): (0.78, y) for r, y in zip(routes, ys_r, strict=True)})
    biggest = max(f.values()) if f and max(f.values()) > 0 else 1.0
    for (o, r), flow in f.items():
        if flow <= 0:
            continue
        (x0, y0), (x1, y1) = pos[("o", o)], pos[("r", r)]
        green = r == GREEN
        at = 0.3 + 0.4 * origins.index(o) / max(1, len(origins) - 1)  # labels apart
        ax.annotate("", xy=(x1 - 0.06, y1), xytext=(x0 + 0.06, y0),
                    arrowprops={"arrowstyle": "-|>", "lw": 0.8 + 5 * flow / biggest,
                                "color": "tab:green" if green else "tab:blue", "alpha": 0.6})
        label = f"{24 * flow:.2g} threats/day" if green else f"{flow:.0f}/h"
        ax.text(x0 + at * (x1 - x0), y0 + at * (y1 - y0), label, fontsize=8,
                ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    for o in origins:
        x, y = pos[("o", o)]
        ax.scatter([x], [y], s=500, color="tab:gray", zorder=3)
        ax.text(x, y - 0.08, plain(o), ha="center", va="top", fontsize=9)
    for r in routes:
        x, y = pos[("r", r)]
        share = result.kpis.get(f"region.route.{r}.threat_share", {}).get("mean", np.nan)
        if r == GREEN:
            ax.scatter([x], [y], s=500, marker="s", color="tab:green", zorder=3)
            text = f"green border\nthreats {share:.0%}"
        else:
            wait = result.crossings[r]["wait_mean"]["mean"]
            ax.scatter([x], [y], s=700, marker="D", color="tab:blue", zorder=3)
            p95 = result.crossings[r]["wait_p95"]["mean"]
            text = f"{r}\nwait {wait:.1f} min (p95 {p95:.1f})\nthreats {share:.0%}"
        ax.text(x + 0.07, y, plain(text), ha="left", va="center", fontsize=9)
    ax.set_xlim(0, 1.15)
    ax.set_ylim(0, 1)
    ax.axis("off")
    det = result.kpis["region.detection_rate"]["mean"]
    ax.set_title(plain(f"{region.name}\nregional detection {det:.1%}, "
                       f"mean wait {result.kpis['region.wait_mean']['mean']:.1f} min"),
                 fontsize=10)


def plot_threat_routes(results: dict[str, RegionResult], ax) -> None:
    """Stacked bars: the share of threats taking each route, one bar per labelled result,
    the regional detection rate written above each bar."""
    labels = list(results)
    routes = next(iter(results.values())).region.routes
    bottom = np.zeros(len(labels))
    colours = {GREEN: "tab:green"}
    palette = iter(["tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink"])
    for r in routes:
        share = np.array([results[k].kpis[f"region.route.{r}.threat_share"]["mean"]
                          for k in labels])
        ax.bar(range(len(labels)), share, bottom=bottom,
               color=colours.get(r) or next(palette, "tab:gray"),
               label=plain("green border" if r == GREEN else r))
        bottom += share
    for i, k in enumerate(labels):
        det = results[k].kpis["region.detection_rate"]["mean"]
        ax.text(i, 1.02, f"detected\n{det:.1%}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), [plain(k) for k in labels], fontsize=8)
    ax.set_ylim(0, 1.18)
    ax.set_ylabel("share of threats by route")
    ax.legend(fontsize=8, loc="lower right")


def plot_region(result: RegionResult, variants: dict[str, RegionResult], path,
                dpi: int = 110):
    """The figure of ``experiments/region_demo.py``: the map of ``result`` (left) and
    the threats' routes under each of ``variants`` (right); returns the path written."""
    from pathlib import Path

    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.0, 4.8))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1.0]})
    plot_region_map(result, left)
    plot_threat_routes(variants, right)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
