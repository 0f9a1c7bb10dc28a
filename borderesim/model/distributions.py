"""Service-time distributions: their schema, exact moments and sampling.

All times are minutes; a field may be written with a unit ("45 s", "2 min").
Each distribution is drawn in a way that keeps common random numbers: a change of
mean rescales the same draws. The sampler (``borderesim.run.sampling``) draws in
compiled code from counter-based Philox words (``borderesim.run.philox.service_of``),
reading a distribution as its ``kind`` (a code below) and ``params()``.
``draw(rng, n, out=None)`` draws ``n`` service times (minutes) from a NumPy generator
instead (the region runner's path), written into ``out`` (float64[n]) when given.
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from . import limits
from .schema_base import Strict
from .units import to_minutes


def _positive(x: float) -> float:
    if not x > 0 or not math.isfinite(x):
        raise ValueError(f"must be a positive time, got {x}")
    return limits.at_most_minutes(x)


def _non_negative(x: float) -> float:
    if not x >= 0 or not math.isfinite(x):
        raise ValueError(f"must be a time of zero or more, got {x}")
    return limits.at_most_minutes(x)


Minutes = Annotated[float, BeforeValidator(to_minutes), AfterValidator(_positive)]
"""A positive duration in minutes, at most ``limits.MAX_MINUTES``; accepts unit strings."""
MinutesOrZero = Annotated[float, BeforeValidator(to_minutes), AfterValidator(_non_negative)]
"""Zero or a positive duration in minutes, at most ``limits.MAX_MINUTES``."""
RunMinutes = Annotated[Minutes, AfterValidator(limits.run_duration)]
"""A counted run length: at least ``limits.MIN_DURATION`` minutes."""
EXPONENTIAL, DETERMINISTIC, LOGNORMAL, GAMMA, UNIFORM, TRIANGULAR, EMPIRICAL = range(7)
"""Codes of the distributions (``kind``), read by the compiled sampler ``run.philox``."""

CV = Annotated[float, Field(allow_inf_nan=False), AfterValidator(limits.cv)]
"""A coefficient of variation inside ``limits.CV_RANGE`` (the samplers' working range)."""


class Exponential(Strict):
    """Exponential service time with the given mean (minutes)."""

    distribution: Literal["exponential"]
    kind: ClassVar[int] = EXPONENTIAL
    mean: Minutes

    def params(self) -> list[float]:
        """Parameters of the compiled sampler: mean."""
        return [self.mean]

    def moments(self) -> tuple[float, float]:
        return self.mean, 2 * self.mean**2

    def draw(self, rng: np.random.Generator, n: int, out: np.ndarray | None = None
             ) -> np.ndarray:
        out = rng.standard_exponential(n, out=out)
        out *= self.mean
        return out


class Deterministic(Strict):
    """Every service takes exactly ``mean`` minutes."""

    distribution: Literal["deterministic"]
    kind: ClassVar[int] = DETERMINISTIC
    mean: Minutes

    def params(self) -> list[float]:
        """Parameters of the compiled sampler: the time."""
        return [self.mean]

    def moments(self) -> tuple[float, float]:
        return self.mean, self.mean**2

    def draw(self, rng: np.random.Generator, n: int, out: np.ndarray | None = None
             ) -> np.ndarray:
        if out is None:
            return np.full(n, self.mean)
        out[:] = self.mean
        return out


class Lognormal(Strict):
    """Lognormal service time given by its mean (minutes) and coefficient of variation."""

    distribution: Literal["lognormal"]
    kind: ClassVar[int] = LOGNORMAL
    mean: Minutes
    cv: CV

    def params(self) -> list[float]:
        """Parameters of the compiled sampler: mu and sigma of the log."""
        sigma2 = math.log1p(self.cv**2)
        return [math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)]

    def moments(self) -> tuple[float, float]:
        return self.mean, self.mean**2 * (1 + self.cv**2)

    def draw(self, rng: np.random.Generator, n: int, out: np.ndarray | None = None
             ) -> np.ndarray:
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean) - sigma2 / 2
        out = rng.standard_normal(n, out=out)
        out *= math.sqrt(sigma2)  # exp(mu + sigma z), in place: the same operations
        out += mu
        return np.exp(out, out=out)


