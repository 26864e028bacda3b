"""Golden tests of the rolling first-in first-out window (one token per word, no frame).

u0 100 | a1 10 | u2 100 | a3 10 | u4 100 | a5 10. Prompts as recorded: 100, 210, 320.
"""

from __future__ import annotations

import pytest
from _sim_builders import assistant, call, conversation, result, user, w, words

from ctxviz.model import Conversation
from ctxviz.simulator import simulate


def chat() -> Conversation:
    return conversation(
        [
            user(w(100)),
            assistant(w(10)),
            user(w(100)),
            assistant(w(10)),
            user(w(100)),
            assistant(w(10)),
        ]
    )


def test_drops_oldest_whole_messages_to_fit_a_budget() -> None:
    s = simulate(chat(), rolling_window=250, counter=words, message_frame_tokens=0)
    r = s.requests
    # request 2 (320 > 250) drops u0 and a1: 100 + 10 + 100 = 210
    assert r["input_tokens"].tolist() == [100, 210, 210]
    assert r["prompt_start_message"].tolist() == [0, 0, 2]
    ev = s.events
    assert ev["type"].tolist() == ["rolling_window"]
    assert ev["tokens_before"].tolist() == [320] and ev["tokens_after"].tolist() == [210]
    view = s.prompt_view(2).to_frame()
    assert view.loc[view["message"] < 2, "status"].unique().tolist() == ["dropped"]


def test_fits_the_window_with_the_output() -> None:
    # window 300: request 2 needs 320 + 10 > 300 -> drop to 210
    s = simulate(
        chat(), rolling_window=True, context_window=300, counter=words, message_frame_tokens=0
    )
    assert s.requests["input_tokens"].tolist() == [100, 210, 210]
    assert not s.requests["over_window"].any()


def test_never_orphans_a_tool_result() -> None:
    # one long tool loop: the only cut point is the turn's own start, so nothing is dropped and the
    # request is flagged over the window instead
    conv = conversation(
        [
            user(w(10)),
            assistant(call("t1")),
            user(result("t1", w(200))),
            assistant(call("t2")),
            user(result("t2", w(200))),
            assistant(w(1)),
        ]
    )
    s = simulate(
        conv, rolling_window=True, context_window=300, counter=words, message_frame_tokens=0
    )
    r = s.requests
    assert r["input_tokens"].tolist() == [10, 212, 414]
    assert r["over_window"].tolist() == [False, False, True]


def test_invalid_budget() -> None:
    with pytest.raises(ValueError, match="rolling_window"):
        simulate(chat(), rolling_window=-5)
