"""Benchmark every control of every notebook panel: CPU seconds from a user's move to the update.

Each panel is built as its notebook builds it (the notebook's default parameters; ``--quick``
its quick ones: the study of :data:`~toolkit.findings.parameters.QUICK_FAMILIES`, fewer
resamples), its live view is assembled, and each control is moved as a user would (setting
the widget's value), to a few other values and back to the first. One row per move: the CPU
seconds of the update (``time.process_time`` of this process plus the worker processes it
reaped), first visits and revisits apart.

A panel that finishes a slow part after showing its update (a bootstrap computed in the
background) reports it in the ``background`` column: CPU seconds until the full result is on
screen, counted apart because the user already sees a labelled update.

``--before PATH`` runs the same moves, in a subprocess, on the ``toolkit`` of another checkout
(e.g. ``main``) and prints its figures beside these, with the ratio: before and after in one
run on the same machine. Nothing is asserted: CPU time varies with the machine's load less
than wall time, but it varies.

Usage::

    python benchmarks/bench_widgets.py                       # every panel, notebook defaults
    python benchmarks/bench_widgets.py --quick               # CI: quick families, fewer resamples
    python benchmarks/bench_widgets.py --quick --before ../main
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: A panel's target: every control updates within this many CPU seconds.
TARGET_CPU_S = 1.0


def cpu() -> float:
    """CPU seconds of this process and of the child processes it has reaped."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class Scenario:
    """One notebook's panel: how to build it and which values each control visits."""

    notebook: str
    build: Callable[[], Any]
    #: control name -> the values visited, in order (the first value is restored at the end)
    moves: Callable[[Any], dict[str, list[Any]]]


def _spread(options: Sequence[Any], current: Any, n: int) -> list[Any]:
    """Up to ``n`` options other than ``current``, spread over the list."""
    others = [o for o in options if o != current]
    if len(others) <= n:
        return others
    step = (len(others) - 1) / max(n - 1, 1)
    return [others[round(i * step)] for i in range(n)]


def _values(widget: Any) -> list[Any]:
    """Every value a widget offers (option values, or its slider's range)."""
    if isinstance(widget.value, bool):
        return [not widget.value]
    if hasattr(widget, "options"):
        return [o[1] if isinstance(o, tuple) else o for o in widget.options]
    if not hasattr(widget, "step"):
        return []
    if isinstance(widget.value, int):
        return list(range(widget.min, widget.max + 1))
    steps = np.arange(widget.min, widget.max + widget.step / 2, widget.step)
    # a log slider's min, max and step are exponents of its base
    return [round(float(widget.base ** x if hasattr(widget, "base") else x), 6) for x in steps]


def every_control(n: int, skip: Sequence[str] = (), extra: dict[str, list[Any]] | None = None,
                  every: Sequence[str] = ()) -> Callable[[Any], dict[str, list[Any]]]:
    """Moves to ``n`` other values of every control (``extra``: explicit values for controls
    without options, e.g. text fields and float sliders; ``every``: controls moved to each of
    their other values)."""
    def moves(panel: Any) -> dict[str, list[Any]]:
        out = {}
        for name, widget in panel.controls.items():
            if name in skip:
                continue
            values = (extra or {}).get(name) or _spread(_values(widget), widget.value,
                                                        len(_values(widget)) if name in every else n)
            if values:
                out[name] = values
        return out
    return moves


