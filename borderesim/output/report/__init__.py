"""Briefing reports: a scenario's KPIs against named standards, with figures.

``write_report(build(scenario), "report.html")`` writes one self-contained HTML file
(``.pdf``: the same content as PDF pages). :func:`build` runs the simulation and the
analyses once; :mod:`sections` turns them into content, :mod:`render` into HTML and
:mod:`pdf` into PDF. The KPI table's numbers are those of ``borderesim run --json``
for the same seed, replications and engine; with ``build(..., options=FILE)`` a
"Workforce and cost" section (:mod:`workforce`) shows those of ``borderesim plan --json``.
"""

from __future__ import annotations

from pathlib import Path

from .build import ReportData, build
from .pdf import write_pdf
from .render import render_html
from .sections import SECTION_IDS, build_sections
from .standards import KINDS, NO_KIND_NOTE, Standard, Verdict, standards_for

FORMATS = ("html", "pdf")

__all__ = ["FORMATS", "KINDS", "NO_KIND_NOTE", "SECTION_IDS", "ReportData", "Standard",
           "Verdict", "build", "standards_for", "write_report"]


def write_report(data: ReportData, path: str | Path, fmt: str = "html") -> Path:
    """Write the report of ``data`` to ``path`` as ``html`` or ``pdf``; returns the path."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    sections = build_sections(data)
    path = Path(path)
    if fmt == "pdf":
        return write_pdf(data, sections, path)
    path.write_text(render_html(data, sections), encoding="utf-8")
    return path
