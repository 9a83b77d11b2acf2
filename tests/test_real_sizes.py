"""Sizes as real files write them: fractional, computed, after comment lines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.runs import Runs

CSV = """# exported from my training logs, 2026-01-05
# "tokens" = FLOPs / 6N, so fractional
model,num_params,tokens,loss
a,6795600349.29,1.2e11,2.3
a,6795600349.29,2.4e11,2.2
b,1300000000,2.6e10,2.6
c,400123456.7,8.000000001e9,2.9
"""


def test_fractional_sizes_are_rounded_and_said(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(CSV)
    with pytest.warns(UserWarning, match=r"runs.csv: 3 num_params values were not whole and were rounded to the "
                                          r"nearest whole number \(at most 0.3 off, 7.5e-10 relative\)") as caught:
        runs = Runs.from_csv(path)
    assert len([w for w in caught if "rounded" in str(w.message)]) == 1
    assert runs.sizes().tolist() == [400_123_457, 1_300_000_000, 6_795_600_349]
    assert runs.frame["tokens"].max() == 2.4e11 and runs.frame["tokens"].min() == 8.000000001e9


def test_whole_sizes_say_nothing(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Runs(pd.DataFrame({"model": ["a", "b"], "num_params": [1e8, "1.3B"], "tokens": [1e9, 2e9],
                           "loss": [3.0, 2.9]}))


@pytest.mark.parametrize("body", [CSV, "#only\n\n#comments\n" + CSV.split("\n", 2)[2], CSV.replace("\n", "\r\n")])
def test_leading_comment_lines_are_skipped_and_rows_count_file_lines(tmp_path, body):
    path = tmp_path / "runs.csv"
    path.write_text(body.replace("a,6795600349.29,2.4e11,2.2", "a,6795600349.29,2.4e11,oops"), newline="")
    with pytest.raises(DataError, match=r"runs.csv row 2: loss must be a number \(got 'oops'\)"):
        Runs.from_csv(path)


def test_epoch_ai_chinchilla_points_load_as_a_user_csv(files):
    """Epoch AI's digitised Chinchilla points (sizes like 6795600349.29, tokens from FLOPs / 6N)."""
    from toolkit.sources.chinchilla import PATH

    raw = pd.read_csv(files.path(PATH))
    n = raw["Model Size"].to_numpy()
    frame = pd.DataFrame({"model": [f"run{i}" for i in range(len(raw))], "num_params": n,
                          "tokens": raw["Training FLOP"].to_numpy() / (6 * n), "loss": raw["loss"]})
    assert (n != np.round(n)).sum() > 200
    with pytest.warns(UserWarning, match=r"\d+ num_params values were not whole .* \(at most 0.5 off"):
        runs = Runs.from_frame(frame, family="chinchilla-epoch")
    assert len(runs) == len(raw)
    assert np.abs(runs.frame.sort_values("model")["num_params"].to_numpy()
                  - frame.sort_values("model")["num_params"].to_numpy()).max() <= 0.5