def scenarios(quick: bool) -> dict[str, Scenario]:
    """The panels of the notebooks, built with the notebooks' parameters."""
    import toolkit
    from toolkit import downstream, widgets
    from toolkit.findings.parameters import QUICK_FAMILIES
    from toolkit.study import compare_protocols, reference_cells, run_study

    families = list(QUICK_FAMILIES) if quick else None
    n_moves = 2 if quick else 3
    n_boot = 20 if quick else 100
    cache: dict[str, Any] = {}

    def once(name: str, make: Callable[[], Any]) -> Any:
        if name not in cache:
            cache[name] = make()
        return cache[name]

    def runs() -> Any:
        return once("runs", lambda: toolkit.load_collection(progress=False))

    def study() -> Any:
        return once("study", lambda: run_study(families=families, progress=False))

    def comparison() -> tuple[Any, Any]:
        def make() -> tuple[Any, Any]:
            chosen = runs().select(families=families) if families else runs()
            paper = run_study(chosen, protocol="paper", progress=False)
            frame = compare_protocols(paper, study(), chosen)
            return frame, reference_cells(frame)
        return once("comparison", make)

    every = every_control(n_moves)
    return {
        "ExplorePanel": Scenario("01", lambda: widgets.ExplorePanel(runs()), every),
        "FitPanel": Scenario("02", lambda: widgets.FitPanel(runs(), family="pythia", n_bootstrap=n_boot), every),
        "ChooseModelsPanel": Scenario("03", lambda: widgets.ChooseModelsPanel(study().table), every),
        "CutPanel": Scenario("04", lambda: widgets.CutPanel(runs().select(families=families) if families else runs(),
                                                            family="pythia"), every),
        "PartialPanel": Scenario("05", lambda: widgets.PartialPanel(study().table), every),
        "BorrowPanel": Scenario("06", lambda: widgets.BorrowPanel(runs(), study().table, study().families,
                                                                  family="pythia" if quick else "olmo"), every),
        "StructurePanel": Scenario("07", lambda: widgets.StructurePanel(study().table, study().families,
                                                                        n_null=200 if quick else 1000), every),
        "MetaAnalysisPanel": Scenario("08", lambda: widgets.MetaAnalysisPanel(study().table), every),
        "PlanPanel": Scenario("09", lambda: widgets.PlanPanel(study().table, min_families=3 if quick else 5),
                              every_control(n_moves, extra={"target_params": ["70B"], "target_tokens": ["1.4T"],
                                                            "budget": ["1e21"]})),
        "ComputeOptimalPanel": Scenario("10", lambda: widgets.ComputeOptimalPanel(
            runs(), family="chinchilla", n_bootstrap=n_boot), every_control(n_moves)),
        "ProtocolPanel": Scenario("11", lambda: widgets.ProtocolPanel(*comparison()), every),
        "CalibrationPanel": Scenario("13", lambda: widgets.CalibrationPanel(study().table), every),
        "DownstreamPanel": Scenario("14", lambda: widgets.DownstreamPanel(
            downstream.load_task_data(), task="hellaswag" if quick else "mmlu"),
            # every family: a family's first visit fits both methods on its ladder (issue 21)
            every_control(n_moves, skip=("sizes",), every=("family",))),
    }


def _settle(panel: Any) -> float:
    """Wait for a panel's background work (if it has any) and return its CPU seconds."""
    wait = getattr(panel, "wait", None)
    if wait is None:
        return 0.0
    start = cpu()
    wait()
    return cpu() - start


def drive(name: str, scenario: Scenario) -> Iterator[dict[str, Any]]:
    """Build the panel, then move each control; one row per step."""
    start = cpu()
    panel = scenario.build()
    _ = panel.view  # the live charts, as on screen: each update swaps them
    built = cpu() - start
    yield {"panel": name, "notebook": scenario.notebook, "control": "(build)", "step": 0, "value": "", "visit": "first",
           "cpu_s": built, "background_s": _settle(panel)}
    for control in list(scenario.moves(panel)):
        # a control's values are chosen when its turn comes: an earlier control (a family) may
        # have refilled it, and values chosen before would repeat its new value
        values = scenario.moves(panel).get(control, [])
        widget = panel.controls[control]
        first, seen = widget.value, {repr(widget.value)}
        for step, value in enumerate([*values, first]):
            start = cpu()
            widget.value = value
            took = cpu() - start
            yield {"panel": name, "notebook": scenario.notebook, "control": control, "step": step,
                   "value": _show(value), "visit": "revisit" if repr(value) in seen else "first", "cpu_s": took,
                   "background_s": _settle(panel), "status": _plain(panel.status.value)[:60]}
            seen.add(repr(value))


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)[:28]


