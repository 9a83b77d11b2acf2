"""Scaling-law forms: prediction, immutability, fixing, export."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from toolkit.errors import FitError, LawError
from toolkit.laws import MUENNIGHOFF, Chinchilla, DataConstrained, Param, ScalingLaw, Tied, effective_tokens, get_law


def test_defaults_are_muennighoff_estimates() -> None:
    law = Chinchilla()
    assert list(law.params) == ["E", "A", "B", "alpha", "beta"]
    assert law.params["A"].value == pytest.approx(math.exp(6.255414))
    assert law.params["E"].value == pytest.approx(math.exp(0.6254804))
    assert law.params["alpha"].value == law.params["beta"].value == pytest.approx(0.3526596)
    assert all(p.lower == 0 for p in law.params.values())
    assert not any(p.fixed for p in law.params.values())


def test_predict_known_value_and_vectorised() -> None:
    law = Chinchilla(E=1.0, A=100.0, B=1000.0, alpha=0.5, beta=0.5)
    assert float(law.predict(1e4, 1e6)) == pytest.approx(1.0 + 100 / 100 + 1000 / 1000)
    n = np.array([1e6, 1e8])
    out = law.predict(n[:, None], np.array([1e9, 1e10, 1e11])[None, :])
    assert out.shape == (2, 3)
    assert np.all(np.diff(out, axis=1) < 0) and np.all(np.diff(out, axis=0) < 0)


def test_with_values_and_fix_return_new_laws() -> None:
    law = Chinchilla()
    moved = law.with_values(E=2.0)
    assert moved.params["E"].value == 2.0 and not moved.params["E"].fixed
    assert law.params["E"].value == pytest.approx(MUENNIGHOFF["E"])
    fixed = law.fix(A=500.0, alpha=0.3)
    assert fixed.free == ("E", "B", "beta")
    assert fixed.params["A"] == Param("A", 500.0, True, 0.0, math.inf)
    assert fixed.unfix("A").free == ("E", "A", "B", "beta")
    with pytest.raises(FitError, match="no parameter gamma"):
        law.fix(gamma=1.0)


def test_tied_uses_one_exponent() -> None:
    law = Tied(E=1.0, A=10.0, B=20.0, alpha=0.5)
    assert list(law.params) == ["E", "A", "B", "alpha"]
    assert float(law.predict(100.0, 400.0)) == pytest.approx(1 + 1 + 1)


def test_data_constrained_reduces_to_chinchilla_for_one_epoch() -> None:
    dc = DataConstrained(E=1.5, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    ch = Chinchilla(E=1.5, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    assert float(dc.predict(1e8, 1e10)) == pytest.approx(float(ch.predict(1e8, 1e10)))
    # Repeating 1e9 unique tokens 10 times is worth less than 1e10 fresh tokens.
    assert float(dc.predict(1e8, 1e10, unique_tokens=1e9)) > float(ch.predict(1e8, 1e10))
    d_eff = effective_tokens(np.array([2e9]), np.array([1e9]), 15.4)
    assert 1e9 < d_eff[0] < 2e9


def test_export_and_repr() -> None:
    law = Chinchilla().fix(alpha=0.3)
    assert law.to_dict()["params"]["alpha"] == {"value": 0.3, "fixed": True, "lower": 0.0, "upper": 3.0}
    assert ScalingLaw.from_dict(law.to_dict()) == law
    frame = law.to_frame()
    assert frame.shape == (1, 6) and frame.loc[0, "law"] == "chinchilla"
    assert "alpha=0.3 (fixed)" in repr(law)
    assert pickle.loads(pickle.dumps(law)) == law


def test_get_law() -> None:
    assert isinstance(get_law("tied"), Tied)
    with pytest.raises(FitError, match="unknown law"):
        get_law("kaplan2")


def test_ties() -> None:
    law = Chinchilla(alpha=0.4).tie(beta="alpha")
    assert law.values["beta"] == 0.4 and law.n_term == ("A", "alpha") and law.d_term == ("B", "alpha")
    assert law.with_values(alpha=0.5).values["beta"] == 0.5
    assert float(law.predict(1e8, 1e10)) == pytest.approx(float(Chinchilla(alpha=0.4, beta=0.4).predict(1e8, 1e10)))
    assert ScalingLaw.from_dict(law.to_dict()) == law and pickle.loads(pickle.dumps(law)) == law
    assert "beta=alpha" in repr(law) and law != Chinchilla(alpha=0.4, beta=0.4)
    assert law.untie("beta").free == ("E", "A", "B", "alpha", "beta")
    with pytest.raises(FitError, match="beta is tied to alpha"):
        law.fix(beta=0.3)
    with pytest.raises(FitError, match="only the exponents"):
        Chinchilla().tie(E="alpha")
    with pytest.raises(FitError, match="fixed; unfix it"):
        Chinchilla().fix(beta=0.3).tie(beta="alpha")


def test_law_problems_are_law_errors_that_fit_handlers_still_catch() -> None:
    with pytest.raises(LawError, match="no parameter gamma"):
        Chinchilla().fix(gamma=1.0)
    with pytest.raises(LawError, match="unknown law"):
        get_law("cubic")
    assert issubclass(LawError, FitError)


@pytest.mark.parametrize("law", [Chinchilla(E=1.0, A=100.0, B=1000.0, alpha=0.5, beta=0.4),
                                 DataConstrained(E=1.0, A=100.0, B=1000.0, alpha=0.5, beta=0.4, r_star=5.0)])
def test_evaluate_at_other_values(law) -> None:
    n, d = np.array([1e6, 1e8]), np.array([1e9, 1e10])
    assert np.array_equal(law.evaluate(law.values, n, d), law.predict(n, d))
    moved = {**law.values, "E": 2.0}
    assert np.allclose(law.evaluate(moved, n, d), law.with_values(E=2.0).predict(n, d), rtol=0, atol=1e-15)
    if isinstance(law, DataConstrained):
        u = d / 4
        assert np.array_equal(law.evaluate(law.values, n, d, u), law.predict(n, d, unique_tokens=u))
