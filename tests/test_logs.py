"""Training logs as loggers write them round-trip to the same Runs as the equivalent CSV.

The TensorBoard and MLflow logs are written by those libraries themselves (the ``tensorboard``
and ``mlflow`` extras, part of the test extra); the tests skip only when the extra is absent.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.errors import DataError
from toolkit.logs import LogSpec
from toolkit.runs import Runs

SIZES = {"ladder-20m": 20_000_000, "ladder-60m": 60_000_000, "ladder-150m": 150_000_000}
BATCH, SEQ = 256, 2048
STEPS = np.array([0, 500, 1000, 2000, 4000, 8000])  # step 0: the initial evaluation, no tokens seen


def _loss(n: float, steps: np.ndarray) -> np.ndarray:
    d = np.maximum(steps, 1) * BATCH * SEQ
    # float32 values: TensorBoard stores scalars in single precision, so the CSV holds the same numbers
    return (1.9 + 380 / n ** 0.33 + 2100 / d ** 0.3).astype(np.float32).astype(float)


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> Runs:
    rows = [{"model": run, "num_params": n, "tokens": float(s * BATCH * SEQ), "loss": loss}
            for run, n in SIZES.items() for s, loss in zip(STEPS, _loss(n, STEPS)) if s > 0]
    path = tmp_path_factory.mktemp("csv") / "runs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return Runs.from_csv(path, family="user")


def _same(runs: Runs, expected: Runs) -> None:
    pd.testing.assert_frame_equal(runs.frame, expected.frame)
    assert runs.equals(expected)


def test_a_directory_of_per_run_csvs(tmp_path, expected):
    for run, n in SIZES.items():
        pd.DataFrame({"step": STEPS, "loss": _loss(n, STEPS), "num_params": n, "lr": 3e-4}).to_csv(
            tmp_path / f"{run}.csv", index=False)
    with pytest.warns(UserWarning, match="3 point.s. at step 0 or before"):
        _same(Runs.from_csv_dir(tmp_path, batch_size=BATCH, seq_len=SEQ), expected)
    with pytest.raises(DataError, match="no tokens: log a 'tokens' column/metric, or give batch_size and seq_len"):
        Runs.from_csv_dir(tmp_path)
    with pytest.raises(DataError, match=r"no column 'val/loss' for the loss \(columns: step, loss, num_params, lr\)"):
        Runs.from_csv_dir(tmp_path, loss="val/loss", batch_size=BATCH, seq_len=SEQ)


def _history(n: float) -> list[dict]:
    """A W&B run history: _step, _runtime, the loss at some steps and other metrics at others."""
    rows = []
    for s, loss in zip(STEPS, _loss(n, STEPS)):
        rows.append({"_step": int(s), "_runtime": 1.5 * s, "train/loss": float(loss)})
        rows.append({"_step": int(s) + 1, "_runtime": 1.5 * s + 1, "lr": 3e-4})  # a row without the loss
    return rows


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_wandb_history_exports(tmp_path, expected, fmt):
    for run, n in SIZES.items():
        rows = _history(n)
        path = tmp_path / f"{run}.{fmt}"
        if fmt == "csv":
            pd.DataFrame(rows).to_csv(path)  # what run.history().to_csv writes: with the frame's index
        elif fmt == "json":
            path.write_text(json.dumps(rows))
        else:
            path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.warns(UserWarning, match="at step 0"):
        runs = Runs.from_wandb(tmp_path, loss="train/loss", batch_size=BATCH, seq_len=SEQ, sizes=SIZES)
    _same(runs, expected)


def test_wandb_chart_export_with_several_runs(tmp_path, expected):
    wide = {"Step": STEPS}
    for run, n in SIZES.items():
        loss = _loss(n, STEPS)
        wide.update({f"{run} - train/loss": loss, f"{run} - train/loss__MIN": loss, f"{run} - train/loss__MAX": loss})
    pd.DataFrame(wide).to_csv(tmp_path / "wandb_export.csv", index=False)
    with pytest.warns(UserWarning, match="at step 0"):
        runs = Runs.from_wandb(tmp_path / "wandb_export.csv", loss="train/loss", batch_size=BATCH, seq_len=SEQ,
                               sizes=SIZES)
    _same(runs, expected)
    with pytest.raises(DataError, match=r"run 'ladder-20m' says nothing of its size: .*--sizes ladder-20m=N"):
        Runs.from_wandb(tmp_path / "wandb_export.csv", loss="train/loss", batch_size=BATCH, seq_len=SEQ)


def test_tensorboard_event_directories(tmp_path, expected):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    for run, n in SIZES.items():
        writer = EventFileWriter(str(tmp_path / run))
        writer.add_event(Event(wall_time=time.time(), step=0,
                               summary=Summary(value=[Summary.Value(tag="num_params", simple_value=float(n))])))
        for s, loss in zip(STEPS, _loss(n, STEPS)):
            writer.add_event(Event(wall_time=time.time(), step=int(s),
                                   summary=Summary(value=[Summary.Value(tag="train/loss", simple_value=loss),
                                                          Summary.Value(tag="lr", simple_value=3e-4)])))
        writer.close()
    with pytest.warns(UserWarning, match="at step 0"):
        runs = Runs.from_tensorboard(tmp_path, loss="train/loss", batch_size=BATCH, seq_len=SEQ)
    _same(runs, expected)
    with pytest.raises(DataError, match=r"no scalar 'loss' \(tags: lr, num_params, train/loss\)"):
        Runs.from_tensorboard(tmp_path, batch_size=BATCH, seq_len=SEQ)


def test_mlflow_tracking_store(tmp_path, expected, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    mlflow.set_tracking_uri(store.as_uri())
    try:
        mlflow.set_experiment("ladder")
        for run, n in SIZES.items():
            with mlflow.start_run(run_name=run):
                mlflow.log_param("num_params", n)
                mlflow.log_param("batch_size", BATCH)
                for s, loss in zip(STEPS, _loss(n, STEPS)):
                    mlflow.log_metric("train_loss", loss, step=int(s))
    finally:
        mlflow.set_tracking_uri(None)
    with pytest.warns(UserWarning, match="at step 0"):
        runs = Runs.from_mlflow(store, loss="train_loss", batch_size=BATCH, seq_len=SEQ, experiment="ladder")
    _same(runs, expected)
    with pytest.raises(DataError, match="no MLflow experiment named 'nope'"):
        Runs.from_mlflow(store, loss="train_loss", batch_size=BATCH, seq_len=SEQ, experiment="nope")


@pytest.mark.parametrize("module,reader", [("mlflow", "from_mlflow"), ("tensorboard", "from_tensorboard")])
def test_a_missing_extra_is_named(tmp_path, monkeypatch, module, reader):
    monkeypatch.setitem(sys.modules, "mlflow.tracking" if module == "mlflow" else
                        "tensorboard.backend.event_processing", None)
    (tmp_path / "run" / "events.out.tfevents.1").parent.mkdir()
    (tmp_path / "run" / "events.out.tfevents.1").write_bytes(b"")
    with pytest.raises(DataError, match=rf"needs the optional package '{module}': pip install "
                                        rf"'scaling-toolkit\[{module}\]'"):
        getattr(Runs, reader)(tmp_path, batch_size=BATCH, seq_len=SEQ)


def test_log_spec_is_checked():
    with pytest.raises(DataError, match="give both batch_size and seq_len"):
        LogSpec(batch_size=256)
    with pytest.raises(DataError, match="batch_size must be a positive number"):
        LogSpec(batch_size=-1, seq_len=2048)
    with pytest.raises(DataError, match="unknown log option"):
        Runs.from_csv_dir(".", batch=3)


def test_cli_reads_logs(tmp_path, capsys):
    for run, n in SIZES.items():
        pd.DataFrame({"step": STEPS, "loss": _loss(n, STEPS), "num_params": n}).to_csv(tmp_path / f"{run}.csv",
                                                                                      index=False)
    assert main(["runs", "--csv-dir", str(tmp_path), "--batch-size", str(BATCH), "--seq-len", str(SEQ)]) == 0
    out = capsys.readouterr()
    assert "15 checkpoints in 3 runs, 3 sizes" in out.out and "at step 0" in out.err
    assert main(["fit", "--csv-dir", str(tmp_path), "--batch-size", str(BATCH), "--seq-len", str(SEQ),
                 "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["status"] == "ok" and fit["n_points"] == 15
    assert main(["runs", "--csv-dir", str(tmp_path)]) == 2
    assert "--batch-size" in capsys.readouterr().err


def test_each_run_may_have_its_own_batch_size(tmp_path, expected, capsys):
    """A ladder whose batch grows with the model (OLMo's): the same tokens from different steps."""
    batch = {"ladder-20m": 128, "ladder-60m": 256, "ladder-150m": 512}
    for run, n in SIZES.items():
        steps = STEPS * BATCH // batch[run]
        pd.DataFrame({"step": steps, "loss": _loss(n, STEPS), "num_params": n}).to_csv(tmp_path / f"{run}.csv",
                                                                                      index=False)
    with pytest.warns(UserWarning, match="at step 0"):
        _same(Runs.from_csv_dir(tmp_path, batch_size=batch, seq_len=SEQ), expected)
    with pytest.raises(DataError, match="run 'ladder-60m' has no batch size"):
        Runs.from_csv_dir(tmp_path, batch_size={"ladder-20m": 128, "ladder-150m": 512}, seq_len=SEQ)
    arg = ",".join(f"{k}={v}" for k, v in batch.items())
    assert main(["runs", "--csv-dir", str(tmp_path), "--batch-size", arg, "--seq-len", str(SEQ)]) == 0
    assert "15 checkpoints in 3 runs" in capsys.readouterr().out


def test_a_numpy_batch_size_is_a_number():
    import numpy as np

    from toolkit.logs import LogSpec

    spec = LogSpec(batch_size=np.int64(256), seq_len=np.int32(2048))
    assert spec.batch_size == 256 and spec.seq_len == 2048
