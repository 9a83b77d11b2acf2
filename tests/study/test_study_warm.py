"""On the collection: bootstrap resamples warm-started at their cell's optimum reach the optimum
of the search from scratch (objective to 1e-9 relative), on a seeded sample of the study's cells."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from toolkit.collection import load_collection
from toolkit.evaluation import FamilyArrays
from toolkit.evaluation.designs import identified
from toolkit.evaluation.resampling import plan_draws
from toolkit.fitting import fit_arrays, fit_many
from toolkit.study import build_cells

pytestmark = pytest.mark.mirror


def test_warm_started_resamples_equal_the_cold_search(catalog):
    runs = load_collection(["pythia", "opt", "gpt3", "overtrain-c4", "datablations-contour-u400m"], catalog=catalog,
                           progress=False)
    cells = [c for fam in FamilyArrays.all(runs) for exp in ("grid", "windows", "scale_down", "trajectory", "borrow")
             for c in build_cells(fam, exp) if c.baseline is None and c.train.sum() >= 2 and c.test.any()
             and identified(c.n_sizes, c.fixed)]
    pick = np.random.default_rng(0).choice(len(cells), 40, replace=False)
    cells = [cells[i] for i in sorted(pick)]
    full = [fit_arrays(c.family.num_params[c.train], c.family.tokens[c.train], c.family.loss[c.train],
                       fixed=dict(c.fixed or {})) for c in cells]
    plan = plan_draws(cells, [f.status for f in full], 3, 0, starts=[f.law.values for f in full])
    assert len(plan.problems) > 60 and all(p.start is not None for p in plan.problems)
    warm = fit_many(plan.problems, n_jobs=1, progress=False)
    cold = fit_many([replace(p, start=None) for p in plan.problems], n_jobs=1, progress=False)
    for p, w, c in zip(plan.problems, warm, cold):
        floor = 1e-12 * float(np.mean(np.square(p.loss)))     # exact fits: both are round-off
        assert w.objective_value <= c.objective_value + 1e-9 * max(c.objective_value, floor), (
            w.objective_value, c.objective_value)
