"""Golden tests of the SDK's compaction_control (one token per word, no frame).

u0 400 | a1 call t1 (2) | u2 result 400 | a3 call t2 (2) | u4 result 400 | a5 text 5.
Prompts: 400, 802, 1,204; outputs (estimated) 2, 2, 5; SDK totals 402, 804, 1,209.
"""

from __future__ import annotations

from typing import Any

import pytest
from _sim_builders import assistant, call, conversation, result, usage, user, w, words

from ctxviz.model import Conversation, Iteration, Usage
from ctxviz.simulator import Simulation, simulate


def loop_conversation(usages: list[Usage | None] | None = None) -> Conversation:
    return conversation(
        [
            user(w(400)),
            assistant(call("t1")),
            user(result("t1", w(400))),
            assistant(call("t2")),
            user(result("t2", w(400))),
            assistant(w(5)),
        ],
        usages=usages,
    )


def run(conv: Conversation, threshold: int, **kw: Any) -> Simulation:
    return simulate(
        conv,
        compaction_control={"enabled": True, "context_token_threshold": threshold},
        counter=words,
        message_frame_tokens=0,
        summary_tokens=50,
        **kw,
    )


def test_crossing_response_is_discarded_and_reissued() -> None:
    s = run(loop_conversation(), 800)
    r = s.requests
    # after request 1: 802 + 2 = 804 >= 800 -> compaction; the response is re-issued on the
    # summary alone (50), then request 2 = 50 + a3 2 + u4 400 = 452
    assert r["recorded_request"].tolist() == [0, 1, 1, 2]
    assert r["input_tokens"].tolist() == [400, 802, 50, 452]
    assert r["output_tokens"].tolist() == [2, 2, 2, 5]
    assert r["compaction_control_total_tokens"].tolist() == [402, 804, 52, 457]
    assert r["compaction_input_tokens"].tolist() == [0, 0, 802, 0]
    assert r["compaction_output_tokens"].tolist() == [0, 0, 50, 0]
    ev = s.events
    assert ev["type"].tolist() == ["compaction_control"]
    assert ev["recorded_request"].tolist() == [1]
    assert ev["tokens_before"].tolist() == [804]  # the threshold total that fired it
    assert ev["tokens_after"].tolist() == [50]  # the next request's prompt
    assert ev["summary_tokens"].tolist() == [50]


def test_threshold_is_inclusive() -> None:
    assert run(loop_conversation(), 804).events["recorded_request"].tolist() == [1]
    assert run(loop_conversation(), 805).events["recorded_request"].tolist() == [2]


def test_final_end_turn_response_is_checked_too() -> None:
    s = run(loop_conversation(), 1_209)
    assert s.requests["recorded_request"].tolist() == [0, 1, 2, 2]
    assert s.events["recorded_request"].tolist() == [2]


def test_disabled_or_high_threshold_is_the_identity() -> None:
    base = simulate(loop_conversation(), counter=words, message_frame_tokens=0)
    for s in (
        run(loop_conversation(), 10_000),
        simulate(
            loop_conversation(),
            compaction_control={"enabled": False},
            counter=words,
            message_frame_tokens=0,
        ),
    ):
        assert s.requests["input_tokens"].tolist() == base.requests["input_tokens"].tolist()
        assert len(s.events) == 0


def server_tool_conversation() -> Conversation:
    # request 1's usage adds the cache reads of two internal web-search calls: 5,802 seen, while
    # the last message iteration (the real context) read 802
    inflated = Usage(
        input_tokens=802,
        cache_read_input_tokens=5_000,
        output_tokens=2,
        server_tool_use={"web_search_requests": 2},
        iterations=(
            Iteration(type="message", input_tokens=500, cache_read_input_tokens=4_500),
            Iteration(type="message", input_tokens=802, output_tokens=2),
        ),
    )
    return loop_conversation([usage(400, 2), inflated, usage(1_204, 5)])


def test_server_tool_pitfall_fires_early_with_the_sdk_formula() -> None:
    conv = server_tool_conversation()
    sdk = run(conv, 3_000)
    assert sdk.requests["input_tokens"].tolist()[:2] == [400, 5_802]
    assert sdk.events["recorded_request"].tolist() == [1]
    assert sdk.events["tokens_before"].tolist() == [5_804]
    real = run(conv, 3_000, compaction_control_totals="context")
    assert len(real.events) == 0
    assert real.requests["compaction_control_total_tokens"].tolist() == [402, 804, 1_209]


def test_invalid_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="enabled"):
        simulate(loop_conversation(), compaction_control={"context_token_threshold": 5})
    with pytest.raises(ValueError, match="context_token_threshold"):
        simulate(
            loop_conversation(),
            compaction_control={"enabled": True, "context_token_threshold": -1},
        )
