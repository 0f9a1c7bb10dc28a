"""Replay one replication's trace as an animation of the crossing.

Frames are computed from the per-traveller event log (``Trace``): at each frame time a
traveller is drawn queueing in front of their lane's booths or in a booth; each lane
says how many are waiting in it, a colour key, the clock (to the second) and running
counts (passed, referred, threats caught, threats missed) sit above the crossing. Travellers
at a stage only referred travellers visit are orange; a threat, once detected, is a
red star wherever it is, and joins the "held" box when it leaves the crossing.
Nothing is sampled here: the picture is exactly what the simulation did.

Times are minutes from 00:00 of day one, like everywhere else.
"""

from __future__ import annotations

import heapq
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis.outcomes import is_checked
from ..errors import ScenarioError
from ..model.hourly import as_24
from ..model.scenario import Scenario
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace
from .plots.text import plain

WAITING, SERVING, REFERRED_WAITING, REFERRED_SERVING, DETECTED = range(5)
"""Kinds of dot in a frame."""

QUEUE_ROOM = 24
"""Queue places drawn in front of a lane; longer queues show a "+N" label (dots)."""
QUEUE_GAP = 0.5
"""Horizontal spacing of queue places (drawing units)."""
LANE_GAP = 2.2
"""Vertical room between a lane's top booth and the next lane's first (its label)."""
STAGE_WIDTH = QUEUE_ROOM * QUEUE_GAP + 3.0
"""Horizontal room of one stage: its queue plus its booths (drawing units)."""


@dataclass(frozen=True)
class Layout:
    """Where each lane's booths stand (drawing units; one booth is one unit high)."""

    stage_names: tuple[str, ...]
    stage_referred: tuple[bool, ...]
    lane_names: tuple[str, ...]
    lane_stage: tuple[int, ...]
    booth_x: tuple[float, ...]
    lane_y0: tuple[float, ...]
    """y of each lane's first booth; booth k of the lane stands at ``lane_y0 + k``."""
    slots: tuple[int, ...]
    """Booths drawn per lane (the most servers on duty at any hour)."""
    held_x: float
    height: float

    def queue_y(self, lane: int) -> float:
        """y of the lane's queue line: the middle of its booths."""
        return self.lane_y0[lane] + (self.slots[lane] - 1) / 2


@dataclass(frozen=True)
class Frame:
    """The crossing at one instant ``t`` (minutes): dots and running counts.

    ``x``, ``y``, ``kind`` describe one dot per traveller drawn (kinds: ``WAITING``,
    ``SERVING``, ``REFERRED_WAITING``, ``REFERRED_SERVING``, ``DETECTED``: a detected
    threat, in place while inside, then in the held box).
    ``waiting`` is the number queueing at each stage; ``overflow`` lanes with more
    waiting than ``QUEUE_ROOM`` map lane index to the number not drawn.
    Counts (``passed``, ``referred``, ``detected``, ``threats_missed``) run from the
    animation's start: travellers who left the crossing, who entered a referred-only
    stage, threats detected, and threats who left undetected.
    """

    t: float
    x: np.ndarray
    y: np.ndarray
    kind: np.ndarray
    waiting: tuple[int, ...]
    overflow: dict[int, int]
    passed: int
    referred: int
    detected: int
    threats_missed: int
    lane_waiting: tuple[int, ...] = ()
    """The number queueing in each lane (all of them, drawn or not)."""


def make_layout(plan: Plan) -> Layout:
    """Stages left to right, each stage's lanes stacked with a gap between them."""
    booth_x, lane_y0, slots = [], [], []
    height = 0.0
    for s in range(plan.n_stages):
        y = 0.0
        for lane in plan.lanes_of(s):
            k = max(1, int(plan.roster[lane].max()))
            booth_x.append((s + 1) * STAGE_WIDTH - 1.5)
            lane_y0.append(y)
            slots.append(k)
            y += k + LANE_GAP
        height = max(height, y - LANE_GAP)
    return Layout(
        stage_names=plan.stage_names,
        stage_referred=tuple(bool(b) for b in plan.stage_referred),
        lane_names=plan.lane_names,
        lane_stage=tuple(int(s) for s in plan.lane_stage),
        booth_x=tuple(booth_x),
        lane_y0=tuple(lane_y0),
        slots=tuple(slots),
        held_x=plan.n_stages * STAGE_WIDTH + 1.5,
        height=max(height, 1.0),
    )


