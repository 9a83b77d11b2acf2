"""Whether a law is fit for a compute-optimal allocation: one rule for notebook 10 and `allocate`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.fitting import fit
from toolkit.guidelines.allocation import allocation_warnings


def _runs(alpha: float = 0.34) -> pd.DataFrame:
    rows = [{"model": f"m{n:.0e}", "num_params": n, "tokens": d, "loss": 1.8 + 420 / n ** alpha + 2400 / d ** 0.29}
            for n in (5e7, 1e8, 2e8, 4e8, 8e8) for d in np.geomspace(1e9, 1e11, 12)]
    return pd.DataFrame(rows)


def test_a_law_inside_its_runs_is_fit_and_a_ratio_beyond_them_is_not():
    result = fit(_runs())
    assert result.status == "ok"
    # the runs trained 1.25 .. 2,000 tokens per parameter
    assert allocation_warnings(result, pd.DataFrame({"tokens_per_param": [20.0, 1500.0]})) == []
    (why,) = allocation_warnings(result, pd.DataFrame({"tokens_per_param": [20.0, 5120.0]}))
    assert why.startswith("D*/N* = 5.12e+03 tokens per parameter lies outside the 1.25 - 2e+03")


@pytest.mark.mirror
def test_allocate_warns_that_pythia_without_the_cut_is_not_fit_for_allocation(mirror, monkeypatch, capsys):
    """Issue 23 item 1: Pythia without the cut (E at its bound 0) proposed N* = 202M at 40,700
    tokens per parameter with no word that the law is not fit for it."""
    monkeypatch.setenv("SCALING_TOOLKIT_MIRROR", str(mirror))
    assert main(["allocate", "--family", "pythia", "--cut", "0", "--flops", "1e22"]) == 0
    err = capsys.readouterr().err
    assert "not fit for allocation: a parameter sits at a bound (E at its lower bound 0" in err
    assert "tokens per parameter lies outside" in err
    assert main(["allocate", "--family", "pythia", "--cut", "1e10", "--flops", "1e22"]) == 0
    assert "not fit for allocation" not in capsys.readouterr().err
