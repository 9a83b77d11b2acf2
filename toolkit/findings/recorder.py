"""``record()``: a notebook's key numbers with their provenance, for the findings report.

A notebook ends with ``toolkit.findings.record("02_fit_a_law", numbers={...},
parameters={...}, charts={...})``. The record carries the toolkit version, the hash of the
data catalogue and the parameters, so a number in the report can be traced to what produced
it. When the findings runner executes the notebook it sets :data:`ENV_DIR`; the record is then
written there as ``<name>.json`` (and each chart's Vega-Lite spec as
``<name>.<chart>.vl.json``), which the runner collects. Outside the runner nothing is written
unless ``out_dir`` is given; the record is returned (and shows itself as a small table).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
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


def record(name: str, numbers: Mapping[str, object], parameters: Mapping[str, object], *,
           charts: Mapping[str, Any] | None = None, out_dir: str | Path | None = None) -> Record:
    """Record a notebook's key numbers with their provenance.

    Parameters
    ----------
    name
        Notebook name (letters, digits, ``_``, ``-``, ``.``).
    numbers
        name -> number (float, int, bool, str or None; numpy scalars accepted).
    parameters
        The notebook's parameters (anything JSON can hold; other values are stored as repr).
    charts
        name -> Altair chart (anything with ``to_dict()``): their Vega-Lite specs are written
        next to the record so the runner can render them as SVG and PNG.
    out_dir
        Where to write; default the directory in :data:`ENV_DIR`, else nothing is written.

    Raises
    ------
    DataError
        A bad name or a number that is not a number.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise DataError(f"record: name must be letters, digits, '_', '-' or '.', got {name!r}")
    charts = dict(charts or {})
    for chart_name in charts:
        if not _NAME.match(str(chart_name)):
            raise DataError(f"record: chart name {chart_name!r} must be letters, digits, '_', '-' or '.'")
    rec = Record(name, {str(k): _number(str(k), v) for k, v in numbers.items()},
                 jsonable(dict(parameters), other=repr), provenance(), tuple(charts))
    target = out_dir if out_dir is not None else os.environ.get(ENV_DIR)
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


__all__ = ("ENV_DIR", "Record", "load_records", "provenance", "record")
