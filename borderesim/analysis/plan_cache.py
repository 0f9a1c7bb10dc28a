"""What analyses derive from a plan alone, computed once per plan.

Every replication of a run shares its plan, and a run has up to thousands of them: the
clock-hour pieces of the counted window, server-minutes on duty, each stage's first
eligible lanes and the like are the same for all, so :func:`per_plan` keeps them with
the plan object (freed with it). A plan is immutable (a frozen dataclass), so what is
derived from it never goes stale; values kept must not be modified by callers.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_KEPT: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def _forget(key: int) -> Callable[[weakref.ref], None]:
    def forget(_: weakref.ref) -> None:
        _KEPT.pop(key, None)
    return forget


def per_plan(plan: object, name: str, make: Callable[[], T]) -> T:
    """``make()`` the first time ``name`` is asked of this ``plan`` object, then the same
    value again (kept until the plan is garbage-collected; an object that cannot be
    referred to weakly, such as a test's stand-in, gets a fresh value each time)."""
    key = id(plan)
    got = _KEPT.get(key)
    if got is None or got[0]() is not plan:
        try:
            ref = weakref.ref(plan, _forget(key))
        except TypeError:
            return make()
        got = (ref, {})
        _KEPT[key] = got
    values = got[1]
    if name not in values:
        values[name] = make()
    return values[name]
