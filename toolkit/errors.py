"""Exception types of the toolkit. Every message names the offending input."""

from __future__ import annotations


class ToolkitError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class DataError(ToolkitError, ValueError):
    """Input data (a file, a column, some rows) is not usable as it stands."""


class FetchError(ToolkitError, OSError):
    """A catalogue file could not be obtained or did not match its sha256."""


class FitError(ToolkitError, ValueError):
    """A scaling law cannot be fitted to the given points (and why)."""
