"""Write the briefing report of the airport example and a cropped screenshot of it.

    .venv/bin/python experiments/report_screenshot.py [--html PATH] [--replications N]

Writes the report (default: a temporary folder, or --html PATH) with the scenario's
own seed and replications, renders it with headless Chromium (/usr/bin/chromium,
offline: --disable-background-networking, a throw-away profile) and saves
figures/report.png: the page's header, its "Service standards" section and its
"Waits and queues by hour" section, cut from one full-page screenshot and stacked in
page order (the sections between them are left out), scaled to 900 px wide.

Without Chromium it draws the first figure section's figure (waits and queues by
hour) with matplotlib instead, and says so.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from borderesim.output.report import SECTION_IDS, build, write_report
from borderesim.output.report.figures import fig_hourly

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "airport_arrivals.yaml"
OUT = ROOT / "figures" / "report.png"
CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1200, 16000
"""Browser window (pixels); tall enough for the whole page."""
KEEP = ("standards", "hourly")
"""Sections shown in the screenshot, under the page header."""


def screenshot(html: Path, png: Path) -> None:
    """Full-window screenshot of ``html`` with headless Chromium."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}", html.as_uri()],
            check=True, capture_output=True, timeout=300)


def section_boxes(img: np.ndarray, x: int) -> list[tuple[int, int]]:
    """(top, bottom) rows of the white section boxes, found down column ``x``.

    Sections are white boxes on the page's grey background, so each is a run of
    pure-white pixels in a column that falls inside the boxes' left padding.
    """
    white = (img[:, x, :3] == 255).all(axis=1)
    edges = np.flatnonzero(np.diff(white.astype(int)))
    starts = [e + 1 for e in edges if not white[e]]
    ends = [e + 1 for e in edges if white[e]]
    return [(s, e) for s, e in zip(starts, ends, strict=False) if e - s > 40]


def crop(full: Path, out: Path) -> None:
    img = np.asarray(Image.open(full).convert("RGB"))
    boxes = section_boxes(img, x=(WIDTH - 1088) // 2 + 24 + 6)  # main: 1040 + 2 x 24 px
    if len(boxes) != len(SECTION_IDS):
        raise RuntimeError(f"found {len(boxes)} sections in the screenshot, expected "
                           f"{len(SECTION_IDS)}")
    top = boxes[0][0] - 8  # header and navigation bar
    pieces = [img[:top]]
    for sid in KEEP:
        a, b = boxes[SECTION_IDS.index(sid)]
        pieces.append(img[a - 8:b + 8])
    stacked = Image.fromarray(np.concatenate(pieces, axis=0))
    scale = 900 / stacked.width
    stacked = stacked.resize((900, round(stacked.height * scale)), Image.LANCZOS)
    stacked.convert("P", palette=Image.ADAPTIVE, colors=128).save(out, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, help="where to write the report (default: temp)")
    parser.add_argument("--replications", type=int, default=None)
    args = parser.parse_args()
    data = build(SCENARIO, replications=args.replications)
    with tempfile.TemporaryDirectory() as tmp:
        html = args.html or Path(tmp) / "report.html"
        write_report(data, html)
        print(f"wrote {html} ({data.result.replications} replications, seed "
              f"{data.result.seed}, engine {data.result.engine})")
        OUT.parent.mkdir(exist_ok=True)
        if CHROMIUM.exists() and shutil.which(str(CHROMIUM)):
            full = Path(tmp) / "full.png"
            screenshot(html.resolve(), full)
            crop(full, OUT)
            print(f"wrote {OUT} (Chromium screenshot: header, standards, waits by hour)")
        else:
            fig_hourly(data).savefig(OUT, dpi=90)
            print(f"wrote {OUT} (no Chromium at {CHROMIUM}: the hourly figure drawn with "
                  "matplotlib instead of a screenshot)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
