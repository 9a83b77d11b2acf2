"""The contract every parser of ``toolkit.sources.PARSERS`` keeps (toolkit/sources/__init__.py):
its files from the mirror become rows of the Runs schema (columns, dtypes, positive sizes,
finite losses in nats), named after their source, the same rows on every call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.runs import COLUMNS, SCHEMA, Runs
from toolkit.sources import PARSERS, parser


@pytest.mark.parametrize("name", PARSERS)
def test_parser_gives_runs_rows_naming_its_source_and_is_deterministic(name, files) -> None:
    module = parser(name)
    assert module.__doc__ and "loss" in module.__doc__, "the docstring says which metric becomes loss"
    df = module.parse(files)
    assert list(df.columns) == list(COLUMNS) and len(df) > 0
    runs = Runs.from_frame(df, name=name)          # validation: raises on any broken row
    f = runs.frame
    assert len(f) == len(df), "no row dropped or added by validation"
    for column in SCHEMA:
        raw, kept = df[column.name], f[column.name]
        if column.kind == "text":
            assert pd.api.types.is_string_dtype(raw) and pd.api.types.is_string_dtype(kept), column.name
        elif column.kind == "category":     # parsers give text; validation makes it categorical
            assert set(raw.dropna()) <= set(column.choices), column.name
            assert kept.dtype == pd.CategoricalDtype(list(column.choices)), column.name
        else:                               # numbers come out of the parser in the schema's dtype
            assert raw.dtype == column.dtype and kept.dtype == column.dtype, column.name
    assert (f["num_params"] > 0).all() and (f["tokens"] > 0).all()
    assert np.isfinite(f["loss"]).all() and (f["loss"] > 0).all()
    assert f["family"].str.len().gt(0).all() and f["model"].str.len().gt(0).all()
    assert f["source"].str.len().gt(0).all() and not f["source"].isin(["user", "simulated"]).any(), \
        "every row names the paper or origin of its numbers"
    pd.testing.assert_frame_equal(df, module.parse(files))
