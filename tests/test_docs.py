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


def test_readme_stands_alone():
    """The landing page links only to files of the repository, and every one exists."""
    text = (REPO / "README.md").read_text()
    assert "://" not in text
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links and all((REPO / link).exists() for link in links), links


def test_findings_page_verdict_table_is_findings_tables_output():
    """docs/findings.md's table is written by `make findings-page` from `findings_table` (never
    edited by hand): its header, one row per guideline, known outcomes, and each per-source
    verdict quoting the counts its outcome is decided from, with and without the cells at a
    bound. The README's one line per guideline says the same outcomes."""
    from toolkit.findings.page import SUMMARY_BEGIN, SUMMARY_END, block_of
    from toolkit.findings.verdicts import OUTCOMES, findings_table

    rows = block_of((REPO / "docs" / "findings.md").read_text()).splitlines()
    header = findings_table([]).splitlines()
    assert rows[:2] == header and [r.split(".")[0] for r in rows[2:]] == [f"| {n}" for n in range(1, 9)]
    outcomes = []
    for n, row in enumerate(rows[2:], start=1):
        outcome = re.search(r"\| \*\*(.+?)\*\* \|", row).group(1)
        assert outcome in OUTCOMES, row[:60]
        outcomes.append(outcome)
        if n != 7:
            assert re.search(r"in \d+ of \d+ sources \(\d+ of \d+ without the cells at a bound\)", row), n
    summary = block_of((REPO / "README.md").read_text(), SUMMARY_BEGIN, SUMMARY_END).splitlines()
    assert [re.search(r"\*\*(.+?)\*\*$", line).group(1) for line in summary] == outcomes


def test_findings_page_is_written_from_verdicts_json(tmp_path):
    import json

    from toolkit.findings.page import BEGIN, END, SUMMARY_BEGIN, SUMMARY_END, block_of, write_findings_page
    from toolkit.findings.verdicts import Verdict, findings_table

    items = [Verdict(number=n, title=f"Guideline {n}", claim="a claim", statement=f"in {n} of 9 sources",
                     outcome="supported", n_sources=9, n_families=12) for n in (1, 2)]
    verdicts_json = tmp_path / "verdicts.json"
    verdicts_json.write_text(json.dumps([v.to_dict() for v in items]))
    page, readme = tmp_path / "findings.md", tmp_path / "README.md"
    page.write_text(f"# Findings\n\n{BEGIN}\nold table\n{END}\n\nafter\n")
    readme.write_text(f"# x\n{SUMMARY_BEGIN}\nold\n{SUMMARY_END}\n")
    assert write_findings_page(verdicts_json, page, readme)
    assert block_of(page.read_text()) == findings_table(items) and page.read_text().endswith("\n\nafter\n")
    assert block_of(readme.read_text(), SUMMARY_BEGIN, SUMMARY_END).splitlines()[1] == \
        "- 2. Guideline 2: **supported**"
    assert not write_findings_page(verdicts_json, page, readme)  # unchanged the second time
