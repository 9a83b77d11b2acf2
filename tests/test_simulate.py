"""Synthetic families (toolkit.simulate): the law's losses exactly without noise, seeded draws in
a stated order, valid Runs."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import simulate
from toolkit.errors import FitError
from toolkit.laws import Chinchilla, Tied
from toolkit.runs import Runs


def test_without_noise_the_losses_are_the_laws() -> None:
    runs = simulate.family()
    f = runs.frame
    assert isinstance(runs, Runs) and len(f) == len(simulate.SIZES) * 20
    assert sorted(f["num_params"].unique()) == [int(n) for n in simulate.SIZES]
    assert f["tokens"].min() == pytest.approx(1e8) and f["tokens"].max() == pytest.approx(1e11)
    law = Chinchilla(**simulate.TRUE)
    assert np.allclose(f["loss"], law.predict(f["num_params"].to_numpy(float), f["tokens"]), rtol=1e-15, atol=0)
    assert (f["loss_unit"] == "nats/token").all() and (f["source"] == "simulated").all()
    assert f["model"].iloc[0] == "synth-20000000" and (f["family"] == "synth").all()


def test_same_seed_same_family_other_seed_other_family() -> None:
    kw = dict(noise=0.01, run_noise=0.02, early_noise=0.1, seeds=2)
    a, b, c = (simulate.family(**kw, seed=s).frame for s in (3, 3, 4))
    assert np.array_equal(a["loss"], b["loss"]) and not np.array_equal(a["loss"], c["loss"])
    assert set(a["seed"]) == {0, 1} and a["model"].str.endswith(("-s0", "-s1")).all()


def test_draws_are_run_by_run_offset_then_checkpoints_then_early() -> None:
    d = np.array([5e9, 2e10, 8e10])
    runs = simulate.family(simulate.TRUE, (1e8, 4e8), d, noise=0.01, run_noise=0.02, early_noise=0.1, seed=7)
    rng = np.random.default_rng(7)
    expected = []
    for n in (1e8, 4e8):
        offset = 0.02 * rng.standard_normal()
        loss = Chinchilla(**simulate.TRUE).predict(n, d) * (1 + offset + 0.01 * rng.standard_normal(3))
        loss[0] *= 1 + 0.1 * rng.random(1)[0]                    # only 5e9 <= 10e9 is early
        expected.extend(loss)
    assert np.allclose(runs.frame["loss"], expected, rtol=1e-15, atol=0)


def test_runs_of_their_own_length_and_arrays() -> None:
    tokens = {1e8: [1e9, 2e9], 1e9: [1e9, 2e9, 4e9]}
    runs = simulate.family(sizes=(1e8, 1e9), tokens=tokens, name="own", source="src-own")
    n, d, y = simulate.arrays(runs)
    assert n.tolist() == [1e8, 1e8, 1e9, 1e9, 1e9] and d.tolist() == [1e9, 2e9, 1e9, 2e9, 4e9]
    assert y.dtype == float and (runs.frame["family"] == "own").all() and (runs.frame["source"] == "src-own").all()


def test_a_truth_outside_the_bounds_and_other_forms() -> None:
    with pytest.raises(FitError):
        Chinchilla(E=-0.5)
    law = simulate.true_law(dict(E=-0.5, A=60.0, B=400.0, alpha=0.2, beta=0.15))
    assert law.values["E"] == -0.5
    tied = simulate.true_law(dict(E=1.7, A=300.0, B=900.0, alpha=0.3), form=Tied)
    assert isinstance(tied, Tied) and simulate.true_law(tied) is tied
    y = simulate.arrays(simulate.family(tied, (1e8,), [1e10]))[2]
    assert y[0] == pytest.approx(1.7 + 300.0 / 1e8 ** 0.3 + 900.0 / 1e10 ** 0.3, rel=1e-14)
