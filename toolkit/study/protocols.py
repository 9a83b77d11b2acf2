"""The paper's protocol beside the corrected one (METHOD.md section 7)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.evaluation import (
    DEFAULT_CUT,
    NOT_IDENTIFIABLE,
)
from toolkit.fitting import PREDICTING
from toolkit.runs import Runs
from toolkit.study.cache import cached_frame, catalog_digest
from toolkit.study.config import StudyResult
from toolkit.study.experiments import paper_families
from toolkit.study.run import Workers, fit_blocks, run_study
from toolkit.units import format_size

_KEY = ["family", "experiment", "k", "p", "cut_tokens"]
#: The code of the comparison and the departures' effects: this module's closure, and the
#: paper's GPT-3 points read again from their file (imported inside a function).
_CODE = ("toolkit.study.protocols", "toolkit.sources.gpt3")
#: Differences of ARE below this many points are not attributed to a departure.
_NEGLIGIBLE = 0.05


def _departures(row: Mapping[str, Any], seeds: dict[str, int]) -> str:
    """The departures of the corrected protocol that apply to one cell, largest effect first."""
    data = []
    if row["family"] == "opt":
        data.append("loss: the paper fitted raw perplexity, the toolkit ln(perplexity) in nats")
    if row["family"] == "gpt3":
        data.append("loss: the paper fitted every digitised point, the toolkit averages duplicates")
    if row["n_points_paper"] != row["n_points_corrected"]:
        data.append("training set: the paper measured p against the longest run with a strict < "
                    f"({int(row['n_points_paper'])} vs {int(row['n_points_corrected'])} points)")
    if seeds.get(row["family"], 1) > 1:
        data.append(f"target: one run in the paper, all {seeds[row['family']]} runs of the largest size here")
    optimiser = []
    if row["status_paper"] == "failed":
        optimiser.append("fit: the paper's single-start curve_fit failed (the paper interpolated such cells)")
    elif math.isfinite(row["optimiser_effect"]) and abs(row["optimiser_effect"]) > _NEGLIGIBLE:
        optimiser.append("fit: the paper's single-start curve_fit stopped short of the global optimum")
    if row["status_corrected"] == NOT_IDENTIFIABLE:
        optimiser.append("two training sizes: not identifiable, the law is the tie-break's")
    data_effect = abs(row["data_effect"]) if math.isfinite(row["data_effect"]) else 0.0
    opt_effect = abs(row["optimiser_effect"]) if math.isfinite(row["optimiser_effect"]) else math.inf
    ordered = optimiser + data if opt_effect >= data_effect else data + optimiser
    return "; ".join(ordered) if ordered else "none: the two protocols agree"


def compare_protocols(paper: StudyResult, corrected: StudyResult, runs: Runs | None = None, *,
                      n_jobs: int | None = None, progress: bool = False, use_cache: bool = True,
                      cache_dir: str | Path | None = None) -> pd.DataFrame:
    """The paper's protocol beside the corrected one, cell by cell (``grid`` cells of both).

    A third fit separates the two kinds of departure: the corrected engine (global optimum)
    on the paper's training sets and losses. ``optimiser_effect`` = paper ARE minus that
    fit's ARE (what the single-start ``curve_fit`` costs); ``data_effect`` = that fit's ARE
    minus the corrected ARE (units, duplicates, selection rule, target runs).

    Parameters
    ----------
    paper, corrected
        :func:`run_study` results with ``protocol="paper"`` and ``"corrected"``.
    runs
        The runs both were computed on (default: the collection), to refit the paper's cells.
    n_jobs, progress
        Worker processes of the refits (``None``: as :func:`toolkit.fitting.fit_many`); progress bars.
    use_cache, cache_dir
        Cache the refits as :func:`run_study` caches its cells (same directory, keyed by the
        same code version), and the comparison by its inputs' content
        (:func:`~toolkit.study.cache.cached_frame`), so a second comparison computes nothing.

    Returns
    -------
    pandas.DataFrame
        family, experiment, k, p, cut_tokens, are_paper, are_paper_global_fit, are_corrected
        (fractions, in each protocol's own loss unit), difference (corrected minus paper, in
        points of ARE), optimiser_effect, data_effect (points), status_paper,
        status_corrected, n_points_paper, n_points_corrected, explained_by (every departure
        that applies, largest effect first), main_departure (the kind of the first: loss,
        training set, target, fit, two training sizes, or none).
    """
    runs = _or_collection(runs, progress)
    runs = runs.select(families=sorted(set(paper.table["family"])))

    def compute() -> pd.DataFrame:
        return _compare(paper, corrected, runs, n_jobs=n_jobs, progress=progress, use_cache=use_cache,
                        cache_dir=cache_dir)

    if not use_cache:
        return compute()
    inputs = {"paper": paper.table, "corrected": corrected.table[corrected.table["experiment"] == "grid"],
              "runs": runs.frame, "paper_config": paper.config.to_dict(), "spec": corrected.config.spec.to_dict(),
              "catalog": catalog_digest()}
    return cached_frame("comparison", _CODE, inputs, compute, directory=cache_dir)


def _compare(paper: StudyResult, corrected: StudyResult, runs: Runs, *, n_jobs: int | None, progress: bool,
             use_cache: bool, cache_dir: str | Path | None) -> pd.DataFrame:
    """:func:`compare_protocols` computed (its refits from the block cache with ``use_cache``)."""
    arrays = paper_families(runs)
    # the paper's objective (squared error of L) with the corrected protocol's law and engine
    with Workers(n_jobs) as workers:
        refit = fit_blocks({name: arrays[name] for name in sorted(arrays)}, ["grid"], paper.config, workers,
                           fitter="global", spec=corrected.config.spec.replace(objective="mse"), progress=progress,
                           use_cache=use_cache, cache_dir=cache_dir).table
    p = paper.table[paper.table["experiment"] == "grid"]
    c = corrected.table[corrected.table["experiment"] == "grid"]
    m = p[_KEY + ["are", "status", "n_points"]].merge(
        refit[_KEY + ["are"]].rename(columns={"are": "are_paper_global_fit"}), on=_KEY, how="left").merge(
        c[_KEY + ["are", "status", "n_points"]], on=_KEY, how="inner", suffixes=("_paper", "_corrected"))
    m["difference"] = 100 * (m["are_corrected"] - m["are_paper"])
    m["optimiser_effect"] = 100 * (m["are_paper"] - m["are_paper_global_fit"])
    m["data_effect"] = 100 * (m["are_paper_global_fit"] - m["are_corrected"])
    seeds = runs.frame.groupby("family").apply(
        lambda g: g.loc[g["num_params"] == g["num_params"].max(), "model"].nunique(), include_groups=False).to_dict()
    m["explained_by"] = [_departures(row, seeds) for row in m.to_dict("records")]
    # The kind of the largest departure (the text before its colon): a handful of values a chart
    # can colour by, where the explanations themselves are one per cell.
    m["main_departure"] = [s.split(";")[0].split(":")[0] for s in m["explained_by"]]
    return m[_KEY + ["are_paper", "are_paper_global_fit", "are_corrected", "difference", "optimiser_effect",
                     "data_effect", "status_paper", "status_corrected", "n_points_paper", "n_points_corrected",
                     "explained_by", "main_departure"]]


def departure_effects(comparison: pd.DataFrame, corrected: StudyResult, runs: Runs | None = None, *,
                      n_jobs: int | None = None, progress: bool = False, use_cache: bool = True,
                      cache_dir: str | Path | None = None) -> pd.DataFrame:
    """The measured effect of each departure from the paper's protocol, in points of ARE.

    Two departures are isolated by refitting the corrected protocol with only that one
    change: OPT fitted in raw perplexity instead of nats, and GPT-3 with every digitised point
    instead of averaged duplicates. The others come from :func:`compare_protocols`: the
    single-start optimiser (``optimiser_effect``) and the selection rules (p against the
    longest run with a strict ``<``, one target run; ``data_effect`` of the families whose loss
    is unchanged). The refits and the effects are cached as :func:`compare_protocols`'s
    (``use_cache``, ``cache_dir``).

    Returns
    -------
    pandas.DataFrame
        departure, families, n_cells, median_abs_effect, max_abs_effect (points of ARE, on the
        grid cells of both protocols), n_failed (cells the departure leaves without a law).
    """
    runs = _or_collection(runs, progress)

    def compute() -> pd.DataFrame:
        return _departure_effects(comparison, corrected, runs, n_jobs=n_jobs, progress=progress,
                                  use_cache=use_cache, cache_dir=cache_dir)

    if not use_cache:
        return compute()
    inputs = {"comparison": comparison, "corrected": corrected.table[corrected.table["experiment"] == "grid"],
              "runs": runs.frame, "config": corrected.config.to_dict(), "catalog": catalog_digest()}
    return cached_frame("departures", _CODE, inputs, compute, directory=cache_dir)


def _departure_effects(comparison: pd.DataFrame, corrected: StudyResult, runs: Runs, *, n_jobs: int | None,
                       progress: bool, use_cache: bool, cache_dir: str | Path | None) -> pd.DataFrame:
    """:func:`departure_effects` computed (its refits from the block cache with ``use_cache``)."""
    grid = corrected.table[corrected.table["experiment"] == "grid"]
    rows = []
    studied = set(comparison["family"]) & set(runs.frame["family"])
    paper = paper_families(runs.select(families=[f for f in ("opt", "gpt3") if f in studied])) \
        if studied & {"opt", "gpt3"} else {}
    config = replace(corrected.config, protocol="corrected")
    with Workers(n_jobs) as workers:
        refits = fit_blocks(paper, ["grid"], config, workers, progress=progress, use_cache=use_cache,
                            cache_dir=cache_dir)
    for family, name in (("opt", "loss in raw perplexity instead of nats (OPT)"),
                         ("gpt3", "every digitised point instead of averaged duplicates (GPT-3)")):
        if family not in paper:
            continue
        alt = refits.table.iloc[refits.rows[(family, "grid")]]
        m = alt[_KEY + ["are", "status"]].merge(grid[_KEY + ["are", "status"]], on=_KEY, suffixes=("_alt", ""))
        both = m[m["status"].isin(PREDICTING) & m["status_alt"].isin(PREDICTING)]
        effect = 100 * (both["are_alt"] - both["are"]).abs()
        rows.append({"departure": name, "families": family, "n_cells": len(both),
                     "median_abs_effect": _median_or_nan(effect), "max_abs_effect": _max_or_nan(effect),
                     "n_failed": int((~m["status_alt"].isin(PREDICTING) & m["status"].isin(PREDICTING)).sum())})
    opt = comparison["optimiser_effect"].abs()
    rows.append({"departure": "single-start curve_fit instead of the global optimum", "families": "all",
                 "n_cells": int(opt.notna().sum()), "median_abs_effect": _median_or_nan(opt),
                 "max_abs_effect": _max_or_nan(opt), "n_failed": int((comparison["status_paper"] == "failed").sum())})
    same_loss = comparison[~comparison["family"].isin(["opt", "gpt3"])]
    sel = same_loss["data_effect"].abs()
    rows.append({"departure": "selection: p against the longest run with a strict <, one target run",
                 "families": "all but opt, gpt3", "n_cells": int(sel.notna().sum()),
                 "median_abs_effect": _median_or_nan(sel), "max_abs_effect": _max_or_nan(sel), "n_failed": 0})
    return pd.DataFrame(rows)


def protocol_tables(result: StudyResult, runs: Runs | None = None, families: Iterable[str] | None = None, *,
                    n_jobs: int | None = None, progress: bool = False, use_cache: bool = True,
                    cache_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`compare_protocols` and :func:`departure_effects` of ``result`` (either protocol):
    the other protocol's ``grid`` is run on the same ``families`` of ``runs`` (default: the
    collection) with ``n_jobs`` workers (``None``: as :func:`toolkit.fitting.fit_many`); all
    of it cached as :func:`run_study` caches (``use_cache``, ``cache_dir``)."""
    other = "paper" if result.config.protocol == "corrected" else "corrected"
    runs = _or_collection(runs, progress)
    cached = {"n_jobs": n_jobs, "progress": progress, "use_cache": use_cache, "cache_dir": cache_dir}
    pair = {result.config.protocol: result,
            other: run_study(runs, families, experiments=["grid"], protocol=other, **cached)}
    comparison = compare_protocols(pair["paper"], pair["corrected"], runs, **cached)
    return comparison, departure_effects(comparison, pair["corrected"], runs, **cached)


