"""Fitting recipes: the plain ones for every family, a published one where it exists, and
Chinchilla's reference treatment reproducing Epoch AI's answer on the mirror."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.fitting.treatments import PLAIN, REFERENCE, default_treatment, treatments_for


def test_every_family_gets_the_plain_recipes_and_chinchilla_its_reference_first():
    assert list(treatments_for("pythia")) == ["mse", "huber-log"] and default_treatment("pythia") == "mse"
    assert list(treatments_for("chinchilla")) == ["reference", *PLAIN] and default_treatment("chinchilla") == "reference"


def test_select_drops_the_highest_losses_only():
    frame = pd.DataFrame({"model": list("abcdefg"), "num_params": 1e8, "tokens": 1e9,
                          "loss": [3.0, 5.0, 2.0, 4.0, 6.0, 2.5, 7.0]})
    kept = REFERENCE["chinchilla"].select(frame)
    assert sorted(kept["loss"]) == [2.0, 2.5]
    assert len(PLAIN["mse"].select(frame)) == 7


@pytest.mark.mirror
def test_chinchilla_reference_gives_about_twenty_tokens_per_parameter(mirror, monkeypatch):
    """Epoch AI's treatment of the digitised points: about 20 tokens per parameter at 1e22
    FLOPs (Hoffmann et al.'s rule); squared error on every point gives about 4."""
    import toolkit

    monkeypatch.setenv("SCALING_TOOLKIT_MIRROR", str(mirror))
    runs = toolkit.load_collection(families=["chinchilla"], progress=False)
    reference = REFERENCE["chinchilla"].fit(runs)
    assert reference.status == "ok" and reference.n_points == len(runs.frame) - 5
    at = reference.law.optimal_allocation([1e22, 5.76e23])
    assert at["tokens_per_param"].tolist() == pytest.approx([20.06, 17.93], rel=0.01)
    plain = PLAIN["mse"].fit(runs).law.optimal_allocation(1e22)
    assert plain["tokens_per_param"].iloc[0] == pytest.approx(3.81, rel=0.02)
