"""Hostile outputs (issue 12): damaged sweep folders, unwritable --out / -o targets,
spreadsheet formulas in CSV cells and terminal escape sequences in names."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from borderesim.cli import main
from borderesim.run.sweep import load_results, load_sweep, run_sweep
from borderesim.run.sweep.store import PART_NAME, QUARANTINE, RESULTS
from tests.conftest import SCENARIOS

LAND = str(SCENARIOS / "land_crossing.yaml")


# --------------------------------------------------------------------------- sweep folders


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    """A small sweep run to the end, one row per part; and its rows."""
    tmp = tmp_path_factory.mktemp("sweep")
    path = tmp / "sweep.yaml"
    path.write_text(yaml.safe_dump({
        "scenario": LAND, "replications": 2, "seed": 3, "set": {"duration": "1h", "warmup": 0},
        "grid": {"arrivals.per_hour": [150, 250, 350]}}))
    out = tmp / "out"
    run_sweep(load_sweep(path), out, workers=1, progress=False, flush_seconds=0,
              chunk_size=1)
    parts = sorted((out / RESULTS).iterdir())
    assert len(parts) == 6 and all(PART_NAME.fullmatch(p.name) for p in parts)
    return path, out, load_results(out)


def _damage_truncate(part: Path) -> None:
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])


def _damage_random(part: Path) -> None:
    part.write_bytes(os.urandom(3000))


def _damage_empty(part: Path) -> None:
    part.write_bytes(b"")


def _copy_conflict(part: Path) -> None:  # as a file-sync tool names a conflict
    shutil.copy(part, part.with_name(f"{part.stem} (1).parquet"))


def _copy_valid_name(part: Path) -> None:  # a copy that even matches the part pattern
    shutil.copy(part, part.with_name("part-99999999999999999999-1-000001.parquet"))


def _stray_file(part: Path) -> None:
    (part.parent / "notes.txt").write_text("not a part")


CASES = {"truncated": (_damage_truncate, True), "random": (_damage_random, True),
         "empty": (_damage_empty, True), "sync-copy": (_copy_conflict, False),
         "copy-valid-name": (_copy_valid_name, False), "stray": (_stray_file, False)}


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_or_foreign_part_is_set_aside_and_recomputed(case, finished, tmp_path,
                                                               capsys):
    path, done, ref = finished
    out = tmp_path / "out"
    shutil.copytree(done, out)
    damage, loses_rows = CASES[case]
    damage(sorted((out / RESULTS).iterdir())[2])
    status = main(["sweep", str(path), "--out", str(out), "--workers", "1", "--no-progress"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Traceback" not in captured.err
    warnings = [line for line in captured.err.splitlines() if "quarantine" in line]
    assert len(warnings) == 1 and warnings[0].startswith("borderesim: warning: ")
    assert ("computed 1 now" if loses_rows else "computed 0 now") in captured.out
    pd.testing.assert_frame_equal(load_results(out), ref, check_exact=True)
    kept = list((out / QUARANTINE).iterdir())  # moved, never deleted
    assert len(kept) == 1 and kept[0].name in warnings[0]
    assert all(PART_NAME.fullmatch(p.name) for p in (out / RESULTS).iterdir())
    # a second resume finds nothing wrong and nothing to do
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1",
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "computed 0 now" in captured.out and "warning" not in captured.err


def test_load_results_reads_only_parts(finished, tmp_path):
    _, done, ref = finished
    out = tmp_path / "out"
    shutil.copytree(done, out)
    _copy_conflict(sorted((out / RESULTS).iterdir())[0])
    pd.testing.assert_frame_equal(load_results(out), ref, check_exact=True)


# --------------------------------------------------------------------------- --out / -o


def small(tmp_path: Path, demo: dict, **changes) -> Path:
    demo.update(duration="2h", warmup="0min", **changes)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(demo, allow_unicode=True))
    return path


def one_line_exit_2(status: int, err: str) -> str:
    assert status == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("borderesim: warning:")]
    assert len(lines) == 1 and lines[0].startswith("borderesim: error: "), err
    return lines[0]


@pytest.mark.parametrize("command", [["run"], ["gap", "--target", "wait_p95<=30min"]],
                         ids=["run", "gap"])
def test_out_that_is_a_file_or_under_a_file(command, tmp_path, capsys, demo):
    path = small(tmp_path, demo)
    existing = tmp_path / "taken"
    existing.write_text("mine")
    for out, words in ((existing, "is a file, not a folder"),
                       (existing / "sub" / "dir", "no folder can be made under it")):
        status = main([command[0], str(path), *command[1:], "--replications", "2",
                       "--out", str(out)])
        line = one_line_exit_2(status, capsys.readouterr().err)
        assert words in line and "--out" in line and str(existing) in line
    assert existing.read_text() == "mine"


def test_run_out_write_failure_is_one_line(tmp_path, capsys, demo, monkeypatch):
    """A folder that passes the check but fails while writing (disk full) is one line."""
    import borderesim.output.records as records

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "o" / "x.csv"))

    monkeypatch.setattr(records, "write_csv", full)
    status = main(["run", str(small(tmp_path, demo)), "--replications", "2",
                   "--out", str(tmp_path / "o")])
    line = one_line_exit_2(status, capsys.readouterr().err)
    assert "No space left on device" in line and "x.csv" in line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_report_to_dev_full_is_one_line(tmp_path, capsys, demo):
    status = main(["report", str(small(tmp_path, demo)), "-o", "/dev/full",
                   "--replications", "2", "--no-tradeoff", "--no-gap"])
    line = one_line_exit_2(status, capsys.readouterr().err)
    assert "/dev/full" in line and "-o" in line and "cannot write" in line


def test_report_under_a_file_is_refused_before_running(tmp_path, capsys, demo):
    (tmp_path / "taken").write_text("mine")
    status = main(["report", str(small(tmp_path, demo)), "-o",
                   str(tmp_path / "taken" / "r.html"), "--replications", "2"])
    one_line_exit_2(status, capsys.readouterr().err)


def test_sweep_out_under_a_file(finished, tmp_path, capsys):
    path, _, _ = finished
    (tmp_path / "taken").write_text("mine")
    status = main(["sweep", str(path), "--out", str(tmp_path / "taken" / "out"),
                   "--no-progress"])
    one_line_exit_2(status, capsys.readouterr().err)


# --------------------------------------------------------------------------- CSV formulas


def test_csv_cell_rule():
    from borderesim.output.records import csv_cell

    for hostile in ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(hostile) == "'" + hostile
    for plain in ("resident", "1.5", "", "a=b", "'quoted"):
        assert csv_cell(plain) == plain


def test_every_text_cell_and_header_of_write_csv_is_neutralised(tmp_path):
    import csv

    import numpy as np

    from borderesim.output.records import write_csv

    evil = "=cmd|' /C calc'!A0"
    write_csv({"replication": np.array([0, 1]), "wait": np.array([-1.5, np.nan]),
               "class": np.array([evil, "ok"]), f"{evil}.lane": np.array(["@x", "+y"])},
              tmp_path / "t.csv")
    rows = list(csv.reader((tmp_path / "t.csv").open()))
    assert rows[0] == ["replication", "wait", "class", f"'{evil}.lane"]
    assert rows[1] == ["0", "-1.5", f"'{evil}", "'@x"]  # numbers stay numbers
    assert rows[2] == ["1", "", "ok", "'+y"]


def test_sensitivity_csv_is_neutralised(tmp_path):
    from borderesim.output.records import csv_safe_frame

    df = pd.DataFrame({"kpi": ["=1+1", "wait_p95"], "S1": [-0.5, 0.25]})
    csv_safe_frame(df).to_csv(tmp_path / "s.csv", index=False)
    assert (tmp_path / "s.csv").read_text().splitlines() == [
        "kpi,S1", "'=1+1,-0.5", "wait_p95,0.25"]
    assert df["kpi"][0] == "=1+1"  # the caller's frame is not changed


def test_run_out_never_writes_a_formula(tmp_path, capsys, demo):
    """End to end. Validation may refuse such a class name (exit 2, one line); if it is
    accepted, no cell of any CSV written starts a formula."""
    evil = "=cmd|' /C calc'!A0"
    demo["classes"] = {evil: demo["classes"]["resident"], "visitor": demo["classes"]["visitor"]}
    status = main(["run", str(small(tmp_path, demo)), "--replications", "2",
                   "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    if status == 2:
        one_line_exit_2(status, captured.err)
        return
    assert status == 0, captured.err
    import csv

    cells = [c for name in ("travellers.csv", "per_replication.csv")
             for row in csv.reader((tmp_path / "o" / name).open()) for c in row]
    assert f"'{evil}" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]


# --------------------------------------------------------------------------- terminal


def test_printable_escapes_control_characters():
    from borderesim.output.tables import grid, printable

    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("x\x9b31m\u202eZ\n") == "x\\x9b31m\\u202eZ\\x0a"
    assert printable("Aéroport ✓ 😀") == "Aéroport ✓ 😀"
    lines = grid([["name", "v"], ["\x1b[31mred", "1"]])
    assert "\x1b" not in "".join(lines) and "\\x1b[31mred" in lines[2]


def test_run_table_shows_escape_sequences_as_text(tmp_path, capsys, demo):
    """Validation refuses control characters in names; the refusal itself prints them as
    visible escapes, never raw (so the terminal is not rewritten)."""
    path = small(tmp_path, demo, name="Evil \x1b]0;pwned\x07 crossing \x1b[2J")
    assert main(["run", str(path), "--replications", "2"]) == 2
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert "\x1b" not in said and "\x07" not in said
    assert len(captured.err.strip().splitlines()) == 1 and "name" in captured.err


def test_sweep_progress_messages_show_escapes():
    import io

    from borderesim.run.sweep.progress import Progress

    stream = io.StringIO()
    Progress(10, stream=stream, tty=False).message("note: lane \x1b[2J\u202eX")
    assert stream.getvalue() == "note: lane \\x1b[2J\\u202eX\n"


def test_sweep_disk_full_is_one_line(finished, tmp_path, capsys, monkeypatch):
    import borderesim.run.sweep.store as store

    real = store.atomic_write_bytes

    def full(path: Path, data: bytes, tmp_dir: Path) -> None:
        if path.name.startswith("part-"):
            raise OSError(28, "No space left on device", str(path))
        real(path, data, tmp_dir)

    monkeypatch.setattr(store, "atomic_write_bytes", full)
    path, _, _ = finished
    status = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1",
                   "--no-progress"])
    line = one_line_exit_2(status, capsys.readouterr().err)
    assert "No space left on device" in line and "--out" in line
