"""Run the hand-computed cases on an engine and say, readably, where it disagrees.

``run_case(engine_run, case)`` raises ``AssertionError`` listing every field of the
trace that differs from the hand computation (times compared within ``TOL`` minutes,
NaN equal to NaN), followed by the case's worked explanation. ``engine_failures`` runs
every case and collects the messages, for an engine outside the test suite.
"""

from __future__ import annotations

import numpy as np

from ..engines import Engine
from ..trace import FLUSHED, NOT_VISITED, Trace
from .cases import CASES, Case

TOL = 1e-9
"""Largest difference (minutes) between an engine's time and the hand-computed one."""

_PER_STAGE = ("lane", "entry", "start", "end")
_PER_TRAVELLER = ("exit", "referred", "threshold")


def _show(value: float | int | bool, field: str, lane_names: tuple[str, ...]) -> str:
    """A trace value as the diff prints it (lane codes with their names)."""
    if field == "lane":
        code = int(value)
        if code == NOT_VISITED:
            return "not visited (-1)"
        if code == FLUSHED:
            return "flushed (-2)"
        return f"{code} ({lane_names[code]})" if 0 <= code < len(lane_names) else str(code)
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return "NaN" if np.isnan(value) else f"{float(value):g}"


def _same(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Elementwise agreement: exact for lanes and flags, within ``TOL`` for times."""
    if want.dtype.kind == "f":
        got = got.astype(np.float64)
        both_nan = np.isnan(got) & np.isnan(want)
        with np.errstate(invalid="ignore"):
            return both_nan | (np.abs(got - want) <= TOL)
    return got == want


def differences(case: Case, trace: Trace) -> list[str]:
    """One line per trace entry of ``trace`` that differs from ``case``'s expected trace."""
    want = case.expected_trace()
    plan = case.plan()
    stages = case.names()
    found = []
    for rank, name in enumerate(_PER_STAGE + _PER_TRAVELLER):
        got_all, want_all = np.asarray(getattr(trace, name)), getattr(want, name)
        if got_all.shape != want_all.shape:
            found.append((-1, -1, rank, f"{name}: shape {got_all.shape}, "
                                        f"expected {want_all.shape}"))
            continue
        for idx in zip(*np.nonzero(~_same(got_all, want_all)), strict=True):
            i, s = (idx[1], idx[0]) if len(idx) == 2 else (idx[0], len(stages))
            where = f"traveller {i}" + (f", stage {stages[s]!r}" if len(idx) == 2 else "")
            found.append((i, s, rank, f"{where}: {name} expected "
                                      f"{_show(want_all[idx], name, plan.lane_names)}, "
                                      f"got {_show(got_all[idx], name, plan.lane_names)}"))
    if want.reserve_minutes is not None:
        got_res = trace.reserve_minutes
        if got_res is None or not np.all(_same(np.asarray(got_res), want.reserve_minutes)):
            found.append((len(case.arrival), -1, 0, "reserve_minutes expected "
                          f"{list(want.reserve_minutes)}, got {got_res}"))
    return [line for *_, line in sorted(found)]


def run_case(engine_run: Engine, case: Case) -> None:
    """Run ``case`` on ``engine_run``; raise ``AssertionError`` with a readable diff if it differs.

    ``engine_run`` is any ``run(plan, inputs) -> Trace`` (see ``engines.get_engine``).
    """
    trace = engine_run(case.plan(), case.inputs())
    lines = differences(case, trace)
    if lines:
        detail = "\n  ".join(lines)
        raise AssertionError(
            f"case {case.name!r} (rule [{case.rule}] in borderesim/testing/semantics.py): "
            f"{len(lines)} difference(s)\n  {detail}\nhand computation:\n{case.why}"
        )


def engine_failures(engine_run: Engine, cases: list[Case] | None = None) -> dict[str, str]:
    """Every case ``engine_run`` fails, by case name, with its diff (empty: it conforms)."""
    failed = {}
    for case in CASES if cases is None else cases:
        try:
            run_case(engine_run, case)
        except AssertionError as exc:
            failed[case.name] = str(exc)
    return failed
