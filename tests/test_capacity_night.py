"""Near-empty night hours: ``gap`` never closes a lane on travellers who are expected.

A desk-only class arriving at 0.5 an hour at night is often absent from the search's few
replications; a lane left with 0 servers then strands whoever does come until the
morning. The floor comes from the scenario's expected arrivals (and the hour after, whose
carried-over queue must be served), so the fresh check meets the target; an hour with no
expected demand in it or the hour before may still get 0.
"""

from __future__ import annotations

import numpy as np

from borderesim.analysis.capacity import gap

NIGHT = 0.5  # travellers an hour of the desk-only class
# hours 00-01 and 04-05 at 0.5/h, 02-03 empty, then a day of 40/h
RATES = [NIGHT, NIGHT, 0.0, 0.0, NIGHT, NIGHT] + [40.0] * 18


def night_scenario() -> dict:
    return {
        "name": "night desk",
        "duration": "24h",
        "warmup": 0,
        "replications": 2,
        "seed": 7,
        "arrivals": {"per_hour": RATES},
        "classes": {"eu": {"share": 0.5}, "tcn": {"share": 0.5}},
        "stages": {"passport": {"lanes": {
            "egate": {"classes": ["eu"], "servers": 2,
                      "service": {"distribution": "exponential", "mean": "20s"}},
            "desk": {"classes": ["tcn"], "servers": [1] * 6 + [2] * 18,
                     "service": {"distribution": "exponential", "mean": "1min"}},
        }}},
    }


def test_night_desk_is_staffed_and_meets_the_target_on_fresh_travellers():
    result = gap(night_scenario(), ["passport.wait_p95<=15min"], max_replications=4,
                 validation_replications=40)
    desk = result.lane_names.index("passport.desk")
    # expected travellers (0.5/h) in 00, 01, 04, 05; 02 serves the queue left from 01
    for h in (0, 1, 2, 4, 5):
        assert result.required[desk, h] >= 1, (h, result.required[desk].tolist())
    # no traveller expected in 03 nor in the hour before: nobody needs an officer
    assert result.required[desk, 3] == 0
    assert result.required[:, 3].sum() == 0
    val = result.validation
    assert val is not None
    judged = val.count[desk] > 0
    assert judged[[0, 1, 4, 5]].any()  # the fresh days do bring night travellers
    assert val.met[desk, judged].all(), np.flatnonzero(judged & ~val.met[desk])
    # nobody stranded in a closed lane on the fresh travellers either
    check = result.evaluator
    fresh = type(check)(result.scenario, result.plan, result.engine, result.seed + 1, 20,
                        check.targets)
    assert not fresh.evaluate(result.required).stranded.any()
