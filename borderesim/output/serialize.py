"""The one JSON convention: every non-finite number (NaN, ±inf) is written as ``null``.

NaN means *undefined* (nobody was referred, one replication gives no interval); inf
arises where a denominator is zero (a stage with no server on duty has infinite
offered load). Python's ``json`` would print the invalid tokens ``NaN``/``Infinity``;
:func:`to_jsonable` maps them to ``None`` and :func:`dumps` refuses any that remain.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """``obj`` with NaN and ±inf floats replaced by ``None``, recursively.

    Mappings keep their keys; lists, tuples and numpy arrays become lists; numpy
    scalars become Python numbers (bools stay bools). Anything else is returned as is.
    """
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    return obj


def dumps(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj`` (:func:`to_jsonable` first; never ``NaN``/``Infinity``)."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
