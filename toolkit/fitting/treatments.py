"""How a family's points are fitted: the objective and which points are left out first.

A :class:`Treatment` is a named, frozen recipe: a :class:`~toolkit.fitting.FitSpec` and a rule
for the points it drops before fitting. Most families are fitted as they are; a family whose
published analysis used another recipe has it in :data:`REFERENCE`, so that a reader sees the
published answer first and what the plain fit gives beside it.

- ``chinchilla`` (the 245 points Epoch AI digitised from Hoffmann et al. 2022, Figure 4):
  Besiroglu et al. 2024 ("Chinchilla Scaling: A replication attempt") fit Huber loss on log
  residuals (delta 1e-3) after dropping the five highest-loss points (models of 2-7B
  parameters trained on under a billion tokens, at most 0.4 tokens per parameter: the far
  edge of the smallest iso-FLOP curve, 3.4-5.0 nats against 2-3.3 for the rest). That gives
  about 20 tokens per parameter at 1e22 FLOPs, Hoffmann et al.'s rule. Squared error on all
  points lets those few points, whose errors are largest in nats, pull the D exponent up
  (beta about 0.66 against 0.37) and gives about 4 tokens per parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from toolkit.fitting.engine import fit
from toolkit.fitting.points import frame_of
from toolkit.fitting.result import FitResult
from toolkit.fitting.spec import FitSpec
from toolkit.runs import Runs


@dataclass(frozen=True)
class Treatment:
    """A fitting recipe: ``spec`` on the points left after dropping the ``drop_highest_loss``
    points of highest loss.

    Attributes
    ----------
    label
        A short name for a button or a table.
    description
        What the recipe does, in words.
    spec
        What to fit.
    drop_highest_loss
        Points of highest loss (nats per token) left out before fitting.
    citation
        Who used the recipe (empty for the toolkit's own plain fits).
    why
        Why it departs from a plain fit, in a sentence (empty for the plain fits).
    """

    label: str
    description: str
    spec: FitSpec = field(default_factory=FitSpec)
    drop_highest_loss: int = 0
    citation: str = ""
    why: str = ""

    def select(self, data: Runs | pd.DataFrame) -> pd.DataFrame:
        """The points this recipe fits (a frame with the columns of ``data``)."""
        frame = frame_of(data)
        if self.drop_highest_loss:
            frame = frame.drop(frame["loss"].nlargest(self.drop_highest_loss).index)
        return frame

    def fit(self, data: Runs | pd.DataFrame) -> FitResult:
        """The fit of :meth:`select` under :attr:`spec`."""
        return fit(self.select(data), self.spec)


#: The plain recipes, by name: every point, squared error or Huber on log residuals.
PLAIN: Mapping[str, Treatment] = MappingProxyType({
    "mse": Treatment("squared error", "squared error on L, every point", FitSpec(objective="mse")),
    "huber-log": Treatment("Huber on log", "Huber on log residuals (delta 1e-3), every point",
                           FitSpec(objective="huber-log")),
})

#: Published recipes of families of the collection, by family.
REFERENCE: Mapping[str, Treatment] = MappingProxyType({
    "chinchilla": Treatment(
        "reference (Epoch AI)", "Huber on log residuals (delta 1e-3), the 5 highest-loss points dropped",
        FitSpec(objective="huber-log", delta=1e-3), drop_highest_loss=5,
        citation="Besiroglu et al. 2024, Epoch AI's replication of Chinchilla",
        why="the 5 dropped points are 2-7B models trained on under a billion tokens, whose residuals dominate "
            "squared error in nats and pull the D exponent up"),
})


def treatments_for(family: str) -> dict[str, Treatment]:
    """The recipes offered for ``family``: ``"reference"`` first where it has one, then
    :data:`PLAIN`."""
    out = {"reference": REFERENCE[family]} if family in REFERENCE else {}
    return {**out, **PLAIN}


def default_treatment(family: str) -> str:
    """``"reference"`` for a family with a published recipe, else ``"mse"``."""
    return "reference" if family in REFERENCE else "mse"
