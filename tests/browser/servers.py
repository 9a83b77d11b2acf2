"""JupyterLab and Voila started from this interpreter's environment for the browser tests.

Every process the browser tests start carries the environment variable ``MARK_VARIABLE``
with the value ``<session>:<server>``, unique to the test session and the server; kernels
inherit it although Jupyter starts them in their own process group, so
:func:`marked_processes` finds everything a server left behind, and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MARK_VARIABLE = "SCALING_TOOLKIT_BROWSER_TEST"
START_TIMEOUT = 180.0  # seconds; a busy 2-core machine starts JupyterLab in 5-30 s

# Settings a person would click away on first start: the news toast covers the notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass(frozen=True)
class Server:
    """A running server: ``url`` ends with ``/``; ``token`` authenticates the browser."""

    url: str
    token: str
    process: subprocess.Popen
    log: Path
    mark: str
    shutdown_path: str | None = None

    def address(self, path: str) -> str:
        """The URL of ``path`` (relative to the server's base URL) with the token."""
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def isolated_env(repo: Path, home: Path, mark: str) -> dict[str, str]:
    """The environment of a server: the repository's toolkit, private Jupyter state, the mark.

    Jupyter's user directories point into ``home`` so a developer's own settings,
    workspaces or a user-level ``python3`` kernel spec cannot change what the tests see;
    kernel specs are still found in this environment's ``share/jupyter``.
    """
    env = dict(os.environ)
    paths = [str(repo)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update(
        PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
        IPYTHONDIR=str(home / "ipython"),
        PYTHONUNBUFFERED="1",
        **{MARK_VARIABLE: mark},
    )
    env.pop("JUPYTER_PATH", None)
    for name, values in LAB_SETTINGS.items():
        path = home / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def _spawn(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        # A new session: stop() signals the whole group, never a process it did not start.
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _wait(process: subprocess.Popen, log: Path, ready, what: str):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-4000:]}")
        found = ready()
        if found:
            return found
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not answer within {START_TIMEOUT:.0f} s:\n"
                       f"{log.read_text(errors='replace')[-4000:]}")


def start_lab(root: Path, env: dict[str, str], token: str, log: Path) -> Server:
    """JupyterLab on 127.0.0.1, a free port chosen by the server, serving ``root``."""
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    argv = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", "--port=0", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        # Nothing may reach out to the network: no extension index, no news, no update check.
        "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    process = _spawn(argv, root, env, log)

    def ready():
        for info_file in runtime.glob(f"jpserver-{process.pid}.json"):
            try:
                info = json.loads(info_file.read_text())
            except (OSError, json.JSONDecodeError):
                return None
            url = info["url"] if info["url"].endswith("/") else info["url"] + "/"
            if _get(f"{url}api/status?token={token}") == 200:
                return url
        return None

    return Server(_wait(process, log, ready, "JupyterLab"), token, process, log,
                  env[MARK_VARIABLE], shutdown_path="api/shutdown")


def start_voila(notebook: Path, env: dict[str, str], token: str, log: Path) -> Server:
    """Voila serving one notebook on 127.0.0.1 (the port is read back from its log)."""
    argv = [
        sys.executable, "-m", "voila", str(notebook.name), "--no-browser",
        "--Voila.ip=127.0.0.1", f"--port={free_port()}", f"--token={token}",
        "--show_tracebacks=True",
    ]
    process = _spawn(argv, notebook.parent, env, log)
    pattern = re.compile(r"running at:?\s*\n?.*?(http://127\.0\.0\.1:\d+/)", re.DOTALL)

    def ready():
        match = pattern.search(log.read_text(errors="replace"))
        if match and _get(f"{match.group(1)}?token={token}") == 200:
            return match.group(1)
        return None

    return Server(_wait(process, log, ready, "Voila"), token, process, log, env[MARK_VARIABLE])


def stop(server: Server, grace: float = 30.0) -> dict[int, str]:
    """Shut the server down with its kernels; escalate to signals on its process group.

    JupyterLab is asked through its REST API (which shuts its kernels down first); Voila
    gets SIGTERM, on which it shuts its kernels down. Returns the server's processes still
    alive afterwards, which were then killed: kernels live in their own process groups,
    so anything returned is a kernel the server failed to stop.
    """
    process = server.process
    if process.poll() is None and server.shutdown_path:
        request = urllib.request.Request(server.address(server.shutdown_path), method="POST")
        try:
            urllib.request.urlopen(request, timeout=10).close()
            process.wait(grace)
        except (OSError, subprocess.TimeoutExpired):
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
            process.wait(grace)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    # The kernels exit just after their server: give them a moment before calling them leftovers.
    deadline = time.monotonic() + grace
    while marked_processes(server.mark) and time.monotonic() < deadline:
        time.sleep(0.25)
    return kill_marked(server.mark)


def shut_down_kernels(server: Server) -> None:
    """Shut down every kernel of a JupyterLab server through its REST API."""
    with urllib.request.urlopen(server.address("api/kernels"), timeout=30) as response:
        kernels = json.load(response)
    for kernel in kernels:
        request = urllib.request.Request(server.address(f"api/kernels/{kernel['id']}"), method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()


def marked_processes(mark: str) -> dict[int, str]:
    """Live processes (pid -> command line) whose mark is ``mark`` or starts with ``mark:``.

    Reads Linux's /proc; elsewhere it finds nothing.
    """
    found = {}
    exact, prefix = f"{MARK_VARIABLE}={mark}".encode(), f"{MARK_VARIABLE}={mark}:".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
            if any(v == exact or v.startswith(prefix) for v in variables):
                if (entry / "stat").read_text().split(")")[-1].split()[0] == "Z":
                    continue  # a zombie is already dead; its parent reaps it
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace").strip()
        except OSError:
            continue
    found.pop(os.getpid(), None)
    return found


def kill_marked(mark: str) -> dict[int, str]:
    """SIGKILL every process marked ``mark`` (all started by these tests); returns them."""
    leftover = marked_processes(mark)
    for pid in leftover:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftover
