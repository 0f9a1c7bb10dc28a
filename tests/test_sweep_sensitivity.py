"""Sampled sweeps, Sobol' indices (SALib), main effects, plots and progress output."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import yaml

from borderesim.cli import main
from borderesim.run.sweep import load_results, load_sweep
from borderesim.run.sweep.progress import Progress
from borderesim.run.sweep.sensitivity import main_effects, point_means, sobol_indices
from tests.conftest import SCENARIOS

pytest.importorskip("SALib")

LAND = str(SCENARIOS / "land_crossing.yaml")
SERVERS = "stages.primary.lanes.general.servers"
RATE = "arrivals.per_hour"


@pytest.fixture(scope="module")
def sobol_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sobol")
    path = tmp / "sobol.yaml"
    path.write_text(yaml.safe_dump({
        "scenario": LAND, "replications": 1, "seed": 3,
        "set": {"duration": "2h", "warmup": 0},
        "sample": {"method": "sobol", "n": 16,
                   "ranges": {SERVERS: [4, 8], RATE: [100.0, 400.0]}},
    }))
    out = tmp / "out"
    status = main(["sweep", str(path), "--out", str(out), "--workers", "1", "--plot",
                   "--kpi", "arrivals_per_hour", "--kpi", "wait_mean"])
    assert status == 0
    return load_sweep(path), out


def test_sobol_points_follow_saltelli_and_integers_are_whole(sobol_run):
    spec, out = sobol_run
    assert len(spec.points) == 16 * (2 + 2)
    servers = [p[SERVERS] for p in spec.points]
    assert all(isinstance(s, int) for s in servers)
    assert set(servers) == {4, 5, 6, 7, 8}  # every whole number in [4, 8] is drawn
    rates = [p[RATE] for p in spec.points]
    assert all(isinstance(r, float) and 100.0 <= r <= 400.0 for r in rates)
    assert spec.integer == (SERVERS,)
    df = load_results(out)
    assert len(df) == len(spec.points)
    assert df[RATE].dtype == "float64" and df[SERVERS].dtype == "int64"


def test_sobol_indices_see_what_drives_each_kpi(sobol_run):
    spec, out = sobol_run
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns) == ["kpi", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    arr = table[table.kpi == "arrivals_per_hour"].set_index("parameter")
    # common random numbers: changing staffing leaves the arrivals untouched, exactly
    assert arr.loc[SERVERS, "ST"] == 0.0 and arr.loc[SERVERS, "S1"] == 0.0
    assert arr.loc[RATE, "ST"] > 0.8
    wait = table[table.kpi == "wait_mean"].set_index("parameter")
    assert wait.loc[SERVERS, "ST"] > 0.05  # staffing matters for waits
    # the table is SALib's analysis of the point means, recomputed identically
    again = sobol_indices(spec, load_results(out), ["wait_mean"]).set_index("parameter")
    assert again.loc[RATE, "ST"] == pytest.approx(wait.loc[RATE, "ST"], rel=1e-5)


def test_plots_are_written(sobol_run):
    _, out = sobol_run
    for name in ("main_effects.png", "sensitivity.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_grid_main_effect_is_the_mean_over_the_other_parameter(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({
        "scenario": LAND, "replications": 2, "seed": 1,
        "set": {"duration": "1h", "warmup": 0},
        "grid": {SERVERS: [5, 8], RATE: [150, 300]},
    }))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--no-progress",
                 "--plot"]) == 0
    spec, df = load_sweep(path), load_results(out)
    xs, ys = main_effects(spec, df, "wait_mean")[SERVERS]
    means = point_means(df, spec.paths)
    assert xs == [5, 8]
    assert ys[0] == pytest.approx(means[means[SERVERS] == 5]["wait_mean"].mean())
    assert (out / "main_effects.png").exists() and not (out / "sensitivity.png").exists()
    with pytest.raises(ValueError, match="sobol"):
        sobol_indices(spec, df)


def test_unknown_plot_kpi(tmp_path, capsys):
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"scenario": LAND, "replications": 1,
                                    "set": {"duration": "1h"}, "grid": {SERVERS: [6]}}))
    status = main(["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", "1",
                   "--no-progress", "--plot", "--kpi", "wiat_mean"])
    err = capsys.readouterr().err
    assert status == 2 and "--kpi" in err and "wiat_mean" in err and "wait_mean" in err


def test_progress_plain_lines_when_not_a_terminal():
    buf = io.StringIO()
    bar = Progress(40, stream=buf)
    assert not bar.tty
    for _ in range(40):
        bar.advance()
    bar.close()
    lines = buf.getvalue().splitlines()
    assert 1 <= len(lines) <= 11 and "\r" not in buf.getvalue()
    assert lines[-1].startswith("sweep: 40/40 (100%)") and "ETA 00:00" in lines[-1]


def test_progress_bar_with_eta_on_a_terminal():
    buf = io.StringIO()
    bar = Progress(10, done=4, stream=buf, tty=True)
    bar.advance(6)
    bar.close()
    text = buf.getvalue()
    assert text.startswith("\r[") and "10/10 (100%)" in text and "ETA" in text
    assert text.endswith("\n")


def test_cli_progress_goes_to_stderr_as_lines(tmp_path, capsys):
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"scenario": LAND, "replications": 2,
                                    "set": {"duration": "1h"}, "grid": {SERVERS: [5, 6]}}))
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "sweep: 4/4 (100%)" in captured.err and "\r" not in captured.err
    assert "sweep: " not in captured.out.replace(f"sweep {path}", "")
