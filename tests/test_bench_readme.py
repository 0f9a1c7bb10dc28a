"""The README's speed tables are what ``experiments/bench_engines.py --write-readme`` makes
of a run's numbers: each target marked met by the comparison the issue states."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from borderesim.analysis.kpis import readme_section, replace_section

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engines",
                                                  ROOT / "experiments" / "bench_engines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(sample: float, engine: float, kpis: float, ratio: float) -> dict:
    """A scenario's row as ``scenario_row`` returns it: (wall, CPU) seconds."""
    pair = lambda x: np.array([x * 1.01, x])  # noqa: E731
    return {"travellers": 13214.0, "sample": pair(sample), "engine": pair(engine),
            "kpis": pair(kpis), "ratio": pair(ratio)}


def _tables(bench, *, extra: float, ratio: float, year_s: float, peak_mb: float,
            curve_s: float, per_s: float, compiled: bool = True,
            processes: tuple[float, ...] = ()) -> str:
    # the land crossing's sample + KPIs are ``extra`` times its engine; cargo's 0.2 times
    rows = {"land crossing": _row(0.4e-3, 1e-3, extra * 1e-3 - 0.4e-3, ratio),
            "cargo terminal": _row(0.1e-3, 1e-3, 0.1e-3, 40.0)}
    land = {"fast_per_s": np.array([per_s, per_s]), "ratio": np.array([200.0, 200.0]),
            "processes": list(processes)}
    yr = {"n": 10_952_375, "sample": np.array([0, year_s / 3]), "engine": np.array([0, year_s / 3]),
          "kpis": np.array([0, year_s / 3]), "peak_mb": peak_mb}
    ws = {"run": np.array([0.01, 0.01]), "run_and_curve": np.array([curve_s, curve_s])}
    cc = {"cold_compile_s": 20.0, "cache_load_s": 0.05} if compiled else None
    cli = {"second_run_s": 1.0} if compiled else None
    return bench.readme_tables(rows, land, yr, ws, cc, cli, 5)


def _met(text: str, measure: str) -> str:
    row = next(line for line in text.splitlines() if line.startswith(f"| {measure}"))
    return row.rstrip(" |").rsplit("| ", 1)[1]


def test_each_target_is_marked_by_its_own_comparison(bench):
    good = _tables(bench, extra=1.0, ratio=75.0, year_s=2.99, peak_mb=1.49 * 1024,
                   curve_s=0.249, per_s=15e6)
    for measure in ("sampling + KPIs", "whole `simulate()`", "a year", "the same year's",
                    "workshop", "engine loop"):
        assert _met(good, measure) == "yes", measure
    bad = _tables(bench, extra=1.01, ratio=74.9, year_s=3.0, peak_mb=1.5 * 1024,
                  curve_s=0.25, per_s=14.99e6)
    for measure in ("sampling + KPIs", "whole `simulate()`", "a year", "the same year's",
                    "workshop", "engine loop"):
        assert _met(bad, measure) == "no", measure
    assert "0.20–1.01× the engine" in bad  # the examples' range: cargo to land
    assert "| land crossing | 13 214 | 0.40 ms | 1.00 ms | 0.61 ms | 50 % | 75× |" in bad


def test_the_loop_in_fresh_processes_is_shown_beside_the_number(bench):
    """The spread over fresh processes is printed; the target is judged on the run's own
    measurement, as the issue states it."""
    text = _tables(bench, extra=1.0, ratio=80.0, year_s=2.0, peak_mb=1000.0, curve_s=0.1,
                   per_s=14.9e6, processes=(10.24e6, 15.5e6, 14.1e6))
    assert "14.90 M travellers/s (200× SimPy); 10.2–15.5 M in 3 fresh processes" in text
    assert _met(text, "engine loop") == "no"


def test_the_compile_row_only_when_measured(bench):
    args = dict(extra=1.0, ratio=80.0, year_s=2.0, peak_mb=1000.0, curve_s=0.1, per_s=2e7)
    assert "cold compile" in _tables(bench, **args)
    assert "cold compile" not in _tables(bench, **args, compiled=False)


def test_the_readme_holds_generated_speed_tables(bench):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme_section(text, bench.README_START, bench.README_END)
    assert section.startswith("Measured by `python experiments/bench_engines.py "
                              "--write-readme` in one run on borderesim ")
    for measure in ("sampling + KPIs", "whole `simulate()`", "a year", "the same year's",
                    "workshop", "engine loop"):
        assert re.search(r"\| (yes|no) \|$", next(
            line for line in section.splitlines() if line.startswith(f"| {measure}")))


def test_replace_section_rewrites_only_between_the_markers(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("intro\n<!-- a -->\nold\n<!-- b -->\nrest\n", encoding="utf-8")
    assert replace_section("new\nlines", "<!-- a -->", "<!-- b -->", path)
    assert path.read_text() == "intro\n<!-- a -->\nnew\nlines\n<!-- b -->\nrest\n"
    assert not replace_section("new\nlines", "<!-- a -->", "<!-- b -->", path)
    with pytest.raises(ValueError, match="no <!-- c -->"):
        replace_section("x", "<!-- c -->", "<!-- d -->", path)
