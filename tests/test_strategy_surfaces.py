"""A strategy defined in this module alone shows on every surface once registered.

``PeakSparing`` (parameters, knob, words, decision rule: one class) is registered for each
test only (the registry is restored afterwards), then checked in scenario validation and
the JSON Schema, ``compare`` (a strategies file sweeping its knob), the workshop's forms,
sliders and trade-off curve, the report's words and trade-off variants, and the strategy
kit.
"""

from __future__ import annotations

import copy
import json
from typing import Annotated, Literal

import numpy as np
import pytest
from pydantic import Field

from borderesim import ScenarioError, load_scenario
from borderesim.cli import main
from borderesim.model.scenario import json_schema
from borderesim.model.targeting import (
    Decision,
    Knob,
    Strategy,
    TargetingContext,
    register_strategy,
)
from borderesim.output.report import describe
from borderesim.output.report.knobs import SCALES, tradeoff_variants
from borderesim.testing.strategy_kit import check_strategy, knob_settings
from borderesim.workshop import logic

ENGINE = "simpy"


class PeakSparing(Strategy):
    """Refer ``rate`` of travellers at random, ``peak_factor`` times that in the peak hours
    (``peak_from`` to ``peak_to``, hours of the day)."""

    title = "Peak-sparing random selection"
    knobs = (Knob("rate", "Referral rate off the peak", 0.0, 0.2, 0.01, 0.04),)
    main_knob = "rate"
    grid = (0.0, 0.05, 0.1)

    strategy: Literal["peak_sparing"]
    rate: Annotated[float, Field(ge=0, le=1)]
    peak_factor: Annotated[float, Field(ge=0, le=1)] = 0.5
    peak_from: float = 7.0
    peak_to: float = 10.0

    def describe(self, scenario) -> str:
        return (f"refers {100 * self.rate:g} % of travellers at random, {self.peak_factor:g} "
                f"times that from {self.peak_from:g} h to {self.peak_to:g} h")

    def decide(self, ctx: TargetingContext) -> Decision:
        u = ctx.stream("targeting.peak_sparing").random(ctx.n)
        hour = np.mod(ctx.arrival / 60.0, 24.0)
        peak = (hour >= self.peak_from) & (hour < self.peak_to)
        p = np.where(peak, self.rate * self.peak_factor, self.rate)
        return Decision(refer=u < p, p_refer_if_threat=p)


TAG = "peak_sparing"
SCENARIO = {
    "name": "Small crossing",
    "duration": "12h",
    "replications": 2,
    "seed": 5,
    "arrivals": {"per_hour": 60},
    "classes": {"resident": {"share": 0.7, "threat_prevalence": 0.01},
                "visitor": {"share": 0.3, "threat_prevalence": 0.03}},
    "stages": {
        "primary": {"servers": 2, "service": {"distribution": "exponential", "mean": "1 min"},
                    "detection_probability": 0.05},
        "secondary": {"visits": "referred", "servers": 2,
                      "service": {"distribution": "exponential", "mean": "10 min"},
                      "detection_probability": 0.9},
    },
    "targeting": {"strategy": TAG, "rate": 0.06},
}


@pytest.fixture
def registered(monkeypatch):
    """``PeakSparing`` registered for one test; the registry is restored afterwards."""
    monkeypatch.setattr(Strategy, "registry", dict(Strategy.registry))
    register_strategy(PeakSparing)
    return PeakSparing


@pytest.fixture
def data():
    return copy.deepcopy(SCENARIO)


def _error(data) -> ScenarioError:
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    return err.value


def test_unregistered_it_is_unknown_and_registered_it_validates(data, monkeypatch):
    err = _error(data)
    assert err.path == "targeting" and "unknown strategy 'peak_sparing'" in err.problem
    register = dict(Strategy.registry)
    monkeypatch.setattr(Strategy, "registry", register)
    register_strategy(PeakSparing)
    scenario = load_scenario(data)
    assert isinstance(scenario.targeting, PeakSparing) and scenario.targeting.rate == 0.06
    data["targeting"]["strategy"] = "peak_sparring"
    assert "'peak_sparing'" in _error(data).problem  # an unknown tag lists the registered


def test_validation_in_layers_and_fallbacks_with_field_paths(registered, data):
    data["targeting"] = {"layers": [{"strategy": "random", "referral_rate": 0.01},
                                    {"strategy": TAG, "rate": 0.02}]}
    assert isinstance(load_scenario(data).targeting.layers[1], PeakSparing)
    data["targeting"]["layers"][1]["rate"] = 2
    err = _error(data)
    assert err.path == "targeting.layers.1.rate" and "less than or equal to 1" in err.problem
    data["targeting"]["layers"][1] = {"strategy": TAG, "rate": 0.02, "peak_factr": 1}
    err = _error(data)
    assert err.path == "targeting.layers.1.peak_factr" and "did you mean 'peak_factor'" in \
        err.problem
    data["targeting"] = {"strategy": "watchlist", "coverage": 0.5,
                         "outages": [{"start": "02:00", "end": "05:00"}],
                         "fallback": {"strategy": TAG, "rate": 0.1}}
    assert isinstance(load_scenario(data).targeting.fallback, PeakSparing)


