"""The workshop's region page (Streamlit): a region of crossings with live knobs.

Called by ``app.py`` when the trainer picks "A region of crossings" (the default when the
server was started on a region file). Everything it computes comes from
:mod:`borderesim.workshop.region`; this file lays out widgets and caches results by
setting. As on the single-crossing page, the downloads and the marker naming the setting
they hold (``region.setting_marker``) are written last in each run, after the numbers
and the map of the same setting, and a download click never reruns the page
(``on_click="ignore"``). Names and descriptions from a region file are shown as text
(``logic.plain``), never as Markdown.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..errors import ScenarioError
from ..model.targeting import Knob
from ..run.region import Region
from . import region
from .logic import plain


@st.cache_data(max_entries=16, show_spinner=False)
def cached_source(path: str) -> region.RegionSource:
    """A region file on the server (the command line's, or an example)."""
    return region.source_from_file(path)


@st.cache_resource(max_entries=16, show_spinner=False)
def cached_region(source: region.RegionSource) -> Region:
    """The region as its file has it (shared, read-only: it sets the sliders' start)."""
    return region.load(source)


@st.cache_data(max_entries=64, show_spinner="Simulating the region…")
def cached_run(source: region.RegionSource, knobs: region.RegionKnobs, replications: int,
               engine: str) -> region.RegionOutcome:
    """``region.run`` of one setting (cached by setting)."""
    return region.run(source, knobs, replications, engine)


def pick_region(start: str | None) -> tuple[str, region.RegionSource] | None:
    """Sidebar: the region file given on the command line, an example, or an upload.

    Returns (an id for widget keys, the region), or None after showing why not.
    """
    sb = st.sidebar
    choices: dict[str, str] = {}
    if start:
        choices[f"{Path(start).name} (from the command line)"] = start
    for title, path in region.example_regions().items():
        choices.setdefault(title, str(path))
    title = sb.selectbox("Region", list(choices), key="region_choice") if choices else None
    upload = sb.file_uploader(
        "…or upload a region YAML", type=["yaml", "yml"], key="region_upload",
        help="Its crossings must be borderesim's packaged crossing files (for example "
             "north_crossing.yaml or ../land_crossing.yaml, as from scenarios/region); "
             "an upload never opens another file on the server.")
    try:
        if upload is not None:
            source = region.source_from_upload(upload.name, upload.getvalue())
            return f"upload:{upload.name}:{upload.file_id}", source
        if title is None:
            st.info("No region to show: upload a region file, or start the workshop on one "
                    "(borderesim workshop REGION.yaml).")
            return None
        return f"file:{choices[title]}", cached_source(choices[title])
    except ScenarioError as exc:
        st.error(plain(str(exc)))
        return None


def knob_slider(container, knob: Knob, start: float, key: str, label: str | None = None
                ) -> float:
    """A strategy knob's slider, as both pages draw it: a share in percent
    (``knob.percent``), else in the knob's own units. Returns the value (a share 0-1)."""
    label = label or knob.label
    if knob.percent:
        return container.slider(f"{label} (%)", knob.lo * 100, knob.hi * 100,
                                round(start * 100, 3), knob.step * 100,
                                format="%.1f%%" if knob.step * 100 < 1 else "%.0f%%",
                                key=key, help=knob.help or None) / 100
    return float(container.slider(label, knob.lo, knob.hi, start, knob.step, key=key,
                                  help=knob.help or None))


def _percent(container, label: str, value: float, key: str, step: int = 5,
             help: str | None = None) -> float:
    """A share slider in whole percent (0-100 %); returns the share (0-1)."""
    return container.slider(label, 0.0, 100.0, round(100 * value, 3), float(step),
                            format="%.0f%%", key=key, help=help) / 100


def pick_knobs(reg: Region, sid: str) -> tuple[region.RegionKnobs, int]:
    """Sidebar: information, green border, adversary, watchlist, demand, each crossing's
    officers and main knob, and the number of runs. Every slider starts at the file's
    value, so the page first shows the file as it is."""
    sb = st.sidebar
    base = region.file_knobs(reg)
    sb.subheader("Information")
    informed = _percent(sb, "Travellers informed of posted waits", base.informed_share,
                        f"r-informed|{sid}",
                        help="Share who check the posted waits and take the crossing with "
                             "the least travel + posted wait.")
    options = sorted({*region.REFRESHES, base.refresh})
    refresh = sb.select_slider("Posted waits refreshed every (minutes)", options,
                               base.refresh, key=f"r-refresh|{sid}",
                               format_func=lambda m: f"{m:g} min")
    green = None
    if base.green_detection is not None:
        hourly = isinstance(reg.spec.green_border.detection_probability, list)
        green = _percent(sb, "Green border detection probability"
                         + (" (highest hour)" if hourly else ""), base.green_detection,
                         f"r-green|{sid}", step=1,
                         help="Patrols, sensors, drones. An hourly profile keeps its shape."
                         if hourly else "Patrols, sensors, drones.")
    sb.subheader("Threats")
    behaviour = sb.selectbox("How threats choose a route", region.BEHAVIOURS,
                             region.BEHAVIOURS.index(base.behaviour), key=f"r-behave|{sid}",
                             help="naive: like everyone; displacement: the route least likely "
                                  "to catch them; probing: dry runs show where they would "
                                  "be referred.")
    knowledge = _percent(sb, "Threats who know the routes", base.knowledge,
                         f"r-know|{sid}")
    watchlist = sb.toggle("Shared regional watchlist", base.shared_watchlist,
                          key=f"r-watch|{sid}",
                          help="A watchlist hit at one crossing is known at every crossing.")
    sb.subheader("Demand and crossings")
    demand = sb.slider("Demand (% of the file's departures)", 25, 200, 100, 5,
                       format="%d%%", key=f"r-demand|{sid}") / 100
    officers, targeting = [], []
    for c in region.crossing_controls(reg):
        name = plain(c.crossing)
        n = sb.slider(f"{name}: officers at {plain(c.stage)} (busiest hour)", 1,
                      max(2 * c.officers, c.officers + 6), c.officers,
                      key=f"r-officers|{c.crossing}|{sid}",
                      help="The stage whose wait is posted. Every hour's roster is scaled "
                           "by the same factor.")
        officers.append((c.crossing, int(n)))
        if c.knob is not None and c.value is not None:
            value = knob_slider(sb, c.knob, c.value, f"r-knob|{c.crossing}|{sid}",
                                f"{name}: {c.knob.label}")
            targeting.append((c.crossing, float(value)))
    with sb.expander("Simulation"):
        start = min(max(reg.spec.replications, 2), region.REPLICATIONS)
        reps = st.slider("Replications (runs of the day)", 1, 20, start, key=f"r-reps|{sid}",
                         help="More runs: narrower intervals, slower updates. One run "
                              "updates fastest but has no intervals.")
    knobs = region.RegionKnobs(informed, float(refresh), green, behaviour, knowledge,
                               bool(watchlist), demand, tuple(officers), tuple(targeting))
    return knobs, int(reps)


def previous_setting(sid: str, outcome: region.RegionOutcome, knobs: region.RegionKnobs,
                     reps: int) -> tuple[region.RegionKnobs, int] | None:
    """The setting shown before this one on this region (knobs, runs), if any; remembers
    this one. A rerun of the same setting keeps the previous one."""
    last_key, prev_key = f"r-last|{sid}", f"r-prev|{sid}"
    last = st.session_state.get(last_key)
    if last is not None and last[0] != outcome.setting:
        st.session_state[prev_key] = last
    st.session_state[last_key] = (outcome.setting, knobs, reps)
    prev = st.session_state.get(prev_key)
    return None if prev is None else (prev[1], prev[2])


def show_numbers(outcome: region.RegionOutcome, baseline: region.RegionOutcome) -> None:
    """The regional numbers, their intervals and their change from the file's setting."""
    cols = st.columns(4)
    for i, row in enumerate(region.headline(outcome, baseline)):
        col = cols[i % 4]
        colour = {"lower": "inverse", "higher": "normal"}.get(row["better"], "off")
        col.metric(row["label"], row["value"],
                   f"{row['delta']} vs file" if row["delta"] else None, delta_color=colour)
        col.caption(row["interval"])


def show_downloads(source: region.RegionSource, outcome: region.RegionOutcome) -> None:
    """The downloads, then the marker naming the setting they hold (last).

    Both files are pure functions of this run's outcome and carry its setting id;
    clicking them does not rerun the page.
    """
    c1, c2, _ = st.columns([1, 1, 2])
    c1.download_button("Save setting as region YAML", region.region_yaml(source, outcome),
                       file_name="workshop_region.yaml", mime="application/x-yaml",
                       on_click="ignore")
    c2.download_button("Map PNG", outcome.map_png, file_name="workshop_region.png",
                       mime="image/png", on_click="ignore")
    st.caption(plain(region.setting_marker(outcome.items, outcome.setting)))


def show(start: str | None, engine: str) -> None:
    """Lay out the region page (``start``: a region file from the command line, if any)."""
    picked = pick_region(start)
    if picked is None:
        st.stop()
    sid, source = picked
    try:
        reg = cached_region(source)
    except ScenarioError as exc:
        st.error(plain(str(exc)))
        st.stop()
    knobs, reps = pick_knobs(reg, sid)
    st.title(plain(reg.spec.name), anchor=False)
    if reg.spec.description:
        st.text(reg.spec.description)  # no Markdown: it could fetch outside images
    # Sent before anything slow: the previous setting's downloads and marker leave the
    # page as soon as this run starts; this run refills them at its end.
    downloads = st.empty()
    downloads.caption("Simulating this setting…")
    try:
        outcome = cached_run(source, knobs, reps, engine)
    except ScenarioError as exc:
        downloads.empty()
        st.error(plain(str(exc)))
        st.stop()
    baseline = cached_run(source, region.file_knobs(reg), reps, engine)
    before = previous_setting(sid, outcome, knobs, reps)
    if before is not None:
        previous = cached_run(source, before[0], before[1], engine)
        st.info(plain(region.change_words(previous, outcome)))
    show_numbers(outcome, baseline)
    st.image(outcome.map_png, width=820)
    st.subheader("Threats by route", anchor=False)
    st.dataframe(region.route_table(outcome, baseline), hide_index=True)
    st.subheader("Each crossing", anchor=False)
    st.dataframe(region.crossing_table(outcome), hide_index=True)
    if outcome.shocks:
        st.subheader("Shocks at each crossing with events", anchor=False)
        st.dataframe(outcome.shocks, hide_index=True)
    st.caption(f"{outcome.replications} runs of the day on seed {outcome.seed}, engine "
               f"{outcome.engine}; brackets and captions give 95% intervals across runs "
               "(percentiles pool every traveller of every run). Every setting sees the same "
               "travellers, so the change from the previous setting is a paired difference. "
               "“Travel + wait saved by posted waits” replays each run with nobody informed.")
    with downloads.container():
        show_downloads(source, outcome)
