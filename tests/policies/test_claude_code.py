"""Golden tests of Claude Code auto-compaction and recorded compactions (one token per word)."""

from __future__ import annotations

import dataclasses

from _sim_builders import assistant, call, conversation, result, usage, user, w, words

from ctxviz.model import Message, RecordedCompaction, Request, TextBlock
from ctxviz.simulator import simulate


def loop() -> list[Message]:
    # u0 400 | a1 call (2) | u2 result 400 | a3 call (2) | u4 result 400 | a5 5
    return [
        user(w(400)),
        assistant(call("t1")),
        user(result("t1", w(400))),
        assistant(call("t2")),
        user(result("t2", w(400))),
        assistant(w(5)),
    ]


def test_autocompact_near_window_minus_reserve() -> None:
    conv = conversation(loop(), fmt="claude-code")
    s = simulate(
        conv,
        claude_code_autocompact={"reserve_tokens": 200},
        context_window=1_000,
        counter=words,
        message_frame_tokens=0,
        summary_tokens=50,
    )
    r = s.requests
    # threshold 1,000 - 200 = 800: request 1's prompt (802) compacts first and is sent as the
    # summary alone; request 2 = 50 + a1? no: a3 (2) + u4 (400) after the summary
    assert r["input_tokens"].tolist() == [400, 50, 452]
    assert r["compaction_input_tokens"].tolist() == [0, 802, 0]
    ev = s.events
    assert ev["type"].tolist() == ["claude_code_autocompact"]
    assert ev["tokens_before"].tolist() == [802]
    assert ev["tokens_after"].tolist() == [50]
    assert ev["trigger"].tolist() == ["800"]


def test_default_reserve_is_33k_on_a_200k_window() -> None:
    conv = conversation(loop(), fmt="claude-code", model="claude-opus-4-6")
    s = simulate(conv, claude_code_autocompact=True, counter=words, message_frame_tokens=0)
    assert s.requests["context_window"].tolist() == [200_000] * 3
    assert len(s.events) == 0


def recorded_compaction() -> object:
    # u0 10 | a1 5 | [compact] u2 summary 3 | u3 4 | a4 2 ; request 1's prompt starts at u2
    messages = (
        user(w(10)),
        assistant(w(5)),
        Message(role="user", content=(TextBlock(text=w(3)),), is_compact_summary=True),
        user(w(4)),
        assistant(w(2)),
    )
    conv = conversation(messages, fmt="claude-code", usages=[usage(1_010, 5), usage(1_007, 2)])
    requests = (
        Request(index=0, prompt_start=0, prompt_end=1, response=1, usage=usage(1_010, 5)),
        Request(index=1, prompt_start=2, prompt_end=4, response=4, usage=usage(1_007, 2)),
    )
    return dataclasses.replace(
        conv,
        requests=requests,
        hidden_prefix=True,
        compactions=(
            RecordedCompaction(
                kind="claude_code", request=1, summary_message=2, trigger="manual", pre_tokens=1_015
            ),
        ),
    )


def test_recorded_compaction_replayed_as_recorded() -> None:
    s = simulate(recorded_compaction(), counter=words, message_frame_tokens=0)  # type: ignore[arg-type]
    r = s.requests
    assert r["input_tokens"].tolist() == [1_010, 1_007]
    assert r["source"].tolist() == ["recorded", "recorded"]
    ev = s.events
    assert ev["type"].tolist() == ["recorded_compaction"]
    assert ev["tokens_before"].tolist() == [1_015]
    assert ev["tokens_after"].tolist() == [1_007]
    assert s.composition["summary"].tolist() == [0, 3]


def test_recorded_compaction_undone() -> None:
    s = simulate(
        recorded_compaction(),  # type: ignore[arg-type]
        undo_recorded_compactions=True,
        counter=words,
        message_frame_tokens=0,
    )
    r = s.requests
    # hidden prefix 1,000; request 1 continues the history: u0 10 + a1 5 + u3 4 (no summary)
    assert r["input_tokens"].tolist() == [1_010, 1_019]
    assert r["source"].tolist() == ["recorded", "estimated"]
    assert len(s.events) == 0
    view = s.prompt_view(1).to_frame()
    assert 2 not in view.loc[view["tokens"] > 0, "message"].tolist()