def booth_slots(trace: Trace, plan: Plan) -> np.ndarray:
    """Which booth of its lane served each traveller at each stage (``int[S, n]``, -1: none).

    The trace says which lane served a traveller, not which officer; booths are given
    out greedily in order of service start (the lowest free booth), so nobody's dot
    jumps between booths while being served.
    """
    slot = np.full(trace.lane.shape, -1, dtype=np.int64)
    for s in range(plan.n_stages):
        for lane in plan.lanes_of(s):
            who = np.flatnonzero((trace.lane[s] == lane) & ~np.isnan(trace.start[s]))
            who = who[np.argsort(trace.start[s, who], kind="stable")]
            busy: list[tuple[float, int]] = []
            free: list[int] = []
            used = 0
            for i in who:
                t = trace.start[s, i]
                while busy and busy[0][0] <= t:
                    heapq.heappush(free, heapq.heappop(busy)[1])
                if free:
                    k = heapq.heappop(free)
                else:
                    k, used = used, used + 1
                slot[s, i] = k
                end = trace.end[s, i]
                heapq.heappush(busy, (math.inf if np.isnan(end) else float(end), k))
    return slot


def detection_times(inputs: Inputs, trace: Trace) -> np.ndarray:
    """When each traveller was detected as a threat (minutes; NaN: never)."""
    hit = inputs.caught & is_checked(trace.lane, trace.end) & inputs.threat
    when = np.where(hit, trace.end, np.inf).min(axis=0)
    return np.where(np.isfinite(when), when, np.nan)


def frame_times(t0: float, t1: float, step: float) -> np.ndarray:
    """Frame instants from ``t0`` up to (not including) ``t1``, every ``step`` minutes."""
    if not t1 > t0:
        raise ValueError("the animation window must end after it starts")
    if not step > 0:
        raise ValueError("the frame step must be positive")
    return t0 + step * np.arange(int(math.ceil((t1 - t0) / step - 1e-9)))


