"""Exact transient waits of the time-varying M(t)/M/c(t) queue (extends ``theory.py``).

The model is borderesim's single lane: Poisson arrivals at a rate constant within each clock
hour, exponential services (mean ``service_mean`` minutes), FIFO, and a roster of servers
changing at hour boundaries. A server going off duty finishes the traveller in hand (no
pre-emption) and nobody new starts until busy < on duty. Hourly values index ``hour % 24``;
time is minutes from 00:00 of day one and the lane starts empty, as in the engines.

**State.** ``(n, b)``: travellers in the lane and servers busy. Normally ``b = min(n, c)``; after
a roster drop ``b`` may exceed ``c`` (officers finishing after their shift) and then no one
starts until ``b < c``, so ``n`` alone does not determine the chain. Within an hour with ``c``
on duty: an arrival moves ``(n, b) -> (n+1, b+1)`` if ``b < c`` (then ``n = b``: it starts at
once) else ``(n+1, b)``; a completion (rate ``b mu``) moves to ``(n-1, b-1)``, and if
``b-1 < c`` the head of the queue starts: ``(n-1, min(n-1, c))``. At an hour boundary the new
roster ``c'`` starts waiting travellers: ``b -> min(n, c')`` if ``b < c'``, else unchanged.

**Forward equations.** ``dp/dt = Q_h p`` is solved exactly over steps of ``step`` minutes by
uniformisation (``exp(Q dt) = sum_k Pois(k; L dt) P^k`` with ``P = I + Q/L``: non-negative terms,
series cut where the Poisson tail is below 1e-16). The state space is cut at ``n <= N``; an
arrival finding ``N`` is *lost*, so the computed probabilities are lower bounds whose total
error is the lost mass, the probability that the true lane ever holds more than ``N`` before
the last arrival time of interest. ``N`` is doubled until that mass is below ``tol``.

**Waits.** Those behind a FIFO traveller never affect it, so a *tagged* arrival at ``t`` is
followed by the same chain with arrivals switched off, started from the state just after its
arrival; it waits while the queue is non-empty (it is last in line), i.e. ``W_t > x`` iff the
arrivals-free chain still has ``n > b`` at ``t + x``. Its departures run at ``b mu`` under the
roster in force, so roster changes during its wait are exact. One tagged vector is carried for
every arrival time on the ``step`` grid, all propagated together; each gives
``P(W_t > x)`` at ``x`` on the grid (exact), and ``E[W_t] = int P(W_t > x) dx`` integrated exactly
within each step (``int_0^dt exp(Ds) ds`` by the same series). A tagged vector is dropped when
its survival is below ``tail`` (1e-12).

**Averages over arrival times.** Arrivals are uniform within a clock hour, so per-hour values
average over ``t`` in the hour by composite Simpson rules on the grid. ``E[W_t]`` is smooth
within an hour (the end of the hour is the left limit ``t -> end-``: the old roster, the one
that arrival meets). For fixed ``x``, ``P(W_t > x)`` jumps where ``t + x`` meets a roster change
(an increase starts waiting travellers at once); that point is a grid node, so the hour is cut
there and each smooth piece gets its own rule with the matching one-sided value. Errors are
O(step^4) for both. Pooled values over a window of hours weight the hours by their arrival
rate. Between grid values of ``x`` the survival is interpolated by PCHIP in ``log P(W > x)``
(exact for exponential tails).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq
from scipy.stats import poisson

from ..model.hourly import HOURS_PER_DAY, as_24
from ..model.scenario import Scenario, load_scenario

SERIES_EPS = 1e-16  # Poisson tail left out of each uniformisation series
MAX_IN_SYSTEM = 20_000  # refuse truncations beyond this many travellers in the lane


@dataclass(frozen=True)
class _States:
    """The truncated state space ``(n, b)``: ``n <= N`` and ``min(n, C) <= b <= min(n, B)``.

    ``B`` is the most servers ever on duty and ``C`` the fewest, so states with fewer busy than
    both ``n`` and ``C`` (someone waiting beside an idle officer) are left out: no transition
    reaches them."""

    n: np.ndarray
    b: np.ndarray
    offset: np.ndarray  # index of (n, min(n, C))
    low: np.ndarray  # min(n, C)

    @classmethod
    def build(cls, max_n: int, min_b: int, max_b: int) -> _States:
        n_all = np.arange(max_n + 1)
        low = np.minimum(n_all, min_b)
        sizes = np.minimum(n_all, max_b) - low + 1
        offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        ns = np.repeat(n_all, sizes)
        return cls(ns, np.arange(len(ns)) - offset[ns] + low[ns], offset, low)

    def index(self, n: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.offset[n] + b - self.low[n]

    @property
    def size(self) -> int:
        return len(self.n)


def _after_arrival(st: _States, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Source states and their targets for an arrival (arrivals at ``n = N`` are lost)."""
    src = np.flatnonzero(st.n < st.n[-1])
    n, b = st.n[src], st.b[src]
    return src, st.index(n + 1, np.where(b < c, np.minimum(n + 1, c), b))


