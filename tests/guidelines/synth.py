"""Synthetic families drawn from a known law, so every guideline has a known right answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.runs import Runs

#: The true law of the synthetic families (E in nats per token).
TRUE = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
SIZES = (20e6, 50e6, 120e6, 300e6, 700e6, 1.6e9)


def law(n: np.ndarray, d: np.ndarray, params: dict = TRUE) -> np.ndarray:
    return params["E"] + params["A"] / n ** params["alpha"] + params["B"] / d ** params["beta"]


def make_family(
    name: str = "synth",
    sizes: tuple[float, ...] = SIZES,
    params: dict = TRUE,
    d_max: float = 1e11,
    n_ckpt: int = 20,
    noise: float = 0.0,
    early_noise: float = 0.0,
    seed: int = 0,
) -> Runs:
    """Runs of one family: every size trained to ``d_max`` tokens with ``n_ckpt`` log-spaced
    checkpoints from 1e8 tokens; multiplicative noise everywhere (``noise``) and extra noise
    on checkpoints at or before 10B tokens (``early_noise``, one-sided like loss spikes)."""
    rng = np.random.default_rng(seed)
    rows = []
    d = np.geomspace(1e8, d_max, n_ckpt)
    for n in sizes:
        loss = law(n, d, params) * (1 + noise * rng.standard_normal(len(d)))
        early = d <= 10e9
        loss[early] *= 1 + early_noise * rng.random(early.sum())
        rows += [{"family": name, "model": f"{name}-{int(n)}", "num_params": n, "tokens": t, "loss": value}
                 for t, value in zip(d, loss)]
    return Runs.from_frame(pd.DataFrame(rows))
