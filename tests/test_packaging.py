"""environment.yml and pyproject.toml declare the same dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _names(specs: list[str]) -> set[str]:
    return {re.split(r"[<>=!\[ ]", s.strip(), maxsplit=1)[0].lower() for s in specs}


def test_conda_environment_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) | _names(project["optional-dependencies"]["test"])
    text = (REPO / "environment.yml").read_text()
    lines = text[text.index("dependencies:"):].splitlines()
    conda = {ln.strip()[2:] for ln in lines if ln.startswith("  - ") and not ln.strip().startswith("- pip")}
    assert _names(sorted(conda)) - {"python"} == wanted


@pytest.mark.slow
def test_wheel_carries_the_catalogue(tmp_path):
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("scaling_toolkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "toolkit/datasets/catalog.csv" in names
    # pyproject lists the packages explicitly: a new subpackage must be added there too.
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "toolkit").rglob("*.py")}
    assert modules <= set(names), sorted(modules - set(names))
