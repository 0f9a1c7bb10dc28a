"""Exact queueing results used to validate the simulation and to seed capacity searches.

Rates are per minute and times are minutes unless a name says otherwise. Stationary results
only; for hourly arrival profiles and rosters (M(t)/M/c(t), exact transient waits) see
``transient.py``.
"""

from __future__ import annotations

import math


def erlang_c(servers: int, offered: float) -> float:
    """Probability an arrival waits in M/M/c with ``offered`` load a = lambda/mu (Erlang-C).

    Returns 1.0 when the load reaches capacity (a >= c).
    """
    c, a = int(servers), float(offered)
    if c < 1:
        raise ValueError("servers must be at least 1")
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    # Stable recursion through Erlang-B: B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)).
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho + rho * b)


def mmc_mean_wait(arrival_rate: float, service_mean: float, servers: int) -> float:
    """Mean time in queue of M/M/c (minutes); inf when the load reaches capacity."""
    a = arrival_rate * service_mean
    if a >= servers:
        return math.inf
    return erlang_c(servers, a) * service_mean / (servers - a)


def mmc_wait_exceeds(arrival_rate: float, service_mean: float, servers: int, t: float) -> float:
    """P(wait > t) in M/M/c: C(c, a) exp(-(c mu - lambda) t)."""
    a = arrival_rate * service_mean
    if a >= servers:
        return 1.0
    return erlang_c(servers, a) * math.exp(-(servers / service_mean - arrival_rate) * t)


def mmc_wait_quantile(arrival_rate: float, service_mean: float, servers: int, q: float) -> float:
    """The q-quantile of the M/M/c waiting time (0 when the wait probability is below 1 - q)."""
    a = arrival_rate * service_mean
    if a >= servers:
        return math.inf
    pw = erlang_c(servers, a)
    if pw <= 1 - q:
        return 0.0
    return math.log(pw / (1 - q)) / (servers / service_mean - arrival_rate)


def min_servers_for_wait_quantile(
    arrival_rate: float, service_mean: float, t: float, q: float, max_servers: int = 10_000
) -> int:
    """Fewest servers with P(wait > t) <= 1 - q in M/M/c (the q-quantile of wait <= t)."""
    c = max(1, math.floor(arrival_rate * service_mean) + 1)
    while c <= max_servers:
        if mmc_wait_exceeds(arrival_rate, service_mean, c, t) <= 1 - q + 1e-12:
            return c
        c += 1
    raise ValueError("no server count up to max_servers meets the target")


def min_servers_for_mean_wait(
    arrival_rate: float, service_mean: float, t: float, max_servers: int = 10_000
) -> int:
    """Fewest servers with mean wait <= ``t`` minutes in M/M/c (rates per minute)."""
    c = max(1, math.floor(arrival_rate * service_mean) + 1)
    while c <= max_servers:
        if mmc_mean_wait(arrival_rate, service_mean, c) <= t + 1e-12:
            return c
        c += 1
    raise ValueError("no server count up to max_servers meets the target")


def square_root_staffing(offered: float, beta: float = 1.0) -> int:
    """Square-root staffing c = ceil(a + beta sqrt(a)) for offered load a (Erlangs)."""
    return max(1, math.ceil(offered + beta * math.sqrt(max(offered, 0.0))))


def mg1_mean_wait(arrival_rate: float, service_mean: float, service_second_moment: float) -> float:
    """Pollaczek-Khinchine mean wait in M/G/1: lambda E[S^2] / (2 (1 - rho)) (minutes)."""
    rho = arrival_rate * service_mean
    if rho >= 1:
        return math.inf
    return arrival_rate * service_second_moment / (2 * (1 - rho))
