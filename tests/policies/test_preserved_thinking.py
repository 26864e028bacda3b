"""Preserved thinking (docs/semantics.md#preserved-thinking): the model check and the prefix
check as pure functions."""

from __future__ import annotations

import pytest

from ctxviz.models import load_model_table
from ctxviz.policies import preserved_thinking as pt

TABLE = load_model_table()


@pytest.mark.parametrize(
    ("reader", "producer", "readable"),
    [
        ("claude-fable-5-1", "claude-fable-5-1", True),
        ("claude-fable-5-1", "claude-opus-5", True),  # moving up keeps the reasoning
        ("claude-opus-5", "claude-fable-5-1", False),  # moving down loses it
        ("claude-opus-5-5", "claude-fable-5-1", False),
        ("claude-fable-5-1", "claude-opus-5-5", True),
        ("claude-mythos-5-1", "claude-fable-5-1", True),
        ("claude-fable-5-1", "claude-mythos-5-1", True),
        ("claude-opus-5-5", "claude-fable-5-2", False),  # only the 5.2 pair reads Fable 5.2
        ("claude-fable-5-1", "claude-fable-5-2", False),
        ("claude-mythos-5-2", "claude-fable-5-2", True),
        ("claude-opus-5", "claude-haiku-5-5", True),  # Haiku 5.5's blocks replay elsewhere
        ("claude-haiku-5-5", "claude-opus-5", False),  # but it reads no other model's
        ("claude-opus-4-6", "claude-sonnet-4-5", True),  # no model check before Fable 5.1
    ],
)
def test_model_check(reader: str, producer: str, readable: bool) -> None:
    assert pt.can_read(TABLE.get(reader), TABLE.get(producer)) is readable


def test_unreadable_blocks_after_a_switch_down() -> None:
    fable, opus = TABLE.get("claude-fable-5-1"), TABLE.get("claude-opus-5")
    blocks = [(1, opus), (3, fable), (5, fable), (7, opus)]
    assert pt.unreadable_blocks(blocks, opus) == (3, 5)
    assert pt.unreadable_blocks(blocks, fable) == ()


def test_a_rewrite_invalidates_the_kept_thinking_produced_before_it() -> None:
    # thinking at messages 2, 6, 10, 14, produced by requests 1, 3, 5, 7; before request 6 a
    # client summary replaced messages [0, 8): the blocks at 10 kept, 2 and 6 gone
    blocks = [(10, 5), (14, 7)]
    rewrite = pt.Rewrite(request=6, change_at=8)
    assert pt.invalid_blocks(blocks, [rewrite], request=6) == (10,)
    # request 8 still sends the old block (invalid) and the one produced after the rewrite
    assert pt.invalid_blocks(blocks, [rewrite], request=8) == (10,)
    # before the rewrite, nothing is invalid
    assert pt.invalid_blocks(blocks, [rewrite], request=5) == ()


def test_thinking_before_the_change_point_stays_valid() -> None:
    blocks = [(2, 1), (10, 5)]
    assert pt.invalid_blocks(blocks, [pt.Rewrite(request=6, change_at=4)], request=6) == (10,)
    assert pt.invalid_blocks(blocks, [pt.Rewrite(request=6, change_at=12)], request=6) == ()


def test_two_rewrites() -> None:
    blocks = [(10, 5), (14, 7), (18, 9)]
    rewrites = [pt.Rewrite(request=6, change_at=8), pt.Rewrite(request=9, change_at=12)]
    assert pt.invalid_blocks(blocks, rewrites, request=9) == (10, 14)
    assert pt.invalid_blocks(blocks, rewrites, request=12) == (10, 14)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "reject"),
        ("reject", "reject"),
        ("error", "reject"),
        ("drop", "drop"),
        ("drop_block", "drop"),
    ],
)
def test_behaviour_spellings(given: str | None, expected: str) -> None:
    assert pt.from_arg(given) == expected


def test_bad_behaviour_is_named() -> None:
    with pytest.raises(ValueError, match="thinking_prefix_mismatch"):
        pt.from_arg("ignore")


def test_block_binding_is_the_api_object() -> None:
    assert pt.block_binding("drop") == {"prefix_mismatch_behavior": "drop_block"}
    assert pt.block_binding("reject") == {"prefix_mismatch_behavior": "error"}
