"""Server-side time of one slider move on the workshop's region page (example region).

The page (``borderesim/workshop/region_app.py``) caches the file's own setting and the
previous one, so a slider move costs one ``workshop.region.run`` of the new setting:
loading the region with the setting's overrides, ``simulate_region`` (every run of the
day, plus its replay with nobody informed for the value of information) and drawing the
map. This script times that call after a warm-up (kernels loaded, as on a page already
showing), for the page's default number of runs and for 1 and 2, and splits it into
load, simulate and map.

    python experiments/bench_workshop_region.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from borderesim.run.region import simulate_region
from borderesim.workshop import region

REGION = Path(__file__).resolve().parent.parent / "scenarios" / "region" / "north.yaml"


def best(fn, repeats: int) -> tuple[float, float]:
    """(median, best) seconds of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    source = region.source_from_file(REGION)
    reg = region.load(source)
    knobs = region.file_knobs(reg)
    moved = replace(knobs, informed_share=knobs.informed_share + 0.05)  # one slider step
    default = min(max(reg.spec.replications, 2), region.REPLICATIONS)
    region.run(source, moved, default, "auto")  # warm: kernels compiled or loaded
    print(f"{reg.name}: one slider move (informed share +5 %), server side, "
          f"median / best of {args.repeats}")
    changed = region.load(source, region.region_changes(reg, moved))
    load_s, _ = best(lambda: region.load(source, region.region_changes(reg, moved)),
                     args.repeats)
    for reps in sorted({1, 2, default}):
        med, low = best(lambda r=reps: region.run(source, moved, r, "auto"), args.repeats)
        result = simulate_region(changed, "auto", reps, keep_runs=True)
        sim_s, _ = best(lambda r=reps: simulate_region(changed, "auto", r, keep_runs=True),
                        args.repeats)
        png_s, _ = best(lambda res=result: region.map_png(res, "x"), args.repeats)
        mark = " (the page's default)" if reps == default else ""
        print(f"  {reps} run(s){mark}: {med * 1e3:.0f} ms (best {low * 1e3:.0f}) = load "
              f"{load_s * 1e3:.0f} + simulate {sim_s * 1e3:.0f} + map {png_s * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
