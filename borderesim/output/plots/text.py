"""Text for matplotlib that is shown as written: names are text, never mathtext.

matplotlib reads a string holding two unescaped ``$`` as mathtext, so a scenario,
class, stage or strategy named ``$\\badmacro$`` would stop any figure it labels with
a parse error. Every string that may hold user input (titles, axis and tick labels,
legend entries, annotations, figure text) goes through :func:`plain` first.
"""

from __future__ import annotations


def plain(text: object) -> str:
    """``text`` as a string matplotlib draws literally.

    Each ``$`` becomes ``\\$``: a string whose every dollar is escaped is not mathtext, and
    matplotlib draws ``\\$`` as ``$``, so the figure shows exactly ``str(text)``
    (backslashes included). Apply it once, to the finished string.
    """
    return str(text).replace("$", r"\$")
