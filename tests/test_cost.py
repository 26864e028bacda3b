"""Prompt caching and dollars: golden numbers computed by hand, and properties."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ctxviz
from ctxviz.cost import COST_COLUMNS, cache_accounting, price_rows, request_costs
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


# ---- the 2026 models: golden numbers by hand (rates from the official pages) ------------------


def test_opus_5_5_reads_at_its_own_rate_not_a_tenth_of_input() -> None:
    # $4 in, $5 5m write, $0.20 read, $20 out: 10,000 x 4 = 0.04; 200,000 x 0.20 = 0.04;
    # 3,000 x 5 = 0.015; 2,000 x 20 = 0.04 -> 0.135 (a 0.1x read would make it 0.155).
    row = _one(
        "claude-opus-5-5",
        input_tokens=10_000,
        cache_read_input_tokens=200_000,
        cache_creation_input_tokens=3_000,
        output_tokens=2_000,
    )
    assert row["cost_cache_read_usd"] == pytest.approx(0.04)
    assert row["cost_cache_write_usd"] == pytest.approx(0.015)
    assert row["cost_usd"] == pytest.approx(0.135)
    assert round(row["cost_usd"], 2) == 0.14


def test_opus_5_5_one_hour_writes() -> None:
    # 3,000 x $8 = 0.024.
    row = _one("claude-opus-5-5", cache_creation_input_tokens=3_000, ttl_1h=1)
    assert row["cost_usd"] == pytest.approx(0.024)


def test_haiku_5_5_at_exactly_100k_pays_the_low_tier() -> None:
    # 20,000 x 0.10 = 0.002; 70,000 x 0.01 = 0.0007; 10,000 x 0.125 = 0.00125;
    # 4,000 x 0.50 = 0.002 -> 0.00595.
    row = _one(
        "claude-haiku-5-5",
        input_tokens=20_000,
        cache_read_input_tokens=70_000,
        cache_creation_input_tokens=10_000,
        output_tokens=4_000,
    )
    assert not row["long_context"]
    assert row["cost_usd"] == pytest.approx(0.00595)


def test_haiku_5_5_above_100k_bills_every_rate_of_the_request_at_the_high_tier() -> None:
    # Prompt 100,001: 20,001 x 0.50 = 0.0100005; 70,000 x 0.05 = 0.0035;
    # 10,000 x 0.625 = 0.00625; 4,000 x 2.50 = 0.01 -> 0.0297505.
    row = _one(
        "claude-haiku-5-5",
        input_tokens=20_001,
        cache_read_input_tokens=70_000,
        cache_creation_input_tokens=10_000,
        output_tokens=4_000,
    )
    assert row["long_context"]
    assert row["cost_input_usd"] == pytest.approx(0.0100005)
    assert row["cost_cache_read_usd"] == pytest.approx(0.0035)
    assert row["cost_cache_write_usd"] == pytest.approx(0.00625)
    assert row["cost_output_usd"] == pytest.approx(0.01)
    assert row["cost_usd"] == pytest.approx(0.0297505)
    # The high tier's 1h write: 10,000 x $1.00 = 0.01 (plus 100,000 x 0.50 = 0.05 uncached).
    one_hour = _one(
        "claude-haiku-5-5", input_tokens=100_000, cache_creation_input_tokens=10_000, ttl_1h=1
    )
    assert one_hour["cost_cache_write_usd"] == pytest.approx(0.01)
    assert one_hour["cost_usd"] == pytest.approx(0.06)


def test_fable_5_1_and_5_2_cache_reads() -> None:
    # Fable 5.1: 1,000,000 reads x $0.25 = 0.25; Fable 5: x $1 = 1.00; Fable 5.2: x $0.20.
    reads = {"cache_read_input_tokens": 1_000_000}
    assert _one("claude-fable-5-1", **reads)["cost_usd"] == pytest.approx(0.25)
    assert _one("claude-fable-5", **reads)["cost_usd"] == pytest.approx(1.0)
    assert _one("claude-fable-5-2", **reads)["cost_usd"] == pytest.approx(0.2)
    # Fable 5.2: 100,000 in x $8 = 0.80; 100,000 out x $40 = 4.00.
    row = _one("claude-fable-5-2", input_tokens=100_000, output_tokens=100_000)
    assert row["cost_usd"] == pytest.approx(4.8)


def test_price_rows_uses_the_rates_in_force_on_each_timestamp() -> None:
    sonnet = default_table().get("claude-sonnet-5-5")
    haiku = default_table().get("claude-haiku-5-5")
    frame = price_rows(
        [sonnet, sonnet, sonnet, haiku],
        input_tokens=[0, 0, 0, 101_000],
        cache_creation_input_tokens=[0, 0, 0, 0],
        cache_read_input_tokens=[1_000_000, 1_000_000, 1_000_000, 0],
        output_tokens=[0, 0, 0, 0],
        timestamps=["2026-10-06T23:59:00Z", "2026-10-07T00:01:00Z", None, "2026-11-01"],
    )
    # Sonnet 5.5 reads: $0.20 before 2026-10-07, $0.10 from then (and when the time is unknown);
    # Haiku 5.5: 101,000 x $0.50 = 0.0505.
    assert frame["cost_usd"].tolist() == pytest.approx([0.20, 0.10, 0.10, 0.0505])
    assert frame["long_context"].tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="timestamps: expected 4 values"):
        price_rows(
            [sonnet] * 4,
            input_tokens=[0] * 4,
            cache_creation_input_tokens=[0] * 4,
            cache_read_input_tokens=[0] * 4,
            output_tokens=[0] * 4,
            timestamps=[None],
        )


# ---- recorded usage of a real transcript, priced on the new models ---------------------------

_SESSION = "04_claude-code_ccl_v2.1.114_subagents/ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"


def _rewritten(
    samples_dir: Path, tmp_path: Path, edit: Callable[[int, dict[str, Any]], None]
) -> ctxviz.Conversation:
    """The real Claude Code session with each assistant record passed through ``edit``
    (its 0-based number among assistant records, the record)."""
    lines = (samples_dir / _SESSION).read_text(encoding="utf-8").splitlines()
    out, k = [], 0
    for line in lines:
        obj = json.loads(line)
        if obj.get("type") == "assistant":
            edit(k, obj)
            k += 1
        out.append(json.dumps(obj))
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return ctxviz.load(path)


def _model(name: str) -> Callable[[int, dict[str, Any]], None]:
    def edit(k: int, obj: dict[str, Any]) -> None:
        obj["message"]["model"] = name

    return edit


def _by_hand(conv: ctxviz.Conversation, rates: Callable[[int, Any], tuple[float, ...]]) -> float:
    """Each recorded request's usage at (input, 5m write, 1h write, read, output) $/MTok."""
    total = 0.0
    for j, r in enumerate(conv.requests):
        u = r.usage
        assert u is not None
        one_hour = u.ephemeral_1h_input_tokens or 0
        inp, w5, w1, read, out = rates(j, u)
        total += (
            u.input_tokens * inp
            + (u.cache_creation_input_tokens - one_hour) * w5
            + one_hour * w1
            + u.cache_read_input_tokens * read
            + u.output_tokens * out
        ) / 1e6
    return total


