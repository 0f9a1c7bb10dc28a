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
from borderesim.sweep import load_results, load_sweep, run_sweep
from borderesim.sweep.store import PART_NAME, QUARANTINE, RESULTS
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
