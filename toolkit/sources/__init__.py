"""One parser per public source; each turns its catalogue files into ``Runs`` rows.

A parser module exposes ``parse(files: FileSet) -> pandas.DataFrame`` returning the
columns of :data:`toolkit.runs.COLUMNS`, with ``loss`` in nats per token, and a module
docstring saying which metric becomes ``loss`` and why.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Parser modules in load order (module name under ``toolkit.sources``).
PARSERS: tuple[str, ...] = (
    "pythia",
    "lm_eval_finals",
    "opt",
    "gpt3",
    "chinchilla",
    "olmo",
    "llm360",
    "t5_pile",
    "datablations",
    "overtrain",
    "moduleformer",
    "redpajama",
    "gzip_scaling",
    "bimix",
    "revisiting",
)


def parser(name: str) -> ModuleType:
    """Import the parser module ``toolkit.sources.<name>``."""
    return importlib.import_module(f"toolkit.sources.{name}")
