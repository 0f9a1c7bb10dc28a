"""Every example scenario validates and runs, with sensible figures."""

from __future__ import annotations

import pytest

from borderesim import load_scenario, simulate
from borderesim.cli import main
from tests.conftest import SCENARIOS

EXAMPLES = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("strategies"))


def test_the_three_kinds_exist():
    names = {p.name for p in EXAMPLES}
    assert {"land_crossing.yaml", "airport_arrivals.yaml", "cargo_terminal.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, capsys):
    assert main(["validate", str(path)]) == 0
    sc = load_scenario(path)
    res = simulate(sc, replications=2)
    assert res.mean("arrived") > 0
    assert res.mean("arrived") == pytest.approx(res.mean("finished") + res.mean("unfinished"))
    assert 0 <= res.mean("detection_rate") <= 1
    for stage in sc.stages:
        assert 0 <= res.mean(f"{stage}.utilization") <= 1.05
    assert not any("grows without bound" in w for w in res.warnings), res.warnings
