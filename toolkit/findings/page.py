"""The verdicts on the pages: docs/findings.md's table and README's one line per guideline.

Each sits between two markers (:data:`BEGIN` / :data:`END` on the findings page,
:data:`SUMMARY_BEGIN` / :data:`SUMMARY_END` in the README) and is replaced as a whole from
``findings/verdicts.json`` (the study's verdicts as the findings runner wrote them), so the
numbers on the pages are those of the last run and never typed by hand::

    python -m toolkit.findings.page findings/verdicts.json docs/findings.md README.md   # make findings-page
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from toolkit.errors import DataError, OutputError
from toolkit.findings.verdicts import Verdict, findings_table
from toolkit.storage import atomic_write

BEGIN: str = "<!-- BEGIN verdicts: written by `make findings-page` from findings/verdicts.json -->"
END: str = "<!-- END verdicts -->"
SUMMARY_BEGIN: str = "<!-- BEGIN verdict summary: written by `make findings-page` from findings/verdicts.json -->"
SUMMARY_END: str = "<!-- END verdict summary -->"


def load_verdicts(path: str | Path) -> list[Verdict]:
    """The verdicts of a ``verdicts.json`` (a list of :meth:`Verdict.to_dict` dicts)."""
    items = json.loads(Path(path).read_text())
    return [Verdict.from_dict(item) for item in items]


def verdict_summary(items: list[Verdict]) -> str:
    """One Markdown line per guideline: its number, title and outcome."""
    return "\n".join(f"- {v.number}. {v.title}: **{v.outcome}**" for v in items)


def with_block(page: str, text: str, begin: str = BEGIN, end: str = END) -> str:
    """``page`` with the text between ``begin`` and ``end`` replaced by ``text``.

    Raises
    ------
    DataError
        The page lacks the markers, or has them out of order.
    """
    start, stop = page.find(begin), page.find(end)
    if start < 0 or stop < start:
        raise DataError(f"the page has no {begin!r} ... {end!r} block to write the verdicts into")
    return page[:start + len(begin)] + "\n" + text + "\n" + page[stop:]


def block_of(page: str, begin: str = BEGIN, end: str = END) -> str:
    """The text between ``begin`` and ``end`` (as last written)."""
    return page[page.index(begin) + len(begin):page.index(end)].strip("\n")


def _write(path: Path, text: str, begin: str, end: str) -> bool:
    old = path.read_text()
    new = with_block(old, text, begin, end)
    if new != old:
        atomic_write(path, new)
    return new != old


def write_findings_page(verdicts_json: str | Path, page: str | Path, readme: str | Path | None = None) -> bool:
    """Write the verdicts of ``verdicts_json`` into ``page`` (the table) and ``readme`` (one line
    per guideline); True when either changed."""
    items = load_verdicts(verdicts_json)
    changed = _write(Path(page), findings_table(items), BEGIN, END)
    if readme is not None:
        changed = _write(Path(readme), verdict_summary(items), SUMMARY_BEGIN, SUMMARY_END) or changed
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit.findings.page VERDICTS_JSON PAGE [README]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m toolkit.findings.page findings/verdicts.json docs/findings.md [README.md]",
              file=sys.stderr)
        return 2
    try:
        changed = write_findings_page(*args)
    except (OSError, DataError, OutputError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{', '.join(args[1:])}: {'verdicts updated' if changed else 'unchanged'}")
    return 0


__all__ = ("BEGIN", "END", "SUMMARY_BEGIN", "SUMMARY_END", "block_of", "load_verdicts", "main", "verdict_summary",
           "with_block", "write_findings_page")

if __name__ == "__main__":
    sys.exit(main())
