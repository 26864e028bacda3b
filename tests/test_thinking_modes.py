"""Thinking modes (docs/semantics.md#thinking-modes): ``display: "omitted"`` thinking sized from
usage, ``between_tools``, and adaptive thinking that is always on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import _sim_builders as builders
import numpy as np
import pytest

import ctxviz
from ctxviz.estimates import KIND_THINKING, conversation_tokens
from ctxviz.model import Conversation, Request, ThinkingBlock, Usage
from ctxviz.models import load_model_table
from ctxviz.policies.thinking import thinking_on
from ctxviz.tokens import count_text

_SESSION = "04_claude-code_ccl_v2.1.114_subagents/ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"


@pytest.fixture(scope="module")
def opus47_session(samples_dir: Path) -> Conversation:
    """A real Claude Code session on Opus 4.7: its 14 thinking blocks came back empty."""
    return ctxviz.load(samples_dir / _SESSION)


def _thinking_blocks(conv: Conversation) -> list[tuple[int, ThinkingBlock]]:
    return [
        (m, b)
        for m, msg in enumerate(conv.messages)
        for b in msg.content
        if isinstance(b, ThinkingBlock)
    ]


def test_the_sample_really_has_omitted_thinking(opus47_session: Conversation) -> None:
    blocks = _thinking_blocks(opus47_session)
    assert len(blocks) == 14
    assert all(b.thinking == "" and b.signature for _, b in blocks)


def test_omitted_thinking_is_sized_from_the_responses_usage(
    opus47_session: Conversation,
) -> None:
    conv = opus47_session
    ct = conversation_tokens(conv, family="v4.7")
    is_thinking = ct.block_kind == KIND_THINKING
    assert is_thinking.sum() == 14
    assert ct.block_estimated[is_thinking].all()
    by_message = {r.response: r for r in conv.requests if r.response is not None}
    for m in np.unique(ct.block_message[is_thinking]):
        req = by_message[int(m)]
        assert req.usage is not None
        first, last = int(ct.message_block_start[m]), int(ct.message_block_start[m + 1])
        visible = sum(
            int(ct.block_tokens[b]) for b in range(first, last) if ct.block_kind[b] != KIND_THINKING
        )
        thinking = sum(
            int(ct.block_tokens[b]) for b in range(first, last) if ct.block_kind[b] == KIND_THINKING
        )
        assert thinking == max(0, req.usage.output_tokens - visible)
    # the first response: 2,201 output tokens, most of them thinking
    assert int(ct.block_tokens[is_thinking][0]) > 1_500


def test_omitted_thinking_is_carried_in_later_prompts(opus47_session: Conversation) -> None:
    """Opus 4.7 keeps earlier turns' thinking: the empty blocks still weigh in the prompt."""
    sim = ctxviz.simulate(opus47_session)
    carried = sim.requests["thinking_carried_tokens"]
    assert carried.iloc[0] == 0
    assert carried.iloc[-1] > 5_000


def test_omitted_thinking_without_usage_stays_zero_but_estimated(
    opus47_session: Conversation,
) -> None:
    conv = dataclasses.replace(
        opus47_session,
        requests=tuple(dataclasses.replace(r, usage=None) for r in opus47_session.requests),
    )
    ct = conversation_tokens(conv, family="v4.7")
    is_thinking = ct.block_kind == KIND_THINKING
    assert (ct.block_tokens[is_thinking] == 0).all()
    assert ct.block_estimated[is_thinking].all()


def test_visible_thinking_is_counted_from_its_text() -> None:
    conv = Conversation(
        format="anthropic",
        messages=(
            ctxviz.model.Message(role="user", content=(ctxviz.model.TextBlock(text="hi"),)),
            ctxviz.model.Message(
                role="assistant",
                content=(
                    ThinkingBlock(thinking="let me think about it", signature="s"),
                    ctxviz.model.TextBlock(text="hello"),
                ),
            ),
        ),
        requests=(
            Request(
                index=0,
                prompt_start=0,
                prompt_end=1,
                response=1,
                usage=Usage(input_tokens=10, output_tokens=500),
            ),
        ),
    )
    ct = conversation_tokens(conv, family="v3")
    assert int(ct.block_tokens[1]) == count_text("let me think about it", "v3")
    assert not ct.block_estimated.any()


def test_between_tools_turns_thinking_on() -> None:
    base = Conversation(
        format="anthropic",
        messages=(ctxviz.model.Message(role="user", content=(ctxviz.model.TextBlock(text="x"),)),),
        requests=(Request(index=0, prompt_start=0, prompt_end=1, response=None),),
    )
    assert not base.thinking_enabled
    between = dataclasses.replace(
        base,
        requests=(dataclasses.replace(base.requests[0], thinking={"type": "between_tools"}),),
    )
    assert between.thinking_enabled


def test_adaptive_always_on_models() -> None:
    table = load_model_table()
    empty = Conversation(format="anthropic", messages=(), requests=())
    for model_id in ("claude-opus-5-5", "claude-fable-5-1", "claude-fable-5-2"):
        info = table.get(model_id)
        assert info.thinking_always_on
        assert thinking_on(empty, info)
    for model_id in ("claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5"):
        assert not table.get(model_id).thinking_always_on
        assert not thinking_on(empty, table.get(model_id))
    assert "between_tools" in table.get("claude-sonnet-5-5").thinking_modes


def test_display_defaults() -> None:
    table = load_model_table()
    for model_id in ("claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-opus-5-5"):
        assert table.get(model_id).thinking_display_default == "omitted"
    for model_id in ("claude-opus-4-6", "claude-sonnet-4-6", "claude-sonnet-5-5"):
        assert table.get(model_id).thinking_display_default == "summarized"


def test_clear_thinking_is_accepted_on_a_model_that_always_thinks() -> None:
    """A transcript without thinking blocks replayed on Opus 5.5 (adaptive, always on): the
    API takes clear_thinking_20251015 there; on Opus 4.6 it would reject it."""
    conv = builders.conversation(
        [builders.user("hello"), builders.assistant("hi"), builders.user("again")]
    )
    edits = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    sim = ctxviz.simulate(conv, model="claude-opus-5-5", context_management=edits)
    assert len(sim.requests) == 2
    with pytest.raises(ValueError, match="needs extended thinking"):
        ctxviz.simulate(conv, model="claude-opus-4-6", context_management=edits)


def test_the_replay_says_the_omitted_thinking_is_estimated(opus47_session: Conversation) -> None:
    sim = ctxviz.simulate(opus47_session)
    assert any(w.startswith("14 thinking block(s) came back empty") for w in sim.warnings)
