"""The report's notebook pages render their math offline: LaTeX becomes MathML, no CDN script."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.findings.notebook_html import math_to_mathml, notebook_html

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_inline_and_display_math_become_mathml() -> None:
    out = math_to_mathml(r"the law $\hat L(N, D) = E + A/N^\alpha$ and $$k = 2$$ at $p = 100\%$")
    assert "$" not in out
    assert out.count("<math") == 3
    assert out.count('display="block"') == 1 and out.count('display="inline"') == 2
    assert out.startswith("the law <math") and "&#x003B1;" in out  # alpha


def test_a_dollar_that_is_not_math_stays() -> None:
    assert math_to_mathml(r"costs \$5 and \$6") == r"costs \$5 and \$6"


def test_math_that_cannot_be_rendered_names_the_span() -> None:
    with pytest.raises(ValueError, match=r"\\left\( x"):
        math_to_mathml(r"broken $\left( x$ here")


def test_every_notebook_page_has_mathml_and_no_cdn_script() -> None:
    with_math = 0
    for path in sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
        html = notebook_html(path)
        assert "cdnjs" not in html and "mathjax" not in html.lower(), path.name
        assert "require.js" not in html and "mermaid.esm" not in html, path.name
        assert r"$\hat" not in html and "$N$" not in html and "$k$" not in html, path.name
        with_math += "<math" in html
    assert with_math >= 10
