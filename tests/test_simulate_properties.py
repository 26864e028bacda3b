"""Properties of the replay over generated conversations (hypothesis).

- no policy makes a prompt larger than as recorded, except by its placeholders and summaries;
- an inactive policy is the identity;
- no tool_result is ever sent without its tool_use;
- the last ``keep`` tool uses are never cleared;
- recorded requests the policy leaves alone keep their recorded numbers;
- the replay is deterministic and its composition adds up.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from _sim_builders import assistant, call, conversation, result, think, usage, user, w, words
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctxviz.model import Conversation, Message, ToolResultBlock, ToolUseBlock, Usage
from ctxviz.simulator import Simulation, simulate

TOOLS = ("read", "grep", "web")
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    messages: list[Message] = []
    tool = 0
    with_thinking = draw(st.booleans())
    for _ in range(draw(st.integers(1, 5))):
        messages.append(user(w(draw(st.integers(1, 300)))))
        for _ in range(draw(st.integers(0, 4))):
            blocks: list[Any] = []
            if with_thinking and draw(st.booleans()):
                blocks.append(think(w(draw(st.integers(1, 100)))))
            blocks.append(call(f"t{tool}", name=draw(st.sampled_from(TOOLS))))
            messages.append(assistant(*blocks))
            messages.append(user(result(f"t{tool}", w(draw(st.integers(1, 500))))))
            tool += 1
        final: list[Any] = [think(w(draw(st.integers(1, 50))))] if with_thinking else []
        messages.append(assistant(*final, w(draw(st.integers(1, 50)))))
    if draw(st.booleans()):
        messages.append(user(w(draw(st.integers(1, 50)))))
    conv = conversation(
        messages, model=draw(st.sampled_from(["claude-sonnet-4-5", "claude-opus-4-5"]))
    )
    if draw(st.booleans()):
        # recorded usage: a noisy multiple of the estimate, so scaling is exercised
        plain = simulate(conv, counter=words, message_frame_tokens=0).requests
        factor = draw(st.floats(0.5, 3.0))
        usages: list[Usage | None] = [
            usage(max(1, round(p * factor) + draw(st.integers(0, 40))), max(1, o))
            for p, o in zip(plain["input_tokens"], plain["output_tokens"], strict=True)
        ]
        if messages[-1].role == "user":
            usages[-1] = None
        conv = conversation(messages, usages=usages, model=conv.model or "claude-sonnet-4-5")
    return conv


def run(conv: Conversation, **kw: Any) -> Simulation:
    return simulate(conv, counter=words, message_frame_tokens=0, **kw)


@st.composite
def clear_tool_uses(draw: st.DrawFn) -> dict[str, Any]:
    edit: dict[str, Any] = {
        "type": "clear_tool_uses_20250919",
        "trigger": draw(
            st.sampled_from(["input_tokens", "tool_uses"]).map(
                lambda kind: {"type": kind, "value": 1}
            )
        ),
        "keep": {"type": "tool_uses", "value": draw(st.integers(1, 4))},
    }
    edit["trigger"]["value"] = draw(
        st.integers(1, 3000) if edit["trigger"]["type"] == "input_tokens" else st.integers(1, 6)
    )
    if draw(st.booleans()):
        edit["clear_at_least"] = {"type": "input_tokens", "value": draw(st.integers(1, 500))}
    if draw(st.booleans()):
        edit["exclude_tools"] = draw(st.lists(st.sampled_from(TOOLS), max_size=2, unique=True))
    if draw(st.booleans()):
        edit["clear_tool_inputs"] = True
    return edit


@st.composite
def removing_policies(draw: st.DrawFn) -> dict[str, Any]:
    """Policies that only remove content (or replace it by placeholders or summaries)."""
    kind = draw(st.sampled_from(["clear", "sdk", "claude_code", "rolling", "on_demand"]))
    if kind == "clear":
        return {"context_management": {"edits": [draw(clear_tool_uses())]}}
    if kind == "sdk":
        threshold = draw(st.integers(100, 4000))
        return {
            "compaction_control": {"enabled": True, "context_token_threshold": threshold},
            "summary_tokens": draw(st.integers(0, 200)),
        }
    if kind == "claude_code":
        return {
            "claude_code_autocompact": {"reserve_tokens": draw(st.integers(0, 2000))},
            "context_window": 3000,
            "summary_tokens": draw(st.integers(0, 200)),
        }
    if kind == "rolling":
        return {"rolling_window": draw(st.integers(50, 3000))}
    return {"compact_at": (0,), "summary_tokens": draw(st.integers(0, 200))}


@PROPS
@given(conversations(), removing_policies())
def test_no_prompt_grows_except_by_placeholders_and_summaries(
    conv: Conversation, policy: dict[str, Any]
) -> None:
    base = run(conv).requests.set_index("request")
    sim = run(conv, **policy)
    for row in sim.requests.itertuples():
        allowed = base.at[row.recorded_request, "input_tokens"] + row.placeholder_tokens
        allowed += row.summary_tokens
        assert row.input_tokens <= allowed
    assert (sim.composition.sum(axis=1) == sim.requests["input_tokens"]).all()
    assert (sim.composition.to_numpy() >= 0).all()


@PROPS
@given(conversations(), st.data())
def test_inactive_policies_are_the_identity(conv: Conversation, data: st.DataObject) -> None:
    base = run(conv)
    most = int(base.requests["context_tokens"].max()) + 1
    policy = data.draw(
        st.sampled_from(
            [
                {
                    "context_management": {
                        "edits": [
                            {
                                "type": "clear_tool_uses_20250919",
                                "trigger": {"type": "input_tokens", "value": most},
                            }
                        ]
                    }
                },
                {"compaction_control": {"enabled": True, "context_token_threshold": most}},
                {"compaction_control": {"enabled": False}},
                {"rolling_window": most},
                # Claude Code decides on the previous prompt + output + characters / 4 of what
                # was added, a rough estimate that may exceed the prompt: a window twice the
                # largest context keeps it inactive
                {"claude_code_autocompact": {"reserve_tokens": 0}, "context_window": 2 * most},
                {"compact_at": ()},
            ]
        )
    )
    sim = run(conv, **policy)
    cols = ["input_tokens", "original_input_tokens", "output_tokens", "source", "cost_usd"]
    pd.testing.assert_frame_equal(sim.requests[cols], base.requests[cols])
    pd.testing.assert_frame_equal(sim.composition, base.composition)


def tool_ids(conv: Conversation) -> dict[tuple[int, int], str]:
    ids: dict[tuple[int, int], str] = {}
    for m, message in enumerate(conv.messages):
        for k, block in enumerate(message.content):
            if isinstance(block, ToolUseBlock):
                ids[(m, k)] = block.id
            elif isinstance(block, ToolResultBlock):
                ids[(m, k)] = block.tool_use_id
    return ids


@PROPS
@given(conversations(), removing_policies())
def test_no_orphaned_tool_result(conv: Conversation, policy: dict[str, Any]) -> None:
    sim = run(conv, **policy)
    ids = tool_ids(conv)
    for i in range(len(sim.requests)):
        view = sim.prompt_view(i).to_frame()
        sent = view[view["status"].isin(["kept", "cleared"])]
        uses = {
            ids[(m, b)]
            for m, b, t in zip(sent["message"], sent["block"], sent["type"], strict=False)
            if t == "tool_use"
        }
        results = {
            ids[(m, b)]
            for m, b, t in zip(sent["message"], sent["block"], sent["type"], strict=False)
            if t == "tool_result"
        }
        assert results <= uses


@PROPS
@given(conversations(), clear_tool_uses())
def test_last_keep_tool_uses_untouched(conv: Conversation, edit: dict[str, Any]) -> None:
    sim = run(conv, context_management={"edits": [edit]})
    keep = edit["keep"]["value"]
    ids = tool_ids(conv)
    for i in range(len(sim.requests)):
        view = sim.prompt_view(i).to_frame()
        sent = view[view["status"].isin(["kept", "cleared"])]
        calls = sent[sent["type"] == "tool_use"]
        recent = {
            ids[(m, b)]
            for m, b in list(zip(calls["message"], calls["block"], strict=False))[-keep:]
        }
        for m, b, status in zip(sent["message"], sent["block"], sent["status"], strict=False):
            if ids.get((m, b)) in recent:
                assert status == "kept"
        excluded = set(edit.get("exclude_tools", ()))
        for m, b, status in zip(sent["message"], sent["block"], sent["status"], strict=False):
            block = conv.messages[m].content[b]
            if isinstance(block, ToolUseBlock) and block.name in excluded:
                assert status == "kept"


@PROPS
@given(conversations(), st.one_of(st.just({}), removing_policies()))
def test_untouched_recorded_requests_keep_recorded_numbers(
    conv: Conversation, policy: dict[str, Any]
) -> None:
    sim = run(conv, **policy)
    for row in sim.requests.itertuples():
        req = conv.requests[row.recorded_request]
        if row.source == "recorded":
            assert req.usage is not None
            assert row.input_tokens == req.usage.prompt_tokens
            assert row.output_tokens == req.usage.output_tokens
    if not policy:
        assert (
            sim.requests["source"]
            == ["recorded" if r.usage else "estimated" for r in conv.requests]
        ).all()


@PROPS
@given(conversations(), st.one_of(st.just({}), removing_policies()))
def test_deterministic(conv: Conversation, policy: dict[str, Any]) -> None:
    a = run(conv, **policy)
    b = run(conv, **policy)
    pd.testing.assert_frame_equal(a.requests, b.requests)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.composition, b.composition)
