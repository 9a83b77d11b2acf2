"""docs/fitting.md's example runs and prints what the page says it prints; the README's first
fit is taken from it line by line."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def readme_example() -> tuple[str, str]:
    """The code and the printed output of docs/fitting.md's first example."""
    text = (REPO / "docs" / "fitting.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    output = re.search(r"```text\n(.*?)```", text, re.S).group(1)
    return code, output


def test_readme_first_fit_is_the_tested_example() -> None:
    """Every line of the README's first fit is a line of the example checked below."""
    text = (REPO / "README.md").read_text()
    first = re.search(r"```python\n(.*?)```", text[text.index("## A first fit"):], re.S).group(1)
    tested = set(readme_example()[0].splitlines())
    assert [line for line in first.splitlines() if line not in tested] == []


@pytest.mark.slow
def test_readme_fitting_example_prints_what_it_says(mirror: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALING_TOOLKIT_MIRROR", str(mirror))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.chdir(tmp_path)
    code, expected = readme_example()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "docs/fitting.md", "exec"), {})
    got = buffer.getvalue()
    # The words and layout must match exactly; numbers to 5 significant digits (BLAS builds
    # differ in the last bits of an optimum).
    assert NUMBER.sub("#", got) == NUMBER.sub("#", expected), got
    for a, b in zip(NUMBER.findall(got), NUMBER.findall(expected), strict=True):
        assert float(a) == pytest.approx(float(b), rel=1e-5, abs=1e-12), (a, b, got)
    assert (tmp_path / "pythia-fit.json").is_file()
