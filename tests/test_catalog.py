"""Fetching catalogue files: a real HTTP server on 127.0.0.1, the offline mirror, and errors."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from toolkit.catalog import Catalog, FileSet, catalog_file
from toolkit.errors import FetchError

COMMIT = "0" * 40
PAYLOAD = {"data/a b.csv": b"x,y\n" + b"1,2\n" * 5000, "data/c.json": b'{"k": 1}'}


def _table(payload: dict[str, bytes], sha_override: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for repo_path, body in payload.items():
        sha = (sha_override or {}).get(repo_path, hashlib.sha256(body).hexdigest())
        rows.append(dict(path=f"sources/org-repo/{repo_path}", repo="org/repo", commit=COMMIT,
                         repo_path=repo_path, sha256=sha, bytes=len(body), licence="MIT"))
    return pd.DataFrame(rows)


class _Server:
    """Serves PAYLOAD at /org/repo/<commit>/<path>, honouring Range; can cut a transfer short."""

    def __init__(self) -> None:
        self.cut_after: int | None = None
        self.extra = b""  # sent after the body, announced in Content-Length
        self.trickle: float | None = None  # seconds between single bytes
        self.delay = 0.0  # seconds before answering
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                from urllib.parse import unquote

                server.requests.append((self.path, self.headers.get("Range")))
                prefix = f"/org/repo/{COMMIT}/"
                body = PAYLOAD.get(unquote(self.path[len(prefix):])) if self.path.startswith(prefix) else None
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                if rng := self.headers.get("Range"):
                    start = int(rng.split("=")[1].rstrip("-"))
                    self.send_response(206)
                else:
                    self.send_response(200)
                part = body[start:] + server.extra
                if server.delay:
                    time.sleep(server.delay)
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if server.trickle is not None:
                    try:
                        for i in range(len(part)):
                            self.wfile.write(part[i:i + 1])
                            self.wfile.flush()
                            time.sleep(server.trickle)
                    except OSError:
                        pass
                    return
                if server.cut_after is not None:
                    self.wfile.write(part[: server.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(part)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


def _catalog(tmp_path: Path, server: _Server, **kw) -> Catalog:
    return Catalog(mirror=None, cache_dir=tmp_path / "cache", base_url=server.url,
                   table=kw.pop("table", _table(PAYLOAD)), **kw)


def test_fetch_downloads_and_verifies(tmp_path, server):
    cat = _catalog(tmp_path, server)
    paths = cat.fetch(progress=False)
    assert [p.read_bytes() for p in paths] == list(PAYLOAD.values())
    assert any("a%20b.csv" in path for path, _ in server.requests)  # spaces percent-encoded
    n = len(server.requests)
    cat.fetch(progress=False)
    assert len(server.requests) == n  # cached files are not downloaded again


def test_sha256_mismatch_discards_file(tmp_path, server):
    cat = _catalog(tmp_path, server, table=_table(PAYLOAD, {"data/c.json": "f" * 64}))
    with pytest.raises(FetchError, match=r"data/c.json: downloaded 8 bytes with sha256 .* discarded"):
        cat.path("sources/org-repo/data/c.json")
    leftovers = list((tmp_path / "cache").rglob("c.json*"))
    assert leftovers == []


def test_interrupted_transfer_leaves_no_final_file_and_resumes(tmp_path, server):
    cat = _catalog(tmp_path, server)
    target = "sources/org-repo/data/a b.csv"
    server.cut_after = 4096
    with pytest.raises(FetchError, match="rerun to resume"):
        cat.path(target)
    final = tmp_path / "cache" / target
    part = final.with_name(final.name + ".part")
    assert not final.exists() and part.stat().st_size == 4096
    server.cut_after = None
    assert cat.path(target).read_bytes() == PAYLOAD["data/a b.csv"]
    assert server.requests[-1][1] == "bytes=4096-"  # resumed, not restarted
    assert not part.exists()


def test_404_is_a_clear_error(tmp_path, server):
    table = _table(PAYLOAD)
    table.loc[0, "repo_path"] = "data/gone.csv"
    cat = _catalog(tmp_path, server, table=table)
    with pytest.raises(FetchError, match=r"HTTP 404"):
        cat.path(table.loc[0, "path"])


def test_no_network_no_mirror_says_how_to_get_data(tmp_path):
    cat = Catalog(mirror=None, cache_dir=tmp_path, offline=True, table=_table(PAYLOAD))
    with pytest.raises(FetchError, match="scaling-toolkit fetch.*SCALING_TOOLKIT_MIRROR"):
        cat.path("sources/org-repo/data/c.json")


def test_unreachable_server_is_a_clear_error(tmp_path):
    cat = Catalog(mirror=None, cache_dir=tmp_path, base_url="http://127.0.0.1:9", table=_table(PAYLOAD))
    with pytest.raises(FetchError, match="download from http://127.0.0.1:9/.* failed"):
        cat.path("sources/org-repo/data/c.json")


def test_altered_mirror_file_is_refused(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "sources/org-repo/data").mkdir(parents=True)
    (mirror / "sources/org-repo/data/c.json").write_bytes(b'{"k": 2}')
    cat = Catalog(mirror=mirror, cache_dir=tmp_path / "cache", offline=True, table=_table(PAYLOAD))
    with pytest.raises(FetchError, match="mirror copy is altered"):
        cat.path("sources/org-repo/data/c.json")


def test_offline_mirror_satisfies_every_fetch(catalog):
    # the real catalogue against ../shared/datasets: every file present and verified, no network
    paths = catalog.fetch(progress=False)
    assert len(paths) == len(catalog.entries) == 1298 + 43  # MANIFEST.tsv + MANIFEST-olmo-ladder.tsv
    assert all(str(p).startswith(str(catalog.mirror)) for p in paths)


def test_catalogue_matches_shared_manifest(mirror):
    # the mirror splits its manifest by source (MANIFEST.tsv, MANIFEST-olmo-ladder.tsv, ...)
    manifests = sorted(mirror.glob("MANIFEST*.tsv"))
    assert len(manifests) >= 2
    manifest = pd.concat([pd.read_csv(m, sep="\t") for m in manifests], ignore_index=True)
    assert not manifest["path"].duplicated().any()
    ours = pd.read_csv(catalog_file())
    merged = manifest.merge(ours, on="path", how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["sha256_x"] == merged["sha256_y"]).all()
    assert (merged["source_commit"] == merged["commit"]).all()
    assert (merged["licence_x"] == merged["licence_y"]).all()
    assert (merged["bytes_x"] == merged["bytes_y"]).all()


def test_urls_point_at_pinned_commits():
    cat = Catalog(mirror=None, offline=True)
    e = cat.entry("sources/IBM-ColPret/aggregated_eval/LLMs - 0-shot.csv")
    assert e.url() == ("https://raw.githubusercontent.com/IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3/"
                       "aggregated_eval/LLMs%20-%200-shot.csv")


def test_fileset_skips_licences(files):
    assert files.glob("sources/EleutherAI-pythia/LICENSE*") == []


# ----------------------------------------------------------------------------- faults
def test_download_stops_at_the_catalogued_size(tmp_path, server):
    server.extra = b"x" * (5 << 20)
    cat = _catalog(tmp_path, server)
    path = cat.path("sources/org-repo/data/c.json")
    assert path.read_bytes() == PAYLOAD["data/c.json"]
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_a_trickling_server_hits_the_deadline_and_the_part_is_kept(tmp_path, server):
    server.trickle = 0.02
    cat = _catalog(tmp_path, server, deadline=0.5)
    target = "sources/org-repo/data/a b.csv"
    with pytest.raises(FetchError, match=r"took longer than 0.5 s \(\d+ of 20004 bytes kept\); rerun to resume"):
        cat.path(target)
    part = (tmp_path / "cache" / target).with_name("a b.csv.part")
    kept = part.stat().st_size
    assert 0 < kept < len(PAYLOAD["data/a b.csv"])
    server.trickle = None
    assert _catalog(tmp_path, server).path(target).read_bytes() == PAYLOAD["data/a b.csv"]
    assert server.requests[-1][1] == f"bytes={kept}-"


@pytest.mark.parametrize("corrupt", ["full", "half"])
def test_a_corrupt_part_is_retried_from_scratch_once(tmp_path, server, corrupt):
    target = "sources/org-repo/data/a b.csv"
    body = PAYLOAD["data/a b.csv"]
    part = tmp_path / "cache" / "sources/org-repo/data/a b.csv.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"z" * (len(body) if corrupt == "full" else len(body) // 2))
    assert _catalog(tmp_path, server).path(target).read_bytes() == body
    assert server.requests[-1][1] is None  # the last request started from scratch
    assert not part.exists()


def test_a_file_verified_by_another_process_meanwhile_is_used_as_is(tmp_path, server):
    import fcntl

    cat = _catalog(tmp_path, server)
    target = "sources/org-repo/data/c.json"
    final = tmp_path / "cache" / target
    final.parent.mkdir(parents=True)
    lock = open(final.with_name(".c.json.lock"), "a+b")  # noqa: SIM115 (released mid-test)
    fcntl.flock(lock, fcntl.LOCK_EX)  # "another process" is downloading
    got: list[Path] = []
    waiter = threading.Thread(target=lambda: got.append(cat.path(target)))
    waiter.start()
    time.sleep(0.3)
    final.write_bytes(PAYLOAD["data/c.json"])  # ... and finishes
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
    waiter.join(timeout=60)
    assert got == [final] and server.requests == []


_WORKER = """
import sys, pandas as pd
from toolkit.catalog import Catalog
table = pd.read_csv(sys.argv[1], dtype={"bytes": "int64", "commit": str})
cat = Catalog(mirror=None, cache_dir=sys.argv[2], base_url=sys.argv[3], table=table)
for _ in range(int(sys.argv[4])):
    for p in table["path"]:
        cat.path(p)
