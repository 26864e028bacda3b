"""A server-tool response's recorded usage sums its internal calls: the window sees the largest."""

from __future__ import annotations

import json

import ctxviz


def _log(cache_read: int, iterations: list[int]) -> str:
    """One recorded call whose usage sums ``iterations`` (each a whole internal prompt)."""
    usage = {
        "input_tokens": 63_000,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cache_read,
        "output_tokens": 500,
        "server_tool_use": {"web_search_requests": len(iterations) - 1},
        "iterations": [
            {"type": "message", "input_tokens": p, "output_tokens": 100} for p in iterations
        ],
    }
    pair = {
        "request": {
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "search the web"}],
        },
        "response": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "done"}],
            "stop_reason": "end_turn",
            "usage": usage,
        },
    }
    return json.dumps([pair])


def test_summed_internal_calls_do_not_fake_a_window_overflow() -> None:
    # docs/semantics.md#server-tool-pitfall: 63,000 + cache_read 270,000 = 333,000; real ~63,000.
    sim = ctxviz.simulate(ctxviz.loads(_log(270_000, [63_000, 63_000, 63_000, 63_000, 63_000])))
    row = sim.requests.iloc[0]
    assert row["input_tokens"] == 333_000  # the recorded usage, to the token
    assert row["server_tool_extra_input_tokens"] == 333_000 - 63_000
    assert not row["over_window"]
    assert "context_window_exceeded" not in set(sim.events["type"])
    assert any("largest call saw 63,000" in w for w in sim.warnings)


def test_a_real_overflow_is_still_flagged() -> None:
    sim = ctxviz.simulate(ctxviz.loads(_log(150_000, [63_000, 213_000])))
    assert sim.requests.iloc[0]["server_tool_extra_input_tokens"] == 0
    assert list(sim.events["type"]) == ["context_window_exceeded"]