def test_real_session_on_opus_5_5_with_a_dated_id_to_the_cent(
    samples_dir: Path, tmp_path: Path
) -> None:
    conv = _rewritten(samples_dir, tmp_path, _model("claude-opus-5-5-20260922"))
    sim = ctxviz.simulate(conv)
    assert (sim.requests["source"] == "recorded").all()
    expected = _by_hand(conv, lambda j, u: (4, 5, 8, 0.20, 20))
    assert sim.requests["cost_usd"].sum() == pytest.approx(expected, rel=1e-12)
    assert round(sim.requests["cost_usd"].sum(), 2) == round(expected, 2)
    assert not any("not in the model table" in w for w in sim.warnings)


def test_real_session_on_haiku_5_5_crosses_its_100k_tier(samples_dir: Path, tmp_path: Path) -> None:
    def edit(k: int, obj: dict[str, Any]) -> None:
        obj["message"]["model"] = "claude-haiku-5-5"
        usage = obj["message"].get("usage")
        if isinstance(usage, dict):
            usage["cache_read_input_tokens"] = usage.get("cache_read_input_tokens", 0) + 40_000

    conv = _rewritten(samples_dir, tmp_path, edit)
    sim = ctxviz.simulate(conv)
    prompts = [r.usage.prompt_tokens for r in conv.requests if r.usage]
    high = [p > 100_000 for p in prompts]
    assert any(high) and not all(high)  # both tiers appear

    def rates(j: int, u: Any) -> tuple[float, ...]:
        return (0.50, 0.625, 1.00, 0.05, 2.50) if high[j] else (0.10, 0.125, 0.20, 0.01, 0.50)

    expected = _by_hand(conv, rates)
    assert sim.requests["long_context"].tolist() == high
    assert sim.requests["cost_usd"].sum() == pytest.approx(expected, rel=1e-12)


