"""``borderesim animate``: replay a scenario's simulation as a GIF (or MP4) for slides."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..output.animate import SIZE, animate_scenario, busiest_hour, check_output, clock, parse_hours
from ..output.plots.sizes import size_option
from .common import add_scenario_args, load, non_negative_int, positive_int, require


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "animate", help="write an animation of the crossing (GIF, or MP4 with ffmpeg)",
        description="Simulate one replication and replay it as an animation: travellers "
        "queueing at booths, referred ones going to secondary, detections flagged.")
    add_scenario_args(p)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                   help="output file: .gif, or .mp4 (needs ffmpeg)")
    p.add_argument("--hours", metavar="A-B",
                   help="clock hours to show, e.g. 7-9 (default: the busiest hour)")
    p.add_argument("--fps", type=positive_int, default=12, metavar="N",
                   help="frames per second of the animation (default 12)")
    p.add_argument("--step", type=float, default=20.0, metavar="SECONDS",
                   help="simulated seconds between frames (default 20)")
    p.add_argument("--size", type=size_option, default=SIZE, metavar="WxH",
                   help="size in pixels (default 1280x720, a 16:9 slide; text is 18 px "
                        "high at 1280 px wide and scales with the width)")
    p.add_argument("--engine", choices=["auto", "simpy", "fast"], default="auto",
                   help="simulation engine (default: auto)")
    p.add_argument("--seed", type=non_negative_int, default=None, metavar="S",
                   help="random seed (default: the scenario's)")
    p.add_argument("--replication", type=non_negative_int, default=0, metavar="R",
                   help="which replication to replay (default 0)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    check_output(args.output)
    scenario = load(args)
    require(args.step >= 1, f"--step must be 1 second or more, got {args.step:g}")
    window = parse_hours(args.hours, scenario.horizon) if args.hours else busiest_hour(scenario)
    frames_wanted = (window[1] - window[0]) / (args.step / 60.0)
    require(frames_wanted <= 5000, f"{frames_wanted:.0f} frames is too many; shorten --hours "
            "or lengthen --step (at most 5000 frames)")
    path, n = animate_scenario(scenario, args.output, window, fps=args.fps,
                               step=args.step / 60.0, engine=args.engine,
                               replication=args.replication, seed=args.seed,
                               size=args.size)
    print(f"wrote {path}: {n} frames, {clock(window[0])} to {clock(window[1])}, "
          f"{args.fps} frames/s, {args.size[0]}x{args.size[1]} px")
    return 0