def _after_completion(st: _States, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Source states (``b >= 1``) and their targets for a service completion."""
    src = np.flatnonzero(st.b > 0)
    n, b = st.n[src] - 1, st.b[src] - 1
    return src, st.index(n, np.where(b < c, np.minimum(n, c), b))


def _after_roster(st: _States, c: int) -> np.ndarray:
    """Target of every state when ``c`` servers come on duty at an hour boundary."""
    return st.index(st.n, np.where(st.b < c, np.minimum(st.n, c), st.b))


def _jump(src: np.ndarray, dst: np.ndarray, size: int) -> sp.csr_matrix:
    """0/1 matrix moving probability from ``src`` to ``dst`` (column-vector convention)."""
    return sp.csr_matrix((np.ones(len(src)), (dst, src)), shape=(size, size))


def _generator(st: _States, rate: float, mu: float, c: int) -> sp.csr_matrix:
    """Forward generator (columns sum to zero but for lost arrivals); rates per minute."""
    src_a, dst_a = _after_arrival(st, c)
    src_d, dst_d = _after_completion(st, c)
    out = rate * np.ones(st.size) + mu * st.b
    q = rate * _jump(src_a, dst_a, st.size) + _jump(src_d, dst_d, st.size) @ sp.diags(mu * st.b)
    return (q - sp.diags(out)).tocsr()


def _uniformised(g: sp.csr_matrix, dt: float) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """``P = I + g / L``, Poisson weights of ``exp(g dt)`` and of ``int_0^dt exp(g s) ds``."""
    lam = max(float(-g.diagonal().min()), 1e-12)
    p = (sp.identity(g.shape[0], format="csr") + g / lam).tocsr()
    a = lam * dt
    k_max = int(poisson.isf(SERIES_EPS, a)) + 2
    k = np.arange(k_max + 1)
    return p, poisson.pmf(k, a), poisson.sf(k, a) / lam


def _series(p: sp.csr_matrix, weights: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``sum_k weights[k] P^k v`` for a vector or a matrix of column vectors ``v``."""
    out = weights[0] * v
    for w in weights[1:]:
        v = p @ v
        out += w * v
    return out


def _propagator(g: sp.csr_matrix, dt: float, prune: float = 1e-18) -> sp.csr_matrix:
    """``exp(g dt)`` as a sparse matrix (entries below ``prune`` dropped)."""
    p, w, _ = _uniformised(g, dt)
    term = sp.identity(g.shape[0], format="csr")
    out = w[0] * term
    for wk in w[1:]:
        term = p @ term
        term.data[term.data < prune * 1e-3] = 0.0
        term.eliminate_zeros()
        out = out + wk * term
    out.data[out.data < prune] = 0.0
    out.eliminate_zeros()
    return out.tocsr()


def _integral_row(g: sp.csr_matrix, dt: float, row: np.ndarray) -> np.ndarray:
    """``row @ int_0^dt exp(g s) ds`` (a row vector)."""
    p, _, tail = _uniformised(g, dt)
    pt = p.T.tocsr()
    return _series(pt, tail, row.copy())


def _hourly(value: float | Sequence[float], what: str, integer: bool) -> list[float]:
    vals = as_24([float(v) for v in value] if np.ndim(value) else float(value))
    if len(vals) != HOURS_PER_DAY:
        raise ValueError(f"{what}: an hourly list needs 24 values, got {len(vals)}")
    if any(not math.isfinite(v) or v < 0 for v in vals):
        raise ValueError(f"{what}: values must be finite and non-negative")
    if integer and any(int(v) != v for v in vals):
        raise ValueError(f"{what}: server counts must be whole numbers")
    return [int(v) for v in vals] if integer else [float(v) for v in vals]


@dataclass(frozen=True)
class TransientWaits:
    """Exact transient solution of one M(t)/M/c(t) lane; all times in minutes.

    Grid ``times[i] = i * step`` for ``i = 0 .. hours * 60 / step``. Arrays over arrival
    times have one entry per ``times[:-1]`` (arrivals in ``[0, hours * 60)``); hourly arrays
    one entry per clock hour ``h = 0 .. hours - 1`` counted from 00:00 of day one.
    """

    step: float
    hours: int
    per_hour: tuple[float, ...]  # arrivals per hour by hour of day
    servers: tuple[int, ...]  # servers on duty by hour of day
    service_mean: float
    times: np.ndarray  # float[I + 1], minutes
    queue_mean: np.ndarray  # float[I + 1]: E[number waiting] at times (after roster changes)
    in_system_mean: np.ndarray  # float[I + 1]: E[number in the lane]
    wait_mean_at: np.ndarray  # float[I]: E[wait] of an arrival at times[i]
    hourly_wait_mean: np.ndarray  # float[hours]: mean wait of arrivals in each hour (NaN: none)
    hourly_queue_mean: np.ndarray  # float[hours]: time-average E[number waiting]
    hourly_survival: np.ndarray  # float[hours, J + 1]: P(W > j step) of arrivals in each hour
    survival_at: np.ndarray  # float[I, J + 1]: P(W_t > j step) for an arrival at times[i]
    survival_before: np.ndarray  # float[I, J + 1]: the same just before t + j step (left limit)
    max_in_system: int  # truncation N
    lost_mass: float  # probability the truncated chain was left (error bound)

    @property
    def wait_grid(self) -> np.ndarray:
        """Waits ``x = j * step`` (minutes) at which survival arrays are exact."""
        return np.arange(self.hourly_survival.shape[1]) * self.step

    def _node(self, t: float) -> int:
        i = t / self.step
        if abs(i - round(i)) > 1e-9 or not 0 <= round(i) < len(self.wait_mean_at):
            raise ValueError(f"arrival time {t} min is not on the {self.step}-min grid "
                             f"inside [0, {self.hours * 60})")
        return int(round(i))

    def wait_exceeds(self, t: float, x: float) -> float:
        """P(wait > ``x`` min) for an arrival at ``t`` min (``t`` on the grid).

        Exact for ``x`` on the grid; between grid points log-linear between the value after
        one point and the value just before the next (it jumps only at grid points, where
        ``t + x`` meets a roster change, and is right-continuous)."""
        i = self._node(t)
        if x < 0:
            return 1.0
        j = int(math.floor(x / self.step + 1e-12))
        if j >= self.survival_at.shape[1] - 1:
            return 0.0
        a, b = self.survival_at[i, j], self.survival_before[i, j + 1]
        frac = x / self.step - j
        if frac <= 1e-12 or a <= 0:
            return float(a)
        return float(a * (max(b, 1e-300) / a) ** frac)

    def _window(self, start: float, end: float) -> np.ndarray:
        """Arrival weights of the clock hours in ``[start, end)`` minutes (whole hours)."""
        h0, h1 = start / 60, end / 60
        if h0 != int(h0) or h1 != int(h1) or not 0 <= h0 < h1 <= self.hours:
            raise ValueError(f"window [{start}, {end}) min must be whole hours inside "
                             f"[0, {self.hours * 60}]")
        w = np.zeros(self.hours)
        hrs = np.arange(int(h0), int(h1))
        w[hrs] = [self.per_hour[h % HOURS_PER_DAY] for h in hrs]
        if w.sum() <= 0:
            raise ValueError("no arrivals in the window")
        return w / w.sum()

    def window_wait_mean(self, start: float, end: float) -> float:
        """Mean wait (min) of all travellers arriving in ``[start, end)`` min (whole hours)."""
        w = self._window(start, end)
        return float(np.nansum(w * self.hourly_wait_mean))

    def hourly_wait_quantile(self, p: float) -> np.ndarray:
        """The ``p``-quantile (minutes) of the wait of arrivals in each clock hour (NaN: none)."""
        return np.array([
            self.window_wait_quantile(h * 60, (h + 1) * 60, p)
            if self.per_hour[h % HOURS_PER_DAY] > 0 else math.nan
            for h in range(self.hours)
        ])

    def window_wait_exceeds(self, start: float, end: float, x: float | np.ndarray) -> np.ndarray:
        """P(wait > ``x`` min) pooled over all arrivals in ``[start, end)`` min (whole hours)."""
        return _log_pchip(self.wait_grid, self._window(start, end) @ self.hourly_survival, x)

    def window_wait_quantile(self, start: float, end: float, p: float) -> float:
        """The pooled ``p``-quantile (minutes): the least ``x`` with F_pool(x) >= p."""
        if not 0 < p < 1:
            raise ValueError("p must be in (0, 1)")
        s = self._window(start, end) @ self.hourly_survival
        if s[0] <= 1 - p:
            return 0.0
        j = int(np.flatnonzero(s <= 1 - p)[0])
        grid = self.wait_grid
        return float(brentq(lambda x: _log_pchip(grid, s, x) - (1 - p), grid[j - 1], grid[j],
                            xtol=1e-10))


def _log_pchip(grid: np.ndarray, s: np.ndarray, x: float | np.ndarray) -> np.ndarray:
    """Survival between grid points: monotone cubic (PCHIP) in log P(W > x), exact for the
    exponential tails of M/M/c; 0 beyond the grid."""
    x = np.asarray(x, dtype=float)
    f = PchipInterpolator(grid, np.log(np.maximum(s, 1e-300)))
    out = np.exp(f(np.clip(x, 0, grid[-1])))
    return np.where(x > grid[-1], 0.0, out)


def _first_n(per_hour: list[float], servers: list[int], mu: float, hours: int) -> int:
    """A first truncation guess: fluid backlog plus a wide Poisson margin."""
    backlog, worst, peak = 0.0, 0.0, 0.0
    for h in range(hours):
        lam, c = per_hour[h % 24], servers[h % 24]
        backlog = max(0.0, backlog + lam - c * mu * 60)
        worst = max(worst, backlog)
        peak = max(peak, lam / 60 / mu)
    base = worst + max(servers) + peak
    return int(base + 10 * math.sqrt(base + 1) + 20)


def solve_transient(
    per_hour: float | Sequence[float],
    servers: int | Sequence[int],
    service_mean: float,
    hours: int,
    *,
    step: float | None = None,
    tol: float = 1e-9,
    tail: float = 1e-12,
    max_wait_days: float = 30.0,
) -> TransientWaits:
    """Solve the M(t)/M/c(t) lane exactly over ``hours`` clock hours from an empty start.

    ``per_hour``: arrivals per hour (one value or 24 by hour of day); ``servers``: servers on
    duty (one count or a roster of 24); ``service_mean``: exponential mean service, minutes;
    ``hours``: arrivals are followed in ``[0, hours * 60)`` minutes, and every tagged arrival
    until its wait ends (the roster continuing day after day). ``step``: grid of arrival
    times and waits, minutes (60 / step an even integer; default ``auto_step``). ``tol``:
    bound on the lost mass of the truncated chain; ``tail``: survival below which a tagged
    wait is dropped.
    Raises ``ValueError`` on bad input or when waits do not end within ``max_wait_days``.
    """
    lam_h = _hourly(per_hour, "per_hour", integer=False)
    c_h = [int(c) for c in _hourly(servers, "servers", integer=True)]
    if not (service_mean > 0 and math.isfinite(service_mean)):
        raise ValueError("service_mean must be a positive number of minutes")
    if int(hours) != hours or hours < 1:
        raise ValueError("hours must be a whole number >= 1")
    if step is None:
        step = auto_step(service_mean)
    per_step = 60 / step if step > 0 else 1.0
    if step <= 0 or abs(per_step - round(per_step)) > 1e-9 or round(per_step) % 2:
        raise ValueError("step must divide 60 minutes into an even number of steps")
    if max(c_h) == 0:
        raise ValueError("servers: nobody is ever on duty, so waits never end")
    hours, k_per_hour, mu = int(hours), int(round(per_step)), 1.0 / service_mean
    max_n = _first_n(lam_h, c_h, mu, hours)
    while True:
        st = _States.build(max_n, min(c_h), max(c_h))
        lost = _main_pass(st, lam_h, c_h, mu, hours)
        if lost < tol:
            break
        max_n *= 2
        if max_n > MAX_IN_SYSTEM:
            raise ValueError(f"more than {MAX_IN_SYSTEM} travellers would have to be tracked "
                             f"to keep the lost mass below {tol}")
    return _full_pass(st, lam_h, c_h, mu, hours, step, k_per_hour, tail, max_wait_days, lost)


def solve_scenario(scenario: Scenario | dict | str, **options: float) -> TransientWaits:
    """``solve_transient`` for a scenario whose first stage is one exponential lane that every
    traveller visits with no flushing; arrivals are followed until the horizon
    (``warmup + duration``, rounded up to whole hours). Later stages do not affect the first.
    ``options`` go to ``solve_transient`` (``step``, ``tol``, ...)."""
    sc = load_scenario(scenario)
    name, stage = next(iter(sc.stages.items()))
    lanes = stage.lane_specs(name)
    if len(lanes) != 1 or stage.visits != "all" or stage.flush_above is not None:
        raise ValueError(f"stages.{name}: exact theory needs one lane, visited by all, "
                         "without flushing")
    lane = next(iter(lanes.values()))
    if lane.service.distribution != "exponential":
        raise ValueError(f"stages.{name}: exact theory needs exponential service")
    hours = math.ceil(sc.horizon / 60 - 1e-9)
    return solve_transient(sc.arrivals.per_hour, lane.servers, lane.service.mean, hours,
                           **options)


STEPS = (0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 6.0, 10.0)
"""Grid steps (minutes) that split an hour into an even number of steps."""


def auto_step(service_mean: float) -> float:
    """The default grid step: the largest of ``STEPS`` up to a fifth of the mean service
    (at least 1 min: the queue cannot change much faster than services end)."""
    return max([s for s in STEPS if s <= max(service_mean / 5, 1.0)])


class _Hour:
    """Propagators of one hour-of-day configuration, cached by (rate, servers)."""

    def __init__(self, st: _States, rate: float, mu: float, c: int, step: float,
                 waiting: np.ndarray | None) -> None:
        g = _generator(st, rate, mu, c)
        self.main = _propagator(g, step)
        self.roster = _jump(np.arange(st.size), _after_roster(st, c), st.size)
        src, dst = _after_arrival(st, c)
        self.arrive = _jump(src, dst, st.size)
        if waiting is not None:  # the tagged chain: no arrivals, restricted to a queue
            d = _generator(st, 0.0, mu, c)[waiting][:, waiting].tocsr()
            self.death = _propagator(d, step)
            self.wait_row = _integral_row(d, step, np.ones(len(waiting)))
            self.roster_w = self.roster[waiting][:, waiting].tocsr()


def _main_pass(st: _States, lam_h: list[float], c_h: list[int], mu: float, hours: int) -> float:
    """Lost mass of the truncated chain up to ``hours * 60`` minutes (hour-long steps)."""
    pi = np.zeros(st.size)
    pi[0] = 1.0
    for h in range(hours):
        lam, c = lam_h[h % 24], c_h[h % 24]
        pi = _jump(np.arange(st.size), _after_roster(st, c), st.size) @ pi
        p, w, _ = _uniformised(_generator(st, lam / 60, mu, c), 60.0)
        pi = _series(p, w, pi)
    return max(0.0, 1.0 - float(pi.sum()))


def _full_pass(st: _States, lam_h: list[float], c_h: list[int], mu: float, hours: int,
               step: float, k: int, tail: float, max_wait_days: float,
               lost: float) -> TransientWaits:
    waiting = np.flatnonzero(st.n > st.b)
    q_of_state = (st.n - st.b).astype(float)
    cache: dict[tuple[float, int], _Hour] = {}

    def hour(h: int) -> _Hour:
        key = (lam_h[h % 24], c_h[h % 24])
        if key not in cache:
            cache[key] = _Hour(st, key[0] / 60, mu, key[1], step, waiting)
        return cache[key]

    n_nodes = hours * k  # arrival nodes 0 .. n_nodes - 1; left columns for each hour end
    n_cols = n_nodes + hours
    cap = 4 * k
    s_left = np.zeros((n_cols, cap))
    s_right = np.zeros((n_cols, cap))
    mean = np.zeros(n_cols)
    birth = np.zeros(n_cols, dtype=np.int64)
    alive: list[int] = []
    v = np.zeros((len(waiting), 0))
    pi = np.zeros(st.size)
    pi[0] = 1.0
    queue = np.zeros(n_nodes + 1)
    in_sys = np.zeros(n_nodes + 1)
    queue_left = np.zeros(n_nodes + 1)
    i, max_steps = 0, n_nodes + int(max_wait_days * 24 * k)
    while True:
        boundary = i % k == 0 and i > 0
        track = i <= n_nodes
        if boundary and track:  # left column: an arrival just before the hour ends
            col = n_nodes + i // k - 1
            v = np.column_stack([v, (hour(i // k - 1).arrive @ pi)[waiting]])
            alive.append(col)
            birth[col] = i
        ages = i - birth[alive] if alive else np.zeros(0, dtype=np.int64)
        if len(ages) and ages.max() >= cap:
            s_left = np.pad(s_left, ((0, 0), (0, cap)))
            s_right = np.pad(s_right, ((0, 0), (0, cap)))
            cap *= 2
        if alive:
            s_left[alive, ages] = v.sum(axis=0)
        if track:
            queue_left[i] = q_of_state @ pi
        if boundary or i == 0:
            hr = hour(i // k)
            v = hr.roster_w @ v
            if track:
                pi = hr.roster @ pi
        if alive:
            s_right[alive, ages] = v.sum(axis=0)
        if track:
            queue[i], in_sys[i] = q_of_state @ pi, st.n @ pi
        if i < n_nodes:  # the arrival at this node
            v = np.column_stack([v, (hour(i // k).arrive @ pi)[waiting]])
            alive.append(i)
            birth[i] = i
            s_left[i, 0] = s_right[i, 0] = v[:, -1].sum()
        keep = [j for j, col in enumerate(alive) if s_right[col, i - birth[col]] >= tail]
        v, alive = v[:, keep], [alive[j] for j in keep]
        if i >= n_nodes and not alive:
            break
        if i >= max_steps:
            raise ValueError(f"waits do not end within {max_wait_days} days of the last arrival;"
                             " the roster never clears the queue")
        hr = hour(i // k)
        if alive:
            mean[alive] += hr.wait_row @ v
            v = hr.death @ v
        if i < n_nodes:
            pi = hr.main @ pi
        i += 1

    width = int(max(1, (np.flatnonzero(s_left.any(axis=0) | s_right.any(axis=0)).max() + 2)))
    s_left, s_right = s_left[:, :width], s_right[:, :width]
    return _assemble(lam_h, c_h, mu, hours, step, k, st, queue, queue_left, in_sys, mean,
                     s_left, s_right, lost)


def _newton_cotes(n: int) -> np.ndarray:
    """Composite weights on n + 1 equally spaced nodes (unit spacing): Simpson, ending with
    Simpson's 3/8 rule when n is odd; the trapezoid rule when n = 1."""
    w = np.zeros(n + 1)
    if n == 1:
        w[:] = 0.5
        return w
    m = n if n % 2 == 0 else n - 3
    for a in range(0, m, 2):
        w[a:a + 3] += np.array([1, 4, 1]) / 3
    if m < n:
        w[m:] += np.array([3, 9, 9, 3]) / 8
    return w


def _survival_weights(k: int, ages: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights over an hour's k + 1 arrival nodes of left and right survival values, per age.

    For age ``j`` the survival of an arrival at node ``m`` jumps where ``m + j`` meets an hour
    boundary (node ``(-j) mod k``); each smooth piece gets its own composite rule."""
    left, right = np.zeros((k, k + 1)), np.zeros((k, k + 1))
    for r in range(k):
        cut = (-r) % k
        if cut > 0:
            left[r, :cut + 1] = _newton_cotes(cut)
        right[r, cut:] = _newton_cotes(k - cut)
    rows = np.arange(ages) % k
    return left[rows] / k, right[rows] / k


def _assemble(lam_h, c_h, mu, hours, step, k, st, queue, queue_left, in_sys, mean,
              s_left, s_right, lost) -> TransientWaits:
    n_nodes = hours * k
    simpson = _newton_cotes(k) / k
    w_left, w_right = _survival_weights(k, s_left.shape[1])
    wait_h = np.full(hours, np.nan)
    queue_h = np.zeros(hours)
    surv_h = np.zeros((hours, s_left.shape[1]))
    for h in range(hours):
        nodes = np.arange(h * k, (h + 1) * k)
        left = n_nodes + h  # the arrival just before the hour ends (old roster)
        q = np.concatenate([queue[nodes], [queue_left[(h + 1) * k]]])
        queue_h[h] = simpson @ q
        if lam_h[h % 24] > 0:
            wait_h[h] = simpson @ np.concatenate([mean[nodes], [mean[left]]])
            # node 0 is approached from after its roster change, node k from before
            xl = np.vstack([s_right[nodes[:1]], s_left[nodes[1:]], s_left[left]])
            xr = np.vstack([s_right[nodes], s_left[left]])
            surv_h[h] = np.einsum("jm,mj->j", w_left, xl) + np.einsum("jm,mj->j", w_right, xr)
    return TransientWaits(
        step=step, hours=hours, per_hour=tuple(lam_h), servers=tuple(c_h),
        service_mean=1 / mu, times=np.arange(n_nodes + 1) * step, queue_mean=queue,
        in_system_mean=in_sys, wait_mean_at=mean[:n_nodes], hourly_wait_mean=wait_h,
        hourly_queue_mean=queue_h, hourly_survival=surv_h, survival_at=s_right[:n_nodes],
        survival_before=s_left[:n_nodes],
        max_in_system=int(st.n[-1]), lost_mass=lost,
    )
