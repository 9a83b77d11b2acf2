"""The meta-analysis on synthetic families (known answers) and on a small slice of the collection."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit import study
from toolkit.evaluation import COLUMNS, FamilyArrays
from toolkit.evaluation.paper import (
    curve_fit_paper,
    paper_test_mask,
    paper_train_mask,
    target_run,
)
from toolkit.evaluation.resampling import BOOT_COLUMNS
from toolkit.findings.planner import plan
from toolkit.findings.verdicts import OUTCOMES, Verdict, verdicts
from toolkit.runs import Runs

TRUE = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
FAST = study.StudyConfig(p_grid=(0.3, 1.0))


def _law(n, d):
    return TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]


def _family(name: str, sizes: tuple[float, ...], noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e11, 12)
    rows = []
    for n in sizes:
        loss = _law(n, d) * (1 + noise * rng.standard_normal(len(d)))
        rows += [{"family": name, "model": f"{name}-{int(n)}", "num_params": n, "tokens": t, "loss": value,
                  "source": f"src-{name}"} for t, value in zip(d, loss)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def runs() -> Runs:
    return Runs.from_frame(pd.concat([
        _family("five", (20e6, 60e6, 200e6, 600e6, 2e9), 0.002, 0),
        _family("three", (50e6, 300e6, 1e9), 0.002, 1),
        _family("two", (100e6, 1e9), 0.002, 2),
        _family("one", (1e9,), 0.002, 3),
    ]))


@pytest.fixture(scope="module")
def result(runs, tmp_path_factory) -> study.StudyResult:
    return study.run_study(runs, config=FAST, n_jobs=1, progress=False,
                           cache_dir=tmp_path_factory.mktemp("study-cache"))


def test_table_has_exactly_the_columns_and_float_parameters(result):
    t = result.table
    assert list(t.columns) == [*COLUMNS, *BOOT_COLUMNS]
    assert t[list(BOOT_COLUMNS)].isna().all().all()     # no bootstrap asked
    assert set(t["experiment"]) == set(study.EXPERIMENTS)
    for name in ("E", "A", "B", "alpha", "beta"):
        assert t[name].dtype == float
    assert all(isinstance(s, list) and all(isinstance(x, int) for x in s) for s in t["train_sizes"])
    assert set(t["source"]) <= {"src-five", "src-three", "src-two", "src-one"}
    assert set(t["loss_unit"]) == {"nats/token"}


def test_eligibility_by_number_of_sizes(result):
    fams = result.table.groupby("experiment")["family"].unique().map(set)
    assert fams["grid"] == {"five", "three"}
    assert fams["borrow"] == {"five", "three", "two"}
    assert fams["partial"] == {"five", "three", "two", "one"}


def test_two_size_designs_are_not_identifiable_and_keep_their_prediction(result):
    t = result.table
    two = t[(t["experiment"] == "grid") & (t["k"] == 2) & (t["n_points"] > 0)]
    assert len(two) and (two["status"] == "not_identifiable").all()
    assert two["are"].notna().all()                 # the tie-break's prediction is shown ...
    items = verdicts(result)                        # ... and never counted
    assert all("not-identifiable" in v.excluded for v in items if v.number in (1, 3))


def test_grid_cells_cover_k_p_and_cut(result):
    g = result.table[(result.table["family"] == "five") & (result.table["experiment"] == "grid")]
    assert sorted(g["k"].unique()) == [2, 3, 4]
    assert set(g["p"]) == {0.3, 1.0} and set(g["cut_tokens"]) == {0.0, 10e9}
    assert len(g) == 3 * 2 * 2
    empty = g[g["n_points"] == 0]
    assert (empty["status"] == "no_data").all() and empty["are"].isna().all()
    ok = g[g["status"].isin(["ok", "at_bound"])]
    assert len(ok) and (ok["are"] < 0.05).all() and (ok["k"] >= 3).all()
    assert (g["cost_fraction"] == g["cost_flops"] / (6 * 2e9 * 1e11)).all()


def test_partial_cells_test_only_what_they_never_trained_on(result):
    p = result.table[result.table["experiment"] == "partial"]
    assert (p["p"] < 1).all() and (p["n_test"] > 0).all()


def test_trajectory_windows_start_later_and_use_fewer_points(result):
    t = result.table[(result.table["experiment"] == "trajectory") & (result.table["family"] == "five")]
    assert set(np.round(t["m"], 1)) == {round(0.1 * i, 1) for i in range(10)}
    per_k = t[t["k"] == 4].sort_values("m")
    assert per_k["n_points"].is_monotonic_decreasing


def test_cache_hit_returns_the_identical_table(runs, result, tmp_path):
    first = study.run_study(runs, config=FAST, n_jobs=1, progress=False, cache_dir=tmp_path)
    again = study.run_study(runs, config=FAST, n_jobs=1, progress=False, cache_dir=tmp_path)
    assert first.n_fitted > 0 and again.n_fitted == 0 and again.n_cached > 0
    pd.testing.assert_frame_equal(first.table, again.table)
    pd.testing.assert_frame_equal(first.table, result.table)
    other = study.run_study(runs, config=study.StudyConfig(p_grid=(1.0,)), experiments=["grid"],
                            n_jobs=1, progress=False, cache_dir=tmp_path)
    assert other.n_fitted > 0  # a different configuration is a different key


def test_cache_key_ignores_docstrings_comments_and_layout(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('"""Module."""\n\ndef f(x):\n    """Old wording."""\n    return x + 1  # why\n')
    b.write_text('"""Module, reworded."""\n\n\ndef f(x):\n    """New wording of the summary."""\n\n    return x + 1\n')
    c.write_text('"""Module."""\n\ndef f(x):\n    """Old wording."""\n    return x + 2\n')
    norm = study.cache._normalised_code
    assert norm(a) == norm(b) and norm(a) != norm(c)
    assert len(study.code_hash()) == 64


def test_save_and_load_round_trip(result, tmp_path):
    result.save(tmp_path / "saved")
    back = study.StudyResult.load(tmp_path / "saved")
    pd.testing.assert_frame_equal(back.table, result.table)
    pd.testing.assert_frame_equal(back.families, result.families)
    assert back.config == result.config
    with pytest.raises(Exception, match="not a saved study"):
        study.StudyResult.load(tmp_path / "nothing")


def test_subset_of_families_and_experiments(runs, tmp_path):
    r = study.run_study(runs, families=["three"], experiments=["grid", "baseline_best"], config=FAST,
                        n_jobs=1, progress=False, cache_dir=tmp_path)
    assert set(r.table["family"]) == {"three"}
    assert set(r.table["experiment"]) == {"grid", "baseline_best"}
    with pytest.raises(Exception, match="unknown experiment"):
        study.run_study(runs, experiments=["nope"], progress=False, cache_dir=tmp_path)
    with pytest.raises(Exception, match="unknown protocol"):
        study.run_study(runs, protocol="nope", progress=False, cache_dir=tmp_path)


def test_aggregate_counts_every_cell_and_macro_averages(result):
    agg = study.aggregate(result)
    assert {"family", "macro"} == set(agg["scope"])
    fam = agg[agg["scope"] == "family"]
    assert fam["n_cells"].sum() == len(result.table)
    assert (fam["n_predicting"] + fam["n_not_identifiable"] + fam["n_failed"] + fam["n_no_data"]
            == fam["n_cells"]).all()
    sel = (agg["experiment"] == "grid") & (agg["k"] == 3) & (agg["p"] == 1.0) & (agg["cut_tokens"] == 0)
    macro, per = agg[sel & (agg["scope"] == "macro")].iloc[0], fam[sel[agg["scope"] == "family"]]
    assert np.isclose(macro["are_mean"], per["are_median"].mean())
    assert macro["n_families"] == per["n_predicting"].gt(0).sum() >= 1


def test_verdicts_are_measured_statements(result):
    items = verdicts(result)
    assert [v.number for v in items] == list(range(1, 9))
    for v in items:
        assert isinstance(v, Verdict) and v.statement and v.claim and v.outcome in OUTCOMES
        json.dumps(v.to_dict())


def test_write_study(result, tmp_path):
    paths = study.write_study(result, tmp_path / "out")
    assert pd.read_csv(paths["results.csv"]).shape == result.table.shape
    assert pd.read_csv(paths["results.csv"])["train_sizes"].iloc[0] == "20000000,60000000"
    assert "scope" in pd.read_csv(paths["aggregates.csv"]).columns


def test_plan_from_a_study(result):
    designs = plan(result.table, 7e9, 1.4e11, budget_fraction=1.0, min_families=2)
    assert (designs["cost_fraction"] <= 1.0).all()
    assert designs["expected_are"].is_monotonic_decreasing


# ----------------------------------------------------------------------------- the paper's protocol
def _uneven() -> FamilyArrays:
    """Three sizes trained to different lengths (the largest twice: two seeds)."""
    rows = []
    for n, dmax, seeds in ((1e7, 10e9, 1), (3e7, 20e9, 1), (1e8, 40e9, 1), (3e8, 40e9, 2)):
        for s in range(seeds):
            for d in np.arange(2e9, dmax + 1, 2e9):
                rows.append({"family": "u", "model": f"{n:g}-{s}", "num_params": n, "tokens": d,
                             "loss": _law(n, d) + 0.01 * s})
    return FamilyArrays.from_frame(pd.DataFrame(rows), "u")


def test_paper_protocol_drops_the_final_checkpoint_and_measures_p_against_the_longest_run():
    fam = _uneven()
    sizes = fam.sizes[:3]
    train = paper_train_mask(fam, sizes, 1.0, 0.0)
    longest = fam.num_params == 1e8
    # p = 1: the longest run loses its final checkpoint (strict <), shorter runs keep theirs
    assert fam.tokens[train & longest].max() == 38e9
    assert fam.tokens[train & (fam.num_params == 1e7)].max() == 10e9
    # p = 0.5 is half of the longest run (20B), not half of each run's own length
    half = paper_train_mask(fam, sizes, 0.5, 0.0)
    assert fam.tokens[half].max() == 18e9
    assert fam.tokens[half & (fam.num_params == 1e7)].max() == 10e9
    corrected = fam.train_mask(sizes, 0.5, 0.0)
    assert fam.tokens[corrected & (fam.num_params == 1e7)].max() == 4e9
    # one target run (the last of the largest size), its last 30%
    test = paper_test_mask(fam)
    assert set(fam.run[test]) == {target_run(fam)} and fam.tokens[test].min() >= 0.7 * 40e9


def test_curve_fit_recovers_a_clean_law_and_records_failures():
    n, d = np.repeat([1e7, 1e8, 1e9], 20), np.tile(np.geomspace(1e9, 1e11, 20), 3)
    fitted = curve_fit_paper(n, d, _law(n, d))
    assert fitted.status == "ok" and np.isclose(fitted.params["alpha"], TRUE["alpha"], rtol=0.05)
    broken = _law(n, d)
    broken[0] = np.nan
    failed = curve_fit_paper(n, d, broken)
    assert failed.status == "failed" and failed.reason and np.isnan(failed.params["E"])


def test_paper_protocol_study_and_comparison(runs, result, tmp_path):
    paper = study.run_study(runs, protocol="paper", config=FAST, progress=False, cache_dir=tmp_path)
    assert set(paper.table["experiment"]) == {"grid"} and paper.config.protocol == "paper"
    comparison = study.compare_protocols(paper, result, runs, n_jobs=1, cache_dir=tmp_path)
    assert len(comparison) == len(paper.table)
    row = comparison[(comparison["family"] == "five") & (comparison["k"] == 4) & (comparison["p"] == 1.0)
                     & (comparison["cut_tokens"] == 0)].iloc[0]
    # the paper drops each run's final checkpoint at p = 1: one point fewer per training run
    assert row["n_points_paper"] == row["n_points_corrected"] - 4
    assert "strict <" in row["explained_by"]
    assert set(comparison["main_departure"]) <= {"loss", "training set", "target", "fit", "two training sizes", "none"}
    assert row["main_departure"] == row["explained_by"].split(":")[0]
    assert np.isclose(row["difference"], 100 * (row["are_corrected"] - row["are_paper"]))
    effects = study.departure_effects(comparison, result, runs, n_jobs=1, cache_dir=tmp_path)
    # no OPT or GPT-3 here: only the optimiser and the selection rules can differ
    assert list(effects["departure"].str.split(" ").str[0]) == ["single-start", "selection:"]
    assert (effects["n_cells"] > 0).all() and (effects["max_abs_effect"] >= effects["median_abs_effect"]).all()
    with pytest.raises(Exception, match="corrected protocol"):
        verdicts(paper)


def test_the_protocol_comparison_is_cached_with_the_code_version(runs, result, tmp_path, monkeypatch):
    paper = study.run_study(runs, protocol="paper", config=FAST, progress=False, cache_dir=tmp_path)
    first = study.compare_protocols(paper, result, runs, n_jobs=1, cache_dir=tmp_path)
    fits = []
    real = study.run.run_cells
    monkeypatch.setattr(study.run, "run_cells", lambda cells, fit: fits.append(len(cells)) or real(cells, fit))
    again = study.compare_protocols(paper, result, runs, n_jobs=1, cache_dir=tmp_path)
    assert fits == []                       # the paper's cells are not fitted again ...
    pd.testing.assert_frame_equal(again, first)
    monkeypatch.setattr(study.run, "code_hash", lambda: "0" * 64)
    monkeypatch.setattr(study.cache, "code_hash", lambda *roots: "0" * 64)
    other = study.compare_protocols(paper, result, runs, n_jobs=1, cache_dir=tmp_path)
    assert fits                             # ... until the code that fits them changes
    pd.testing.assert_frame_equal(other, first)


@pytest.mark.mirror
def test_study_on_pythia(files, tmp_path):
    from toolkit.sources import parser

    pythia = Runs.from_frame(parser("pythia").parse(files)).select(families=["pythia"])
    r = study.run_study(pythia, experiments=["grid", "baseline_best", "borrow"],
                        config=study.StudyConfig(p_grid=(0.3, 1.0)), n_jobs=2, progress=False,
                        cache_dir=tmp_path)
    t = r.table
    assert list(t.columns) == [*COLUMNS, *BOOT_COLUMNS]
    grid = t[t["experiment"] == "grid"]
    assert sorted(grid["k"].unique()) == list(range(2, 8))
    assert (grid["target_params"] == pythia.sizes()[-1]).all()
    # the target never trains: its size is never among the training sizes
    assert not any(int(pythia.sizes()[-1]) in sizes for sizes in grid["train_sizes"])
    assert (t["cost_fraction"] > 0).all()


def test_the_papers_fits_in_parallel_equal_the_serial_ones(runs):
    from concurrent.futures import ProcessPoolExecutor

    from toolkit.evaluation.paper import paper_fitter, parallel_paper_fitter

    cells = [c for name, fam in study.paper_families(runs.select(families=["five"])).items()
             for c in study.build_cells(fam, "grid", FAST) if c.train.sum() >= 2 and c.test.any()]
    cells = (cells * (1 + 40 // len(cells)))[:40]          # enough to be split into chunks
    serial = paper_fitter(cells)
    # processes, not threads: the paper's fit silences curve_fit's warnings, and warning
    # filters are not thread-safe
    with ProcessPoolExecutor(2) as pool:
        for fitter in (parallel_paper_fitter(2), parallel_paper_fitter(2, pool)):
            assert [(f.status, f.params) for f in fitter(cells)] == [(f.status, f.params) for f in serial]
