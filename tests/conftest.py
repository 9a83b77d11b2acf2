"""Shared fixtures: the offline mirror of the public collection (``../shared/datasets``).

Helpers shared by test modules live in ``tests/_helpers/`` (put on ``sys.path`` here), never in a
test module another one imports."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from toolkit.catalog import Catalog, FileSet

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent / "_helpers"))


def mirror_dir() -> Path | None:
    env = os.environ.get("SCALING_TOOLKIT_MIRROR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "datasets")
    for c in candidates:
        if (c / "sources").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_dir()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have the offline mirror (../shared/datasets or SCALING_TOOLKIT_MIRROR)")
        pytest.skip("no offline mirror of the collection")
    return path


@pytest.fixture(scope="session")
def catalog(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return Catalog(mirror=mirror, cache_dir=tmp_path_factory.mktemp("cache"), offline=True)


@pytest.fixture(scope="session")
def files(catalog: Catalog) -> FileSet:
    return FileSet(catalog)
