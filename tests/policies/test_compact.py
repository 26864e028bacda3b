"""Golden tests of server compaction compact_20260112 and on-demand compaction.

One token per word, no frame. u0 30,000 | a1 10 | u2 30,000 | a3 10 | u4 100 | a5 10.
Prompts as recorded: 30,000, 60,010, 60,120.
"""

from __future__ import annotations

from typing import Any

import pytest
from _sim_builders import assistant, conversation, user, w, words

from ctxviz.model import Conversation
from ctxviz.simulator import Simulation, simulate


def long_conversation(model: str = "claude-sonnet-4-6") -> Conversation:
    return conversation(
        [
            user(w(30_000)),
            assistant(w(10)),
            user(w(30_000)),
            assistant(w(10)),
            user(w(100)),
            assistant(w(10)),
        ],
        model=model,
    )


def run(conv: Conversation, edit: dict[str, Any] | None = None, **kw: Any) -> Simulation:
    cm = None if edit is None else {"edits": [{"type": "compact_20260112", **edit}]}
    return simulate(
        conv,
        context_management=cm,
        counter=words,
        message_frame_tokens=0,
        summary_tokens=500,
        **kw,
    )


def test_compaction_inside_the_crossing_request() -> None:
    s = run(long_conversation(), {"trigger": {"type": "input_tokens", "value": 50_000}})
    r = s.requests
    # request 1 crosses: its row is the call that saw the 500-token summary; request 2 sends the
    # summary back, then a3 (10) and u4 (100)
    assert r["input_tokens"].tolist() == [30_000, 500, 610]
    assert r["original_input_tokens"].tolist() == [30_000, 60_010, 610]
    assert r["compaction_input_tokens"].tolist() == [0, 60_010, 0]
    assert r["compaction_output_tokens"].tolist() == [0, 500, 0]
    assert r["output_tokens"].tolist() == [10, 10, 10]
    assert r["summary_tokens"].tolist() == [0, 500, 500]
    ev = s.events
    assert ev["type"].tolist() == ["compact_20260112"]
    assert ev["request"].tolist() == [1]
    assert ev["tokens_before"].tolist() == [60_010]
    assert ev["tokens_after"].tolist() == [500]
    assert ev["summary_tokens"].tolist() == [500]
    # compaction never appears in applied_edits
    assert s.applied_edits(1) == []
    # both iterations are billed on request 1 (Sonnet 4.6: $3 in / $15 out)
    assert r["compaction_cost_usd"].iat[1] == pytest.approx(60_010 * 3e-6 + 500 * 15e-6)


def test_default_trigger_150k_is_inactive_here() -> None:
    s = run(long_conversation(), {})
    assert s.requests["input_tokens"].tolist() == [30_000, 60_010, 60_120]


def test_trigger_below_50k_is_rejected() -> None:
    with pytest.raises(ValueError, match="50,000"):
        run(long_conversation(), {"trigger": {"type": "input_tokens", "value": 40_000}})


def test_pause_after_compaction_adds_a_row() -> None:
    s = run(
        long_conversation(),
        {"trigger": {"type": "input_tokens", "value": 50_000}, "pause_after_compaction": True},
    )
    r = s.requests
    assert r["recorded_request"].tolist() == [0, 1, 1, 2]
    assert r["input_tokens"].tolist() == [30_000, 60_010, 500, 610]
    assert r["output_tokens"].tolist() == [10, 500, 10, 10]
    assert r["stop_reason"].tolist()[1] == "compaction"


def test_on_demand_compaction() -> None:
    s = run(long_conversation(), compact_at=(1,))
    assert s.requests["input_tokens"].tolist() == [30_000, 500, 610]
    assert s.events["trigger"].tolist() == ["on_demand"]


def test_unsupported_model_warns_but_runs() -> None:
    s = run(
        long_conversation("claude-sonnet-4-5"),
        {"trigger": {"type": "input_tokens", "value": 50_000}},
    )
    assert s.requests["input_tokens"].tolist() == [30_000, 500, 610]
    assert any("compact_20260112" in x and "not supported" in x for x in s.warnings)


def test_summary_size_defaults_to_3000() -> None:
    s = simulate(
        long_conversation(),
        context_management={
            "edits": [
                {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50_000}}
            ]
        },
        counter=words,
        message_frame_tokens=0,
    )
    assert s.requests["input_tokens"].tolist() == [30_000, 3_000, 3_110]


def recorded_server_compaction() -> Conversation:
    """u0 100 | a1 [compaction "3 words", text 2] | u2 5 | a3 1, recorded: the compaction
    iteration read 100 tokens and wrote 3; request 0's row is the call on the summary (3 + the
    compaction block's wrapper, 90); request 1 reads the summary, its wrapper, 2 and 5."""
    import dataclasses

    from _sim_builders import usage

    from ctxviz.model import CompactionBlock, Iteration, RecordedCompaction

    conv = conversation(
        [user(w(100)), assistant(CompactionBlock(content=w(3)), w(2)), user(w(5)), assistant(w(1))],
        usages=[
            usage(
                93, 2, iterations=(Iteration(type="compaction", input_tokens=100, output_tokens=3),)
            ),
            usage(100, 1),
        ],
        model="claude-sonnet-4-6",
    )
    return dataclasses.replace(
        conv,
        compactions=(
            RecordedCompaction(
                kind="server",
                request=0,
                summary_message=1,
                trigger="input_tokens",
                pre_tokens=100,
                summary_tokens=3,
            ),
        ),
    )


def test_recorded_server_compaction_replayed() -> None:
    s = simulate(recorded_server_compaction(), counter=words, message_frame_tokens=0)
    r = s.requests
    assert r["input_tokens"].tolist() == [93, 100]
    assert r["source"].tolist() == ["recorded", "recorded"]
    assert r["compaction_input_tokens"].tolist() == [100, 0]
    assert r["compaction_output_tokens"].tolist() == [3, 0]
    ev = s.events
    assert ev["type"].tolist() == ["recorded_compaction"]
    assert ev["tokens_before"].tolist() == [100] and ev["tokens_after"].tolist() == [93]


def test_recorded_server_compaction_undone() -> None:
    s = simulate(
        recorded_server_compaction(),
        undo_recorded_compactions=True,
        counter=words,
        message_frame_tokens=0,
    )
    r = s.requests
    # request 0 is the prompt the compaction iteration read; request 1 continues the whole
    # history without the compaction block: 100 + 2 + 5
    assert r["input_tokens"].tolist() == [100, 107]
    assert r["source"].tolist() == ["estimated", "estimated"]
    assert r["prompt_start_message"].tolist() == [0, 0]
    assert len(s.events) == 0
