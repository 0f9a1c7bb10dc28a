"""The workshop page (Streamlit). Started by ``borderesim workshop``; not imported elsewhere.

Everything it computes comes from ``logic`` (numbers) and ``charts`` (figures);
this file only lays out widgets and caches results so each change redraws in
about a second. Names and descriptions from a scenario are shown as text, never as
Markdown. Under the title, the downloads and a marker naming the setting they hold
(``logic.setting_marker``) are written last in each run, after the numbers and charts
of the same setting. Arguments after ``--``: ``--scenario PATH`` (the file to start with;
a region file opens the region page of :mod:`borderesim.workshop.region_app`).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import streamlit as st

from borderesim.errors import ScenarioError
from borderesim.model.scenario import Scenario, load_scenario, load_scenario_text
from borderesim.model.yamlio import decode_text
from borderesim.output.animate import (
    busiest_hour,
    clock,
    frame_times,
    gif_bytes,
    make_frames,
    make_layout,
)
from borderesim.run.region.cli import is_region_file
from borderesim.workshop import charts, incident, logic, region_app


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--scenario", default=None)
    parser.add_argument("--engine", default="auto")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return known


def _scenario_from_text(text: str) -> Scenario:
    """The scenario of ``text`` (YAML this page wrote or was sent): bounded, no ``extends``."""
    return load_scenario_text(text, "scenario")


@st.cache_data(max_entries=64, show_spinner="Simulating…")
def cached_run(scenario_text: str, knobs: logic.Knobs, replications: int,
               engine: str) -> logic.Outcome:
    """``logic.run`` of the scenario with ``knobs`` applied (cached by setting)."""
    scenario = logic.apply_knobs(_scenario_from_text(scenario_text), knobs)
    return logic.run(scenario, replications, engine)


@st.cache_data(max_entries=32, show_spinner="Drawing the trade-off curve…")
def cached_curve(scenario_text: str, knobs: logic.Knobs, replications: int,
                 engine: str) -> tuple[str | None, list[logic.CurvePoint]]:
    """``logic.tradeoff_curve`` (cached; the swept knob's own value does not matter)."""
    return logic.tradeoff_curve(_scenario_from_text(scenario_text), knobs, replications, engine)


@st.cache_data(max_entries=8, show_spinner="Replaying the crossing…")
def cached_gif(scenario_text: str, knobs: logic.Knobs, replications: int, engine: str,
               window: tuple[float, float], step: float) -> bytes:
    """The animation of replication 0 over ``window`` (minutes) as GIF bytes."""
    outcome = cached_run(scenario_text, knobs, replications, engine)
    frames = make_frames(outcome.plan, outcome.inputs, outcome.trace,
                         frame_times(window[0], window[1], step))
    return gif_bytes(frames, make_layout(outcome.plan), fps=12, title=outcome.scenario.name)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_example(path: str) -> str:
    return load_scenario(path).to_yaml()


def pick_scenario(start: str | None) -> tuple[str, str] | None:
    """Sidebar: an example, the file given on the command line, or an upload.

    Returns (an id for widget keys, the scenario as YAML text), or None after showing
    the error of a bad upload.
    """
    choices: dict[str, str] = {}
    if start:
        choices[f"{Path(start).name} (from the command line)"] = start
    for title, path in logic.example_scenarios().items():
        choices.setdefault(title, str(path))
    title = st.sidebar.selectbox("Scenario", list(choices), key="scenario_choice")
    upload = st.sidebar.file_uploader("…or upload a scenario YAML", type=["yaml", "yml"])
    if upload is not None:
        # an upload never names a server file: load_scenario_text refuses `extends` before
        # opening anything, and its errors quote only the uploaded text
        name = Path(upload.name).name or "uploaded.yaml"
        try:
            scenario = load_scenario_text(decode_text(upload.getvalue(), name), name)
        except ScenarioError as exc:
            st.error(str(exc))
            return None
        return f"upload:{upload.name}:{upload.file_id}", scenario.to_yaml()
    return f"file:{choices[title]}", cached_example(choices[title])


def pick_incidents(scenario: Scenario, sid: str) -> tuple[incident.Incident, ...]:
    """Sidebar: the trainer's "incident now" button (an outage or a surge at a clock time)
    and the incidents pressed so far for this scenario (kept until cleared)."""
    key = f"incidents|{sid}"
    pressed: tuple[incident.Incident, ...] = st.session_state.get(key, ())
    with st.sidebar.expander("Incident: an outage or a surge", expanded=bool(pressed)):
        kind = st.radio("What happens", ["outage", "surge"], horizontal=True,
                        key=f"inc-kind|{sid}")
        last = max(1, int(scenario.horizon // 60) - 1)
        start, _ = busiest_hour(scenario)
        hour = st.slider("At (hour of the simulated day)", 0, last,
                         min(last, int(start // 60)), key=f"inc-at|{sid}")
        new = incident.default_incident(scenario, kind, hour * 60.0)
        if kind == "outage":
            lanes = incident.lanes_by_stage(scenario)
            stage = st.selectbox("Stage", list(lanes), key=f"inc-stage|{sid}",
                                 format_func=logic.plain)
            lane = st.selectbox("Lane", lanes[stage], key=f"inc-lane|{sid}",
                                format_func=logic.plain)
            minutes = st.slider("Minutes out", 10, 240, 60, 10, key=f"inc-min|{sid}")
            preempt = st.checkbox("Travellers in service start over", key=f"inc-pre|{sid}")
            new = replace(new, stage=stage, lane=lane, minutes=float(minutes), preempt=preempt)
        else:
            travellers = st.slider("Extra travellers", 10, 1000, new.travellers, 10,
                                   key=f"inc-n|{sid}")
            minutes = st.slider("Arriving within (minutes; 0: all at once)", 0, 60, 10,
                                key=f"inc-over|{sid}")
            new = replace(new, travellers=int(travellers), minutes=float(minutes))
        add, clear = st.columns(2)
        if add.button("Incident now", type="primary", key=f"inc-add|{sid}"):
            pressed = (*pressed, new)
        if clear.button("Clear incidents", key=f"inc-clear|{sid}"):
            pressed = ()
        st.session_state[key] = pressed
        for item in pressed:
            st.caption(logic.plain(incident.incident_words(item)))
    return pressed


def pick_knobs(scenario: Scenario, sid: str) -> tuple[logic.Knobs, int]:
    """Sidebar sliders: demand, officers per stage, strategy and its parameters."""
    sb = st.sidebar
    sb.subheader("Demand and officers")
    demand = sb.slider("Demand (% of the scenario's arrivals)", 25, 200, 100, 5,
                       format="%d%%", key=f"demand|{sid}") / 100
    officers = []
    for stage, spec in scenario.stages.items():
        peak = logic.peak_officers(scenario, stage)
        who = "referred travellers" if spec.visits == "referred" else "everyone"
        n = sb.slider(f"Officers at {logic.plain(stage)} (busiest hour)", 1,
                      max(2 * peak, peak + 6), peak, key=f"officers|{stage}|{sid}",
                      help=f"Visited by {who}. Every hour's roster is scaled by the same factor.")
        officers.append((stage, int(n)))
    sb.subheader("Targeting: who goes to secondary")
    forms = logic.strategy_forms(scenario)
    default = logic.default_form(scenario)
    form = sb.selectbox("Strategy", forms, index=forms.index(default), key=f"strategy|{sid}",
                        format_func=lambda f: f.label)
    start = logic.knob_values(form, scenario)
    params = []
    for knob in form.knobs:
        value = region_app.knob_slider(sb, knob, start[knob.name],
                                       f"knob|{form.key}|{knob.name}|{sid}")
        params.append((knob.name, float(value)))
    with sb.expander("Simulation"):
        reps = st.slider("Replications (runs of the day)", 2, 20, 5, key="reps",
                         help="More runs: narrower intervals, slower updates.")
    knobs = logic.Knobs(demand=demand, officers=tuple(officers), strategy=form.key,
                        params=tuple(sorted(params)), incidents=pick_incidents(scenario, sid))
    return knobs, int(reps)


def show_numbers(outcome: logic.Outcome, baseline: logic.Outcome) -> None:
    """The four headline numbers with intervals and the change from the file's setting."""
    found = logic.worst(outcome.kpis, outcome.scenario)
    if found is not None:  # the stage that breaks first, on top in large type
        verdict = "Over the standard" if found.breaks else "Within the standard"
        st.markdown(f"## {verdict} — {logic.plain(found.words())}")
    cols = st.columns(4)
    rows, base = logic.headline(outcome), {r["key"]: r for r in logic.headline(baseline)}
    lower_is_better = {logic.WORST_WAIT, "innocent_referred_per_day"}
    for col, row in zip(cols, rows, strict=True):
        was = base[row["key"]]["mean"]
        delta = row["mean"] - was
        digits = 1 if row["unit"] in ("min", "%") else 0
        shown = None
        if not math.isnan(delta) and round(abs(delta), digits) > 0:
            shown = f"{delta:+,.{digits}f} vs file"
        col.metric(row["label"], logic.fmt_number(row["mean"], row["unit"]), shown,
                   delta_color="inverse" if row["key"] in lower_is_better else "normal")
        col.caption(logic.fmt_interval(row, outcome.replications))
    st.caption(logic.plain(logic.stage_waits(outcome)))


def show_animation(text: str, knobs: logic.Knobs, reps: int, engine: str,
                   scenario: Scenario) -> None:
    """The crossing replayed from replication 0's trace, for a window the trainer picks."""
    st.subheader("The crossing, replayed")
    st.caption("Blue: travellers queueing and at booths. Orange: referred to secondary. "
               "Red star: a threat detected. Replayed from the simulation's event log "
               "(run 1 of the current setting).")
    last = int(math.ceil(scenario.horizon / 60))
    lo, hi = busiest_hour(scenario)
    c1, c2, c3 = st.columns([3, 1, 1])
    hours = c1.slider("Hours to replay", 0, last, (int(lo // 60), int(math.ceil(hi / 60))),
                      key="anim_hours")
    step = c2.selectbox("Simulated seconds per frame", [10, 20, 30, 60], index=2,
                        key="anim_step")
    setting = (text, knobs, reps, hours, step)
    if c3.button("Play the crossing", type="primary"):
        st.session_state["animated"] = setting
    if hours[1] <= hours[0]:
        st.info("Pick a window of at least one hour.")
    elif st.session_state.get("animated") == setting:
        window = (hours[0] * 60.0, min(hours[1] * 60.0, scenario.horizon))
        gif = cached_gif(text, knobs, reps, engine, window, step / 60.0)
        st.image(gif, width="stretch", caption=f"{clock(window[0])} to {clock(window[1])}")
    elif st.session_state.get("animated"):
        st.info("The setting changed: press “Play the crossing” to replay it.")


def show_downloads(text: str, knobs: logic.Knobs, reps: int, engine: str,
                   outcome: logic.Outcome, knob: str | None,
                   points: list[logic.CurvePoint]) -> None:
    """The two downloads, then the marker naming the setting they hold.

    Both files are pure functions of this run's ``knobs`` (and scenario, replications,
    engine), and carry the same ``setting_id`` as the marker. Clicking them does not
    rerun the page (``on_click="ignore"``), so a click never replaces the files it asked
    for. The marker comes last: once it shows, this run's buttons are on the page.
    """
    setting = logic.setting_id(text, knobs, reps, engine)
    c1, c2, _ = st.columns([1, 1, 2])
    c1.download_button("Save setting as scenario YAML",
                       logic.scenario_yaml(outcome.scenario, knobs, setting),
                       file_name="workshop_setting.yaml", mime="application/x-yaml",
                       on_click="ignore")
    c2.download_button("PNG snapshot",
                       lambda: charts.snapshot_png(outcome, knobs, knob, points, setting),
                       file_name="workshop_snapshot.png", mime="image/png", on_click="ignore")
    st.caption(logic.plain(logic.setting_marker(knobs, setting)))


def main() -> None:
    args = _args()
    st.set_page_config(page_title="borderesim workshop", layout="wide")
    st.sidebar.title("borderesim workshop")
    region_file = args.scenario if args.scenario and is_region_file(args.scenario) else None
    pages = ["One crossing", "A region of crossings"]
    if st.sidebar.radio("Page", pages, index=1 if region_file else 0, horizontal=True,
                        key="page") == pages[1]:
        region_app.show(region_file, args.engine)
        return
    picked = pick_scenario(None if region_file else args.scenario)
    if picked is None:
        st.stop()
    sid, text = picked
    scenario = _scenario_from_text(text)
    knobs, reps = pick_knobs(scenario, sid)
    st.title(logic.plain(scenario.name), anchor=False)
    if scenario.description:
        st.text(scenario.description)  # no Markdown: it could fetch outside images
    # Sent before anything slow: the previous setting's downloads and marker leave the
    # page as soon as this run starts (a click before that gets the previous setting,
    # which the marker beside the button still names); this run refills them at the end.
    downloads = st.empty()
    downloads.caption("Simulating this setting…")
    try:
        outcome = cached_run(text, knobs, reps, args.engine)
    except ScenarioError as exc:
        downloads.empty()
        st.error(logic.plain(str(exc)))
        st.stop()
    baseline = cached_run(text, logic.Knobs(), reps, args.engine)
    show_numbers(outcome, baseline)
    if knobs.incidents:
        st.caption(logic.plain(logic.shock_words(outcome)))
    for message in outcome.warnings:
        st.warning(logic.plain(message))
    left, right = st.columns(2)
    with right:
        st.pyplot(charts.queue_figure(outcome))
    with left:
        knob, points = cached_curve(text, logic.curve_knobs(knobs), reps, args.engine)
        st.pyplot(charts.tradeoff_figure(knob, points, outcome))
    with downloads.container():
        show_downloads(text, knobs, reps, args.engine, outcome, knob, points)
    show_animation(text, knobs, reps, args.engine, scenario)
    st.caption(f"{reps} runs of the day on seed {outcome.scenario.seed}, engine "
               f"{outcome.engine}; intervals are 95% intervals across runs (percentiles pool "
               "every traveller of every run). Every setting sees the same travellers "
               "(common random numbers).")


main()
