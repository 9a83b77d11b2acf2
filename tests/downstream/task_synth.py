"""A synthetic ladder with known answers: a task loss law and a sigmoid link."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.downstream.link import sigmoid

E, A, ALPHA, B, BETA = 0.6, 40.0, 0.3, 60.0, 0.3  # the task loss law (bits per byte)
LINK = (-0.75, 1.1, 6.0, 1.0)  # a, x0, k, b: chance 0.25, ceiling 1
SIZES = (20e6, 50e6, 120e6, 300e6, 700e6)


def task_loss(n, d):
    return E + A / np.asarray(n, float) ** ALPHA + B / np.asarray(d, float) ** BETA


def ladder_log(seed: int = 0, noise: float = 0.0, flat: bool = False) -> pd.DataFrame:
    """A wide log: every size at 1, 2, 5 x 20 N tokens, 10 checkpoints each, plus a rerun of 1x."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in SIZES + (5e9,):
        for mult, rerun in ((1, False), (1, True), (2, False), (5, False)) if n < 5e9 else ((1, False),):
            final = 20 * n * mult
            for d in np.linspace(final / 10, final, 10):
                x = task_loss(n, d)
                acc = 0.25 + rng.normal(0, 0.01) if flat else sigmoid(x, *LINK) + rng.normal(0, noise)
                rows.append({"model": f"{n:g}-{mult}x" + ("-rerun" if rerun else ""), "num_params": int(n),
                             "tokens": d, "seed": int(rerun), "task/acc": float(np.clip(acc, 0, 1)),
                             "task/bpb": float(x)})
    return pd.DataFrame(rows)
