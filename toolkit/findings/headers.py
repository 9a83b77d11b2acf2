"""Readable headers for the tables the notebooks show: ``train_params`` -> ``train size (parameters)``.

The toolkit's frames keep their snake_case names: the recorded numbers, the exercises' checks
and the tests read them. A notebook shows a copy renamed by :func:`readable_headers`, through
one registry of names (:data:`HEADERS`), so that a column reads the same in every notebook.
"""

from __future__ import annotations

import numbers

import pandas as pd

from toolkit.units import format_size

#: Column, index and axis names of the toolkit's tables -> what a notebook shows (units in parentheses).
HEADERS: dict[str, str] = {
    # the collection (Runs.summary)
    "arch": "architecture",
    "n_models": "runs",
    "n_sizes": "model sizes",
    "n_checkpoints": "checkpoints",
    "min_params": "smallest model (parameters)",
    "max_params": "largest model (parameters)",
    "max_tokens": "longest run (tokens)",
    "loss_unit": "loss unit",
    # laws, predictions and allocations
    "E": "E (irreducible loss)",
    "alpha": "α",
    "beta": "β",
    "are": "ARE (fraction)",
    "num_params": "parameters (N)",
    "tokens": "tokens (D)",
    "flops": "compute (FLOPs)",
    "loss": "loss (nats/token)",
    "kind": "interval",
    "tokens_per_param": "tokens per parameter (D/N)",
    "num_params_lower": "N lower",
    "num_params_upper": "N upper",
    "tokens_lower": "D lower",
    "tokens_upper": "D upper",
    "tokens_per_param_lower": "D/N lower",
    "tokens_per_param_upper": "D/N upper",
    "loss_lower": "loss lower (nats/token)",
    "loss_upper": "loss upper (nats/token)",
    "n_used": "bootstrap resamples",
    "allocation_interval": "N, D interval",
    "loss_interval": "loss interval",
    # designs of the study and the paper's protocol
    "k": "training sizes (k)",
    "p": "fraction of training (p)",
    "cut_tokens": "early-checkpoint cut (tokens)",
    "train_params": "train size (parameters)",
    "target_params": "target size (parameters)",
    "extrapolation": "extrapolation (target N / train N)",
    "are_pct": "ARE (%)",
    "paper_figure": "paper's figure: ARE (%)",
    "are_paper": "paper's protocol: ARE (%)",
    "are_corrected": "corrected protocol: ARE (%)",
    "n_cells": "cells",
    "median_abs_effect": "median |effect| (points of ARE)",
    "max_abs_effect": "largest |effect| (points of ARE)",
    "n_failed": "cells left without a law",
    "reason": "first departure explaining the difference",
    # the structure of the fitted parameters
    "n_term": "N term (centred)",
    "d_term": "D term (centred)",
    "why": "left out because",
    "A_swapped": "A (terms swapped)",
    "B_swapped": "B (terms swapped)",
    "alpha_swapped": "α (terms swapped)",
    "beta_swapped": "β (terms swapped)",
    "max_relative_difference": "largest relative difference of the two laws (fraction)",
    "n_families": "families",
    "corr_a_alpha": "corr(ln A, α)",
    "corr_b_beta": "corr(ln B, β)",
    "pca3_raw": "variance of 3 PCs, raw (fraction)",
    "corr_n_term_alpha": "corr(N term, α)",
    "corr_d_term_beta": "corr(D term, β)",
    "pca3_centred": "variance of 3 PCs, centred (fraction)",
    "p_corr_n_term_alpha": "p-value: corr(N term, α)",
    "p_corr_d_term_beta": "p-value: corr(D term, β)",
    "p_pca3_centred": "p-value: variance of 3 PCs, centred",
    # interval calibration (bias_check)
    "n": "predictions",
    "median_error": "median error ln(L̂/L) (nats)",
    "median_error_corrected": "median error, bias-corrected (nats)",
    "median_abs_error": "median |error| (nats)",
    "median_abs_error_corrected": "median |error|, bias-corrected (nats)",
}


def _label(name: object) -> object:
    """One header: its registered name, or a number as people write it (a cut of 1e10 tokens: 10B)."""
    if isinstance(name, str):
        return HEADERS.get(name, name)
    if isinstance(name, numbers.Real) and not isinstance(name, bool):
        return format_size(name)
    return name


def readable_headers(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` to show: its column labels and the names of its index and column
    levels renamed through :data:`HEADERS`, numeric column labels written as sizes (a cut of
    ``1e10`` tokens: ``10B``). The values and ``table`` itself are unchanged."""
    shown = table.rename(columns=_label)
    shown.columns = shown.columns.set_names([_label(n) for n in shown.columns.names])
    shown.index = shown.index.set_names([_label(n) for n in shown.index.names])
    return shown


__all__ = ("HEADERS", "readable_headers")
