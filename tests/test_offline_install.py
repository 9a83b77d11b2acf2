"""The offline route of docs/install.md: `make wheelhouse` holds everything the runtime needs.

Building the wheelhouse needs the package index (as on the connected machine of the route); the
install is then resolved from the wheelhouse alone: no index, no configured links or config.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_wheelhouse_installs_the_runtime_without_an_index(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    built = subprocess.run(["make", "-C", str(REPO), "wheelhouse", f"WHEELHOUSE={wheelhouse}",
                            f"BIN={Path(sys.executable).parent}"], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    offline = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_INDEX_URL": "",
               "PIP_EXTRA_INDEX_URL": "", "PIP_CONSTRAINT": ""}
    report = tmp_path / "report.json"
    resolved = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-index",
         "--find-links", str(wheelhouse), "--report", str(report), "--quiet", "-e", str(REPO)],
        capture_output=True, text=True, check=False, env=offline)
    assert resolved.returncode == 0, resolved.stderr[-2000:]
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert {"scaling-toolkit", "jupyterlab", "papermill", "altair", "latex2mathml"} <= names
    assert not names & {"pytest", "playwright", "voila", "dask"}, "test extras leaked into the runtime"
