"""What is derived from an object that does not change (a scenario, a plan, a trace), computed once.

Every replication of a run shares its scenario and plan, and a run has up to thousands
of them: sampling's per-lane tables, the clock-hour pieces of the counted window,
server-minutes on duty and the like are the same for all, so :func:`per_object` keeps them
with the object (freed with it). Scenarios and plans are immutable (a changed scenario,
e.g. by ``--set``, is a new object), so what is derived from them never goes stale;
a replication's ``Trace`` is not modified once its engine returns, so its KPI pass may
keep what the shock KPIs read again (``metrics.detection_split``). Values kept must not
be modified by callers. Every layer may use it.
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


def per_object(obj: object, name: str, make: Callable[[], T]) -> T:
    """``make()`` the first time ``name`` is asked of this object, then the same
    value again (kept until the object is garbage-collected; an object that cannot be
    referred to weakly, such as a test's stand-in, gets a fresh value each time)."""
    key = id(obj)
    got = _KEPT.get(key)
    if got is None or got[0]() is not obj:
        try:
            ref = weakref.ref(obj, _forget(key))
        except TypeError:
            return make()
        got = (ref, {})
        _KEPT[key] = got
    values = got[1]
    if name not in values:
        values[name] = make()
    return values[name]
