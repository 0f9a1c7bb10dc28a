"""The fast engine: the SimPy engine's model compiled with Numba.

``run(plan, inputs)`` gives the same ``Trace`` as ``engines.simpy_engine.run``,
traveller by traveller (same lanes, same entry/start/end/exit times in minutes,
same referrals and thresholds). ``supports(scenario)`` says whether the kernels can
express a scenario (``None``) or why not (a reason string), so ``--engine auto``
can fall back to SimPy and ``--engine fast`` can refuse clearly.

Kernels are compiled once with ``cache=True``: a later process loads the machine
code from the cache (``__pycache__`` beside this package, or ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ....memo import per_object
from ....model.scenario import Scenario
from ...budget import n_lanes
from ...plan import Plan
from ...sampling import Inputs
from ...trace import Trace, window_pieces
from .kernel import MAX_LANES, MAX_TRAVELLERS, replay, replay_flat
from .support import supports as _supports_fields

__all__ = ["run", "supports", "replay"]

_NONE = np.zeros(0, dtype=np.float64)
"""The score and threshold arrays passed without a queue-aware rule (never read)."""


def _flat(x: np.ndarray) -> np.ndarray:
    """``x`` flattened row-major: a view of a C-contiguous array (the trace's arrays,
    which the kernel fills in place, always are), else a copy."""
    return np.ascontiguousarray(x).reshape(-1)


def shock_arrays(plan: Plan) -> tuple[np.ndarray, ...]:
    """The kernel's capacity-change, slowdown and reserve arguments for ``plan``
    (computed once per plan and kept on it)."""
    cached = plan.__dict__.get("_fast_shock_args")
    if cached is not None:
        return cached
    ch = plan.capacity_changes()

    def c(x: np.ndarray, dtype: type) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=dtype).reshape(-1)

    args = (
        c(ch.times, np.float64), c(ch.level, np.int64), c(ch.down, np.bool_),
        c(ch.preempt, np.bool_), c(plan.slow_lane, np.int64), c(plan.slow_from, np.float64),
        c(plan.slow_to, np.float64), c(plan.slow_factor, np.float64),
        *(c(x, x.dtype) for x in plan.reserve_arrays()),
    )
    object.__setattr__(plan, "_fast_shock_args", args)
    return args


def supports(scenario: Scenario) -> str | None:
    """``None`` if the kernels can run ``scenario``, else why not (fields, lane count);
    decided once per scenario object (``borderesim.memo``)."""
    def decide() -> str | None:
        reason = _supports_fields(scenario)
        if reason:
            return reason
        lanes = n_lanes(scenario)
        if lanes >= MAX_LANES:
            return (f"it has {lanes:,} lanes and the fast engine handles at most "
                    f"{MAX_LANES - 1:,}")
        return None
    return per_object(scenario, "fast.supports", decide)


def _plan_args(plan: Plan) -> tuple[tuple, int, bool]:
    """The kernel's arguments taken from ``plan`` alone (lanes, stages, window, capacity
    changes, slowdowns, reserves), the counted window's clock-hour pieces, and whether a
    reserve is declared: made once per plan (``borderesim.memo``)."""
    def make() -> tuple[tuple, int, bool]:
        args = (plan.lane_stage, plan.lane_start, plan.stage_referred, plan.flush_above,
                _flat(plan.eligible), float(plan.horizon), float(plan.warmup),
                float(plan.run_end), *shock_arrays(plan))
        return args, window_pieces(plan.warmup, plan.horizon), plan.has_reserve
    return per_object(plan, "fast.plan_args", make)


def run(plan: Plan, inputs: Inputs) -> Trace:
    """Replay ``inputs`` through the crossing described by ``plan`` (compiled)."""
    dyn = inputs.dynamic
    if dyn is not None and not hasattr(dyn, "per_waiting"):
        raise TypeError(
            f"the fast engine cannot run a queue-aware rule of type {type(dyn).__name__}; "
            "use engine='simpy'"
        )
    if plan.n_lanes >= MAX_LANES:
        raise ValueError(f"the fast engine handles at most {MAX_LANES - 1} lanes")
    if inputs.n > MAX_TRAVELLERS:
        raise ValueError(f"the fast engine handles at most {MAX_TRAVELLERS:,} travellers "
                         "a replication")
    args, pieces, reserve = _plan_args(plan)
    trace = Trace.unfilled(plan.n_stages, inputs.n, inputs.refer, plan.n_lanes,
                           dynamic=dyn is not None)
    if dyn is None:
        score, has_dyn, thr, per, threshold = _NONE, False, 0.0, 0.0, _NONE
    else:
        score = np.ascontiguousarray(dyn.score, dtype=np.float64)
        has_dyn, thr, per = True, float(dyn.threshold), float(dyn.per_waiting)
        threshold = trace.threshold
    duty = np.zeros((plan.n_lanes if reserve else 0, pieces))
    # C-contiguous arrays flatten to views, so the kernel fills the trace in place
    replay_flat(
        inputs.arrival, inputs.cls, _flat(inputs.service), score, has_dyn, thr, per, *args,
        _flat(trace.lane), _flat(trace.entry), _flat(trace.start), _flat(trace.end),
        trace.exit, trace.referred, threshold, trace.reserve_minutes, _flat(duty), pieces,
    )
    return trace if not duty.size else replace(trace, reserve_duty=duty)
