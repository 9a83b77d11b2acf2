"""Validation of users' training logs: one clear DataError, nothing half loaded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.runs import Runs

GOOD = pd.DataFrame({
    "model": ["s", "s", "m", "m"],
    "num_params": [1e7, 1e7, 5e7, 5e7],
    "tokens": [1e9, 2e9, 1e9, 2e9],
    "loss": [4.0, 3.8, 3.6, 3.4],
})


def write(tmp_path, text: str, name: str = "runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_from_frame_defaults_and_dtypes():
    runs = Runs.from_frame(GOOD)
    df = runs.frame
    assert list(df["family"].unique()) == ["user"]
    assert df["num_params"].dtype == np.int64 and df["seed"].dtype == np.int64
    assert (df["metric_value"] == df["loss"]).all()
    assert runs.sizes().tolist() == [10_000_000, 50_000_000]
    assert len(runs.final()) == 2


def test_from_csv_family_is_file_stem(tmp_path):
    path = write(tmp_path, GOOD.to_csv(index=False), "mine.csv")
    assert Runs.from_csv(path).families == ["mine"]


def test_column_mapping_and_size_strings():
    df = GOOD.rename(columns={"num_params": "params"}).assign(params=["10M", "10M", "50m", "50m"])
    runs = Runs.from_frame(df, columns={"params": "num_params"})
    assert runs.sizes().tolist() == [10_000_000, 50_000_000]


def test_nonpositive_tokens_named_with_rows(tmp_path):
    df = pd.DataFrame({"model": ["a"] * 10, "num_params": [1e7] * 10,
                       "tokens": [1e9 * (i + 1) for i in range(10)], "loss": [3.0] * 10})
    df.loc[3, "tokens"] = 0
    df.loc[8, "tokens"] = -5
    path = write(tmp_path, df.to_csv(index=False))
    with pytest.raises(DataError) as err:
        Runs.from_csv(path)
    assert str(err.value) == "runs.csv rows 4, 9: tokens must be > 0 (got 0, -5)"


@pytest.mark.parametrize("body,expected", [
    ("model,num_params,tokens\na,1e7,1e9\n",
     "runs.csv: missing column loss (columns present: model, num_params, tokens)"),
    ("model,num_params,tokens,loss\n", "runs.csv: no rows"),
    ("model,num_params,tokens,loss\na,1e7,1e9,abc\n", "runs.csv row 1: loss must be a number (got 'abc')"),
    ("model,num_params,tokens,loss\na,1e7,1e9,\n", "runs.csv row 1: loss is empty"),
    ("model,num_params,tokens,loss\na,1e7,1e9,inf\n", "runs.csv row 1: loss must be finite (got inf)"),
    ("model,num_params,tokens,loss\na,1e7,1e9,-1\n", "runs.csv row 1: loss must be > 0 (got -1)"),
    ("model,num_params,tokens,loss\n,1e7,1e9,3\n", "runs.csv row 1: model must not be empty"),
    ("model,num_params,tokens,loss\na,huge,1e9,3\n", "runs.csv row 1: num_params must be a number (got 'huge')"),
    ("model,num_params,tokens,loss,seed\na,1e7,1e9,3,1.5\n", "runs.csv row 1: seed must be a whole number (got 1.5)"),
    ("model,num_params,tokens,loss,arch\na,1e7,1e9,3,rnn\n",
     "runs.csv row 1: arch must be one of dec, enc-dec, moe, ssm (got 'rnn')"),
    ("model,num_params,tokens,loss\na,1e7,1e9,3\na,2e7,2e9,3\n",
     "runs.csv: each model needs one num_params, but runs/a has several"),
    ("model,num_params,tokens,loss\na,1e7,1e9,3\na,1e7,1e9,2.9\n",
     "runs.csv rows 1, 2: the same model and tokens appear with different loss values"),
])
def test_bad_csv_gives_one_line_error(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(DataError) as err:
        Runs.from_csv(path)
    assert str(err.value) == expected
    assert "\n" not in str(err.value)


def test_several_problems_reported_together(tmp_path):
    path = write(tmp_path, "model,num_params,tokens,loss\na,0,1e9,3\na,1e7,-1,3\n")
    with pytest.raises(DataError, match=r"row 1: num_params must be > 0 \(got 0\); row 2: tokens must be > 0"):
        Runs.from_csv(path)


def test_not_a_csv(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DataError, match="runs.csv: not a readable CSV"):
        Runs.from_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        Runs.from_csv(tmp_path / "nope.csv")


def test_identical_duplicates_are_merged():
    runs = Runs.from_frame(pd.concat([GOOD, GOOD.iloc[:1]]))
    assert len(runs) == 4


def test_select_unknown_family_names_known_ones():
    with pytest.raises(DataError, match="unknown family nope .*known: user"):
        Runs.from_frame(GOOD).family("nope")


def test_summary_columns():
    summary = Runs.from_frame(GOOD).summary()
    assert list(summary.columns) == ["family", "arch", "n_models", "n_sizes", "n_checkpoints",
                                     "min_params", "max_params", "max_tokens", "metric", "loss_unit"]
    assert summary.iloc[0].n_models == 2 and summary.iloc[0].n_checkpoints == 4


# ----------------------------------------------------------------------------- the one schema
def test_plain_constructor_validates():
    with pytest.raises(DataError, match="loss must be > 0"):
        Runs(GOOD.assign(loss=[4.0, -1.0, 3.6, 3.4]))
    assert Runs(GOOD).equals(Runs.from_frame(GOOD))


def test_frame_cannot_be_changed_behind_the_wrapper():
    runs = Runs(GOOD)
    view = runs.frame
    view.loc[0, "loss"] = 99.0
    view["tokens"] = 0.0
    del view["model"]
    assert runs.frame["loss"].tolist() == [4.0, 3.8, 3.6, 3.4]
    assert (runs.frame["tokens"] > 0).all() and "model" in runs.frame
    with pytest.raises(AttributeError, match="immutable"):
        runs.frame = GOOD  # type: ignore[misc]


def test_schema_drives_columns_dtypes_and_docs():
    from toolkit import runs as module
    from toolkit.runs import COLUMNS, SCHEMA

    df = Runs(GOOD).frame
    assert tuple(df.columns) == COLUMNS
    for col in SCHEMA:
        assert str(df[col.name].dtype) == str(col.dtype) or col.kind == "text", col.name
        assert f"\n{col.name} " in module.__doc__
    assert df["arch"].dtype == "category" and df["loss_unit"].tolist() == ["nats/token"] * 4
    assert df["unique_tokens"].isna().all()


def test_views_skip_validation_and_stay_valid():
    runs = Runs(GOOD)
    for view in (runs.final(), runs.select(models=["s"]), runs.query("tokens > 1e9"),
                 runs.filter(min_params=2e7), runs.where(runs.frame["loss"].to_numpy() < 4)):
        assert tuple(view.frame.columns) == tuple(runs.frame.columns)
        assert view.equals(Runs(view.frame))  # revalidating a view changes nothing


def test_pickle_round_trip():
    import pickle

    runs = Runs(GOOD)
    assert pickle.loads(pickle.dumps(runs)).equals(runs)


def test_validation_failures_attached_as_a_frame():
    with pytest.raises(DataError) as err:
        Runs(GOOD.assign(loss=[4.0, -1.0, np.inf, 3.4]))
    failures = err.value.failures
    assert list(failures.columns) == ["row", "column", "value", "problem"]
    assert sorted(failures["row"]) == [1, 2] and set(failures["column"]) == {"loss"}


# ----------------------------------------------------------------------------- query / filter
def test_query_has_pandas_semantics_and_local_variables():
    runs = Runs(GOOD)
    cut = 1.5e9  # noqa: F841 (used as @cut)
    assert runs.query("tokens > @cut and num_params < 2e7").frame["loss"].tolist() == [3.8]
    assert len(runs.query("model == 'm'")) == 2


@pytest.mark.parametrize("expr", ["nope > 1", "tokens >", "tokens + 1", 3])
def test_bad_query_is_a_data_error(expr):
    with pytest.raises(DataError, match="query"):
        Runs(GOOD).query(expr)


def test_filter():
    runs = Runs(GOOD.assign(family=["a", "a", "b", "b"]))
    assert runs.filter(family="a").sizes().tolist() == [10_000_000]
    assert len(runs.filter(family=["a", "b"], min_tokens=2e9, max_tokens=2e9)) == 2
    assert len(runs.filter(arch="moe")) == 0
    with pytest.raises(DataError, match="unknown family c"):
        runs.filter(family="c")
    with pytest.raises(DataError, match="unknown arch rnn"):
        runs.filter(arch="rnn")
    with pytest.raises(DataError, match="min_tokens must be a finite number"):
        runs.filter(min_tokens=float("nan"))


# ----------------------------------------------------------------------------- numbers, exactly
@pytest.mark.parametrize("column,values,expected", [
    ("num_params", [1e19] * 4, "num_params must be at most 9223372036854775807"),
    ("num_params", ["10000000000000000000"] * 4, "num_params must be at most"),
    ("num_params", [0.4, 0.4, 1.5, 2.5], r"rows 0, 1: num_params must be at least 1 once rounded \(got 0.4, 0.4\)"),
    ("seed", [2**64, 0, 0, 0], "seed must be at most"),
    ("seed", [1.5, 0, 0, 0], "seed must be a whole number"),
    ("loss", [True, False, True, True], "loss must be a number"),
    ("loss", [1 + 2j] * 4, "loss must be a number"),
    ("tokens", pd.to_datetime(["2020-01-01"] * 4), "tokens must be a number"),
    ("tokens", pd.to_timedelta([1, 2, 3, 4], unit="s"), "tokens must be a number"),
    ("num_params", ["1_000", "1e7", "1e7", "1e7"], "num_params must be a number"),
    ("model", [True, "s", "m", "m"], "model must be text"),
])
def test_values_are_never_rounded_wrapped_or_coerced(column, values, expected):
    with pytest.raises(DataError, match=expected):
        Runs(GOOD.assign(**{column: values}))


def test_exact_sizes_from_text():
    runs = Runs(GOOD.assign(num_params=["7b1", "7b1", "9007199254740993", "9007199254740993"]))
    assert runs.sizes().tolist() == [7_100_000_000, 9_007_199_254_740_993]


def test_duplicate_and_renamed_columns():
    with pytest.raises(DataError, match="column loss appears more than once"):
        Runs(pd.concat([GOOD, GOOD[["loss"]]], axis=1))
    with pytest.raises(DataError, match="column loss appears more than once"):
        Runs.from_frame(GOOD.assign(val_loss=1.0), columns={"val_loss": "loss"})
    with pytest.raises(DataError, match="columns must be a mapping"):
        Runs.from_frame(GOOD, columns=["num_params"])  # type: ignore[arg-type]
    with pytest.raises(DataError, match="columns renames params, not in the input"):
        Runs.from_frame(GOOD, columns={"params": "num_params"})


def test_messages_are_one_bounded_line():
    from toolkit.errors import MAX_MESSAGE

    huge = "x" * 1_000_000
    for df in (GOOD.assign(loss=[huge, 1, 1, 1]), GOOD.assign(model=[huge + "\n", huge, "m", "m"],
                                                                num_params=[1e7, 2e7, 5e7, 5e7]),
               pd.DataFrame({huge: [1]})):
        with pytest.raises(DataError) as err:
            Runs(df)
        assert "\n" not in str(err.value) and len(str(err.value)) <= MAX_MESSAGE


# ----------------------------------------------------------------------------- loss units
def test_metric_converts_to_nats():
    ppl = Runs.from_frame(GOOD.assign(loss=np.exp(GOOD["loss"])), metric="ppl").frame
    assert np.allclose(ppl["loss"], GOOD.sort_values(["num_params", "tokens"])["loss"])
    assert ppl["metric"].unique().tolist() == ["perplexity"]
    bits = Runs.from_frame(GOOD, metric="bits").frame
    assert np.allclose(bits["loss"], bits["metric_value"] * np.log(2))
    with pytest.raises(DataError, match="perplexity > 1"):
        Runs.from_frame(GOOD.assign(loss=[0.5, 2, 2, 2]), metric="ppl")


def test_perplexity_like_loss_warns():
    with pytest.warns(UserWarning, match="looks like a perplexity"):
        Runs(GOOD.assign(loss=[40.0, 35.0, 30.0, 25.0]))


def test_loss_unit_and_unique_tokens_columns():
    runs = Runs(GOOD.assign(loss_unit="nats/word", unique_tokens=[5e8, 5e8, 1e9, 1e9]))
    assert runs.frame["loss_unit"].unique().tolist() == ["nats/word"]
    assert runs.frame["unique_tokens"].tolist() == [5e8, 5e8, 1e9, 1e9]
    with pytest.raises(DataError, match="loss_unit must be one of"):
        Runs(GOOD.assign(loss_unit="furlongs"))
    with pytest.raises(DataError, match="unique_tokens must be > 0"):
        Runs(GOOD.assign(unique_tokens=[0.0, 1e9, 1e9, 1e9]))


# ----------------------------------------------------------------------------- CSV files
HEADER = "model,num_params,tokens,loss\n"


@pytest.mark.parametrize("body,expected", [
    (HEADER + "a,1e7,1e9,3,\na,1e7,2e9,2.9,\n", "rows 1, 2 have more fields than the header's 4"),
    (HEADER + "a,1e7,1e9,3,x\n", "row 1 has more fields than the header's 4"),
    (HEADER + "a,1e7,1e9\n", "row 1 has fewer fields"),
    ("model,loss,num_params,tokens,loss\na,3,1e7,1e9,3\n", "column loss appears more than once"),
    ("model,,tokens,loss\na,1e7,1e9,3\n", "column 2 of the header has no name"),
    ("", "empty file"),
])
def test_csv_shape_problems(tmp_path, body, expected):
    with pytest.raises(DataError, match=expected):
        Runs.from_csv(write(tmp_path, body))


def test_row_numbers_count_blank_lines(tmp_path):
    path = write(tmp_path, HEADER + "\na,1e7,1e9,3\n\n\na,1e7,2e9,-3\n")
    with pytest.raises(DataError, match=r"runs.csv row 5: loss must be > 0"):
        Runs.from_csv(path)


def test_header_with_spaces_and_other_delimiters(tmp_path):
    expected = Runs.from_frame(GOOD, family="runs")
    for sep in (", ", ";", "\t", "|"):
        text = sep.join(GOOD.columns) + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in GOOD.itertuples(index=False))
        assert Runs.from_csv(write(tmp_path, text)).equals(expected), sep
    semi = write(tmp_path, HEADER.replace(",", ";") + "a;1e7;1e9;3\n")
    with pytest.raises(DataError, match="one column with delimiter ',', but it contains ';': pass sep=';'"):
        Runs.from_csv(semi, sep=",")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "latin-1"])
def test_encodings(tmp_path, encoding):
    path = tmp_path / "runs.csv"
    path.write_bytes((HEADER + "café,1e7,1e9,3\n").encode(encoding))
    if encoding == "latin-1":
        with pytest.raises(DataError, match="not valid utf-8: byte 0xe9 on line 2; if it is Latin-1"):
            Runs.from_csv(path)
    assert Runs.from_csv(path, encoding=encoding).frame["model"].tolist() == ["café"]


def test_utf16_without_bom_is_named(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_bytes((HEADER + "a,1e7,1e9,3\n").encode("utf-16-le"))
    with pytest.raises(DataError, match="UTF-16-LE without a byte-order mark"):
        Runs.from_csv(path)
    assert len(Runs.from_csv(path, encoding="utf-16-le")) == 1


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zip"])
def test_compressed_files_read_or_clear_error(tmp_path, suffix):
    import bz2
    import gzip
    import lzma
    import zipfile

    body = (HEADER + "a,1e7,1e9,3\n").encode()
    path = tmp_path / f"runs.csv{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("runs.csv", body)
    else:
        path.write_bytes({".gz": gzip, ".bz2": bz2, ".xz": lzma}[suffix].compress(body))
    assert Runs.from_csv(path).families == ["runs"]
    truncated = tmp_path / f"cut.csv{suffix}"
    truncated.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    plain = tmp_path / f"plain.csv{suffix}"
    plain.write_bytes(body)
    for bad in (truncated, plain):
        with pytest.raises(DataError, match="not a readable"):
            Runs.from_csv(bad)


def test_directory_fifo_and_unreadable(tmp_path, monkeypatch):
    import os

    with pytest.raises(DataError, match="is a directory"):
        Runs.from_csv(tmp_path)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        Runs.from_csv(fifo)
    locked = write(tmp_path, HEADER + "a,1e7,1e9,3\n", "locked.csv")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(locked), "read_bytes", denied)  # root ignores chmod 0
    with pytest.raises(DataError, match=r"locked.csv: cannot be read \(Permission denied\)"):
        Runs.from_csv(locked)
