"""``record()``: a notebook's key numbers with their provenance, for the findings report.

A notebook ends with one line, ``record(panel)`` (or ``record(panel, extra_numbers)``): the
panel gives the numbers and the charts; the notebook's name and parameters come from where
the notebook runs, so the last cell never repeats the parameters cell. The findings runner
sets :data:`ENV_NOTEBOOK` to the notebook's path (Jupyter's own ``JPY_SESSION_NAME`` serves
the same purpose in a live session); the parameters are the names its parameters cell
declares, read from the kernel's namespace (so the values papermill injected), with the
value each panel control of the same name settled on (``k=0`` recorded as the ``k`` used).

The record carries the toolkit version, the hash of the data catalogue and the parameters, so
a number in the report can be traced to what produced it. When the findings runner executes
the notebook it sets :data:`ENV_DIR`; the record is then written there as ``<name>.json``
(and each chart's Vega-Lite spec as ``<name>.<chart>.vl.json``), which the runner collects.
Outside the runner nothing is written unless ``out_dir`` is given; the record is returned
(and shows itself as a small table).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from toolkit._version import __version__
from toolkit.errors import DataError
from toolkit.storage import atomic_write, jsonable, to_json

#: Environment variable naming the directory records are written to (set by the runner).
ENV_DIR: str = "SCALING_TOOLKIT_FINDINGS_DIR"
#: Environment variable holding the path of the notebook being run (set by the runner).
ENV_NOTEBOOK: str = "SCALING_TOOLKIT_NOTEBOOK"
#: Jupyter server's variable for the notebook a kernel serves (a live session).
_ENV_SESSION: str = "JPY_SESSION_NAME"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _number(key: str, value: object) -> float | int | str | bool | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    try:
        x = float(value)  # numpy scalars, ints, floats
    except (TypeError, ValueError):
        raise DataError(f"record: number {key!r} must be a number, str, bool or None, "
                        f"got {type(value).__name__}") from None
    if not math.isfinite(x):
        return None
    return int(x) if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu") else x


def provenance() -> dict[str, str]:
    """What produced a number: toolkit version, catalogue hash, Python version, UTC time."""
    from toolkit.catalog import Catalog

    return {"toolkit_version": __version__, "catalog_hash": Catalog().digest,
            "python": platform.python_version(),
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}


@dataclass(frozen=True)
class Record:
    """A notebook's recorded numbers.

    Attributes
    ----------
    name
        The notebook's name, e.g. ``02_fit_a_law``.
    numbers
        Key numbers (units in the names: ``are`` is a fraction, ``*_nats`` nats/token,
        ``*_flops`` FLOPs); NaN and infinities are stored as None.
    parameters
        The parameters the notebook ran with.
    provenance
        :func:`provenance` at the time of recording.
    charts
        Names of the charts whose specs were written alongside.
    """

    name: str
    numbers: dict[str, Any]
    parameters: dict[str, Any]
    provenance: dict[str, str]
    charts: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"name": self.name, "numbers": self.numbers, "parameters": self.parameters,
                "provenance": self.provenance, "charts": list(self.charts)}

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{k}</td><td>{v:.6g}</td></tr>" if isinstance(v, float)
                       else f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in self.numbers.items())
        return (f"<p><b>recorded {self.name}</b> (toolkit {self.provenance['toolkit_version']}, "
                f"catalogue {self.provenance['catalog_hash']})</p><table>{rows}</table>")

    def __repr__(self) -> str:
        return f"Record({self.name!r}, {len(self.numbers)} numbers, charts={list(self.charts)})"


def _notebook_path() -> Path | None:
    for var in (ENV_NOTEBOOK, _ENV_SESSION):
        value = os.environ.get(var)
        if value and value.endswith(".ipynb"):
            path = Path(value)
            # Jupyter names the session relative to the server's root; the kernel runs beside it
            return path if path.is_file() or not (Path.cwd() / path.name).is_file() else Path.cwd() / path.name
    return None


def notebook_parameters(namespace: Mapping[str, Any], notebook: str | Path,
                        controls: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The values of the parameters ``notebook`` declares, as they stand in ``namespace``.

    Parameters
    ----------
    namespace
        The kernel's globals (papermill's injected values have replaced the defaults there).
    notebook
        The notebook whose parameters cell names the parameters
        (:func:`toolkit.findings.parameters.read_parameters`); display switches
        (:data:`~toolkit.findings.parameters.DISPLAY_ONLY`) are left out.
    controls
        A panel's widgets by name: a parameter with a control of the same name is recorded with
        the control's value, the one the panel resolved (a family picked for ``""``, ...).
    """
    from toolkit.findings.parameters import DISPLAY_ONLY, read_parameters

    controls = controls or {}
    out = {}
    for p in read_parameters(notebook):
        if p.name in DISPLAY_ONLY or p.name not in namespace:
            continue
        control = controls.get(p.name)
        out[p.name] = control.value if hasattr(control, "value") else namespace[p.name]
    return out


