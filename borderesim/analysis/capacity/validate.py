"""The validation run: the final roster re-simulated on fresh travellers.

The search picks a roster on its own sample, so its own sample flatters it. Here the
roster is run again on ``replications`` days drawn from a seed the search never used
(``seed + 1`` by default: every random stream is keyed by the seed, so these are new
travellers), one replication at a time (memory stays that of one day plus the waits).
For every lane, hour and wait target it reports the pooled statistic (the
inverted-CDF percentile of all waits pooled over replications, or the mean) with a
two-sided interval at ``level`` (Woodruff's, replications as clusters, for percentiles:
:func:`borderesim.analysis.quantiles.pooled_interval`; the ratio t-interval for means:
:mod:`bounds`), and whether the target was met on these
travellers (the pooled statistic within the limit). Travellers stranded in a lane with
nobody on duty are not judged apart: their (long) waits count in the hour they entered,
like everyone's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...run.drain import replay
from ...run.plan import Plan
from ..by_hour import HOURS, stage_waits
from ..quantiles import pooled_interval, tail_of
from .bounds import ratio_bounds
from .evaluate import EPS, Evaluator, Rule


@dataclass
class Validation:
    """Out-of-sample results of one roster (arrays ``[K, L, 24]`` by rule, lane and hour,
    or ``[S, 24]`` by stage; minutes for waits, shares for nothing here)."""

    seed: int
    replications: int
    level: float
    rules: list[Rule]
    applies: np.ndarray  # bool[K, L]
    count: np.ndarray  # int[L, 24]
    value: np.ndarray  # pooled percentile or mean wait, minutes
    low: np.ndarray
    high: np.ndarray
    met: np.ndarray  # bool[L, 24]: every target of the lane met in that hour
    stage_count: np.ndarray  # int[S, 24]
    stage_p95: np.ndarray  # float[S, 24]: pooled 95th percentile wait, all lanes
    stage_p95_low: np.ndarray
    stage_p95_high: np.ndarray

    def worst(self, lanes: list[int], hour: int | None = None) -> tuple[int, int, int] | None:
        """(rule, lane, hour) with the largest statistic relative to its limit among
        ``lanes`` (in ``hour``, or in any hour); ``None`` when nothing was judged."""
        best, where = -math.inf, None
        hours = range(HOURS) if hour is None else [hour]
        for k, rule in enumerate(self.rules):
            for lane in lanes:
                if not self.applies[k, lane]:
                    continue
                for h in hours:
                    v = self.value[k, lane, h]
                    if self.count[lane, h] == 0 or math.isnan(v):
                        continue
                    r = v / rule.limit if rule.limit > 0 else (math.inf if v > EPS else 0.0)
                    if r > best:
                        best, where = r, (k, lane, h)
        return where

    def row(self, plan: Plan, lanes: list[int], hour: int) -> dict[str, Any] | None:
        """The hour's worst target among ``lanes`` as a JSON-ready dict (or ``None``)."""
        w = self.worst(lanes, hour)
        if w is None:
            return None
        k, lane, h = w
        rule = self.rules[k]
        return {
            "kpi": "wait_mean" if rule.percentile is None else f"wait_p{rule.percentile:g}",
            "lane": plan.lane_names[lane].split(".", 1)[1] if "." in plan.lane_names[lane]
            else None,
            "value": float(self.value[k, lane, h]),
            "low": float(self.low[k, lane, h]),
            "high": float(self.high[k, lane, h]),
            "limit": rule.limit,
            "met": bool(self.met[lane, h]),
        }

    def summary(self, plan: Plan, lanes: list[int]) -> dict[str, Any]:
        """Hours met / judged on the fresh travellers and the worst hour, with a sentence."""
        judged = [h for h in range(HOURS)
                  if any(self.count[lane, h] > 0 and self.applies[:, lane].any()
                         for lane in lanes)]
        met = [h for h in judged if all(self.met[lane, h] for lane in lanes)]
        out: dict[str, Any] = {"hours_judged": len(judged), "hours_met": len(met),
                               "hours_missed": [h for h in judged if h not in met],
                               "replications": self.replications, "seed": self.seed,
                               "interval_level": self.level}
        w = self.worst(lanes)
        text = (f"met in {len(met)} of {len(judged)} hours on {self.replications} fresh "
                "replications")
        if w is not None:
            worst = self.row(plan, lanes, w[2])
            assert worst is not None
            out["worst"] = {"hour": w[2], **worst}
            where = f" ({worst['lane']})" if worst["lane"] else ""
            kpi = "mean" if worst["kpi"] == "wait_mean" else worst["kpi"].removeprefix("wait_")
            text += (f"; worst hour {w[2]:02d}:00{where}, {kpi} {worst['value']:.2f} min "
                     f"[{worst['low']:.2f}, {worst['high']:.2f}] against {worst['limit']:g}")
        out["text"] = text
        return out