def test_json_schema_lists_it(registered):
    schema = json.loads(json_schema())
    refs = [m.get("$ref") for m in schema["$defs"]["Strategy"]["oneOf"]]
    assert "#/$defs/PeakSparing" in refs
    assert schema["$defs"]["PeakSparing"]["properties"]["strategy"]["const"] == TAG
    fallback = [m.get("$ref") for m in schema["$defs"]["Fallback"]["oneOf"]]
    assert "#/$defs/PeakSparing" in fallback


def test_compare_sweeps_its_knob(registered, data, tmp_path, capsys):
    scenario, strategies = tmp_path / "s.yaml", tmp_path / "strategies.yaml"
    scenario.write_text(json.dumps(data))
    strategies.write_text(json.dumps({"strategies": {
        "random": {"strategy": "random", "referral_rate": 0.05},
        "sparing": {"strategy": TAG, "rate": [0.02, 0.1], "peak_factor": 0.25}}}))
    assert main(["compare", str(scenario), "--strategies", str(strategies), "--engine", ENGINE,
                 "--replications", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in out["strategies"]}
    assert set(rows) == {"random", "sparing rate=0.02", "sparing rate=0.1"}
    low, high = rows["sparing rate=0.02"], rows["sparing rate=0.1"]
    assert low["targeting"]["strategy"] == TAG and high["knob"] == "rate"
    assert low["kpis"]["referral_rate"]["mean"] < high["kpis"]["referral_rate"]["mean"]
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "peak_sparing (main knob rate)" in " ".join(capsys.readouterr().out.split())


def test_workshop_offers_sliders_and_a_tradeoff_curve(registered, data):
    scenario = load_scenario(data)
    forms = logic.strategy_forms(scenario)
    form = logic.default_form(scenario)
    assert form in forms and form.key == TAG and form.label == PeakSparing.title
    assert [k.name for k in form.knobs] == ["rate"] and form.sweep == "rate"
    assert logic.knob_values(form, scenario) == {"rate": 0.06}
    knobs = logic.Knobs(strategy=TAG, params=(("rate", 0.15),))
    built = logic.apply_knobs(scenario, knobs)
    assert built.targeting == PeakSparing(strategy=TAG, rate=0.15)
    assert "Peak-sparing random selection, rate 15%" in logic.describe_setting(knobs)[-1]
    bad = logic.Knobs(strategy=TAG, params=(("rate", 1.5),))
    with pytest.raises(ScenarioError) as err:
        logic.apply_knobs(scenario, bad)
    assert err.value.path == "targeting.rate"
    name, points = logic.tradeoff_curve(scenario, knobs, replications=1, engine=ENGINE)
    assert name == "rate" and [p.value for p in points] == list(PeakSparing.grid)
    assert points[0].false_referral_rate == 0 < points[-1].false_referral_rate
    assert logic.curve_knobs(knobs).params == ()


def test_report_describes_it_and_varies_its_knob(registered, data):
    scenario = load_scenario(data)
    assert describe.strategy(scenario) == [
        f"Targeting ({TAG}): refers 6 % of travellers at random, 0.5 times that from 7 h "
        "to 10 h."]
    variants, own, note = tradeoff_variants(scenario)
    assert [v.value for v in variants] == list(SCALES) and variants[own].value == 1.0
    assert [v.targeting["rate"] for v in variants] == pytest.approx([0.06 * f for f in SCALES])
    assert all(v.targeting["peak_factor"] == 0.5 for v in variants) and "×2" in note
    data["targeting"] = {"layers": [{"strategy": TAG, "rate": 0.06},
                                    {"strategy": "explore", "share": 0.01}]}
    layered = load_scenario(data)
    assert "any layer does: refers 6 % of travellers" in describe.strategy(layered)[0]
    variants, _, _ = tradeoff_variants(layered)
    assert variants[-1].targeting["layers"][0]["rate"] == pytest.approx(0.12)


def test_strategy_kit_checks_it_along_its_knob(registered, data):
    scenario = load_scenario(data)
    assert [v.value for v in knob_settings(scenario)] == list(SCALES)
    checked = check_strategy(scenario.targeting, scenario)
    assert checked.streams == ("targeting.peak_sparing",) and len(checked.settings) == 5
