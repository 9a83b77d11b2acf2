"""An executed notebook as one HTML page that needs no network: the report's notebook pages.

nbconvert's ``lab`` template loads MathJax, require.js and mermaid from a CDN; offline (a workshop
room, a CI machine) the page then shows raw LaTeX such as ``$\\hat L(N, D)$``. Here the LaTeX
of every Markdown cell becomes MathML before the export (browsers draw MathML natively) and the
template's CDN scripts are left out. The charts in the outputs are static SVG/PNG already.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from latex2mathml.converter import convert
from nbconvert import HTMLExporter

#: Display math first (``$$...$$``), then inline (``$...$``); a ``\\$`` is a dollar sign, not math.
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<![\\\s])\$(?!\d)", re.DOTALL)

#: The ``lab`` page without its CDN scripts (require.js, MathJax, mermaid).
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def math_to_mathml(markdown: str) -> str:
    """``markdown`` with every ``$...$`` and ``$$...$$`` span replaced by MathML.

    Raises
    ------
    ValueError
        When a span is not LaTeX that MathML can express (the message names the span).
    """

    def one(match: re.Match) -> str:
        display = match.group(1) is not None
        latex = match.group(1) if display else match.group(2)
        try:
            return convert(latex.strip(), display="block" if display else "inline")
        except Exception as exc:  # noqa: BLE001 - the converter raises bare exceptions of many kinds
            raise ValueError(f"cannot render the math {match.group(0)!r} as MathML: {exc}") from exc

    return _MATH.sub(one, markdown)


def notebook_html(notebook: str | Path) -> str:
    """The executed ``notebook`` as a self-contained HTML page (math as MathML, no CDN script)."""
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = math_to_mathml(cell.source)
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"offline.html.j2": _TEMPLATE})],
                            template_file="offline.html.j2")
    body, _ = exporter.from_notebook_node(nb)
    return body
