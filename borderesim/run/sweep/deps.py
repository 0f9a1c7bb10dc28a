"""Optional dependencies of sweeps (the ``sweep`` extra), imported only when needed."""

from __future__ import annotations

import importlib

from ...errors import ScenarioError

_PIP = {"distributed": "dask[distributed]", "SALib": "SALib", "pandas": "pandas",
        "pyarrow": "pyarrow"}


def need(*modules: str) -> None:
    """Import ``modules`` or raise one clear error saying how to install them."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(_PIP.get(name, name))
    if missing:
        raise ScenarioError(
            f"sweeps need {', '.join(missing)}; install them with "
            f"pip install 'borderesim[sweep]'"
        )
