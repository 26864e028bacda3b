"""Golden tests of Claude Code auto-compaction and recorded compactions (one token per word)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from _sim_builders import assistant, conversation, usage, user, w, words

from ctxviz import load
from ctxviz.model import (
    Conversation,
    Message,
    RecordedCompaction,
    RecordedMicrocompaction,
    Request,
    TextBlock,
)
from ctxviz.policies.claude_code import ClaudeCodeAutocompact, from_arg, to_settings
from ctxviz.simulator import simulate

LONG_WORDS = w(25, "abcdefghijklmnop")
"""25 words (25 tokens by the word counter) of 424 characters: 106 tokens by characters / 4."""


def turns(
    first: str = LONG_WORDS, first_tokens: int = 25, output_recorded: int = 1
) -> Conversation:
    """Three recorded requests on a 1,000-token hidden prefix (word counter, scale 1).

    u0 400 | a1 ``first`` | u2 400 | a3 100 | u4 400 | a5 5. Characters: a text of n one-letter
    words has 2n - 1 (w(400): 799 -> 200 tokens by characters / 4). Request 0's recorded
    ``output_tokens`` is a streaming placeholder (1) by default.
    """
    messages = [user(w(400)), assistant(first), user(w(400)), assistant(w(100))]
    messages += [user(w(400)), assistant(w(5))]
    second = 1_800 + first_tokens
    conv = conversation(
        messages,
        fmt="claude-code",
        model="claude-opus-4-6",
        usages=[usage(1_400, output_recorded), usage(second, 100), usage(second + 500, 5)],
    )
    return dataclasses.replace(conv, hidden_prefix=True)


COMMON = {
    "context_window": 2_000,
    "counter": words,
    "message_frame_tokens": 0,
    "summary_tokens": 50,
}


def test_decides_on_the_previous_response_plus_characters_over_4() -> None:
    # before request 1: 1,400 (request 0's prompt) + max(1 recorded, 106 by characters / 4) +
    # 200 (u2) = 1,706, although the prompt about to be sent is 1,825; before request 2:
    # 1,825 + max(100, 50) + 200 = 2,125
    fires_at_1 = simulate(turns(), claude_code_autocompact={"reserve_tokens": 294}, **COMMON)
    ev = fires_at_1.events
    assert ev["type"].tolist() == ["claude_code_autocompact"]
    assert ev["request"].tolist() == [1]
    assert ev["tokens_before"].tolist() == [1_706]
    assert ev["trigger"].tolist() == ["1706"]
    r = fires_at_1.requests
    # request 1 is sent as the hidden prefix + a 50-token summary; the summary call read 1,825;
    # request 2 decides on 1,050 + 100 + 200 = 1,350 (no second compaction) and sends
    # 1,000 + 50 + a3 100 + u4 400
    assert r["input_tokens"].tolist() == [1_400, 1_050, 1_550]
    assert r["compaction_input_tokens"].tolist() == [0, 1_825, 0]
    assert ev["tokens_after"].tolist() == [1_050]

    later = simulate(turns(), claude_code_autocompact={"reserve_tokens": 293}, **COMMON)
    # threshold 1,707: request 1 goes out uncompacted at 1,825, above it; request 2 compacts
    assert later.events["request"].tolist() == [2]
    assert later.events["tokens_before"].tolist() == [2_125]
    assert later.requests["input_tokens"].tolist() == [1_400, 1_825, 1_050]


@pytest.mark.parametrize(
    ("first", "first_tokens", "recorded", "expected"),
    [
        (LONG_WORDS, 25, 1, 1_400 + 106 + 200),  # characters / 4 of the response
        (w(100), 100, 1, 1_400 + 50 + 200),  # characters / 4, not the counter's 100
        (w(100), 100, 120, 1_400 + 120 + 200),  # the recorded output
    ],
)
def test_the_output_counted_is_the_larger_of_recorded_and_characters_over_4(
    first: str, first_tokens: int, recorded: int, expected: int
) -> None:
    s = simulate(
        turns(first, first_tokens, recorded),
        claude_code_autocompact={"reserve_tokens": 2_000 - expected},
        **COMMON,
    )
    assert s.events["request"].tolist() == [1]
    assert s.events["tokens_before"].tolist() == [expected]


def test_default_threshold_is_window_minus_output_reserve_minus_13k() -> None:
    cfg = ClaudeCodeAutocompact()
    assert cfg.threshold(window_tokens=200_000, max_output_tokens=128_000) == 167_000
    assert cfg.threshold(window_tokens=1_000_000, max_output_tokens=128_000) == 967_000
    assert cfg.threshold(window_tokens=200_000, max_output_tokens=8_192) == 178_808


def test_overrides_pct_only_lowers_and_window_is_capped() -> None:
    pct = from_arg({"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "50"})
    assert pct is not None
    # 50% of the effective window (200,000 - 20,000)
    assert pct.threshold(window_tokens=200_000, max_output_tokens=64_000) == 90_000
    high = from_arg({"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": 95})
    assert high is not None
    assert high.threshold(window_tokens=200_000, max_output_tokens=64_000) == 167_000
    window = from_arg({"autoCompactWindow": 400_000})
    assert window is not None
    assert window.threshold(window_tokens=1_000_000, max_output_tokens=128_000) == 367_000
    assert window.threshold(window_tokens=200_000, max_output_tokens=128_000) == 167_000
    both = from_arg({"autoCompactWindow": 500_000, "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "300000"})
    assert both == ClaudeCodeAutocompact(window_tokens=300_000)
    assert from_arg({"DISABLE_AUTO_COMPACT": "1"}) is None
    assert from_arg({"DISABLE_AUTO_COMPACT": False}) == ClaudeCodeAutocompact()
    assert from_arg(True) == ClaudeCodeAutocompact()
    assert from_arg(to_settings(window)) == window


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ({"autoCompactWindow": 50_000}, "100,000 to 1,000,000"),
        ({"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": 0}, "0 < pct <= 100"),
        ({"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "half"}, "expected a number"),
        ({"DISABLE_AUTO_COMPACT": "maybe"}, "true or false"),
        ({"reserve": 1}, "unknown key 'reserve'"),
    ],
)
def test_bad_settings_are_named(arg: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate(turns(), claude_code_autocompact=arg)


def test_disabled_never_compacts() -> None:
    common: dict[str, object] = {
        "context_window": 3_000,
        "counter": words,
        "message_frame_tokens": 0,
        "summary_tokens": 50,
    }
    on = simulate(turns(), claude_code_autocompact={"reserve_tokens": 1_500}, **common)
    assert on.events["type"].tolist() == ["claude_code_autocompact"]
    off = simulate(
        turns(),
        claude_code_autocompact={"DISABLE_AUTO_COMPACT": True, "reserve_tokens": 1_500},
        **common,
    )
    assert len(off.events) == 0


def test_windows_of_claude_code_sessions() -> None:
    # a native 1M model runs on 1M without a [1m] suffix; an auto-compaction recorded below 200K
    # shows a 200K window; a 200K model stays on 200K
    native = simulate(turns(), counter=words, message_frame_tokens=0)
    assert native.requests["context_window"].tolist() == [1_000_000] * 3
    compacted = dataclasses.replace(
        turns(),
        compactions=(
            RecordedCompaction(
                kind="claude_code", request=2, summary_message=4, trigger="auto", pre_tokens=167_500
            ),
        ),
    )
    s = simulate(compacted, counter=words, message_frame_tokens=0)
    assert s.requests["context_window"].tolist() == [200_000] * 3
    old = dataclasses.replace(
        turns(),
        requests=tuple(dataclasses.replace(r, model="claude-opus-4-5") for r in turns().requests),
    )
    assert simulate(old).requests["context_window"].tolist() == [200_000] * 3


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


def reinjected_session() -> Conversation:
    """An auto-compacted session whose post-compaction prompt holds 300 re-injected tokens.

    u0 400 | a1 100 | u2 400 | a3 100 | [compact] summary 50 | u5 20 | a6 10 | u7 30 | a8 5, on a
    1,000-token hidden prefix. Requests 0 and 1 before the compaction (1,400 and 1,900 recorded),
    2 and 3 after it: 1,000 + 50 + 20 + 300 re-injected = 1,370, then 1,370 + 10 + 30 = 1,410.
    Claude Code's estimate before request 2, as ctxviz rebuilds it: 1,900 + 100 + 10 (u5: 39
    characters / 4) = 2,010; as recorded (``preTokens``, before u5 was added): 2,003.
    """
    messages = (
        user(w(400)),
        assistant(w(100)),
        user(w(400)),
        assistant(w(100)),
        Message(role="user", content=(TextBlock(text=w(50)),), is_compact_summary=True),
        user(w(20)),
        assistant(w(10)),
        user(w(30)),
        assistant(w(5)),
    )
    usages = (usage(1_400, 1), usage(1_900, 100), usage(1_370, 10), usage(1_410, 5))
    spans = ((0, 1, 1), (0, 3, 3), (4, 6, 6), (4, 8, 8))
    requests = tuple(
        Request(index=i, prompt_start=s, prompt_end=e, response=r, usage=u, model="claude-opus-4-6")
        for i, ((s, e, r), u) in enumerate(zip(spans, usages, strict=True))
    )
    return Conversation(
        format="claude-code",
        messages=messages,
        requests=requests,
        model="claude-opus-4-6",
        hidden_prefix=True,
        compactions=(
            RecordedCompaction(
                kind="claude_code",
                request=2,
                summary_message=4,
                trigger="auto",
                pre_tokens=2_003,
            ),
        ),
        microcompactions=(
            RecordedMicrocompaction(request=3, tool_use_ids=("t1", "t2"), source="line 9"),
        ),
    )


EXACT = {"counter": words, "message_frame_tokens": 0}


def test_reinjected_context_is_its_own_category() -> None:
    s = simulate(reinjected_session(), **EXACT)
    assert s.requests["input_tokens"].tolist() == [1_400, 1_900, 1_370, 1_410]
    assert s.scale == 1.0  # fit on the prompts before the compaction
    assert s.composition["reinjected"].tolist() == [0, 0, 300, 300]
    assert s.composition["summary"].tolist() == [0, 0, 50, 50]
    assert s.composition["hidden_prefix"].tolist() == [1_000] * 4
    view = s.prompt_view(2).to_frame()
    assert view.loc[view["type"] == "reinjected", "tokens"].tolist() == [300]


def test_undo_estimates_from_the_last_prompt_before_the_compaction() -> None:
    s = simulate(reinjected_session(), undo_recorded_compactions=True, **EXACT)
    # request 2: 1,900 + a3 100 + u5 20 (never 1,370 - 50 + 1,000: the re-injected 300 are gone)
    assert s.requests["input_tokens"].tolist() == [1_400, 1_900, 2_020, 2_060]
    assert s.requests["source"].tolist() == ["recorded", "recorded", "estimated", "estimated"]
    assert s.composition["reinjected"].tolist() == [0, 0, 0, 0]


def test_autocompact_after_undo_fires_at_the_recorded_request_with_pre_tokens() -> None:
    s = simulate(
        reinjected_session(),
        undo_recorded_compactions=True,
        claude_code_autocompact={"reserve_tokens": 990},
        context_window=3_000,
        summary_tokens=50,
        **EXACT,
    )
    ev = s.events
    assert ev["type"].tolist() == ["claude_code_autocompact"]
    assert ev["request"].tolist() == [2]
    # reached as recorded: preTokens 2,003 + u5 (10), added after the recorded summary
    assert ev["tokens_before"].tolist() == [2_013]
    assert "preTokens 2,003" in ev["detail"].iloc[0]
    # the summary alone: 1,000 + 50; request 3 adds a6 10 + u7 30
    assert s.requests["input_tokens"].tolist() == [1_400, 1_900, 1_050, 1_090]
    assert ev["tokens_after"].tolist() == [1_050]


def test_without_pre_tokens_the_estimate_is_rebuilt() -> None:
    conv = reinjected_session()
    conv = dataclasses.replace(
        conv, compactions=(dataclasses.replace(conv.compactions[0], pre_tokens=None),)
    )
    s = simulate(
        conv,
        undo_recorded_compactions=True,
        claude_code_autocompact={"reserve_tokens": 990},
        context_window=3_000,
        summary_tokens=50,
        **EXACT,
    )
    assert s.events["tokens_before"].tolist() == [2_010]


def preserved_session() -> Conversation:
    """``reinjected_session`` whose compaction kept u2 and a3 verbatim (``preservedSegment``): the
    loader copies them after the summary (messages 5 and 6, the same records met again).

    u0 400 | a1 100 | u2 400 | a3 100 | summary 50 | u2 | a3 | u5 20 | a6 10 | u7 30 | a8 5;
    request 2's recorded prompt: 1,000 + 50 + 400 + 100 + 20 + 300 re-injected = 1,870.
    """
    base = reinjected_session()
    m = base.messages
    u2 = dataclasses.replace(m[2], source="line 3")
    a3 = dataclasses.replace(m[3], source="line 4")
    messages = (m[0], m[1], u2, a3, m[4], u2, a3, *m[5:])
    usages = (usage(1_400, 1), usage(1_900, 100), usage(1_870, 10), usage(1_910, 5))
    spans = ((0, 1, 1), (0, 3, 3), (4, 8, 8), (4, 10, 10))
    requests = tuple(
        Request(index=i, prompt_start=s, prompt_end=e, response=r, usage=u, model="claude-opus-4-6")
        for i, ((s, e, r), u) in enumerate(zip(spans, usages, strict=True))
    )
    compaction = dataclasses.replace(base.compactions[0], preserved_messages=(5, 7))
    return dataclasses.replace(
        base, messages=messages, requests=requests, compactions=(compaction,), microcompactions=()
    )


def test_preserved_copies_as_recorded_and_undone() -> None:
    recorded = simulate(preserved_session(), **EXACT)
    assert recorded.composition["reinjected"].tolist() == [0, 0, 300, 300]
    undone = simulate(preserved_session(), undo_recorded_compactions=True, **EXACT)
    # the copies are undone with the summary: the history holds u2 and a3 once
    assert undone.requests["input_tokens"].tolist() == [1_400, 1_900, 2_020, 2_060]


def test_preserved_segment_is_kept_by_the_what_if_compaction() -> None:
    s = simulate(
        preserved_session(),
        undo_recorded_compactions=True,
        claude_code_autocompact={"reserve_tokens": 990},
        context_window=3_000,
        summary_tokens=50,
        **EXACT,
    )
    # request 2: 1,000 + summary 50 + u2 400 + a3 100 (kept verbatim) + u5 20
    assert s.requests["input_tokens"].tolist() == [1_400, 1_900, 1_570, 1_610]
    assert s.events["tokens_after"].tolist() == [1_570]
    assert s.requests["prompt_start_message"].tolist() == [0, 0, 2, 2]


def test_microcompact_is_an_event_of_its_own() -> None:
    ev = simulate(reinjected_session(), **EXACT).events
    micro = ev[ev["type"] == "claude_code_microcompact"]
    assert micro["request"].tolist() == [3]
    assert micro["cleared_tool_uses"].tolist() == [2]
    assert "line 9" in micro["detail"].iloc[0]
    assert ev["type"].tolist() == ["recorded_compaction", "claude_code_microcompact"]


SPOTTER = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "samples"
    / "02_claude-code_spotter_manualcompact"
    / "ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"
)
needs_spotter = pytest.mark.skipif(not SPOTTER.is_file(), reason=f"{SPOTTER} not found")


@needs_spotter
def test_spotter_as_recorded_reinjected_context() -> None:
    conv = load(SPOTTER)
    s = simulate(conv)
    r = s.requests
    ev = s.events[s.events["type"] == "recorded_compaction"]
    assert ev["request"].tolist() == [138]
    assert ev["tokens_before"].tolist() == [142_431]
    assert r["input_tokens"].iloc[137:139].tolist() == [141_787, 45_263]
    reinjected = s.composition["reinjected"]
    assert (reinjected.iloc[:138] == 0).all()
    # 45,263 = hidden prefix + summary + the /compact command's messages + re-injected context
    assert 5_000 < reinjected.iloc[138] < 20_000
    assert (reinjected.iloc[138:] == reinjected.iloc[138]).all()
    assert (s.composition.sum(axis=1) == r["input_tokens"]).all()


@needs_spotter
def test_spotter_undo_continues_from_the_last_prompt_before() -> None:
    conv = load(SPOTTER)
    # without message frames, the Inspector's block sizes add up to the prompt
    s = simulate(conv, undo_recorded_compactions=True, message_frame_tokens=0)
    r = s.requests
    assert r["input_tokens"].iloc[137] == 141_787
    # request 138 undone: 141,787 + what its history holds beyond request 137's prompt (the
    # response, message 275; after the boundary, message 277: the /compact command and its
    # output), as the Inspector sizes them
    grown = (
        s.prompt_view(138).to_frame()["tokens"].sum()
        - s.prompt_view(137).to_frame()["tokens"].sum()
    )
    assert abs(int(r["input_tokens"].iloc[138]) - (141_787 + int(grown))) <= 5
    # the old estimate (the post-compaction prompt minus the summary plus the old messages) also
    # counted the re-injected context: more than 10K tokens higher
    assert r["input_tokens"].iloc[138] < 141_787 + 4_000


@needs_spotter
def test_spotter_autocompact_fires_at_the_recorded_request() -> None:
    conv = load(SPOTTER)
    s = simulate(
        conv,
        undo_recorded_compactions=True,
        claude_code_autocompact={"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": 79.5},
        context_window=200_000,
    )
    ev = s.events[s.events["type"] == "claude_code_autocompact"]
    # threshold floor(180,000 x 79.5%) = 143,100; request 138 is reached as recorded: Claude
    # Code's own estimate there, preTokens 142,431, + 4,824 characters / 4 = 1,206 (message 277,
    # the /compact command and its output, written after the recorded summary)
    assert ev["request"].iloc[0] == 138
    assert ev["trigger"].iloc[0] == "143100"
    assert ev["tokens_before"].iloc[0] == 142_431 + 1_206
    # rebuilt: request 137's prompt 141,787 + max(1 recorded, 1,605 characters / 4 = 401) +
    # 1,206 = 143,394, within 1% of preTokens
    rebuilt = simulate(
        dataclasses.replace(
            conv, compactions=(dataclasses.replace(conv.compactions[0], pre_tokens=None),)
        ),
        undo_recorded_compactions=True,
        claude_code_autocompact={"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": 79.5},
        context_window=200_000,
    ).events
    assert rebuilt["request"].iloc[0] == 138
    assert rebuilt["tokens_before"].iloc[0] == 143_394
    assert abs(143_394 - 142_431) / 142_431 < 0.01


def test_firing_where_the_recording_compacted_rejoins_the_recording() -> None:
    # no summary size given: at the recorded compaction's request the what-if goes on as
    # recorded (its summary, preserved copies and re-injected context)
    s = simulate(
        preserved_session(),
        undo_recorded_compactions=True,
        claude_code_autocompact={"reserve_tokens": 990},
        context_window=3_000,
        **EXACT,
    )
    ev = s.events
    assert ev["type"].tolist() == ["claude_code_autocompact"]
    assert ev["request"].tolist() == [2]
    assert ev["tokens_before"].tolist() == [2_013]
    assert ev["tokens_after"].tolist() == [1_870]
    assert ev["summary_tokens"].tolist() == [50]
    r = s.requests
    assert r["input_tokens"].tolist() == [1_400, 1_900, 1_870, 1_910]
    assert r["source"].tolist() == ["recorded"] * 4
    assert r["compaction_input_tokens"].tolist() == [0, 0, 2_020, 0]
    # the composition is the recorded one: summary, the copies, re-injected context
    c = s.composition
    assert c["summary"].tolist() == [0, 0, 50, 50]
    assert c["reinjected"].tolist() == [0, 0, 300, 300]
    assert (c.sum(axis=1) == r["input_tokens"]).all()


def test_two_compactions_each_fire_where_recorded() -> None:
    # the session goes on (u9 400 | a10 5: request 4, 1,370 + 10 + 30 + 5 + 400 = 1,815) and
    # compacts again (preTokens 1,820) before request 5, whose prompt restarts at a second summary
    # (1,250 recorded); after undoing both, the what-if fires at requests 2 and 5, each rejoining
    # the recording
    base = reinjected_session()
    second = Message(role="user", content=(TextBlock(text=w(40)),), is_compact_summary=True)
    messages = (*base.messages, user(w(400)), assistant(w(5)), second, user(w(10)), assistant(w(3)))
    more = tuple(
        Request(index=i, prompt_start=s, prompt_end=e, response=e, usage=u, model="claude-opus-4-6")
        for i, s, e, u in ((4, 4, 10, usage(1_815, 5)), (5, 11, 13, usage(1_250, 3)))
    )
    compactions = (
        base.compactions[0],
        RecordedCompaction(
            kind="claude_code", request=5, summary_message=11, trigger="auto", pre_tokens=1_820
        ),
    )
    conv = dataclasses.replace(
        base,
        messages=messages,
        requests=(*base.requests, *more),
        compactions=compactions,
        microcompactions=(),
    )
    s = simulate(
        conv,
        undo_recorded_compactions=True,
        claude_code_autocompact={"reserve_tokens": 1_200},  # threshold 1,800
        context_window=3_000,
        **EXACT,
    )
    ev = s.events
    # before 1: 1,650; 2: 2,013 (fires); 3: 1,370 + 10 + 15 = 1,395; 4: 1,410 + 5 + 200 = 1,615;
    # 5: preTokens 1,820 + u12 (19 characters / 4 = 5) = 1,825 (fires)
    assert ev["request"].tolist() == [2, 5]
    assert ev["tokens_before"].tolist() == [2_013, 1_825]
    assert s.requests["input_tokens"].tolist() == [1_400, 1_900, 1_370, 1_410, 1_815, 1_250]
    assert s.requests["source"].tolist() == ["recorded"] * 6
