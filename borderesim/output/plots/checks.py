"""What a machine can check about a figure: title, labelled axes with units, no
overlapping text, a legend that covers no data, text big enough for a projector.

:func:`figure_problems` returns one plain sentence per problem (empty: the figure
passes); ``tests/test_figure_gallery.py`` runs it on every command's figure, and a
new figure is checked by adding it there. :func:`gif_frames` counts an animation's
frames as written, to compare with what the command reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from .style import DPI, MIN_TEXT_PX

NUMBER = re.compile(r"^[−\-+]?[\d.,]*\d[\d.,]*\s*(%|[a-z]{0,3})$|^\d{1,2}:\d{2}$|^$")
"""A tick label that is a number (possibly with a short unit) or a clock time."""
UNIT = re.compile(r"\([^()]+\)\s*$|\([^()]+\)\n")
"""An axis label that ends with its unit in brackets: ``"wait (min)"``."""


def _renderer(fig: Figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _tick_labels(ax: Axes, which: str) -> list[Text]:
    """The tick labels ``ax`` draws on axis ``which`` ("x" or "y"): visible, in view."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = sorted(axis.get_view_interval())
    span = hi - lo
    out = []
    for tick in axis.get_major_ticks():
        loc = tick.get_loc()
        if loc is None or not lo - 1e-9 * span <= loc <= hi + 1e-9 * span:
            continue
        out += [t for t in (tick.label1, tick.label2) if t.get_visible() and t.get_text()]
    return out


def _is_colorbar(ax: Axes) -> bool:
    return hasattr(ax, "_colorbar")


def _texts(fig: Figure) -> list[Text]:
    """Every visible, non-empty text drawn outside legends (tick labels in view only)."""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    in_legend = {id(t) for lg in legends for t in lg.findobj(Text)}
    ticks = {id(t) for ax in fig.axes for a in (ax.xaxis, ax.yaxis)
             for tick in (*a.get_major_ticks(), *a.get_minor_ticks())
             for t in (tick.label1, tick.label2)}
    shown = {id(t) for ax in fig.axes if ax.axison for w in "xy" for t in _tick_labels(ax, w)}
    out = []
    for t in fig.findobj(Text):
        if id(t) in in_legend or (id(t) in ticks and id(t) not in shown):
            continue
        if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible()):
            if t.axes is not None and not t.axes.axison and id(t) in ticks:
                continue
            out.append(t)
    return list({id(t): t for t in out}.values())


def _data_points(ax: Axes) -> np.ndarray:
    """Display coordinates of the points and line vertices ``ax`` draws inside itself."""
    pts = []
    for line in ax.get_lines():
        if isinstance(line, Line2D) and line.get_visible():
            xy = np.asarray(line.get_xydata(), dtype=float)
            if xy.size:
                pts.append(line.get_transform().transform(xy))
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and coll.get_visible():
            off = np.asarray(coll.get_offsets(), dtype=float)
            if off.size:
                pts.append(coll.get_offset_transform().transform(off))
    if not pts:
        return np.empty((0, 2))
    xy = np.concatenate(pts)
    xy = xy[np.isfinite(xy).all(axis=1)]
    box = ax.get_window_extent()
    keep = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1)
            & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1))
    return xy[keep]


def figure_problems(fig: Figure, dpi: float = DPI, min_px: float = MIN_TEXT_PX,
                    units: bool = True) -> list[str]:
    """Problems a reader would meet in ``fig`` saved at ``dpi``; an empty list if none.

    Checks: a title (figure or axes); every axis showing numeric ticks has a label, and
    (``units``) the label ends with its unit in brackets, e.g. ``"wait (min)"``; an axis
    of categories (stage names, say) needs no unit; no two texts overlap, none leaves
    the figure; no legend covers a data point (line vertex, marker, scatter point) of
    any axes; no text is smaller than ``min_px`` pixels at ``dpi``.
    """
    renderer = _renderer(fig)
    problems: list[str] = []
    titles = [fig._suptitle.get_text() if fig._suptitle else ""]
    titles += [ax.get_title(loc) for ax in fig.axes for loc in ("center", "left", "right")]
    if not any(t.strip() for t in titles):
        problems.append("no title")
    for n, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        for which in "xy":
            ticks = _tick_labels(ax, which)
            if not ticks:
                continue
            label = (ax.get_xlabel() if which == "x" else ax.get_ylabel()).strip()
            if _is_colorbar(ax):
                label = label or ax._colorbar.ax.get_ylabel()
            numeric = all(NUMBER.match(t.get_text().strip()) for t in ticks)
            if not label:
                problems.append(f"axes {n}: the {which} axis has no label")
            elif units and numeric and not UNIT.search(label):
                problems.append(f"axes {n}: the {which} axis label {label!r} gives no unit "
                                "in brackets")
    texts = _texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    for lg in legends:
        texts.append(Text(text="legend"))
        boxes.append(lg.get_window_extent(renderer))
    fb = fig.bbox
    for t, b in zip(texts, boxes, strict=True):
        if b.x0 < fb.x0 - 2 or b.y0 < fb.y0 - 2 or b.x1 > fb.x1 + 2 or b.y1 > fb.y1 + 2:
            problems.append(f"text {t.get_text()!r} runs off the figure")
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            if a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1:
                problems.append(f"texts {texts[i].get_text()!r} and {texts[j].get_text()!r} "
                                "overlap")
    for lg in legends:
        box = lg.get_window_extent(renderer)
        for n, ax in enumerate(fig.axes):
            xy = _data_points(ax)
            inside = ((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1)
                      & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1))
            if inside.any():
                problems.append(f"a legend covers {int(inside.sum())} data point(s) of "
                                f"axes {n}")
    scale = dpi / 72.0
    for t in [*texts[:len(texts) - len(legends)],
              *(x for lg in legends for x in lg.get_texts())]:
        px = t.get_fontsize() * scale
        if px < min_px - 1e-9:
            problems.append(f"text {t.get_text()!r} is {px:.0f} px high (< {min_px:g} px)")
    return problems


def gif_frames(path: str | Path) -> int:
    """How many frames the GIF at ``path`` holds."""
    from PIL import Image

    with Image.open(path) as im:
        return int(getattr(im, "n_frames", 1))
