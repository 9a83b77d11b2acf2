"""One BLAS thread per fit: the rule, in one place.

A fit solves many tiny systems (3x3 least squares, a few hundred points); BLAS threads only add
their start-up to each call. With OpenBLAS's default threads a 100-resample Huber bootstrap of
Pythia took 29.9 CPU-seconds, with one thread 3.1. Every fit (:func:`toolkit.fitting.fit_arrays`,
hence :func:`~toolkit.fitting.fit`, :func:`~toolkit.fitting.bootstrap` and the panels) and every
worker of :func:`~toolkit.fitting.fit_many` runs with one. A caller who wants more threads for
its own work outside the fits keeps them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    # Inspecting the loaded libraries takes ~100 us; a controller made once limits in ~8 us.
    return ThreadpoolController()


@cache
def _blas() -> tuple:
    return tuple(_controller().select(user_api="blas").lib_controllers)


def one_thread() -> AbstractContextManager:
    """A context in which BLAS uses one thread (restored on exit)."""
    if all(lib.num_threads == 1 for lib in _blas()):
        # Already one (a pinned worker, a batch's context around its fits): nothing to set or
        # restore, and threadpoolctl's limit costs 17 us a call, twice per fit.
        return nullcontext()
    return _controller().limit(limits=1, user_api="blas")


def pin() -> None:
    """Limit BLAS to one thread for the rest of the process (a worker's initializer)."""
    _controller().limit(limits=1, user_api="blas")
