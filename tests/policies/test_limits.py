"""Golden tests of windows, context_window_exceeded and context awareness."""

from __future__ import annotations

import dataclasses

import pytest
from _sim_builders import assistant, call, conversation, result, usage, user, w, words

from ctxviz.simulator import simulate


def chat(model: str = "claude-sonnet-4-5", max_tokens: int | None = None):  # type: ignore[no-untyped-def]
    return conversation(
        [
            user(w(100)),
            assistant(w(10)),
            user(w(100)),
            assistant(w(10)),
            user(w(100)),
            assistant(w(10)),
        ],
        model=model,
        max_tokens=max_tokens,
    )


def test_first_request_over_the_window_and_the_replay_goes_on() -> None:
    s = simulate(chat(), context_window=300, counter=words, message_frame_tokens=0)
    r = s.requests
    # 100 + 10, 210 + 10, 320 + 10 > 300
    assert r["over_window"].tolist() == [False, False, True]
    assert r["remaining_tokens"].tolist() == [200, 90, -20]
    ev = s.events
    assert ev["type"].tolist() == ["context_window_exceeded"]
    assert ev["request"].tolist() == [2]
    assert ev["trigger"].tolist() == ["input+output"]
    assert "model_context_window_exceeded" in ev["detail"].iat[0]  # Sonnet 4.5 accepts it
    assert len(r) == 3


def test_models_before_4_5_reject_input_plus_max_tokens_up_front() -> None:
    s = simulate(
        chat("claude-sonnet-4", max_tokens=100),
        context_window=300,
        counter=words,
        message_frame_tokens=0,
    )
    # request 1: 210 + max_tokens 100 > 300 -> refused up front
    assert s.requests["over_window"].tolist() == [False, True, True]
    ev = s.events
    assert ev["request"].tolist() == [1]
    assert ev["trigger"].tolist() == ["input+max_tokens"]
    assert "validation error" in ev["detail"].iat[0]


@pytest.mark.slow
def test_windows_per_model_and_beta() -> None:
    assert simulate(chat()).requests["context_window"].tolist() == [200_000] * 3
    beta = chat()
    beta = dataclasses.replace(
        beta,
        requests=tuple(
            dataclasses.replace(r, betas=("context-1m-2025-08-07",)) for r in beta.requests
        ),
    )
    assert simulate(beta).requests["context_window"].tolist() == [1_000_000] * 3
    assert simulate(chat("claude-opus-4-6")).requests["context_window"].tolist() == [1_000_000] * 3


def test_claude_code_sessions_replay_on_200k_unless_they_show_1m() -> None:
    # a native 1M model (Opus 4.6) runs on 1M; a 200K model (with a 1M beta) on 200K unless the
    # session shows 1M: a [1m] model name or a prompt above 200K
    native = dataclasses.replace(chat("claude-opus-4-6"), format="claude-code")
    assert simulate(native).requests["context_window"].tolist() == [1_000_000] * 3
    cc = dataclasses.replace(chat("claude-sonnet-4-5"), format="claude-code")
    assert simulate(cc).requests["context_window"].tolist() == [200_000] * 3
    one_m = dataclasses.replace(chat("claude-sonnet-4-5[1m]"), format="claude-code")
    assert simulate(one_m).requests["context_window"].tolist() == [1_000_000] * 3
    big = conversation(
        [user(w(10)), assistant(w(1))],
        model="claude-sonnet-4-5",
        fmt="claude-code",
        usages=[usage(250_000, 1)],
    )
    assert simulate(big).requests["context_window"].tolist() == [1_000_000]


def test_context_awareness_lines_after_a_tool_call() -> None:
    conv = conversation(
        [user(w(10)), assistant(call("t1")), user(result("t1", w(5))), assistant(w(1))],
        model="claude-sonnet-4-5",
    )
    s = simulate(conv, counter=words, message_frame_tokens=0)
    assert s.context_awareness(0) == ("<budget:token_budget>200000</budget:token_budget>",)
    assert s.context_awareness(1) == (
        "<budget:token_budget>200000</budget:token_budget>",
        "<system_warning>Token usage: 17/200000; 199983 remaining</system_warning>",
    )
    opus = simulate(dataclasses.replace(conv, model="claude-opus-4-1"), model="claude-opus-4-1")
    assert opus.context_awareness(1) == ()


def test_opus_4_6_claude_code_sessions_before_march_2026_ran_on_200k() -> None:
    # 1M became Opus/Sonnet 4.6's standard window on 2026-03-13 (native_1m_since); a session
    # that started before it ran on 200K unless it shows 1M, one that started on or after on 1M
    base = dataclasses.replace(chat("claude-opus-4-6"), format="claude-code")

    def started(day: str) -> list[int]:
        requests = tuple(
            dataclasses.replace(r, timestamp=f"{day}T23:30:00-02:00") for r in base.requests
        )
        conv = dataclasses.replace(base, requests=requests)
        return list(simulate(conv).requests["context_window"])

    assert started("2026-02-20") == [200_000] * 3
    assert started("2026-03-12") == [1_000_000] * 3  # 01:30 UTC on the 13th
    assert started("2026-04-01") == [1_000_000] * 3
    opus_4_5 = dataclasses.replace(chat("claude-opus-4-5"), format="claude-code")
    assert simulate(opus_4_5).requests["context_window"].tolist() == [200_000] * 3
