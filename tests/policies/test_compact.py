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


# ---- compaction on demand as the client's loop (compaction=CompactOnDemand(...)) ----------------


def on_demand(**kw: Any) -> Simulation:
    from ctxviz.policies.compact_on_demand import CompactOnDemand

    return run(long_conversation(), compaction=CompactOnDemand(**kw))


def test_on_demand_past_a_size_sends_the_new_message_after_the_block() -> None:
    s = on_demand(at_prompt_tokens=50_000)
    r = s.requests
    # request 1's prompt + output (60,010 + 10) passes 50,000: before request 2 the client sends
    # u0..a3 (60,020) for a 500-token block; request 2 is the block then u4 (100)
    assert r["input_tokens"].tolist() == [30_000, 60_010, 600]
    assert r["compaction_input_tokens"].tolist() == [0, 0, 60_020]
    assert r["compaction_output_tokens"].tolist() == [0, 0, 500]
    ev = s.events
    assert ev["type"].tolist() == ["compaction_on_demand"]
    assert ev["request"].tolist() == [2]
    assert (ev["tokens_before"].tolist(), ev["tokens_after"].tolist()) == ([60_120], [600])
    # the block's prefix is new: nothing after the system prompt is read from the cache
    assert r["cache_read_input_tokens"].tolist()[2] == 0


def test_on_demand_keeps_the_last_turn_verbatim() -> None:
    r = on_demand(at_prompt_tokens=50_000, keep_recent_turns=1).requests
    # the compaction request carries u0 a1 (30,010); u2 a3 stay after the block, then u4
    assert r["input_tokens"].tolist() == [30_000, 60_010, 30_610]
    assert r["compaction_input_tokens"].tolist() == [0, 0, 30_010]


def test_on_demand_in_the_background_swaps_one_request_later() -> None:
    s = on_demand(at_prompt_tokens=20_000, background=True)
    r = s.requests
    # sent before request 1 with u0 a1 (30,010); request 1 still runs on the full history; the
    # block replaces u0 a1 at request 2, followed by u2 a3 u4
    assert r["input_tokens"].tolist() == [30_000, 60_010, 30_610]
    assert r["compaction_input_tokens"].tolist() == [0, 30_010, 0]
    assert s.events["trigger"].tolist() == ["background", "swap"]
    assert s.events["request"].tolist() == [1, 2]


def test_on_demand_every_request_compacts_the_summary_again() -> None:
    r = on_demand(every_requests=1).requests
    # before 1: u0 a1 -> block, then u2; before 2: block + u2 a3 (30,510) -> new block, then u4
    assert r["input_tokens"].tolist() == [30_000, 30_500, 600]
    assert r["compaction_input_tokens"].tolist() == [0, 30_010, 30_510]


def test_on_demand_at_user_turns_and_chosen_requests() -> None:
    assert on_demand(at_user_turns=True).requests["input_tokens"].tolist() == [30_000, 30_500, 600]
    assert on_demand(at_requests=(2,)).requests["input_tokens"].tolist() == [30_000, 60_010, 600]


def test_on_demand_cannot_be_combined_with_threshold_compaction() -> None:
    from ctxviz.policies.compact_on_demand import CompactOnDemand

    with pytest.raises(ValueError, match="cannot be combined with compact_20260112"):
        run(
            long_conversation(),
            {"trigger": {"type": "input_tokens", "value": 50_000}},
            compaction=CompactOnDemand(every_requests=1),
        )


def test_on_demand_from_a_mapping_and_unsupported_model_warning() -> None:
    s = run(long_conversation("claude-haiku-4-5"), compaction={"every_requests": 1})
    assert s.requests["input_tokens"].tolist() == [30_000, 30_500, 600]
    assert any("compaction on demand is not supported" in w for w in s.warnings)
    with pytest.raises(ValueError, match="say when to compact"):
        run(long_conversation(), compaction={"keep_recent_turns": 1})
    with pytest.raises(ValueError, match="unknown field"):
        run(long_conversation(), compaction={"every": 1})


def test_on_demand_counts_once_in_the_compare_table() -> None:
    from ctxviz import figures

    table = figures.compare_table(
        {
            "bg": on_demand(at_prompt_tokens=20_000, background=True),
            "now": on_demand(every_requests=2),
        }
    )
    assert table["compactions"].tolist() == [1, 1]
