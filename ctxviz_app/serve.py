"""Serve the app headless on a free local port: for the browser tests and the screenshot script."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(
    *, env: Mapping[str, str] | None = None, startup_timeout_s: float = 90.0
) -> Iterator[str]:
    """Run ``streamlit run app.py`` until the block ends; yield its base URL."""
    with server_process(env=env, startup_timeout_s=startup_timeout_s) as (url, _):
        yield url


@contextmanager
def server_process(
    *, env: Mapping[str, str] | None = None, startup_timeout_s: float = 90.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``streamlit run app.py`` until the block ends; yield its base URL and process.

    The server's output goes to a temporary file, not a pipe: a pipe nobody reads fills up and
    blocks the server. Raises RuntimeError, with the end of that output, if it does not start.
    """
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + startup_timeout_s
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-4000:].decode(errors="replace")
                    raise RuntimeError(f"streamlit did not start on {url}:\n{tail}")
                time.sleep(0.3)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
