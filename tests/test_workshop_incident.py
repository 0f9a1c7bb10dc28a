"""The workshop's "incident now" button: an outage or a surge the trainer presses."""

from __future__ import annotations

import sys
from pathlib import Path

from borderesim.scenario import load_scenario
from borderesim.workshop import logic
from borderesim.workshop.incident import Incident
from tests.conftest import DEMO

SMALL = {**DEMO, "duration": "8h", "warmup": "1h", "replications": 2}


def test_an_incident_changes_the_run_and_names_itself():
    scenario = load_scenario(SMALL)
    calm = logic.Knobs()
    outage = logic.Knobs(incidents=(Incident("outage", 180.0, 90.0, "primary", "primary"),))
    a = logic.run(logic.apply_knobs(scenario, calm), 2, "fast")
    b = logic.run(logic.apply_knobs(scenario, outage), 2, "fast")
    # an hour and a half with primary closed: waits grow, and the shock KPIs appear
    assert b.mean("primary.wait_mean") > a.mean("primary.wait_mean")
    assert b.mean("primary.queue_peak") > 0 and "primary.queue_peak" not in a.kpis
    words = logic.describe_setting(outage)
    assert words[-1] == "incident: primary.primary out at 03:00 for 90 min"
    assert logic.setting_id("x", calm, 2, "fast") != logic.setting_id("x", outage, 2, "fast")
    assert logic.shock_words(b).startswith("After the incident — primary: queue peaks at")


def test_the_page_adds_an_incident_when_pressed(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    path = tmp_path / "small.yaml"
    path.write_text(load_scenario(SMALL).to_yaml(), encoding="utf-8")
    app = Path(logic.__file__).with_name("app.py")
    monkeypatch.setattr(sys, "argv", [str(app), "--scenario", str(path), "--engine", "fast"])
    at = AppTest.from_file(str(app), default_timeout=180).run()
    assert not at.exception, at.exception
    before = [c.value for c in at.caption]
    assert not any(str(v).startswith("After the incident") for v in before)
    next(b for b in at.button if b.label == "Incident now").click().run()
    assert not at.exception, at.exception
    shown = [str(c.value) for c in at.caption]
    assert any(v.startswith("After the incident") for v in shown), shown
    assert any("out at" in v for v in shown)
    marker = next(v for v in shown if "downloads show" in v)  # the page's setting marker
    assert "incident" in marker and "out at" in marker
