"""The gate report as one self-contained HTML page, rendered from a JSON report.

``--atom-gates-html=PATH`` writes it at the end of a run, ``atom-gates html REPORT.json -o
PATH`` from any report, a merged one too. The page holds its CSS, JavaScript and SVG inline and
loads nothing: it opens from a CI artifact or a file manager. Jinja2 (the ``html`` extra) renders
it; nothing of this package is imported by a run without the option.
"""

from __future__ import annotations

from pytest_atom_gates.html.page import HtmlUnavailable, render_page, write_page

__all__ = ["HtmlUnavailable", "render_page", "write_page"]
