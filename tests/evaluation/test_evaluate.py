"""Splits, ARE, signed error, baselines and cost exactly as METHOD.md section 3."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import simulate
from toolkit.errors import DataError
from toolkit.evaluation import (
    Cell,
    Evaluation,
    FamilyArrays,
    are,
    baseline_best,
    baseline_compute,
    design_cost_flops,
    evaluate,
    run_cells,
    signed_error,
    split,
)
from toolkit.evaluation import cells as cells_module
from toolkit.fitting import fit
from toolkit.laws import Chinchilla
from toolkit.runs import Runs

LAW = Chinchilla(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.28)


def make_runs() -> Runs:
    """Sizes 1e7..1e9 (the largest with two seeds, seed 1 0.001 nats/token above seed 0);
    checkpoints every 5e9 tokens, each run trained to its own length (longer for larger models)."""
    lengths = {1e7: 20e9, 3e7: 30e9, 1e8: 40e9, 3e8: 50e9, 1e9: 100e9}
    tokens = {n: np.arange(5e9, dmax + 1, 5e9) for n, dmax in lengths.items()}
    f = pd.concat([simulate.family(LAW, list(lengths)[:-1], tokens).frame,
                   simulate.family(LAW, [1e9], tokens, seeds=2).frame], ignore_index=True)
    f["loss"] += 0.001 * f["seed"]
    f["model"] = [f"{n:g}-s{s}" for n, s in zip(f["num_params"].astype(float), f["seed"])]
    return Runs.from_frame(f)


def test_target_is_all_seeds_of_the_largest_size_and_never_trained_on() -> None:
    runs = make_runs()
    s = split(runs, k=4)
    assert s.target_params == 10**9
    assert set(s.test.frame["model"]) == {"1e+09-s0", "1e+09-s1"}
    assert (s.train.frame["num_params"] < 10**9).all()
    assert s.train_sizes == (10**7, 3 * 10**7, 10**8, 3 * 10**8)


def test_test_set_is_last_30_percent_of_the_targets_own_tokens() -> None:
    s = split(make_runs(), k=2)
    tokens = s.test.frame["tokens"]
    assert tokens.min() == 70e9 and tokens.max() == 100e9
    assert len(s.test) == 2 * 7                      # 70, 75, ..., 100 for both seeds


def test_k_smallest_sizes_p_measured_against_each_runs_own_final_tokens() -> None:
    s = split(make_runs(), k=2, p=0.5, cut=0.0)
    df = s.train.frame
    assert s.train_sizes == (10**7, 3 * 10**7)
    # 1e7 ran 20B tokens -> keeps <= 10B; 3e7 ran 30B -> keeps <= 15B.
    assert df[df["num_params"] == 10**7]["tokens"].max() == 10e9
    assert df[df["num_params"] == 3 * 10**7]["tokens"].max() == 15e9


def test_p_one_keeps_the_final_checkpoint_and_cut_is_strict() -> None:
    s = split(make_runs(), k=3, p=1.0, cut=10e9)
    df = s.train.frame
    finals = df.groupby("model")["tokens"].max()
    assert finals.to_dict() == {"1e+07-s0": 20e9, "3e+07-s0": 30e9, "1e+08-s0": 40e9}
    assert df["tokens"].min() == 15e9                 # 10e9 itself is dropped: D > cut


def test_split_rejects_too_many_sizes_and_bad_arguments() -> None:
    runs = make_runs()
    with pytest.raises(DataError, match="k = 5 training sizes requested but only 4"):
        split(runs, k=5)
    with pytest.raises(DataError, match="p must be"):
        split(runs, k=2, p=0.0)


def test_are_and_signed_error_known_values() -> None:
    assert are([1.1, 1.8], [1.0, 2.0]) == pytest.approx(0.1)
    assert signed_error([1.1, 1.8], [1.0, 2.0]) == pytest.approx(0.0)
    assert signed_error([1.1, 2.2], [1.0, 2.0]) == pytest.approx(0.1)
    with pytest.raises(DataError):
        are([], [])


def test_evaluate_a_fit_on_the_target() -> None:
    s = split(make_runs(), k=4, cut=0.0)
    res = fit(s.train)
    ev = evaluate(res, s.test)
    assert isinstance(ev, Evaluation) and ev.n_test == 14
    assert ev.are < 0.002                             # exact law; only the seed offset is missed
    assert evaluate(LAW, s.test).are < 0.001


def test_baselines_are_distinct() -> None:
    s = split(make_runs(), k=4)
    best = baseline_best(s.train, s.test)
    comp = baseline_compute(s.train, s.test)
    test_loss = s.test.frame["loss"].to_numpy()
    lowest = s.train.frame["loss"].min()
    assert best.are == pytest.approx(np.mean(np.abs(test_loss - lowest) / test_loss))
    # Largest compute run: 3e8 x 50B = final loss of that run; here the same run holds the lowest
    # loss too, so compare against the formula instead of the other baseline.
    final = float(LAW.predict(3e8, 50e9))
    assert comp.are == pytest.approx(np.mean(np.abs(test_loss - final) / test_loss))
    assert comp.signed_error > 0                      # smaller models over-predict the target's loss


def test_cost_sums_runs_not_checkpoints() -> None:
    s = split(make_runs(), k=2, p=0.5, cut=0.0)
    expected = 6 * 1e7 * 10e9 + 6 * 3e7 * 15e9
    assert design_cost_flops(s.train) == pytest.approx(expected)
    assert design_cost_flops(s.train) < (6 * s.train.frame["num_params"] * s.train.frame["tokens"]).sum()


def test_split_and_the_study_select_the_same_checkpoints() -> None:

    # 0.7 * 3e9 is 2099999999.9999998 in floating point: the checkpoint at 2.1e9 must be kept.
    rows = [{"model": f"m{n:g}", "num_params": n, "tokens": d, "loss": 3.0 + 1e8 / n + 1e9 / d}
            for n in (1e7, 3e7, 1e8, 3e8) for d in (0.5e9, 1e9, 2.1e9, 3e9)]
    runs = Runs.from_frame(pd.DataFrame(rows), family="f")
    fam = FamilyArrays.from_runs(runs)
    for k, p, cut in ((2, 0.7, 0.0), (3, 1.0, 0.7e9), (1, 0.5, 0.0)):
        s = split(runs, k, p, cut)
        mask = fam.train_mask(fam.sizes[:k], p, cut)
        assert sorted(zip(fam.num_params[mask], fam.tokens[mask])) == \
            sorted(zip(s.train.frame["num_params"].astype(float), s.train.frame["tokens"]))
    assert sorted(set(split(runs, 2, 0.7, 0.0).train.frame["tokens"])) == [0.5e9, 1e9, 2.1e9]
    test = fam.test_mask(fam.sizes[-1])
    assert sorted(fam.tokens[test]) == sorted(split(runs, 1).test.frame["tokens"]) == [2.1e9, 3e9]


def test_cells_with_the_same_fit_share_one_and_keep_their_own_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    fam = FamilyArrays.from_runs(make_runs())
    target = float(fam.sizes[-1])
    train = fam.train_mask(fam.sizes[:3], 1.0)

    def cell(experiment: str, mask: np.ndarray, test: float = target, fixed: dict | None = None) -> Cell:
        return Cell(fam, experiment, 3, 1.0, 0.0, mask, test, fam.test_mask(test), fixed=fixed)

    cells = [cell("grid", train), cell("windows", train.copy(), float(fam.sizes[3])),
             cell("borrow", train, fixed={"alpha": 0.34}), cell("grid", fam.train_mask(fam.sizes[:4], 1.0)),
             cell("partial", train.copy())]
    fitted: list[int] = []
    real = cells_module.map_chunks

    def counting(func, items, **kw):
        fitted.append(len(items))
        return real(func, items, **kw)

    monkeypatch.setattr(cells_module, "map_chunks", counting)
    together = run_cells(cells, n_jobs=1, progress=False)
    assert fitted == [3]                       # the grid, windows and partial cells share one fit
    alone = pd.concat([run_cells([c], n_jobs=1, progress=False) for c in cells], ignore_index=True)
    assert fitted == [3, 1, 1, 1, 1, 1]
    pd.testing.assert_frame_equal(together, alone)      # bit for bit, each row its own test set
    assert together.loc[1, "target_params"] != target and together.loc[1, "are"] != together.loc[0, "are"]
    assert together.loc[2, "alpha"] == 0.34 and together.loc[0, "alpha"] != 0.34


def test_public_names_are_the_functions() -> None:
    import toolkit

    # no exported name equals a submodule's name: these stay functions after any import
    import toolkit.evaluation.partition  # noqa: F401
    assert callable(toolkit.split) and callable(toolkit.are) and callable(toolkit.evaluate)
    assert toolkit.split is split and toolkit.evaluate is evaluate and toolkit.are is are