class Gamma(Strict):
    """Gamma service time given by its mean (minutes) and coefficient of variation."""

    distribution: Literal["gamma"]
    kind: ClassVar[int] = GAMMA
    mean: Minutes
    cv: CV

    def params(self) -> list[float]:
        """Parameters of the compiled sampler: shape, scale (minutes)."""
        shape = 1 / self.cv**2
        return [shape, self.mean / shape]

    def moments(self) -> tuple[float, float]:
        return self.mean, self.mean**2 * (1 + self.cv**2)

    def draw(self, rng: np.random.Generator, n: int, out: np.ndarray | None = None
             ) -> np.ndarray:
        shape = 1 / self.cv**2
        out = rng.standard_gamma(shape, n, out=out)
        out *= self.mean / shape
        return out


class Uniform(Strict):
    """Uniform service time between ``low`` and ``high`` minutes."""

    distribution: Literal["uniform"]
    kind: ClassVar[int] = UNIFORM
    low: MinutesOrZero
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low} min) must be below high ({self.high} min)")
        return self

    def params(self) -> list[float]:
        """Parameters of the compiled sampler: low, high."""
        return [self.low, self.high]

    def moments(self) -> tuple[float, float]:
        a, b = self.low, self.high
        return (a + b) / 2, (a * a + a * b + b * b) / 3

    def draw(self, rng: np.random.Generator, n: int, out: np.ndarray | None = None
             ) -> np.ndarray:
        out = rng.random(n, out=out)
        out *= self.high - self.low  # low + (high - low) u, in place
        out += self.low
        return out


class Triangular(Strict):
    """Triangular service time on [low, high] with the given mode (minutes)."""

    distribution: Literal["triangular"]
    kind: ClassVar[int] = TRIANGULAR
    low: MinutesOrZero
    mode: MinutesOrZero
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("need low <= mode <= high with low < high")
        return self

    def params(self) -> list[float]:
        """Parameters of the compiled sampler: low, mode, high."""
        return [self.low, self.mode, self.high]

    def moments(self) -> tuple[float, float]:
        a, c, b = self.low, self.mode, self.high
        mean = (a + b + c) / 3
        var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18
        return mean, var + mean**2

    def draw(self, rng: np.random.Generator, n: int, out: np.ndarray | None = None
             ) -> np.ndarray:
        a, c, b = self.low, self.mode, self.high
        u = rng.random(n)
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1 - u) * (b - a) * (b - c))
        if out is None:
            return np.where(u < fc, left, right)
        np.copyto(out, right)
        np.copyto(out, left, where=u < fc)
        return out


class Empirical(Strict):
    """Service times resampled with equal weight from observed ``values`` (minutes)."""

    distribution: Literal["empirical"]
    kind: ClassVar[int] = EMPIRICAL
    values: Annotated[list[Minutes], Field(min_length=1)]

    def params(self) -> list[float]:
        """Parameters of the compiled sampler: the values."""
        return [float(v) for v in self.values]

    def moments(self) -> tuple[float, float]:
        v = np.asarray(self.values)
        return float(v.mean()), float((v**2).mean())

    def draw(self, rng: np.random.Generator, n: int, out: np.ndarray | None = None
             ) -> np.ndarray:
        v = np.asarray(self.values, dtype=np.float64)
        return np.take(v, rng.integers(0, len(v), n), out=out)


Distribution = Annotated[
    Exponential | Deterministic | Lognormal | Gamma | Uniform | Triangular | Empirical,
    Field(discriminator="distribution"),
]
