"""Every file the toolkit reads back is checked: kind, version, content; one line naming the file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from toolkit.catalog import Catalog
from toolkit.cli import main
from toolkit.errors import DataError, FetchError, FitError
from toolkit.fitting import FitResult, fit_arrays
from toolkit.fitting.batch import resolve_n_jobs
from toolkit.laws import Chinchilla
from toolkit.study import StudyResult, check_table

TRUTH = Chinchilla(E=1.7, A=400.0, B=410.0, alpha=0.34, beta=0.28)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    n, d = (g.ravel() for g in np.meshgrid([1e7, 3e7, 1e8, 3e8, 1e9], [1e9, 3e9, 1e10, 3e10]))
    rng = np.random.default_rng(0)
    loss = TRUTH.predict(n, d) * np.exp(rng.normal(0, 0.003, n.size))
    result = fit_arrays(n, d, loss)
    assert result.status == "ok"
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    result.save(path)
    return path


def _variant(saved, tmp_path, change) -> str:
    data = json.loads(saved.read_text())
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


def _set(keys, value):
    def change(data):
        d = data
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


BAD_FITS = {
    "version 999": (_set(["version"], 999), "version 999"),
    "a parameter given as a list": (_set(["law", "params", "E"], [1.7]), "not a saved FitResult"),
    "no points, status ok": (lambda d: d["points"].update(num_params=[], tokens=[], loss=[]), "without any point"),
    "points of different lengths": (lambda d: d["points"].update(loss=d["points"]["loss"][:-1]), "one length"),
    "an infinite law value": (_set(["law", "params", "A", "value"], float("inf")), "A is not finite"),
    "a negative size": (lambda d: d["points"]["num_params"].__setitem__(0, -5.0), "num_params"),
    "an unknown status": (_set(["status"], "great"), "not a saved FitResult"),
    "another kind": (_set(["kind"], "toolkit.Other"), "no kind"),
}


@pytest.mark.parametrize("case", list(BAD_FITS))
def test_fit_result_load_checks_content(saved, tmp_path, case):
    change, message = BAD_FITS[case]
    path = _variant(saved, tmp_path, change)
    with pytest.raises(FitError, match=message) as err:
        FitResult.load(path)
    assert str(err.value).startswith(path) and "\n" not in str(err.value)


@pytest.mark.parametrize("content,message", [
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"kind": "toolkit.FitResult", "version": 1, "law": ', "not JSON"),
    (b"", "not JSON"),
])
def test_fit_result_load_unreadable_files(tmp_path, content, message):
    path = tmp_path / "f.json"
    path.write_bytes(content)
    with pytest.raises(FitError, match=message):
        FitResult.load(path)
    with pytest.raises(FitError, match="is a directory"):
        FitResult.load(tmp_path)


def test_a_saved_fit_still_round_trips(saved):
    back = FitResult.load(saved)
    assert back.status == "ok" and back.n_points == 20


def _one_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "internal error" not in captured.err, captured.err
    return captured.err


@pytest.mark.parametrize("case", ["version 999", "an infinite law value", "no points, status ok"])
def test_predict_refuses_a_bad_saved_fit(saved, tmp_path, capsys, case):
    path = _variant(saved, tmp_path, BAD_FITS[case][0])
    assert main(["predict", "--law", path, "--params", "7B", "--tokens", "1.4T", "--json"]) == 2
    assert capsys.readouterr().out == ""


def test_predict_never_exits_0_with_a_null_prediction(tmp_path, capsys):
    law = Chinchilla(E=1.7, A=1e308, B=1e308, alpha=0.34, beta=0.28).to_dict()
    (tmp_path / "law.json").write_text(json.dumps(law))
    assert main(["predict", "--law", str(tmp_path / "law.json"), "--params", "1", "--tokens", "1", "--json"]) == 1
    assert "non-finite" in _one_line(capsys)
    law["params"]["A"]["value"] = float("inf")
    (tmp_path / "law.json").write_text(json.dumps(law))
    assert main(["predict", "--law", str(tmp_path / "law.json"), "--params", "1B", "--tokens", "1T"]) == 2
    assert "not finite" in _one_line(capsys)


def test_fit_save_to_a_directory_or_unwritable_path_is_one_line(saved, tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    back = FitResult.load(saved).points
    pd.DataFrame({"model": [f"m{int(n)}" for n in back.num_params], "num_params": back.num_params.astype(int),
                  "tokens": back.tokens, "loss": back.loss}).to_csv(csv, index=False)
    (tmp_path / "afile").write_text("x")
    for target in (tmp_path, tmp_path / "afile" / "fit.json"):
        assert main(["fit", "--csv", str(csv), "--cut", "0", "--save", str(target), "--quiet"]) == 2
        assert str(target) in _one_line(capsys)
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5"])
def test_n_jobs_variable_is_checked(monkeypatch, value):
    monkeypatch.setenv("SCALING_TOOLKIT_N_JOBS", value)
    with pytest.raises(DataError, match=f"SCALING_TOOLKIT_N_JOBS must be .* got '{value}'"):
        resolve_n_jobs(None)
    monkeypatch.setenv("SCALING_TOOLKIT_N_JOBS", "2")
    assert resolve_n_jobs(None) == 2


# ----------------------------------------------------------------------------- saved studies
def _table(**changes) -> pd.DataFrame:
    from toolkit.evaluation.cells import empty_table

    row = {"family": "f", "source": "s", "loss_unit": "nats/token", "experiment": "grid", "k": 2, "p": 1.0, "m": 1.0,
           "cut_tokens": 0.0, "train_sizes": [1, 2], "largest_train_params": 2.0, "target_params": 8.0, "are": 0.05,
           "signed_error": 0.05, "status": "ok", "cost_flops": 1e18, "cost_fraction": 0.1, "n_points": 10,
           "n_test": 3, "E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.3, "beta": 0.3, "fixed": "",
           "borrowed_from": ""}
    row.update(changes)
    return pd.concat([empty_table(), pd.DataFrame([row])], ignore_index=True)


@pytest.fixture
def study_dir(tmp_path):
    families = pd.DataFrame({"family": ["f"], "n_models": [3]})
    return StudyResult(_table(), families).save(tmp_path / "study")


def test_check_table_refuses_impossible_tables():
    check_table(_table())
    for changes, message in (({"are": -0.5}, "are has 1 negative"), ({"status": "great"}, "unknown status"),
                             ({"p": 1.5}, "p outside"), ({"cost_fraction": float("inf")}, "cost_fraction")):
        with pytest.raises(ValueError, match=message):
            check_table(_table(**changes))


def test_study_load_checks_every_file(study_dir, capsys):
    assert StudyResult.load(study_dir).table["are"].iloc[0] == 0.05
    good = {p.name: p.read_bytes() for p in study_dir.iterdir()}

    def restore():
        for name, data in good.items():
            (study_dir / name).write_bytes(data)

    breakages = {
        "table.parquet": (good["table.parquet"][: len(good["table.parquet"]) // 2], "table.parquet: not a saved"),
        "config.json": (b'{"config": {', "config.json: not a saved study"),
    }
    for name, (data, message) in breakages.items():
        (study_dir / name).write_bytes(data)
        with pytest.raises(DataError, match=message):
            StudyResult.load(study_dir)
        restore()
    meta = json.loads(good["config.json"])
    for key, value, message in (("version", 999, "version 999"), ("kind", None, "no kind")):
        (study_dir / "config.json").write_text(json.dumps({**meta, key: value}))
        with pytest.raises(DataError, match=message):
            StudyResult.load(study_dir)
    restore()
    StudyResult(_table(are=-0.5), pd.DataFrame({"family": ["f"]})).save(study_dir)
    with pytest.raises(DataError, match="are has 1 negative"):
        StudyResult.load(study_dir)
    assert main(["plan", "--target-params", "7B", "--target-tokens", "1.4T", "--budget-fraction", "0.1",
                 "--study", str(study_dir)]) == 2
    assert "negative" in _one_line(capsys)


def test_a_directory_in_a_cached_files_place_is_one_error(tmp_path):
    catalog = Catalog(mirror=None, cache_dir=tmp_path)
    entry = catalog.table["path"].iloc[0]
    (tmp_path / entry).mkdir(parents=True)
    with pytest.raises(FetchError, match="is a directory"):
        catalog.path(entry)
    assert (tmp_path / entry).is_dir()
    shutil.rmtree(tmp_path / entry)
