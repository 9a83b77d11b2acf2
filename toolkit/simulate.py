"""Synthetic families drawn from a known law: what would the method do on data whose right
answer is known?

Units throughout: ``num_params`` (N) in parameters, ``tokens`` (D) in tokens seen, ``loss`` in
nats per token, noise as a relative standard deviation (0.01 is 1% of the loss).

Examples
--------
>>> from toolkit import simulate
>>> runs = simulate.family({"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28},
...                        sizes=(2e7, 1e8, 5e8), tokens=np.geomspace(1e8, 1e11, 20), noise=0.005)
>>> len(runs.frame), sorted(runs.frame["num_params"].unique().tolist())
(60, [20000000, 100000000, 500000000])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.laws import Chinchilla, ScalingLaw
from toolkit.runs import Runs

__all__ = ["SIZES", "TRUE", "arrays", "family", "true_law"]

#: The law of the toolkit's synthetic examples (Chinchilla form; E in nats per token), of the size
#: of the laws fitted to the collection.
TRUE = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
#: The default sizes of a synthetic family, in parameters (20M to 1.6B).
SIZES = (20e6, 50e6, 120e6, 300e6, 700e6, 1.6e9)


def true_law(law: ScalingLaw | Mapping[str, float] = TRUE, form: type[ScalingLaw] = Chinchilla) -> ScalingLaw:
    """The law to draw from: a :class:`~toolkit.laws.ScalingLaw` as given, or the values (a
    mapping name -> value) of a law of ``form`` with its bounds opened, so a truth outside the
    fit's bounds (a negative E, to put the optimum on a wall) can still be drawn from."""
    if isinstance(law, ScalingLaw):
        return law
    free = {k: (-math.inf, math.inf) for k in law}
    return form().with_bounds(**free).with_values(**law)


def family(
    law: ScalingLaw | Mapping[str, float] = TRUE,
    sizes: Sequence[float] = SIZES,
    tokens: Sequence[float] | Mapping[float, Sequence[float]] | None = None,
    *,
    noise: float = 0.0,
    run_noise: float = 0.0,
    early_noise: float = 0.0,
    early_tokens: float = 10e9,
    seeds: int = 1,
    seed: int | np.random.Generator = 0,
    name: str = "synth",
    source: str = "simulated",
) -> Runs:
    """Runs of one family drawn from ``law``: every size trained ``seeds`` times, evaluated at
    ``tokens``.

    Parameters
    ----------
    law
        The true law (:func:`true_law`): a law with values, or Chinchilla values.
    sizes
        N of each size, in parameters.
    tokens
        D of the checkpoints, in tokens: one grid for every size, or a mapping size -> grid
        (runs of different lengths). Default: 20 log-spaced checkpoints from 1e8 to 1e11.
    noise
        Relative standard deviation of each checkpoint's loss (independent normal draws).
    run_noise
        Relative standard deviation of a run's offset, shared by its checkpoints (seed-to-seed
        variation).
    early_noise
        One-sided extra relative noise, uniform in [0, ``early_noise``), on checkpoints at or
        before ``early_tokens`` tokens (like early loss spikes).
    seeds
        Runs per size (model ids end in ``-s<seed>`` when more than one).
    seed
        Seed of the random draws, or a ``numpy.random.Generator``. Draws are made run by run
        (size-major, then seed): the run offset when ``run_noise`` > 0, then one normal per
        checkpoint, then one uniform per early checkpoint when ``early_noise`` > 0.
    name
        The family id; model ids are ``<name>-<N>``.
    source
        What the rows name as their origin (``source`` column): studies that weigh independent
        sources give each simulated family its own.

    Returns
    -------
    Runs
        One row per checkpoint: ``loss`` = L(N, D) x (1 + offset + noise x z) x (1 + early),
        in nats per token; ``seed`` is the run's seed (0 .. seeds - 1).
    """
    truth = true_law(law)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    default = np.geomspace(1e8, 1e11, 20)
    rows = []
    for n in sizes:
        if isinstance(tokens, Mapping):
            d = np.asarray(tokens[n], dtype=float)
        else:
            d = default if tokens is None else np.asarray(tokens, dtype=float)
        for s in range(seeds):
            offset = run_noise * rng.standard_normal() if run_noise > 0 else 0.0
            loss = truth.predict(n, d) * (1 + offset + noise * rng.standard_normal(len(d)))
            if early_noise > 0:
                early = d <= early_tokens
                loss[early] *= 1 + early_noise * rng.random(int(early.sum()))
            model = f"{name}-{int(n)}" + (f"-s{s}" if seeds > 1 else "")
            rows.append(pd.DataFrame({"family": name, "model": model, "num_params": n, "tokens": d,
                                      "loss": loss, "seed": s, "source": source}))
    with warnings.catch_warnings():   # a law may be drawn far above real losses: the unit is known
        warnings.filterwarnings("ignore", message=".*looks like a perplexity")
        return Runs.from_frame(pd.concat(rows, ignore_index=True), name=f"simulated family {name}")


def arrays(runs: Runs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(num_params, tokens, loss)`` of a family as float arrays (parameters, tokens,
    nats per token), in row order: the input of :func:`toolkit.fitting.fit_arrays`."""
    f = runs.frame
    return (f["num_params"].to_numpy(float), f["tokens"].to_numpy(float), f["loss"].to_numpy(float))
