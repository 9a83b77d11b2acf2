"""The whole public collection as one ``Runs`` table, parsed once and cached.

The parsed table is cached as Parquet in the cache directory, keyed by the catalogue's
content hash, the toolkit version and the parsers' source code, so a warm load reads
one file instead of ~1,300.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from toolkit.catalog import Catalog, FileSet
from toolkit.runs import Runs
from toolkit.sources import PARSERS, parser


def _parsers_hash() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted((here / "sources").glob("*.py")) + [here / "runs.py"]:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _cache_file(catalog: Catalog) -> Path:
    from toolkit import __version__

    key = f"{catalog.digest}-{__version__}-{_parsers_hash()}"
    return catalog.cache_dir / "parsed" / f"collection-{key}.parquet"


def _parse_all(catalog: Catalog, progress: bool) -> Runs:
    from toolkit._progress import progress_bar

    files = FileSet(catalog)
    frames = []
    for name in progress_bar(PARSERS, desc="parse sources", disable=not progress):
        frames.append(parser(name).parse(files))
    return Runs.from_frame(pd.concat(frames, ignore_index=True), name="collection")


def load_collection(
    families: str | Iterable[str] | None = None,
    *,
    catalog: Catalog | None = None,
    use_cache: bool = True,
    progress: bool = True,
) -> Runs:
    """Load the public collection (or some of its families) as a validated ``Runs`` table.

    Files come from the offline mirror (``SCALING_TOOLKIT_MIRROR``) or the download cache
    (fetched on first use; see :mod:`toolkit.catalog`). ``loss`` is in nats per token.

    Parameters
    ----------
    families
        Family ids to keep (see :func:`list_families`); ``None`` keeps all.
    catalog
        Where files come from (default: ``Catalog()`` from the environment).
    use_cache
        Read/write the parsed table cache (a Parquet file in the cache directory).
    progress
        Show a progress bar while parsing the sources.
    """
    catalog = catalog or Catalog()
    cache = _cache_file(catalog)
    runs: Runs | None = None
    if use_cache and cache.is_file():
        runs = Runs(pd.read_parquet(cache))
    if runs is None:
        runs = _parse_all(catalog, progress)
        if use_cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            runs.frame.to_parquet(tmp, index=False)
            os.replace(tmp, cache)
    if families is None:
        return runs
    return runs.select(families=[families] if isinstance(families, str) else list(families))


def list_families(*, catalog: Catalog | None = None, progress: bool = True) -> pd.DataFrame:
    """One row per family of the collection: family, arch, n_models (runs), n_sizes (distinct
    N), n_checkpoints, min_params, max_params, max_tokens, metric."""
    return load_collection(catalog=catalog, progress=progress).summary()
