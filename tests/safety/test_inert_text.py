"""Transcript text is always inert in the app (AppTest, every page, a hostile upload).

Markdown-rendered fields (bodies of markdown, captions and alerts; labels and help of widgets,
expanders, tabs and metrics; radio options) may hold transcript text only escaped; plotly figures
(whose text takes a subset of HTML) only HTML-escaped; ``unsafe_allow_html`` never carries it;
``st.html`` and components are not used for it. Inert renderers (``st.text``, ``st.code``,
dataframes, select options) may show it verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.message import Message

from tests.safety import _hostile
from tests.safety._apptest import PAGES, elements, page

INERT_TYPES = frozenset({"text", "code", "arrow_data_frame", "dataframe", "json", "plotly_chart"})
MARKDOWN_FIELDS = frozenset({"body", "label", "help", "caption", "captions"})
HTML_TYPES = frozenset({"html", "iframe", "components_v1", "custom_component"})


def _strings(msg: Message, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, value) of every string in a protobuf message, recursively."""
    for field, value in msg.ListFields():
        name = f"{path}.{field.name}" if path else field.name
        values = (
            value
            if getattr(field, "is_repeated", False)
            or isinstance(value, list | tuple)
            or (hasattr(value, "__len__") and not isinstance(value, str | bytes | Message))
            else [value]
        )
        for v in values:
            if isinstance(v, str):
                yield name, v
            elif isinstance(v, Message):
                yield from _strings(v, name)


def _unescaped(text: str, raw: str) -> bool:
    """Whether ``raw`` occurs in markdown ``text`` with its first character not escaped by a
    backslash (an odd number of backslashes before it escapes it)."""
    start = text.find(raw)
    while start >= 0:
        slashes = len(text[:start]) - len(text[:start].rstrip("\\"))
        if slashes % 2 == 0:
            return True
        start = text.find(raw, start + 1)
    return False


def _violations(at: Any) -> list[str]:
    found: list[str] = []
    for kind, proto in elements(at):
        if kind in HTML_TYPES or getattr(proto, "allow_html", False):
            if "pwned" in str(proto):
                found.append(f"{kind}: transcript text in raw HTML")
            continue
        if kind == "plotly_chart":
            spec = json.loads(proto.spec)
            for raw in _hostile.RAW:
                if raw.startswith("<") and raw in json.dumps(spec, ensure_ascii=False):
                    found.append(f"plotly_chart: raw {raw!r}")
            continue
        if kind in INERT_TYPES:
            continue
        for name, text in _strings(proto):
            leaf = name.rsplit(".", 1)[-1]
            plain_options = leaf == "options" and kind != "radio"
            if leaf not in MARKDOWN_FIELDS and not (leaf == "options" and not plain_options):
                continue
            for raw in _hostile.RAW:
                if _unescaped(text, raw):
                    found.append(f"{kind}.{name}: raw {raw!r} in {text[:120]!r}")
            shown = re.sub(r"\\(.)", r"\1", text)  # as rendered: escapes resolved
            for link in _hostile.AUTOLINK.findall(shown):
                if "pwned" in link or "203.0.113.9" in link:
                    found.append(f"{kind}.{name}: {link!r} becomes a link")
    return found


def _visit_every_page(data: bytes, name: str, *, agent: int | None = None) -> tuple[int, str]:
    """Upload ``data`` on the overview, then visit every page; return pages seen and all text."""
    at = page("app.py")
    at.run()
    at.file_uploader[0].set_value((name, data, "application/octet-stream"))
    at.run()
    if agent is not None:
        at.sidebar.selectbox(key="agent").set_value(agent)
        at.run()
    seen, texts = 0, []
    for target in PAGES:
        if target != "app.py":
            at.switch_page(f"pages/{target}")
            at.run()
        assert not at.exception, (target, [e.value for e in at.exception])
        problems = _violations(at)
        assert not problems, f"{target}: {problems[:5]}"
        texts.append("\n".join(str(p) for _, p in elements(at)))
        seen += 1
    return seen, "\n".join(texts)


@pytest.mark.parametrize("agent", [None, 0])
def test_hostile_claude_code_session_renders_inert(agent: int | None) -> None:
    seen, text = _visit_every_page(_hostile.claude_code_zip(), _hostile.FILE_NAME, agent=agent)
    assert seen == len(PAGES)
    assert "pwned" in text  # the transcript's text did reach the pages (escaped or inert)


def test_hostile_request_body_renders_inert() -> None:
    seen, text = _visit_every_page(_hostile.anthropic_body(), "body<script>x</script>.json")
    assert seen == len(PAGES) and "pwned" in text


