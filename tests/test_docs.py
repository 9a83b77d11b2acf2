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
        source = (REPO / "tests" / current).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{current}::{name} is cited but does not exist"
        cited += 1
    assert cited >= 30