def _plain(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html)


def measure(quick: bool, only: Sequence[str]) -> list[dict[str, Any]]:
    """Every panel's rows (``only``: those panels)."""
    from toolkit.fitting.blas import one_thread

    rows = []
    with one_thread():
        for name, scenario in scenarios(quick).items():
            if only and name not in only:
                continue
            rows.extend(drive(name, scenario))
            print(f"  measured {name}", file=sys.stderr, flush=True)
    return rows


def before_rows(checkout: Path, quick: bool, only: Sequence[str]) -> list[dict[str, Any]]:
    """The same moves on ``checkout``'s toolkit, in a subprocess (its JSON rows)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--json", *(["--quick"] if quick else []),
           *[a for name in only for a in ("--only", name)]]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"the run on {checkout} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def _move(row: dict[str, Any]) -> tuple:
    """What identifies a move in both runs: its control's n-th move, to that value (a value
    visited twice is two moves)."""
    return row["panel"], row["control"], row["step"], row["value"], row["visit"]


def report(rows: list[dict[str, Any]], before: list[dict[str, Any]] | None) -> None:
    """One table per panel; a closing line per panel with its slowest control."""
    old = {_move(r): r for r in before or []}
    panels = list(dict.fromkeys(r["panel"] for r in rows))
    head = f"{'control':<16}{'value':<30}{'visit':<9}"
    head += (f"{'before CPU-s':>13}{'after CPU-s':>13}{'ratio':>8}" if before else f"{'CPU-s':>9}") + f"{'background':>12}"
    worst = []
    for panel in panels:
        mine = [r for r in rows if r["panel"] == panel]
        print(f"\n== {panel} (notebook {mine[0]['notebook']})")
        print(head)
        for r in mine:
            line = f"{r['control']:<16}{r['value']:<30}{r['visit']:<9}"
            if before:
                b = old.get(_move(r))
                was = b["cpu_s"] + b["background_s"] if b else float("nan")
                ratio = was / r["cpu_s"] if b and r["cpu_s"] > 0 else float("nan")
                line += f"{was:>13.3f}{r['cpu_s']:>13.3f}{ratio:>7.1f}x"
            else:
                line += f"{r['cpu_s']:>9.3f}"
            print(line + (f"{r['background_s']:>12.3f}" if r["background_s"] else f"{'':>12}"))
        moves = [r for r in mine if r["control"] != "(build)"]
        if moves:
            worst.append((panel, [max((r for r in moves if r["control"] == c), key=lambda r: r["cpu_s"])
                                  for c in dict.fromkeys(r["control"] for r in moves)]))
    print(f"\nslowest move per panel, then per control (target: under {TARGET_CPU_S:g} CPU-s)")
    for panel, slowest in worst:
        for i, slow in enumerate(sorted(slowest, key=lambda r: -r["cpu_s"])):
            flag = "ok" if slow["cpu_s"] < TARGET_CPU_S else "OVER"
            print(f"  {panel if i == 0 else '':<20}{slow['control']:<16}{slow['value']:<30}{slow['cpu_s']:>8.3f} CPU-s"
                  f"  {flag}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the quick families' study and fewer resamples (CI)")
    parser.add_argument("--only", action="append", default=[], metavar="PANEL", help="measure this panel (repeatable)")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also run the same moves on this checkout's toolkit (e.g. main), side by side")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (used by --before)")
    args = parser.parse_args(argv)
    os.environ.setdefault("SCALING_TOOLKIT_MIRROR", str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    import toolkit

    if args.json:
        print(json.dumps(measure(args.quick, args.only)))
        return
    before = before_rows(args.before, args.quick, args.only) if args.before else None
    print(f"toolkit from {Path(toolkit.__file__).parent}" + (f"; before: {args.before}" if before else ""))
    report(measure(args.quick, args.only), before)


if __name__ == "__main__":
    main()
