"""The scaling-toolkit command: outputs on good input, exit 2 and one stderr line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from toolkit.cli import build_parser, main


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_runs_summary(tmp_path, capsys):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"model": ["a", "a", "b"], "num_params": [1e7, 1e7, 4e7], "tokens": [1e9, 2e9, 2e9],
                  "loss": [3.2, 3.1, 2.9]}).to_csv(path, index=False)
    assert main(["runs", "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "3 checkpoints in 2 runs, 2 sizes, 1 family" in out


@pytest.mark.parametrize("body", ["model,num_params,tokens,loss\na,1e7,0,3\n", "just text\n", ""])
def test_runs_bad_csv_exit_2_one_line(tmp_path, body):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    proc = run("runs", "--csv", str(path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "bad.csv" in proc.stderr


def test_usage_errors_are_one_line(capsys):
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--csv" in err
    assert main(["nonsense"]) == 2


def test_missing_csv_file(capsys, tmp_path):
    assert main(["runs", "--csv", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_families_json_on_the_mirror(mirror, tmp_path):
    proc = run("families", "--json", env={"SCALING_TOOLKIT_MIRROR": str(mirror),
                                          "SCALING_TOOLKIT_DATA": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    keys = {"family", "arch", "n_models", "n_sizes", "n_checkpoints", "min_params", "max_params",
            "max_tokens", "metric", "loss_unit"}
    assert all(set(r) == keys for r in records)
    assert len(records) >= 30
    assert sum(r["n_models"] for r in records) >= 450


def test_fit_json_keys_on_a_users_csv(tmp_path, capsys):
    rng = __import__("numpy").random.default_rng(0)
    rows = []
    for n in (1e7, 3e7, 1e8, 3e8):
        for d in (1e9, 3e9, 1e10, 3e10):
            loss = 1.7 + 400 / n**0.34 + 410 / d**0.28
            rows.append({"model": f"m{n:g}", "num_params": n, "tokens": d, "loss": loss * (1 + 1e-4 * rng.normal())})
    path = tmp_path / "mine.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert main(["fit", "--csv", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"E", "A", "B", "alpha", "beta", "objective", "objective_value", "status", "n_points",
                        "n_sizes"}
    assert out["n_points"] == 16 and out["n_sizes"] == 4 and out["status"] in ("ok", "at_bound")
    assert main(["fit", "--csv", str(path), "--json", "--fix", "alpha=0.34", "--bootstrap", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alpha"] == 0.34 and set(out["intervals"]) == {"E", "A", "B", "alpha", "beta"}


def test_fit_drop_highest_and_cut(tmp_path, capsys):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"model": ["a"] * 3 + ["b"] * 3, "num_params": [1e7] * 3 + [1e8] * 3,
                  "tokens": [1e9, 1e10, 1e11] * 2, "loss": [4.0, 3.5, 3.3, 3.6, 3.1, 2.9]}).to_csv(path, index=False)
    # two sizes left: the fit runs but finds no usable law, so the exit status is 1
    assert main(["fit", "--csv", str(path), "--json", "--cut", "5e9", "--drop-highest", "1"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_points"] == 3
    assert captured.err.count("\n") == 1 and "no usable law" in captured.err and "--fix" in captured.err
    assert main(["fit", "--csv", str(path), "--cut", "1e12"]) == 2
    assert "no points left" in capsys.readouterr().err


@pytest.mark.parametrize("args,needle", [
    (["--fix", "alpha=x"], "--fix expects NAME=VALUE"),
    (["--fix", "gamma=1"], "no parameter gamma"),
    (["--objective", "l1"], "invalid choice"),
])
def test_fit_bad_arguments(tmp_path, capsys, args, needle):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"model": ["a", "b"], "num_params": [1e7, 1e8], "tokens": [1e9, 1e9],
                  "loss": [3.0, 2.8]}).to_csv(path, index=False)
    assert main(["fit", "--csv", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_fit_family_of_the_collection(mirror, tmp_path):
    proc = run("fit", "--family", "chinchilla", "--drop-highest", "5", "--objective", "huber-log", "--json",
               env={"SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # Epoch AI's replication (Besiroglu et al. 2024) reports alpha 0.35, beta 0.37 on these points.
    assert out["status"] == "ok" and out["n_points"] == 240
    assert 0.3 < out["alpha"] < 0.4 and 0.3 < out["beta"] < 0.45


def test_study_and_plan_on_a_slice(mirror, tmp_path):
    env = {"SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path / "cache")}
    out = tmp_path / "out"
    proc = run("study", "--families", "pythia", "opt", "--experiments", "grid", "baseline_best",
               "--out", str(out), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout)
    assert [v["number"] for v in items] == list(range(1, 9))
    assert {"table.parquet", "results.csv", "aggregates.csv", "comparison.csv", "verdicts.json"} <= \
        {p.name for p in out.iterdir()}
    table = pd.read_parquet(out / "table.parquet")
    assert set(table["family"]) == {"pythia", "opt"} and set(table["experiment"]) == {"grid", "baseline_best"}
    proc = run("plan", "--target-params", "7e9", "--target-tokens", "1.4e12", "--budget-fraction", "0.5",
               "--study", str(out), "--json", env=env)
    # A design is only recommended when measured on at least 5 families; two are not enough, and
    # no usable answer exits 1.
    assert proc.returncode == 1 and json.loads(proc.stdout) == []
    proc = run("plan", "--target-params", "7e9", "--target-tokens", "1.4e12", "--budget-fraction", "0.5",
               "--study", str(out), env=env)
    assert proc.returncode == 1 and "no design fits this budget while measured on enough families" in proc.stderr


def test_a_warm_study_computes_nothing_and_writes_what_a_cold_one_wrote(mirror, tmp_path, monkeypatch, capsys):
    from toolkit.findings import planner, verdicts
    from toolkit.study import artefacts, protocols, run

    monkeypatch.setenv("SCALING_TOOLKIT_MIRROR", str(mirror))
    monkeypatch.setenv("SCALING_TOOLKIT_DATA", str(tmp_path / "cache"))
    command = ["study", "--families", "opt", "gpt3", "chinchilla", "--experiments", "grid", "partial", "--quiet"]
    assert main([*command, "--out", str(tmp_path / "cold")]) == 0
    cold = capsys.readouterr().out
    for module, name in ((run.FamilyArrays, "all"), (run, "paper_families"), (protocols, "paper_families"),
                         (verdicts, "_verdicts"), (planner, "_designs"), (artefacts, "calibration_report"),
                         (artefacts, "aggregate")):
        monkeypatch.setattr(module, name, lambda *args, name=name, **kwargs: pytest.fail(f"{name} computed again"))
    assert main([*command, "--out", str(tmp_path / "warm")]) == 0
    warm = capsys.readouterr().out
    # the same verdicts, reference cells and departures; only the count of laws fitted differs
    assert warm.split("corrected protocol:")[0] == cold.split("corrected protocol:")[0]
    assert "0 laws fitted, 6 blocks from the cache" in warm, warm.splitlines()[-2:]
    files = sorted(p.name for p in (tmp_path / "cold").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "warm").iterdir()) and "verdicts.json" in files
    for name in files:
        warm_bytes, cold_bytes = ((tmp_path / run / name).read_bytes() for run in ("warm", "cold"))
        if name == "config.json":           # it counts the laws this run fitted, as the last line does
            counts = ("n_fitted", "n_cached")
            warm_bytes, cold_bytes = ({k: v for k, v in json.loads(b).items() if k not in counts}
                                      for b in (warm_bytes, cold_bytes))
        assert warm_bytes == cold_bytes, name


def test_plan_needs_one_budget(capsys, tmp_path):
    assert main(["plan", "--target-params", "7e9", "--target-tokens", "1e12"]) == 2
    assert "--budget-flops" in capsys.readouterr().err
    assert main(["plan", "--target-params", "7e9", "--target-tokens", "1e12", "--budget-fraction", "0.1",
                 "--study", str(tmp_path)]) == 2
    assert "not a saved study" in capsys.readouterr().err


def test_study_with_the_papers_protocol_reproduces_its_opt_cells(mirror, tmp_path):
    env = {"SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path / "cache")}
    out = tmp_path / "paper"
    proc = run("study", "--families", "opt", "--protocol", "paper", "--out", str(out), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    cells = {(c["family"], c["k"]): c for c in json.loads(proc.stdout)}
    # OPT without the cut at p = 1 (the paper's figure: 15.48, 18.52, 17.03), checked, not tuned
    for k, figure in ((3, 15.48), (4, 18.52), (5, 17.03)):
        assert abs(cells[("opt", k)]["are_paper"] - figure) < 0.05
    comparison = pd.read_csv(out / "comparison.csv")
    assert {"are_paper", "are_corrected", "difference", "explained_by"} <= set(comparison.columns)


# ----------------------------------------------------------------------------- a new user's command line
def _sweep(path, *, tokens=(1e9, 3e9, 1e10, 3e10), sizes=(1e7, 3e7, 1e8, 3e8)):
    rows = []
    for n in sizes:
        for d in tokens:
            rows.append({"model": f"m{n:g}", "num_params": n, "tokens": d,
                         "loss": 1.7 + 400 / n**0.34 + 410 / d**0.28})
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False)
    return df


def test_version(capsys):
    from toolkit import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"scaling-toolkit {__version__}"


def test_columns_and_metric_for_a_loggers_csv(tmp_path, capsys):
    import numpy as np

    df = _sweep(tmp_path / "plain.csv")
    logged = df.rename(columns={"num_params": "params", "tokens": "tokens_seen", "loss": "val_ppl"})
    logged["val_ppl"] = np.exp(logged["val_ppl"])
    path = tmp_path / "logger.csv"
    logged.to_csv(path, index=False)
    assert main(["fit", "--csv", str(tmp_path / "plain.csv"), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["fit", "--csv", str(path), "--json", "--metric", "ppl",
                 "--columns", "params=num_params,tokens_seen=tokens,val_ppl=loss"]) == 0
    converted = json.loads(capsys.readouterr().out)
    assert converted["n_points"] == 16 and converted["alpha"] == pytest.approx(plain["alpha"], rel=1e-6)


def test_perplexity_looking_loss_warns_in_one_line(tmp_path, capsys):
    import numpy as np

    df = _sweep(tmp_path / "x.csv")
    df.assign(loss=np.exp(df["loss"])).to_csv(tmp_path / "ppl.csv", index=False)
    main(["runs", "--csv", str(tmp_path / "ppl.csv")])
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and err.count("\n") == 1 and "--metric ppl" in err


def test_encoding_and_sep_options(tmp_path, capsys):
    df = _sweep(tmp_path / "x.csv").assign(model=lambda d: "modèle-" + d["model"])
    path = tmp_path / "latin.csv"
    path.write_bytes(df.to_csv(index=False, sep=";").encode("latin-1"))
    assert main(["runs", "--csv", str(path)]) == 2
    assert "--encoding latin-1" in capsys.readouterr().err
    assert main(["runs", "--csv", str(path), "--encoding", "latin-1", "--sep", ";"]) == 0


@pytest.mark.parametrize("args,needle", [
    (["--bootstrap", "0"], "--bootstrap: must be >= 2"),
    (["--bootstrap", "2.5"], "--bootstrap: expected a whole number"),
    (["--cut", "-5"], "--cut: must be >= 0"),
    (["--cut", "nan"], "--cut: expected a finite number"),
    (["--seed", "-1"], "--seed: must be >= 0"),
    (["--drop-highest", "-3"], "--drop-highest: must be >= 0"),
    (["--delta", "inf"], "--delta: expected a finite number"),
    (["--fix", "alpha=0.3", "--fix", "alpha=0.4"], "--fix alpha is given twice"),
    (["--fix", "E=nan"], "--fix E: the value must be finite"),
    (["--columns", "params"], "--columns: expected OLD=NEW"),
    (["--metric", "furlongs"], "invalid choice"),
])
def test_bad_numbers_exit_2_with_one_line(tmp_path, capsys, args, needle):
    _sweep(tmp_path / "mine.csv")
    assert main(["fit", "--csv", str(tmp_path / "mine.csv"), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


@pytest.mark.parametrize("args,needle", [
    (["--target-params", "nan"], "--target-params: expected a finite number"),
    (["--target-params", "0"], "--target-params: must be > 0"),
    (["--budget-fraction", "1.5"], "--budget-fraction: must be in (0, 1]"),
])
def test_plan_bad_numbers(capsys, args, needle):
    base = {"--target-params": "7B", "--target-tokens": "1.4T", "--budget-fraction": "0.1"}
    base.update(dict(zip(args[::2], args[1::2])))
    assert main(["plan", *[x for kv in base.items() for x in kv]]) == 2
    assert needle in capsys.readouterr().err


def test_plan_reads_sizes_as_the_notebooks_do():
    """The bug: --target-params 7G failed (runs.parse_size gave nan) while notebook 09 accepts it."""
    args = build_parser().parse_args(["plan", "--target-params", "7G", "--target-tokens", "1b1", "--budget-fraction",
                                      "0.1"])
    assert (args.target_params, args.target_tokens) == (7e9, 1.1e9)


@pytest.mark.parametrize("config", ['{"config": {}}', "{trunc"])
def test_plan_with_a_corrupt_study_file(tmp_path, capsys, config):
    for name in ("table.parquet", "families.parquet"):
        (tmp_path / name).write_bytes(b"PAR1 not really")
    (tmp_path / "config.json").write_text(config)
    assert main(["plan", "--target-params", "7B", "--target-tokens", "1.4T", "--budget-fraction", "0.1",
                 "--study", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a saved study" in err and "config.json" in err and err.count("\n") == 1


@pytest.mark.parametrize("out", ["", "afile", "afile/sub"])
def test_study_out_must_be_a_directory_name(tmp_path, capsys, out):
    (tmp_path / "afile").write_text("x")
    target = str(tmp_path / out) if out else out
    assert main(["study", "--families", "pythia", "--out", target]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and err.count("\n") == 1


def test_csv_that_is_a_directory_or_fifo(tmp_path, capsys):
    assert main(["runs", "--csv", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    os.mkfifo(tmp_path / "p.csv")
    assert main(["runs", "--csv", str(tmp_path / "p.csv")]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_broken_pipe_prints_no_traceback(mirror, tmp_path):
    env = {**os.environ, "SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path)}
    proc = subprocess.run(f"{sys.executable} -m toolkit.cli families | head -1", shell=True, capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr and "Exception" not in proc.stderr


def test_progress_bars_only_on_a_terminal(monkeypatch):
    import io

    from toolkit._progress import enabled

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not enabled()

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    assert enabled()
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not enabled()


def test_no_progress_bar_in_captured_stderr(mirror, tmp_path):
    proc = run("fit", "--family", "chinchilla", "--bootstrap", "3", env={
        "SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "it/s" not in proc.stderr and "\r" not in proc.stderr


def test_family_default_cut_is_applied_and_said(mirror, tmp_path):
    env = {"SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path)}
    proc = run("fit", "--family", "pythia", "--json", env=env)
    assert "the default cut" in proc.stderr and "a cut of 0 keeps all" in proc.stderr
    cut = json.loads(proc.stdout)
    proc = run("fit", "--family", "pythia", "--json", "--cut", "0", env=env)
    assert "default cut" not in proc.stderr
    assert json.loads(proc.stdout)["n_points"] > cut["n_points"]


def test_small_user_sweep_is_not_emptied(tmp_path, capsys):
    _sweep(tmp_path / "small.csv", tokens=(1e8, 3e8, 1e9, 3e9))
    assert main(["fit", "--csv", str(tmp_path / "small.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_points"] == 16


def test_json_never_has_bare_nan():
    import numpy as np

    from toolkit.storage import to_json

    text = to_json({"a": float("nan"), "b": [1.0, np.inf, {"c": np.float64("nan")}], "d": np.int64(3)})
    assert json.loads(text) == {"a": None, "b": [1.0, None, {"c": None}], "d": 3}
    assert "NaN" not in text and "Infinity" not in text


def test_unusable_cache_dir_falls_back_with_one_warning(mirror, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run("families", env={"SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(blocker)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: cache directory") and "without a cache" in lines[0]


def test_missing_mirror_directory_is_an_error(tmp_path):
    proc = run("families", env={"SCALING_TOOLKIT_MIRROR": str(tmp_path / "nope")})
    assert proc.returncode == 2 and "SCALING_TOOLKIT_MIRROR" in proc.stderr and proc.stderr.count("\n") == 1


def test_an_internal_error_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    from toolkit.cli import data

    def broken(args):
        raise IndexError("list index out of range")

    _sweep(tmp_path / "mine.csv")
    monkeypatch.setattr(data, "_cmd_runs", broken)
    assert main(["runs", "--csv", str(tmp_path / "mine.csv")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (IndexError" in err and "SCALING_TOOLKIT_DEBUG" in err
    monkeypatch.setenv("SCALING_TOOLKIT_DEBUG", "1")
    with pytest.raises(IndexError):
        main(["runs", "--csv", str(tmp_path / "mine.csv")])
