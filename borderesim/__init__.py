"""borderesim: simulate border crossing points — queues, staffing, targeting and detection."""

from __future__ import annotations

__version__ = "0.3.0"

from .errors import ScenarioError  # noqa: E402
from .model.scenario import Scenario, load_scenario  # noqa: E402
from .model.targeting import Strategy, register_strategy  # noqa: E402
from .run.simulate import Result, simulate  # noqa: E402

__all__ = ["Result", "Scenario", "ScenarioError", "Strategy", "__version__", "load_scenario",
           "register_strategy", "simulate"]
