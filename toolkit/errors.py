"""Exception types of the toolkit. Every message names the offending input.

Messages are one line and bounded (:data:`MAX_MESSAGE` characters): a newline in a
value or a megabyte-long cell can never turn an error into a wall of text.
"""

from __future__ import annotations

from typing import Any

#: Longest message a toolkit error carries (longer ones are cut and end with "…").
MAX_MESSAGE = 2000


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    """``text`` as one line of at most ``limit`` characters (newlines become spaces)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ToolkitError(Exception):
    """Base class of every error the toolkit raises on purpose (one bounded line)."""

    def __init__(self, message: object = "", *args: Any) -> None:
        super().__init__(one_line(message), *args)

    def _render_traceback_(self) -> list[str]:
        # IPython shows what this returns instead of the traceback: in a notebook a bad input is
        # its one line (a user's CSV without a loss column gave 41 lines of toolkit internals)
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class DataError(ToolkitError, ValueError):
    """Input data (a file, a column, some rows) is not usable as it stands.

    ``failures`` is a DataFrame with one row per problem found (``row``, ``column``,
    ``value``, ``problem``) when the error comes from validating a table, else ``None``.
    """

    def __init__(self, message: object = "", *args: Any, failures: Any = None) -> None:
        super().__init__(message, *args)
        self.failures = failures


class FetchError(ToolkitError, OSError):
    """A catalogue file could not be obtained or did not match its sha256."""


class FitError(ToolkitError, ValueError):
    """A scaling law cannot be fitted to the given points (and why)."""


class LawError(FitError):
    """A scaling law cannot be built or used as asked: an unknown parameter or law, a bad
    bound or tie, no finite allocation. A :class:`FitError` subclass, so code that catches fit
    problems (a law read from a saved fit, say) keeps catching it."""


class OutputError(ToolkitError, OSError):
    """A result could not be written where asked (nothing was half written)."""