def make_frames(plan: Plan, inputs: Inputs, trace: Trace, times: np.ndarray) -> list[Frame]:
    """The crossing at each of ``times`` (minutes), replayed from ``trace``."""
    layout = make_layout(plan)
    slot = booth_slots(trace, plan)
    detected_at = detection_times(inputs, trace)
    inf = np.inf
    start = np.where(np.isnan(trace.start), inf, trace.start)
    end = np.where(np.isnan(trace.end), inf, trace.end)
    entry = np.where(np.isnan(trace.entry), inf, trace.entry)
    exit_ = np.where(np.isnan(trace.exit), inf, trace.exit)
    det = np.where(np.isnan(detected_at), inf, detected_at)
    ref_stages = np.flatnonzero(plan.stage_referred)
    first_ref = entry[ref_stages].min(axis=0) if ref_stages.size else np.full(inputs.n, inf)
    t_first = float(times[0]) if len(times) else 0.0
    frames = []
    for t in times:
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        kinds: list[np.ndarray] = []
        waiting_per_stage = []
        waiting_per_lane = []
        overflow: dict[int, int] = {}
        flagged = det <= t
        for s in range(plan.n_stages):
            referred_stage = bool(plan.stage_referred[s])
            waiting = (entry[s] <= t) & (start[s] > t) & (trace.lane[s] >= 0)
            serving = (start[s] <= t) & (end[s] > t)
            waiting_per_stage.append(int(waiting.sum()))
            for lane in plan.lanes_of(s):
                idx = np.flatnonzero(waiting & (trace.lane[s] == lane))
                idx = idx[np.argsort(entry[s, idx], kind="stable")]
                waiting_per_lane.append(int(idx.size))
                if idx.size > QUEUE_ROOM:
                    overflow[lane] = int(idx.size - QUEUE_ROOM)
                    idx = idx[:QUEUE_ROOM]
                rank = np.arange(idx.size)
                xs.append(layout.booth_x[lane] - 1.2 - QUEUE_GAP * rank)
                ys.append(np.full(idx.size, layout.queue_y(lane)))
                kinds.append(np.where(flagged[idx], DETECTED,
                                      REFERRED_WAITING if referred_stage else WAITING))
                srv = np.flatnonzero(serving & (trace.lane[s] == lane))
                xs.append(np.full(srv.size, layout.booth_x[lane]))
                ys.append(layout.lane_y0[lane] + slot[s, srv].astype(float))
                kinds.append(np.where(flagged[srv], DETECTED,
                                      REFERRED_SERVING if referred_stage else SERVING))
        held = np.flatnonzero(flagged & (det >= t_first) & (exit_ <= t))
        xs.append(layout.held_x + 0.6 * (np.arange(held.size) % 4))
        ys.append(0.8 * (np.arange(held.size) // 4))
        kinds.append(np.full(held.size, DETECTED))
        left = (exit_ <= t) & (exit_ >= t_first)
        frames.append(Frame(
            t=float(t),
            x=np.concatenate(xs),
            y=np.concatenate(ys),
            kind=np.concatenate(kinds).astype(np.int64),
            waiting=tuple(waiting_per_stage),
            overflow=overflow,
            passed=int((left & np.isinf(det)).sum()),
            referred=int(((first_ref <= t) & (first_ref >= t_first) & trace.referred).sum()),
            detected=int((flagged & (det >= t_first)).sum()),
            threats_missed=int((left & inputs.threat & np.isinf(det)).sum()),
            lane_waiting=tuple(waiting_per_lane),
        ))
    return frames


# --------------------------------------------------------------------------- choosing a window


def parse_hours(text: str, horizon: float) -> tuple[float, float]:
    """``"7-9"`` (clock hours from 00:00 of day one) → (420.0, 540.0) minutes.

    Raises ``ScenarioError`` for text that is not ``A-B`` with ``0 <= A < B`` inside
    the run (``horizon`` minutes).
    """
    a, sep, b = text.partition("-")
    try:
        lo, hi = float(a), float(b)
    except ValueError:
        lo = hi = math.nan
    if not sep or math.isnan(lo) or math.isnan(hi):
        raise ScenarioError(f"--hours needs START-END in hours, e.g. 7-9; got {text!r}")
    if not 0 <= lo < hi:
        raise ScenarioError(f"--hours: the end must come after the start (got {text!r})")
    if lo * 60 >= horizon:
        raise ScenarioError(
            f"--hours: the run ends at hour {horizon / 60:g}, so {text!r} shows nothing")
    return lo * 60.0, min(hi * 60.0, horizon)


def busiest_hour(scenario: Scenario) -> tuple[float, float]:
    """The counted window's clock hour with the most arrivals expected, in minutes."""
    rates = as_24(scenario.arrivals.per_hour)
    first = int(scenario.warmup // 60)
    last = max(first + 1, int(math.ceil(scenario.horizon / 60)))
    hours = range(first, min(last, first + 24))
    h = max(hours, key=lambda k: (rates[k % 24], -k))
    return h * 60.0, min((h + 1) * 60.0, scenario.horizon)


# --------------------------------------------------------------------------- drawing


COLOURS = {
    WAITING: "#4c72b0",
    SERVING: "#4c72b0",
    REFERRED_WAITING: "#f28e2b",
    REFERRED_SERVING: "#f28e2b",
    DETECTED: "#d62728",
}


COUNTERS = (("passed", "#333333"), ("referred", COLOURS[REFERRED_WAITING]),
            ("threats caught", COLOURS[DETECTED]), ("threats missed", "#7f7f7f"))
"""Running counts shown above the crossing, with their colours."""

SIZE = (1280, 720)
"""Default animation size (pixels): a 16:9 slide."""
DPI = 100
TEXT_PX = 18.0
"""Height (pixels) of the smallest text at a width of 1280 px; text scales with the width."""


def clock(t: float) -> str:
    """``t`` minutes as a clock reading, e.g. ``day 1 08:05``."""
    day, rest = divmod(int(round(t)), 1440)
    return f"day {day + 1} {rest // 60:02d}:{rest % 60:02d}"


def clock_seconds(t: float) -> str:
    """``t`` minutes as a clock reading to the second, e.g. ``day 1 08:05:20``.

    Frames at least a second apart always differ in this text, so a GIF writer never
    merges two of them (it merges identical consecutive frames).
    """
    day, rest = divmod(math.floor(t * 60 + 1e-6), 86400)  # floor: 1 s apart → differ
    return f"day {day + 1} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"


class Painter:
    """Draws frames on one matplotlib figure (no pyplot, so it is safe in servers).

    ``size``: pixels (width, height), default :data:`SIZE`; text is at least
    :data:`TEXT_PX` pixels high at 1280 px wide and scales with the width. The booths,
    labels and colour key are drawn once; each frame restores that background and draws
    only the moving dots, the clock, the counts and each lane's queue length (blitting),
    which keeps a frame to a few milliseconds.
    """

    def __init__(self, layout: Layout, title: str = "", dpi: int = DPI,
                 size: tuple[int, int] = SIZE):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Rectangle

        self.layout = layout
        w, h = size
        self.fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        unit = TEXT_PX * w / 1280 * 72.0 / dpi  # points of the smallest text

        def pt(k: float) -> float:
            return k * unit

        ax = self.ax = self.fig.add_axes((0.01, 0.02, 0.98, 0.66))
        ax.set_xlim(-0.5, layout.held_x + 5.5)
        ax.set_ylim(-1.0, layout.height + 1.0)
        ax.set_axis_off()
        self.lanes = []
        self.lane_names = [plain(n.split(".")[-1]) for n in layout.lane_names]
        for lane in range(len(layout.lane_names)):
            x, y0 = layout.booth_x[lane], layout.lane_y0[lane]
            for k in range(layout.slots[lane]):
                ax.add_patch(Rectangle((x - 0.45, y0 + k - 0.45), 0.9, 0.9, fill=False,
                                       edgecolor="#999999", linewidth=1.0))
            self.lanes.append(ax.text(
                x + 0.5, y0 + layout.slots[lane] - 0.45, "", ha="right", va="bottom",
                fontsize=pt(1), color="#444444", animated=True))
        for s, name in enumerate(layout.stage_names):
            label = f"{name} (referred only)" if layout.stage_referred[s] else name
            ax.text((s + 1) * STAGE_WIDTH - 1.0, 1.0, plain(label), ha="right", va="bottom",
                    fontsize=pt(1.15), weight="bold", transform=ax.get_xaxis_transform())
        ax.text(layout.held_x, 1.0, "held", ha="left", va="bottom", fontsize=pt(1.15),
                weight="bold", color=COLOURS[DETECTED], transform=ax.get_xaxis_transform())
        self.fig.suptitle(plain(title), x=0.01, y=0.985, ha="left", va="top", fontsize=pt(1.4),
                          weight="bold")
        dot = max(20.0, (pt(0.75)) ** 2)
        self.dots = ax.scatter([], [], s=dot, animated=True)
        self.stars = ax.scatter([], [], s=3 * dot, marker="*", color=COLOURS[DETECTED],
                                animated=True)
        key = [Line2D([], [], ls="none", marker="o", color=COLOURS[WAITING]),
               Line2D([], [], ls="none", marker="o", color=COLOURS[REFERRED_WAITING]),
               Line2D([], [], ls="none", marker="*", ms=pt(0.9), color=COLOURS[DETECTED])]
        self.fig.legend(key, ["traveller", "referred traveller", "threat caught"],
                        loc="upper right", bbox_to_anchor=(0.995, 0.985), fontsize=pt(1),
                        frameon=False, handletextpad=0.2, borderaxespad=0.0)
        # Clock and counters: static labels in the background, only the numbers change.
        self.clock = self.fig.text(0.01, 0.80, "", fontsize=pt(1.4), va="bottom",
                                   family="monospace", animated=True)
        self.fig.text(0.01, 0.78, "clock (hh:mm:ss)", fontsize=pt(1), va="top",
                      color="#555555")
        self.counts = []
        for k, (label, colour) in enumerate(COUNTERS):
            x = 0.30 + 0.135 * k
            self.fig.text(x, 0.78, label, fontsize=pt(1), va="top", color=colour)
            self.counts.append(self.fig.text(x, 0.80, "", fontsize=pt(1.4), weight="bold",
                                             va="bottom", color=colour, animated=True))
        self._background = None
        self._size: tuple[int, int] = (0, 0)

    def draw(self, frame: Frame) -> None:
        """Show ``frame`` on the figure's canvas."""
        size = self.canvas.get_width_height()
        if self._background is None or size != self._size:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self._size = size
        self.canvas.restore_region(self._background)
        star = frame.kind == DETECTED
        pts = np.column_stack([frame.x, frame.y])
        self.dots.set_offsets(pts[~star] if (~star).any() else np.empty((0, 2)))
        self.dots.set_facecolors([COLOURS[int(k)] for k in frame.kind[~star]] or "none")
        self.stars.set_offsets(pts[star] if star.any() else np.empty((0, 2)))
        for lane, text in enumerate(self.lanes):
            n = frame.lane_waiting[lane] if frame.lane_waiting else 0
            text.set_text(f"{self.lane_names[lane]}: {n} waiting")
        self.clock.set_text(clock_seconds(frame.t))
        values = (frame.passed, frame.referred, frame.detected, frame.threats_missed)
        for text, n in zip(self.counts, values, strict=True):
            text.set_text(str(n))
        for artist in (self.dots, self.stars, *self.lanes):
            self.ax.draw_artist(artist)
        for artist in (self.clock, *self.counts):
            self.fig.draw_artist(artist)

    def rgba(self) -> memoryview:
        """The canvas pixels (RGBA) as last drawn."""
        return self.canvas.buffer_rgba()


def _writers():
    """matplotlib movie writers that take the blitted canvas instead of redrawing it."""
    from matplotlib.animation import FFMpegWriter, PillowWriter
    from PIL import Image

    class CanvasGifWriter(PillowWriter):
        """PillowWriter fed from the canvas; frames quantised to a small palette."""

        def grab_frame(self, **savefig_kwargs):
            w, h = self.fig.canvas.get_width_height()
            im = Image.frombuffer("RGBA", (w, h), self.fig.canvas.buffer_rgba(), "raw",
                                  "RGBA", 0, 1).convert("RGB")
            self._frames.append(im.quantize(colors=64, method=Image.Quantize.FASTOCTREE,
                                            dither=Image.Dither.NONE))

    class CanvasFFMpegWriter(FFMpegWriter):
        """FFMpegWriter fed from the canvas."""

        def grab_frame(self, **savefig_kwargs):
            self._proc.stdin.write(bytes(self.fig.canvas.buffer_rgba()))

    return CanvasGifWriter, CanvasFFMpegWriter


def check_output(output: Path) -> None:
    """Raise ``ScenarioError`` unless ``output`` can be written: .gif, or .mp4 with ffmpeg."""
    from matplotlib.animation import writers

    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ScenarioError("the output must end in .gif or .mp4", str(output))
    if suffix == ".mp4" and not writers.is_available("ffmpeg"):
        raise ScenarioError("writing .mp4 needs ffmpeg, which is not installed; "
                            "install it or write a .gif", str(output))
    if not output.parent.exists():
        raise ScenarioError("the output folder does not exist", str(output))


def write_animation(frames: list[Frame], layout: Layout, output: Path, fps: int = 12,
                    title: str = "", dpi: int = DPI, size: tuple[int, int] = SIZE) -> int:
    """Write ``frames`` to ``output``: a GIF (Pillow) or, if ``ffmpeg`` exists, an MP4.

    ``size``: pixels (width, height). Returns the number of frames written (for a GIF,
    counted in the file; the clock to the second makes frames a second or more apart
    all differ, so none is merged). Raises ``ScenarioError`` for another extension or an
    MP4 without ffmpeg.
    """
    check_output(output)
    if not frames:
        raise ScenarioError("the animation window holds no frames", str(output))
    gif_writer, mp4_writer = _writers()
    output = Path(output)
    gif = output.suffix.lower() == ".gif"
    writer = gif_writer(fps=fps) if gif else mp4_writer(fps=fps, codec="h264")
    painter = Painter(layout, title, dpi, size)
    with writer.saving(painter.fig, str(output), dpi):
        for frame in frames:
            painter.draw(frame)
            writer.grab_frame()
    if gif:
        from .plots.checks import gif_frames

        return gif_frames(output)
    return len(frames)


def gif_bytes(frames: list[Frame], layout: Layout, fps: int = 12, title: str = "",
              dpi: int = DPI, size: tuple[int, int] = SIZE) -> bytes:
    """The animation as GIF bytes (for showing in a web page), ``size`` in pixels."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crossing.gif"
        write_animation(frames, layout, path, fps, title, dpi, size)
        return path.read_bytes()


def animate_scenario(scenario: Scenario, output: Path, window: tuple[float, float] | None = None,
                     fps: int = 12, step: float = 1 / 3, engine: str = "auto",
                     replication: int = 0, seed: int | None = None,
                     size: tuple[int, int] = SIZE) -> tuple[Path, int]:
    """Simulate one replication of ``scenario`` and animate ``window`` (minutes).

    ``step``: simulated minutes per frame (default 20 s). ``window`` defaults to the
    busiest hour. ``size``: pixels (width, height). Returns the file written and the
    number of frames it holds.
    """
    from ..run.engines import get_engine
    from ..run.plan import make_plan
    from ..run.sampling import sample
    from ..run.simulate import choose_engine

    t0, t1 = window if window is not None else busiest_hour(scenario)
    name, _ = choose_engine(scenario, engine)
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed if seed is None else seed, replication)
    trace = get_engine(name)(plan, inputs)
    frames = make_frames(plan, inputs, trace, frame_times(t0, t1, step))
    n = write_animation(frames, make_layout(plan), output, fps, scenario.name, size=size)
    return Path(output), n
