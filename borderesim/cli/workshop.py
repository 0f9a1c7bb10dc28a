"""``borderesim workshop``: serve the live page trainers teach from."""

from __future__ import annotations

import argparse
import sys

from .common import load, require


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "workshop", help="serve a live page to show trade-offs (needs the 'workshop' extra)",
        description="Serve a local web page with sliders for demand, officers and targeting; "
        "it shows wait, throughput and detection with intervals, the detection-wait trade-off, "
        "queues over the day and an animation of the crossing. Stop it with Ctrl-C.")
    p.add_argument("scenario", nargs="?",
                   help="scenario YAML to start with (default: examples); a region file "
                        "(top-level crossings:) gets a read-only page of regional numbers")
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; "
                   "0.0.0.0 to let others in the room connect)")
    p.add_argument("--engine", choices=["auto", "simpy", "fast"], default="auto",
                   help="simulation engine (default: auto)")
    p.set_defaults(func=command, overrides=[])


def command(args: argparse.Namespace) -> int:
    from ..workshop import server

    require(0 < args.port < 65536, f"--port must be 1-65535, got {args.port}")
    if args.scenario is not None:
        from ..run.region.cli import is_region_file

        if is_region_file(args.scenario):  # a read-only page of regional numbers
            from ..run.region import load_region

            load_region(args.scenario)
        else:
            load(args)  # bad files fail here, with the one-line message, before serving
    if not server.streamlit_available():
        print("borderesim: error: the workshop needs Streamlit: "
              "pip install 'borderesim[workshop]'", file=sys.stderr)
        return 2
    print(f"borderesim workshop: serving on http://{args.host}:{args.port} (Ctrl-C to stop)",
          flush=True)
    server.serve(args.scenario, args.port, args.host, args.engine)
    return 0  # pragma: no cover - serve() replaces this process
