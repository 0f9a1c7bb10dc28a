"""One look for every figure: 16:9 slide sizes, projector-sized fonts, clock-hour axes.

A figure is drawn at :data:`SLIDE` inches and saved at :data:`DPI`, i.e. 1280 × 720
pixels, the size of a 16:9 slide; :data:`RC` sets fonts so that the smallest text
(tick labels, 12 pt) is about 17 px high at that size, readable on a projector from
the back of a room. ``--size WxH`` / ``--dpi`` options parse with :func:`parse_size`.
Times of day are drawn as clock hours ("06:00") by :func:`clock_axis`; hours nobody
was counted in (the warm-up) are shaded by :func:`shade_uncounted`. Text labels
placed next to data points go through :func:`place_labels`, which moves a label
that would overlap another and hides one that cannot be placed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import ParamSpec, TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter

from .sizes import parse_size as parse_size  # re-exported

SLIDE = (12.8, 7.2)
"""Figure size (inches) of a 16:9 slide: 1280 × 720 px at :data:`DPI`."""
DPI = 100
"""Dots per inch figures are saved at."""
MIN_TEXT_PX = 16.0
"""Smallest text height (pixels at the saved size) a figure may use."""
UNCOUNTED = "0.88"
"""Colour of hours nobody was counted in (warm-up)."""

RC = {
    "font.size": 14,
    "axes.titlesize": 15,
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.title_fontsize": 12,
    "figure.titlesize": 17,
    "lines.linewidth": 2.2,
    "lines.markersize": 6,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
"""matplotlib settings of every figure (see :func:`slide_style`)."""

P = ParamSpec("P")
R = TypeVar("R")


def slide_style(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run a figure-drawing function under :data:`RC`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


def slide_figure(size: tuple[float, float] | None = None) -> Figure:
    """A fresh figure of ``size`` inches (default :data:`SLIDE`) with constrained layout.

    Call inside :func:`slide_style` so its text gets the slide fonts.
    """
    return Figure(figsize=size or SLIDE, layout="constrained")


def inches(size_px: tuple[int, int] | None, dpi: int = DPI) -> tuple[float, float] | None:
    """Pixels (width, height) at ``dpi`` → inches (``None`` stays ``None``)."""
    if size_px is None:
        return None
    return size_px[0] / dpi, size_px[1] / dpi


def clock(hour: float) -> str:
    """A clock reading of ``hour`` hours after midnight: ``6`` → ``"06:00"``, 24 → ``"24:00"``."""
    minutes = int(round(hour * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def clock_axis(ax: Axes, start: float = 0.0, end: float = 24.0, step: int = 3,
               label: str = "time of day (hh:mm)") -> None:
    """Make ``ax``'s x axis clock hours ``start``-``end`` (x data in hours since midnight)."""
    ax.set_xlim(start, end)
    first = int(np.ceil(start / step) * step)
    ax.xaxis.set_major_locator(FixedLocator(np.arange(first, end + 1e-9, step)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: clock(x)))
    if label:
        ax.set_xlabel(label)


def shade_uncounted(ax: Axes, counted: Sequence[bool],
                    label: str = "not counted (warm-up)") -> bool:
    """Shade each clock hour ``h`` (0-23) with ``counted[h]`` False; True if any was shaded.

    The first shaded span carries ``label`` for the legend.
    """
    shaded = False
    for h, ok in enumerate(counted):
        if not ok:
            ax.axvspan(h, h + 1, color=UNCOUNTED, lw=0, zorder=0,
                       label=None if shaded else label)
            shaded = True
    return shaded


def legend_outside(ax: Axes, **kwargs) -> None:
    """The legend of ``ax`` to the right of it, outside the data (constrained layout)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, **kwargs)


def legend_below(fig: Figure, handles: list | None = None, labels: list | None = None,
                 ncol: int | None = None, axes: Iterable[Axes] = ()) -> None:
    """One legend for the whole figure, below the panels (constrained layout makes room).

    Without ``handles``, collects the entries of ``axes`` (labels seen twice kept once).
    """
    if handles is None:
        seen: dict[str, object] = {}
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                seen.setdefault(lab, h)
        labels, handles = list(seen), list(seen.values())
    if handles:
        fig.legend(handles, labels, loc="outside lower center",
                   ncol=ncol or min(len(handles), 4))


def _overlap(a, b, pad: float = 1.0) -> bool:
    return (a.x0 < b.x1 - pad and b.x0 < a.x1 - pad and a.y0 < b.y1 - pad and b.y0 < a.y1 - pad)


def freeze_layout(fig: Figure) -> None:
    """Draw ``fig`` once (running its layout) and keep that layout from now on."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    fig.set_layout_engine("none")


def place_labels(fig: Figure, labels: Sequence[Text], reach: int = 2) -> int:
    """Move point labels (annotations in offset points) off each other; hide the rest.

    Each label in turn is tried at its own offset, then up to ``reach`` label heights
    below and above it, then the same on the other side of its point, until it
    overlaps no label placed before it, no tick label or axis title and stays inside
    its axes; a label that fits nowhere near its point is hidden rather than drawn
    far from it. Freezes the layout (:func:`freeze_layout`) first. Returns how many
    labels were hidden.
    """
    freeze_layout(fig)
    renderer = fig.canvas.get_renderer()
    taken = [t.get_window_extent(renderer) for ax in fig.axes
             for t in (*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label,
                       ax.yaxis.label, ax.title) if t.get_visible() and t.get_text()]
    hidden = 0
    pt = 72.0 / fig.dpi  # points per pixel
    for text in labels:
        x0, y0 = text.xyann  # offset in points
        box = text.get_window_extent(renderer)
        dy = box.height * pt + 1.0
        other_side = -x0 - box.width * pt if x0 >= 0 else -x0
        inside = text.axes.get_window_extent(renderer) if text.axes else fig.bbox
        shifts = [0] + [s * k for k in range(1, reach + 1) for s in (-1, 1)]
        for x, k in [(x, k) for x in (x0, other_side) for k in shifts]:
            text.xyann = (x, y0 + k * dy)
            box = text.get_window_extent(renderer)
            fits = (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0
                    and box.y1 <= inside.y1)
            if fits and not any(_overlap(box, b) for b in taken):
                taken.append(box)
                break
        else:
            text.set_visible(False)
            hidden += 1
    return hidden


def wrap(label: str, width: int = 28) -> str:
    """``label`` broken into lines of at most ``width`` characters (the unit kept whole)."""
    import textwrap

    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label



def save_png(fig: Figure, path, dpi: int = DPI, colors: int = 256) -> None:
    """Save ``fig`` as a small PNG: rendered at ``dpi``, reduced to ``colors`` colours.

    For figures kept in the repository (the README's), where a few hundred kB matter.
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    with Image.open(buf) as im:
        im.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True)
