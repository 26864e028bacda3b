"""Preserved thinking in the replay (docs/semantics.md#preserved-thinking), on the real Claude
Code session of samples/04 (17 requests, thinking in 14 responses, turns opening at messages 0,
20, 26 and 34), replayed on a model with preserved thinking."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import ctxviz
from ctxviz.model import Conversation
from ctxviz.policies import preserved_thinking as pt
from ctxviz.policies.compact_on_demand import CompactOnDemand

_SESSION = "04_claude-code_ccl_v2.1.114_subagents/ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"


@pytest.fixture(scope="module")
def session(samples_dir: Path) -> Conversation:
    return ctxviz.load(samples_dir / _SESSION)


def _of(sim: ctxviz.Simulation, *kinds: str) -> list[int]:
    ev = sim.events
    return ev.loc[ev["type"].isin(kinds), "request"].tolist()


def test_a_rolling_window_invalidates_the_thinking_it_keeps(session: Conversation) -> None:
    # at request 13 the window drops turn 1: turn 2's messages 20-26 stay, with the thinking of
    # requests 10-12, produced before the cut: the prefix check fails for them from then on
    sim = ctxviz.simulate(
        session, model="claude-fable-5-1", rolling_window=60_000, thinking_prefix_mismatch="drop"
    )
    assert _of(sim, "rolling_window") == [13]
    assert _of(sim, pt.DROPPED_TYPE) == [13, 14, 15, 16]
    ev = sim.events[sim.events["type"] == pt.DROPPED_TYPE].set_index("request")
    saved = ev["tokens_before"] - ev["tokens_after"]
    assert (saved > 1_000).all()
    assert (ev["cleared_input_tokens"] == saved).all()
    rows = sim.requests.set_index("recorded_request")
    assert rows.loc[13, "input_tokens"] == ev.loc[13, "tokens_after"]
    # the thinking produced after the cut stays: request 16 carries some again
    assert rows.loc[16, "thinking_carried_tokens"] > 0
    # without the check the same replay keeps more thinking
    kept = ctxviz.simulate(session, model="claude-opus-5", rolling_window=60_000)
    assert not _of(kept, pt.DROPPED_TYPE, pt.REJECTED_TYPE)
    carried = kept.requests.set_index("recorded_request")["thinking_carried_tokens"]
    assert rows.loc[13, "thinking_carried_tokens"] < carried.loc[13] - 1_000


def test_reject_reports_the_400_and_goes_on_as_resent_with_drop(session: Conversation) -> None:
    drop = ctxviz.simulate(
        session, model="claude-fable-5-1", rolling_window=60_000, thinking_prefix_mismatch="drop"
    )
    reject = ctxviz.simulate(session, model="claude-fable-5-1", rolling_window=60_000)
    assert _of(reject, pt.REJECTED_TYPE) == [13, 14, 15, 16]
    rejected = reject.events[reject.events["type"] == pt.REJECTED_TYPE]
    assert set(rejected["trigger"]) == {"error"}
    assert "400" in rejected["detail"].iloc[0]
    assert reject.requests["input_tokens"].tolist() == drop.requests["input_tokens"].tolist()


def test_server_side_edits_and_on_demand_compaction_keep_thinking_valid(
    session: Conversation,
) -> None:
    edits = {
        "edits": [
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "input_tokens", "value": 40_000},
            }
        ]
    }
    cleared = ctxviz.simulate(session, model="claude-fable-5-1", context_management=edits)
    assert _of(cleared, "clear_tool_uses_20250919")
    assert not _of(cleared, pt.DROPPED_TYPE, pt.REJECTED_TYPE)
    on_demand = ctxviz.simulate(
        session,
        model="claude-fable-5-1",
        compaction=CompactOnDemand(at_prompt_tokens=50_000, keep_recent_turns=1),
    )
    assert _of(on_demand, "compaction_on_demand")
    assert not _of(on_demand, pt.DROPPED_TYPE, pt.REJECTED_TYPE)
    background = ctxviz.simulate(
        session,
        model="claude-fable-5-1",
        compaction=CompactOnDemand(at_prompt_tokens=50_000, keep_recent_turns=1, background=True),
    )
    assert background.events["trigger"].tolist() == ["background", "swap"]


def test_a_model_that_cannot_read_the_earlier_thinking_drops_it(session: Conversation) -> None:
    def switched(first: str, then: str) -> Conversation:
        requests = tuple(
            dataclasses.replace(r, model=first if r.index < 9 else then) for r in session.requests
        )
        return dataclasses.replace(session, requests=requests, model=first)

    edits = {
        "edits": [
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "input_tokens", "value": 40_000},
            }
        ]
    }
    # Opus 5.5 cannot read Fable 5.1's thinking: dropped without an error on the replayed requests
    down = ctxviz.simulate(
        switched("claude-fable-5-1", "claude-opus-5-5"), context_management=edits
    )
    assert _of(down, pt.UNREADABLE_TYPE) == list(range(9, 17))
    # Fable 5.1 reads Opus 5's: nothing dropped
    up = ctxviz.simulate(switched("claude-opus-5", "claude-fable-5-1"), context_management=edits)
    assert not _of(up, pt.UNREADABLE_TYPE)
    # replayed as recorded, the recorded usage stands
    assert not _of(
        ctxviz.simulate(switched("claude-fable-5-1", "claude-opus-5-5")), pt.UNREADABLE_TYPE
    )


def test_a_bad_behaviour_is_refused(session: Conversation) -> None:
    with pytest.raises(ValueError, match="thinking_prefix_mismatch"):
        ctxviz.simulate(session, thinking_prefix_mismatch="ignore")
