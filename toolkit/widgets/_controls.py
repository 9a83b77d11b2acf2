"""The controls several panels share, each built with the check of its notebook parameter.

A factory refuses a value the control would clamp, snap or swap (``DataError`` naming the
parameter and what is allowed) and labels the control as every panel does, so that people,
screen readers and the browser tests find the same words in every notebook.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.runs import Runs
from toolkit.study import MACRO
from toolkit.units import format_size
from toolkit.widgets._parameters import check_fraction, check_objective, check_parameter

#: Early-checkpoint cuts offered by the fit's slider (label -> tokens).
CUTS: dict[str, float] = {"none": 0.0, "100M": 1e8, "1B": 1e9, "3B": 3e9, "10B": 1e10, "30B": 3e10}
#: The fit objectives as the toggle shows them (label, objective).
OBJECTIVES: tuple[tuple[str, str], ...] = (("squared error", "mse"), ("Huber on log", "huber-log"))


def families_with_sizes(runs: Runs, min_sizes: int, panel: str) -> list[str]:
    """The families of ``runs`` with at least ``min_sizes`` distinct sizes (num_params), sorted;
    ``DataError`` naming ``panel`` when there is none."""
    n_sizes = runs.frame.groupby("family", observed=True)["num_params"].nunique()
    families = [f for f in runs.families if n_sizes.get(f, 0) >= min_sizes]
    if not families:
        raise DataError(f"{panel} needs a family with at least {min_sizes} distinct sizes (num_params); "
                        f"got {', '.join(runs.families) or 'no rows'}")
    return families


def family_dropdown(families: Sequence[str], family: str | None, *, eligible: str) -> W.Dropdown:
    """The family control over ``families``, starting at ``family`` (None: the first). ``eligible``
    says which families are offered, for the error naming a family that is not."""
    family = family or families[0]
    check_parameter("family", family, family in families, f"{eligible}, one of {', '.join(families)}")
    return W.Dropdown(options=list(families), value=family, description="family")


def study_family_dropdown(cells: pd.DataFrame, family: str, *, what: str) -> W.Dropdown:
    """The family control of a panel on the study's ``cells``: every family they hold, and first
    :data:`MACRO` (all of them); ``what`` names the cells in the errors."""
    families = sorted(cells["family"].unique())
    if not families:
        raise DataError(f"the study table has no {what}")
    return family_dropdown([MACRO, *families], family, eligible=f"a family with {what} or {MACRO!r}")


def p_slider(value: float, description: str = "fraction of each run's tokens (p)") -> W.FloatSlider:
    """The fraction of training, 10% .. 100% in steps of 10% (``value`` checked on that grid)."""
    check_fraction(value)
    return W.FloatSlider(value=value, min=0.1, max=1.0, step=0.1, readout_format=".0%", description=description,
                         continuous_update=False)


def cut_label(cut: float) -> str:
    """An early-checkpoint cut as the toggles and titles say it: ``no cut``, ``cut 10B tokens``."""
    return "no cut" if cut == 0 else f"cut {format_size(cut)} tokens"


def cut_toggle(cuts: Sequence[float], value: float, *, source: str = "the study") -> W.ToggleButtons:
    """One button per early-checkpoint cut of ``source`` (its table's cuts), starting at ``value``."""
    cuts = sorted({float(c) for c in cuts})
    near = [c for c in cuts if np.isclose(c, value)]
    if not near:
        raise DataError(f"{source} has no cut {value:g} tokens (has {', '.join(f'{c:g}' for c in cuts)})")
    return W.ToggleButtons(options=[(cut_label(c), c) for c in cuts], value=near[0],
                           description="early-checkpoint cut")


def cut_slider(cuts: Sequence[float], value: float, *, allowed: str) -> W.SelectionSlider:
    """A slider over early-checkpoint cuts (tokens; ``none``, ``1B``, ...), starting at ``value``,
    which must be one of them (``allowed`` says so in the error)."""
    cuts = sorted({float(c) for c in cuts})
    check_parameter("cut", value, value in cuts, allowed)
    return W.SelectionSlider(options=[("none" if c == 0 else format_size(c), c) for c in cuts], value=float(value),
                             description="drop checkpoints below (tokens)", continuous_update=False)


def objective_toggle(value: str) -> W.ToggleButtons:
    """Squared error or Huber on log residuals."""
    check_objective(value)
    return W.ToggleButtons(options=list(OBJECTIVES), value=value, description="objective")


__all__ = ("CUTS", "OBJECTIVES", "cut_label", "cut_slider", "cut_toggle", "families_with_sizes", "family_dropdown",
           "objective_toggle", "p_slider", "study_family_dropdown")
