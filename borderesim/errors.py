"""The one exception users see for bad input, and how it is worded."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LIMITS = {"source": 200, "path": 200, "problem": 600}
"""Longest part of a message shown, in characters; longer parts are cut in the middle."""


def _one_line(text: str, limit: int) -> str:
    """``text`` with control characters escaped (one line, no terminal escapes), cut to
    ``limit`` characters."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    if len(text) > limit:
        half = (limit - 1) // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text


def shorten(value: object, limit: int = 60, quote: bool = True) -> str:
    """A short rendering of ``value`` for a message, never longer than about ``limit``.

    Scalars are shown (``repr`` when ``quote``), cut in the middle; a list or mapping is
    described by its size, so a huge input is never rendered.
    """
    if isinstance(value, dict):
        return f"a mapping of {len(value)} field{'s' if len(value) != 1 else ''}"
    if isinstance(value, list | tuple | set):
        return f"a list of {len(value)} value{'s' if len(value) != 1 else ''}"
    if isinstance(value, str):
        text = repr(value) if quote else value
    elif isinstance(value, bool | int | float | None):
        text = repr(value)
        if isinstance(value, int) and len(text) > limit:
            return f"a {len(text)}-digit number"
    else:
        return f"a {type(value).__name__}"
    return _one_line(text, limit)


class ScenarioError(ValueError):
    """Bad scenario (or sweep, strategy, target) input.

    ``str(err)`` is the single line the CLI prints: ``FILE: FIELD.PATH: PROBLEM``.
    Control characters are escaped and over-long parts cut, so the line is always one
    line of plain text whatever the input held.
    """

    def __init__(self, problem: str, source: str | None = None, path: str | None = None):
        self.problem = problem
        self.source = source
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [_one_line(str(text), _LIMITS[what])
                 for what, text in (("source", self.source), ("path", self.path),
                                    ("problem", self.problem)) if text]
        return ": ".join(parts)


class InputFileError(ScenarioError):
    """A file could not be read as YAML (missing, not regular, too large, not YAML ...).

    ``summary`` says what is wrong without quoting the file's content ("is not valid
    YAML (line 3, column 5)"), for files the user reached through ``extends:`` rather
    than sent.
    """

    def __init__(self, problem: str, source: str | None, summary: str):
        self.summary = summary
        super().__init__(problem, source)
