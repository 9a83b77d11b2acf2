"""The findings pipeline: the study, then every notebook through papermill, then the report.

:func:`run_findings` (``scaling-toolkit findings``, ``make findings``):

1. runs the study (cached) and writes it with its verdicts under ``study/``;
2. executes every notebook of ``notebooks/`` headless (``interactive=False``) with papermill
   on the ``python3`` kernel, a few at a time; a failing notebook is reported with its error
   while the others still run;
3. collects what the notebooks recorded (:func:`toolkit.findings.record`) into
   ``findings.json`` and renders every recorded chart as SVG and PNG under ``charts/``;
4. exports each executed notebook to HTML and writes ``index.html``
   (:mod:`toolkit.findings.report`), which opens from disk without a network.

Everything is written into a temporary directory next to the output, which replaces the
output only at the end (:func:`toolkit.storage.atomic_directory`): ``findings/`` is never
left half-written, and a directory the toolkit did not write is never replaced. An
interrupted run kills its workers and their kernels and removes its temporary directory; one
killed outright (SIGKILL) takes its workers with it, and the next run removes what it left.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import DataError, one_line
from toolkit.findings.parameters import QUICK_FAMILIES, quick_parameters
from toolkit.findings.recorder import ENV_DIR, ENV_NOTEBOOK, load_records
from toolkit.fitting.batch import N_JOBS_ENV
from toolkit.storage import to_json

#: The kernel every notebook runs on (the environment's own Python).
KERNEL: str = "python3"
#: Bootstrap resamples per predicting cell of the findings' study: the most that keep
#: ``make findings`` under 10 minutes on 2 cores (benchmarks/bench_study.py measures the cost).
FINDINGS_BOOTSTRAP: int = 50
#: The same with ``--quick`` (enough to draw every interval, not to read them).
QUICK_BOOTSTRAP: int = 4
#: Seconds a single cell may run before the notebook is reported as failed.
CELL_TIMEOUT: int = 1200


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree this toolkit runs from."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def notebook_names(notebooks_dir: str | Path | None = None) -> list[str]:
    """The notebooks' names (``01_explore_collection`` ...), in order."""
    d = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    if not d.is_dir():
        raise DataError(f"notebook directory {d} not found (pass --notebooks DIR)")
    return sorted(p.stem for p in d.glob("[0-9][0-9]_*.ipynb"))


def _declared(notebook: Path) -> set[str]:
    """Names of the parameters a notebook declares in its ``parameters`` cell."""
    import papermill as pm

    return set(pm.inspect_notebook(str(notebook)))


@dataclass(frozen=True)
class NotebookOutcome:
    """How one notebook ran: ``status`` is ``"ok"`` or ``"failed"`` (then ``error`` says why)."""

    name: str
    status: str
    seconds: float
    error: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FindingsResult:
    """What :func:`run_findings` produced.

    Attributes
    ----------
    out
        The output directory.
    outcomes
        One per notebook, in order.
    records
        notebook name -> recorded numbers (``findings.json``).
    verdicts
        The study's verdicts (empty when the study was skipped).
    seconds
        Wall time of the whole run.
    """

    out: Path
    outcomes: tuple[NotebookOutcome, ...]
    records: dict[str, dict[str, Any]]
    verdicts: list[dict[str, Any]]
    seconds: float

    @property
    def failed(self) -> list[NotebookOutcome]:
        """The notebooks that failed."""
        return [o for o in self.outcomes if o.status != "ok"]


