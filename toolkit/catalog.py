"""The catalogue of the public collection, and getting its files onto this machine.

Every file of the collection is listed in ``datasets/catalog.csv`` with its origin
repository, pinned commit, path there, sha256, size and licence. A file is taken from

1. an offline mirror directory laid out like the catalogue's ``path`` column
   (``SCALING_TOOLKIT_MIRROR``, or ``mirror=``), else
2. the local cache (``SCALING_TOOLKIT_DATA``, else the platform's cache directory),
   downloading it there from ``https://raw.githubusercontent.com/<repo>/<commit>/<path>``
   when it is missing.

Nothing is used before its sha256 matched the catalogue (pickles included), and a
download is written to ``<name>.part`` and renamed only once verified, so an
interrupted transfer never leaves a file under its final name; the next fetch resumes
the ``.part`` with an HTTP range request.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import importlib.resources
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from toolkit.errors import FetchError

RAW_URL = "https://raw.githubusercontent.com"
_CHUNK = 1 << 16


def catalog_file() -> Path:
    """Path of the shipped catalogue CSV (``datasets/catalog.csv``, installed as ``toolkit.datasets``)."""
    source_tree = Path(__file__).resolve().parent.parent / "datasets" / "catalog.csv"
    if source_tree.is_file():
        return source_tree
    return Path(str(importlib.resources.files("toolkit.datasets") / "catalog.csv"))


def default_cache_dir() -> Path:
    """The cache directory: ``SCALING_TOOLKIT_DATA`` if set, else the platform's user cache."""
    env = os.environ.get("SCALING_TOOLKIT_DATA")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "scaling-toolkit" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "scaling-toolkit"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scaling-toolkit"


def default_mirror() -> Path | None:
    """The offline mirror named by ``SCALING_TOOLKIT_MIRROR``, if any."""
    env = os.environ.get("SCALING_TOOLKIT_MIRROR")
    return Path(env).expanduser() if env else None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Entry:
    """One catalogue file: ``path`` is its place in a mirror or cache."""

    path: str
    repo: str
    commit: str
    repo_path: str
    sha256: str
    bytes: int
    licence: str

    def url(self, base: str = RAW_URL) -> str:
        """Public raw URL of the file at its pinned commit (spaces percent-encoded)."""
        return f"{base.rstrip('/')}/{self.repo}/{self.commit}/{urllib.parse.quote(self.repo_path)}"


