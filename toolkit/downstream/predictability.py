"""Is a task predictable from a ladder? Noise against signal, monotonicity, distance from chance.

Measured on the training runs' final scores (:func:`~toolkit.downstream.methods.final_points`),
never on the target:

* ``noise_sd``: the spread of a run's final accuracy that is not due to N or D. From reruns
  (runs sharing N and D with another seed: the pooled standard deviation of their scores,
  sqrt(mean(diff^2) / 2) for pairs) where the family has them; at least the benchmark's own
  standard error (lm-eval's ``acc_stderr``, or the binomial error of the task's size) where the
  source gives it; else the jitter of consecutive late checkpoints of one run (the last
  third of its evaluations: sd of successive differences / sqrt 2).
* ``signal``: the range of final accuracy across the training runs (best minus worst), in
  accuracy (fraction); ``snr`` = signal / noise_sd.
* ``spearman``: the rank correlation of final accuracy with training compute 6 N D.
* ``above_chance``: how far the best training run is above random guessing, in noise SDs.

A task is ``predictable`` when ``snr >= MIN_SNR``, ``spearman >= MIN_SPEARMAN`` and
``above_chance >= MIN_ABOVE_CHANCE``. The thresholds were set before any target was looked at
(a signal of 5 noise SDs, as in a 5-sigma separation; a clear monotone trend; a best run 3 noise
SDs above chance) and are not tuned to the collection.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit.downstream.methods import final_points

MIN_SNR = 5.0
MIN_SPEARMAN = 0.8
MIN_ABOVE_CHANCE = 3.0
#: Floor of the noise estimate (fraction): one question in ten thousand, so a ratio never divides by 0.
NOISE_FLOOR = 1e-4


def rerun_noise(final: pd.DataFrame) -> float:
    """Pooled standard deviation of final accuracy among runs sharing (N, D) (NaN without reruns)."""
    groups = final.assign(d=final["tokens"].round(-6)).groupby(["num_params", "d"])["acc"]
    sq, dof = 0.0, 0
    for _, acc in groups:
        if len(acc) > 1:
            sq += float(((acc - acc.mean()) ** 2).sum())
            dof += len(acc) - 1
    return math.sqrt(sq / dof) if dof else math.nan


def jitter_noise(points: pd.DataFrame) -> float:
    """Checkpoint-to-checkpoint noise of the late evaluations of the runs (NaN if too few)."""
    diffs = []
    for _, run in points.sort_values("tokens").groupby("model"):
        late = run["acc"].to_numpy(float)[-max(len(run) // 3, 0):] if len(run) >= 6 else np.array([])
        diffs.extend(np.diff(late))
    return float(np.std(diffs) / math.sqrt(2)) if len(diffs) >= 3 else math.nan


def check(points: pd.DataFrame, smooth: int = 1) -> dict[str, float | bool | str]:
    """The predictability numbers and verdict of one task from the training runs' ``points``
    (:func:`~toolkit.downstream.data.task_points`); ``smooth`` as in the prediction (evaluations
    averaged for a run's final score). Returns noise_sd, noise_kind, signal, snr, spearman,
    above_chance, chance, predictable, reason."""
    final = final_points(points, smooth)
    rerun = rerun_noise(final)
    stderr = float(final["stderr"].median()) if final["stderr"].notna().any() else math.nan
    kinds = {"reruns": rerun, "benchmark stderr": stderr}
    known = {k: v for k, v in kinds.items() if math.isfinite(v)}
    if known:
        kind = max(known, key=known.get)
        noise = known[kind]
    else:
        kind, noise = "checkpoint jitter", jitter_noise(points)
    noise = max(noise if math.isfinite(noise) else NOISE_FLOOR, NOISE_FLOOR)
    signal = float(final["acc"].max() - final["acc"].min())
    compute = 6 * final["num_params"].to_numpy(float) * final["tokens"].to_numpy(float)
    from scipy.stats import spearmanr  # 0.6 CPU-s to import: not for a command that only writes task predictions

    rho = float(spearmanr(compute, final["acc"]).statistic) if len(final) >= 3 and final["acc"].nunique() > 1 \
        else math.nan
    chance = float(final["chance"].iloc[0]) if final["chance"].notna().any() else math.nan
    above = (float(final["acc"].max()) - chance) / noise if math.isfinite(chance) else math.nan
    snr = signal / noise
    failed = []
    if not snr >= MIN_SNR:
        failed.append(f"signal {signal:.3f} is {snr:.1f} noise SDs (< {MIN_SNR:g})")
    if not rho >= MIN_SPEARMAN:
        failed.append(f"rank correlation with compute {rho:.2f} (< {MIN_SPEARMAN:g})")
    if math.isfinite(above) and above < MIN_ABOVE_CHANCE:
        failed.append(f"best run {above:.1f} noise SDs above chance (< {MIN_ABOVE_CHANCE:g})")
    return {"noise_sd": noise, "noise_kind": kind, "signal": signal, "snr": snr, "spearman": rho,
            "above_chance": above, "chance": chance, "predictable": not failed,
            "reason": "; ".join(failed) if failed else
            f"signal {snr:.0f} noise SDs, rank correlation {rho:.2f}, best run {above:.0f} SDs above chance"}
