"""The whole public collection as one ``Runs`` table, parsed once and cached.

The parsed table is cached as Parquet in the cache directory, keyed by the catalogue's
content hash, the toolkit version and the parsers' source code, so a warm load reads
one file instead of ~1,300. The cache file carries the table's schema and the sha256
of its content (:mod:`toolkit.storage`): a truncated or corrupt one is discarded with a
warning naming it and rebuilt; a cache directory that cannot be written is skipped
with one warning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from toolkit._version import __version__
from toolkit.catalog import Catalog, FileSet
from toolkit.runs import COLUMNS, SCHEMA, Runs, dtypes
from toolkit.sources import PARSERS, parser
from toolkit.storage import read_frame_cache, usable_cache_dir, write_frame_cache

#: Schema of the cached table: the Runs columns and their types.
_CACHE_SCHEMA = "runs:" + ",".join(f"{c.name}={c.type_name}" for c in SCHEMA)


def _parsers_hash() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted((here / "sources").glob("*.py")) + [here / "runs.py"]:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _cache_file(catalog: Catalog) -> Path:
    key = f"{catalog.digest}-{__version__}-{_parsers_hash()}"
    return catalog.cache_dir / "parsed" / f"collection-{key}.parquet"


def _check_cached(frame: pd.DataFrame) -> None:
    """Reject a cached table whose columns or dtypes are not the Runs schema's."""
    if {c: str(t) for c, t in frame.dtypes.items()} != dtypes() or tuple(frame.columns) != COLUMNS:
        raise ValueError("columns or dtypes differ from the Runs schema")


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
    if use_cache and usable_cache_dir(cache.parent) is None:
        use_cache = False
    runs: Runs | None = None
    if use_cache:
        frame = read_frame_cache(cache, _CACHE_SCHEMA, check=_check_cached)
        if frame is not None:
            runs = Runs._trusted(frame)  # written from a validated table; sha256 and dtypes checked
    if runs is None:
        runs = _parse_all(catalog, progress)
        if use_cache:
            write_frame_cache(cache, runs.frame, _CACHE_SCHEMA)
    if families is None:
        return runs
    return runs.select(families=[families] if isinstance(families, str) else list(families))


def list_families(*, catalog: Catalog | None = None, progress: bool = True) -> pd.DataFrame:
    """One row per family of the collection: family, arch, n_models (runs), n_sizes (distinct
    N), n_checkpoints, min_params, max_params, max_tokens, metric."""
    return load_collection(catalog=catalog, progress=progress).summary()
