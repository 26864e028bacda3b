"""Golden tests of thinking stripping and clear_thinking_20251015 (one token per word, no frame).

Three turns:
  turn 0: u0 2 | a1 [thinking 5, call t1 = 2] | u2 [result 3] | a3 [thinking 4, text 1]
  turn 1: u4 2 | a5 [thinking 6, text 1]
  turn 2: u6 1 | a7 [thinking 3, text 1]
Requests: 0 = [u0], 1 = [..u2] (tool loop, turn 0), 2 = [..u4] (turn 1), 3 = [..u6] (turn 2).
With every turn's thinking: 2, 12, 19, 27. Without earlier turns' thinking: 2, 12, 10, 12.
"""

from __future__ import annotations

from typing import Any

import pytest
from _sim_builders import assistant, call, conversation, result, think, user, w, words

from ctxviz.model import Conversation
from ctxviz.simulator import Simulation, simulate


def three_turns(model: str = "claude-sonnet-4-5") -> Conversation:
    return conversation(
        [
            user(w(2)),
            assistant(think(w(5)), call("t1")),
            user(result("t1", w(3))),
            assistant(think(w(4)), w(1)),
            user(w(2)),
            assistant(think(w(6)), w(1)),
            user(w(1)),
            assistant(think(w(3)), w(1)),
        ],
        model=model,
    )


def run(conv: Conversation, keep: Any = None, **kw: Any) -> Simulation:
    edit: dict[str, Any] = {"type": "clear_thinking_20251015"}
    if keep is not None:
        edit["keep"] = keep
    return simulate(
        conv, context_management={"edits": [edit]}, counter=words, message_frame_tokens=0, **kw
    )


def test_default_strips_earlier_turns() -> None:
    r = simulate(three_turns(), counter=words, message_frame_tokens=0).requests
    assert r["input_tokens"].tolist() == [2, 12, 10, 12]
    assert r["thinking_stripped_tokens"].tolist() == [0, 0, 9, 15]


def test_keep_one_equals_the_default_and_reports_what_it_cleared() -> None:
    s = run(three_turns(), {"type": "thinking_turns", "value": 1})
    r = s.requests
    assert r["input_tokens"].tolist() == [2, 12, 10, 12]
    # before the edit the client's history holds every turn's thinking
    assert r["original_input_tokens"].tolist() == [2, 12, 19, 27]
    assert s.applied_edits(1) == []
    assert s.applied_edits(2) == [
        {"type": "clear_thinking_20251015", "cleared_thinking_turns": 1, "cleared_input_tokens": 9}
    ]
    assert s.applied_edits(3) == [
        {"type": "clear_thinking_20251015", "cleared_thinking_turns": 2, "cleared_input_tokens": 15}
    ]
    assert r["cleared_thinking_turns"].tolist() == [0, 0, 1, 2]


def test_default_keep_is_one_turn() -> None:
    s = run(three_turns())
    assert s.requests["input_tokens"].tolist() == [2, 12, 10, 12]


def test_keep_two_turns_counts_the_current_turn_as_the_first() -> None:
    s = run(three_turns(), {"type": "thinking_turns", "value": 2})
    # request 2 (turn 1) keeps turns 0-1: all 19; request 3 (turn 2) keeps turn 1 (6): 27 - 9
    assert s.requests["input_tokens"].tolist() == [2, 12, 19, 18]
    assert s.applied_edits(2) == []
    assert s.applied_edits(3)[0]["cleared_thinking_turns"] == 1


def test_keep_all() -> None:
    for keep in ("all", {"type": "all"}):
        s = run(three_turns(), keep)
        assert s.requests["input_tokens"].tolist() == [2, 12, 19, 27]
        assert len(s.events) == 0


def test_opus_4_5_preserves_by_default_and_the_edit_still_clears() -> None:
    conv = three_turns("claude-opus-4-5")
    r = simulate(conv, counter=words, message_frame_tokens=0).requests
    assert r["input_tokens"].tolist() == [2, 12, 19, 27]
    s = run(conv, {"type": "thinking_turns", "value": 1})
    assert s.requests["input_tokens"].tolist() == [2, 12, 10, 12]
    assert s.applied_edits(3)[0]["cleared_input_tokens"] == 15


def test_rejected_configurations_raise_value_error() -> None:
    conv = three_turns()
    with pytest.raises(ValueError, match="keep"):
        run(conv, {"type": "thinking_turns", "value": 0})
    with pytest.raises(ValueError, match="first"):
        simulate(
            conv,
            context_management={
                "edits": [{"type": "clear_tool_uses_20250919"}, {"type": "clear_thinking_20251015"}]
            },
        )
    with pytest.raises(ValueError, match="unknown edit type"):
        simulate(conv, context_management={"edits": [{"type": "clear_everything"}]})
    no_thinking = conversation([user(w(2)), assistant(w(1))])
    with pytest.raises(ValueError, match="thinking"):
        run(no_thinking)


def test_cache_breaks_where_thinking_is_stripped() -> None:
    # big enough to cache (Sonnet 4.5 minimum 1,024):
    # u0 1500 | a1 [thinking 500, call 2] | u2 [result 1500] | a3 1 | u4 1500 | a5 1
    conv = conversation(
        [
            user(w(1500)),
            assistant(think(w(500)), call("t1")),
            user(result("t1", w(1500))),
            assistant(w(1)),
            user(w(1500)),
            assistant(w(1)),
        ],
        model="claude-sonnet-4-5",
    )
    s = simulate(conv, counter=words, message_frame_tokens=0, thinking_preservation=True)
    assert s.requests["input_tokens"].tolist() == [1500, 3502, 5003]
    assert s.requests["cache_read_input_tokens"].tolist() == [0, 1500, 3502]
    s = simulate(conv, counter=words, message_frame_tokens=0)
    # the new turn strips a1's thinking: request 2 shares only u0 with request 1
    assert s.requests["input_tokens"].tolist() == [1500, 3502, 4503]
    assert s.requests["cache_read_input_tokens"].tolist() == [0, 1500, 1500]
    assert s.requests["cache_creation_input_tokens"].tolist() == [1500, 2002, 3003]