def record(panel: Any = None, numbers: Mapping[str, object] | None = None, *, name: str | None = None,
           parameters: Mapping[str, object] | None = None, charts: Mapping[str, Any] | None = None,
           out_dir: str | Path | None = None) -> Record:
    """Record a notebook's key numbers with their provenance.

    Parameters
    ----------
    panel
        The notebook's panel (anything with ``numbers()``, ``charts()`` and ``controls``): its
        numbers and charts are recorded.
    numbers
        More numbers, name -> number (float, int, bool, str or None; numpy scalars accepted),
        over the panel's; units in the names.
    name
        Notebook name (letters, digits, ``_``, ``-``, ``.``); default the stem of the notebook
        being run (:data:`ENV_NOTEBOOK`, or Jupyter's session).
    parameters
        More parameters (anything JSON can hold; other values are stored as repr), over the
        ones the notebook's parameters cell declares (:func:`notebook_parameters`, read from
        the caller's namespace).
    charts
        name -> Altair chart (anything with ``to_dict()``), default the panel's: their
        Vega-Lite specs are written next to the record so the runner can render them as SVG
        and PNG.
    out_dir
        Where to write; default the directory in :data:`ENV_DIR`, else nothing is written.

    Raises
    ------
    DataError
        No name for a record to be written (outside a notebook), a bad name or a number that is
        not a number.
    """
    notebook = _notebook_path()
    target = out_dir if out_dir is not None else os.environ.get(ENV_DIR)
    if name is None:
        if notebook is None and target:
            raise DataError(f"record: no notebook name to write {target} under: pass name=..., or run in a "
                            f"notebook (the findings runner sets {ENV_NOTEBOOK})")
        # a live session that does not say which notebook it runs (Voila) writes nothing
        name = notebook.stem if notebook is not None else "notebook"
    if not isinstance(name, str) or not _NAME.match(name):
        raise DataError(f"record: name must be letters, digits, '_', '-' or '.', got {name!r}")
    charts = dict(charts if charts is not None else (panel.charts() if panel is not None else {}))
    for chart_name in charts:
        if not _NAME.match(str(chart_name)):
            raise DataError(f"record: chart name {chart_name!r} must be letters, digits, '_', '-' or '.'")
    all_numbers = {**(panel.numbers() if panel is not None else {}), **(numbers or {})}
    declared = {}
    if notebook is not None and notebook.is_file():
        caller = sys._getframe(1).f_globals  # the kernel's namespace when called from a cell
        declared = notebook_parameters(caller, notebook, getattr(panel, "controls", None))
    rec = Record(name, {str(k): _number(str(k), v) for k, v in all_numbers.items()},
                 jsonable({**declared, **(parameters or {})}, other=repr), provenance(), tuple(charts))
    if target:
        out = Path(target)
        out.mkdir(parents=True, exist_ok=True)
        for chart_name, chart in charts.items():
            atomic_write(out / f"{name}.{chart_name}.vl.json", to_json(chart.to_dict(), indent=1) + "\n")
        atomic_write(out / f"{name}.json", to_json(rec.to_dict(), indent=1) + "\n")
    return rec


def load_records(directory: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``<name>.json`` record written to ``directory``, name -> record dict."""
    out = {}
    for path in sorted(Path(directory).glob("*.json")):
        if path.name.endswith(".vl.json"):
            continue
        data = json.loads(path.read_text())
        out[data["name"]] = data
    return out


__all__ = ("ENV_DIR", "ENV_NOTEBOOK", "Record", "load_records", "notebook_parameters", "provenance", "record")
