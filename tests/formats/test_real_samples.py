"""Every real sample in shared/samples loads, with the facts documented in SOURCES.txt."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import ctxviz.loading as loading
from ctxviz.model import (
    CompactionBlock,
    Conversation,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)

S02 = "02_claude-code_spotter_manualcompact/ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"
S03 = "03_claude-code_ccl_thinking_v2.0.37/cb2e607c-c758-415a-8b45-c49e4631906a.jsonl"
S04 = "04_claude-code_ccl_v2.1.114_subagents/ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"
S05 = "05_anthropic-messages-api_pydantic-ai"
S06 = "06_openai-chat-completions_pydantic-ai"


def blocks(conv: Conversation, kind: type) -> list:
    return [b for m in conv.messages for b in m.content if isinstance(b, kind)]


def check_layout(conv: Conversation) -> None:
    """Invariants every loader promises the simulator."""
    n = len(conv.messages)
    for i, r in enumerate(conv.requests):
        assert r.index == i
        assert 0 <= r.prompt_start <= r.prompt_end <= n
        if r.response is not None:
            assert r.response == r.prompt_end
            assert conv.messages[r.response].role == "assistant"
    for c in conv.compactions:
        assert 0 <= c.request < len(conv.requests)
        assert conv.requests[c.request].prompt_start <= c.summary_message


def test_every_sample_loads(samples_dir: Path) -> None:
    files = [
        f
        for f in sorted(samples_dir.rglob("*"))
        if f.suffix in (".jsonl", ".yaml") and not f.name.startswith("agent-")
    ]
    assert len(files) == 9
    for f in files:
        conv = loading.load(f)
        assert conv.messages and conv.requests, f
        check_layout(conv)
        for sub in conv.subagents:
            check_layout(sub)


def test_02_manual_compaction(samples_dir: Path) -> None:
    conv = loading.load(samples_dir / S02)
    assert conv.format == "claude-code" and conv.hidden_prefix and conv.system == ()
    assert conv.warnings == []
    assert len(conv.requests) == 217  # every message.id of the file is on the main chain
    assert len(blocks(conv, ThinkingBlock)) == 6
    assert all(r.usage is not None for r in conv.requests)
    # the session started on opus-4-6; a haiku skill then ran 133 requests, each keeping its model
    assert Counter(r.model for r in conv.requests) == {
        "claude-haiku-4-5-20251001": 133,
        "claude-opus-4-6": 84,
    }
    assert conv.model == "claude-opus-4-6"

    (comp,) = conv.compactions
    assert (comp.kind, comp.trigger, comp.pre_tokens) == ("claude_code", "manual", 142431)
    before, after = conv.requests[comp.request - 1], conv.requests[comp.request]
    assert before.usage is not None and before.usage.prompt_tokens == 141_787
    assert after.usage is not None and after.usage.prompt_tokens == 45_263
    summary = conv.messages[comp.summary_message]
    assert summary.is_compact_summary and summary.role == "user"
    assert after.prompt_start == comp.summary_message  # the prompt restarts at the summary
    assert before.prompt_start == 0  # append-only: what came before stays in messages
    assert comp.summary_message > 0
    assert summary.source == "line 1482"

    # one response over four lines: usage from the line with the largest output_tokens (209)
    first = conv.requests[0]
    assert first.usage is not None and first.usage.output_tokens == 209
    assert first.usage.prompt_tokens == 3 + 8165 + 17842  # every line repeats the prompt
    # parallel tool results are separate records but one API message
    assert [type(b) for b in conv.messages[2].content] == [ToolResultBlock, ToolResultBlock]
    assert [b.name for b in conv.messages[1].content if isinstance(b, ToolUseBlock)] == [
        "Bash",
        "Bash",
    ]


def test_02_subagents(samples_dir: Path) -> None:
    conv = loading.load(samples_dir / S02)
    by_type = {s.agent_type: s for s in conv.subagents}
    assert set(by_type) == {"general-purpose", "compact"}
    task = by_type["general-purpose"]
    assert task.parent_tool_use_id == "toolu_01Hf8v1Za7y4af8VUwSR4CXU"
    calls = [b for b in blocks(conv, ToolUseBlock) if b.id == task.parent_tool_use_id]
    assert calls and calls[0].name == "Task"
    assert task.description == "Check OTEL hex package versions"
    assert len(task.requests) == 3 and task.warnings == []
    compact = by_type["compact"]
    assert compact.parent_tool_use_id is None
    assert compact.description is not None and "line 1481" in compact.description
    assert len(compact.requests) == 1


def test_loads_of_a_session_has_no_subagents(samples_dir: Path) -> None:
    conv = loading.loads((samples_dir / S02).read_bytes())
    assert conv.subagents == () and len(conv.requests) == 217


def test_03_thinking_flat_subagents(samples_dir: Path) -> None:
    conv = loading.load(samples_dir / S03)
    assert conv.warnings == []
    assert len(conv.requests) == 80  # 200 assistant lines over 80 message ids
    thinking = blocks(conv, ThinkingBlock)
    assert len(thinking) == 80 and all(t.signature for t in thinking)
    assert Counter(r.stop_reason for r in conv.requests) == {"tool_use": 76, "end_turn": 4}
    assert conv.model == "claude-sonnet-4-5-20250929"
    assert conv.thinking_enabled
    subs = {s.source.rsplit("/", 1)[-1] if s.source else "": s for s in conv.subagents}
    assert set(subs) == {"agent-2b93909d.jsonl", "agent-645808c9.jsonl", "agent-ea02459f.jsonl"}
    real = subs["agent-ea02459f.jsonl"]
    assert real.parent_tool_use_id == "toolu_01HD7PpSCWhP2gP8dXvJiyZN"
    assert real.agent_type == "Plan"
    assert real.description == "Explore project structure for packaging"
    for name in ("agent-2b93909d.jsonl", "agent-645808c9.jsonl"):
        assert subs[name].parent_tool_use_id is None and subs[name].agent_type == "warmup"


def test_04_subagents_folder_and_attachments(samples_dir: Path) -> None:
    conv = loading.load(samples_dir / S04)
    assert conv.warnings == []
    assert len(conv.requests) == 17
    assert len(blocks(conv, ThinkingBlock)) == 14
    usage = conv.requests[0].usage
    assert usage is not None
    # this session wrote the 1-hour cache: cache_creation.ephemeral_1h_input_tokens
    assert (usage.ephemeral_5m_input_tokens, usage.ephemeral_1h_input_tokens) == (0, 27_860)
    assert usage.cache_creation_input_tokens == 27_860
    assert [i.type for i in usage.iterations] == ["message"]
    assert len(conv.subagents) == 6
    calls = {b.id: b for b in blocks(conv, ToolUseBlock) if b.name == "Agent"}
    assert {s.parent_tool_use_id for s in conv.subagents} == set(calls)
    for s in conv.subagents:
        assert s.agent_type == "general-purpose"
        assert s.parent_tool_use_id is not None
        assert s.description == calls[s.parent_tool_use_id].input["description"]
        assert s.model == "claude-opus-4-7" and s.requests
    # attachments the model sees become user text; hook bookkeeping does not
    first = " ".join(b.text for b in conv.messages[0].content if isinstance(b, TextBlock))
    assert "SessionStart hook additional context: clmail" in first
    assert "update-config" in first  # skill_listing
    assert "UserPromptSubmit hook success" in first
    text = " ".join(b.text for b in blocks(conv, TextBlock))
    assert "PostToolUse" not in text


def test_05_server_compaction(samples_dir: Path) -> None:
    conv = loading.load(samples_dir / S05 / "test_anthropic_compaction_end_to_end.yaml")
    assert conv.format == "anthropic" and conv.warnings == []
    assert len(conv.requests) == 2 and len(conv.messages) == 4
    (comp,) = conv.compactions
    assert (comp.kind, comp.request, comp.summary_message) == ("server", 0, 1)
    assert comp.trigger == "input_tokens"
    assert comp.pre_tokens == 55_196 and comp.summary_tokens == 125
    assert isinstance(conv.messages[1].content[0], CompactionBlock)
    first, second = conv.requests
    assert first.prompt_start == 0 and second.prompt_start == 1
    assert first.usage is not None and [i.type for i in first.usage.iterations] == [
        "compaction",
        "message",
    ]
    assert first.usage.input_tokens == 220  # the model call that saw the summary
    assert first.context_management == {
        "edits": [{"trigger": {"type": "input_tokens", "value": 50000}, "type": "compact_20260112"}]
    }
    assert first.applied_edits == ()
    assert conv.system and conv.model == "claude-sonnet-4-6"

    cached = loading.load(samples_dir / S05 / "test_anthropic_compaction_usage_with_cache.yaml")
    (comp,) = cached.compactions
    assert comp.pre_tokens == 100 + 55_096 and comp.summary_tokens == 131


def test_05_thinking_cassettes(samples_dir: Path) -> None:
    conv = loading.load(samples_dir / S05 / "test_anthropic_tool_with_thinking.yaml")
    assert conv.warnings == [] and len(conv.requests) == 2
    assert conv.requests[0].thinking == {"budget_tokens": 3000, "type": "enabled"}
    assert [t.name for t in conv.tools] == ["get_user_country"]
    (thinking,) = blocks(conv, ThinkingBlock)
    assert thinking.signature
    (result,) = blocks(conv, ToolResultBlock)
    (call,) = blocks(conv, ToolUseBlock)
    assert result.tool_use_id == call.id
    assert conv.requests[1].prompt_end == 3  # user, assistant (thinking + tool_use), tool_result

    redacted = loading.load(samples_dir / S05 / "test_anthropic_model_thinking_part_redacted.yaml")
    assert len(blocks(redacted, RedactedThinkingBlock)) == 2
    assert redacted.warnings == []


def test_06_openai_usage_mapping(samples_dir: Path) -> None:
    conv = loading.load(
        samples_dir / S06 / "test_openai_instructions_with_tool_calls_keep_instructions.yaml"
    )
    assert conv.format == "openai" and conv.warnings == []
    assert conv.system == (TextBlock(text="You are a helpful assistant."),)
    assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    call = conv.messages[1].content[0]
    assert isinstance(call, ToolUseBlock) and call.input == {"city": "Tokyo"}
    assert conv.messages[2].content == (
        ToolResultBlock(tool_use_id="call_bhZkmIKKItNGJ41whHUHB7p9", content="20.0"),
    )
    u = conv.requests[0].usage
    assert u is not None
    # prompt_tokens 50 (cached 0), completion_tokens 15, reasoning_tokens 0
    assert (u.input_tokens, u.cache_read_input_tokens, u.output_tokens, u.thinking_tokens) == (
        50,
        0,
        15,
        0,
    )
    assert conv.requests[0].stop_reason == "tool_calls"
    other = loading.load(samples_dir / S06 / "test_openai_tool_output.yaml")
    assert other.format == "openai" and len(other.requests) == 2
