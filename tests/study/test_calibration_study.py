"""The calibration end to end on synthetic families with known laws and noise: the study's
held-out predictions, leave-one-source-out intervals near their nominal level, and the files
``study --out`` writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit import study
from toolkit.evaluation.calibration import COVERAGE_COLUMNS, calibration_report, held_out_predictions
from toolkit.fitting.calibration import ErrorModel
from toolkit.runs import Runs

SIZES = (20e6, 50e6, 120e6, 300e6, 700e6, 1.6e9, 4e9)


def _family(i: int, rng: np.random.Generator) -> pd.DataFrame:
    """A family with its own law (parameters jittered around Chinchilla-like values), a
    run-level offset of 2% (seed noise) and 0.3% noise per checkpoint."""
    law = {"E": 1.8 * rng.uniform(0.9, 1.1), "A": 400 * rng.uniform(0.7, 1.4), "alpha": rng.uniform(0.28, 0.4),
           "B": 400 * rng.uniform(0.7, 1.4), "beta": rng.uniform(0.25, 0.35)}
    rows = []
    for n in SIZES:
        d = np.geomspace(2e8, 20 * n * 4, 14)
        offset = 0.02 * rng.standard_normal()
        loss = (law["E"] + law["A"] / n ** law["alpha"] + law["B"] / d ** law["beta"]) \
            * (1 + offset + 0.003 * rng.standard_normal(len(d)))
        rows += [{"family": f"fam{i}", "model": f"fam{i}-{n:.0e}", "num_params": n, "tokens": t, "loss": v,
                  "source": f"source{i}"} for t, v in zip(d, loss)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> study.StudyResult:
    rng = np.random.default_rng(7)
    runs = Runs.from_frame(pd.concat([_family(i, rng) for i in range(8)], ignore_index=True))
    return study.run_study(runs, experiments=["grid", "windows", "borrow", "partial"],
                           config=study.StudyConfig(p_grid=(0.3, 0.6, 1.0), cut=1e9), n_jobs=1, progress=False,
                           cache_dir=tmp_path_factory.mktemp("cache"))


def test_held_out_predictions_are_identified_target_cells(result):
    pred = held_out_predictions(result.table)
    assert len(pred) > 200 and pred["source"].nunique() == 8
    assert set(pred["experiment"]) <= {"grid", "windows", "borrow", "partial"}
    assert set(pred["status"]) <= {"ok", "at_bound"}
    assert (pred["log10_compute_ratio"] >= 0).all() and np.isfinite(pred["error"]).all()


def test_leave_one_source_out_coverage_on_synthetic_families_is_near_nominal(result):
    coverage, model = calibration_report(result.table)
    overall = coverage[coverage["bin"] == "all"].set_index("level")
    for level, row in overall.iterrows():
        assert abs(row["coverage"] - level) <= 0.05, (level, row["coverage"])
    assert (coverage["median_half_width"] > 0).all()
    assert model.provenance["n_sources"] == 8 and 0.8 <= model.provenance["loso_coverage_90"] <= 1.0


def test_study_out_writes_the_coverage_table_and_the_model(result, tmp_path):
    paths = study.write_study(result, tmp_path / "out")
    table = pd.read_csv(paths["calibration.csv"])
    assert list(table.columns) == list(COVERAGE_COLUMNS)
    assert sorted(table["level"].unique()) == [0.5, 0.8, 0.9, 0.95]
    assert list(table["bin"].unique()) == ["all", "T1", "T2", "T3"]
    model = ErrorModel.load(paths["error_model.json"])
    assert model.provenance["study_code"] == result.code == study.code_hash()
    assert json.loads(paths["error_model.json"].read_text())["kind"] == "error_model"


def test_a_study_too_small_to_calibrate_writes_no_calibration(result, tmp_path):
    small = study.StudyResult(result.table[result.table["family"].isin(["fam0", "fam1"])], result.families,
                              result.config)
    assert calibration_report(small.table) is None
    assert "calibration.csv" not in study.write_study(small, tmp_path / "small")


def test_a_warm_write_reads_the_calibration_and_writes_the_same_files(result, tmp_path, monkeypatch):
    from toolkit.study import artefacts, cache

    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path / "cache")
    cold = study.write_study(result, tmp_path / "cold")
    monkeypatch.setattr(artefacts, "calibration_report", lambda *args: pytest.fail("calibrated again"))
    monkeypatch.setattr(artefacts, "aggregate", lambda results: pytest.fail("aggregated again"))
    warm = study.write_study(result, tmp_path / "warm")
    assert list(warm) == list(cold) and "error_model.json" in warm
    for name, path in cold.items():
        assert warm[name].read_bytes() == path.read_bytes(), name
    # a table too small to calibrate is another key, and its answer (none) is cached as well
    small = study.StudyResult(result.table[result.table["family"].isin(["fam0", "fam1"])], result.families,
                              result.config)
    monkeypatch.setattr(artefacts, "calibration_report", calibration_report)
    monkeypatch.setattr(artefacts, "aggregate", study.aggregate)
    assert "calibration.csv" not in study.write_study(small, tmp_path / "small")
    monkeypatch.setattr(artefacts, "calibration_report", lambda *args: pytest.fail("calibrated again"))
    assert "calibration.csv" not in study.write_study(small, tmp_path / "small-again")
