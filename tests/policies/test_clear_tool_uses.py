"""Golden tests of clear_tool_uses_20250919 (counter: one token per word, no message frame).

The conversation: m0 user 2 words; then three tool uses, each a call (name 1 + "{}" 1 = 2) and a
10-word result; the placeholder "[Tool result cleared to save context]" is 6 words.
Prompts as recorded: request 0 = 2, request 1 = 14, request 2 = 26, request 3 = 38.
"""

from __future__ import annotations

from typing import Any

import pytest
from _sim_builders import assistant, call, conversation, result, user, w, words

from ctxviz.model import Conversation, ToolDefinition
from ctxviz.simulator import Simulation, simulate


def tool_conversation(second_tool: str = "read") -> Conversation:
    return conversation(
        [
            user(w(2)),
            assistant(call("t1")),
            user(result("t1", w(10))),
            assistant(call("t2", name=second_tool)),
            user(result("t2", w(10))),
            assistant(call("t3")),
            user(result("t3", w(10))),
            assistant(w(1)),
        ]
    )


def run(conv: Conversation, **edit: Any) -> Simulation:
    cm = {"edits": [{"type": "clear_tool_uses_20250919", **edit}]}
    return simulate(conv, context_management=cm, counter=words, message_frame_tokens=0)


def test_clears_all_but_keep_once_over_trigger() -> None:
    s = run(
        tool_conversation(),
        trigger={"type": "input_tokens", "value": 20},
        keep={"type": "tool_uses", "value": 1},
    )
    r = s.requests
    # request 2: 26 > 20, two tool uses, keep 1 -> t1 cleared: 10 - 6 = 4 saved
    # request 3: 38 > 20, three tool uses -> t1, t2 cleared: 8 saved
    assert r["original_input_tokens"].tolist() == [2, 14, 26, 38]
    assert r["input_tokens"].tolist() == [2, 14, 22, 30]
    assert r["cleared_input_tokens"].tolist() == [0, 0, 4, 8]
    assert r["cleared_tool_uses"].tolist() == [0, 0, 1, 2]
    assert s.applied_edits(1) == []
    assert s.applied_edits(2) == [
        {"type": "clear_tool_uses_20250919", "cleared_tool_uses": 1, "cleared_input_tokens": 4}
    ]
    assert s.applied_edits(3) == [
        {"type": "clear_tool_uses_20250919", "cleared_tool_uses": 2, "cleared_input_tokens": 8}
    ]
    ev = s.events
    assert ev["type"].tolist() == ["clear_tool_uses_20250919"] * 2
    assert ev["request"].tolist() == [2, 3]
    assert ev["tokens_before"].tolist() == [26, 38]
    assert ev["tokens_after"].tolist() == [22, 30]
    assert r["placeholder_tokens"].tolist() == [0, 0, 6, 12]


def test_trigger_must_be_exceeded() -> None:
    s = run(
        tool_conversation(),
        trigger={"type": "input_tokens", "value": 26},
        keep={"type": "tool_uses", "value": 1},
    )
    assert s.requests["input_tokens"].tolist() == [2, 14, 26, 30]


def test_default_trigger_100k_is_inactive_here() -> None:
    s = run(tool_conversation())
    assert s.requests["input_tokens"].tolist() == [2, 14, 26, 38]
    assert len(s.events) == 0


def test_clear_at_least_is_all_or_nothing() -> None:
    s = run(
        tool_conversation(),
        trigger={"type": "input_tokens", "value": 20},
        keep={"type": "tool_uses", "value": 1},
        clear_at_least={"type": "input_tokens", "value": 5},
    )
    # request 2 would save 4 < 5: not applied; request 3 saves 8
    assert s.requests["input_tokens"].tolist() == [2, 14, 26, 30]
    assert s.applied_edits(2) == []


def test_clear_tool_inputs_clears_the_calls_too() -> None:
    s = run(
        tool_conversation(),
        trigger={"type": "input_tokens", "value": 20},
        keep={"type": "tool_uses", "value": 1},
        clear_tool_inputs=True,
    )
    # request 2: result 10 + input "{}" 1 - placeholder 6 = 5 saved; the name stays
    assert s.requests["input_tokens"].tolist() == [2, 14, 21, 28]
    view = s.prompt_view(2).to_frame()
    call_row = view[(view["message"] == 1)].iloc[0]
    assert call_row["status"] == "cleared" and call_row["tokens"] == 1


