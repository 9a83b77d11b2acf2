"""Progress bars for long loops: tqdm, its notebook variant inside Jupyter, or nothing."""

from __future__ import annotations

import os
from typing import Any


def progress_bar(*args: Any, disable: bool = False, **kwargs: Any):
    """A tqdm bar (``tqdm.auto`` picks the widget inside Jupyter).

    Disabled when ``disable`` is true or ``SCALING_TOOLKIT_PROGRESS=0``.
    """
    from tqdm.auto import tqdm

    if os.environ.get("SCALING_TOOLKIT_PROGRESS", "1") == "0":
        disable = True
    return tqdm(*args, disable=disable, **kwargs)
