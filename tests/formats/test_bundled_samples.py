"""Every bundled sample in sample_conversations/ loads without warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

import ctxviz.loading as loading

BUNDLED = Path(__file__).resolve().parents[2] / "sample_conversations"
NAMES = [
    "agent_tool_loop.jsonl.xz",
    "thinking_chat.jsonl",
    "interleaved_thinking_tools.json",
    "claude_code_session",
    "claude_code_session.zip",
    "openai_tool_calls.jsonl",
    "request_body.json",
]


@pytest.mark.parametrize("name", NAMES)
def test_bundled_sample_loads_cleanly(name: str) -> None:
    path = BUNDLED / name
    if not path.exists():
        pytest.skip(f"{name} is not in sample_conversations/ yet")
    conv = loading.load(path)
    assert conv.warnings == []
    assert conv.messages and conv.requests
    for sub in conv.subagents:
        assert sub.warnings == []


def test_bundled_facts() -> None:
    if not (BUNDLED / "claude_code_session.zip").exists():
        pytest.skip("sample_conversations/ is not there yet")
    loop = loading.load(BUNDLED / "agent_tool_loop.jsonl.xz")
    assert (loop.format, len(loop.requests)) == ("anthropic", 26)
    assert [t.name for t in loop.tools] == ["Read", "Grep", "Write", "Edit", "Bash"]
    assert all(r.usage is not None for r in loop.requests)

    chat = loading.load(BUNDLED / "thinking_chat.jsonl")
    assert len(chat.requests) == 8 and chat.thinking_enabled

    inter = loading.load(BUNDLED / "interleaved_thinking_tools.json")
    assert len(inter.requests) == 11
    assert inter.requests[0].betas == ("interleaved-thinking-2025-05-14",)  # pair-level betas

    body = loading.load(BUNDLED / "request_body.json")
    assert body.requests[-1].response is None  # ends with tool results: the request about to go
    assert not body.recorded

    folder = loading.load(BUNDLED / "claude_code_session")
    zipped = loading.load(BUNDLED / "claude_code_session.zip")
    for conv in (folder, zipped):
        (comp,) = conv.compactions
        assert comp.kind == "claude_code" and comp.trigger == "auto"
        (sub,) = conv.subagents
        assert sub.agent_type == "Explore" and sub.parent_tool_use_id is not None
    assert folder.messages == zipped.messages
    assert folder.requests == zipped.requests

    oai = loading.load(BUNDLED / "openai_tool_calls.jsonl")
    assert oai.format == "openai" and len(oai.requests) == 5
    u = oai.requests[2].usage
    assert u is not None
    assert (u.input_tokens, u.cache_read_input_tokens) == (1418 - 1152, 1152)
