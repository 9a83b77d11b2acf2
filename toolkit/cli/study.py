"""``study`` and ``calibrate``: the meta-analysis on the collection and the coverage of its
calibrated intervals."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from toolkit.cli._common import PROG, _add_quiet, _count, _out_dir, _print_json, _progress, _wide_pandas


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` and ``study`` to ``sub``."""
    s = sub.add_parser("calibrate", help="coverage of the calibrated intervals on held-out targets; the error model")
    s.add_argument("--study", type=Path, metavar="DIR",
                   help="a study written by `study --out DIR` (default: the whole study, cached)")
    s.add_argument("--method", choices=("symmetric", "signed"), default="symmetric",
                   help="symmetric quantiles of the error's size (default) or signed quantiles of the error")
    s.add_argument("--out", type=Path, metavar="FILE.json", help="write the error model learned from every source")
    s.add_argument("--json", action="store_true", help="print the coverage table as JSON")
    _add_quiet(s)
    s.set_defaults(func=_cmd_calibrate)

    s = sub.add_parser("study", help="run the meta-analysis on the collection and print the verdicts")
    s.add_argument("--families", nargs="+", metavar="F", help="only these families (default: all eligible)")
    s.add_argument("--experiments", nargs="+", metavar="E",
                   help="grid, final_only, trajectory, windows, borrow, partial, scale_down, baseline_best, "
                        "baseline_compute (the paper's protocol has grid only)")
    s.add_argument("--protocol", choices=("corrected", "paper"), default="corrected",
                   help="corrected (METHOD sections 3, 5; default) or paper (the paper's protocol as published)")
    s.add_argument("--out", type=_out_dir("study"), default="study", metavar="DIR",
                   help="where to write the table, results.csv, aggregates.csv, comparison.csv, verdicts.json "
                        "(default: study); it must be new, empty or an earlier output of this command")
    s.add_argument("--bootstrap", type=_count(0), default=0, metavar="B",
                   help="resamples of the training runs per predicting cell: 5%%/50%%/95%% quantiles of ARE and "
                        "signed error in the table (default 0: none; corrected protocol only)")
    s.add_argument("--seed", type=_count(0), default=0, help="seed of the bootstrap resamples (default 0)")
    s.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    _add_quiet(s)
    s.set_defaults(func=_cmd_study)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from toolkit.evaluation.calibration import calibration_report
    from toolkit.study import StudyResult, run_study

    result = (StudyResult.load(args.study) if args.study is not None
              else run_study(experiments=["grid", "final_only", "trajectory", "windows", "borrow", "partial"],
                             progress=_progress(args)))
    report = calibration_report(result.table, {"study_code": result.code, "study_bootstrap": result.config.bootstrap},
                                method=args.method)
    if report is None:
        print(f"{PROG} calibrate: too few held-out predictions in the study to calibrate", file=sys.stderr)
        return 1
    coverage, model = report
    if args.out is not None:
        model.save(args.out)
    if args.json:
        _print_json(coverage.to_dict(orient="records"))
        return 0
    with _wide_pandas():
        print(coverage.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"\nleave-one-source-out coverage of the {args.method} calibrated interval over "
          f"{model.provenance['n_predictions']} held-out predictions from {model.provenance['n_sources']} sources; "
          "bins: terciles of the compute extrapolation ratio"
          + (f"; error model written to {args.out}" if args.out is not None else ""))
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from toolkit.collection import load_collection
    from toolkit.evaluation import NO_DATA, NO_TEST
    from toolkit.findings.planner import designs
    from toolkit.findings.runner import STUDY_JOBS
    from toolkit.findings.verdicts import format_verdicts, verdicts
    from toolkit.fitting import PREDICTING, Status
    from toolkit.storage import atomic_directory
    from toolkit.study import protocol_tables, reference_cells, run_study, write_study

    progress = _progress(args)
    runs = load_collection(progress=progress)       # once for both protocols
    result = run_study(runs, families=args.families, experiments=args.experiments, protocol=args.protocol,
                       n_jobs=STUDY_JOBS, progress=progress, bootstrap=args.bootstrap, seed=args.seed)
    comparison, departures = protocol_tables(result, runs, families=args.families, n_jobs=STUDY_JOBS,
                                             progress=progress)
    items = verdicts(result) if args.protocol == "corrected" else []
    downstream = _downstream_table(args.families, progress)
    # every file is written into a fresh directory that replaces --out only once complete
    with atomic_directory(args.out, kind="study") as tmp:
        paths = write_study(result, tmp, comparison, departures, downstream,
                            verdicts=[v.to_dict() for v in items], designs=designs(result.table) if items else None)
    paths = {name: Path(args.out) / p.name for name, p in paths.items()}
    if args.json:
        _print_json([v.to_dict() for v in items] if items else reference_cells(comparison).to_dict(orient="records"))
        return 0
    if items:
        print(format_verdicts(items))
    print("\nThe paper's reference cells (ARE %): figure, paper protocol here, corrected protocol")
    print(reference_cells(comparison).to_string(index=False))
    print("\nDepartures from the paper's protocol and their measured effect (points of ARE)")
    print(departures.to_string(index=False))
    table = result.table
    recorded = {*PREDICTING, Status.NOT_IDENTIFIABLE, NO_DATA, NO_TEST}
    failed = int((~table["status"].isin(recorded)).sum())
    print(f"\n{args.protocol} protocol: {len(table)} cells over {table['family'].nunique()} families: "
          f"{result.n_fitted} laws fitted, {result.n_cached} blocks from the cache, {failed} fits without a usable "
          f"law (status recorded)")
    print(f"written to {Path(args.out).resolve()}: {', '.join(p.name for p in paths.values())}")
    return 0


def _downstream_table(families: Sequence[str] | None, progress: bool):
    """Task predictions of the targets of the families with task scores (``study --out`` writes
    them as downstream.csv); None when ``families`` names none of them. Cached like the study,
    by the code that reads and predicts the task data and the catalogue that pins every file
    of it: computing it took ~150 CPU-s of every warm ``study`` command, loading the task data
    6 more."""
    from toolkit.catalog import catalog_file
    from toolkit.study.cache import cached_frame

    def compute():
        import pandas as pd

        from toolkit.downstream import evaluate, load_task_data

        data = load_task_data()
        chosen = data.families() if not families else [f for f in families if f in data.families()]
        return evaluate(data, chosen, progress=progress) if chosen else pd.DataFrame()

    inputs = {"catalog": catalog_file().read_text(), "families": sorted(families) if families else None}
    table = cached_frame("downstream", ("toolkit.downstream.evaluate", "toolkit.downstream.data"), inputs, compute)
    return table if len(table.columns) else None
