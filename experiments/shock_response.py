"""Response policies to a shock at the airport: queue and wait over the morning.

Runs ``scenarios/airport_shock.yaml`` (e-gates down 07:30-08:15 with pre-emption and
a diverted flight of 200 at 07:40) under every policy of
``scenarios/policies/airport_shock.yaml`` on the same seed and travellers, prints the
paired comparison (``borderesim compare --policies``) and draws
``figures/shock_response.png``: the number waiting at passport control and the mean
wait by time of entry, one line per policy, each event shaded. Usage::

    python experiments/shock_response.py [--replications N] [--engine auto|fast|simpy]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from borderesim.cli.compare import tables
from borderesim.compare import compare, load_policies, with_policy
from borderesim.events import occurrences
from borderesim.plan import make_plan
from borderesim.plots.shock import plot_shock_response
from borderesim.scenario import load_scenario
from borderesim.shocks import profile
from borderesim.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
STAGE = "passport"
WINDOW = (6 * 60.0, 12 * 60.0)
"""Clock window drawn (minutes): 06:00 to 12:00."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None,
                        help="replications (default: the scenario's own)")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "shock_response.png")
    args = parser.parse_args()

    t0 = time.perf_counter()
    scenario = load_scenario(ROOT / "scenarios" / "airport_shock.yaml")
    policies = load_policies(ROOT / "scenarios" / "policies" / "airport_shock.yaml")
    comparison = compare(scenario, policies, engine=args.engine,
                         replications=args.replications)
    print(tables(comparison))
    profiles = {}
    for policy in policies:
        variant = with_policy(scenario, policy)
        result = simulate(variant, engine=args.engine, replications=comparison.replications,
                          seed=comparison.seed, keep_traces=True)
        profiles[policy.group] = profile(make_plan(variant), result.traces, STAGE)
    title = (f"{scenario.name}: response policies on the same passengers "
             f"({comparison.replications} replications, seed {comparison.seed})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_shock_response(profiles, STAGE, occurrences(scenario.events, scenario.horizon),
                        WINDOW, args.out, title)
    print(f"\nwrote {args.out} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