print("ok")
"""


def test_concurrent_first_downloads_from_real_processes(tmp_path, server):
    import os
    import subprocess
    import sys

    bodies = {f"data/f{i}.bin": bytes(range(256)) * (400 + 37 * i) for i in range(6)}
    PAYLOAD.update(bodies)
    try:
        table_csv = tmp_path / "table.csv"
        _table(bodies).to_csv(table_csv, index=False)
        server.delay = 0.05
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(table_csv), str(tmp_path / "cache"),
                                   server.url, "10"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(4)]
        results = [p.communicate() for p in procs]
    finally:
        for key in bodies:
            PAYLOAD.pop(key)
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    for repo_path, body in bodies.items():
        assert (tmp_path / "cache" / "sources/org-repo" / repo_path).read_bytes() == body
    assert not list((tmp_path / "cache").rglob("*.part"))
    assert len(server.requests) == len(bodies)  # each file downloaded once, by one process


def test_mirror_naming_a_missing_directory_is_an_error(tmp_path, monkeypatch):
    from toolkit.catalog import default_mirror

    monkeypatch.setenv("SCALING_TOOLKIT_MIRROR", str(tmp_path / "nope"))
    with pytest.raises(FetchError, match="SCALING_TOOLKIT_MIRROR=.*nope.*no such directory"):
        default_mirror()
    with pytest.raises(FetchError, match="no such directory"):
        Catalog(mirror=tmp_path / "nope", table=_table(PAYLOAD))


@pytest.mark.parametrize("bad", ["../escape.csv", "/etc/passwd", "sources/../../x", "a\\..\\b", "C:/x", ""])
def test_catalogue_paths_cannot_leave_the_cache(tmp_path, bad):
    from toolkit.errors import DataError

    table = _table(PAYLOAD)
    table.loc[0, "path"] = bad
    with pytest.raises(DataError, match="must be relative and stay inside the cache"):
        Catalog(mirror=None, cache_dir=tmp_path, table=table)


def test_read_bytes_verifies_the_bytes_it_returns(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "sources/org-repo/data").mkdir(parents=True)
    good = mirror / "sources/org-repo/data/c.json"
    good.write_bytes(PAYLOAD["data/c.json"])
    cat = Catalog(mirror=mirror, cache_dir=tmp_path / "cache", offline=True, table=_table(PAYLOAD))
    assert FileSet(cat).read_bytes("sources/org-repo/data/c.json") == PAYLOAD["data/c.json"]
    good.write_bytes(b'{"k": 666}')
    with pytest.raises(FetchError, match="mirror copy is altered"):
        cat.read_bytes("sources/org-repo/data/c.json")


def test_pickles_and_spreadsheets_are_parsed_from_the_verified_bytes(files, monkeypatch):
    from toolkit.sources import bimix, gpt3

    def reopened(self, path):
        raise AssertionError(f"{path} reopened by path after verification")

    monkeypatch.setattr(FileSet, "path", reopened)
    assert len(bimix.parse(files)) == 240
    read_excel = pd.read_excel
    seen = []
    monkeypatch.setattr(pd, "read_excel", lambda src, **kw: seen.append(type(src)) or read_excel(src, **kw))
    monkeypatch.setattr(FileSet, "path", lambda self, p: self.catalog.path(p))
    gpt3.parse(files)
    assert seen and all(t.__name__ == "BytesIO" for t in seen)


def test_unwritable_cache_for_a_download_is_a_clear_error(tmp_path, server):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cat = Catalog(mirror=None, cache_dir=blocker / "cache", base_url=server.url, table=_table(PAYLOAD))
    with pytest.raises(FetchError, match="cannot write to the download cache .*SCALING_TOOLKIT_DATA"):
        cat.path("sources/org-repo/data/c.json")
