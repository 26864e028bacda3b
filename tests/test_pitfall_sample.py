"""The bundled web-research sample shows the compaction_control pitfall of server tools.

With web search, one response's ``cache_read_input_tokens`` adds up the reads of its internal
model calls: the SDK's total (``compaction_control_totals="sdk"``) crosses the 100K threshold
while the real context (``"context"``: the last internal call's prompt) stays far below it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import ctxviz
from ctxviz.model import Conversation

SAMPLE = (
    Path(__file__).resolve().parents[1] / "sample_conversations" / "web_research_agent.jsonl.xz"
)
CONTROL = {"enabled": True, "context_token_threshold": 100_000}


@pytest.fixture(scope="module")
def conv() -> Conversation:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = ctxviz.load(SAMPLE)
    assert loaded.warnings == []
    return loaded


def test_loads_as_an_anthropic_log_with_server_tool_usage(conv: Conversation) -> None:
    assert 12 <= len(conv.requests) <= 20
    searched = [r for r in conv.requests if r.usage and r.usage.server_tool_use]
    assert len(searched) >= 10
    for r in searched:
        assert r.usage is not None
        assert len(r.usage.iterations) == r.usage.server_tool_use["web_search_requests"] + 1
        assert r.usage.prompt_tokens > r.usage.iterations[-1].prompt_tokens


def test_sdk_totals_compact_early(conv: Conversation) -> None:
    sim = ctxviz.simulate(conv, compaction_control=CONTROL)
    events = sim.events[sim.events["type"] == "compaction_control"]
    assert len(events) >= 1
    first = events.iloc[0]
    assert first["tokens_before"] >= 100_000
    j = int(first["recorded_request"])
    usage = conv.requests[j].usage
    assert usage is not None
    assert usage.iterations[-1].prompt_tokens < 50_000  # the real context was far below
    assert any("server tools" in w for w in sim.warnings)


def test_context_totals_do_not_compact(conv: Conversation) -> None:
    sim = ctxviz.simulate(conv, compaction_control=CONTROL, compaction_control_totals="context")
    assert not (sim.events["type"] == "compaction_control").any()
    totals = sim.requests["compaction_control_total_tokens"]
    assert 40_000 <= totals.max() < 100_000
    sdk = ctxviz.simulate(conv, compaction_control=CONTROL, compaction_control_totals="sdk")
    assert not any("cache_read_input_tokens add up" in w for w in sim.warnings)  # the pitfall
    assert (
        sdk.requests["compaction_control_total_tokens"].iloc[:7].tolist()
        != totals.iloc[:7].tolist()
    )
