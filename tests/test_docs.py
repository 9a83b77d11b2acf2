"""The repository's own account stands alone: no reference outside it, a licence, and a
reliability page whose every cited test exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_readme_and_docs_do_not_point_outside_the_repository():
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        assert "../shared/docs" not in path.read_text(), path.name
    assert (REPO / "docs" / "method.md").is_file()


def test_licence_matches_pyproject():
    licence = (REPO / "LICENSE").read_text()
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "MIT" and licence.startswith("MIT License")
    assert "scaling-toolkit contributors" in licence


def test_every_test_cited_in_reliability_md_exists():
    text = (REPO / "docs" / "reliability.md").read_text()
    cited = 0
    current = None
    for file, name in re.findall(r"`(test_\w+\.py)?::(test_\w+)`", text):
        current = file or current
        assert current is not None, name
        # test files live in folders mirroring the package; their basenames are unique
        source = next((REPO / "tests").rglob(current)).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{current}::{name} is cited but does not exist"
        cited += 1
    assert cited >= 30


def test_readme_verdict_table_is_findings_tables_output():
    """The README's table is pasted from `findings_table` (never edited by hand): its header,
    one row per guideline, known outcomes, and each per-source verdict quoting the counts its
    outcome is decided from, with and without the cells at a bound."""
    from toolkit.findings.verdicts import OUTCOMES, findings_table

    text = (REPO / "README.md").read_text()
    header = findings_table([]).splitlines()
    start = text.index(header[0])
    rows = text[start:].split("\n\n")[0].splitlines()
    assert rows[:2] == header and [r.split(".")[0] for r in rows[2:]] == [f"| {n}" for n in range(1, 9)]
    for n, row in enumerate(rows[2:], start=1):
        outcome = re.search(r"\| \*\*(.+?)\*\* \|", row).group(1)
        assert outcome in OUTCOMES, row[:60]
        if n != 7:
            assert re.search(r"in \d+ of \d+ sources \(\d+ of \d+ without the cells at a bound\)", row), n
