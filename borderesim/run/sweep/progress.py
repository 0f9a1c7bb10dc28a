"""Progress of a sweep: a redrawn bar with ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ...output.tables import printable


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """Counts finished tasks out of ``total`` (``done`` of them finished by earlier runs).

    On a terminal (``stream.isatty()``) one line is redrawn at most ten times a second;
    otherwise a plain line is printed at every further 10 % and at least every 30 s.
    The ETA uses the rate of this run only (seconds of wall time).
    """

    def __init__(self, total: int, done: int = 0, stream: TextIO | None = None,
                 tty: bool | None = None, label: str = "sweep"):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(self.stream.isatty()) if tty is None else tty
        self.total, self.start_done, self.done = total, done, done
        self.label = label
        self.t0 = self._last = time.monotonic()
        self._next_pct = 10 * (int(100 * done / total) // 10 + 1) if total else 100
        self.lines = 0
        self._first: tuple[float, int] | None = None

    def start(self) -> None:
        """Say what is to do before the first task finishes (workers may take a while)."""
        if self.tty:
            self._draw()
        else:
            self._line(f"{self.label}: {self.total - self.done} of {self.total} tasks to run"
                       f" ({self.done} done before)")

    def eta(self) -> float | None:
        """Seconds left at this run's rate, or None before the first task finishes.

        Once a second batch has finished, the rate is measured from the first one, so
        the time workers take to start does not inflate the estimate.
        """
        ran = self.done - self.start_done
        if ran <= 0:
            return None
        now = time.monotonic()
        if self._first is not None and self.done > self._first[1]:
            t1, d1 = self._first
            return (now - t1) / (self.done - d1) * (self.total - self.done)
        return (now - self.t0) / ran * (self.total - self.done)

    def text(self) -> str:
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = self.eta()
        elapsed = _clock(time.monotonic() - self.t0)
        tail = f"ETA {_clock(eta)}" if eta is not None else "ETA --:--"
        return f"{self.label}: {self.done}/{self.total} ({pct:.0f}%), {elapsed} elapsed, {tail}"

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self._first is None:
            self._first = (now, self.done)
        if self.tty:
            if now - self._last >= 0.1 or self.done >= self.total:
                self._draw()
                self._last = now
            return
        pct = 100 * self.done / self.total if self.total else 100
        if pct >= self._next_pct or now - self._last >= 30 or self.done >= self.total:
            self._line(self.text())
            self._last = now
            while self._next_pct <= pct:
                self._next_pct += 10

    def _draw(self) -> None:
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {self.text()}\x1b[K")
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self.lines += 1

    def message(self, text: str) -> None:
        """A line of its own (kept apart from the redrawn bar); control characters in
        ``text`` are shown as escapes."""
        if self.tty:
            self.stream.write("\r\x1b[K")
        self._line(printable(text))
        if self.tty and self.done < self.total:
            self._draw()

    def close(self) -> None:
        if self.tty:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
