"""The same report as a multi-page PDF, from the same sections (matplotlib's PdfPages).

Text and tables are set in monospace on A4 pages; each figure gets a page of its own
with its caption underneath. No other dependency than matplotlib.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread

from ..plots.text import plain
from ..tables import grid
from .build import ReportData
from .sections import Section

A4 = (8.27, 11.69)
WIDTH = 100
"""Characters per line of monospace text."""
LINES = 80
"""Lines of text per page."""


def section_lines(section: Section) -> list[str]:
    """The section's heading, text and tables as lines of at most ``WIDTH`` characters
    (wide table rows are cut with an ellipsis)."""
    lines = [section.title.upper(), ""]
    for title, paras in section.subsections:
        lines.append(title)
        for p in paras:
            lines += textwrap.wrap(p.replace("`", ""), WIDTH, initial_indent="  ",
                                   subsequent_indent="  ")
        lines.append("")
    for p in section.paragraphs:
        lines += textwrap.wrap(p.replace("`", ""), WIDTH) + [""]
    for i, (rows, _) in enumerate(section.tables):
        if i < len(section.table_intros):
            heading, paras = section.table_intros[i]
            lines += [heading] if heading else []
            for p in paras:
                lines += textwrap.wrap(p.replace("`", ""), WIDTH) + [""]
        lines += [row if len(row) <= WIDTH else row[:WIDTH - 1] + "…" for row in grid(rows)]
        lines.append("")
    if section.pre is not None:
        lines += [f"  {line}"[:WIDTH] for line in section.pre.splitlines()] + [""]
    return lines


def _text_page(pdf: PdfPages, lines: list[str], header: str) -> None:
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.97, plain(header), fontsize=7, color="0.4", va="top")
    fig.text(0.06, 0.95, plain("\n".join(lines)), family="monospace", fontsize=7.2, va="top",
             linespacing=1.25)
    pdf.savefig(fig)


def _figure_page(pdf: PdfPages, section: Section, header: str) -> None:
    buf = io.BytesIO()
    section.figure.savefig(buf, format="png", dpi=150)
    buf.seek(0)
    img = imread(buf)
    h, w = img.shape[:2]
    page = Figure(figsize=A4)
    page.text(0.06, 0.97, plain(header), fontsize=7, color="0.4", va="top")
    page.text(0.06, 0.945, plain(section.title), fontsize=12, weight="bold", va="top")
    width = 0.88
    height = width * (h / w) * A4[0] / A4[1]
    top = 0.92
    ax = page.add_axes((0.06, top - height, width, height))
    ax.imshow(img)
    ax.axis("off")
    caption = "\n".join(textwrap.wrap(section.caption.replace("`", ""), 110))
    page.text(0.06, top - height - 0.015, plain(caption), fontsize=8, va="top")
    pdf.savefig(page)


def write_pdf(data: ReportData, sections: list[Section], path: str | Path) -> Path:
    """Write the report as a PDF at ``path``: text pages, and a page per figure."""
    r = data.result
    header = (f"{data.scenario.name} — borderesim {r.version}, engine {r.engine}, seed {r.seed}, "
              f"{r.replications} replications")
    pending: list[str] = []

    def flush() -> None:
        while pending:
            _text_page(pdf, pending[:LINES], header)
            del pending[:LINES]

    with PdfPages(path, metadata={"Title": data.scenario.name,
                                  "Creator": f"borderesim {r.version}"}) as pdf:
        for section in sections:
            lines = section_lines(section)
            if pending and len(pending) % LINES + len(lines) > LINES and len(lines) <= LINES:
                pending += [""] * (-len(pending) % LINES)  # start the section on a new page
            pending += lines
            if section.figure is not None:
                flush()
                _figure_page(pdf, section, header)
        flush()
    return Path(path)
