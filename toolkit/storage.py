"""Writing files so that nothing is ever half written, and caches that are checked on read.

* :func:`atomic_write` writes a file through a temporary name in the same directory
  and renames it into place: a reader sees the old file or the new one, never a part.
* :func:`atomic_directory` builds an output directory under a temporary name and swaps
  it in only when every file is written: a failure leaves the old directory untouched.
  It replaces only a new, empty or earlier toolkit output directory (one holding
  :data:`OUTPUT_MARKER`), never a directory of the user's, and removes what interrupted
  runs left next to it.
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
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pandas as pd

from toolkit.errors import DataError, OutputError, one_line

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


#: The file every output directory the toolkit writes holds: a directory with it is the
#: toolkit's own output and may be replaced; a non-empty directory without it is the user's
#: and is never touched.
OUTPUT_MARKER = ".scaling-toolkit-output"
#: Output directories written before the marker existed: kind -> (a file every such directory
#: holds, every name it may hold). A directory holding that file and nothing else is recognised
#: as an earlier output of that kind (a single file of the user's makes it the user's).
UNMARKED_OUTPUTS: dict[str, tuple[str, frozenset[str]]] = {
    "findings": ("index.html", frozenset({"index.html", "findings.json", "verdicts.json", "notebooks", "charts",
                                          "records", "study"})),
    "study": ("config.json", frozenset({"table.parquet", "families.parquet", "config.json", "resampled_are.parquet",
                                        "results.csv", "aggregates.csv", "families.csv", "comparison.csv",
                                        "departures.csv", "verdicts.json", "designs.csv", "calibration.csv",
                                        "error_model.json"})),
}
_STALE = re.compile(r"^\.(?P<name>.+)\.(?:partial|old)-(?P<pid>\d+)(?:-[0-9a-f]+)?$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale(path: str | Path) -> list[Path]:
    """Remove what interrupted runs writing ``path`` left next to it: ``.<name>.partial-<pid>``
    and ``.<name>.old-<pid>`` directories holding :data:`OUTPUT_MARKER` whose process is gone.
    Returns the directories removed."""
    path = Path(path).absolute()
    removed = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return removed
    for d in siblings:
        m = _STALE.match(d.name)
        if (m and m["name"] == path.name and not _pid_alive(int(m["pid"])) and d.is_dir()
                and not d.is_symlink() and (d / OUTPUT_MARKER).is_file()):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _earlier_output(entries: set[str], kind: str | None) -> bool:
    """Whether ``entries`` are exactly what an unmarked earlier output of ``kind`` held."""
    if kind not in UNMARKED_OUTPUTS:
        return False
    anchor, names = UNMARKED_OUTPUTS[kind]
    return anchor in entries and entries <= names


def check_output_dir(path: str | Path, option: str = "--out", kind: str | None = None) -> Path:
    """Refuse, in one ``OutputError`` line, an output directory whose replacement could lose
    something not written by the toolkit: ``''``, ``.``, the working directory or one of its
    parents, a path that is a file, a non-empty directory without :data:`OUTPUT_MARKER` (unless
    it holds exactly what an earlier output of ``kind`` held, :data:`UNMARKED_OUTPUTS`), and a
    place that cannot be written. Returns ``path``."""
    text = str(path)
    path = Path(path)
    if text.strip() in ("", ".") or text.strip() == "./":
        raise OutputError(f"{option} {text!r}: give a directory name (the output replaces the directory "
                          f"as a whole)")
    here = Path.cwd().resolve()
    if path.resolve() == here or path.resolve() in here.parents:
        raise OutputError(f"{option} {text}: is the working directory or holds it; give a new directory name")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputError(f"{option} {text}: exists and is not a directory; give a new directory name")
    if path.is_dir():
        try:
            entries = {p.name for p in path.iterdir()}
        except OSError as exc:
            raise OutputError(f"{option} {text}: cannot be read ({exc.strerror or exc})") from None
        if entries and OUTPUT_MARKER not in entries and not _earlier_output(entries, kind):
            raise OutputError(f"{option} {text}: is a non-empty directory the toolkit did not write (no "
                              f"{OUTPUT_MARKER} marker; it would be replaced); give a new or empty directory")
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryDirectory(dir=parent, prefix=".probe-").cleanup()
    except OSError as exc:
        raise OutputError(f"{option} {text}: cannot write there ({exc.strerror or exc})") from None
    return path


@contextlib.contextmanager
def atomic_directory(path: str | Path, kind: str = "output") -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` as a whole.

    ``path`` is checked first (:func:`check_output_dir`: only a new, empty, or earlier toolkit
    output directory is replaced) and what interrupted runs left next to it is removed
    (:func:`clean_stale`). The temporary directory, ``.<name>.partial-<pid>-<hex>``, holds
    :data:`OUTPUT_MARKER` (recording ``kind``) from its first moment, so a later run recognises
    it. Files of an older ``path`` are all replaced at once (the old directory is renamed
    aside, the new one renamed in, the old one deleted), so a reader never sees new results
    next to old ones. On an exception (``KeyboardInterrupt`` and SIGTERM turned into one
    included) the temporary directory is removed and ``path`` is left as it was. Raises
    ``OutputError`` naming the path and the problem.
    """
    path = check_output_dir(path, kind=kind)
    clean_stale(path)
    parent = path.absolute().parent
    tmp = parent / f".{path.name}.partial-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        tmp.mkdir()
        (tmp / OUTPUT_MARKER).write_text(json.dumps({"kind": kind, "pid": os.getpid()}) + "\n")
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{path}: cannot create the output directory ({exc.strerror or exc})") from None
    try:
        yield tmp
        check_output_dir(path, kind=kind)  # the user may have put files there meanwhile
        old = None
        if path.exists():
            old = parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OutputError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc}); it was left as it was") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def usable_cache_dir(path: str | Path) -> Path | None:
    """``path`` if a cache can be written there (created if needed), else ``None`` after
    one warning naming the directory and the reason (one for all the directories under the
    same blocking one: a study's caches of cells and of frames under a read-only root)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        # os.path.exists, not Path.exists: it says False where an ancestor cannot even be looked at
        blocking = next((p for p in (path, *path.parents) if os.path.exists(p)), path)
        warn_once(f"cache:{blocking}", f"cache directory {path} is not usable ({exc.strerror or exc}); "
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
#: Largest JSON file the toolkit reads back (a saved fit with every point is a few MB).
MAX_JSON_BYTES = 256 << 20


def read_json(path: str | Path, what: str) -> object:
    """The JSON value stored in ``path`` (a saved ``what``), or one ``DataError`` naming the
    file and the problem: missing, a directory, unreadable, too large, not UTF-8, not JSON, or
    nested too deeply to read."""
    path = Path(path)
    try:
        if path.is_dir():
            raise DataError(f"{path}: is a directory, not a saved {what}")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise DataError(f"{path}: larger than {MAX_JSON_BYTES >> 20} MiB; not a saved {what}")
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the saved {what} ({exc.strerror or type(exc).__name__})") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a saved {what} (not UTF-8 text: byte 0x{raw[exc.start]:02x} at "
                        f"{exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not a saved {what} (not JSON: {exc.msg} at line {exc.lineno} column "
                        f"{exc.colno}; truncated?)") from None
    except RecursionError:
        raise DataError(f"{path}: not a saved {what} (JSON nested too deeply to read)") from None


def jsonable(obj: object, *, other: Callable[[object], object] | None = None) -> object:
    """``obj`` with numpy/pandas scalars made plain and every non-finite float (NaN, inf)
    made ``None``, at any depth (dicts, lists, tuples). ``other`` turns a value JSON has no
    type for into one (``repr`` for a record's free-form parameters); without it such a value
    is left for ``json.dumps`` to refuse."""
    import math

    import numpy as np

    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, other=other) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v, other=other) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v, other=other) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (pd.Timestamp, Path)):
        return str(obj)
    if other is not None and not (obj is None or isinstance(obj, (str, int, float, bool))):
        return other(obj)
    return obj


def to_json(obj: object, **kwargs: object) -> str:
    """Strict JSON text of ``obj`` (see :func:`jsonable`): never a bare ``NaN``."""
    return json.dumps(jsonable(obj), allow_nan=False, **kwargs)