def protocol_frame(comparison: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`compare_protocols` as the charts read it: adds ``cell`` (``k=3 p=100% cut 10B``),
    ``reason`` (the first departure that explains the difference) and, where the paper
    printed the cell, ``paper_figure`` (ARE %, from ``reference``: :func:`reference_cells`)."""
    out = comparison.assign(cell=[f"k={int(k)} p={p:.0%} cut {format_size(c) if c else 'none'}"
                                  for k, p, c in zip(comparison["k"], comparison["p"], comparison["cut_tokens"])],
                            reason=[str(r).split(";")[0] for r in comparison["explained_by"]])
    if reference is not None and len(reference):
        ref = reference[["family", "k", "p", "cut_tokens", "paper_figure"]]
        out = out.merge(ref, on=["family", "k", "p", "cut_tokens"], how="left")
    else:
        out = out.assign(paper_figure=np.nan)
    return out


def _or_collection(runs: Runs | None, progress: bool) -> Runs:
    """``runs``, or the collection when ``None`` (loaded once by :func:`protocol_tables` for both tables)."""
    if runs is None:
        from toolkit.collection import load_collection

        return load_collection(progress=progress)
    return runs


def _median_or_nan(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.median()) if len(x) else math.nan


def _max_or_nan(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.max()) if len(x) else math.nan


#: Reference cells of the paper's figures (METHOD.md section 7): (family, k, p, cut) -> ARE %.
PAPER_REFERENCE: dict[tuple[str, int, float, float], float] = {
    ("opt", 3, 1.0, 0.0): 15.48, ("opt", 4, 1.0, 0.0): 18.52, ("opt", 5, 1.0, 0.0): 17.03,
    ("gpt3", 6, 1.0, DEFAULT_CUT): 0.81, ("gpt3", 7, 1.0, DEFAULT_CUT): 2.69,
}


def reference_cells(comparison: pd.DataFrame) -> pd.DataFrame:
    """The cells of :data:`PAPER_REFERENCE` in a :func:`compare_protocols` table: family, k,
    p, cut_tokens, paper_figure (ARE % read off the paper), are_paper (this toolkit's paper
    protocol, %), are_corrected (%)."""
    rows = []
    for (family, k, p, cut), figure in PAPER_REFERENCE.items():
        hit = comparison[(comparison["family"] == family) & (comparison["k"] == k)
                         & np.isclose(comparison["p"], p) & (comparison["cut_tokens"] == cut)]
        rows.append({"family": family, "k": k, "p": p, "cut_tokens": cut, "paper_figure": figure,
                     "are_paper": 100 * float(hit["are_paper"].iloc[0]) if len(hit) else math.nan,
                     "are_corrected": 100 * float(hit["are_corrected"].iloc[0]) if len(hit) else math.nan})
    return pd.DataFrame(rows)
