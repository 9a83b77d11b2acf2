"""The heatmap cells of notebook 08 (study.summary.heatmap_cells) and the protocol frame of
notebook 11 (study.protocols.protocol_frame) on small tables with known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from study_tables import study_table

from toolkit.errors import DataError
from toolkit.study import MACRO, heatmap_cells, protocol_frame


def test_macro_cells_average_the_families_with_a_law() -> None:
    cells = heatmap_cells(study_table(), MACRO, 1e10)
    assert len(cells) == 4 * 10
    row = cells[(cells["k"] == 3) & np.isclose(cells["p"], 1.0)].iloc[0]
    assert row["n_families"] == 2 and row["are"] == pytest.approx(np.mean([0.02 * 3, 0.02 * 1]))
    assert cells.loc[(cells["k"] == 2) & (cells["p"] < 0.3), "are"].isna().all()     # not identified: no ARE
    assert cells.loc[cells["k"] == 5, "n_families"].eq(1).all()                       # fam-a only


def test_one_family_and_unknown_cuts() -> None:
    one = heatmap_cells(study_table(), "fam-b", 0.0)
    assert set(one["k"]) == {2, 3} and one["are"].max() == pytest.approx(0.02 * 2 + 0.05 * 0.7 + 0.1)
    with pytest.raises(DataError, match="no grid cells for 'fam-b' at cut 5"):
        heatmap_cells(study_table(), "fam-b", 5.0)


def test_draws_give_quantiles_around_the_are() -> None:
    table = study_table()
    rng = np.random.default_rng(0)
    draws = pd.DataFrame(table["are"].to_numpy()[:, None] * (1 + 0.1 * rng.uniform(-1, 1, (len(table), 20))))
    ok = heatmap_cells(table, MACRO, 1e10, draws=draws).dropna(subset=["are"])
    assert (ok["are_q05"] < ok["are"]).all() and (ok["are"] < ok["are_q95"]).all()
    one = heatmap_cells(table, "fam-b", 1e10, draws=draws)
    row = one[(one["k"] == 3) & np.isclose(one["p"], 1.0)].iloc[0]
    i = table.index[(table["family"] == "fam-b") & (table["k"] == 3) & np.isclose(table["p"], 1.0)
                    & (table["cut_tokens"] == 1e10)][0]
    assert row["are_q05"] == pytest.approx(np.quantile(draws.loc[i], 0.05))


def comparison() -> pd.DataFrame:
    rows = [{"family": family, "experiment": "grid", "k": k, "p": p, "cut_tokens": cut,
             "are_paper": 0.05 * scale * k * p, "are_corrected": 0.05 * k * p,
             "explained_by": "loss: raw perplexity; fit" if family == "opt" else "none"}
            for family, scale in (("opt", 3.0), ("gpt3", 1.0)) for cut in (0.0, 1e10, 1.4e12)
            for k in (2, 3) for p in (0.5, 1.0)]
    return pd.DataFrame(rows)


def test_protocol_frame_names_cells_reasons_and_the_papers_figures() -> None:
    ref = pd.DataFrame({"family": ["opt"], "k": [3], "p": [1.0], "cut_tokens": [0.0], "paper_figure": [15.48]})
    frame = protocol_frame(comparison(), ref)
    assert list(frame["cell"].iloc[[0, 4, 8]]) == ["k=2 p=50% cut none", "k=2 p=50% cut 10B", "k=2 p=50% cut 1.4T"]
    assert frame["reason"].iloc[0] == "loss: raw perplexity" and frame["reason"].iloc[-1] == "none"
    hit = frame[frame["paper_figure"].notna()]
    assert len(hit) == 1 and hit[["family", "k", "p", "cut_tokens"]].iloc[0].tolist() == ["opt", 3, 1.0, 0.0]
    assert protocol_frame(comparison())["paper_figure"].isna().all()