def validate(ev: Evaluator, roster: np.ndarray, seed: int, replications: int,
             level: float = 0.95) -> Validation:
    """Run ``roster`` on ``replications`` fresh days of ``seed`` (see the module docstring)."""
    plan = ev._plan(roster)
    base = ev.base
    L, S, K = plan.n_lanes, plan.n_stages, len(ev.rules)
    n = np.zeros((replications, L, HOURS))
    x = np.zeros((replications, K, L, HOURS))
    stage_n = np.zeros((S, HOURS), dtype=np.int64)
    keys: list[list[np.ndarray]] = [[] for _ in range(S)]  # (rep * L + lane) * 24 + hour
    waits: list[list[np.ndarray]] = [[] for _ in range(S)]
    for r in range(replications):
        # drain drawn only as far as needed; waits are cut (lower bounds, at the plan's
        # run end) only when the scenario's drain cap is reached, as in every run
        inputs, trace = replay(ev.scenario, plan, ev.engine, seed, r)
        stats = ev.rep_stats(plan, inputs, trace)
        n[r], x[r] = stats.n, stats.x
        stage_n += stats.stage_n.astype(np.int64)
        for s in range(S):
            w = stage_waits(plan, inputs, trace, s)
            keys[s].append(((r * L + w.lane) * HOURS + w.hour).astype(np.int32))
            waits[s].append(w.wait)
    ev.replays += replications
    count = n.sum(axis=0)
    value = np.full((K, L, HOURS), math.nan)
    low, high = value.copy(), value.copy()
    met = np.ones((L, HOURS), dtype=bool)  # judged on waits only (module docstring)
    one_sided = 0.5 + level / 2
    stage_p95 = np.full((S, HOURS), math.nan)
    stage_low, stage_high = stage_p95.copy(), stage_p95.copy()
    for s in range(S):
        key = np.concatenate(keys[s]).astype(np.int64) if keys[s] else np.zeros(0, np.int64)
        wait = np.concatenate(waits[s]).astype(float) if waits[s] else np.zeros(0)
        keys[s], waits[s] = [], []
        rep, lane_hour = key // (L * HOURS), key % (L * HOURS)
        hour = lane_hour % HOURS
        _pooled_with_interval(hour, rep, wait, 0.95, replications, level,
                              stage_p95[s], stage_low[s], stage_high[s])
        lanes = base.lanes_of(s)
        for k, rule in enumerate(ev.rules):
            mine = [lane for lane in lanes if ev.applies[k, lane]]
            if not mine:
                continue
            on = ev.applies[k][:, None] & (count > 0)
            if rule.percentile is None:
                est, lo, hi = ratio_bounds(x[:, k], n, one_sided)
                for lane in mine:
                    value[k, lane], low[k, lane], high[k, lane] = est[lane], lo[lane], hi[lane]
            else:
                share = rule.percentile / 100
                flat = np.full(L * HOURS, math.nan)
                flat_lo, flat_hi = flat.copy(), flat.copy()
                _pooled_with_interval(lane_hour, rep, wait, share, replications, level,
                                      flat, flat_lo, flat_hi, groups=L * HOURS)
                for lane in mine:
                    part = slice(lane * HOURS, (lane + 1) * HOURS)
                    value[k, lane], low[k, lane], high[k, lane] = \
                        flat[part], flat_lo[part], flat_hi[part]
            # met: the pooled statistic within the limit, i.e. Σx / Σn within the threshold
            ratio = np.where(count > 0, x[:, k].sum(axis=0) / np.maximum(count, 1), 0.0)
            met[mine] &= ~on[mine] | (ratio[mine] <= rule.threshold + EPS)
    return Validation(seed, replications, level, ev.rules, ev.applies,
                      count.astype(np.int64), value, low, high, met, stage_n, stage_p95,
                      stage_low, stage_high)


def _pooled_with_interval(group: np.ndarray, rep: np.ndarray, wait: np.ndarray,
                          share: float, replications: int, level: float,
                          out: np.ndarray, out_low: np.ndarray, out_high: np.ndarray,
                          groups: int = HOURS) -> None:
    """Fill ``out*[g]`` with the pooled ``share``-quantile of each group and its
    interval (:func:`borderesim.analysis.quantiles.pooled_interval`, replications as clusters)."""
    key = group * replications + rep
    order = np.argsort(key, kind="stable")
    values = wait[order]
    bounds = np.searchsorted(key[order], np.arange(groups * replications + 1))
    for g in range(groups):
        first = g * replications
        if bounds[first] == bounds[first + replications]:
            continue
        tails = [tail_of(values[bounds[first + r]:bounds[first + r + 1]])
                 for r in range(replications)]
        est = pooled_interval(tails, share, level)
        out[g], out_low[g], out_high[g] = est.value, est.low, est.high
