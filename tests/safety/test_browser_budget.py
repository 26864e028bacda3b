"""A hostile upload in the served app (issue 13, attacks 2 and 4): the server's memory does not
grow with it, its error is shown (no traceback), and SIGTERM stops the server within seconds while
a hostile file is being read, the worker reading it included."""

from __future__ import annotations

import gzip
import os
import signal
import time
from pathlib import Path

import pytest

from ctxviz_app.serve import server_process
from tests.safety._browser import ARGS, CHROMIUM, TIMEOUT_MS, ready
from tests.safety.test_budget import alias_bomb

pytestmark = pytest.mark.browser


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _workers(pid: int) -> list[int]:
    """The ctxviz_app.isolated workers the server started."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"ctxviz_app.isolated" in cmd:
            out.append(int(entry.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")
def test_hostile_uploads_and_sigterm() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found")
    sync_api = pytest.importorskip("playwright.sync_api")
    with server_process() as (url, proc), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            ready(page)
            before = _rss_bytes(proc.pid)
            upload = page.locator("[data-testid=stSidebar] input[type=file][accept*='.jsonl']")
            for name, data in [
                ("bomb.yaml", alias_bomb().encode()),
                ("tiny.jsonl", b'{"a":1}\n' * 3_000_000),
            ]:
                upload.set_input_files({"name": name, "mimeType": "text/plain", "buffer": data})
                error = page.locator("[data-testid=stAlertContentError]").first
                error.wait_for(timeout=TIMEOUT_MS)
                ready(page)
                assert "refused" in error.inner_text(), error.inner_text()
                assert page.locator("[data-testid=stException]").count() == 0
            grown = _rss_bytes(proc.pid) - before
            assert grown < 200 << 20, f"the server grew by {grown / 2**20:.0f} MiB"
            # A slow hostile file (600 MiB of blank space, gzipped): SIGTERM while it is read.
            slow = gzip.compress(b" " * (1 << 20)) * 600
            upload.set_input_files({"name": "slow.json.gz", "mimeType": "application/gzip",
                                    "buffer": slow})  # fmt: skip
            deadline = time.monotonic() + 30
            while not (workers := _workers(proc.pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert workers, "no worker started"
            t = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
            stopped_s = time.monotonic() - t
        finally:
            browser.close()
    assert stopped_s < 5, f"the server took {stopped_s:.1f} s to stop"
    time.sleep(0.5)
    assert [pid for pid in workers if _alive(pid)] == [], "a worker outlived the server"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
