"""Fetching catalogue files: a real HTTP server on 127.0.0.1, the offline mirror, and errors."""

from __future__ import annotations

import hashlib
import http.server
import threading
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
                part = body[start:]
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
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
    assert len(paths) == len(catalog.entries) == 1298
    assert all(str(p).startswith(str(catalog.mirror)) for p in paths)


def test_catalogue_matches_shared_manifest(mirror):
    manifest = pd.read_csv(mirror / "MANIFEST.tsv", sep="\t")
    ours = pd.read_csv(catalog_file())
    merged = manifest.merge(ours, on="path", how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["sha256_x"] == merged["sha256_y"]).all()
    assert (merged["source_commit"] == merged["commit"]).all()


def test_urls_point_at_pinned_commits():
    cat = Catalog(mirror=None, offline=True)
    e = cat.entry("sources/IBM-ColPret/aggregated_eval/LLMs - 0-shot.csv")
    assert e.url() == ("https://raw.githubusercontent.com/IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3/"
                       "aggregated_eval/LLMs%20-%200-shot.csv")


def test_fileset_skips_licences(files):
    assert files.glob("sources/EleutherAI-pythia/LICENSE*") == []
