"""Writing files so that nothing is ever half written, and caches that are checked on read.

* :func:`atomic_write` writes a file through a temporary name in the same directory
  and renames it into place: a reader sees the old file or the new one, never a part.
* :func:`atomic_directory` builds an output directory under a temporary name and swaps
  it in only when every file is written: a failure leaves the old directory untouched.
* :func:`write_cache` / :func:`read_cache` store a cache file with its schema and the
  sha256 of its payload. A file that is truncated, corrupt or of a foreign schema is
  deleted with one warning naming it, and the caller rebuilds it.
* :func:`usable_cache_dir` says once, per directory, when a cache directory cannot be
  written (read-only, not a directory); callers then work without caching.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from toolkit.errors import OutputError, one_line

_MAGIC = b"scaling-toolkit-cache 1\n"
_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Emit ``message`` as a ``RuntimeWarning`` the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def atomic_write(path: str | Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    Raises ``OutputError`` (naming the path) when it cannot be written; then nothing
    under ``path`` has changed.
    """
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, cannot write a file there")
    tmp = _temp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` as a whole.

    Files of an older ``path`` are all replaced at once (the old directory is renamed
    aside, the new one renamed in, the old one deleted), so a reader never sees new
    results next to old ones. On an exception the temporary directory is removed and
    ``path`` is left as it was. Raises ``OutputError`` when ``path`` is an existing
    file, is empty, or its parent cannot be written.
    """
    path = Path(path)
    if str(path) in ("", "."):
        raise OutputError(f"output directory {str(path)!r}: give a directory name")
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a directory")
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output directory ({exc.strerror or exc})") from None
    try:
        yield tmp
        old = None
        if path.exists():
            old = parent / f".{path.name}.{os.getpid()}.old"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc}); it was left as it was") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def usable_cache_dir(path: str | Path) -> Path | None:
    """``path`` if a cache can be written there (created if needed), else ``None`` after
    one warning naming the directory and the reason."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        warn_once(f"cache:{path}", f"cache directory {path} is not usable ({exc.strerror or exc}); "
                                   f"working without a cache (set SCALING_TOOLKIT_DATA to a writable directory)")
        return None
    return path


# ----------------------------------------------------------------------------- verified caches
def write_cache(path: str | Path, payload: bytes, schema: str) -> bool:
    """Store ``payload`` at ``path`` with its schema and sha256 (atomically).

    Returns ``False`` (after one warning) when the cache cannot be written; a cache is
    an optimisation, so that is not an error.
    """
    header = json.dumps({"schema": schema, "sha256": hashlib.sha256(payload).hexdigest(),
                         "bytes": len(payload)}).encode() + b"\n"
    try:
        atomic_write(path, _MAGIC + header + payload)
    except OutputError as exc:
        warn_once(f"cache-write:{Path(path).parent}", f"{exc}; continuing without caching")
        return False
    return True


def read_cache(path: str | Path, schema: str) -> bytes | None:
    """The payload stored at ``path``, or ``None`` when there is none or it is unusable.

    A file whose header, schema, length or sha256 does not match is deleted, with a
    warning naming it, so the caller rebuilds it.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        warn_once(f"cache-read:{path}", f"cache file {path} cannot be read ({exc.strerror or exc}); rebuilding")
        return None
    problem = None
    if not raw.startswith(_MAGIC):
        problem = "not a toolkit cache file"
    else:
        head, _, payload = raw[len(_MAGIC):].partition(b"\n")
        try:
            meta = json.loads(head)
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            problem = "unreadable header"
        elif meta.get("schema") != schema:
            problem = "written for another schema"
        elif meta.get("bytes") != len(payload) or meta.get("sha256") != hashlib.sha256(payload).hexdigest():
            problem = "truncated or corrupt (sha256 mismatch)"
    if problem is None:
        return payload
    discard(path, problem)
    return None


def discard(path: Path, problem: str) -> None:
    """Delete a bad cache file, saying which and why."""
    with contextlib.suppress(OSError):
        path.unlink()
    warnings.warn(f"cache file {path} was discarded ({problem}); rebuilding it", RuntimeWarning, stacklevel=3)


def frame_schema(frame: pd.DataFrame, kind: str) -> str:
    """A schema string for a DataFrame cache: ``kind`` plus column names and dtypes."""
    return kind + ":" + ",".join(f"{c}={frame[c].dtype}" for c in frame.columns)


def write_frame_cache(path: str | Path, frame: pd.DataFrame, schema: str) -> bool:
    """Store a DataFrame as Parquet through :func:`write_cache`."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return write_cache(path, buf.getvalue(), schema)


def read_frame_cache(path: str | Path, schema: str,
                     check: Callable[[pd.DataFrame], object] | None = None) -> pd.DataFrame | None:
    """A DataFrame stored by :func:`write_frame_cache`, or ``None`` (then rebuild it).

    ``check`` may raise (any ``ValueError``, e.g. ``DataError``) to reject the content;
    the file is then discarded like a corrupt one.
    """
    payload = read_cache(path, schema)
    if payload is None:
        return None
    try:
        frame = pd.read_parquet(io.BytesIO(payload))
        if check is not None:
            check(frame)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        discard(Path(path), f"unreadable content: {type(exc).__name__}: {one_line(exc, 200)}")
        return None
    return frame


# ----------------------------------------------------------------------------- strict JSON
def jsonable(obj: object) -> object:
    """``obj`` with numpy/pandas scalars made plain and every non-finite float (NaN, inf)
    made ``None``, at any depth (dicts, lists, tuples)."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (pd.Timestamp, Path)):
        return str(obj)
    return obj


def to_json(obj: object, **kwargs: object) -> str:
    """Strict JSON text of ``obj`` (see :func:`jsonable`): never a bare ``NaN``."""
    return json.dumps(jsonable(obj), allow_nan=False, **kwargs)
