"""Money and headcount: capital annuities and full-time equivalents."""

from __future__ import annotations


def annuity(capital: float, rate: float, years: float) -> float:
    """Equal yearly payment repaying ``capital`` over ``years`` at discount ``rate`` (a share).

    ``C * r / (1 - (1 + r) ** -n)``; with ``r = 0``, ``C / n``. Same currency as ``capital``.
    """
    if years <= 0:
        raise ValueError("years must be positive")
    if rate == 0:
        return capital / years
    return capital * rate / (1 - (1 + rate) ** -years)


def fte(paid_hours_per_day: float, days_per_year: float, hours_per_fte: float,
        shrinkage: float) -> float:
    """Full-time officers needed to staff ``paid_hours_per_day`` every day of the year.

    Each FTE is paid ``hours_per_fte`` hours a year, of which the share ``shrinkage`` goes
    to leave, training and sickness: FTE = hours a day x days / (hours_per_fte x (1 - s)).
    """
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage is a share from 0 to below 1")
    return paid_hours_per_day * days_per_year / (hours_per_fte * (1 - shrinkage))
