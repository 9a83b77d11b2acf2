"""The ``scaling-toolkit`` command.

Exit status: 0 for a usable answer; 1 when the command ran but found no usable answer
(e.g. a fit without a law; one stderr line says why and which flags to try), or on an
internal error (one line; ``SCALING_TOOLKIT_DEBUG=1`` shows the traceback); 2 for bad
input or arguments (one stderr line, no traceback). Warnings are one ``warning:`` line
each. Progress bars go to stderr only when it is a terminal (or with ``TQDM_DISABLE``
unset in a notebook) and never with ``--quiet``. ``--json`` output is strict JSON
(non-finite numbers are ``null``).

One module per group of subcommands, each with ``add_parser(subparsers)`` and its handlers:

- ``data``: ``fetch``, ``families``, ``runs`` (the collection and the user's own runs)
- ``fit``: ``fit``, and where a law comes from (shared with ``predict`` and ``allocate``)
- ``predict``: ``predict``, ``allocate`` (answers from a law)
- ``study``: ``calibrate``, ``study`` (the meta-analysis)
- ``plan``: ``plan`` (designs for a target and a budget)
- ``findings``: ``findings`` (the study, the notebooks and the report)
- ``downstream``: ``downstream`` (task accuracy)
- ``_common``: what they share (argument types, the user's runs, output, errors and exit status)

This module assembles the parser from :data:`COMMANDS` and runs it (:func:`main`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from toolkit._version import __version__
from toolkit.cli import data, downstream, findings, fit, plan, predict, study
from toolkit.cli._common import PROG, _exit_status, _Parser

__all__ = ["COMMANDS", "PROG", "build_parser", "main"]

#: The subcommands' modules, in the order ``--help`` lists their subcommands.
COMMANDS = (data, fit, predict, study, plan, findings, downstream)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Estimate scaling laws of language models from small runs.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scaling-toolkit``; returns the exit status (see the module docstring)."""

    def run() -> int:
        args = build_parser().parse_args(argv)
        return int(args.func(args))

    return _exit_status(run)