def test_an_error_quoting_the_transcript_renders_inert() -> None:
    at = page("app.py")
    at.run()
    at.file_uploader[0].set_value((_hostile.FILE_NAME, _hostile.broken(), "application/json"))
    at.run()
    assert not at.exception
    assert at.error and "pwned" in at.error[0].value  # the message quotes the role, escaped
    assert not _violations(at)


def test_the_check_finds_unescaped_markup() -> None:
    """The checker itself: a page that renders transcript text as markdown is caught."""
    from streamlit.testing.v1 import AppTest

    def bad_page() -> None:
        import plotly.graph_objects as go
        import streamlit as st

        from tests.safety import _hostile

        st.markdown(_hostile.PAYLOAD)
        st.caption(_hostile.LINK)
        st.error("escaped, still a link: " + _hostile.BARE.replace(".", "\\."))
        st.text(_hostile.PAYLOAD)  # inert: not reported
        st.plotly_chart(go.Figure(go.Bar(x=[1], y=[1], name=_hostile.SCRIPT)), key="c")

    at = AppTest.from_function(bad_page)
    at.run()
    problems = _violations(at)
    assert any(p.startswith("markdown.body") for p in problems), problems
    assert any("caption" in p or "markdown" in p for p in problems if "pwned link" in p)
    assert any(p.startswith("plotly_chart") for p in problems), problems
    assert any("becomes a link" in p and "www.pwned" in p for p in problems), problems
    assert not any(p.startswith("text") for p in problems)


def _python_export(model: str) -> str:
    """The Timeline page's "Python SDK call" for an uploaded session whose model is ``model``."""
    records = [
        {"type": "user", "uuid": "u1", "parentUuid": None, "sessionId": "s",
         "message": {"role": "user", "content": "Hello"}},
        {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "s",
         "message": {"id": "m1", "role": "assistant", "model": model,
                     "content": [{"type": "text", "text": "Hi"}],
                     "usage": {"input_tokens": 12, "output_tokens": 4}}},
    ]  # fmt: skip
    at = page("app.py")
    at.run()
    data = "\n".join(json.dumps(r) for r in records).encode()
    at.file_uploader[0].set_value(("session.jsonl", data, "application/octet-stream"))
    at.run()
    at.switch_page("pages/1_Timeline.py")
    at.session_state["timeline_tabs"] = "Python SDK call"  # only the open export tab is built
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (program,) = [
        p.code_text for kind, p in elements(at) if kind == "code" and p.language == "python"
    ]
    return str(program)


def test_the_sdk_export_of_a_hostile_model_is_the_benign_program() -> None:
    """A model id holding a newline and code is data in the export, never a statement."""
    from tests.test_snippets import _shape

    hostile = _python_export("claude-x\nPWNED = 1\n#\u2028PWNED = 2")
    assert _shape(hostile) == _shape(_python_export("claude-fable-9"))
    assert "\nPWNED" not in hostile and "\u2028" not in hostile
    assert 'model="claude-x\\nPWNED = 1\\n#\\u2028PWNED = 2"' in hostile


def test_csv_exports_keep_a_formula_from_the_transcript_as_text() -> None:
    """A model id that a spreadsheet would run as a formula is exported as text (CSV
    injection); numbers, negative ones included, stay numbers."""
    import csv
    import io

    import pandas as pd

    from ctxviz.loading import loads
    from ctxviz.simulator import simulate
    from ctxviz_app.ui import csv_text

    formula = '=HYPERLINK("http://203.0.113.9/pwned","x")'
    records = [
        {"type": "user", "uuid": "u1", "parentUuid": None, "sessionId": "s",
         "message": {"role": "user", "content": "Hello"}},
        {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "s",
         "message": {"id": "m1", "role": "assistant", "model": formula,
                     "content": [{"type": "text", "text": "Hi"}],
                     "usage": {"input_tokens": 12, "output_tokens": 4}}},
    ]  # fmt: skip
    sim = simulate(loads("\n".join(json.dumps(r) for r in records)))
    rows = list(csv.DictReader(io.StringIO(csv_text(sim.requests))))
    assert rows[0]["model"] == "'" + formula
    frame = pd.DataFrame(
        {"label": ["+1", "-2+3", "@SUM(A1)", "\tx", "plain"], "n": [1, -5, 0, 2, 3]}
    )
    rows = list(csv.DictReader(io.StringIO(csv_text(frame))))
    assert [r["label"] for r in rows] == ["'+1", "'-2+3", "'@SUM(A1)", "'\tx", "plain"]
    assert [r["n"] for r in rows] == ["1", "-5", "0", "2", "3"]
