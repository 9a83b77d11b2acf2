"""The ``Runs`` table: one row per checkpoint evaluation, validated on construction.

Every part of the toolkit speaks this table. Its schema is :data:`SCHEMA`, declared
once: validation, dtypes, defaults and the column table below all come from it.

{columns}

A ``Runs`` never holds an invalid frame: every constructor validates (``Runs(frame)``
included) and :attr:`Runs.frame` hands out a copy-on-write view, so nothing done to it
reaches the table.

The schema lives in :mod:`toolkit._schema` and the validation of a frame against it in
:mod:`toolkit._validation`; this module holds the ``Runs`` class, its constructors and views,
and re-exports the schema's public names (``from toolkit.runs import SCHEMA`` and the like).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit._schema import ARCHES, BY_NAME, COLUMNS, LOSS_UNITS, ORDER, REQUIRED, SCHEMA, Column, doc_table, dtypes
from toolkit._validation import PERPLEXITY_LIKE, Metric, names_text, validate
from toolkit.errors import DataError

__all__ = ["ARCHES", "BY_NAME", "COLUMNS", "LOSS_UNITS", "ORDER", "PERPLEXITY_LIKE", "REQUIRED", "SCHEMA",
           "Column", "Metric", "Runs", "dtypes"]

__doc__ = __doc__.replace("{columns}", doc_table())


def _log_spec(spec: Any, options: Mapping[str, Any]) -> Any:
    from toolkit.logs import LogSpec

    if spec is not None and options:
        raise DataError("give either spec= or its fields as keywords, not both")
    try:
        return spec if spec is not None else LogSpec(**options)
    except TypeError as exc:
        raise DataError(f"unknown log option: {exc} (options: {', '.join(LogSpec.__dataclass_fields__)})") from None


# ----------------------------------------------------------------------------- the table
class Runs:
    """A validated table of checkpoint evaluations (one row per run and tokens seen).

    ``Runs(frame)`` validates ``frame`` against :data:`SCHEMA` (like :meth:`from_frame`
    with its defaults); :meth:`from_csv` reads a file. :attr:`frame` is a copy-on-write
    view: change it freely, the table does not change. Rows are sorted by family,
    num_params, model and tokens. Filter with :meth:`query` (pandas semantics),
    :meth:`filter`, :meth:`select` or :meth:`where`.

    Raises
    ------
    DataError
        One error listing every problem found, each naming the rows, column and values;
        its ``failures`` attribute holds them as a DataFrame.
    """

    __slots__ = ("_frame",)
    _frame: pd.DataFrame

    def __init__(self, frame: pd.DataFrame, *, columns: Mapping[str, str] | None = None,
                 family: str | None = None, name: str = "frame", metric: Metric = "nats") -> None:
        object.__setattr__(self, "_frame", validate(frame, columns=columns, family=family, name=name,
                                                    metric=metric))

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Runs is immutable (cannot set {key!r}); build a new one")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Runs is immutable (cannot delete {key!r})")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return Runs._trusted, (self._frame,)

    @property
    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (a copy-on-write view: changing it leaves the Runs as is)."""
        return self._frame.copy(deep=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def _trusted(cls, frame: pd.DataFrame) -> Runs:
        """Wrap rows taken from a valid Runs (same columns, dtypes and order) without
        validating again: the fast path of every view (query, filter, select, final...)."""
        self = object.__new__(cls)
        object.__setattr__(self, "_frame", frame.reset_index(drop=True))
        return self

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        family: str | None = None,
        name: str = "frame",
        row_labels: Iterable[object] | None = None,
        metric: Metric = "nats",
    ) -> Runs:
        """Validate a DataFrame of training logs and return it as ``Runs``.

        Parameters
        ----------
        df
            One row per checkpoint with at least ``model``, ``num_params`` (parameters),
            ``tokens`` (tokens seen) and ``loss``. Other columns of :data:`SCHEMA` are
            optional; columns outside it are dropped. ``num_params`` may be written as
            text such as ``"1.3B"``; a fractional size (6795600349.29, computed or
            digitised) is rounded to the nearest whole number, with one warning saying how
            many were rounded and by how much at most.
        columns
            Rename map from your column names to the schema's, e.g. ``{"params": "num_params"}``.
        family
            Family id for every row when ``df`` has no ``family`` column (default ``"user"``).
        name
            What to call the input in error messages (a file name for CSV input).
        row_labels
            Row numbers to report in errors (defaults to the frame's index).
        metric
            What ``loss`` holds: ``"nats"`` (nats per token), ``"ppl"`` (perplexity,
            converted to ln ppl nats) or ``"bits"`` (bits per token, times ln 2). The
            original value is kept in ``metric_value``. With ``"nats"``, losses above
            20 warn that they look like perplexities.

        Raises
        ------
        DataError
            One error listing every problem found, each naming the rows, column and values.
            Nothing is returned half validated.
        """
        return cls._trusted(validate(df, columns=columns, family=family, name=name,
                                     row_labels=row_labels, metric=metric))

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        columns: Mapping[str, str] | None = None,
        family: str | None = None,
        sep: str | None = None,
        encoding: str | None = None,
        metric: Metric = "nats",
    ) -> Runs:
        """Read and validate a CSV of training logs (one row per checkpoint).

        Row numbers in error messages count data rows from 1 (the header is not a row),
        so row 4 is the fifth line of the file, blank lines included. ``family`` defaults
        to the file's stem. ``.gz``, ``.bz2``, ``.xz`` and ``.zip`` files are decompressed.
        The delimiter (``,``, ``;``, tab or ``|``) is detected from the header unless
        ``sep`` is given; the encoding is UTF-8 (a byte-order mark selects UTF-8 or
        UTF-16) unless ``encoding`` is given. See :meth:`from_frame` for the columns.
        """
        from toolkit._csvread import read_frame

        path = Path(path)
        rename = dict(columns) if isinstance(columns, Mapping) else {}

        def read_as(header: str) -> str:
            target = rename.get(header, header)
            col = BY_NAME.get(target) if isinstance(target, str) else None
            return "skip" if col is None else "text" if col.kind in ("text", "category") else "number"

        read = read_frame(path, sep=sep, encoding=encoding, read_as=read_as)
        if family is None and "family" not in [rename.get(h, h) for h in read.frame.columns]:
            family = path.name.split(".")[0] or path.name
        return cls._trusted(validate(read.frame, columns=columns, family=family, name=path.name,
                                     row_labels=read.lines, metric=metric, cells=read.cells))

    # ----------------------------------------------------------------- training logs
    @classmethod
    def from_csv_dir(cls, directory: str | Path, spec: Any = None, **options: Any) -> Runs:
        """Runs from a directory of per-run CSV files (:func:`toolkit.logs.read_csv_dir`).
        ``spec`` is a :class:`toolkit.logs.LogSpec`, or give its fields as keywords (``loss=``,
        ``batch_size=``, ``seq_len=``, ``sizes=`` ...)."""
        from toolkit.logs import read_csv_dir

        return read_csv_dir(directory, _log_spec(spec, options))

    @classmethod
    def from_wandb(cls, path: str | Path, spec: Any = None, **options: Any) -> Runs:
        """Runs from Weights & Biases history exports (:func:`toolkit.logs.read_wandb`)."""
        from toolkit.logs import read_wandb

        return read_wandb(path, _log_spec(spec, options))

    @classmethod
    def from_tensorboard(cls, logdir: str | Path, spec: Any = None, **options: Any) -> Runs:
        """Runs from a TensorBoard log directory (:func:`toolkit.logs.read_tensorboard`;
        the ``tensorboard`` extra)."""
        from toolkit.logs import read_tensorboard

        return read_tensorboard(logdir, _log_spec(spec, options))

    @classmethod
    def from_mlflow(cls, tracking_uri: str | Path, spec: Any = None, *, experiment: str | None = None,
                    **options: Any) -> Runs:
        """Runs from an MLflow tracking store (:func:`toolkit.logs.read_mlflow`; the ``mlflow``
        extra)."""
        from toolkit.logs import read_mlflow

        return read_mlflow(tracking_uri, _log_spec(spec, options), experiment=experiment)

    # ----------------------------------------------------------------- views
    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        df = self._frame
        return (f"Runs({len(df)} checkpoints, {df.groupby(['family', 'model']).ngroups} runs, "
                f"{df['family'].nunique()} families)")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.summary()._repr_html_()

    def equals(self, other: object) -> bool:
        """True when ``other`` is a Runs with the same rows."""
        return isinstance(other, Runs) and self._frame.equals(other._frame)

    @property
    def families(self) -> list[str]:
        """Family ids present, sorted."""
        return sorted(self._frame["family"].unique())

    def family(self, name: str) -> Runs:
        """The rows of one family; raises ``DataError`` naming the known ones if absent."""
        return self.select(families=[name])

    def select(self, families: Iterable[str] | None = None, models: Iterable[str] | None = None) -> Runs:
        """Rows of the given families and/or models (unknown names raise ``DataError``)."""
        df = self._frame
        for col, wanted in (("family", families), ("model", models)):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            unknown = sorted(set(wanted) - set(df[col]))
            if unknown:
                known = ", ".join(sorted(df[col].unique())[:40])
                raise DataError(f"unknown {col} {names_text(unknown)} (known: {known})")
            df = df[df[col].isin(wanted)]
        return Runs._trusted(df)

    def where(self, mask: pd.Series | np.ndarray) -> Runs:
        """Rows where a boolean mask over :attr:`frame` is true (still a valid ``Runs``)."""
        mask = np.asarray(mask)
        if mask.shape != (len(self._frame),) or mask.dtype != bool:
            raise DataError(f"where: expected a boolean mask of {len(self._frame)} rows, "
                            f"got {mask.dtype} of shape {mask.shape}")
        return Runs._trusted(self._frame[mask])

    def query(self, expr: str, **kwargs: Any) -> Runs:
        """Rows matching a boolean expression over the columns, with pandas' ``DataFrame.query``
        semantics (``@name`` refers to a local variable), e.g.
        ``runs.query("tokens > 10e9 and num_params < 1e9")``.

        Raises ``DataError`` naming the expression when it is not a valid filter.
        """
        if not isinstance(expr, str):
            raise DataError(f"query: expected an expression string, got {type(expr).__name__}")
        kwargs["level"] = kwargs.get("level", 0) + 1
        try:
            mask = self._frame.eval(expr, **kwargs)
        except (NameError, SyntaxError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise DataError(f"query {expr!r}: {type(exc).__name__}: {exc} (columns: "
                            f"{', '.join(COLUMNS)})") from None
        mask = np.asarray(mask)
        if mask.shape != (len(self._frame),) or mask.dtype != bool:
            raise DataError(f"query {expr!r}: the expression must give one true/false per row")
        return Runs._trusted(self._frame[mask])

    def filter(
        self,
        *,
        family: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        arch: str | Iterable[str] | None = None,
        loss_unit: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        min_params: float | None = None,
        max_params: float | None = None,
        min_tokens: float | None = None,
        max_tokens: float | None = None,
    ) -> Runs:
        """Rows matching every given condition (bounds inclusive; N in parameters, D in tokens).

        Text conditions take one value or several. A family or model not in the table,
        or an arch or loss unit outside the schema, raises ``DataError`` (a typo would
        otherwise give an empty table).
        """
        df = self._frame
        keep = np.ones(len(df), dtype=bool)
        for col, wanted in (("family", family), ("model", model), ("arch", arch),
                            ("loss_unit", loss_unit), ("source", source)):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            allowed = set(BY_NAME[col].choices) or set(df[col].astype(str))
            unknown = sorted(str(w) for w in set(wanted) - allowed)
            if unknown:
                known = ", ".join(sorted(allowed)[:40])
                raise DataError(f"filter: unknown {col} {names_text(unknown)} (known: {known})")
            keep &= df[col].isin(wanted).to_numpy()
        for col, low, high in (("num_params", min_params, max_params), ("tokens", min_tokens, max_tokens)):
            for bound, value in (("min", low), ("max", high)):
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                        or not math.isfinite(value):
                    raise DataError(f"filter: {bound}_{'params' if col == 'num_params' else col} must be a "
                                    f"finite number, got {value!r}")
                x = df[col].to_numpy()
                keep &= (x >= value) if bound == "min" else (x <= value)
        return Runs._trusted(df[keep])

    def final(self) -> Runs:
        """The last checkpoint (largest tokens) of every run."""
        df = self._frame
        last = df.groupby(["family", "model"], sort=False)["tokens"].idxmax()
        return Runs._trusted(df.loc[np.sort(last.to_numpy())])

    def sizes(self) -> np.ndarray:
        """Distinct N (parameters), ascending."""
        return np.unique(self._frame["num_params"].to_numpy())

    def summary(self) -> pd.DataFrame:
        """One row per family: arch, n_models (runs), n_sizes (distinct N), n_checkpoints,
        min_params, max_params, max_tokens, metric and loss_unit."""
        g = self._frame.groupby("family", sort=True, observed=True)
        out = pd.DataFrame({
            "arch": g["arch"].agg(lambda s: "/".join(sorted(s.astype(str).unique()))),
            "n_models": g["model"].nunique(),
            "n_sizes": g["num_params"].nunique(),
            "n_checkpoints": g.size(),
            "min_params": g["num_params"].min(),
            "max_params": g["num_params"].max(),
            "max_tokens": g["tokens"].max(),
            "metric": g["metric"].agg(lambda s: "/".join(sorted(s.unique()))),
            "loss_unit": g["loss_unit"].agg(lambda s: "/".join(sorted(s.astype(str).unique()))),
        })
        return out.reset_index()
