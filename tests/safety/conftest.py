"""The safety tests' real-browser fixture: ``streamlit run app.py`` headless on a free port of
127.0.0.1, once per test session; skipped with its reason where chromium or Playwright is
missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ctxviz_app.serve import served
from tests.safety._browser import CHROMIUM


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (CI does)")
    pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is not installed")
    try:
        with served() as url:
            yield url
    except RuntimeError as err:
        pytest.fail(str(err))
