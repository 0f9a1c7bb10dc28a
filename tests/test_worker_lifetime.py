"""Worker processes end with their parent, however it dies (issue 11, issue 12).

The command runs in its own session; once its workers exist, the parent is killed
(SIGKILL or SIGTERM) and every process it started must be gone a few seconds later.
The process tree is read from ``/proc`` (Linux only).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, SCENARIOS

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="reads the process tree from /proc")


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` from /proc/PID/stat, None if it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else int(fields[1])


def descendants(root: int) -> set[int]:
    """Every live process below ``root``."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = parent_of(int(entry))
            if ppid is not None:
                parents[int(entry)] = ppid
    found, frontier = set(), {root}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {p for p in pids if parent_of(p) is not None}


def is_worker(pid: int, tree: set[int]) -> bool:
    """A pool worker: spawned, or forked by the forkserver (a process of the tree)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"spawn_main" in cmdline or parent_of(pid) in tree


def start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, set[int]]:
    """Start ``borderesim ARGS``; return it and its process tree once two workers run."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "borderesim", *args], cwd=tmp_path,
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    seen: set[int] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        seen |= descendants(proc.pid)
        workers = [p for p in alive(seen) if is_worker(p, seen)]
        if len(workers) >= 2:
            time.sleep(1.0)  # let them load the engine and take work
            return proc, seen | descendants(proc.pid)
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"workers never started: {proc.communicate()[1].decode()[-2000:]}")


def long_run(tmp_path: Path) -> list[str]:
    return ["run", str(SCENARIOS / "land_crossing.yaml"), "--replications", "100000",
            "--workers", "2", "--engine", "fast"]


def long_sweep(tmp_path: Path, replications: int = 5000) -> list[str]:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({
        "scenario": str(SCENARIOS / "land_crossing.yaml"), "replications": replications,
        "seed": 1,
        "grid": {"arrivals.per_hour": [200, 300, 400, 500]}}))
    return ["sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "2",
            "--no-progress"]


@pytest.mark.parametrize("command", [long_run, long_sweep], ids=["run", "sweep"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "term"])
def test_workers_end_with_their_parent(command, sig, tmp_path):
    proc, tree = start(command(tmp_path), tmp_path)
    assert proc.poll() is None, "the command ended before it could be killed"
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(tree)
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} worker processes outlived their parent"
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert "Traceback" not in err


def test_sigterm_on_a_serial_sweep_stores_what_finished(tmp_path):
    """SIGTERM exits cleanly (status 143) after writing the rows finished so far, even
    when the next periodic flush is far away."""
    import pyarrow.parquet as pq

    args = long_sweep(tmp_path, replications=100)  # 400 tasks
    args[args.index("--workers") + 1] = "1"
    args[args.index("--no-progress")] = "--chunk-size=10"
    args += ["--flush-seconds", "100000"]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "borderesim", *args], cwd=tmp_path,
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # plain progress lines: the first after 10 % of the tasks
            if line.startswith("sweep: ") and "%" in line and "ETA" in line:
                break
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        assert not list((tmp_path / "out" / "results.parquet").glob("part-*"))
        os.kill(proc.pid, signal.SIGTERM)
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert "Traceback" not in err
    parts = list((tmp_path / "out" / "results.parquet").glob("part-*"))
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in parts) >= 40
