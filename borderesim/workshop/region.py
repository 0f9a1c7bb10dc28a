"""The workshop's read-only page for a region file given on the command line
(``borderesim workshop REGION.yaml``).

A region file names its crossings' files on the server, so it is never accepted as an
upload (:func:`borderesim.model.scenario.load_scenario_text` refuses it before opening
anything); only the file the trainer started the server with is shown. The page has no
sliders but the number of runs: the regional headline numbers with 95 % intervals,
each crossing's headline KPIs and the map of :mod:`borderesim.run.region.figure`. Names
and descriptions are shown as text (``logic.plain``), never as Markdown.
"""

from __future__ import annotations

import io
import math
from typing import Any

from ..analysis.kpis import format_value, kpi_info
from ..run.region import RegionResult, load_region, simulate_region

HEADLINE = ("region.wait_mean", "region.journey_mean", "region.detection_rate",
            "region.threats_missed_per_day", "region.displacement_share",
            "region.information_time_saving")
"""The regional numbers shown large, in order."""

CROSSING_KPIS = ("arrivals_per_hour", "wait_mean", "wait_p95", "detection_rate",
                 "referral_rate")
"""Each crossing's numbers in the table."""


def headline(result: RegionResult) -> list[dict[str, str]]:
    """The headline numbers as text: ``label``, ``value`` (with its unit) and
    ``interval`` (``"95% interval 3.9 – 4.6 min (5 runs)"``)."""
    rows = []
    for name in HEADLINE:
        ci = result.kpis.get(name)
        if ci is None:
            continue
        info = kpi_info(name)
        unit = info.unit.name
        if math.isnan(ci.get("ci_low", math.nan)):
            interval = f"interval needs 2+ runs ({result.replications} run)"
        else:
            interval = (f"95% interval {format_value(ci['ci_low'], unit)} – "
                        f"{format_value(ci['ci_high'], unit, with_unit=True)} "
                        f"({result.replications} runs)")
        rows.append({"kpi": name, "label": info.label,
                     "value": format_value(ci["mean"], unit, with_unit=True),
                     "interval": interval})
    return rows


def crossing_table(result: RegionResult) -> list[dict[str, Any]]:
    """One row per crossing: its name and each of :data:`CROSSING_KPIS` as text."""
    rows = []
    for name, kpis in result.crossings.items():
        row: dict[str, Any] = {"crossing": name}
        for k in CROSSING_KPIS:
            info = kpi_info(k)
            row[f"{info.short} ({info.unit.symbol})"] = info.format(kpis[k]["mean"])
        rows.append(row)
    return rows


def map_png(result: RegionResult) -> bytes:
    """The map and the threats' routes (``simulate_region(..., keep_runs=True)``) as PNG."""
    from matplotlib.figure import Figure

    from ..run.region.figure import plot_region_map, plot_threat_routes

    fig = Figure(figsize=(12.0, 4.8))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1.0]})
    plot_region_map(result, left)
    plot_threat_routes({"as given": result}, right)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def run(path: str, replications: int, engine: str) -> tuple[RegionResult, bytes]:
    """Simulate the region file at ``path`` (a server-side path from the command line)."""
    result = simulate_region(load_region(path), engine=engine, replications=replications,
                             keep_runs=True)
    return result, map_png(result)


def show(path: str, engine: str) -> None:  # pragma: no cover - drawn by Streamlit
    """Lay out the read-only region page (called by ``app.py``)."""
    import streamlit as st

    from ..errors import ScenarioError
    from .logic import plain

    @st.cache_data(max_entries=16, show_spinner="Simulating the region…")
    def cached(path: str, reps: int, engine: str) -> tuple[dict, list, list, bytes, str]:
        result, png = run(path, reps, engine)
        return (result.to_dict(), headline(result), crossing_table(result), png,
                result.engine)

    try:
        spec = load_region(path).spec
    except ScenarioError as exc:
        st.error(plain(str(exc)))
        st.stop()
    with st.sidebar.expander("Simulation", expanded=True):
        reps = st.slider("Replications (runs of the day)", 2, 20,
                         min(max(spec.replications, 2), 20), key="region_reps")
    st.title(plain(spec.name), anchor=False)
    if spec.description:
        st.text(spec.description)
    st.info("A region of crossings, shown read-only: change it in its file and reload. "
            "A region file cannot be uploaded (it names other files on the server).")
    try:
        _, rows, table, png, used = cached(path, int(reps), engine)
    except ScenarioError as exc:
        st.error(plain(str(exc)))
        st.stop()
    cols = st.columns(3)
    for i, row in enumerate(rows):
        col = cols[i % 3]
        col.metric(row["label"], row["value"])
        col.caption(row["interval"])
    st.subheader("Each crossing")
    st.dataframe(table, hide_index=True)
    st.image(png, width="stretch")
    st.caption(f"{reps} runs of the day on seed {spec.seed}, engine {used}; intervals are "
               "95% intervals across runs.")
