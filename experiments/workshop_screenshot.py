"""Screenshot of the workshop page for the README: figures/workshop.png.

Starts ``borderesim workshop scenarios/land_crossing.yaml`` on a free local port, drives
it in Debian's headless chromium (Playwright, no browser download): picks the risk-model
strategy, plays the crossing animation, and saves a downscaled PNG.

    .venv/bin/python experiments/workshop_screenshot.py [--out figures/workshop.png]
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

from borderesim.workshop import server

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1400, 1650
"""Browser viewport (pixels): tall enough for the whole page, animation included."""


def capture(out: Path, scenario: Path, width_px: int = 1100) -> Path:
    """Serve the page, set it up, and write a ``width_px``-wide PNG to ``out``."""
    log = Path(tempfile.mkdtemp()) / "server.log"
    proc, url = server.start(scenario, log=log)
    try:
        server.wait_healthy(url, timeout=120, proc=proc)
        with sync_playwright() as p:
            browser = server.launch_chromium(p)
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_selector('[data-testid="stMetricValue"]')
            strategy = page.locator('[data-testid="stSelectbox"]').filter(has_text="Strategy")
            strategy.click()
            page.get_by_role("option", name="Risk model (analytics / AI score)").click()
            page.wait_for_selector("text=Risk model quality")
            page.get_by_role("button", name="Play the crossing").click()
            gif = page.wait_for_selector('[data-testid="stImage"] img[src$=".gif"]')
            page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=gif)
            page.wait_for_timeout(2500)  # let the animation run a little
            shot = page.screenshot()
            browser.close()
    finally:
        server.stop(proc)
    image = crop_blank_bottom(Image.open(io.BytesIO(shot)).convert("RGB"))
    image = image.resize((width_px, round(image.height * width_px / image.width)),
                         Image.Resampling.LANCZOS)
    image = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, optimize=True)
    return out


def crop_blank_bottom(image: Image.Image, margin: int = 24) -> Image.Image:
    """Cut the empty page below the last line of the main column."""
    pixels = np.asarray(image)[:, image.width // 4:]
    used = np.flatnonzero((pixels < 245).any(axis=(1, 2)))
    bottom = min(image.height, int(used[-1]) + margin) if used.size else image.height
    return image.crop((0, 0, image.width, bottom))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "workshop.png")
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "land_crossing.yaml")
    args = parser.parse_args()
    out = capture(args.out, args.scenario)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
