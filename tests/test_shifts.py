"""The shift-cover integer programme: optimal on brute-forced cases, breaks never uncover."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from borderesim.analysis.workforce.costs import annuity, fte
from borderesim.analysis.workforce.schema import Shift
from borderesim.analysis.workforce.shifts import SLOTS, SLOTS_PER_HOUR, ShiftColumn, solve_cover
from borderesim.errors import ScenarioError


def shift(**kw) -> Shift:
    return Shift.model_validate(kw)


def one_kind(need: np.ndarray, shifts: list[Shift], objective: str = "paid_hours"):
    need = np.atleast_2d(need)
    return solve_cover(need, [f"g{i}" for i in range(len(need))], ["officer"],
                       np.ones((1, len(need)), dtype=bool), shifts, objective)


def present_by_slot(plan, shifts: list[Shift]) -> np.ndarray:
    """Officers present per slot rebuilt from the reported shifts and break times."""
    out = np.zeros(SLOTS, dtype=np.int64)
    by_label = {s.label: (p, s) for p, s in enumerate(shifts)}
    for row in plan.to_dict()["shifts"]:
        p, sh = by_label[row["shift"]]
        start = int(row["start"][:2])
        breaks = row["breaks"] or {row["start"]: row["officers"]}
        assert sum(breaks.values()) == row["officers"]
        for at, n in breaks.items():
            slot = (int(at[:2]) * 60 + int(at[3:])) // 15
            b = (slot - start * SLOTS_PER_HOUR) % SLOTS if sh.break_minutes else 0
            out += n * ShiftColumn(0, p, start, b).present(sh)
    return out


def brute_force_no_breaks(need: np.ndarray, shifts: list[Shift], top: int) -> float:
    """Fewest paid hours over every combination of 0..top officers per (shift, start)."""
    cols = [(sh, s) for sh in shifts for s in sh.start_hours()]
    cover = np.array([[((h - s) % 24) < sh.length / 60 for h in range(24)] for sh, s in cols])
    hours = np.array([sh.length / 60 for sh, _ in cols])
    grid = np.array(list(itertools.product(range(top + 1), repeat=len(cols))))
    ok = (grid @ cover >= need).all(axis=1)
    return float((grid[ok] @ hours).min())


def test_brute_force_two_patterns_wrapping_day():
    need = np.array([1, 1, 0, 0, 0, 1, 2, 3, 3, 2, 2, 2, 2, 2, 3, 3, 2, 1, 1, 1, 2, 2, 1, 1])
    shifts = [shift(length="8h", starts=[0, 4, 8, 12, 16, 20]), shift(length="12h", starts=[6, 18])]
    plan = one_kind(need, shifts)
    assert plan.proven_optimal and plan.status == "optimal" and plan.mip_gap == 0
    assert plan.total_paid_hours == brute_force_no_breaks(need, shifts, 3)
    assert (plan.on_duty_by_hour()[0] >= need).all()


def test_brute_force_with_breaks():
    """Every combination of officers per (start, break slot), 0-2 each: 3^9 rosters."""
    sh = shift(length="8h", starts=[0, 8, 16], **{"break": "30min"}, break_window=["3h", "3.5h"])
    need = np.array([1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1])
    cols = [ShiftColumn(0, 0, s, b) for s in sh.start_hours() for b in sh.break_offsets()]
    assert len(cols) == 9
    pres = np.array([c.present(sh) for c in cols], dtype=np.int64)
    need_slots = np.repeat(need, SLOTS_PER_HOUR)
    grid = np.array(list(itertools.product(range(3), repeat=len(cols))))
    ok = (grid @ pres >= need_slots).all(axis=1)
    best = (grid[ok].sum(axis=1) * 8).min()
    plan = one_kind(need, [sh])
    assert plan.proven_optimal
    assert plan.total_paid_hours == best


def test_breaks_never_uncover_a_slot():
    sh = [shift(length="8h", **{"break": "45min"}, break_window=["2h", "5h"]),
          shift(length="12h", starts=[6, 18], **{"break": "60min"})]
    need = np.array([[2, 2, 1, 1, 1, 2, 4, 6, 7, 6, 5, 5, 5, 5, 6, 6, 7, 7, 6, 5, 4, 3, 3, 2]])
    plan = one_kind(need, sh)
    rebuilt = present_by_slot(plan, sh)
    assert (rebuilt == plan.present[0]).all()
    assert (rebuilt >= np.repeat(need[0], SLOTS_PER_HOUR)).all()
    assert (plan.on_duty_by_hour()[0] >= need[0]).all()
    # the breaks cost something: without them the cover is no dearer
    no_break = one_kind(need, [shift(length="8h"), shift(length="12h", starts=[6, 18])])
    assert no_break.total_paid_hours <= plan.total_paid_hours


def test_one_officer_all_day_needs_two_per_block_with_breaks():
    """Worked by hand: one post around the clock, 8 h shifts at 0/8/16, a 30 min break:
    one officer per block would leave the post empty during the break, so two per block."""
    sh = shift(length="8h", starts=[0, 8, 16], **{"break": "30min"}, break_window=["2h", "5h"])
    plan = one_kind(np.ones(24, dtype=int), [sh])
    assert sum(plan.officers.values()) == 6 and plan.total_paid_hours == 48
    assert plan.required_hours == 24 and plan.proven_optimal
    for times in plan.breaks.values():  # the two breaks of a block never overlap
        slots = sorted(int(t[:2]) * 4 + int(t[3:]) // 15 for t in times for _ in range(times[t]))
        assert len(slots) == 2 and slots[1] - slots[0] >= 2


def test_kinds_are_trained_for_their_lanes():
    need = np.array([[0] * 6 + [2] * 12 + [0] * 6, [1] * 24])
    trained = np.array([[True, False], [False, True]])
    plan = solve_cover(need, ["primary", "secondary"], ["border", "customs"], trained,
                       [shift(length="8h"), shift(length="12h", starts=[6, 18])])
    assert (plan.on_duty_by_hour() >= need).all()
    assert plan.paid_hours["border"] == 24 and plan.paid_hours["customs"] == 24


def test_uncoverable_requirement_is_one_line():
    sh = [shift(length="8h", starts=[6, 18])]
    with pytest.raises(ScenarioError) as err:
        solve_cover(np.ones((1, 24), dtype=int), ["primary"], ["o"], np.ones((1, 1), bool), sh,
                    source="opts.yaml")
    msg = str(err.value)
    assert msg.startswith("opts.yaml: staffing.shifts: no allowed shift covers 02:00-02:15")
    assert "\n" not in msg
    with pytest.raises(ScenarioError, match="no officer kind covers it"):
        solve_cover(np.ones((2, 24), dtype=int), ["a", "b"], ["o"], np.array([[True, False]]),
                    [shift(length="8h")])


def test_annuity_and_fte():
    assert annuity(1000, 0.0, 10) == pytest.approx(100)
    assert annuity(1000, 0.05, 10) == pytest.approx(129.50457, rel=1e-6)
    # 24 h a day, 365 days, 1950 h per FTE, 30 % shrinkage
    assert fte(24, 365, 1950, 0.3) == pytest.approx(24 * 365 / (1950 * 0.7))
