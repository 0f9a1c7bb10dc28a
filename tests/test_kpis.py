"""The KPI catalogue, the one number formatter and the one JSON convention."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from borderesim.analysis import kpis
from borderesim.analysis.compare import load_strategies, with_targeting
from borderesim.analysis.kpis import (
    FAMILIES,
    KpiFamily,
    UnknownKpi,
    declare,
    format_value,
    kpi_info,
    markdown_table,
    readme_section,
)
from borderesim.cli import main
from borderesim.model.scenario import load_scenario
from borderesim.output.serialize import dumps, to_jsonable
from borderesim.output.tables import kpi_table
from borderesim.run.simulate import simulate

from .conftest import ROOT, SCENARIOS

EXAMPLES = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("strategies"))
STRATEGIES = {"strategies_land.yaml": "land_crossing.yaml",
              "strategies_airport.yaml": "airport_arrivals.yaml"}
SHORT = ["duration=4h", "warmup=1h"]  # KPI names do not depend on the length of the run


def strict_loads(text: str) -> dict:
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and ``-Infinity``."""
    def refuse(token: str) -> None:
        raise ValueError(f"invalid JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def produced_names(path: Path, targeting: dict | None = None) -> list[str]:
    # a scenario with events keeps its length: its shocks must fall inside the run
    scenario = load_scenario(path, [] if load_scenario(path).events else SHORT)
    if targeting is not None:
        from borderesim.analysis.compare import Variant

        scenario = with_targeting(scenario, Variant("x", targeting))
    return list(simulate(scenario, replications=1).kpis)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_produced_kpi_is_catalogued(path):
    for name in produced_names(path):
        info = kpi_info(name)
        assert info.label and "{" not in info.label, name
        assert info.family.source == "run", name


@pytest.mark.parametrize("strategies", sorted(STRATEGIES), ids=lambda s: s[:-5])
def test_every_strategy_kpi_is_catalogued(strategies):
    """Each strategy of the example strategies files (watchlists, layers, queue-aware)."""
    seen: set[str] = set()
    for variant in load_strategies(SCENARIOS / strategies):
        if variant.group in seen:
            continue  # one value of each swept knob is enough: names do not depend on it
        seen.add(variant.group)
        for name in produced_names(SCENARIOS / STRATEGIES[strategies], variant.targeting):
            kpi_info(name)


def test_no_guessing():
    for name in ("wait_p99", "primary.wait", "nonsense", "primary.wait_p99", ""):
        with pytest.raises(UnknownKpi, match="declare it"):
            kpi_info(name)
    assert not kpis.is_declared("primary.wait_p99")


def test_names_resolve_to_the_right_family():
    cases = {
        "primary.wait_p95": ("{stage}.wait_p95", "95th percentile wait at primary", "min"),
        "primary.ready.wait_mean": ("{stage}.{lane}.wait_mean",
                                    "Mean wait in lane ready at primary", "min"),
        "class.ready.wait_mean": ("class.{cls}.wait_mean",  # not stage "class", lane "ready"
                                  "Mean wait of class ready (all stages)", "min"),
        "secondary.offered_load": ("{stage}.offered_load", "Offered load at secondary", "share"),
        "fairness.disparity_ratio": ("fairness.disparity_ratio", None, "ratio"),
        "detection.visitor": ("detection.{cls}", "Threats of class visitor detected", "share"),
        # names are text: braces, dollars and dots in them are kept as they are
        "class.$\\x{0}$.referral_rate": ("class.{cls}.referral_rate",
                                         "Travellers of class $\\x{0}$ referred", "share"),
        "a.b.queue_mean": ("{stage}.queue_mean", "Mean queue at a.b", "travellers"),
    }
    for name, (pattern, label, unit) in cases.items():
        info = kpi_info(name)
        assert info.family.pattern == pattern, name
        assert label is None or info.label == label
        assert info.unit.name == unit
    assert kpi_info("detection_rate").better == "higher"
    assert kpi_info("primary.wait_p95").better == "lower"
    assert kpi_info("referral_rate").better == "neither"
    # percentiles pool replications; their per-replication rows are not summarised
    for f in FAMILIES:
        want = ("pooled_quantile" if f.pattern.endswith("_p95") else "per_replication"
                if f.pattern.endswith("_p95_rep") else "mean_t")
        assert f.summary == want, f.pattern
    assert kpi_info("false_referral_rate").axis_label == "Innocent travellers referred (%)"


def test_one_declaration_per_pattern():
    patterns = [f.pattern for f in FAMILIES]
    assert len(patterns) == len(set(patterns))
    with pytest.raises(ValueError, match="unknown unit"):
        KpiFamily("x.hits", "Hits", "hits per fortnight", "neither")
    with pytest.raises(ValueError, match="placeholder"):
        KpiFamily("{gate}.hits", "Hits at {gate}", "travellers", "neither")


def test_a_strategy_declares_its_own_counts():
    family = KpiFamily("tip_off.hits", "Tip-offs acted on", "travellers", "higher")
    assert not kpis.is_declared("tip_off.hits")
    try:
        declare(family)
        assert declare(family) is family  # the same declaration again is harmless
        assert kpi_info("tip_off.hits").label == "Tip-offs acted on"
        with pytest.raises(ValueError, match="differently"):
            declare(KpiFamily("tip_off.hits", "Tip-offs", "share", "higher"))
    finally:
        FAMILIES.remove(family)
        kpis._resolve.cache_clear()
    assert not kpis.is_declared("tip_off.hits")


def test_readme_table_equals_the_catalogue():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(kpis.START) == 1 and text.count(kpis.END) == 1
    assert readme_section(text) == markdown_table(), (
        "README.md's KPI table differs from borderesim/analysis/kpis.py; run "
        "`python -m borderesim.analysis.kpis --write-readme`")


def test_readme_table_lists_every_run_family():
    table = markdown_table()
    for f in FAMILIES:
        assert (f"| `{f.pattern}` |" in table) == (f.source == "run"), f.pattern


@pytest.mark.parametrize(("value", "unit", "options", "text"), [
    (0.0423, "share", {}, "4.23"),
    (0.0423, "share", {"with_unit": True, "digits": 1}, "4.2%"),
    (15.0, "share", {}, "1,500.00"),
    (4.25, "min", {"with_unit": True, "digits": 1}, "4.2 min"),
    (1234.5, "min", {}, "1,234.50"),
    (183.4, "per hour", {"with_unit": True, "digits": 0}, "183/h"),
    (2.5, "per day", {"with_unit": True}, "2.50/day"),
    (0.012, "share", {"sign": True}, "+1.20"),
    (-0.5, "min", {"sign": True}, "-0.50"),
    (3.0, "travellers", {"with_unit": True, "digits": 0}, "3 travellers"),
    (None, "min", {}, "—"),
    (math.nan, "share", {"with_unit": True}, "—"),
    (math.inf, "share", {}, "∞"),
    (-math.inf, "min", {}, "−∞"),
    (np.float64(0.5), "share", {}, "50.00"),
])
def test_format_value(value, unit, options, text):
    assert format_value(value, unit, **options) == text


def test_format_value_knows_only_catalogue_units():
    with pytest.raises(KeyError, match="unknown unit"):
        format_value(1.0, "%")


def test_to_jsonable():
    data = {"a": math.nan, "b": [math.inf, -math.inf, 1.5, (2, np.float64("nan"))],
            "c": {"d": np.float64(0.25), "e": np.int64(3), "f": np.bool_(True), "g": None},
            "h": np.array([1.0, np.inf]), "i": "text"}
    out = to_jsonable(data)
    assert out == {"a": None, "b": [None, None, 1.5, [2, None]],
                   "c": {"d": 0.25, "e": 3, "f": True, "g": None}, "h": [1.0, None],
                   "i": "text"}
    assert type(out["c"]["e"]) is int and type(out["c"]["f"]) is bool
    assert strict_loads(dumps(data)) == out
    assert to_jsonable(0.1 + 0.2) == 0.1 + 0.2  # finite values untouched, bit for bit


# A stage and a lane with no server on duty in the whole counted window [1 h, 4 h):
# the stage's offered load is infinite and the lane's utilisation undefined.
OFF_DUTY = ["duration=4h", "warmup=1h", "stages.secondary.servers=" + str([0] * 6 + [4] * 18),
            "stages.primary.lanes.ready.servers=" + str([0] * 6 + [1] * 18)]


def test_run_json_is_strict_when_no_server_is_on_duty(capsys):
    args = ["run", str(SCENARIOS / "land_crossing.yaml"), "--json", "--replications", "2"]
    for o in OFF_DUTY:
        args += ["--set", o]
    assert main(args) == 0
    out = strict_loads(capsys.readouterr().out)
    assert out["kpis"]["secondary.offered_load"] == {"mean": None, "ci_low": None,
                                                     "ci_high": None}
    assert out["kpis"]["primary.ready.utilization"]["mean"] is None
    assert out["kpis"]["primary.general.utilization"]["mean"] > 0


def test_result_and_table_with_infinite_load():
    result = simulate(load_scenario(SCENARIOS / "land_crossing.yaml", OFF_DUTY),
                      replications=1)
    assert result.mean("secondary.offered_load") == math.inf  # the value itself is kept
    assert strict_loads(result.to_json()) == result.to_dict()
    rows = {line.split()[0]: line for line in kpi_table(result).splitlines()}
    assert "∞" in rows["secondary.offered_load"] and rows["secondary.offered_load"].endswith("%")
    ci = result.kpis["detection_rate"]
    assert rows["detection_rate"].split()[1] == f"{100 * ci['mean']:,.2f}"
    assert rows["wait_p95"].endswith("min") and rows["arrived"].endswith("travellers")


def test_compare_json_is_strict_when_no_server_is_on_duty():
    from borderesim.analysis.compare import Variant, compare

    scenario = load_scenario(SCENARIOS / "land_crossing.yaml", OFF_DUTY)
    variants = [Variant("profile", {"strategy": "by_class",
                                    "referral_rate": {"general": 0.04, "ready": 0.01}}),
                Variant("random", {"strategy": "random", "referral_rate": 0.05})]
    data = compare(scenario, variants, replications=2).to_dict()
    assert strict_loads(dumps(data)) == data
    assert data["strategies"][1]["kpis"]["secondary.offered_load"]["mean"] is None


def test_a_narrow_interval_is_shown_with_the_digits_that_tell_its_ends_apart():
    from borderesim.analysis.kpis import interval_text

    text = interval_text({"mean": 0.0804, "ci_low": 0.080401, "ci_high": 0.080449}, "share")
    low, high = text.split(" – ")
    assert low != high and text == "8.040 – 8.045"
    assert interval_text({"mean": 1.0, "ci_low": 1.2, "ci_high": 3.4}, "min") == "1.20 – 3.40"
