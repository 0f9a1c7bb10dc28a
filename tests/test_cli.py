"""The command line: the JSON contract, tables, --out files, validate and schema."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from borderesim import simulate
from borderesim.cli import main


def write(tmp_path, data):
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def short(demo):
    demo["duration"] = "4h"
    demo["warmup"] = "30min"
    demo["stages"]["secondary"]["servers"] = 6
    return demo


def test_run_json_contract(tmp_path, capsys, demo):
    path = write(tmp_path, short(demo))
    assert main(["run", str(path), "--json", "--replications", "3", "--seed", "5",
                 "--engine", "simpy"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"scenario", "engine", "seed", "replications", "version", "kpis"}
    assert out["scenario"] == "Demo land crossing"
    assert out["engine"] == "simpy" and out["seed"] == 5 and out["replications"] == 3
    names = {"throughput_per_hour", "wait_mean", "wait_p95", "time_in_system_mean",
             "time_in_system_p95", "referral_rate", "detection_rate", "false_referral_rate",
             "unfinished"}
    for stage in ("primary", "secondary"):
        names |= {f"{stage}.{k}" for k in ("wait_mean", "wait_p95", "utilization", "queue_mean")}
    for cls in ("resident", "visitor"):
        names |= {f"class.{cls}.{k}" for k in ("referral_rate", "false_referral_rate",
                                                "wait_mean")}
    assert names <= set(out["kpis"])
    for ci in out["kpis"].values():
        # flags appear only when true: interval cut to the range, exact, not exact pooling
        assert {"mean", "ci_low", "ci_high"} <= set(ci) <= {"mean", "ci_low", "ci_high",
                                                           "clipped", "exact", "approximate"}
        assert all(ci[f] is True for f in ("clipped", "exact", "approximate") if f in ci)
    w = out["kpis"]["wait_mean"]
    assert w["ci_low"] <= w["mean"] <= w["ci_high"]
    # the Python API gives exactly the same object
    api = simulate(str(path), engine="simpy", replications=3, seed=5).to_dict()
    assert json.loads(json.dumps(api)) == out


def test_run_table_and_out_dir(tmp_path, capsys, demo):
    path = write(tmp_path, short(demo))
    out_dir = tmp_path / "out"
    assert main(["run", str(path), "--replications", "2", "--engine", "simpy",
                 "--out", str(out_dir), "--set", "stages.primary.servers=9"]) == 0
    text = capsys.readouterr().out
    assert "wait_p95" in text and "95% CI" in text and "min" in text
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["replications"] == 2
    resolved = yaml.safe_load((out_dir / "scenario.yaml").read_text())
    assert resolved["stages"]["primary"]["servers"] == 9
    lines = (out_dir / "travellers.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert {"replication", "arrival", "class", "referred", "primary.start",
            "secondary.end"} <= set(header)
    assert len(lines) - 1 > 1000
    assert (out_dir / "per_replication.csv").exists()


def test_validate_and_schema(tmp_path, capsys, demo):
    path = write(tmp_path, demo)
    assert main(["validate", str(path)]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "properties" in schema


def test_console_script_runs(tmp_path, demo):
    path = write(tmp_path, short(demo))
    proc = subprocess.run([sys.executable, "-m", "borderesim", "run", str(path), "--json",
                           "--replications", "2", "--engine", "simpy"],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["replications"] == 2


def test_overload_warns_on_stderr(tmp_path, capsys, demo):
    demo["duration"] = "3h"
    path = write(tmp_path, demo)  # secondary at >300 % load
    assert main(["run", str(path), "--replications", "2", "--engine", "simpy"]) == 0
    assert "grows without bound" in capsys.readouterr().err
