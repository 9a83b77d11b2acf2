"""The catalogue of the public collection, and getting its files onto this machine.

Every file of the collection is listed in ``datasets/catalog.csv`` with its origin
repository, pinned commit, path there, sha256, size and licence. A file is taken from

1. an offline mirror directory laid out like the catalogue's ``path`` column
   (``SCALING_TOOLKIT_MIRROR``, or ``mirror=``), else
2. the local cache (``SCALING_TOOLKIT_DATA``, else the platform's cache directory),
   downloading it there from ``https://raw.githubusercontent.com/<repo>/<commit>/<path>``
   when it is missing.

Nothing is used before its sha256 matched the catalogue; pickles and spreadsheets are
read once as bytes (:meth:`Catalog.read_bytes`), hashed, and parsed from those bytes.
Downloads:

* one process at a time per file: a lock file (``.<name>.lock``) serialises concurrent
  first downloads into one cache, and a file another process has verified meanwhile is
  used as is;
* written to ``<name>.part`` and renamed into place only once verified, so an
  interrupted transfer never leaves a file under its final name; the next fetch resumes
  the ``.part`` with an HTTP range request;
* never more than the catalogued size is written, and a whole download has a deadline
  (``Catalog.deadline``, seconds); what arrived is kept for the resume;
* a resumed ``.part`` that turns out corrupt is discarded and fetched again from
  scratch, once.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import http.client
import importlib.resources
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

import pandas as pd

from toolkit.errors import DataError, FetchError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; each download uses its own .part name
    fcntl = None  # type: ignore[assignment]

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
    """The offline mirror named by ``SCALING_TOOLKIT_MIRROR``, if any.

    Raises ``FetchError`` when the variable names something that is not a directory
    (a typo there would otherwise silently send every read to the network).
    """
    env = os.environ.get("SCALING_TOOLKIT_MIRROR")
    if not env:
        return None
    path = Path(env).expanduser()
    if not path.is_dir():
        raise FetchError(f"SCALING_TOOLKIT_MIRROR={env!r}: no such directory (unset it to download "
                         f"instead, or point it at a directory laid out like the catalogue)")
    return path


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
    #: Longest a single file's download may take, in seconds (what arrived is kept).
    deadline: float = 600.0
    #: Longest wait for the server to send anything, in seconds.
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.table is None:
            object.__setattr__(self, "table", pd.read_csv(catalog_file(), dtype={"bytes": "int64"}))
        _check_table(self.table)
        if self.mirror is not None:
            object.__setattr__(self, "mirror", Path(self.mirror))
            if not self.mirror.is_dir():
                raise FetchError(f"mirror {str(self.mirror)!r}: no such directory")
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
        if local.is_file() and (not verify or sha256_of(local) == entry.sha256):
            return local
        if local.exists() and not local.is_file():
            # never removed: it is not a file this toolkit wrote
            raise FetchError(f"{local}: is a directory (or not a regular file) where the cached {entry.path} "
                             f"belongs; move it away and fetch again")
        if self.offline:
            raise FetchError(self._missing_message(entry))
        with self._lock(local):
            if local.is_file():  # another process may have fetched it while we waited
                if sha256_of(local) == entry.sha256:
                    return local
                local.unlink()
            self._download(entry, local)
        return local

    def read_bytes(self, path: str) -> bytes:
        """The content of one catalogue file, read once and checked against its sha256.

        Parse files that run code when loaded (pickles) or that are parsed by complex
        readers (spreadsheets) from these bytes, never by reopening the file: what is
        parsed is then exactly what was verified.
        """
        entry = self.entry(path)
        local = self.path(path, verify=False)
        data = local.read_bytes()
        if hashlib.sha256(data).hexdigest() == entry.sha256:
            return data
        if self.mirror is not None and local.is_relative_to(self.mirror):
            self._check(local, entry, where="mirror")
        local.unlink(missing_ok=True)
        data = self.path(path).read_bytes()
        got = hashlib.sha256(data).hexdigest()
        if got != entry.sha256:
            raise FetchError(f"{entry.path}: sha256 {got[:12]}… changed while it was read; refused")
        return data

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

    @contextlib.contextmanager
    def _lock(self, local: Path) -> Iterator[None]:
        """Hold an exclusive lock on ``local``'s download (no-op without ``fcntl``)."""
        try:
            local.parent.mkdir(parents=True, exist_ok=True)
            # opened here, closed by the `with handle` below: open errors are the cache's fault
            handle = open(local.with_name(f".{local.name}.lock"), "a+b") if fcntl else None  # noqa: SIM115
        except OSError as exc:
            raise FetchError(f"cannot write to the download cache {self.cache_dir} ({exc.strerror or exc}); "
                             f"set SCALING_TOOLKIT_DATA to a writable directory, or SCALING_TOOLKIT_MIRROR "
                             f"to a mirror") from None
        if handle is None:
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _download(self, entry: Entry, local: Path) -> None:
        """Fetch ``entry`` into ``local`` (under the lock): resume, cap, verify, rename."""
        part = local.with_name(local.name + (".part" if fcntl else f".{os.getpid()}.part"))
        url = entry.url(self.base_url)
        for attempt in (1, 2):
            have = part.stat().st_size if part.is_file() else 0
            if have > entry.bytes:
                part.unlink()
                have = 0
            if have < entry.bytes:
                self._transfer(entry, url, part, have)
            size = part.stat().st_size
            if size < entry.bytes:
                raise FetchError(f"{entry.path}: transfer from {url} stopped after {size} of {entry.bytes} "
                                 f"bytes; rerun to resume")
            got = sha256_of(part)
            if got == entry.sha256:
                os.replace(part, local)
                return
            part.unlink()
            if attempt == 1 and have:
                continue  # the resumed .part was corrupt: once more from scratch
            raise FetchError(f"{entry.path}: downloaded {size} bytes with sha256 {got[:12]}…, the catalogue "
                             f"says {entry.bytes} bytes with {entry.sha256[:12]}…; the file was discarded")

    def _transfer(self, entry: Entry, url: str, part: Path, have: int) -> None:
        """Append the missing bytes of ``entry`` to ``part`` (at most its catalogued size,
        within ``self.deadline`` seconds)."""
        start = time.monotonic()
        request = urllib.request.Request(url, headers={"User-Agent": "scaling-toolkit"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout, self.deadline)) as response:
                if have and response.status != 206:
                    have = 0  # the server ignored the range: start over
                left = entry.bytes - have
                with open(part, "ab" if have else "wb") as f:
                    while left > 0:
                        if time.monotonic() - start > self.deadline:
                            raise FetchError(f"{entry.path}: download from {url} took longer than "
                                             f"{self.deadline:g} s ({entry.bytes - left} of {entry.bytes} "
                                             f"bytes kept); rerun to resume")
                        chunk = response.read1(min(_CHUNK, left))
                        if not chunk:
                            break
                        f.write(chunk)
                        left -= len(chunk)
        except urllib.error.HTTPError as exc:
            raise FetchError(f"{entry.path}: download from {url} failed: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(f"{entry.path}: download from {url} failed ({reason}); "
                             f"rerun to resume. {self._missing_message(entry)}") from None


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _check_table(table: pd.DataFrame) -> None:
    """Refuse a catalogue table whose entries could write outside the cache or cannot be verified."""
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"catalogue table: expected a DataFrame, got {type(table).__name__}")
    wanted = ["path", "repo", "commit", "repo_path", "sha256", "bytes", "licence"]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise DataError(f"catalogue table: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for row in table.itertuples(index=False):
        path = str(row.path)
        parts = PurePosixPath(path).parts
        if (not path or "\\" in path or "\x00" in path or PurePosixPath(path).is_absolute()
                or re.match(r"^[A-Za-z]:", path) or any(p in ("..", ".") for p in parts)):
            raise DataError(f"catalogue entry {path!r}: a path must be relative and stay inside the cache "
                            f"(no '..', no absolute path)")
        if not isinstance(row.sha256, str) or not _SHA256.match(row.sha256):
            raise DataError(f"catalogue entry {path!r}: sha256 must be 64 lowercase hex digits")
        if isinstance(row.bytes, bool) or not float(row.bytes).is_integer() or row.bytes < 0:
            raise DataError(f"catalogue entry {path!r}: bytes must be a whole number >= 0, got {row.bytes!r}")


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

    def read_bytes(self, path: str) -> bytes:
        """Content of the catalogue file ``path``, read once and verified (see
        :meth:`Catalog.read_bytes`): parse pickles and spreadsheets from these bytes."""
        return self.catalog.read_bytes(path)


def fetch(paths: Iterable[str] | None = None, *, progress: bool = True, catalog: Catalog | None = None) -> list[Path]:
    """Download (or find in the mirror) and verify every catalogue file, or the given ones.

    Uses ``SCALING_TOOLKIT_MIRROR`` and ``SCALING_TOOLKIT_DATA`` unless ``catalog`` is given.
    """
    return (catalog or Catalog()).fetch(paths, progress=progress)
