"""The verdict rules of METHOD.md 4a on hand-built study tables with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

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
    assert v3.numbers["sources_holding"] == 3        # counted per family it would be 3 of 8
    assert v3.outcome == "supported"


def test_two_size_fits_never_enter_a_verdict():
    sources = {f"f{i}": f"s{i}" for i in range(4)}
    rows = []
    for f in sources:
        rows += _cut_rows(f, helps=True)
        # two-size fits where the cut looks disastrous: they must not move the verdict
        rows.append(dict(family=f, experiment="grid", k=2, are=0.9, status="not_identifiable", cut_tokens=10e9,
                         n_points=5, train_sizes=[1, 2], identification="two sizes"))
        rows.append(dict(family=f, experiment="grid", k=2, are=0.01, status="not_identifiable", cut_tokens=0.0,
                         n_points=10, train_sizes=[1, 2], identification="two sizes"))
    v3 = verdicts(_result(rows, sources))[2]
    assert v3.numbers["sources_holding"] == 4 and v3.outcome == "supported"
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


def test_no_verdict_rests_on_the_bootstrap_draws():
    """The draws measure a fit's spread under resampled runs, not a prediction's error: the
    verdicts are the same with and without them, and no statement claims a 'clear' difference."""
    B = 40
    rng = np.random.default_rng(0)
    sources = {f"f{i}": f"s{i}" for i in range(4)}
    rows, draws = [], []
    for f in sources:
        rows += _cut_rows(f, helps=True)
        base = 0.05 + 0.002 * rng.standard_normal(B)
        draws += [base - 0.03 + 0.002 * rng.standard_normal(B), base]
    plain = _result(rows, sources)
    boot = StudyResult(plain.table, plain.families, StudyConfig(bootstrap=B),
                       resampled_are=pd.DataFrame(np.array(draws)))
    for with_draws, without in zip(verdicts(boot), verdicts(plain)):
        assert with_draws.to_dict() == without.to_dict()
        assert "clearly" not in with_draws.statement


# ----------------------------------------------------------------------------- one rule set, derived independently
def _synthetic_study(seed: int) -> StudyResult:
    """Six eligible families in five sources (two near-copies of one), plus a family of an
    incomparable scale, one whose every fit is collinear, and not-identifiable cells: each of
    them with values that would move a verdict if it counted."""
    rng = np.random.default_rng(seed)
    fams = {"a": "s0", "b": "s1", "c": "s2", "d": "s3", "e1": "s4", "e2": "s4",
            "t5": "eleutherai2024pilet5", "line": "s5"}
    rows: list[dict] = []

    def add(family: str, **cell) -> None:
        bad = family in ("t5", "line")
        status = "ok" if bad else str(rng.choice(["ok", "at_bound"], p=[0.6, 0.4]))
        are = 0.9 if bad else float(rng.uniform(0.01, 0.2))
        rows.append({"family": family, "status": status, "are": are,
                     "identification": "collinear" if family == "line" else "identified", **cell})

    for f in fams:
        params = dict(E=float(rng.uniform(1, 2)), A=float(rng.uniform(1e2, 1e4)), B=float(rng.uniform(1e2, 1e4)),
                      alpha=float(rng.uniform(0.1, 0.6)), beta=float(rng.uniform(0.1, 0.6)))
        for k in (3, 4, 5):
            for p in (0.5, 1.0):
                for cut in (0.0, 10e9):
                    grid = dict(k=k, p=p, cut_tokens=cut, n_points=(5 if cut else 10) * k,
                                largest_train_params=1e7 * k, cost_flops=float(k * p), **params)
                    add(f, experiment="grid", **grid)
                    if p == 1.0:
                        for b in ("best", "compute"):
                            add(f, experiment=f"baseline_{b}", **grid)
        add(f, experiment="windows", k=2, p=1.0, cut_tokens=10e9, largest_train_params=1e8, cost_flops=4.2)
        for m in (0.0, 0.5, 0.7):
            add(f, experiment="trajectory", k=4, p=1.0, m=m, cut_tokens=10e9)
        for k in (1, 3):
            add(f, experiment="partial", k=k, p=0.3, cut_tokens=10e9)
        for n in (1e8, 3e8):
            add(f, experiment="borrow", k=1, p=1.0, cut_tokens=10e9, largest_train_params=n)
        for p in (0.3, 0.4, 1.0):
            add(f, experiment="scale_down", k=3, p=p, cut_tokens=10e9)
    # fits that must only be counted: a valley over two sizes and one over two token counts
    rows.append(dict(family="a", experiment="scale_down", k=2, p=0.3, cut_tokens=10e9, status="not_identifiable",
                     are=0.001, identification="two sizes"))
    rows.append(dict(family="b", experiment="scale_down", k=3, p=0.4, cut_tokens=10e9, status="not_identifiable",
                     are=0.001, identification="two token counts"))
    table = pd.DataFrame([{**BASE, "source": fams[r["family"]], **r} for r in rows], columns=list(COLUMNS))
    families = pd.DataFrame({"family": list(fams), "source": list(fams.values()), "arch": "dec",
                             "loss_unit": "nats/token", "min_loss": 2.0, "n_ref": 1e8, "d_ref": 1e10})
    return StudyResult(table, families, StudyConfig())


def _two_thirds(holds: dict[str, bool]) -> str:
    if len(holds) < 3:
        return "not testable here"
    share = sum(holds.values()) / len(holds)
    return "supported" if share >= 2 / 3 else "not supported" if share <= 1 / 3 else "mixed"


def _per_source(values: dict[str, float], source_of: dict[str, str]) -> dict[str, float]:
    """Per-family values -> median per source, written out as a loop."""
    out: dict[str, list[float]] = {}
    for family, v in values.items():
        out.setdefault(source_of[family], []).append(v)
    return {s: float(np.median(v)) for s, v in out.items()}


def _family_median(rows: pd.DataFrame, column: str = "are") -> dict[str, float]:
    return {f: float(np.median(g[column])) for f, g in rows.groupby("family")}


def _expected(table: pd.DataFrame, source_of: dict[str, str]) -> dict[int, tuple[int, int, str]]:
    """(sources holding, sources compared, outcome) of guidelines 1-6 and 8, from the table."""
    usable = table[(table["identification"] == "identified") & table["status"].isin(["ok", "at_bound"])
                   & (table["source"] != "eleutherai2024pilet5")]

    def within(rows: pd.DataFrame, threshold: float) -> dict[str, bool]:
        return {s: v <= threshold for s, v in _per_source(_family_median(rows), source_of).items()}

    def difference(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, bool]:
        fa, fb = _family_median(a), _family_median(b)
        both = {f: fa[f] - fb[f] for f in fa if f in fb}
        return {s: v < 0 for s, v in _per_source(both, source_of).items()}

    def questions(cells: pd.DataFrame) -> dict[int, dict[str, bool]]:
        x = {e: cells[cells["experiment"] == e] for e in set(table["experiment"])}
        pre = {e: x[e][(x[e]["k"] == 5) & (x[e]["p"] == 1.0) & (x[e]["cut_tokens"] > 0)]
               for e in ("grid", "baseline_best", "baseline_compute")}
        useful = within(pre["grid"], 0.20)
        beats = [difference(pre["grid"], pre[b]) for b in ("baseline_best", "baseline_compute")]
        q = {1: {s: useful[s] and all(b.get(s, False) for b in beats) for s in useful}}
        traj = x["trajectory"]
        q[2] = difference(traj[traj["m"] == 0.0], traj[traj["m"] >= 0.5])
        g = x["grid"]
        cut, none = g[g["cut_tokens"] > 0], g[g["cut_tokens"] == 0]
        pairs = cut.merge(none, on=["family", "k", "p"], suffixes=("", "_n"))
        q[3] = difference(pairs, pairs.assign(are=pairs["are_n"]))
        # matched compute: the k = 2 window on the larger size against grid designs of cost 4.2 / 1.5 .. 4.2 * 1.5
        win = x["windows"]
        matched = g[(g["cut_tokens"] > 0) & (g["cost_flops"] >= 4.2 / 1.5) & (g["cost_flops"] <= 4.2 * 1.5)]
        more, fewer = {}, {}
        for f in set(matched["family"]) & set(win["family"]):
            more[f] = float(np.median(matched.loc[matched["family"] == f, "are"]))
            fewer[f] = float(win.loc[win["family"] == f, "are"].iloc[0])
        q[4] = {s: v < 0 for s, v in _per_source({f: more[f] - fewer[f] for f in more}, source_of).items()}
        part = x["partial"]
        q[5] = within(part[part["k"] == 1], 0.10)
        bor = x["borrow"]
        q[6] = within(bor[bor["largest_train_params"] == 3e8], 0.10)
        sd = x["scale_down"]
        q[8] = within(sd[sd["p"].isin([0.3, 0.4])], 0.10)
        return q

    every, unbounded = questions(usable), questions(usable[usable["status"] != "at_bound"])
    out = {}
    for n, holds in every.items():
        full, free = _two_thirds(holds), _two_thirds(unbounded[n])
        out[n] = (sum(holds.values()), len(holds), full if free in (full, "not testable here") else "mixed")
    return out


def test_every_outcome_follows_from_the_table_by_the_one_rule_set():
    outcomes = set()
    for seed in range(4):
        result = _synthetic_study(seed)
        source_of = dict(zip(result.families["family"], result.families["source"]))
        expected = _expected(result.table, source_of)
        got = {v.number: v for v in verdicts(result)}
        for n, (holding, compared, outcome) in expected.items():
            v = got[n]
            assert (v.numbers["sources_holding"], v.numbers["sources_compared"], v.outcome) == \
                (holding, compared, outcome), (seed, n)
            # the statement prints the counts the outcome is decided from
            assert f"in {holding} of {compared} sources" in v.statement, (seed, n)
            outcomes.add(outcome)
        for v in got.values():
            if v.number != 7:
                assert "1 collinear cells" in v.excluded or "collinear cells" in v.excluded, (seed, v.number)
                assert "eleutherai2024pilet5" not in v.statement and "t5" in v.excluded
        assert "1 not-identifiable two-size cells" in got[8].excluded
        assert "1 not-identifiable two-token-count cells" in got[8].excluded
        v7 = got[7]
        assert "line" in v7.excluded and "t5" in v7.excluded and v7.n_families == 6
        sig = [v7.numbers[f"p_corr_{t}"] < 0.05 for t in ("n_term_alpha", "d_term_beta")]
        full = "supported" if all(sig) else "not supported" if not any(sig) else "mixed"
        if "without_bound_p_corr_n_term_alpha" in v7.numbers:
            sig = [v7.numbers[f"without_bound_p_corr_{t}"] < 0.05 for t in ("n_term_alpha", "d_term_beta")]
            free = "supported" if all(sig) else "not supported" if not any(sig) else "mixed"
            full = full if free == full else "mixed"
        assert v7.outcome == full
    assert len(outcomes) >= 2                          # the synthetic studies exercise more than one outcome


def test_cached_verdicts_are_the_computed_ones_and_follow_the_table(tmp_path, monkeypatch):
    from toolkit.findings import verdicts as module
    from toolkit.study import cache

    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    result = _synthetic_study(0)
    computed = verdicts(result, use_cache=False)
    assert [v.to_dict() for v in verdicts(result)] == [v.to_dict() for v in computed]
    monkeypatch.setattr(module, "_verdicts", lambda study: pytest.fail("computed again"))
    cached = verdicts(result)
    for got, want in zip(cached, computed, strict=True):
        assert got.to_dict() == want.to_dict()
        assert isinstance(got.spread, tuple) and (math.isnan(got.value) == math.isnan(want.value))
    other = _synthetic_study(1)
    with pytest.raises(pytest.fail.Exception, match="computed again"):
        verdicts(other)                     # another table is another key
