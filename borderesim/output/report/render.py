"""One self-contained HTML page from the report's sections.

Plain ``string.Template`` and the standard library: CSS inline, figures embedded as
base64 PNG, no scripts, no fonts or links to load, so the file opens offline.
Text is escaped; only the section builders' tables are inserted as HTML.
"""

from __future__ import annotations

import html
import re
from string import Template

from .build import ReportData
from .figures import png_base64
from .sections import Section

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;
 color:#1d2329;background:#f6f7f9;line-height:1.45}
header{background:#17324d;color:#fff;padding:18px 32px}
header h1{margin:0 0 4px;font-size:1.5em}
header p{margin:0;opacity:.85;font-size:.9em}
nav{padding:8px 32px;background:#e7ebf0;font-size:.85em}
nav a{margin-right:14px;color:#17324d;text-decoration:none}
main{max-width:1040px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;margin:16px 0;
 padding:6px 20px 14px}
h2{font-size:1.2em;color:#17324d;border-bottom:2px solid #e7ebf0;padding-bottom:4px}
h3{font-size:1em;margin:12px 0 4px;color:#34495e}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:8px 0}
th,td{border-bottom:1px solid #e3e7ec;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.ci{color:#5b6670;white-space:nowrap;font-size:.92em}
td.limit{white-space:nowrap}
td.mark{font-weight:600;white-space:nowrap}
td.met{color:#18794e;background:#e9f7ef}
td.missed{color:#b42318;background:#fdecea}
td.na{color:#6b7580}
small{color:#5b6670}
code{font-size:.92em}
figure{margin:10px 0}
figure img{max-width:100%;border:1px solid #eef0f3}
figcaption{font-size:.85em;color:#3d4752;margin-top:4px}
pre{background:#f4f6f8;padding:10px;overflow:auto;font-size:.8em;max-height:480px}
details summary{cursor:pointer;color:#17324d;font-size:.9em;margin:6px 0}
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="borderesim $version">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header>
<h1>$title</h1>
<p>$subtitle</p>
</header>
<nav>$nav</nav>
<main>
$body
</main>
</body>
</html>
""")


def _code(text: str) -> str:
    """Escape ``text`` and turn `backticked` words into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def section_html(section: Section) -> str:
    """One ``<section id=...>`` with its heading, text, tables, figure and caption."""
    parts = [f'<section id="{section.id}">', f"<h2>{html.escape(section.title)}</h2>"]
    for title, lines in section.subsections:
        parts.append(f"<h3>{html.escape(title)}</h3>")
        parts += [f"<p>{_code(line)}</p>" for line in lines]
    parts += [f"<p>{_code(p)}</p>" for p in section.paragraphs]
    for i, (_, table_html) in enumerate(section.tables):
        if i < len(section.table_intros):
            heading, lines = section.table_intros[i]
            if heading:
                parts.append(f"<h3>{html.escape(heading)}</h3>")
            parts += [f"<p>{_code(line)}</p>" for line in lines]
        parts.append(table_html)
    if section.figure is not None:
        img = png_base64(section.figure)
        alt = html.escape(section.title)
        parts.append(f'<figure><img alt="{alt}" src="data:image/png;base64,{img}">'
                     f"<figcaption>{_code(section.caption)}</figcaption></figure>")
    if section.pre is not None:
        parts.append(f"<pre>{html.escape(section.pre)}</pre>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(data: ReportData, sections: list[Section]) -> str:
    """The whole report as one HTML document (a string)."""
    r = data.result
    subtitle = (f"borderesim {r.version} briefing report — engine {r.engine}, seed {r.seed}, "
                f"{r.replications} replications, 95 % t-intervals")
    nav = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    return PAGE.substitute(
        version=html.escape(r.version), title=html.escape(data.scenario.name),
        subtitle=html.escape(subtitle), css=CSS, nav=nav,
        body="\n".join(section_html(s) for s in sections),
    )
