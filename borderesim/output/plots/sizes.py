"""Figure sizes given on the command line (``--size 1280x720``), without matplotlib."""

from __future__ import annotations

import argparse
import re


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` → (1280, 720) pixels; ``ValueError`` for anything else.

    Each side must be 320-7680 px (a thumbnail to an 8K screen).
    """
    m = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text or "")
    if not m:
        raise ValueError(f"write the size as WIDTHxHEIGHT in pixels, e.g. 1280x720; got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (320 <= w <= 7680 and 320 <= h <= 7680):
        raise ValueError(f"each side must be 320 to 7680 pixels; got {w}x{h}")
    return w, h


def size_option(text: str) -> tuple[int, int]:
    """argparse type of a ``--size WxH`` option (pixels): :func:`parse_size`."""
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
