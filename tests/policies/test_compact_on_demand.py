"""Compaction on demand (docs/semantics.md#compaction-on-demand): the schedule, the kept turns,
the background swap, and the parameter as the API takes it."""

from __future__ import annotations

import pytest

from ctxviz.policies import compact_on_demand as cod


def _fires(cfg: cod.CompactOnDemand, **kw: object) -> bool:
    args: dict[str, object] = {
        "request": 5,
        "requests_since": 1,
        "opens_turn": False,
        "conversation_tokens": 1_000,
    }
    args.update(kw)
    return cfg.fires(**args)  # type: ignore[arg-type]


def test_chosen_requests() -> None:
    cfg = cod.CompactOnDemand(at_requests=(3, 7))
    assert _fires(cfg, request=3) and _fires(cfg, request=7)
    assert not _fires(cfg, request=4)
    assert cfg.to_api() == {"type": "summarize"}


def test_every_n_requests_counts_since_the_last_compaction() -> None:
    cfg = cod.CompactOnDemand(every_requests=4)
    assert not _fires(cfg, requests_since=3)
    assert _fires(cfg, requests_since=4)
    assert not _fires(cfg, request=0, requests_since=10)


def test_at_each_user_turn_but_not_the_first_request() -> None:
    cfg = cod.CompactOnDemand(at_user_turns=True)
    assert _fires(cfg, opens_turn=True)
    assert not _fires(cfg, opens_turn=False)
    assert not _fires(cfg, request=0, opens_turn=True)


def test_at_prompt_tokens_is_strictly_above_like_the_documented_loop() -> None:
    cfg = cod.CompactOnDemand(at_prompt_tokens=2_500)
    assert not _fires(cfg, conversation_tokens=2_500)
    assert _fires(cfg, conversation_tokens=2_501)
    assert not _fires(cfg, conversation_tokens=None)


def test_unscheduled_never_fires() -> None:
    cfg = cod.CompactOnDemand()
    assert not cfg.scheduled
    assert not _fires(cfg, opens_turn=True, requests_since=1_000, conversation_tokens=10**9)


def test_keep_from_keeps_the_last_turns_or_refuses_an_empty_older_part() -> None:
    # turns open at messages 0, 4, 8, 12; history [0, 16)
    starts = (0, 4, 8, 12)
    assert cod.keep_from(starts, start=0, end=16, keep_recent_turns=0) == 16
    assert cod.keep_from(starts, start=0, end=16, keep_recent_turns=1) == 12
    assert cod.keep_from(starts, start=0, end=16, keep_recent_turns=3) == 4
    assert cod.keep_from(starts, start=0, end=16, keep_recent_turns=4) is None
    # after an earlier compaction the history starts at 8: only one turn opens inside it
    assert cod.keep_from(starts, start=8, end=16, keep_recent_turns=1) == 12
    assert cod.keep_from(starts, start=8, end=16, keep_recent_turns=2) is None


def test_background_swap_comes_later() -> None:
    assert cod.CompactOnDemand(every_requests=2).swap_request(10) == 10
    assert cod.CompactOnDemand(every_requests=2, background=True).swap_request(10) == 11
    cfg = cod.CompactOnDemand(every_requests=2, background=True, swap_after_requests=3)
    assert cfg.swap_request(10) == 13
    assert "background" in cfg.describe()


def test_from_api_and_to_api_round_trip() -> None:
    when = cod.CompactOnDemand(every_requests=3)
    cfg = cod.from_api({"type": "summarize", "instructions": "Keep names."}, when)
    assert cfg.instructions == "Keep names." and cfg.every_requests == 3
    assert cod.from_api(cfg.to_api(), when) == cfg
    assert cod.from_api({"type": "summarize", "instructions": "  "}).instructions is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"type": "auto"}, "compaction.type"),
        ({"type": "summarize", "trigger": 5}, "unknown field(s) trigger"),
        ({"type": "summarize", "instructions": 3}, "compaction.instructions"),
        ({"type": "summarize", "instructions": "x" * 16_385}, "at most 16,384"),
    ],
)
def test_from_api_rejects_what_the_api_rejects(given: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cod.from_api(given)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"every_requests": 0}, "every_requests"),
        ({"at_prompt_tokens": -1}, "at_prompt_tokens"),
        ({"keep_recent_turns": -2}, "keep_recent_turns"),
        ({"swap_after_requests": 0}, "swap_after_requests"),
        ({"at_requests": (-1,)}, "at_requests"),
        ({"every_requests": True}, "every_requests"),
    ],
)
def test_bad_config_is_named(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cod.CompactOnDemand(**kw)  # type: ignore[arg-type]


def _decide(cfg: cod.CompactOnDemand, **kw: object) -> cod.Decision | None:
    # turns open at messages 0, 4, 8, 12
    args: dict[str, object] = {
        "request": 6,
        "requests_since": 6,
        "start": 0,
        "prompt_end": 13,
        "turn_starts": (0, 4, 8, 12),
        "conversation_tokens": 5_000,
        "pending": False,
    }
    args.update(kw)
    return cod.decide(cfg, **args)  # type: ignore[arg-type]


def test_decide_at_a_turn_boundary_leaves_the_new_user_message_after_the_block() -> None:
    got = _decide(cod.CompactOnDemand(at_user_turns=True))
    assert got == cod.Decision(request=6, start=0, keep_from=12, swap_at=6)


def test_decide_inside_a_tool_loop_carries_the_tool_results() -> None:
    got = _decide(cod.CompactOnDemand(every_requests=2), prompt_end=11)
    assert got is not None and got.keep_from == 11


def test_decide_keeps_recent_turns_before_the_new_message() -> None:
    got = _decide(cod.CompactOnDemand(every_requests=2, keep_recent_turns=2))
    assert got is not None and (got.start, got.keep_from) == (0, 4)


def test_decide_skips_when_pending_or_when_nothing_older_is_left() -> None:
    cfg = cod.CompactOnDemand(every_requests=2, keep_recent_turns=2, background=True)
    assert _decide(cfg, pending=True) is None
    assert _decide(cfg, start=4) is None  # only turn 8 before the new message: 2 cannot be kept
    got = _decide(cfg)
    assert got is not None and got.swap_at == 7
    assert _decide(cod.CompactOnDemand(at_prompt_tokens=10_000)) is None