def test_real_session_on_sonnet_5_5_priced_by_date(samples_dir: Path, tmp_path: Path) -> None:
    # The first half of the requests before the 2026-10-07 cache-read cut, the rest after it.
    def edit(k: int, obj: dict[str, Any]) -> None:
        obj["message"]["model"] = "claude-sonnet-5-5"
        obj["timestamp"] = "2026-10-06T12:00:00.000Z" if k < 20 else "2026-10-08T12:00:00.000Z"

    conv = _rewritten(samples_dir, tmp_path, edit)
    before = [r.timestamp is not None and r.timestamp < "2026-10-07" for r in conv.requests]
    assert any(before) and not all(before)
    sim = ctxviz.simulate(conv)
    expected = _by_hand(conv, lambda j, u: (2, 2.5, 4, 0.20 if before[j] else 0.10, 10))
    assert sim.requests["cost_usd"].sum() == pytest.approx(expected, rel=1e-12)


def test_real_session_on_a_retired_model_is_priced_and_said_retired(
    samples_dir: Path, tmp_path: Path
) -> None:
    conv = _rewritten(samples_dir, tmp_path, _model("claude-sonnet-4-5-20250929"))
    sim = ctxviz.simulate(conv)
    assert any("Claude Sonnet 4.5" in w and "retired on 2026-11-30" in w for w in sim.warnings)
    expected = _by_hand(conv, lambda j, u: (3, 3.75, 6, 0.30, 15))  # all prompts under 200K
    assert sim.requests["cost_usd"].sum() == pytest.approx(expected, rel=1e-12)


def test_unknown_model_is_named_and_priced_from_the_users_table(
    samples_dir: Path, tmp_path: Path
) -> None:
    conv = _rewritten(samples_dir, tmp_path, _model("claude-quill-1"))
    guessed = ctxviz.simulate(conv)
    assert any("'claude-quill-1'" in w and "--models" in w for w in guessed.warnings)
    entry = {
        "id": "claude-quill-1",
        "display_name": "Claude Quill 1",
        "family": "quill",
        "status": "active",
        "source": "my contract",
        "checked": "2026-12-05",
        "context_window_tokens": 500_000,
        "max_output_tokens": 64_000,
        "input_usd_per_mtok": 1.0,
        "cache_write_5m_usd_per_mtok": 1.5,
        "cache_write_1h_usd_per_mtok": 2.5,
        "cache_read_usd_per_mtok": 0.05,
        "output_usd_per_mtok": 7.0,
        "min_cacheable_tokens": 1024,
        "tokenizer": "v5",
        "thinking_modes": ["adaptive"],
        "preserved_thinking": False,
        "preserves_thinking_by_default": True,
        "context_overflow": "model_context_window_exceeded",
        "supports_context_editing": True,
        "supports_compact_20260112": True,
        "context_awareness": False,
    }
    sim = ctxviz.simulate(conv, models={"models": [entry]})
    assert not any("claude-quill-1" in w for w in sim.warnings)
    expected = _by_hand(conv, lambda j, u: (1.0, 1.5, 2.5, 0.05, 7.0))
    assert sim.requests["cost_usd"].sum() == pytest.approx(expected, rel=1e-12)