def _say(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _ipc_kernel_manager() -> type:
    """A kernel manager that talks to its kernel over local sockets (IPC), not TCP: a TCP
    kernel prints "Kernel is running over TCP without encryption" once per notebook."""
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            # one socket path per kernel: notebooks run side by side (removed at shutdown)
            Path(jupyter_runtime_dir()).mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("ip", str(Path(jupyter_runtime_dir()) / f"scaling-toolkit-{uuid.uuid4().hex}"))
            super().__init__(**kwargs)

    return IPCKernelManager


def _execute(name: str, source: Path, target: Path, parameters: Mapping[str, Any], records_dir: Path,
             cwd: Path) -> NotebookOutcome:
    """Run one notebook (in a worker process); every failure becomes an outcome."""
    import papermill as pm

    os.environ[ENV_DIR] = str(records_dir)
    os.environ[ENV_NOTEBOOK] = str(source)  # record() takes the name and parameter list from it
    os.environ.setdefault("SCALING_TOOLKIT_PROGRESS", "0")
    # the fits a notebook starts (n_jobs=None) take the study's workers, as the study does
    os.environ.setdefault(N_JOBS_ENV, str(STUDY_JOBS))
    start = time.perf_counter()
    extra = {"kernel_manager_class": _ipc_kernel_manager()} if os.name == "posix" else {}
    try:
        pm.execute_notebook(str(source), str(target), parameters=dict(parameters), kernel_name=KERNEL,
                            cwd=str(cwd), progress_bar=False, log_output=False,
                            execution_timeout=CELL_TIMEOUT, **extra)
    except Exception as exc:  # noqa: BLE001 - a failing notebook is reported, the others still run
        if isinstance(exc, pm.PapermillExecutionError):
            error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        else:
            error = f"{type(exc).__name__}: {exc}"
        return NotebookOutcome(name, "failed", time.perf_counter() - start, error[:2000], dict(parameters))
    return NotebookOutcome(name, "ok", time.perf_counter() - start, "", dict(parameters))


#: Worker processes of the study's fits (``study`` and ``findings`` commands).
STUDY_JOBS = 2


def _study(tmp: Path, quick: bool, bootstrap: int, progress: bool) -> list[dict[str, Any]]:
    from toolkit.findings.planner import designs
    from toolkit.findings.verdicts import verdicts
    from toolkit.study import protocol_tables, run_study, write_study

    _say("study: running the meta-analysis (cached)", progress)
    start = time.perf_counter()
    families = list(QUICK_FAMILIES) if quick else None
    result = run_study(families=families, bootstrap=bootstrap, seed=0, n_jobs=STUDY_JOBS, progress=progress)
    comparison, departures = protocol_tables(result, families=families, n_jobs=STUDY_JOBS, progress=progress)
    items = [v.to_dict() for v in verdicts(result)]
    write_study(result, tmp / "study", comparison, departures, _downstream(quick, progress), verdicts=items,
                designs=designs(result.table))
    _say(f"study: {len(result.table)} cells in {time.perf_counter() - start:.1f} s", progress)
    return items


def _downstream(quick: bool, progress: bool) -> pd.DataFrame:
    """Task predictions of the targets (the OLMo ladder only in quick mode)."""
    from toolkit.downstream import evaluate, load_task_data

    _say("downstream: predicting the targets' task accuracy", progress)
    data = load_task_data("olmo_ladder" if quick else None)
    return evaluate(data, progress=progress)


def render_charts(records_dir: Path, charts_dir: Path, scale: float = 2.0) -> dict[str, list[str]]:
    """Render every recorded Vega-Lite spec as SVG and PNG: notebook -> chart names."""
    import vl_convert as vlc

    out: dict[str, list[str]] = {}
    for spec_path in sorted(records_dir.glob("*.vl.json")):
        notebook, chart = spec_path.name.removesuffix(".vl.json").split(".", 1)
        spec = json.loads(spec_path.read_text())
        d = charts_dir / notebook
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{chart}.svg").write_text(vlc.vegalite_to_svg(spec))
        (d / f"{chart}.png").write_bytes(vlc.vegalite_to_png(spec, scale=scale))
        out.setdefault(notebook, []).append(chart)
    return out


def _to_html(notebook: Path) -> None:
    from toolkit.findings.notebook_html import notebook_html

    notebook.with_suffix(".html").write_text(notebook_html(notebook))


def run_findings(out: str | Path = "findings", *, notebooks_dir: str | Path | None = None,
                 only: Iterable[str] | None = None, quick: bool = False, n_jobs: int = 2,
                 study: bool = True, bootstrap: int | None = None, progress: bool = True,
                 parameters: Mapping[str, Mapping[str, Any]] | None = None) -> FindingsResult:
    """Run the study and every notebook, and write the findings report into ``out``.

    Parameters
    ----------
    out
        Output directory; replaced as a whole at the end (never left half-written). It must be
        new, empty, or an earlier output of the toolkit (``OutputError`` otherwise).
    notebooks_dir
        Where the notebooks are (default: :func:`default_notebooks_dir`).
    only
        Run only these notebooks (names with or without ``.ipynb``; a unique prefix such as
        ``02`` works).
    quick
        Each notebook's small parameters (:func:`quick_parameters`) and the study on
        :data:`QUICK_FAMILIES`.
    n_jobs
        Notebooks executed at the same time.
    study
        Run the study and its verdicts first (the notebooks use its cache).
    bootstrap
        Resamples of the training runs per predicting cell of the study, for the intervals of
        the heatmaps and verdicts (0: none; default :data:`FINDINGS_BOOTSTRAP`, with ``quick``
        :data:`QUICK_BOOTSTRAP`); passed to the notebooks that declare a ``bootstrap``
        parameter, which then read the study's cache.
    progress
        One line per notebook on stderr.
    parameters
        Extra papermill parameters per notebook name (override the defaults).

    Returns
    -------
    FindingsResult
        ``.failed`` lists the notebooks that failed (the CLI then exits with status 1).
    """
    start = time.perf_counter()
    if bootstrap is None:
        bootstrap = QUICK_BOOTSTRAP if quick else FINDINGS_BOOTSTRAP
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    names = notebook_names(nb_dir)
    if only:
        chosen = []
        for want in only:
            want = want.removesuffix(".ipynb")
            hits = [n for n in names if n == want] or [n for n in names if n.startswith(want)]
            if len(hits) != 1:
                raise DataError(f"--only {want!r} matches {len(hits)} notebooks (have: {', '.join(names)})")
            chosen.append(hits[0])
        names = list(dict.fromkeys(chosen))
    from toolkit.storage import atomic_directory

    with atomic_directory(out, kind="findings") as tmp:
        (tmp / "notebooks").mkdir()
        records_dir = tmp / "records"
        records_dir.mkdir()
        verdict_items = _study(tmp, quick, bootstrap, progress) if study else []
        if verdict_items:
            (tmp / "verdicts.json").write_text(to_json(verdict_items, indent=1) + "\n")
        outcomes = _run_notebooks(names, nb_dir, tmp, records_dir, bootstrap=bootstrap, quick=quick,
                                  n_jobs=n_jobs, parameters=parameters or {}, progress=progress)
        ordered = tuple(outcomes[n] for n in names)
        for o in ordered:
            executed = tmp / "notebooks" / f"{o.name}.ipynb"
            if executed.is_file():
                try:
                    _to_html(executed)
                except Exception:  # noqa: BLE001 - a failed notebook's half-run file may not convert
                    if o.status == "ok":
                        raise
        records = load_records(records_dir)
        charts = render_charts(records_dir, tmp / "charts")
        (tmp / "findings.json").write_text(to_json(records, indent=1) + "\n")
        from toolkit.findings.report import write_report

        seconds = time.perf_counter() - start
        downstream = tmp / "study" / "downstream.csv"
        write_report(tmp, ordered, records, charts, verdict_items, seconds=seconds, quick=quick,
                     downstream=pd.read_csv(downstream) if downstream.is_file() else None)
    out = Path(out).resolve()
    result = FindingsResult(out, ordered, records, verdict_items, time.perf_counter() - start)
    _say(f"findings: {len(names) - len(result.failed)} of {len(names)} notebooks ok in {result.seconds:.0f} s; "
         f"report: {out / 'index.html'}", progress)
    return result


def _die_with_parent() -> None:
    """Pool worker initialiser: ask Linux to kill this worker when the process that started it
    dies, even by SIGKILL (its kernel follows: ipykernel exits when its parent is gone)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))


def _notebook_params(path: Path, bootstrap: int, quick: bool, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The papermill parameters of one notebook; raises ``DataError`` when the file is not a
    readable notebook."""
    try:
        params: dict[str, Any] = {"interactive": False}
        if "bootstrap" in _declared(path):
            params["bootstrap"] = bootstrap      # the study's draws, from its cache
        if quick:
            params.update(quick_parameters(path))
    except Exception as exc:  # noqa: BLE001 - nbformat and papermill raise many kinds on a bad file
        raise DataError(f"{path.name}: not a readable notebook ({type(exc).__name__}: {one_line(exc, 300)})") \
            from None
    params.update(extra)
    return params


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers and everything they started (the notebooks' kernels), children
    first, and wait for them: after this nothing of the run is alive or writing."""
    import psutil  # ipykernel's own dependency

    workers = [p.pid for p in list((getattr(pool, "_processes", None) or {}).values())]
    doomed = []
    for pid in workers:
        with contextlib.suppress(psutil.Error):
            worker = psutil.Process(pid)
            doomed += [*worker.children(recursive=True), worker]
    for proc in doomed:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(doomed, timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)


def _run_notebooks(names: list[str], nb_dir: Path, tmp: Path, records_dir: Path, *, bootstrap: int, quick: bool,
                   n_jobs: int, parameters: Mapping[str, Mapping[str, Any]], progress: bool
                   ) -> dict[str, NotebookOutcome]:
    """Execute the notebooks ``n_jobs`` at a time. A notebook that cannot be read or fails is an
    outcome, never the end of the others. On an interruption the workers (and with them their
    kernels) are killed before the exception goes on: nothing is left running."""
    outcomes: dict[str, NotebookOutcome] = {}

    def done(o: NotebookOutcome) -> None:
        outcomes[o.name] = o
        _say(f"[{len(outcomes)}/{len(names)}] {o.name}: {o.status} ({o.seconds:.1f} s)"
             + (f"\n    {o.error}" if o.error else ""), progress)

    pool = ProcessPoolExecutor(max_workers=max(1, min(n_jobs, len(names) or 1)), initializer=_die_with_parent)
    try:
        jobs = {}
        for name in names:
            source = nb_dir / f"{name}.ipynb"
            try:
                params = _notebook_params(source, bootstrap, quick, parameters.get(name, {}))
            except DataError as exc:
                done(NotebookOutcome(name, "failed", 0.0, str(exc)))
                continue
            jobs[pool.submit(_execute, name, source, tmp / "notebooks" / f"{name}.ipynb", params, records_dir,
                             nb_dir)] = name
        for job in as_completed(jobs):
            try:
                o = job.result()
            except BrokenProcessPool:
                o = NotebookOutcome(jobs[job], "failed", 0.0, "its worker process died (killed, or out of memory)")
            done(o)
    except BaseException:
        _kill_workers(pool)
        raise
    pool.shutdown(wait=True)
    return outcomes


__all__ = (
    "KERNEL",
    "QUICK_FAMILIES",
    "FindingsResult",
    "NotebookOutcome",
    "default_notebooks_dir",
    "notebook_names",
    "quick_parameters",
    "render_charts",
    "run_findings",
)
