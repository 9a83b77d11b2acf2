"""Readable headers of the tables the notebooks show: renamed for display, the frames untouched
(issue 23 item 7: notebooks 06, 07 and 11 showed ``train_params``, ``are_pct``, ...)."""

from __future__ import annotations

import re

import pandas as pd
from IPython.core.formatters import DisplayFormatter
from table_headers import raw_headers

from toolkit.findings import summaries
from toolkit.findings.headers import HEADERS, readable_headers
from toolkit.guidelines.borrow import SAME_SCALE

#: A raw name: lower-case words joined by underscores (``are_pct``).
SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def headers(table: pd.DataFrame) -> list[str]:
    """Every header a reader sees: column labels and the names of the index and column levels."""
    names = [*table.columns, *table.columns.names, *table.index.names]
    return [str(n) for n in names if n is not None]


def test_every_registered_header_reads_as_words():
    assert HEADERS and not [h for h in HEADERS.values() if "_" in h or SNAKE.match(h)]


def test_a_table_is_renamed_for_display_and_the_frame_keeps_its_names():
    per_family = pd.DataFrame({0.0: [0.1], 1e10: [0.05]}, index=pd.Index(["pythia"], name="family"))
    per_family.columns.name = "cut_tokens"
    shown = readable_headers(per_family)
    assert headers(shown) == ["0", "10B", "early-checkpoint cut (tokens)", "family"]
    assert list(per_family.columns) == [0.0, 1e10] and per_family.columns.name == "cut_tokens"
    assert shown.to_numpy().tolist() == per_family.to_numpy().tolist()


def test_a_summarys_tables_are_shown_with_readable_headers(monkeypatch):
    """Notebook 06's table: ``are_pct`` and ``train_params`` on screen before; the Summary keeps them."""
    designs = pd.DataFrame({"family": ["a", "b", "c"], "train_params": [1e9, 1e9, 1e8], "target_params": [7e9] * 3,
                            "extrapolation": [7.0, 7.0, 70.0], "are": [0.02, 0.08, 0.3], "group": [SAME_SCALE] * 3})
    here = {"train_params": 1e9, "study_spearman": 0.6, "study_n_designs": 3, "testable": True, "are": 0.02,
            "extrapolation": 7.0}
    closest = summaries.closest_borrowed(designs, here, "a")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    closest._ipython_display_()
    (table,) = [o for o in shown if isinstance(o, pd.DataFrame)]
    assert "ARE (%)" in table.columns and "train size (parameters)" in table.columns
    assert not [h for h in headers(table) if "_" in h]
    assert "are_pct" in closest.tables[0].columns   # what tests and checks read


def test_the_structure_tests_rows_read_as_words():
    """Notebook 07's table of the structure test with and without the laws at a bound: its rows
    were ``observed corr_a_alpha``, ``p pca3_centred``."""
    from types import SimpleNamespace

    stats = ("corr_a_alpha", "corr_b_beta", "pca3_raw", "corr_n_term_alpha", "corr_d_term_beta", "pca3_centred")
    test = SimpleNamespace(n_families=5, observed=pd.Series(0.5, index=stats), p_value=pd.Series(0.2, index=stats),
                           null_median=pd.Series(0.4, index=stats))
    used = pd.DataFrame({"family": ["f1", "f2", "f3"], "e": [1.5, 1.7, 1.6], "a": [5.0, 6.0, 7.5],
                         "b": [6.0, 5.5, 7.0], "alpha": [0.3, 0.4, 0.5], "beta": [0.2, 0.3, 0.1]})

    def analysis(all_units, exclude_at_bound):
        return used, pd.DataFrame({"family": [], "why": []}), test

    table = summaries.bound_sensitivity(analysis, False, False).tables[0]
    assert "observed corr(ln A, α)" in table.index and "p-value: variance of 3 PCs, centred (fraction)" in table.index
    assert not [r for r in table.index if "_" in r]


def test_html_headers_are_what_the_notebook_test_reads():
    """The reader of tests/test_notebooks.py's header check finds a raw header in a table's HTML."""
    bare = pd.DataFrame({"are_pct": [1.0]}, index=pd.Index(["a_b"], name="family"))
    html = DisplayFormatter().format(bare)[0]["text/html"]
    assert raw_headers([{"data": {"text/html": html}}]) == ["are_pct"]
    styled = DisplayFormatter().format(readable_headers(bare).style.format(precision=1))[0]["text/html"]
    assert raw_headers([{"data": {"text/html": styled}}]) == []
