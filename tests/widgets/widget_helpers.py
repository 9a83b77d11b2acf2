"""Synthetic data of the panel tests (families with known laws, hand-made study tables) and the
checks every panel passes. Named apart from tests/guidelines/synth.py: test helpers share one
import namespace."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.runs import Runs
from toolkit.widgets import Panel


def law(n, d, E=1.8, A=420.0, B=2400.0, alpha=0.34, beta=0.29):
    return E + A / np.asarray(n, float) ** alpha + B / np.asarray(d, float) ** beta


def two_families() -> Runs:
    """Two families with known laws: 6 and 4 sizes, 30 checkpoints each from 1B to 300B tokens."""
    rng = np.random.default_rng(0)
    rows = []
    for family, sizes, E in (("alpha-fam", (5e7, 1e8, 2e8, 4e8, 8e8, 3e9), 1.8), ("beta-fam", (1e8, 3e8, 1e9, 4e9), 2.1)):
        for n in sizes:
            for d in np.geomspace(1e9, 3e11, 30):
                rows.append({"family": family, "model": f"{family}-{n:.0e}", "num_params": n, "tokens": d,
                             "loss": float(law(n, d, E=E)) * (1 + 0.003 * rng.standard_normal())})
    return Runs.from_frame(pd.DataFrame(rows))


#: (family, sizes, E, A, alpha, B, beta): LM-like laws, and one family on a tiny-loss metric
#: (like T5-Pile's r-denoiser loss) that a borrowed LM N term cannot fit.
LAWS = (
    ("fam-a", (4e7, 8e7, 1.6e8, 3.2e8, 6.4e8, 1.3e9), 1.8, 420.0, 0.34, 2400.0, 0.29),
    ("fam-b", (5e7, 1e8, 2e8, 4e8, 8e8), 2.0, 900.0, 0.40, 900.0, 0.25),
    ("fam-c", (6e7, 1.2e8, 2.4e8, 4.8e8, 1e9), 1.6, 250.0, 0.30, 5000.0, 0.33),
    ("fam-d", (3e7, 9e7, 2.7e8, 8.1e8, 2.4e9), 1.9, 1500.0, 0.45, 1500.0, 0.27),
    ("tiny", (1e8, 3e8, 1e9, 3e9), 0.02, 2.0, 0.30, 4.0, 0.25),
)


def five_families() -> Runs:
    """The families of :data:`LAWS`, 25 checkpoints each from 2B to 300B tokens."""
    rng = np.random.default_rng(0)
    rows = []
    for family, sizes, E, A, alpha, B, beta in LAWS:
        for n in sizes:
            for d in np.geomspace(2e9, 3e11, 25):
                loss = E + A / n ** alpha + B / d ** beta
                rows.append({"family": family, "model": f"{family}-{n:.0e}", "num_params": n, "tokens": d,
                             "loss": loss * (1 + 0.002 * rng.standard_normal())})
    return Runs.from_frame(pd.DataFrame(rows))


def design_table() -> pd.DataFrame:
    """Grid, windows and partial cells of two families with known ARE patterns."""
    rows = []
    for family, n_sizes in (("fam-a", 6), ("fam-b", 4)):
        target = 1e10
        for k in range(2, n_sizes):
            for p in (0.5, 1.0):
                rows.append({"family": family, "experiment": "grid", "k": k, "p": p, "cut_tokens": 1e10,
                             "are": 0.1 / k, "status": "not_identifiable" if k == 2 else "ok",
                             "cost_fraction": 0.01 * k * p, "target_params": target,
                             "largest_train_params": target / 10 ** (n_sizes - k)})
            for start in range(n_sizes - k):
                largest = target / 2 ** (start + 1)
                rows.append({"family": family, "experiment": "windows", "k": k, "p": 1.0, "cut_tokens": 1e10,
                             "are": 0.01 * (start + 1), "status": "ok", "cost_fraction": 0.1,
                             "target_params": target, "largest_train_params": largest})
        for k in (1, n_sizes - 1):
            for p in np.round(np.arange(0.1, 1.0, 0.1), 1):
                rows.append({"family": family, "experiment": "partial", "k": k, "p": p, "cut_tokens": 0.0,
                             "are": (0.2 if k == 1 else 0.1) * (1 - p), "status": "ok",
                             "cost_fraction": p + (0.2 if k > 1 else 0.0), "target_params": target,
                             "largest_train_params": target})
    return pd.DataFrame(rows)


def comparison() -> pd.DataFrame:
    """A protocol comparison of two families: the paper's protocol 3x the corrected ARE for opt."""
    rows = []
    for family, scale in (("opt", 3.0), ("gpt3", 1.0)):
        for cut in (0.0, 1e10):
            for k in (2, 3, 4):
                for p in (0.5, 1.0):
                    rows.append({"family": family, "experiment": "grid", "k": k, "p": p, "cut_tokens": cut,
                                 "are_paper": 0.05 * scale * k * p, "are_corrected": 0.05 * k * p,
                                 "status_paper": "ok", "status_corrected": "ok",
                                 "explained_by": "loss: raw perplexity; fit" if family == "opt" else "none"})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ checks
def spec_of(panel: Panel, name: str) -> dict:
    return panel.charts()[name].to_dict()


def rows(panel: Panel, name: str) -> list[dict]:
    """Every data row of chart ``name``."""
    return [r for v in spec_of(panel, name).get("datasets", {}).values() for r in v]


def live(panel: Panel, name: str):
    """The live chart on screen: the one child of its slot, labelled for people and tests."""
    (chart,) = panel._slots[name].children
    assert chart is panel._views[name] and f"st-chart-{name}" in chart._dom_classes
    return chart


def drawn_rows(spec: dict) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


def check_controls(panel: Panel) -> None:
    """Every control has a label and its CSS class; every chart has a title."""
    for name, control in panel.controls.items():
        assert control.description, f"control {name} has no label"
        assert f"st-{name}" in control._dom_classes
    for name in panel.chart_names:
        assert panel.charts()[name].to_dict()["title"]["text"]
