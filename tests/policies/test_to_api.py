"""Each policy's config written back as the API (or the SDK) takes it: the inverse of reading it."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxviz.policies import claude_code, clear_thinking, clear_tool_uses, compact, rolling
from ctxviz.policies import compaction_control as sdk
from ctxviz.policies.edits import EDIT_POLICIES, parse, validate_context_management

counts = st.integers(min_value=1, max_value=2_000_000)
names = st.lists(st.text(min_size=1, max_size=12), max_size=4).map(tuple)
texts = st.none() | st.text(max_size=40)

clear_tool_uses_configs = st.builds(
    clear_tool_uses.ClearToolUses,
    trigger=st.none()
    | st.builds(
        clear_tool_uses.Trigger,
        type=st.sampled_from(["input_tokens", "tool_uses"]),
        value=counts,
    ),
    keep=st.none() | counts,
    clear_at_least_tokens=st.none() | counts,
    exclude_tools=names,
    clear_tool_inputs=st.booleans() | names.filter(bool),
)
clear_thinking_configs = st.builds(
    clear_thinking.ClearThinking, keep_turns=st.none() | st.just("all") | counts
)
compact_configs = st.builds(
    compact.Compact,
    trigger=st.none() | st.integers(min_value=compact.MIN_TRIGGER_TOKENS, max_value=2_000_000),
    instructions=texts,
    pause_after_compaction=st.booleans(),
)
sdk_configs = st.builds(
    sdk.CompactionControl,
    enabled=st.booleans(),
    threshold_tokens=st.none() | counts,
    model=st.none() | st.sampled_from(["claude-haiku-4-5", "claude-sonnet-4-6"]),
    summary_prompt=st.none() | st.just("Summarise in <summary></summary> tags."),
    totals=st.sampled_from(["sdk", "context"]),
)


@given(clear_tool_uses_configs)
def test_clear_tool_uses_round_trip(config: clear_tool_uses.ClearToolUses) -> None:
    assert clear_tool_uses.from_api(config.to_api()) == config


@given(clear_thinking_configs)
def test_clear_thinking_round_trip(config: clear_thinking.ClearThinking) -> None:
    assert clear_thinking.from_api(config.to_api()) == config


@given(compact_configs)
def test_compact_round_trip(config: compact.Compact) -> None:
    assert compact.from_api(config.to_api()) == config


@given(sdk_configs)
def test_compaction_control_round_trip(config: sdk.CompactionControl) -> None:
    assert sdk.from_sdk(config.to_sdk(), totals=config.totals) == config
    assert sdk.validate(config.to_sdk()).problems == ()


@given(st.none() | counts)
def test_rolling_window_round_trip(budget: int | None) -> None:
    config = rolling.RollingWindow(budget_tokens=budget)
    assert rolling.from_arg(config.to_api()) == config


@given(
    st.builds(
        claude_code.ClaudeCodeAutocompact,
        pct_override=st.none() | st.floats(min_value=1, max_value=100),
        window_tokens=st.none()
        | st.integers(
            min_value=claude_code.MIN_WINDOW_TOKENS, max_value=claude_code.MAX_WINDOW_TOKENS
        ),
        reserve_tokens=st.none() | st.integers(min_value=0, max_value=100_000),
    )
)
def test_claude_code_round_trip(config: claude_code.ClaudeCodeAutocompact) -> None:
    assert claude_code.from_arg(claude_code.to_settings(config)) == config


@given(clear_thinking_configs, clear_tool_uses_configs, compact_configs)
def test_written_edits_pass_the_api_checks_and_parse_back(
    thinking: clear_thinking.ClearThinking,
    tools: clear_tool_uses.ClearToolUses,
    compaction: compact.Compact,
) -> None:
    cm = {"edits": [thinking.to_api(), tools.to_api(), compaction.to_api()]}
    validate_context_management(cm)
    edits, _ = parse(cm, None)
    assert edits.clearing == (thinking, tools)
    assert edits.compact == compaction


# The examples of the API's context-editing and compaction pages, as given and as written back.
_EXAMPLES: list[tuple[Mapping[str, object], Mapping[str, object]]] = [
    ({"type": "clear_tool_uses_20250919"}, {"type": "clear_tool_uses_20250919"}),
    (
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 30_000},
            "keep": {"type": "tool_uses", "value": 3},
            "clear_at_least": {"type": "input_tokens", "value": 5_000},
            "exclude_tools": ["web_search"],
            "clear_tool_inputs": False,
        },
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 30_000},
            "keep": {"type": "tool_uses", "value": 3},
            "clear_at_least": {"type": "input_tokens", "value": 5_000},
            "exclude_tools": ["web_search"],
        },
    ),
    (
        {"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 10}},
        {"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 10}},
    ),
    (
        {"type": "clear_tool_uses_20250919", "clear_tool_inputs": ["Bash", "Read"]},
        {"type": "clear_tool_uses_20250919", "clear_tool_inputs": ["Bash", "Read"]},
    ),
    ({"type": "clear_thinking_20251015"}, {"type": "clear_thinking_20251015"}),
    (
        {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 2}},
        {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 2}},
    ),
    (
        {"type": "clear_thinking_20251015", "keep": "all"},
        {"type": "clear_thinking_20251015", "keep": "all"},
    ),
    (
        {"type": "clear_thinking_20251015", "keep": {"type": "all"}},
        {"type": "clear_thinking_20251015", "keep": "all"},
    ),
    ({"type": "compact_20260112"}, {"type": "compact_20260112"}),
    (
        {
            "type": "compact_20260112",
            "trigger": {"type": "input_tokens", "value": 150_000},
            "instructions": "Keep file paths.",
            "pause_after_compaction": True,
        },
        {
            "type": "compact_20260112",
            "trigger": {"type": "input_tokens", "value": 150_000},
            "instructions": "Keep file paths.",
            "pause_after_compaction": True,
        },
    ),
    (
        {"type": "compact_20260112", "pause_after_compaction": False},
        {"type": "compact_20260112"},
    ),
]


@pytest.mark.parametrize(("given_edit", "canonical"), _EXAMPLES)
def test_doc_examples_written_back(
    given_edit: Mapping[str, object], canonical: Mapping[str, object]
) -> None:
    validate_context_management({"edits": [given_edit]})
    policy = next(p for p in EDIT_POLICIES if given_edit["type"] == p.TYPE)
    assert policy.from_api(given_edit).to_api() == canonical


@pytest.mark.parametrize(
    ("given_cc", "canonical"),
    [
        ({"enabled": True}, {"enabled": True}),
        (
            {
                "enabled": True,
                "context_token_threshold": 100_000,
                "model": "claude-haiku-4-5",
                "summary_prompt": "Summarise.\nWrap it in <summary></summary> tags.",
            },
            {
                "enabled": True,
                "context_token_threshold": 100_000,
                "model": "claude-haiku-4-5",
                "summary_prompt": "Summarise.\nWrap it in <summary></summary> tags.",
            },
        ),
        (
            {"enabled": False, "context_token_threshold": 5_000},
            {"enabled": False, "context_token_threshold": 5_000},
        ),
    ],
)
def test_sdk_examples_written_back(
    given_cc: Mapping[str, object], canonical: Mapping[str, object]
) -> None:
    sdk.validate_compaction_control(given_cc)
    assert sdk.from_sdk(given_cc).to_sdk() == canonical
