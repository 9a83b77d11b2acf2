"""Defaults that follow the user's data (the cut), said where the user looks; targets never trained."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit import widgets
from toolkit.cli import main
from toolkit.errors import DataError
from toolkit.evaluation import default_cut
from toolkit.runs import Runs

SMALL = (20e6, 60e6, 150e6, 400e6, 760e6, 1.3e9)  # a user's sweep: none trained past 10B tokens
CHECKPOINTS = tuple(np.geomspace(2e8, 1e10, 12))


def _law(n, d):
    return 1.9 + 380 / np.asarray(n, float) ** 0.33 + 2100 / np.asarray(d, float) ** 0.3


def _frame(sizes=SMALL, tokens=CHECKPOINTS) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"model": f"run-{n:.0e}", "num_params": n, "tokens": d,
                          "loss": float(_law(n, d)) * (1 + 1e-3 * rng.standard_normal())}
                         for n in sizes for d in tokens])


def test_default_cut_follows_the_data():
    small = default_cut(Runs(_frame()))
    assert small.cut == 0.0 and small.note.startswith("no cut: only 0 size(s) have two or more checkpoints past")
    long = default_cut(Runs(_frame(tokens=np.geomspace(1e9, 1e11, 12))))
    assert long.cut == 1e10 and "the default cut (36 of 72 points" in long.note
    finals = default_cut(Runs(_frame(tokens=[3e10])))
    assert finals == type(finals)(0.0, "")


def test_notebook_02s_panel_on_a_small_sweep_fits_instead_of_too_few_sizes():
    runs = Runs(_frame())
    panel = widgets.FitPanel(runs, n_bootstrap=4)
    assert panel.controls["cut"].value == 0.0
    assert panel.result.status == "ok"
    assert "no cut: only 0 size(s)" in panel.status.value
    assert panel.numbers()["are"] < 0.02
    # the collection's cut, given explicitly, still does what it says
    assert "cannot draw" in widgets.FitPanel(runs, cut=1e10, n_bootstrap=4).status.value


def test_cli_default_cut_on_a_users_csv_is_applied_and_said(tmp_path, capsys):
    _frame(tokens=np.geomspace(1e9, 1e11, 12)).to_csv(tmp_path / "long.csv", index=False)
    assert main(["fit", "--csv", str(tmp_path / "long.csv"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_points"] == 36
    assert "note: fitting checkpoints past 1e+10 tokens only, the default cut" in captured.err
    _frame().to_csv(tmp_path / "small.csv", index=False)
    assert main(["fit", "--csv", str(tmp_path / "small.csv"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_points"] == 72 and "note: no cut: only 0 size(s)" in captured.err


def test_a_target_never_trained_is_predicted_with_an_interval():
    panel = widgets.FitPanel(Runs(_frame()), n_bootstrap=20)
    row = panel.predict_at(7e9, 1.4e12).iloc[0]
    truth = float(_law(7e9, 1.4e12))
    assert row["lower"] < row["loss"] < row["upper"] and row["level"] == 0.9
    assert abs(row["loss"] - truth) / truth < 0.02


@pytest.mark.parametrize("params,tokens,message", [
    ("7B", "", "parameter target_tokens = '' is not allowed: give both"),
    ("", "1.4T", "parameter target_params = '' is not allowed: give both"),
    ("7 billion", "1.4T", "parameter target_params: cannot read '7 billion'"),
])
def test_target_parameters_are_checked(params, tokens, message):
    with pytest.raises(DataError, match=message):
        widgets.parse_target(params, tokens)
    assert widgets.parse_target("", "") is None and widgets.parse_target("7B", "1.4T") == (7e9, 1.4e12)


def test_load_runs_checks_columns_and_loss_unit(tmp_path):
    df = _frame().rename(columns={"num_params": "params", "loss": "val_ppl"}).assign(val_ppl=lambda f: np.exp(f["val_ppl"]))
    df.to_csv(tmp_path / "mine.csv", index=False)
    runs = widgets.load_runs(str(tmp_path / "mine.csv"), {"params": "num_params", "val_ppl": "loss"}, "ppl")
    np.testing.assert_allclose(runs.frame.sort_values(["num_params", "tokens"])["loss"].to_numpy(),
                               _frame().sort_values(["num_params", "tokens"])["loss"].to_numpy(), rtol=1e-12)
    with pytest.raises(DataError, match="parameter loss_unit = 'perplexity' is not allowed: 'nats'"):
        widgets.load_runs(str(tmp_path / "mine.csv"), {}, "perplexity")
    with pytest.raises(DataError, match="parameter columns = .* only with runs_csv"):
        widgets.load_runs("", {"params": "num_params"})


def test_notebook_02_on_a_users_renamed_perplexity_csv_predicts_an_untrained_target(tmp_path):
    from toolkit.findings.runner import default_notebooks_dir, run_findings

    df = _frame().rename(columns={"num_params": "params", "loss": "val_ppl"}).assign(val_ppl=lambda f: np.exp(f["val_ppl"]))
    df.to_csv(tmp_path / "mine.csv", index=False)
    params = {"runs_csv": str(tmp_path / "mine.csv"), "family": "", "columns": {"params": "num_params",
              "val_ppl": "loss"}, "loss_unit": "ppl", "target_params": "7B", "target_tokens": "1.4T"}
    result = run_findings(tmp_path / "out", notebooks_dir=default_notebooks_dir(), only=["02"], quick=True,
                          study=False, n_jobs=1, progress=False, parameters={"02_fit_a_law": params})
    assert not result.failed, result.failed[0].error
    record = result.records["02_fit_a_law"]
    assert record["parameters"]["cut"] == 0.0  # the cut used (the data's default), not None
    truth = float(_law(7e9, 1.4e12))
    n = record["numbers"]
    assert n["target_lower_nats"] < n["target_loss_nats"] < n["target_upper_nats"]
    assert abs(n["target_loss_nats"] - truth) / truth < 0.02
