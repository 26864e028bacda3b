"""AppTest helpers for the safety tests: run a page by file name, walk every element it drew."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # pages import ctxviz_app from the root, as `streamlit run` does
    sys.path.insert(0, str(ROOT))
PAGES = ("app.py", *sorted(p.name for p in (ROOT / "pages").glob("*.py")))


def page(name: str) -> AppTest:
    path = ROOT / name if name == "app.py" else ROOT / "pages" / name
    return AppTest.from_file(str(path), default_timeout=120)


def elements(at: AppTest) -> Iterator[tuple[str, Any]]:
    """(element type, proto) of every element and block on the page, sidebar included."""

    def walk(node: Any) -> Iterator[tuple[str, Any]]:
        proto = getattr(node, "proto", None)
        if proto is not None:
            yield str(getattr(node, "type", type(node).__name__)), proto
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                yield from walk(child)

    yield from walk(at._tree)


def page_text(at: AppTest) -> str:
    """Everything the page holds, as protobuf text (every string field of every element)."""
    return "\n".join(str(proto) for _, proto in elements(at))


def query_string(at: AppTest) -> str:
    return repr(dict(at.query_params))
