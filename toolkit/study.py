"""The meta-analysis: every design of METHOD.md section 5 on every eligible family, cached.

:func:`run_study` builds the cells of each experiment for each family as plain arrays, fits
them all in one parallel batch (:func:`toolkit.fitting.fit_many`), evaluates them on the target,
and returns one tidy table (:data:`COLUMNS`). :func:`aggregate` summarises it per family and
macro-averaged across families, :func:`verdicts` turns it into one measured statement per
guideline of METHOD.md section 4, and :func:`write_study` writes everything to a directory.

Experiments
-----------
``grid``
    k smallest sizes below the target x p (fraction of each run's own tokens, 0.1..1.0) x cut
    (0 and 10B tokens). Families need 3 sizes or more.
``final_only``
    As ``grid`` at p = 1 but on each run's final checkpoint only (guideline 2: whole curves vs
    final losses); only families with intermediate checkpoints. Not in the issue's list: added
    because guideline 2 cannot be measured otherwise.
``windows``
    Sliding windows of k consecutive sizes below the target, at p = 1 and the family's cut.
``borrow``
    Each size below the target alone (k = 1) x p, A and alpha borrowed from the Muennighoff et
    al. estimates. Families need 2 sizes or more.
``partial``
    The target's own first p of tokens: k = 1 with A, alpha borrowed; k = n with all smaller
    sizes added (nothing borrowed).
``scale_down``
    k largest sizes x p predict the *smallest* size.
``baseline_best``, ``baseline_compute``
    On the ``grid`` cells: predict the lowest training loss seen / the loss of the
    largest-compute training run (no fit).

The family's cut (``windows``, ``borrow``, ``partial``, ``scale_down``) is 10B tokens when
the family has non-target checkpoints beyond 10B, else 0 (recorded in ``cut_tokens``).

Families with many sizes (e.g. the final-only Chinchilla grid, 142 sizes) use every k up to
``k_max_dense`` and then ``k_sparse`` log-spaced k up to all sizes; windows are capped at
12 per k. Cells with an empty training set are recorded with status ``no_data``, cells with
a single point or an undetermined law with the fit's status; none is dropped or interpolated.

Caching
-------
Each (family, experiment) block is cached as Parquet under
``toolkit.catalog.default_cache_dir() / "study"``, keyed by a SHA-256 of the family's rows,
the study configuration, the toolkit version and the source code of the modules that
compute it, so an unchanged study is read back instantly and a changed family or
configuration recomputes only what changed; the whole table of an exact study is also
stored as one file, so an unchanged re-run reads a single Parquet file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.guidelines import budget, structure
from toolkit.guidelines._core import (
    COLUMNS,
    DEFAULT_CUT,
    NO_DATA,
    P_GRID,
    PREDICTING,
    Cell,
    FamilyArrays,
    family_cut,
    k_values,
    run_cells,
)
from toolkit.guidelines.borrow import borrow_cells
from toolkit.guidelines.checkpoints import final_only_cells
from toolkit.guidelines.partial import partial_cells
from toolkit.guidelines.selection import grid_cells, scale_down_cells, window_cells
from toolkit.runs import Runs

EXPERIMENTS: tuple[str, ...] = ("grid", "final_only", "windows", "borrow", "partial", "scale_down",
                                "baseline_best", "baseline_compute")

#: Reference numbers of the paper (METHOD.md section 4), used only to phrase the verdicts and
#: to decide whether the collection supports a claim; the outcomes themselves are measured.
PAPER_BEST_ARE: float = 0.04
PAPER_USEFUL_ARE: float = 0.20
PAPER_BASELINE_ARE: float = 0.18
#: "Predicts well": the paper's "under 10%" of guideline 3.
GOOD_ARE: float = 0.10
#: Guideline 7: "strongly correlated" and "almost all the variance".
STRONG_CORRELATION: float = 0.7
ALMOST_ALL_VARIANCE: float = 0.95

_CODE_FILES = ("study.py", "laws.py", "units.py", "evaluate.py", "runs.py", "guidelines/_core.py",
               "guidelines/selection.py", "guidelines/checkpoints.py", "guidelines/partial.py",
               "guidelines/borrow.py",
               *sorted(f"fitting/{p.name}" for p in (Path(__file__).resolve().parent / "fitting").glob("*.py")))


@dataclass(frozen=True)
class StudyConfig:
    """What the study measures (part of the cache key).

    Attributes
    ----------
    p_grid
        Fractions of each run's own tokens.
    cut
        The early-checkpoint cut, tokens.
    law, objective
        Law form and fit objective (``"mse"``: the paper's squared error on L).
    k_max_dense, k_sparse
        Every k up to ``k_max_dense`` training sizes, then ``k_sparse`` log-spaced values.
    """

    p_grid: tuple[float, ...] = P_GRID
    cut: float = DEFAULT_CUT
    law: str = "chinchilla"
    objective: str = "mse"
    k_max_dense: int = 10
    k_sparse: int = 8


@dataclass(frozen=True)
class StudyResult:
    """The study's outcome.

    Attributes
    ----------
    table
        The tidy result table, one row per cell (columns :data:`COLUMNS`).
    families
        One row per family of the input (``Runs.summary()``: arch, n_sizes, ...).
    config
        The configuration used.
    n_fitted
        Laws fitted by this call (0 when everything came from the cache).
    n_cached
        (family, experiment) blocks read from the cache.
    """

    table: pd.DataFrame
    families: pd.DataFrame
    config: StudyConfig = field(default_factory=StudyConfig)
    n_fitted: int = 0
    n_cached: int = 0


def build_cells(fam: FamilyArrays, experiment: str, config: StudyConfig = StudyConfig()) -> list[Cell]:
    """The cells of one experiment on one family (empty when the family is not eligible)."""
    others = len(fam.sizes) - 1
    ks = k_values(others, config.k_max_dense, config.k_sparse)
    cuts = (0.0, config.cut)
    fcut = family_cut(fam, config.cut)
    if experiment == "grid":
        return grid_cells(fam, ks, config.p_grid, cuts)
    if experiment in ("baseline_best", "baseline_compute"):
        return grid_cells(fam, ks, config.p_grid, cuts, experiment=experiment,
                          baseline=experiment.removeprefix("baseline_"))
    if experiment == "final_only":
        return final_only_cells(fam, ks, cuts)
    if experiment == "windows":
        return window_cells(fam, ks, 1.0, fcut)
    if experiment == "borrow":
        return borrow_cells(fam, config.p_grid, fcut)
    if experiment == "partial":
        return partial_cells(fam, config.p_grid, fcut)
    if experiment == "scale_down":
        return scale_down_cells(fam, ks, config.p_grid, fcut)
    raise DataError(f"unknown experiment {experiment!r} (known: {', '.join(EXPERIMENTS)})")


def _code_hash() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _CODE_FILES:
        path = here / name
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()


def _block_key(frame: pd.DataFrame, experiment: str, config: StudyConfig, code: str) -> str:
    from toolkit import __version__

    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update(json.dumps({"experiment": experiment, "config": asdict(config), "version": __version__},
                        sort_keys=True).encode())
    h.update(code.encode())
    return h.hexdigest()[:24]


def _cache_dir() -> Path:
    from toolkit.catalog import default_cache_dir

    return default_cache_dir() / "study"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def run_study(
    runs: Runs | None = None,
    families: Iterable[str] | None = None,
    experiments: Iterable[str] | None = None,
    *,
    config: StudyConfig | None = None,
    n_jobs: int = 2,
    progress: bool = True,
    use_cache: bool = True,
    cache_dir: str | Path | None = None,
) -> StudyResult:
    """Run the meta-analysis.

    Parameters
    ----------
    runs
        The families to study (default: the whole collection, :func:`toolkit.load_collection`).
    families
        Restrict to these family ids.
    experiments
        Restrict to these experiments (default: :data:`EXPERIMENTS`).
    config
        Grid settings (default :class:`StudyConfig`).
    n_jobs
        Worker processes for the fits (``-1``: all cores).
    progress
        Show progress bars.
    use_cache, cache_dir
        Read and write the per-(family, experiment) cache (default directory
        ``default_cache_dir() / "study"``).

    Returns
    -------
    StudyResult
        ``.table`` has one row per cell, ordered by family, experiment and cell.
    """
    config = config or StudyConfig()
    experiments = list(EXPERIMENTS if experiments is None else experiments)
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise DataError(f"unknown experiment {', '.join(unknown)} (known: {', '.join(EXPERIMENTS)})")
    if runs is None:
        from toolkit.collection import load_collection

        runs = load_collection(progress=progress)
    if families is not None:
        runs = runs.select(families=[families] if isinstance(families, str) else list(families))
    cache = Path(cache_dir) if cache_dir is not None else _cache_dir()
    code = _code_hash()

    frames = {name: f.reset_index(drop=True) for name, f in runs.frame.groupby("family", sort=True)}
    paths = {(name, exp): cache / f"{_safe(name)}-{exp}-{_block_key(frame, exp, config, code)}.parquet"
             for name, frame in frames.items() for exp in experiments}
    # the whole table of this exact study, so that an unchanged re-run reads one file
    whole = cache / f"study-{hashlib.sha256(''.join(p.name for p in paths.values()).encode()).hexdigest()[:24]}.parquet"
    if use_cache and whole.is_file():
        return StudyResult(pd.read_parquet(whole), runs.summary(), config, 0, len(paths))

    blocks: dict[tuple[str, str], pd.DataFrame] = {}
    pending: list[tuple[tuple[str, str], Path, list[Cell]]] = []
    n_cached = 0
    for (name, exp), path in paths.items():
        if use_cache and path.is_file():
            blocks[(name, exp)] = pd.read_parquet(path)
            n_cached += 1
            continue
        pending.append(((name, exp), path, build_cells(FamilyArrays.from_runs(Runs(frames[name]), name), exp, config)))

    cells = [c for _, _, cs in pending for c in cs]
    table = run_cells(cells, law=config.law, objective=config.objective, n_jobs=n_jobs, progress=progress)
    n_fitted = sum(1 for c in cells if c.baseline is None and c.train.sum() >= 2)
    start = 0
    for key, path, cs in pending:
        block = table.iloc[start:start + len(cs)].reset_index(drop=True)
        start += len(cs)
        blocks[key] = block
        if use_cache:
            _write_parquet(block, path)

    parts = [blocks[k] for k in paths if len(blocks[k])]
    out = (pd.concat(parts, ignore_index=True) if parts
           else pd.DataFrame({c: pd.Series(dtype=t) for c, t in _dtypes().items()}))[list(COLUMNS)]
    if use_cache:
        _write_parquet(out, whole)
    return StudyResult(out, runs.summary(), config, n_fitted, n_cached)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    # write then rename, so that a reader never sees half a file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _dtypes() -> dict[str, str]:
    return {"family": "object", "experiment": "object", "k": "int64", "p": "float64", "cut_tokens": "float64",
            "train_sizes": "object", "largest_train_params": "float64", "target_params": "float64",
            "are": "float64", "signed_error": "float64", "status": "object", "cost_flops": "float64",
            "cost_fraction": "float64", "n_points": "int64", "params": "object"}


def _table(results: StudyResult | pd.DataFrame) -> pd.DataFrame:
    return results.table if isinstance(results, StudyResult) else results


# ============================================================================ aggregation
def aggregate(results: StudyResult | pd.DataFrame) -> pd.DataFrame:
    """Summaries per family and macro-averaged across families.

    Per family (``scope = "family"``), one row per (experiment, k, p, cut_tokens): n_cells,
    n_predicting (cells with a usable law), n_failed (a fit without a usable law), n_no_data
    (empty training set), are_median, are_mean, signed_error_median (fractions, over the
    predicting cells), cost_fraction_median. Macro (``scope = "macro"``, ``family = "*"``):
    the per-family values averaged with equal weight per family (``are_mean`` is the macro
    average of per-family medians, ``are_median`` their median), cell counts summed, and
    n_families the families with a prediction. Failed cells are counted, never filled in.
    """
    df = _table(results).copy()
    key = ["experiment", "k", "p", "cut_tokens"]
    df["predicting"] = df["status"].isin(PREDICTING)
    df["no_data"] = df["status"] == NO_DATA
    df["failed"] = ~df["predicting"] & ~df["no_data"]
    fam = df.groupby(["family"] + key, sort=True).agg(
        n_cells=("status", "size"), n_predicting=("predicting", "sum"), n_failed=("failed", "sum"),
        n_no_data=("no_data", "sum"), are_median=("are", "median"), are_mean=("are", "mean"),
        signed_error_median=("signed_error", "median"),
        cost_fraction_median=("cost_fraction", "median")).reset_index()
    fam.insert(0, "scope", "family")
    fam["n_families"] = fam["n_predicting"].gt(0).astype(int)
    macro = fam.groupby(key, sort=True).agg(
        n_cells=("n_cells", "sum"), n_predicting=("n_predicting", "sum"), n_failed=("n_failed", "sum"),
        n_no_data=("n_no_data", "sum"), are_median=("are_median", "median"), are_mean=("are_median", "mean"),
        signed_error_median=("signed_error_median", "median"),
        cost_fraction_median=("cost_fraction_median", "median"), n_families=("n_families", "sum")).reset_index()
    macro.insert(0, "scope", "macro")
    macro.insert(1, "family", "*")
    return pd.concat([fam, macro[fam.columns]], ignore_index=True)


# ============================================================================ verdicts
def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def _med(values: Iterable[float]) -> float:
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else math.nan


def _verdict(number: int, title: str, claim: str, statement: str, supported: bool | None,
             n_families: int, numbers: dict) -> dict:
    if supported is False:
        statement += " - not supported by the collection"
    elif supported is None:
        statement += " - too little data to judge"
    return {"guideline": number, "title": title, "claim": claim, "statement": statement,
            "supported": supported, "n_families": int(n_families),
            "numbers": {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in numbers.items()}}


def _predicting(df: pd.DataFrame, experiment: str) -> pd.DataFrame:
    return df[(df["experiment"] == experiment) & df["status"].isin(PREDICTING)]


def _family_cut_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Grid-like rows at each family's own cut: 10B when the family has data there, else 0."""
    has_cut = df[(df["cut_tokens"] > 0) & (df["status"] != NO_DATA)].groupby("family").size()
    use = df["family"].isin(has_cut.index)
    return df[(use & (df["cut_tokens"] > 0)) | (~use & (df["cut_tokens"] == 0))]


def _paired(df: pd.DataFrame, a: pd.DataFrame, b: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    m = a[on + ["are"]].merge(b[on + ["are"]], on=on, suffixes=("_a", "_b"))
    return m.groupby("family")[["are_a", "are_b"]].median()


def verdicts(results: StudyResult | pd.DataFrame, families: pd.DataFrame | None = None) -> list[dict]:
    """One measured statement per guideline of METHOD.md section 4.

    Parameters
    ----------
    results
        A :class:`StudyResult` (or its table; then pass ``families``, the ``Runs.summary()``
        of the studied runs, to tell decoder families apart for guideline 6).

    Returns
    -------
    list of dict
        Per guideline: guideline (1-8), title, claim (the paper's), statement (the measured
        numbers, ending in "not supported by the collection" where the data disagree),
        supported (True, False, or None when there is too little data), n_families, numbers.
    """
    df = _table(results)
    if families is None and isinstance(results, StudyResult):
        families = results.families
    arch = dict(zip(families["family"], families["arch"])) if families is not None else {}
    out = []

    # 1. target accuracy vs naive baselines, on the same grid cells
    grid = _predicting(df, "grid")
    best = grid.groupby("family")["are"].min()
    typical = _family_cut_rows(grid).groupby("family")["are"].median()
    base = {b: _family_cut_rows(_predicting(df, f"baseline_{b}")).groupby("family")["are"].median()
            for b in ("best", "compute")}
    useful = float((grid["are"] <= PAPER_USEFUL_ARE).mean()) if len(grid) else math.nan
    n1 = len(best)
    sup1 = None if n1 < 2 else bool(_med(best) <= 1.5 * PAPER_BEST_ARE and _med(typical) < min(_med(base["best"]), _med(base["compute"])))
    out.append(_verdict(
        1, "Target accuracy",
        "About 4% ARE is the best achievable; up to 20% is useful; naive baselines average about 18%.",
        f"best design per family: median ARE {_pct(_med(best))}; typical grid design (family's cut): "
        f"{_pct(_med(typical))}; baselines: best-loss-seen {_pct(_med(base['best']))}, largest-compute "
        f"{_pct(_med(base['compute']))}; {_pct(useful)} of fitted grid laws within 20% (n = {n1} families)",
        sup1, n1, {"best_are_median": _med(best), "grid_are_median": _med(typical),
                   "baseline_best_are_median": _med(base["best"]),
                   "baseline_compute_are_median": _med(base["compute"]), "share_within_20pct": useful}))

    # 2. whole curves vs final checkpoints only (same runs, same k and cut). Where every run
    # of a family ends at one token budget, final checkpoints cannot identify the D term: that
    # design yields no law at all, which counts against it (a recorded status, not a gap).
    fo_all = df[df["experiment"] == "final_only"]
    curves = grid[grid["p"] == 1.0]
    tried = sorted(set(fo_all["family"]) & set(curves["family"]))
    fo = _predicting(df, "final_only")
    no_law = [f for f in tried if f not in set(fo["family"])]
    pair2 = _paired(df, curves[curves["family"].isin(tried)], fo, ["family", "k", "cut_tokens"])
    wins2 = int((pair2["are_a"] < pair2["are_b"]).sum())
    n2 = len(tried)
    sup2 = None if n2 < 2 else bool(len(no_law) + wins2 > n2 / 2)
    out.append(_verdict(
        2, "Use intermediate checkpoints",
        "Fits on whole training curves beat fits on final checkpoints only.",
        f"final checkpoints alone give no identifiable law in {len(no_law)} of {n2} families (their runs "
        f"share one token budget, so the D term is unidentifiable); where both fit ({len(pair2)} "
        f"famil{'y' if len(pair2) == 1 else 'ies'}), "
        f"median ARE on whole curves {_pct(_med(pair2['are_a']))} vs final checkpoints only "
        f"{_pct(_med(pair2['are_b']))}, curves better in {wins2} (n = {n2} families)",
        sup2, n2, {"families_final_only_unidentifiable": len(no_law), "families_paired": len(pair2),
                   "curves_are_median": _med(pair2["are_a"]), "final_only_are_median": _med(pair2["are_b"]),
                   "families_curves_better": wins2}))

    # 3. the early-checkpoint cut, paired by (family, k, p), where the cut removes something
    g_all = df[df["experiment"] == "grid"]
    with_cut = g_all[g_all["cut_tokens"] > 0]
    no_cut = g_all[g_all["cut_tokens"] == 0]
    m = with_cut.merge(no_cut, on=["family", "k", "p"], suffixes=("_c", "_n"))
    m = m[m["status_c"].isin(PREDICTING) & m["status_n"].isin(PREDICTING) & (m["n_points_c"] < m["n_points_n"])]
    pair3 = m.groupby("family")[["are_c", "are_n"]].median()
    change3 = pair3["are_c"] - pair3["are_n"]
    wins3 = int((change3 < 0).sum())
    n3 = len(pair3)
    # Families with three sizes allow only k = 2 designs, whose N term the data cannot pin
    # down (see toolkit.fitting.two_sizes); the same count over designs with k >= 3 separates the two.
    deep = m[m["k"] >= 3].groupby("family")[["are_c", "are_n"]].median()
    wins3_deep = int((deep["are_c"] < deep["are_n"]).sum())
    named = "; ".join(f"{f}: {_pct(r.are_c)} vs {_pct(r.are_n)}" for f, r in pair3.iterrows()
                      if f in ("opt", "pythia"))
    sup3 = None if n3 < 2 else bool(wins3 > n3 / 2 and _med(change3) < 0)
    out.append(_verdict(
        3, "Drop early checkpoints",
        "Discarding checkpoints before about 10B tokens improves fits (OPT, Pythia: >15% vs <10% ARE).",
        f"cut better in {wins3} of {n3} families" + (f" ({named})" if named else "")
        + f"; median change of a family's ARE with the cut {_med(change3) * 100:+.1f} points; family medians "
        f"{_pct(_med(pair3['are_c']))} with the cut vs {_pct(_med(pair3['are_n']))} without; designs with "
        f"k >= 3 sizes only: cut better in {wins3_deep} of {len(deep)} families (n = {n3} families)",
        sup3, n3, {"cut_are_median": _med(pair3["are_c"]), "no_cut_are_median": _med(pair3["are_n"]),
                   "median_are_change": _med(change3), "families_cut_better": wins3,
                   "families_k3_paired": len(deep), "families_k3_cut_better": wins3_deep}))

    # 4. number and size of models
    gk = _family_cut_rows(grid[grid["p"] == 1.0])
    by_k = gk.groupby(["family", "k"])["are"].median().unstack()
    k2 = by_k[2] if 2 in by_k else pd.Series(dtype=float)
    k5 = by_k[5] if 5 in by_k else pd.Series(dtype=float)
    both = pd.concat([k2, k5], axis=1, keys=["k2", "k5"]).dropna()
    win = _predicting(df, "windows")
    win = win[win["k"] == 2]
    nearest = win.loc[win.groupby("family")["largest_train_params"].idxmax()] if len(win) else win
    vs = pd.concat([k5, nearest.set_index("family")["are"]], axis=1, keys=["k5", "w2"]).dropna()
    n4 = len(both)
    sup4 = None if n4 < 2 else bool(_med(both["k5"]) <= _med(both["k2"])
                                    and (len(vs) < 2 or _med(vs["k5"]) <= _med(vs["w2"])))
    out.append(_verdict(
        4, "Number and size of models",
        "More models of different sizes beat fewer larger ones; five models is a safe start.",
        f"median ARE with the 5 smallest sizes {_pct(_med(both['k5']))} vs the 2 smallest "
        f"{_pct(_med(both['k2']))} (n = {n4} families); 5 smallest vs the 2 sizes just below the target "
        f"{_pct(_med(vs['k5']))} vs {_pct(_med(vs['w2']))} (n = {len(vs)}); leave-one-out is measured by "
        f"toolkit.guidelines.selection.leave_one_out, not by the study",
        sup4, n4, {"k5_are_median": _med(both["k5"]), "k2_are_median": _med(both["k2"]),
                   "k5_vs_window2_are_median": [_med(vs["k5"]), _med(vs["w2"])]}))

    # 5. partial training of the target
    part = _predicting(df, "partial")
    p30 = part[np.isclose(part["p"], 0.3)]
    own = p30[p30["k"] == 1].groupby("family")["are"].median()
    sib = p30[p30["k"] > 1].groupby("family")["are"].median()
    n5 = len(own.index.union(sib.index))
    best5 = min(_med(own), _med(sib)) if n5 else math.nan
    sup5 = None if n5 < 2 else bool(best5 <= GOOD_ARE)
    out.append(_verdict(
        5, "Partial training of the target",
        "Training the target to about 30% of its tokens and fitting within its size predicts its final loss well.",
        f"target trained to 30%: median ARE {_pct(_med(own))} with A, alpha borrowed (n = {len(own)}), "
        f"{_pct(_med(sib))} with its smaller siblings added (n = {len(sib)})",
        sup5, n5, {"own_are_median": _med(own), "siblings_are_median": _med(sib)}))

    # 6. one run plus borrowed parameters
    bor = _predicting(df, "borrow")
    bor1 = bor[bor["p"] == 1.0]
    rank1 = bor1.loc[bor1.groupby("family")["largest_train_params"].idxmax()] if len(bor1) else bor1
    per6 = rank1.set_index("family")["are"]
    dec = per6[[arch.get(f, "dec") == "dec" for f in per6.index]]
    works = int((dec <= GOOD_ARE).sum())
    extra = bor1["target_params"] / bor1["largest_train_params"]
    rho = float(pd.Series(extra.to_numpy()).corr(pd.Series(bor1["are"].to_numpy()), method="spearman")) \
        if len(bor1) > 2 else math.nan
    specific = "; ".join(f"{f} {_pct(per6[f])}" for f in ("olmo", "t5-pile") if f in per6.index)
    n6 = len(per6)
    sup6 = None if len(dec) < 2 else bool(works > len(dec) / 2
                                          and ("t5-pile" not in per6.index or per6["t5-pile"] > _med(dec))
                                          and not rho < 0)
    out.append(_verdict(
        6, "Borrow family parameters",
        "One run plus A, alpha borrowed works for most decoder families (OLMo 1B -> 7B within ~1%), fails "
        "for T5-Pile; errors grow with the extrapolation ratio.",
        f"size just below the target, full training, Muennighoff A, alpha: median ARE {_pct(_med(dec))} over "
        f"decoder families, within 10% in {works} of {len(dec)}"
        + (f" ({specific})" if specific else "")
        + f"; Spearman correlation of ARE with the extrapolation ratio {rho:.2f} (n = {n6} families)",
        sup6, n6, {"decoder_are_median": _med(dec), "decoder_within_10pct": works, "n_decoder": len(dec),
                   "spearman_are_vs_ratio": rho, **{f"{f}_are": float(per6[f]) for f in ("olmo", "t5-pile")
                                                     if f in per6.index}}))

    # 7. structure of the fitted parameters
    try:
        table = structure.parameter_table(df)
        corr = structure.correlations(table)
        raw, std = structure.pca(table, standardise=False), structure.pca(table, standardise=True)
        r_a, r_b = float(corr.loc["a", "alpha"]), float(corr.loc["b", "beta"])
        three_raw, three_std = float(np.sum(raw.explained[:3])), float(np.sum(std.explained[:3]))
        n7 = raw.n_families
        sup7 = bool(abs(r_a) >= STRONG_CORRELATION and abs(r_b) >= STRONG_CORRELATION
                    and three_raw >= ALMOST_ALL_VARIANCE)
        statement7 = (f"correlation of ln A with alpha {r_a:.2f}, of ln B with beta {r_b:.2f}; three principal "
                      f"components explain {_pct(three_raw)} of the variance unstandardised, {_pct(three_std)} "
                      f"standardised (n = {n7} families)")
        numbers7 = {"corr_a_alpha": r_a, "corr_b_beta": r_b, "pca3_unstandardised": three_raw,
                    "pca3_standardised": three_std}
    except DataError as exc:
        n7, sup7, statement7, numbers7 = 0, None, f"cannot be measured: {exc}", {}
    out.append(_verdict(
        7, "Fewer degrees of freedom",
        "Across families A correlates with alpha and B with beta; three principal components explain almost all "
        "the variance.", statement7, sup7, n7, numbers7))

    # 8. scale down
    sd = _predicting(df, "scale_down")
    sd34 = sd[np.isclose(sd["p"], 0.3) | np.isclose(sd["p"], 0.4)].groupby("family")["are"].median()
    sd10 = sd[sd["p"] == 1.0].groupby("family")["are"].median()
    n8 = len(sd34)
    sup8 = None if n8 < 2 else bool(_med(sd34) <= GOOD_ARE)
    out.append(_verdict(
        8, "Scale down",
        "A law fitted on the largest models also predicts the smallest, given about 30-40% of their training.",
        f"largest models on 30-40% of their tokens predict the smallest: median ARE {_pct(_med(sd34))} "
        f"(full training: {_pct(_med(sd10))}) (n = {n8} families)",
        sup8, n8, {"are_median_p30_40": _med(sd34), "are_median_p100": _med(sd10)}))
    return out


def format_verdicts(items: Sequence[dict]) -> str:
    """The verdicts as plain text, one paragraph per guideline."""
    return "\n".join(f"{v['guideline']}. {v['title']}: {v['statement']}." for v in items)


def write_study(results: StudyResult, out_dir: str | Path) -> dict[str, Path]:
    """Write results.parquet, results.csv, aggregates.csv, families.csv, designs.csv and
    verdicts.json into ``out_dir`` (created if needed); returns the paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("results.parquet", "results.csv", "aggregates.csv",
                                           "families.csv", "designs.csv", "verdicts.json")}
    results.table.to_parquet(paths["results.parquet"], index=False)
    results.table.to_csv(paths["results.csv"], index=False)
    aggregate(results).to_csv(paths["aggregates.csv"], index=False)
    results.families.to_csv(paths["families.csv"], index=False)
    budget.designs(results.table).to_csv(paths["designs.csv"], index=False)
    paths["verdicts.json"].write_text(json.dumps(verdicts(results), indent=2) + "\n")
    return paths


__all__ = ("EXPERIMENTS", "StudyConfig", "StudyResult", "build_cells", "run_study", "aggregate",
           "verdicts", "format_verdicts", "write_study")
