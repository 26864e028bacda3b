"""AppTest helpers for the explorer's pages: run a page file by absolute path, read its charts.

A uniquely named module (not ``conftest``, which other test folders also have)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
# Pages import ctxviz_app from the repository root (streamlit run puts it on sys.path itself).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIMEOUT = 60


def page(name: str) -> AppTest:
    """An AppTest of ``app.py`` or ``pages/<name>``."""
    path = ROOT / name if name == "app.py" else ROOT / "pages" / name
    return AppTest.from_file(str(path), default_timeout=TIMEOUT)


def run(at: AppTest) -> AppTest:
    """Run and assert the page rendered without an exception or an error."""
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def spec(at: AppTest, i: int = 0) -> dict[str, Any]:
    """The i-th plotly chart's figure, as plotly JSON."""
    return json.loads(at.get("plotly_chart")[i].proto.spec)  # type: ignore[no-any-return]


def trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    """The first trace whose name starts with ``name``."""
    return next(t for t in fig["data"] if str(t.get("name", "")).startswith(name))
