"""Prompt caching and dollars: golden numbers computed by hand, and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxviz.cost import COST_COLUMNS, cache_accounting, request_costs
from ctxviz.models import default_table

SONNET_45 = default_table().get("claude-sonnet-4-5")
OPUS_46 = default_table().get("claude-opus-4-6")
OPUS_41 = default_table().get("claude-opus-4-1")
GPT_4O = default_table().get("gpt-4o")


def _one(model_id: str = "claude-sonnet-4-5", **usage: int) -> pd.Series:
    model = default_table().get(model_id)
    fields = {
        "input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 0,
    }
    fields.update(usage)
    ttl = "1h" if fields.pop("ttl_1h", 0) else "5m"
    frame = request_costs(model, ttl=ttl, **{k: [v] for k, v in fields.items()})  # type: ignore[arg-type]
    return frame.iloc[0]


# ---- request_costs: golden numbers -------------------------------------------------------------


def test_sonnet_4_5_mixed_request() -> None:
    # $3 in, $15 out: 10,000 x 3 = 0.03; 50,000 x 0.30 = 0.015; 2,000 x 3.75 = 0.0075;
    # 1,000 x 15 = 0.015 (all per million) -> 0.0675.
    row = _one(
        input_tokens=10_000,
        cache_read_input_tokens=50_000,
        cache_creation_input_tokens=2_000,
        output_tokens=1_000,
    )
    assert row["cost_input_usd"] == pytest.approx(0.03)
    assert row["cost_cache_read_usd"] == pytest.approx(0.015)
    assert row["cost_cache_write_usd"] == pytest.approx(0.0075)
    assert row["cost_output_usd"] == pytest.approx(0.015)
    assert row["cost_usd"] == pytest.approx(0.0675)
    assert not row["long_context"]


def test_one_hour_writes_cost_twice_the_input_price() -> None:
    # 2,000 x $6 (3 x 2) per million = 0.012; total 0.03 + 0.015 + 0.012 + 0.015 = 0.072.
    row = _one(
        input_tokens=10_000,
        cache_read_input_tokens=50_000,
        cache_creation_input_tokens=2_000,
        output_tokens=1_000,
        ttl_1h=1,
    )
    assert row["cost_cache_write_usd"] == pytest.approx(0.012)
    assert row["cost_usd"] == pytest.approx(0.072)


def test_recorded_mix_of_5m_and_1h_writes() -> None:
    # 2,000 writes of which 500 for 1h: 1,500 x 3.75 + 500 x 6 per million = 0.008625.
    frame = request_costs(
        SONNET_45,
        input_tokens=[0],
        cache_creation_input_tokens=[2_000],
        cache_read_input_tokens=[0],
        output_tokens=[0],
        cache_creation_1h_input_tokens=[500],
    )
    assert frame["cost_cache_write_usd"].iloc[0] == pytest.approx(0.008625)


def test_long_context_premium_above_200k_on_sonnet_4_5() -> None:
    # Prompt 150,000 + 60,000 = 210,000 > 200K: input $6, read $0.60, output $22.50.
    # 150,000 x 6 = 0.9; 60,000 x 0.6 = 0.036; 1,000 x 22.5 = 0.0225 -> 0.9585.
    row = _one(input_tokens=150_000, cache_read_input_tokens=60_000, output_tokens=1_000)
    assert row["long_context"]
    assert row["cost_input_usd"] == pytest.approx(0.9)
    assert row["cost_cache_read_usd"] == pytest.approx(0.036)
    assert row["cost_output_usd"] == pytest.approx(0.0225)
    assert row["cost_usd"] == pytest.approx(0.9585)


def test_long_context_counts_cache_writes_and_doubles_their_price() -> None:
    # 190,000 + 20,000 written = 210,000: 190,000 x 6 = 1.14; 20,000 x 7.5 = 0.15;
    # 1,000 x 22.5 = 0.0225 -> 1.3125.
    row = _one(input_tokens=190_000, cache_creation_input_tokens=20_000, output_tokens=1_000)
    assert row["long_context"]
    assert row["cost_cache_write_usd"] == pytest.approx(0.15)
    assert row["cost_usd"] == pytest.approx(1.3125)


def test_exactly_200k_is_not_long_context() -> None:
    # 140,000 x 3 = 0.42; 60,000 x 0.3 = 0.018; 1,000 x 15 = 0.015 -> 0.453.
    row = _one(input_tokens=140_000, cache_read_input_tokens=60_000, output_tokens=1_000)
    assert not row["long_context"]
    assert row["cost_usd"] == pytest.approx(0.453)


def test_opus_4_6_has_flat_pricing_across_its_window() -> None:
    # 300,000 x $5 = 1.5; 1,000 x $25 = 0.025.
    row = _one("claude-opus-4-6", input_tokens=300_000, output_tokens=1_000)
    assert not row["long_context"]
    assert row["cost_usd"] == pytest.approx(1.525)


def test_opus_4_1_prices() -> None:
    # 1,000 x $15 = 0.015; 1,000 x $75 = 0.075.
    row = _one("claude-opus-4-1", input_tokens=1_000, output_tokens=1_000)
    assert row["cost_usd"] == pytest.approx(0.09)


def test_openai_cached_input_at_half_price() -> None:
    # 10,000 x $2.50 = 0.025; 10,000 cached x $1.25 = 0.0125; 1,000 x $10 = 0.01.
    row = _one("gpt-4o", input_tokens=10_000, cache_read_input_tokens=10_000, output_tokens=1_000)
    assert row["cost_usd"] == pytest.approx(0.0475)


def test_costs_keep_the_series_index_and_columns() -> None:
    index = pd.Index([5, 6], name="request")
    frame = request_costs(
        SONNET_45,
        input_tokens=pd.Series([1_000, 2_000], index=index),
        cache_creation_input_tokens=[0, 0],
        cache_read_input_tokens=[0, 0],
        output_tokens=[0, 0],
    )
    assert list(frame.columns) == [*COST_COLUMNS, "long_context"]
    assert list(frame.index) == [5, 6]
    assert frame["cost_usd"].tolist() == pytest.approx([0.003, 0.006])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_tokens": [-1]}, r"input_tokens\[0\] = -1: token counts cannot be negative"),
        ({"output_tokens": [1, 2]}, r"output_tokens: expected 1 values \(one per request\)"),
        ({"input_tokens": [1.5]}, r"input_tokens\[0\] = 1.5: token counts are whole numbers"),
        ({"input_tokens": [math.nan]}, r"input_tokens\[0\]: missing value"),
        ({"ttl": "10m"}, r"ttl: expected '5m' or '1h', got '10m'"),
        (
            {"cache_creation_1h_input_tokens": [5]},
            r"cache_creation_1h_input_tokens\[0\] = 5 exceeds cache_creation_input_tokens\[0\] = 2",
        ),
    ],
)
def test_request_costs_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "input_tokens": [1],
        "cache_creation_input_tokens": [2],
        "cache_read_input_tokens": [3],
        "output_tokens": [4],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        request_costs(SONNET_45, **args)  # type: ignore[arg-type]


# ---- cache_accounting ------------------------------------------------------------------------


def _acct(prompt: list[int], shared: list[int], **kw: object) -> list[tuple[int, int, int]]:
    frame = cache_accounting(prompt, shared, min_cacheable_tokens=1024, **kw)  # type: ignore[arg-type]
    return list(
        zip(
            frame["cache_read_input_tokens"].tolist(),
            frame["cache_creation_input_tokens"].tolist(),
            frame["input_tokens"].tolist(),
            strict=True,
        )
    )


def test_growing_conversation_reads_the_previous_prompt_and_writes_the_rest() -> None:
    # (read, write, uncached) per request.
    assert _acct([10_000, 12_000, 15_000], [0, 10_000, 12_000]) == [
        (0, 10_000, 0),
        (10_000, 2_000, 0),
        (12_000, 3_000, 0),
    ]


def test_an_edit_that_changes_an_early_block_costs_a_rewrite() -> None:
    # Request 3 cleared a tool result 8,000 tokens in: only those 8,000 are read back.
    assert _acct([10_000, 20_000, 30_000, 25_000], [0, 10_000, 20_000, 8_000])[3] == (
        8_000,
        17_000,
        0,
    )


def test_short_prompts_and_short_shared_prefixes_are_not_cached() -> None:
    rows = _acct([500, 3_000, 5_000, 6_000, 2_000, 8_000], [0, 400, 3_000, 800, 2_000, 2_000])
    assert rows == [
        (0, 0, 500),  # below 1,024: nothing cached
        (0, 3_000, 0),  # the previous prompt was not cached: nothing to read
        (3_000, 2_000, 0),
        (0, 6_000, 0),  # 800 shared < 1,024: no cache entry that short exists
        (2_000, 0, 0),
        (2_000, 6_000, 0),
    ]


def test_shared_prefix_is_clipped_to_both_prompts() -> None:
    # 9,000 claimed but prompt 0 had 5,000 tokens: read 5,000.
    assert _acct([5_000, 6_000], [0, 9_000]) == [(0, 5_000, 0), (5_000, 1_000, 0)]


def test_ttl_expiry_with_gaps() -> None:
    gaps = [math.nan, 10, 301, 10]
    five = cache_accounting(
        [2_000, 3_000, 4_000, 5_000],
        [0, 2_000, 3_000, 4_000],
        min_cacheable_tokens=1024,
        gaps_seconds=gaps,
    )
    assert five["cache_read_input_tokens"].tolist() == [0, 2_000, 0, 4_000]
    assert five["cache_creation_input_tokens"].tolist() == [2_000, 1_000, 4_000, 1_000]
    assert five["cache_expired"].tolist() == [False, False, True, False]
    hour = cache_accounting(
        [2_000, 3_000, 4_000, 5_000],
        [0, 2_000, 3_000, 4_000],
        min_cacheable_tokens=1024,
        ttl="1h",
        gaps_seconds=gaps,
    )
    assert hour["cache_read_input_tokens"].tolist() == [0, 2_000, 3_000, 4_000]


def test_unknown_gap_never_expires() -> None:
    frame = cache_accounting(
        [2_000, 3_000], [0, 2_000], min_cacheable_tokens=0, gaps_seconds=[0, math.nan]
    )
    assert frame["cache_read_input_tokens"].tolist() == [0, 2_000]


def test_accounting_feeds_costs() -> None:
    # Sonnet 4.5, two requests: write 10,000 (0.0375), then read 10,000 (0.003) + write 2,000
    # (0.0075); outputs 500 each (0.0075 each) -> 0.063 in all.
    acct = cache_accounting([10_000, 12_000], [0, 10_000], min_cacheable_tokens=1024)
    costs = request_costs(
        SONNET_45,
        input_tokens=acct["input_tokens"],
        cache_creation_input_tokens=acct["cache_creation_input_tokens"],
        cache_read_input_tokens=acct["cache_read_input_tokens"],
        output_tokens=[500, 500],
    )
    assert costs["cost_usd"].sum() == pytest.approx(0.063)


def test_empty_replay() -> None:
    assert cache_accounting([], [], min_cacheable_tokens=1024).empty
    assert request_costs(
        OPUS_46,
        input_tokens=[],
        cache_creation_input_tokens=[],
        cache_read_input_tokens=[],
        output_tokens=[],
    ).empty


@pytest.mark.parametrize(
    ("prompt", "shared", "kwargs", "message"),
    [
        ([1, 2], [0], {}, r"reusable_prefix_tokens: expected 2 values"),
        ([1, -2], [0, 0], {}, r"prompt_tokens\[1\] = -2"),
        ([1], [0], {"min_cacheable_tokens": -1}, r"min_cacheable_tokens: expected >= 0"),
        ([1], [0], {"gaps_seconds": [1, 2]}, r"gaps_seconds: expected 1 values"),
        ([[1]], [[0]], {}, r"prompt_tokens: expected a 1-D sequence"),
    ],
)
def test_cache_accounting_refuses_bad_input(
    prompt: object, shared: object, kwargs: dict[str, object], message: str
) -> None:
    kw: dict[str, object] = {"min_cacheable_tokens": 1024, **kwargs}
    with pytest.raises(ValueError, match=message):
        cache_accounting(prompt, shared, **kw)  # type: ignore[arg-type]


@given(
    st.lists(st.tuples(st.integers(0, 300_000), st.floats(0, 1)), max_size=40),
    st.sampled_from([0, 1024, 2048, 4096]),
)
def test_accounting_properties(rows: list[tuple[int, float]], minimum: int) -> None:
    prompt = np.array([p for p, _ in rows], dtype=np.int64)
    previous = np.concatenate(([0], prompt[:-1]))
    shared = (np.minimum(prompt, previous) * np.array([f for _, f in rows])).astype(np.int64)
    frame = cache_accounting(prompt, shared, min_cacheable_tokens=minimum)
    read = frame["cache_read_input_tokens"].to_numpy()
    write = frame["cache_creation_input_tokens"].to_numpy()
    uncached = frame["input_tokens"].to_numpy()
    assert (read + write + uncached == prompt).all()  # the whole prompt, nothing invented
    assert (read <= shared).all()
    assert ((read == 0) | (read >= max(minimum, 1))).all()
    cacheable = prompt >= max(minimum, 1)
    assert (uncached[cacheable] == 0).all() and (uncached[~cacheable] == prompt[~cacheable]).all()
    again = cache_accounting(prompt, shared, min_cacheable_tokens=minimum)
    pd.testing.assert_frame_equal(frame, again)
    costs = request_costs(
        OPUS_41,
        input_tokens=uncached,
        cache_creation_input_tokens=write,
        cache_read_input_tokens=read,
        output_tokens=np.zeros_like(prompt),
    )
    assert (costs["cost_usd"] >= 0).all()
    # Caching never costs less than reading everything, nor more than writing everything.
    full = prompt * OPUS_41.input_usd_per_mtok * 1e-6
    assert (costs["cost_usd"].to_numpy() <= full * 1.25 + 1e-12).all()
    assert (costs["cost_usd"].to_numpy() >= full * 0.1 - 1e-12).all()


def test_gpt_model_is_importable_for_costs() -> None:
    assert GPT_4O.provider == "openai"
