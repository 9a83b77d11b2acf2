"""A notebook page of the findings report, opened offline in chromium, draws its math."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.findings.notebook_html import notebook_html

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_report_page_draws_math_offline(page, shot) -> None:
    # The page fixture fails the test if the page requests anything beyond 127.0.0.1.
    page.set_content(notebook_html(NOTEBOOKS / "02_fit_a_law.ipynb"))
    maths = page.locator("math")
    assert maths.count() >= 10
    first = maths.first.bounding_box()
    assert first is not None and first["width"] > 5 and first["height"] > 5
    assert "$" not in page.locator("main").inner_text()
    shot("math")
