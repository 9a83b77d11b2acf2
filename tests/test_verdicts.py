"""The verdict rules of METHOD.md 4a on hand-built study tables with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit.evaluation import COLUMNS
from toolkit.findings.verdicts import (
    OUTCOMES,
    findings_table,
    format_verdicts,
    verdicts,
)
from toolkit.study import StudyConfig, StudyResult

BASE = dict(loss_unit="nats/token", p=1.0, m=math.nan, cut_tokens=0.0, train_sizes=[1, 2, 3],
            largest_train_params=3e8, target_params=1e9, signed_error=0.0, cost_flops=1.0, cost_fraction=0.1,
            n_points=10, n_test=5, E=1.0, A=300.0, B=400.0, alpha=0.3, beta=0.3, fixed="", borrowed_from="", identification="identified")


def _result(rows: list[dict], sources: dict[str, str]) -> StudyResult:
    table = pd.DataFrame([{**BASE, "source": sources[r["family"]], **r} for r in rows], columns=list(COLUMNS))
    fams = pd.DataFrame({"family": list(sources), "source": list(sources.values()), "arch": "dec",
                         "loss_unit": "nats/token", "min_loss": 2.0, "n_ref": 1e8, "d_ref": 1e10})
    return StudyResult(table, fams, StudyConfig())


def _cut_rows(family: str, helps: bool) -> list[dict]:
    with_cut = 0.02 if helps else 0.09
    return [dict(family=family, experiment="grid", k=3, are=with_cut, status="ok", cut_tokens=10e9, n_points=5),
            dict(family=family, experiment="grid", k=3, are=0.05, status="ok", cut_tokens=0.0, n_points=10)]


def test_near_copies_do_not_outvote_independent_sources():
    # five variants of one source where the cut hurts, three independent sources where it helps
    copies = {f"copy{i}": "one-lab" for i in range(5)}
    independent = {f"ind{i}": f"lab{i}" for i in range(3)}
    rows = [r for f in copies for r in _cut_rows(f, helps=False)]
    rows += [r for f in independent for r in _cut_rows(f, helps=True)]
    v3 = verdicts(_result(rows, {**copies, **independent}))[2]
    assert v3.number == 3 and v3.n_families == 8 and v3.n_sources == 4
    assert v3.numbers["sources_cut_better"] == 3        # counted per family it would be 3 of 8
    assert v3.outcome == "supported"


def test_two_size_fits_never_enter_a_verdict():
    sources = {f"f{i}": f"s{i}" for i in range(4)}
    rows = []
    for f in sources:
        rows += _cut_rows(f, helps=True)
        # two-size fits where the cut looks disastrous: they must not move the verdict
        rows.append(dict(family=f, experiment="grid", k=2, are=0.9, status="not_identifiable", cut_tokens=10e9,
                         n_points=5, train_sizes=[1, 2]))
        rows.append(dict(family=f, experiment="grid", k=2, are=0.01, status="not_identifiable", cut_tokens=0.0,
                         n_points=10, train_sizes=[1, 2]))
    v3 = verdicts(_result(rows, sources))[2]
    assert v3.numbers["sources_cut_better"] == 4 and v3.outcome == "supported"
    assert v3.value == -0.03 or np.isclose(v3.value, -0.03)
    assert "8 not-identifiable two-size cells" in v3.excluded


def test_at_bound_share_and_number_without_them():
    sources = {f"f{i}": f"s{i}" for i in range(4)}
    rows = []
    for i, f in enumerate(sources):
        rows.append(dict(family=f, experiment="scale_down", k=3, p=0.3, are=0.05, status="ok"))
        rows.append(dict(family=f, experiment="scale_down", k=4, p=0.3, are=0.30 if i < 2 else 0.05,
                         status="at_bound" if i < 2 else "ok"))
    v8 = verdicts(_result(rows, sources))[7]
    assert np.isclose(v8.share_at_bound, 2 / 8)
    assert np.isclose(v8.value_without_bound, 0.05)
    assert v8.value > v8.value_without_bound


def test_other_units_are_kept_out():
    sources = {f"f{i}": f"s{i}" for i in range(4)}
    rows = [r for f in sources for r in _cut_rows(f, helps=True)]
    result = _result(rows, sources)
    table = result.table.copy()
    table.loc[table["family"] == "f0", "loss_unit"] = "nats/word"
    v3 = verdicts(StudyResult(table, result.families, result.config))[2]
    assert v3.n_families == 3 and "f0" in v3.excluded


def test_every_verdict_has_an_outcome_even_without_data():
    result = _result(_cut_rows("a", helps=True), {"a": "s"})
    items = verdicts(result)
    assert [v.number for v in items] == list(range(1, 9))
    assert all(v.outcome in OUTCOMES for v in items)
    assert items[0].outcome == "not testable here"
    assert format_verdicts(items).count("\n") == 7
    assert findings_table(items).count("\n") == 9


def test_bootstrap_draws_say_which_sources_are_clearly_better():
    # four sources where the cut helps; the draws make the change clear in two (tight around
    # -3 points), unclear in one (straddling zero) and leave one with too few finite draws
    B = 40
    rng = np.random.default_rng(0)
    sources = {f"f{i}": f"s{i}" for i in range(4)}
    rows, draws = [], []
    for i, f in enumerate(sources):
        rows += _cut_rows(f, helps=True)
        base = 0.05 + 0.002 * rng.standard_normal(B)
        spread = (0.002, 0.002, 0.05, 0.002)[i]
        cut = base - 0.03 + spread * rng.standard_normal(B)
        if i == 3:
            cut[: B // 2 + 1] = np.nan                     # most draws lost a size
        draws += [cut, base]
    plain = _result(rows, sources)
    boot = StudyResult(plain.table, plain.families, StudyConfig(bootstrap=B),
                       resampled_are=pd.DataFrame(np.array(draws)))
    v3 = verdicts(boot)[2]
    assert v3.numbers["sources_cut_better"] == 4
    assert v3.numbers["sources_with_intervals"] == 3
    assert v3.numbers["sources_cut_clearly_better"] == 2 and v3.numbers["sources_cut_clearly_worse"] == 0
    assert "clearly lower" in v3.statement and "in 2 of 3 sources" in v3.statement
    # without draws the verdict says how to get them, and counts nothing as clear
    v3_plain = verdicts(plain)[2]
    assert "sources_with_intervals" not in v3_plain.numbers and "--bootstrap" in v3_plain.statement
