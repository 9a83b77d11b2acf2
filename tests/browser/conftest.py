"""Fixtures of the browser tests: Debian's chromium driven by Playwright, JupyterLab and Voila.

The servers run from this interpreter's environment on 127.0.0.1 with a random port and a
token, over a temporary copy of ``notebooks/`` (the repository's notebooks are never
touched), with ``PYTHONPATH`` on this checkout so kernels import this toolkit. The browser
reaches nothing but 127.0.0.1: a chart that needs a CDN fails. Screenshots go to
``test-artifacts/browser/``. Every server is stopped, also when a test fails, and the
session ends with a check that no process it started is still alive.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers
from ui import LabNotebook, Screenshots, VoilaApp

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts" / "browser"
VIEWPORT = {"width": 1366, "height": 768}  # a laptop
# Playwright adds --headless, --no-sandbox (chromium_sandbox=False) and a fresh profile.
CHROMIUM_ARGS = [
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-dev-shm-usage",
]
# Requests that are aborted like every other non-loopback one but do not fail a test: Voila
# 0.5's page template links Font Awesome's CSS from a CDN although its bundle carries the
# icons, so the app looks the same offline.
HARMLESS_OFFLINE = ("https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@",)


def chromium_executable() -> str | None:
    """``SCALING_TOOLKIT_CHROMIUM``, else Debian's chromium on PATH or in /usr/bin."""
    for candidate in (os.environ.get("SCALING_TOOLKIT_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def session_mark() -> Iterator[str]:
    """The mark of every process of this session; at the end none of them may be alive.

    SIGTERM (a CI timeout, ``timeout``) becomes KeyboardInterrupt while the browser tests
    run, so pytest still tears the servers down.
    """
    mark = f"{os.getpid()}-{secrets.token_hex(4)}"
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: nothing to restore
        previous = None
    try:
        yield mark
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    leftover = servers.kill_marked(mark)
    assert not leftover, f"processes left behind by the browser tests (now killed): {leftover}"


@pytest.fixture(scope="session")
def browser(session_mark: str, tmp_path_factory: pytest.TempPathFactory):
    executable = chromium_executable()
    if executable is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI needs chromium for the browser tests (.ci/run installs it: apt-get install -y chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    # Not emptied first: were the browser tests split over two xdist workers, one would
    # delete the other's screenshots. Each run overwrites its own files.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = servers.isolated_env(REPO, tmp_path_factory.mktemp("chromium-home"), f"{session_mark}:chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, env=env)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    """A fresh page at a laptop's size that can reach 127.0.0.1 only.

    Any other request is aborted; the test fails if one was made (``HARMLESS_OFFLINE`` apart).
    """
    context = browser.new_context(viewport=VIEWPORT)
    blocked: list[str] = []

    def only_loopback(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:")):
            route.continue_()
        else:
            if not url.startswith(HARMLESS_OFFLINE):
                blocked.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    new_page = context.new_page()
    new_page.set_default_timeout(120_000)
    try:
        yield new_page
        assert not blocked, f"the page tried to reach the network: {blocked}"
    finally:
        try:
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                Screenshots(new_page, ARTIFACTS, request.node.name).failed()
        finally:
            context.close()


@pytest.fixture
def shot(page, request: pytest.FixtureRequest) -> Screenshots:
    """``shot("label")`` saves a numbered screenshot of the page to test-artifacts/browser/."""
    return Screenshots(page, ARTIFACTS, request.node.name)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


@pytest.fixture(scope="session")
def notebook_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of ``notebooks/`` the servers serve (and may write checkpoints into)."""
    root = tmp_path_factory.mktemp("notebooks")
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, root, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return root


def _server_env(request: pytest.FixtureRequest, home: Path, mark: str) -> dict[str, str]:
    env = servers.isolated_env(REPO, home, mark)
    try:  # kernels read the collection from the offline mirror, wherever the tests found it
        env["SCALING_TOOLKIT_MIRROR"] = str(request.getfixturevalue("mirror"))
    except pytest.skip.Exception:
        pass  # the tests of notebooks that need the collection skip for the same reason
    return env


@pytest.fixture(scope="session")
def lab(browser, session_mark: str, notebook_root: Path, tmp_path_factory: pytest.TempPathFactory,
        request: pytest.FixtureRequest):
    """JupyterLab from this environment over the copy of the notebooks; stopped at the end."""
    env = _server_env(request, tmp_path_factory.mktemp("lab-home"), f"{session_mark}:lab")
    server = servers.start_lab(notebook_root, env, secrets.token_hex(16), ARTIFACTS / f"jupyterlab-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log")
    try:
        yield server
    finally:
        leftover = servers.stop(server)
    assert not leftover, f"JupyterLab left these processes behind (now killed): {leftover}"


@pytest.fixture
def open_notebook(lab, page, notebook_root: Path):
    """Open a notebook of the copied ``notebooks/`` in JupyterLab (no kernel dialog allowed).

    Its kernel is shut down after the test.
    """

    def open_(name: str) -> LabNotebook:
        if not (notebook_root / name).is_file():
            pytest.fail(f"notebooks/{name} does not exist")
        notebook = LabNotebook(page, lab.address(f"lab/tree/{name}?reset"))
        dialog = notebook.kernel_dialog()
        assert dialog is None, f"{name} opened with a dialog (kernel selection?): {dialog}"
        return notebook

    yield open_
    servers.shut_down_kernels(lab)  # one notebook's kernel at a time holds the collection in memory


@pytest.fixture
def voila(browser, session_mark: str, notebook_root: Path, tmp_path_factory: pytest.TempPathFactory,
          request: pytest.FixtureRequest):
    """Start Voila on one notebook of the copy; returns its :class:`servers.Server`."""
    started: list[servers.Server] = []

    def start(name: str) -> servers.Server:
        env = _server_env(request, tmp_path_factory.mktemp("voila-home"), f"{session_mark}:voila-{len(started)}")
        server = servers.start_voila(notebook_root / name, env, secrets.token_hex(16),
                                     ARTIFACTS / f"voila-{Path(name).stem}.log")
        started.append(server)
        return server

    leftover: dict[int, str] = {}
    try:
        yield start
    finally:
        for server in started:
            leftover.update(servers.stop(server))
    assert not leftover, f"Voila left these processes behind (now killed): {leftover}"


@pytest.fixture
def open_app(voila, page):
    """Serve a notebook with Voila and open it as an app."""

    def open_(name: str) -> VoilaApp:
        server = voila(name)
        return VoilaApp(page, server.address(""))

    return open_
