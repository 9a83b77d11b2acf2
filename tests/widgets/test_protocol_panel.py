"""Notebook 11's panel and the comparison's rows as the charts read them."""

from __future__ import annotations

import pytest
from widget_helpers import check_controls, comparison, rows

from toolkit import widgets


def test_protocol_panel_family_cut_and_p():
    panel = widgets.ProtocolPanel(comparison(), family="opt", cut=0.0, p=1.0)
    check_controls(panel)
    assert panel.numbers()["n_cells"] == 6 and panel.numbers()["share_corrected_lower"] == 0.5
    cells = rows(panel, "cells")
    assert {r["k"] for r in cells} == {2, 3, 4}
    panel.controls["p"].value = 0.5
    assert rows(panel, "cells") != cells
    panel.controls["family"].value = "gpt3"
    assert "gpt3" in panel.charts()["cells"].to_dict()["title"]["text"]
    with pytest.raises(Exception, match="no cut"):
        widgets.ProtocolPanel(comparison(), cut=3e9)
