"""Progress bars for long loops: tqdm, its notebook variant inside Jupyter, or nothing.

Bars are shown only where someone can see them: in a Jupyter kernel, or when stderr is
a terminal. ``TQDM_DISABLE`` (any value but empty/0/false) or
``SCALING_TOOLKIT_PROGRESS=0`` turn them off everywhere.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _off(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def enabled() -> bool:
    """Whether progress bars may be shown in this process (see the module docstring)."""
    if _off("TQDM_DISABLE") or os.environ.get("SCALING_TOOLKIT_PROGRESS", "1") == "0":
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def progress_bar(*args: Any, disable: bool = False, **kwargs: Any):
    """A tqdm bar (``tqdm.auto`` picks the widget inside Jupyter); disabled when
    ``disable`` is true or :func:`enabled` says no."""
    from tqdm.auto import tqdm

    return tqdm(*args, disable=disable or not enabled(), **kwargs)
