"""``borderesim schema``: print the JSON Schema of scenario files."""

from __future__ import annotations

import argparse

from ..model.scenario import json_schema


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of scenario files",
                       description="Print the JSON Schema of scenario files (for editors).")
    p.set_defaults(func=lambda args: print(json_schema()) or 0)
