"""``findings``: the study and every notebook, and the report they make."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toolkit.cli._common import _count, _out_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``findings`` to ``sub``."""
    from toolkit.findings.runner import FINDINGS_BOOTSTRAP, QUICK_BOOTSTRAP

    s = sub.add_parser("findings", help="run the study and every notebook; write the report (index.html)")
    s.add_argument("--out", type=_out_dir("findings"), default="findings", metavar="DIR",
                   help="output directory, replaced as a whole at the end (default: findings); it must be new, "
                        "empty or an earlier output of this command")
    s.add_argument("--quick", action="store_true", help="small parameters and a few families (for tests)")
    s.add_argument("--only", nargs="+", metavar="NAME", help="only these notebooks (e.g. 02_fit_a_law or 02)")
    s.add_argument("--jobs", type=_count(1), default=2, metavar="N", help="notebooks run at the same time (default 2)")
    s.add_argument("--notebooks", type=Path, metavar="DIR", help="notebook directory (default: the repository's)")
    s.add_argument("--no-study", action="store_true", help="skip the study and its verdicts")
    s.add_argument("--bootstrap", type=_count(0), default=None, metavar="B",
                   help="resamples per predicting cell of the study, for its intervals (0: none; default "
                        f"{FINDINGS_BOOTSTRAP}, {QUICK_BOOTSTRAP} with --quick)")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.set_defaults(func=_cmd_findings)


def _cmd_findings(args: argparse.Namespace) -> int:
    from toolkit.findings.runner import run_findings

    result = run_findings(args.out, notebooks_dir=args.notebooks, only=args.only, quick=args.quick,
                          n_jobs=args.jobs, study=not args.no_study, bootstrap=args.bootstrap,
                          progress=not args.quiet)
    for o in result.failed:
        print(f"FAILED {o.name}: {o.error}", file=sys.stderr)
    return 1 if result.failed else 0
