"""Workforce planning: officers on shifts covering the capacity gap, FTE, and option costs.

``plan_workforce(scenario, "scenarios/options/airport.yaml", ["passport.wait_p95<=15min"])``
returns a ``WorkforcePlan`` whose ``to_dict()`` is what ``borderesim plan --json`` prints.
``cover(required, plan, options)`` puts officers on shifts over any required roster
(int[L, 24] servers, e.g. ``GapResult.required``). See ``schema`` for the options file,
``shifts`` for the integer programme and ``options`` for the method.
"""

from .costs import annuity, fte
from .options import OptionResult, WorkforcePlan, cover, evaluate_option, plan_workforce
from .schema import OptionsFile, load_options
from .shifts import ShiftPlan, solve_cover

__all__ = ["OptionResult", "OptionsFile", "ShiftPlan", "WorkforcePlan", "annuity", "cover",
           "evaluate_option", "fte", "load_options", "plan_workforce", "solve_cover"]
