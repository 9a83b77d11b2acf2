"""The command line for laws: fit --save, predict and allocate (sizes written 7B, 1.4T, 5.76e23)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.fitting import FitResult
from toolkit.laws import Chinchilla

LAW = Chinchilla(E=1.7, A=400.0, B=410.0, alpha=0.34, beta=0.28)


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for n in (1e7, 3e7, 1e8, 3e8, 1e9):
        for s in range(2):
            for d in (1e9, 3e9, 1e10, 3e10):
                loss = float(LAW.predict(n, d)) * (1 + 1e-3 * rng.normal())
                rows.append({"model": f"m{n:g}-{s}", "num_params": n, "tokens": d, "loss": loss})
    path = tmp_path / "mine.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_fit_save_then_predict_and_allocate_from_the_file(csv: Path, tmp_path: Path, capsys) -> None:
    saved = tmp_path / "law.json"
    assert main(["fit", "--csv", str(csv), "--json", "--save", str(saved)]) == 0
    fitted = json.loads(capsys.readouterr().out)
    result = FitResult.load(saved)
    assert result.params["alpha"] == pytest.approx(fitted["alpha"]) and result.n_points == 40

    assert main(["predict", "--law", str(saved), "--params", "7B", "--tokens", "1.4T", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"num_params", "tokens", "loss"} and out["num_params"] == 7e9 and out["tokens"] == 1.4e12
    assert out["loss"] == pytest.approx(result.predict(7e9, 1.4e12))

    assert main(["predict", "--law", str(saved), "--params", "7B", "--tokens", "1.4T", "--interval", "0.9",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"num_params", "tokens", "loss", "lower", "upper", "level", "interval_kind"}
    assert out["interval_kind"] == "calibrated" and out["lower"] < out["loss"] < out["upper"]
    assert out["lower"] < out["loss"] < out["upper"] and out["level"] == 0.9

    assert main(["allocate", "--law", str(saved), "--flops", "1e21", "5.76e23", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [set(r) for r in rows] == [{"flops", "num_params", "tokens", "tokens_per_param", "loss", "intervals",
                                       "interval_kinds", "level"}] * 2
    # a saved fit gives the loss at the optimum its calibrated interval; N* and D* need --bootstrap
    assert all(set(r["intervals"]) == {"loss"} and r["interval_kinds"] == {"loss": "calibrated"} for r in rows)
    assert all(r["intervals"]["loss"][0] < r["loss"] < r["intervals"]["loss"][1] for r in rows)
    expected = result.law.optimal_allocation([1e21, 5.76e23])
    assert [r["num_params"] for r in rows] == pytest.approx(list(expected["num_params"]))
    assert rows[1]["flops"] == 5.76e23


def test_allocate_with_bootstrap_intervals_from_a_csv(csv: Path, capsys) -> None:
    assert main(["allocate", "--csv", str(csv), "--flops", "1e21", "--bootstrap", "20", "--json", "--quiet"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert set(row["intervals"]) == {"num_params", "tokens", "tokens_per_param", "loss"}
    lo, hi = row["intervals"]["num_params"]
    assert lo <= row["num_params"] <= hi


def test_predict_text_and_allocate_text(csv: Path, capsys) -> None:
    assert main(["predict", "--csv", str(csv), "--params", "1B", "--tokens", "20B", "--interval", "0.8"]) == 0
    text = capsys.readouterr().out
    assert "nats/token" in text and "80% interval" in text
    assert main(["allocate", "--csv", str(csv), "--flops", "1e20"]) == 0
    assert "tokens_per_param" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "needle"), [
    (["predict", "--params", "seven", "--tokens", "1T"], "--params: expected a finite number such as 7e9 or 7B"),
    (["predict", "--params=-7B", "--tokens", "1T"], "--params: must be > 0"),
    (["predict", "--params", "7B", "--tokens", "1T", "--interval", "1.5"], "strictly between 0 and 1"),
    (["allocate", "--flops", "1e21", "0"], "--flops: must be > 0"),
])
def test_bad_quantities_are_one_line_exit_2(csv: Path, capsys, args, needle) -> None:
    assert main([*args, "--csv", str(csv)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_law_file_errors(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"x": 1}')
    assert main(["predict", "--law", str(junk), "--params", "1B", "--tokens", "1T"]) == 2
    assert "neither a saved fit" in capsys.readouterr().err
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(LAW.to_dict()))
    assert main(["allocate", "--law", str(bare), "--flops", "1e21", "--json"]) == 0
    capsys.readouterr()
    # a level asked of a law without intervals is refused, not silently ignored
    assert main(["allocate", "--law", str(bare), "--flops", "1e21", "--level", "0.5"]) == 2
    assert "--level needs a saved fit" in capsys.readouterr().err
    assert main(["predict", "--law", str(bare), "--params", "1B", "--tokens", "1T", "--interval", "0.9"]) == 2
    assert "need a saved fit" in capsys.readouterr().err