def test_exclude_tools_are_never_cleared() -> None:
    s = run(
        tool_conversation(second_tool="grep"),
        trigger={"type": "input_tokens", "value": 20},
        keep={"type": "tool_uses", "value": 1},
        exclude_tools=["grep"],
    )
    # request 3: t1 cleared, t2 (grep) excluded, t3 kept
    assert s.requests["input_tokens"].tolist() == [2, 14, 22, 34]
    assert s.applied_edits(3)[0]["cleared_tool_uses"] == 1


def test_tool_uses_trigger() -> None:
    s = run(
        tool_conversation(),
        trigger={"type": "tool_uses", "value": 2},
        keep={"type": "tool_uses", "value": 1},
    )
    # request 2 holds 2 tool uses (not more than 2); request 3 holds 3
    assert s.requests["input_tokens"].tolist() == [2, 14, 26, 30]


def test_prompt_view_shows_placeholders_and_kept_uses() -> None:
    s = run(
        tool_conversation(),
        trigger={"type": "input_tokens", "value": 20},
        keep={"type": "tool_uses", "value": 1},
    )
    view = s.prompt_view(3).to_frame()
    results = view[view["type"] == "tool_result"]
    assert results["status"].tolist() == ["cleared", "cleared", "kept"]
    assert results["tokens"].tolist() == [6, 6, 10]
    assert results["text"].iloc[0] == "[Tool result cleared to save context]"
    assert view["tokens"].sum() == s.requests["input_tokens"].iat[3]


def test_clearing_breaks_the_cache_from_the_first_cleared_block() -> None:
    # sizes above the 1,024-token cache minimum of Sonnet 4.5
    conv = conversation(
        [
            user(w(2000)),
            assistant(call("t1")),
            user(result("t1", w(3000))),
            assistant(call("t2")),
            user(result("t2", w(3000))),
            assistant(call("t3")),
            user(result("t3", w(10))),
            assistant(w(1)),
        ]
    )
    s = run(
        conv,
        trigger={"type": "input_tokens", "value": 6000},
        keep={"type": "tool_uses", "value": 2},
    )
    r = s.requests
    # prompts: 2000, 5002, 8004, then 8016 - (3000 - 6) = 5022
    assert r["input_tokens"].tolist() == [2000, 5002, 8004, 5022]
    # each request reads the previous prompt; request 3 only the 2,002 tokens before t1's result
    assert r["reusable_prefix_tokens"].tolist() == [0, 2000, 5002, 2002]
    assert r["cache_read_input_tokens"].tolist() == [0, 2000, 5002, 2002]
    assert r["cache_creation_input_tokens"].tolist() == [2000, 3002, 3002, 3020]
    assert r["uncached_input_tokens"].tolist() == [0, 0, 0, 0]


def test_on_recorded_usage_only_changed_requests_are_estimated() -> None:
    from _sim_builders import usage

    conv = tool_conversation()
    conv = conversation(
        conv.messages,
        usages=[usage(20, 2), usage(140, 2), usage(260, 2), usage(380, 1)],
    )
    s = run(
        conv,
        trigger={"type": "input_tokens", "value": 200},
        keep={"type": "tool_uses", "value": 1},
    )
    r = s.requests
    assert s.scale == pytest.approx(10.0)  # 800 recorded / 80 estimated
    assert r["source"].tolist() == ["recorded", "recorded", "estimated", "estimated"]
    # request 2: 260 - 10 x (10 - 6) = 220; request 3: 380 - 10 x 8 = 300
    assert r["input_tokens"].tolist() == [20, 140, 220, 300]
    assert r["original_input_tokens"].tolist() == [20, 140, 260, 380]
    assert (s.composition.sum(axis=1) == r["input_tokens"]).all()


def test_memory_tool_warns_before_the_trigger() -> None:
    conv = tool_conversation()
    conv = conversation(
        conv.messages,
        tools=[ToolDefinition(name="memory", raw={"type": "memory_20250818", "name": "memory"})],
    )
    # Sonnet 4.5 adds its 496-token tool-use system prompt to every prompt with tools, and the
    # memory tool stands for its expanded definition (1,069 on Sonnet 4.5, docs/counting.md)
    trigger = 30 + (496 + 1069) * 5 // 4
    s = run(
        conv,
        trigger={"type": "input_tokens", "value": trigger},
        keep={"type": "tool_uses", "value": 1},
    )
    ev = s.events[s.events["type"] == "memory_warning"]
    # 80% of 1,986 = 1,588.8; the prompts are 1,567, 1,579, 1,591: request 2
    assert ev["request"].tolist() == [2]
