"""Shared helpers for the test suite."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

DEMO = {
    "name": "Demo land crossing",
    "duration": "24h",
    "warmup": "2h",
    "replications": 10,
    "seed": 7,
    "arrivals": {"per_hour": 420},
    "classes": {
        "resident": {"share": 0.7, "threat_prevalence": 0.0005},
        "visitor": {"share": 0.3, "threat_prevalence": 0.002},
    },
    "stages": {
        "primary": {
            "servers": 8,
            "service": {"distribution": "lognormal", "mean": "60s", "cv": 0.5},
            "detection_probability": 0.02,
        },
        "secondary": {
            "visits": "referred",
            "servers": 2,
            "service": {"distribution": "exponential", "mean": "12min"},
            "detection_probability": 0.9,
        },
    },
    "targeting": {"strategy": "random", "referral_rate": 0.08},
}


def single_stage(per_hour: float, servers: int, service: dict, hours: float = 24,
                 warmup: float = 2, replications: int = 10, seed: int = 1) -> dict:
    """A one-stage scenario mapping (times in hours for duration and warm-up)."""
    return {
        "name": "single stage",
        "duration": f"{hours}h",
        "warmup": f"{warmup}h",
        "replications": replications,
        "seed": seed,
        "arrivals": {"per_hour": per_hour},
        "stages": {"desk": {"servers": servers, "service": service}},
    }


@pytest.fixture
def demo() -> dict:
    """The issue's demo scenario as a fresh mapping."""
    return copy.deepcopy(DEMO)
