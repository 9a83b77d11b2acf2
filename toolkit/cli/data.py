"""``fetch``, ``families`` and ``runs``: the public collection and the user's own runs."""

from __future__ import annotations

import argparse

from toolkit.cli._common import (
    _add_csv_options,
    _add_quiet,
    _add_source_options,
    _print_json,
    _progress,
    _read_csv,
    _user_source,
    _wide_pandas,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``fetch``, ``families`` and ``runs`` to ``sub``."""
    s = sub.add_parser("fetch", help="download and verify every file of the public collection")
    _add_quiet(s)
    s.set_defaults(func=_cmd_fetch)

    s = sub.add_parser("families", help="list the families of the collection")
    s.add_argument("--json", action="store_true", help="print a JSON list of objects")
    _add_quiet(s)
    s.set_defaults(func=_cmd_families)

    s = sub.add_parser("runs", help="validate your own training logs (CSV or a logger's) and summarise them")
    _add_source_options(s.add_mutually_exclusive_group(required=True))
    _add_csv_options(s)
    s.set_defaults(func=_cmd_runs)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from toolkit.catalog import Catalog

    catalog = Catalog()
    paths = catalog.fetch(progress=_progress(args))
    where = catalog.mirror if catalog.mirror is not None else catalog.cache_dir
    print(f"{len(paths)} files verified (sha256) under {where}")
    return 0


def _cmd_families(args: argparse.Namespace) -> int:
    from toolkit.collection import list_families

    table = list_families(progress=_progress(args))
    if args.json:
        _print_json(table.to_dict(orient="records"))
    else:
        with _wide_pandas():
            print(table.to_string(index=False))
        print(f"\n{len(table)} families, {int(table['n_models'].sum())} runs, "
              f"{int(table['n_checkpoints'].sum())} checkpoints")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    runs = _read_csv(args)
    with _wide_pandas():
        print(runs.summary().to_string(index=False))
    print(f"\n{_user_source(args)}: {len(runs)} checkpoints in {runs.frame.groupby(['family', 'model']).ngroups} runs, "
          f"{len(runs.sizes())} sizes, {len(runs.families)} famil{'y' if len(runs.families) == 1 else 'ies'}")
    return 0
