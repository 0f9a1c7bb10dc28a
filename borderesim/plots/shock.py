"""Queue and wait over a shock, one line per response policy, the shock shaded.

Two panels share the clock-time axis (hours of day one, ``HH:MM``): the mean number
waiting at a stage (travellers) and the mean wait (minutes) of travellers entering its
queues, both averaged over replications in bins (``shocks.profile``). Every event
occurrence is shaded (outages and slowdowns from ``from`` to ``to``, a surge over its
``over``, at least a minute wide). Drawn on a fresh ``matplotlib.figure.Figure``.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from ..events import Occurrence, SurgeEvent, clock_text
from ..shocks import Profile
from .text import plain

SHADES = {"outage": "tab:red", "slowdown": "tab:orange", "surge": "tab:purple"}
"""Colour of each kind of event's shading."""
STYLES = ("-", "--", "-.", ":")
"""Line style of the policies, in order."""


def _clock(minutes: float, _pos: object = None) -> str:
    """Tick label: minutes from the start of the run as ``HH:MM`` (``+1d`` past day one)."""
    day = int(minutes // 1440)
    return clock_text(minutes % 1440) + (f" +{day}d" if day else "")


def shade(ax: Axes, occurrences: list[Occurrence], label: bool = True) -> None:
    """Shade each occurrence's window on ``ax`` (one legend entry per kind)."""
    seen: set[str] = set()
    for occ in occurrences:
        kind = occ.event.kind
        end = max(occ.end, occ.start + 1.0)
        what = kind if not isinstance(occ.event, SurgeEvent) else \
            f"surge ({occ.event.travellers} travellers)"
        ax.axvspan(occ.start, end, color=SHADES.get(kind, "grey"), alpha=0.15, lw=0,
                   label=plain(what) if label and kind not in seen else None)
        seen.add(kind)


def draw_shock_response(axes: list[Axes], profiles: dict[str, Profile], stage: str,
                        occurrences: list[Occurrence], window: tuple[float, float]) -> None:
    """Draw ``profiles`` (policy name -> ``Profile``) on two axes between ``window``
    (minutes from the start of the run)."""
    for k, (name, prof) in enumerate(profiles.items()):
        mid = (prof.edges[:-1] + prof.edges[1:]) / 2
        style = STYLES[k % len(STYLES)]  # policies that coincide stay visible
        axes[0].plot(mid, prof.queue, lw=1.4, ls=style, label=plain(name))
        axes[1].plot(mid, prof.wait, lw=1.4, ls=style, label=plain(name))
    for ax in axes:
        shade(ax, occurrences, label=ax is axes[0])
        ax.set_xlim(*window)
        ax.xaxis.set_major_locator(MultipleLocator(60.0))
        ax.xaxis.set_major_formatter(FuncFormatter(_clock))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("clock time (hh:mm, day one)", fontsize=8)
    axes[0].set_ylabel(plain(f"travellers waiting at {stage} (mean)"), fontsize=8)
    axes[1].set_ylabel(plain(f"mean wait at {stage} by time of entry (min)"), fontsize=8)
    axes[0].legend(fontsize=7, loc="upper right")


def plot_shock_response(profiles: dict[str, Profile], stage: str,
                        occurrences: list[Occurrence], window: tuple[float, float],
                        path: str | Path, title: str, dpi: int = 110) -> Path:
    """Save the two-panel shock-response figure as ``path`` (format from its ending)."""
    fig = Figure(figsize=(11.0, 4.2))
    axes = list(fig.subplots(1, 2, sharex=True))
    draw_shock_response(axes, profiles, stage, occurrences, window)
    fig.suptitle(plain(title), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)
