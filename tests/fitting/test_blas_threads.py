"""Every fit runs with one BLAS thread (toolkit.fitting.blas), whatever the caller's setting."""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info, threadpool_limits

import toolkit.fitting.engine as engine
from toolkit.fitting import bootstrap, fit, fit_arrays
from toolkit.fitting.blas import one_thread


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_a_fit_reads_one_blas_thread_inside_and_restores_the_callers(monkeypatch):
    seen: list[list[int]] = []
    real = engine.fit_separable

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "fit_separable", spy)
    n = np.repeat([1e8, 3e8, 1e9], 8)
    d = np.tile(np.geomspace(1e9, 1e11, 8), 3)
    y = 1.8 + 400 / n ** 0.34 + 410 / d ** 0.28
    frame = pd.DataFrame({"model": n.astype(str), "num_params": n, "tokens": d, "loss": y})
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        fit_arrays(n, d, y)
        fit(frame, objective="huber-log")
        bootstrap(frame, n=3, seed=0)
        after = _blas_threads()
    assert seen and all(threads == [1] * len(threads) for threads in seen), seen
    assert after == before                      # the caller's setting is back


def test_a_fit_inside_a_pinned_batch_keeps_one_thread_and_leaves_it_so():
    # A pinned worker or a batch's context is already at one thread: the fit's own context must
    # neither raise the count nor reset it on exit.
    n = np.repeat([1e8, 3e8, 1e9], 8)
    d = np.tile(np.geomspace(1e9, 1e11, 8), 3)
    y = 1.8 + 400 / n ** 0.34 + 410 / d ** 0.28
    with threadpool_limits(limits=1, user_api="blas"):
        with one_thread():
            assert _blas_threads() == [1] * len(_blas_threads())
        assert fit_arrays(n, d, y).ok
        assert _blas_threads() == [1] * len(_blas_threads())
    with threadpool_limits(limits=2, user_api="blas"):
        with one_thread():
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {2}
