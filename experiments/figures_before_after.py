"""The README's figures before and after a change, side by side, in one small PNG.

Reads each figure as committed at REF (default ``main``) with ``git show`` and as it is
now in figures/, scales both to the same width and writes figures/before_after.png
(one row per figure: before on the left, after on the right), palette-compressed.
Usage::

    python experiments/figures_before_after.py [--ref main] [--width 560]
"""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("capacity_gap.png", "tradeoff_frontier.png", "sweep_heatmap.png", "sensitivity.png",
         "report.png", "workforce_options.png")


def _scaled(im: Image.Image, width: int) -> Image.Image:
    im = im.convert("RGB")
    return im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main", help="git ref of the 'before' figures")
    parser.add_argument("--width", type=int, default=520, help="width of each image (px)")
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "before_after.png")
    args = parser.parse_args()
    font = ImageFont.load_default(size=22)
    rows = []
    for name in NAMES:
        old = subprocess.run(["git", "show", f"{args.ref}:figures/{name}"], cwd=ROOT,
                             capture_output=True, check=True).stdout
        pair = [_scaled(Image.open(io.BytesIO(old)), args.width),
                _scaled(Image.open(ROOT / "figures" / name), args.width)]
        h = max(p.height for p in pair) + 34
        row = Image.new("RGB", (2 * args.width + 20, h), "white")
        draw = ImageDraw.Draw(row)
        for i, (p, word) in enumerate(zip(pair, ("before", "after"), strict=True)):
            x = i * (args.width + 20)
            row.paste(p, (x, 34))
            draw.text((x + 4, 4), f"{name}: {word}", fill="black", font=font)
        rows.append(row)
    sheet = Image.new("RGB", (rows[0].width, sum(r.height + 16 for r in rows)), "white")
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height + 16
    sheet.convert("P", palette=Image.ADAPTIVE, colors=64).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
