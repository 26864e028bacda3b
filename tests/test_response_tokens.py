"""A response's blocks are valued as the counter estimates them, not at the prompts' scale
(docs/semantics.md#thinking): the scale measures what Claude Code's prompts carry beyond the
file, and a response carries none of it. Only an OpenAI log's usage, in OpenAI's tokenizer, is
converted by the scale."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import ctxviz
from ctxviz.estimates import (
    KIND_REDACTED_THINKING,
    KIND_THINKING,
    ConversationTokens,
    conversation_tokens,
    omitted_thinking_tokens,
)
from ctxviz.model import Conversation, Message, ThinkingBlock
from ctxviz.models import load_model_table
from ctxviz.simulator import Simulation
from ctxviz.tokens import family_for_model

_SPOTTER = "02_claude-code_spotter_manualcompact/ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"
_THINKING = "03_claude-code_ccl_thinking_v2.0.37/cb2e607c-c758-415a-8b45-c49e4631906a.jsonl"
_OMITTED = "04_claude-code_ccl_v2.1.114_subagents/ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"
_OPENAI = "06_openai-chat-completions_pydantic-ai/test_openai_tool_output.yaml"


def _tokens(conv: Conversation, sim: Simulation) -> ConversationTokens:
    """The per-block estimates the replay used (its model, the bundled table, the default
    counter)."""
    model_id = str(sim.requests["model"].iloc[0])
    table = load_model_table()
    return conversation_tokens(
        conv, family=family_for_model(model_id), model=table.get(model_id), table=table
    )


def _split(ct: ConversationTokens, m: int) -> tuple[int, int, bool]:
    """Message ``m``'s estimated thinking and other blocks, and whether it holds thinking."""
    first, last = int(ct.message_block_start[m]), int(ct.message_block_start[m + 1])
    kinds = ct.block_kind[first:last]
    is_th = (kinds == KIND_THINKING) | (kinds == KIND_REDACTED_THINKING)
    sizes = ct.block_tokens[first:last]
    return int(sizes[is_th].sum()), int(sizes[~is_th].sum()), bool(is_th.any())


def _emptied(message: Message) -> Message:
    """The message with its thinking returned empty (``display: "omitted"``)."""
    content = tuple(
        dataclasses.replace(b, thinking="") if isinstance(b, ThinkingBlock) else b
        for b in message.content
    )
    return dataclasses.replace(message, content=content)


def test_thinking_is_output_minus_the_unscaled_visible_blocks(samples_dir: Path) -> None:
    """A real Claude Code 2.0.37 session with visible thinking (80 responses, scale 1.27): each
    response's thinking is its output minus its other blocks' estimate, the very size ctxviz
    gives the same thinking had it come back empty."""
    conv = ctxviz.load(samples_dir / _THINKING)
    sim = ctxviz.simulate(conv)
    assert sim.scale > 1.2  # the prompts carry much the file does not hold
    ct = _tokens(conv, sim)
    empty = dataclasses.replace(conv, messages=tuple(_emptied(m) for m in conv.messages))
    as_omitted = omitted_thinking_tokens(
        empty, ct.block_tokens.tolist(), ct.message_block_start.tolist()
    )
    thinking = sim.requests["thinking_tokens"].tolist()
    checked = 0
    for j, req in enumerate(conv.requests):
        m = req.response
        assert m is not None and req.usage is not None
        _, visible, has_thinking = _split(ct, m)
        if not has_thinking:
            continue
        assert thinking[j] == max(0, req.usage.output_tokens - visible)
        assert thinking[j] == as_omitted[m]
        checked += 1
    assert checked == 80


def test_reported_thinking_is_what_the_empty_block_weighs(samples_dir: Path) -> None:
    """Opus 4.7 returned its 14 thinking blocks empty: the thinking a request reports is the
    size its block is given (output minus the visible blocks), not another derivation of it."""
    conv = ctxviz.load(samples_dir / _OMITTED)
    sim = ctxviz.simulate(conv)
    assert sim.scale > 1.1
    ct = _tokens(conv, sim)
    thinking = sim.requests["thinking_tokens"].tolist()
    sizes = [
        (thinking[j], _split(ct, r.response)[0])
        for j, r in enumerate(conv.requests)
        if r.response is not None and _split(ct, r.response)[2]
    ]
    assert len(sizes) == 14
    assert all(reported == block for reported, block in sizes)
    # three Agent tool calls' prompts (over 1,024 parts each) are visible blocks sampled, not exact
    assert sum(block for _, block in sizes) == 9_489


def _without_usage(conv: Conversation, requests: set[int]) -> Conversation:
    return dataclasses.replace(
        conv,
        requests=tuple(
            dataclasses.replace(r, usage=None) if j in requests else r
            for j, r in enumerate(conv.requests)
        ),
    )


@pytest.mark.parametrize(("name", "thinking_responses"), [(_SPOTTER, 1), (_THINKING, 8)])
def test_a_response_without_usage_is_its_blocks_estimate(
    samples_dir: Path, name: str, thinking_responses: int
) -> None:
    """Usage deleted from every tenth request of a real session: its output is the estimate of
    the response's blocks and its thinking that of the thinking text, unscaled."""
    conv = ctxviz.load(samples_dir / name)
    dropped = set(range(5, len(conv.requests), 10))
    conv = _without_usage(conv, dropped)
    sim = ctxviz.simulate(conv)
    assert sim.scale > 1.2
    ct = _tokens(conv, sim)
    rows = sim.requests
    with_thinking = 0
    for j in sorted(dropped):
        m = conv.requests[j].response
        assert m is not None
        th, visible, has_thinking = _split(ct, m)
        assert rows["source"].iloc[j] == "estimated"
        assert rows["output_tokens"].iloc[j] == th + visible
        assert rows["thinking_tokens"].iloc[j] == th
        with_thinking += has_thinking
    assert with_thinking == thinking_responses


def test_an_openai_response_is_converted_by_the_scale(samples_dir: Path) -> None:
    """OpenAI's usage counts another tokenizer: there the scale converts a response's estimate
    into its units (scale 0.5 on this log)."""
    conv = ctxviz.load(samples_dir / _OPENAI)
    assert conv.format == "openai"
    conv = _without_usage(conv, {1})
    sim = ctxviz.simulate(conv)
    m = conv.requests[1].response
    assert m is not None
    th, visible, _ = _split(_tokens(conv, sim), m)
    assert not np.isclose(sim.scale, 1.0)
    assert sim.requests["output_tokens"].iloc[1] == round(sim.scale * (th + visible))
