"""The crossing animation: frames replayed from the trace, and ``borderesim animate``."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pytest
from PIL import Image

from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model.scenario import load_scenario
from borderesim.output import animate
from borderesim.run.engines import get_engine
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample

from .conftest import SCENARIOS
from .test_workshop_logic import SMALL


@pytest.fixture(scope="module")
def replay():
    data = copy.deepcopy(SMALL)
    data["targeting"] = {"strategy": "random", "referral_rate": 0.3}  # busy secondary
    data["classes"]["visitor"]["threat_prevalence"] = 0.2  # detections to see
    scenario = load_scenario(data)
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, 3, 0)
    trace = get_engine("simpy")(plan, inputs)
    return scenario, plan, inputs, trace


def test_booths_never_serve_two_travellers_at_once(replay):
    _, plan, _, trace = replay
    slot = animate.booth_slots(trace, plan)
    layout = animate.make_layout(plan)
    for s in range(plan.n_stages):
        assert (slot[s][np.isnan(trace.start[s])] == -1).all()
        for lane in plan.lanes_of(s):
            served = (trace.lane[s] == lane) & ~np.isnan(trace.start[s])
            assert (slot[s][served] >= 0).all()
            assert slot[s][served].max() < layout.slots[lane]
            for k in np.unique(slot[s][served]):
                who = np.flatnonzero(served & (slot[s] == k))
                order = np.argsort(trace.start[s, who])
                starts, ends = trace.start[s, who][order], trace.end[s, who][order]
                assert (starts[1:] >= ends[:-1]).all()


def test_frames_show_exactly_who_is_where(replay):
    _, plan, inputs, trace = replay
    layout = animate.make_layout(plan)
    times = animate.frame_times(120.0, 300.0, 1.0)
    frames = animate.make_frames(plan, inputs, trace, times)
    assert len(frames) == 180
    detected_at = animate.detection_times(inputs, trace)
    for f in frames[::7]:
        t = f.t
        for s in range(plan.n_stages):
            waiting = ((trace.entry[s] <= t) & ~(trace.start[s] <= t) & (trace.lane[s] >= 0))
            assert f.waiting[s] == waiting.sum()
        in_place = f.x < layout.held_x
        inside = sum(((trace.entry[s] <= t) & ~(trace.end[s] <= t) & (trace.lane[s] >= 0))
                     for s in range(plan.n_stages))
        assert in_place.sum() + sum(f.overflow.values()) == inside.sum()
        at_booths = np.isin(f.x, layout.booth_x)  # queues stand left of the booths
        spots = set(zip(f.x[at_booths].round(6), f.y[at_booths].round(6), strict=True))
        assert len(spots) == at_booths.sum()  # one traveller per booth
        serving = sum(((trace.start[s] <= t) & ~(trace.end[s] <= t)).sum()
                      for s in range(plan.n_stages))
        assert at_booths.sum() == serving
        referred = np.isin(f.kind, [animate.REFERRED_WAITING, animate.REFERRED_SERVING])
        ref = int(np.flatnonzero(plan.stage_referred)[0])
        at_ref = ((trace.entry[ref] <= t) & ~(trace.end[ref] <= t) & (trace.lane[ref] >= 0)
                  & ~(detected_at <= t))
        ref_overflow = sum(v for lane, v in f.overflow.items() if plan.lane_stage[lane] == ref)
        assert referred.sum() + ref_overflow >= at_ref.sum() >= referred.sum()
        stars = f.kind == animate.DETECTED
        assert stars.sum() >= ((detected_at <= t) & (detected_at >= 120.0)
                               & (trace.exit <= t)).sum()
    last = frames[-1]
    window = (detected_at >= 120.0) & (detected_at <= last.t)
    assert last.detected == window.sum() > 0
    held = (last.kind == animate.DETECTED) & (last.x >= layout.held_x)
    assert held.sum() == (window & (trace.exit <= last.t)).sum()
    left = (trace.exit >= 120.0) & (trace.exit <= last.t)
    assert last.passed + last.detected == left.sum()
    missed = left & inputs.threat & np.isnan(detected_at)
    assert last.threats_missed == missed.sum()
    counts = [f.passed for f in frames]
    assert counts == sorted(counts)


def test_detections_come_from_checked_threats(replay):
    _, _, inputs, trace = replay
    when = animate.detection_times(inputs, trace)
    caught = ~np.isnan(when)
    assert inputs.threat[caught].all()
    for i in np.flatnonzero(caught):
        s = int(np.flatnonzero(inputs.caught[:, i] & (trace.lane[:, i] >= 0))[0])
        assert when[i] == trace.end[s, i]


def test_hours_and_the_default_window():
    assert animate.parse_hours("7-9", 1440) == (420.0, 540.0)
    assert animate.parse_hours("23.5-30", 1440) == (1410.0, 1440.0)
    for bad in ("7", "9-7", "x-y", "25-26"):
        with pytest.raises(ScenarioError, match="--hours"):
            animate.parse_hours(bad, 1440)
    land = load_scenario(SCENARIOS / "land_crossing.yaml")
    assert animate.busiest_hour(land) == (17 * 60.0, 18 * 60.0)  # 330 vehicles/h
    assert animate.clock(1500) == "day 2 01:00"


def test_cli_writes_a_gif(tmp_path, capsys):
    out = tmp_path / "crossing.gif"
    status = main(["animate", str(SCENARIOS / "cargo_terminal.yaml"), "-o", str(out),
                   "--hours", "8-9", "--step", "120", "--fps", "5", "--engine", "simpy"])
    assert status == 0
    assert "30 frames" in capsys.readouterr().out
    with Image.open(out) as gif:
        assert gif.format == "GIF" and 1 < gif.n_frames <= 30
        assert gif.info["duration"] == 200  # 5 frames a second


def test_cli_errors_are_one_line(tmp_path, capsys):
    scenario = str(SCENARIOS / "cargo_terminal.yaml")
    assert main(["animate", scenario, "-o", str(tmp_path / "a.avi")]) == 2
    assert capsys.readouterr().err.strip().endswith("the output must end in .gif or .mp4")
    assert main(["animate", scenario, "-o", str(tmp_path / "a.gif"), "--hours", "30-31"]) == 2
    assert "--hours" in capsys.readouterr().err
    assert main(["animate", scenario, "-o", str(tmp_path / "no" / "a.gif")]) == 2
    assert "output folder does not exist" in capsys.readouterr().err
    if shutil.which("ffmpeg") is None:
        assert main(["animate", scenario, "-o", str(tmp_path / "a.mp4")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "needs ffmpeg" in err
