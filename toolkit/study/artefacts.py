"""Writing the study to a directory: one writer for every command."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.downstream.evaluate import write_downstream
from toolkit.evaluation.calibration import calibration_report
from toolkit.fitting.calibration import ErrorModel
from toolkit.storage import atomic_write, to_json
from toolkit.study.cache import cached_frame
from toolkit.study.config import StudyResult
from toolkit.study.summary import aggregate

#: The key of the cached coverage table's ``attrs`` that holds the error model (:meth:`ErrorModel.to_dict`).
_MODEL = "error_model"


def _csv(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with list columns written as comma-separated text (CSV has no lists)."""
    out = frame.copy()
    if "train_sizes" in out.columns:
        out["train_sizes"] = [",".join(str(int(s)) for s in sizes) for sizes in out["train_sizes"]]
    return out


def write_study(results: StudyResult, out_dir: str | Path, comparison: pd.DataFrame | None = None,
                departures: pd.DataFrame | None = None, downstream: pd.DataFrame | None = None, *,
                verdicts: Sequence[Mapping[str, Any]] | None = None,
                designs: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write the study into ``out_dir`` (created if needed): the :meth:`StudyResult.save` files,
    results.csv, aggregates.csv, families.csv, with the corrected protocol calibration.csv and
    error_model.json, and, when given, comparison.csv (the two protocols,
    :func:`~toolkit.study.compare_protocols`), departures.csv
    (:func:`~toolkit.study.departure_effects`), downstream.csv (task predictions of the
    targets, :func:`toolkit.downstream.evaluate`), verdicts.json (the verdicts as dicts,
    :func:`toolkit.findings.verdicts`) and designs.csv (:func:`toolkit.findings.planner.designs`).
    The ``study`` and ``findings`` commands both write through here, so a study directory
    holds the same files whichever wrote it. Returns the paths by name."""
    out = results.save(out_dir)
    paths = {name: out / name for name in ("table.parquet", "families.parquet", "config.json",
                                           "results.csv", "aggregates.csv", "families.csv")}
    _csv(results.table).to_csv(paths["results.csv"], index=False)
    cached_frame("aggregates", ("toolkit.study.summary",), {"table": results.table}, lambda: aggregate(results)
                 ).to_csv(paths["aggregates.csv"], index=False)
    results.families.to_csv(paths["families.csv"], index=False)
    if comparison is not None:
        paths["comparison.csv"] = out / "comparison.csv"
        comparison.to_csv(paths["comparison.csv"], index=False)
    if departures is not None:
        paths["departures.csv"] = out / "departures.csv"
        departures.to_csv(paths["departures.csv"], index=False)
    report = _calibration(results) if results.config.protocol == "corrected" else None
    if report is not None:
        coverage, model = report
        paths["calibration.csv"] = out / "calibration.csv"
        coverage.to_csv(paths["calibration.csv"], index=False)
        paths["error_model.json"] = model.save(out / "error_model.json")
    if downstream is not None:
        paths["downstream.csv"] = write_downstream(downstream, out)
    if verdicts:
        paths["verdicts.json"] = atomic_write(out / "verdicts.json", to_json(list(verdicts), indent=2) + "\n")
    if designs is not None:
        paths["designs.csv"] = out / "designs.csv"
        designs.to_csv(paths["designs.csv"], index=False)
    return paths


def _calibration(results: StudyResult) -> tuple[pd.DataFrame, ErrorModel] | None:
    """:func:`~toolkit.evaluation.calibration.calibration_report` of the study, cached by its
    table and provenance (:func:`~toolkit.study.cache.cached_frame`; computing it took 0.6
    CPU-s of every warm ``study`` command): the coverage table, the error model in its
    ``attrs`` (no rows: too few held-out predictions to calibrate)."""
    provenance = {"study_code": results.code, "study_bootstrap": results.config.bootstrap}

    def compute() -> pd.DataFrame:
        report = calibration_report(results.table, provenance)
        if report is None:
            return pd.DataFrame()
        coverage, model = report
        coverage.attrs = {_MODEL: model.to_dict()}
        return coverage

    coverage = cached_frame("calibration", ("toolkit.evaluation.calibration",),
                            {"table": results.table, "provenance": provenance}, compute)
    if not len(coverage.columns):
        return None
    model = ErrorModel.from_dict(coverage.attrs.pop(_MODEL))
    return coverage, model
