"""``borderesim plan``: options file errors, fresh-traveller check, cheapest option, outputs."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import yaml

from borderesim.analysis.workforce import load_options, plan_workforce
from borderesim.analysis.workforce.costs import annuity
from borderesim.cli import main
from tests.conftest import SCENARIOS

SMALL = {
    "name": "Small crossing",
    "duration": "24h",
    "replications": 3,
    "seed": 11,
    "arrivals": {"per_hour": [20] * 6 + [70] * 12 + [20] * 6},
    "stages": {
        "primary": {"servers": 3, "booths": 3,
                    "service": {"distribution": "lognormal", "mean": "1min", "cv": 0.5}},
    },
}
OPTIONS = {
    "name": "Small options",
    "cost_source": "illustrative",
    "discount_rate": 0.05,
    "workforce": {"shrinkage": 0.3, "hours_per_fte": "1950 h", "establishment": 10,
                  "officer_annual_cost": 50000},
    "staffing": {"shifts": [{"length": "8h", "break": "30min", "break_window": ["2h", "5h"]}]},
    "buy": {"booth": {"kind": "booth", "stage": "primary", "capital_cost": 100000,
                      "upkeep_per_year": 1000, "life_years": 10}},
    "options": [{"name": "officers only"}, {"name": "+1 booth", "buy": {"booth": 1}}],
}
TARGET = ["primary.wait_p95<=5min"]


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_shift_roster_meets_targets_on_fresh_travellers():
    result = plan_workforce(SMALL, OPTIONS, TARGET)
    assert result.check_seed == SMALL["seed"] + 1
    base = result.results[0]
    assert base.shifts.proven_optimal
    assert (base.roster >= base.gap.required).all()
    assert base.check.fail.sum() == 0 and base.meets
    assert (base.shifts.on_duty_by_hour().sum(axis=0) >= base.gap.required.sum(axis=0)).all()
    d = result.to_dict()
    json.dumps(d, allow_nan=False)
    opt = d["options"][0]
    assert opt["fte_total"] == pytest.approx(opt["shifts"]["paid_hours"] * 365 / (1950 * 0.7),
                                             abs=1e-3)
    assert opt["officers_to_employ"]["officer"] == int(np.ceil(opt["fte_total"]))
    assert opt["cost"]["staff"] == opt["officers_to_employ"]["officer"] * 50000
    # a booth adds its annuity and upkeep; with no infrastructure gap, officers-only is cheapest
    plus = d["options"][1]
    assert plus["cost"]["capital_annualised"] == pytest.approx(annuity(100000, 0.05, 10),
                                                               abs=0.01)
    assert plus["cost"]["upkeep"] == 1000
    assert d["cheapest"] == "officers only"


def test_target_out_of_reach_of_the_booths(tmp_path, capsys):
    small = copy.deepcopy(SMALL)
    small["stages"]["primary"]["booths"] = 1
    opts = copy.deepcopy(OPTIONS)
    opts["options"] = [{"name": "officers only"}]
    sc, op = write(tmp_path, "s.yaml", small), write(tmp_path, "o.yaml", opts)
    assert main(["plan", str(sc), "--options", str(op), "--target", TARGET[0], "--json"]) == 0
    out, err = capsys.readouterr()
    d = json.loads(out)
    assert d["cheapest"] is None and not d["options"][0]["meets_targets"]
    assert d["options"][0]["infrastructure_gap_hours"]
    warning = [line for line in err.splitlines() if "warning" in line]
    assert warning == [line for line in warning if "no option meets every target" in line]
    assert "Traceback" not in err


def test_cli_table_json_and_figure(tmp_path, capsys):
    sc, op = write(tmp_path, "s.yaml", SMALL), write(tmp_path, "o.yaml", OPTIONS)
    out_dir = tmp_path / "out"
    assert main(["plan", str(sc), "--options", str(op), "--target", TARGET[0],
                 "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "cheapest option meeting every target: officers only" in out
    assert "proven optimal" in out and "officer-hours paid vs" in out
    assert (out_dir / "workforce_options.png").stat().st_size > 5000
    json.loads((out_dir / "plan.json").read_text())


BAD = [
    (("staffing", "shifts", 0, "length"), "7.5h", "staffing.shifts.0.length",
     "multiple of 60"),
    (("staffing", "shifts", 0, "break"), "7min", "staffing.shifts.0.break", "multiple of 15"),
    (("workforce", "shrinkage"), 1.2, "workforce.shrinkage", "less than 1"),
    (("workforce", "hours_per_fte"), 1950, "workforce.hours_per_fte", "write the unit"),
    (("buy", "booth", "capital_cost"), -5, "buy.booth.capital_cost", "greater than or equal"),
    (("buy", "booth", "stage"), "tertiary", "buy.booth.stage", "no stage 'tertiary'"),
    (("options", 1, "buy"), {"drone": 1}, "options.1.buy", "unknown item 'drone'"),
    (("staffing", "officres"), {}, "staffing.officres", "did you mean 'officers'"),
]


@pytest.mark.parametrize(("where", "value", "path", "problem"), BAD, ids=[b[2] for b in BAD])
def test_bad_options_file_is_one_line(tmp_path, capsys, where, value, path, problem):
    opts = copy.deepcopy(OPTIONS)
    node = opts
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    sc, op = write(tmp_path, "s.yaml", SMALL), write(tmp_path, "o.yaml", opts)
    assert main(["plan", str(sc), "--options", str(op), "--target", TARGET[0]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"borderesim: error: {op}: {path}: "), err
    assert problem in err


def test_uncoverable_shifts_exit_2(tmp_path, capsys):
    opts = copy.deepcopy(OPTIONS)
    opts["staffing"]["shifts"] = [{"length": "8h", "starts": [6, 14]}]
    sc, op = write(tmp_path, "s.yaml", SMALL), write(tmp_path, "o.yaml", opts)
    assert main(["plan", str(sc), "--options", str(op), "--target", TARGET[0]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1] == (f"borderesim: error: {op}: staffing.shifts: no allowed shift covers "
                       "00:00-00:15 (lane 'primary' needs officers in hour 0); add a shift "
                       "start or length")


def test_missing_options_file(tmp_path, capsys):
    sc = write(tmp_path, "s.yaml", SMALL)
    assert main(["plan", str(sc), "--options", str(tmp_path / "nope.yaml"),
                 "--target", TARGET[0]]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["airport", "land"])
def test_example_options_files_validate(name):
    from borderesim.model.scenario import load_scenario
    from borderesim.run.plan import make_plan

    opts, src = load_options(SCENARIOS / "options" / f"{name}.yaml")
    scenario = {"airport": "airport_arrivals", "land": "land_crossing"}[name]
    sc = load_scenario(SCENARIOS / f"{scenario}.yaml")
    opts.check_against(sc, make_plan(sc), src)
    assert "ILLUSTRATIVE" in opts.cost_source
