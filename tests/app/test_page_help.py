"""pages/8_Formats_and_help.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest
from apptest_helpers import page, run, spec

import ctxviz


def test_help_page_formats_glossary_and_anatomy() -> None:
    at = run(page("8_Formats_and_help.py"))
    text = " ".join(m.value for m in at.markdown)
    assert "~/.claude/projects/<project>/<session>.jsonl" in text
    assert "subagents" in text
    for term in ("clear_tool_uses_20250919", "compact_20260112", "compaction_control"):
        assert term in text
    assert spec(at)["layout"]["title"]["text"].startswith("The last request")


class _Response:
    """What ``client.messages.create`` returns, offline: ``model_dump()`` of a real shape."""

    def __init__(self, model: str) -> None:
        self.model = model

    def model_dump(self) -> dict[str, Any]:
        return {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [{"type": "text", "text": "Hello!"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 12, "output_tokens": 5},
        }


class _Client:
    def __init__(self, **_: Any) -> None:
        self.messages = self

    def create(self, **request: Any) -> _Response:
        assert request["messages"], "the snippet sends its messages"
        return _Response(request["model"])


def test_every_code_snippet_on_the_help_page_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each st.code snippet is executed as a user would paste it (the API client is offline)."""
    at = run(page("8_Formats_and_help.py"))
    snippets = [c.value for c in at.code]
    assert snippets
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(anthropic, "Anthropic", _Client)
    for snippet in snippets:
        exec(compile(snippet, "<help page snippet>", "exec"), {"__name__": "__main__"})
    # The logging snippet writes a log that ctxviz reads, with the recorded usage.
    conv = ctxviz.load(tmp_path / "calls.jsonl")
    assert [r.usage.prompt_tokens for r in conv.requests if r.usage] == [12]
