"""Start the workshop page: a Streamlit server, non-interactive and local by default.

No browser is opened, no usage statistics are sent, no e-mail prompt appears and no
file watcher runs: the flags and environment below see to it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

APP = Path(__file__).with_name("app.py")
"""The Streamlit script of the page."""

FLAGS = {
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    "server.fileWatcherType": "none",
    "server.runOnSave": "false",
    "global.developmentMode": "false",
    "client.toolbarMode": "minimal",
    "client.showErrorDetails": "false",
    "server.maxUploadSize": "5",
}
"""Streamlit options given on its command line (``--name value``)."""

ENV = {
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_HEADLESS": "true",
    "STREAMLIT_GLOBAL_DEVELOPMENT_MODE": "false",
    "MPLBACKEND": "Agg",
}
"""Environment for the server (belt and braces with ``FLAGS``)."""


def streamlit_available() -> bool:
    """Whether the optional ``workshop`` extra (Streamlit) is installed."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        return False
    return True


def command(scenario: str | None = None, port: int = 8501, host: str = "127.0.0.1",
            engine: str = "auto") -> list[str]:
    """The command line that serves the page on ``host:port``."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP)]
    for name, value in {**FLAGS, "server.port": str(port), "server.address": host}.items():
        cmd += [f"--{name}", value]
    cmd += ["--", "--engine", engine]
    if scenario is not None:
        cmd += ["--scenario", str(Path(scenario).resolve())]
    return cmd


def environment() -> dict[str, str]:
    """The server's environment: this one plus ``ENV``."""
    return {**os.environ, **ENV}


def serve(scenario: str | None = None, port: int = 8501, host: str = "127.0.0.1",
          engine: str = "auto") -> None:
    """Replace this process with the server (Ctrl-C stops it)."""
    cmd = command(scenario, port, host, engine)
    os.execve(cmd[0], cmd, environment())


def start(scenario: str | None = None, port: int | None = None, host: str = "127.0.0.1",
          engine: str = "auto", log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``borderesim workshop`` as a child process; returns it and the page's URL.

    Used by the end-to-end test and the screenshot script. ``port`` defaults to a free one.
    """
    port = port or free_port(host)
    script = Path(sys.executable).with_name("borderesim")  # the installed console script
    launcher = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from borderesim.cli import main; sys.exit(main())"]
    cmd = [*launcher, "workshop", "--port", str(port), "--host", host, "--engine", engine]
    if scenario is not None:
        cmd.append(str(scenario))
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environment())
    return proc, f"http://{host}:{port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until the server at ``url`` answers its health check (seconds).

    Raises ``RuntimeError`` if ``proc`` ends first or time runs out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the workshop server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the workshop server at {url} did not answer within {timeout:g} s")


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium: the browser the end-to-end test and screenshot script drive."""

CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")
"""Flags for a quiet headless chromium that never reaches the network by itself."""


def launch_chromium(playwright):
    """Launch Debian's chromium through Playwright (which downloads no browser of its own)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=list(CHROMIUM_ARGS))


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server started by ``start``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