@dataclass(frozen=True)
class Catalog:
    """The list of files of the collection and where to find them.

    Parameters
    ----------
    mirror
        Offline mirror directory (defaults to ``SCALING_TOOLKIT_MIRROR``).
    cache_dir
        Download cache (defaults to :func:`default_cache_dir`).
    base_url
        Where raw files are served (``RAW_URL``; tests point it at a local server).
    offline
        Never touch the network; a file neither in the mirror nor the cache is an error.
    """

    mirror: Path | None = field(default_factory=default_mirror)
    cache_dir: Path = field(default_factory=default_cache_dir)
    base_url: str = RAW_URL
    offline: bool = False
    table: pd.DataFrame = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.table is None:
            object.__setattr__(self, "table", pd.read_csv(catalog_file(), dtype={"bytes": "int64"}))
        if self.mirror is not None:
            object.__setattr__(self, "mirror", Path(self.mirror))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))

    @cached_property
    def entries(self) -> dict[str, Entry]:
        return {r.path: Entry(**r._asdict()) for r in self.table.itertuples(index=False)}

    @cached_property
    def digest(self) -> str:
        """A short hash of the catalogue's content (keys caches of parsed data)."""
        return hashlib.sha256("\n".join(sorted(e.sha256 for e in self.entries.values())).encode()).hexdigest()[:16]

    def entry(self, path: str) -> Entry:
        try:
            return self.entries[path]
        except KeyError:
            raise FetchError(f"{path} is not in the catalogue ({catalog_file()})") from None

    def glob(self, pattern: str) -> list[str]:
        """Catalogue paths matching a shell pattern (``*`` also crosses ``/``), sorted."""
        return sorted(p for p in self.entries if fnmatch.fnmatchcase(p, pattern))

    # ----------------------------------------------------------------- files
    def path(self, path: str, *, verify: bool = True) -> Path:
        """A local, sha256-verified copy of one catalogue file (mirror, cache, or download)."""
        entry = self.entry(path)
        if self.mirror is not None:
            local = self.mirror / entry.path
            if local.is_file():
                if verify:
                    self._check(local, entry, where="mirror")
                return local
        local = self.cache_dir / entry.path
        if local.is_file():
            if not verify:
                return local
            if sha256_of(local) == entry.sha256:
                return local
            local.unlink()
        if self.offline:
            raise FetchError(self._missing_message(entry))
        self._download(entry, local)
        return local

    def fetch(self, paths: Iterable[str] | None = None, *, progress: bool = True) -> list[Path]:
        """Make every catalogue file (or the given ones) available locally; returns their paths.

        Shows a progress bar in bytes. Raises ``FetchError`` at the first file that cannot
        be had (files already fetched stay valid in the cache).
        """
        from toolkit._progress import progress_bar

        wanted = [self.entry(p) for p in (paths if paths is not None else self.entries)]
        out = []
        with progress_bar(total=sum(e.bytes for e in wanted), unit="B", unit_scale=True,
                          desc="fetch", disable=not progress) as bar:
            for e in wanted:
                out.append(self.path(e.path))
                bar.update(e.bytes)
        return out

    # ----------------------------------------------------------------- internals
    def _check(self, local: Path, entry: Entry, where: str) -> None:
        got = sha256_of(local)
        if got != entry.sha256:
            raise FetchError(f"{local}: sha256 {got[:12]}… does not match the catalogue's "
                             f"{entry.sha256[:12]}… for {entry.path} (the {where} copy is altered)")

    def _missing_message(self, entry: Entry) -> str:
        return (f"{entry.path} is not available offline: run `scaling-toolkit fetch` with network "
                f"access (files go to {self.cache_dir}; set SCALING_TOOLKIT_DATA to change it), "
                f"or point SCALING_TOOLKIT_MIRROR at a directory laid out like the catalogue")

    def _download(self, entry: Entry, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        part = local.with_name(local.name + ".part")
        have = part.stat().st_size if part.is_file() else 0
        if have > entry.bytes:
            part.unlink()
            have = 0
        url = entry.url(self.base_url)
        request = urllib.request.Request(url, headers={"User-Agent": "scaling-toolkit"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                mode = "ab" if have and response.status == 206 else "wb"
                with open(part, mode) as f:
                    while chunk := response.read(_CHUNK):
                        f.write(chunk)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have == entry.bytes:
                pass  # the .part was already complete
            else:
                raise FetchError(f"{entry.path}: download from {url} failed: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(f"{entry.path}: download from {url} failed ({reason}); "
                             f"rerun to resume. {self._missing_message(entry)}") from None
        size = part.stat().st_size
        if size < entry.bytes:
            raise FetchError(f"{entry.path}: transfer from {url} stopped after {size} of {entry.bytes} "
                             f"bytes; rerun to resume")
        got = sha256_of(part)
        if got != entry.sha256:
            part.unlink()
            raise FetchError(f"{entry.path}: downloaded {size} bytes with sha256 {got[:12]}…, the catalogue "
                             f"says {entry.bytes} bytes with {entry.sha256[:12]}…; the file was discarded")
        os.replace(part, local)


class FileSet:
    """What a source parser sees: catalogue paths by pattern, resolved to verified local files."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def glob(self, pattern: str) -> list[str]:
        """Catalogue paths matching ``pattern``, leaving out licence texts."""
        return [p for p in self.catalog.glob(pattern) if not Path(p).name.startswith("LICENSE")]

    def path(self, path: str) -> Path:
        """Local, verified copy of the catalogue file ``path``."""
        return self.catalog.path(path)


def fetch(paths: Iterable[str] | None = None, *, progress: bool = True, catalog: Catalog | None = None) -> list[Path]:
    """Download (or find in the mirror) and verify every catalogue file, or the given ones.

    Uses ``SCALING_TOOLKIT_MIRROR`` and ``SCALING_TOOLKIT_DATA`` unless ``catalog`` is given.
    """
    return (catalog or Catalog()).fetch(paths, progress=progress)