def _log_line(model: str, iterations: list[dict[str, Any]], usage: dict[str, int]) -> str:
    return json.dumps(
        {
            "timestamp": "2026-12-01T10:00:00Z",
            "request": {
                "model": model,
                "max_tokens": 1000,
                "messages": [{"role": "user", "content": "Summarise the report."}],
            },
            "response": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": "Done."}],
                "stop_reason": "end_turn",
                "usage": {**usage, "iterations": iterations},
            },
        }
    )


def test_each_iteration_is_priced_by_the_model_that_served_it(tmp_path: Path) -> None:
    # Fable 5.1 refused after reading the prompt; Opus 5.5 served it (a fallback).
    # Fable 5.1: 2,000 x 10 + 30,000 x 0.25 = 0.0275; Opus 5.5: 2,000 x 4 + 30,000 x 0.20
    # + 500 x 20 = 0.024 -> 0.0515 (all at Fable 5.1: 4,000 x 10 + 60,000 x 0.25 + 500 x 50
    # = 0.08).
    iterations = [
        {
            "type": "message",
            "model": "claude-fable-5-1",
            "input_tokens": 2_000,
            "cache_read_input_tokens": 30_000,
            "output_tokens": 0,
        },
        {
            "type": "message",
            "model": "claude-opus-5-5",
            "input_tokens": 2_000,
            "cache_read_input_tokens": 30_000,
            "output_tokens": 500,
        },
    ]
    usage = {"input_tokens": 4_000, "cache_read_input_tokens": 60_000, "output_tokens": 500}
    path = tmp_path / "log.jsonl"
    path.write_text(_log_line("claude-fable-5-1", iterations, usage) + "\n", encoding="utf-8")
    conv = ctxviz.load(path)
    assert conv.requests[0].timestamp == "2026-12-01T10:00:00Z"
    assert [it.model for it in conv.requests[0].usage.iterations] == [  # type: ignore[union-attr]
        "claude-fable-5-1",
        "claude-opus-5-5",
    ]
    sim = ctxviz.simulate(conv)
    row = sim.requests.iloc[0]
    assert row["cost_cache_read_usd"] == pytest.approx(0.0075 + 0.006)
    assert row["cost_output_usd"] == pytest.approx(0.01)
    assert row["cost_usd"] == pytest.approx(0.0515)
    # Without models on the iterations, the request's own model prices the whole usage.
    plain = [{k: v for k, v in it.items() if k != "model"} for it in iterations]
    path.write_text(_log_line("claude-fable-5-1", plain, usage) + "\n", encoding="utf-8")
    assert ctxviz.simulate(ctxviz.load(path)).requests["cost_usd"].iloc[0] == pytest.approx(0.08)


def test_iterations_on_a_retired_fallback_are_said_retired(tmp_path: Path) -> None:
    iterations = [{"type": "message", "model": "claude-opus-4-1", "input_tokens": 10}]
    path = tmp_path / "log.jsonl"
    path.write_text(
        _log_line("claude-opus-5-5", iterations, {"input_tokens": 10}) + "\n", encoding="utf-8"
    )
    sim = ctxviz.simulate(ctxviz.load(path))
    assert any("Claude Opus 4.1" in w and "retired" in w for w in sim.warnings)
    assert sim.requests["cost_usd"].iloc[0] == pytest.approx(10 * 15 / 1e6)
