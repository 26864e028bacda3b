"""Real-browser helpers of the safety tests (the server fixture is in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TIMEOUT_MS = 90_000
LOCAL = ("127.0.0.1", "localhost")


def ready(page: Any) -> None:
    page.wait_for_selector("[data-test-script-state=notRunning]", state="attached",
                           timeout=TIMEOUT_MS)  # fmt: skip
    page.wait_for_timeout(600)
    page.wait_for_selector("[data-test-script-state=notRunning]", state="attached",
                           timeout=TIMEOUT_MS)  # fmt: skip
