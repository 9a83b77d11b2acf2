"""A small study table with known ARE patterns, shared by the study's and the panels' tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def study_table() -> pd.DataFrame:
    """Two families (6 and 4 sizes); ARE falls with k and p and the cut, k = 2 at p < 0.3 has
    no identified law."""
    rows = []
    for family, n_sizes in (("fam-a", 6), ("fam-b", 4)):
        for cut in (0.0, 1e10):
            for k in range(2, n_sizes):
                for p in np.round(np.arange(0.1, 1.01, 0.1), 1):
                    are = 0.02 * (n_sizes - k) + 0.05 * (1 - p) + (0.1 if cut == 0 else 0.0)
                    rows.append({"family": family, "experiment": "grid", "k": k, "p": p, "cut_tokens": cut,
                                 "are": are, "status": "not_identifiable" if k == 2 and p < 0.3 else "ok",
                                 "cost_fraction": 0.02 * k * p, "signed_error": are})
    return pd.DataFrame(rows)
