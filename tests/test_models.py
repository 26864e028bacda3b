"""The model table: bundled data (schema, rates, status, sources), lookups, unknown ids and
user overrides."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import pytest

import ctxviz
from ctxviz.models import (
    RATE_FIELDS,
    ModelInfo,
    ModelTable,
    as_table,
    default_table,
    load_model_table,
)

BUNDLED = Path(__file__).resolve().parents[1] / "ctxviz" / "data" / "models.json"
RAW = json.loads(BUNDLED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def table() -> ModelTable:
    return default_table()


# ---- the bundled file ------------------------------------------------------------------------


def test_bundled_table_is_dated_and_sourced(table: ModelTable) -> None:
    assert table.checked == "2026-12-05"
    assert "platform.claude.com" in table.sources
    assert len(table) == len(RAW["models"])


@pytest.mark.parametrize("entry", RAW["models"], ids=lambda e: e["id"])
def test_every_bundled_entry_states_its_own_rates_status_dates_and_source(
    entry: dict[str, object],
) -> None:
    # Every rate is in the entry itself (never a default, never derived from the input price).
    for name in RATE_FIELDS:
        value = entry[name]
        assert isinstance(value, int | float) and value >= 0, name
    assert entry["status"] in ("active", "legacy", "deprecated", "retired")
    for name in ("released", "deprecated_on", "retired_on"):
        if entry.get(name) is not None:
            datetime.date.fromisoformat(str(entry[name]))
    datetime.date.fromisoformat(str(entry["checked"]))
    assert str(entry["source"]).strip()
    if entry["status"] == "retired" and str(entry["id"]).startswith("claude"):
        assert entry.get("retired_on"), "a retired Claude model says when"
    for period in entry.get("price_history", []):  # type: ignore[attr-defined]
        datetime.date.fromisoformat(period["until"])
    assert entry["thinking_modes"]
    assert isinstance(entry["preserved_thinking"], bool)
    assert entry["tokenizer"]
    assert isinstance(entry["min_cacheable_tokens"], int)


def test_no_rate_is_a_bundled_default() -> None:
    assert not set(RAW["defaults"]) & set(RATE_FIELDS)


def test_cache_reads_are_not_derived_from_the_input_price(table: ModelTable) -> None:
    # Opus 5.5 reads at $0.20 on a $4 input (0.05x); Fable 5.1 at $0.25 on $10 (0.025x).
    opus = table.get("claude-opus-5-5")
    assert (opus.input_usd_per_mtok, opus.cache_read_usd_per_mtok) == (4.0, 0.20)
    fable = table.get("claude-fable-5-1")
    assert (fable.input_usd_per_mtok, fable.cache_read_usd_per_mtok) == (10.0, 0.25)
    ratios = {round(m.cache_read_multiplier, 4) for m in table if m.provider == "anthropic"}
    assert {0.1, 0.05, 0.025} <= ratios


@pytest.mark.parametrize(
    ("model_id", "window", "out", "rates"),
    [
        # id, window, max output, (input, 5m write, 1h write, cache read, output)
        ("claude-opus-5-5", 1_000_000, 128_000, (4, 5, 8, 0.20, 20)),
        ("claude-sonnet-5-5", 1_000_000, 128_000, (2, 2.5, 4, 0.10, 10)),
        ("claude-haiku-5-5", 1_000_000, 128_000, (0.10, 0.125, 0.20, 0.01, 0.50)),
        ("claude-fable-5-2", 1_000_000, 128_000, (8, 10, 16, 0.20, 40)),
        ("claude-fable-5-1", 1_000_000, 128_000, (10, 12.5, 20, 0.25, 50)),
        ("claude-mythos-5-1", 1_000_000, 128_000, (10, 12.5, 20, 0.25, 50)),
        ("claude-fable-5", 1_000_000, 128_000, (10, 12.5, 20, 1.0, 50)),
        ("claude-opus-5", 1_000_000, 128_000, (5, 6.25, 10, 0.50, 25)),
        ("claude-sonnet-5", 1_000_000, 128_000, (2, 2.5, 4, 0.20, 10)),
        ("claude-opus-4-8", 1_000_000, 128_000, (5, 6.25, 10, 0.50, 25)),
        ("claude-opus-4-6", 1_000_000, 128_000, (5, 6.25, 10, 0.50, 25)),
        ("claude-sonnet-4-6", 1_000_000, 128_000, (3, 3.75, 6, 0.30, 15)),
        ("claude-opus-4-5", 200_000, 64_000, (5, 6.25, 10, 0.50, 25)),
        ("claude-sonnet-4-5", 200_000, 64_000, (3, 3.75, 6, 0.30, 15)),
        ("claude-haiku-4-5", 200_000, 64_000, (1, 1.25, 2, 0.10, 5)),
        ("claude-opus-4-1", 200_000, 32_000, (15, 18.75, 30, 1.50, 75)),
        ("claude-3-5-haiku", 200_000, 8192, (0.80, 1, 1.6, 0.08, 4)),
    ],
)
def test_windows_limits_and_the_five_rates(
    table: ModelTable, model_id: str, window: int, out: int, rates: tuple[float, ...]
) -> None:
    m = table.get(model_id)
    assert m.known and m.id == model_id
    assert (m.context_window_tokens, m.max_output_tokens) == (window, out)
    assert tuple(getattr(m, f) for f in RATE_FIELDS) == pytest.approx(rates)


def test_haiku_5_5_bills_the_whole_request_at_five_times_above_100k(table: ModelTable) -> None:
    m = table.get("claude-haiku-5-5")
    assert m.long_context_threshold_tokens == 100_000
    assert (m.long_context_input_multiplier, m.long_context_output_multiplier) == (5.0, 5.0)


def test_one_million_beta_only_on_sonnet_4_and_4_5(table: ModelTable) -> None:
    with_beta = {m.id for m in table if m.context_1m_beta is not None}
    assert with_beta == {"claude-sonnet-4", "claude-sonnet-4-5"}
    for model_id in with_beta:
        m = table.get(model_id)
        assert m.extended_context_window_tokens == 1_000_000
        assert m.long_context_threshold_tokens == 200_000
        assert (m.long_context_input_multiplier, m.long_context_output_multiplier) == (2.0, 1.5)


def test_status_and_dates(table: ModelTable) -> None:
    retired = {m.id: m.retired_on for m in table if m.status == "retired"}
    assert retired["claude-sonnet-4"] == retired["claude-opus-4"] == "2026-06-15"
    assert retired["claude-opus-4-1"] == "2026-08-05"
    assert retired["claude-sonnet-4-5"] == "2026-11-30"
    assert table.get("claude-opus-4-5").status == "deprecated"
    for model_id in (
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-fable-5-1",
    ):
        assert table.get(model_id).status == "active"
    for model_id in ("claude-opus-5", "claude-sonnet-5", "claude-fable-5", "claude-opus-4-8"):
        assert table.get(model_id).status == "legacy"


def test_retired_models_are_not_offered_as_current(table: ModelTable) -> None:
    current = {m.id for m in table.current}
    assert not current & {
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-opus-4-1",
        "claude-sonnet-4-5",
    }
    assert {
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-fable-5-2",
    } <= current


def test_sonnet_5_price_is_permanent(table: ModelTable) -> None:
    m = table.get("claude-sonnet-5")
    assert m.price_history == ()
    assert (m.input_usd_per_mtok, m.output_usd_per_mtok) == (2.0, 10.0)
    assert m.at("2026-12-01T00:00:00Z") == m
    assert not any("provisional" in n or "introductory" in n for n in m.notes)


def test_preserved_thinking_models(table: ModelTable) -> None:
    preserved = {m.id for m in table if m.preserved_thinking}
    assert preserved == {
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-fable-5-1",
        "claude-fable-5-2",
        "claude-mythos-5-1",
        "claude-mythos-5-2",
    }
    assert all(table.get(i).preserves_thinking_by_default for i in preserved)


def test_thinking_modes(table: ModelTable) -> None:
    # Always-on adaptive thinking: no 'disabled' mode.
    for model_id in ("claude-opus-5-5", "claude-fable-5-1", "claude-fable-5-2"):
        assert table.get(model_id).thinking_modes == ("adaptive",)
    assert "between_tools" in table.get("claude-sonnet-5-5").thinking_modes
    assert "enabled" not in table.get("claude-sonnet-5").thinking_modes


def test_tokenizer_families(table: ModelTable) -> None:
    assert table.get("claude-opus-4-6").tokenizer == "v3"
    assert table.get("claude-haiku-4-5").tokenizer == "v3"
    assert table.get("claude-opus-4-7").tokenizer == "v4.7"
    for model_id in ("claude-opus-4-8", "claude-opus-5", "claude-haiku-5-5", "claude-fable-5-2"):
        assert table.get(model_id).tokenizer == "v5"


@pytest.mark.parametrize(
    ("model_id", "tokens"),
    [
        ("claude-sonnet-4-5", 1024),
        ("claude-opus-4-1", 1024),
        ("claude-opus-4-5", 4096),
        ("claude-opus-4-6", 4096),
        ("claude-haiku-4-5", 4096),
        ("claude-opus-4-8", 1024),
        ("claude-fable-5-1", 512),
        ("claude-3-5-haiku", 2048),
    ],
)
def test_min_cacheable_prefix(table: ModelTable, model_id: str, tokens: int) -> None:
    assert table.get(model_id).min_cacheable_tokens == tokens


def test_overflow_behaviour_changes_at_4_5(table: ModelTable) -> None:
    for model_id in ("claude-sonnet-4", "claude-opus-4-1", "claude-opus-4", "claude-3-7-sonnet"):
        assert table.get(model_id).context_overflow == "validation_error"
    for model_id in ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5", "claude-opus-5-5"):
        assert table.get(model_id).context_overflow == "model_context_window_exceeded"


def test_third_party_only_figures_are_marked(table: ModelTable) -> None:
    for model_id in ("claude-fable-5-2", "claude-mythos-5-2"):
        m = table.get(model_id)
        assert not m.verified
        assert any("third parties" in n for n in m.notes)
    assert table.get("claude-opus-5-5").verified


def test_openai_rows_claim_no_anthropic_feature(table: ModelTable) -> None:
    openai = [m for m in table if m.provider == "openai"]
    assert {m.id for m in openai} == {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"}
    for m in openai:
        assert not (m.supports_compact_20260112 or m.supports_context_editing)
        assert not (m.context_awareness or m.preserves_thinking_by_default)
        assert m.cache_write_5m_usd_per_mtok == m.input_usd_per_mtok  # no write premium
    assert table.get("gpt-4o").cache_read_usd_per_mtok == 1.25


# ---- prices over time ------------------------------------------------------------------------


def test_sonnet_5_5_cache_read_price_depends_on_the_date(table: ModelTable) -> None:
    m = table.get("claude-sonnet-5-5")
    assert m.at("2026-10-06T23:59:59Z").cache_read_usd_per_mtok == 0.20
    assert m.at("2026-10-07T00:00:00Z").cache_read_usd_per_mtok == 0.10
    assert m.at("2026-10-06").input_usd_per_mtok == 2.0  # other rates unchanged
    assert m.at(None) is m and m.at("not a date") is m
    # An offset is honoured: 08:00 in Tokyo on the 7th is still the 6th in UTC.
    assert m.at("2026-10-07T08:00:00+09:00").cache_read_usd_per_mtok == 0.20
    assert m.at("2026-10-06T20:00:00-05:00").cache_read_usd_per_mtok == 0.10


def test_opus_4_6_long_context_premium_before_general_availability(table: ModelTable) -> None:
    m = table.get("claude-opus-4-6")
    assert m.long_context_threshold_tokens is None
    assert m.at("2026-03-12T10:00:00Z").long_context_threshold_tokens == 200_000


# ---- lookups ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("claude-opus-5-5-20260922", "claude-opus-5-5"),
        ("claude-opus-5-5[1m]", "claude-opus-5-5"),
        ("claude-sonnet-5-5-20260928", "claude-sonnet-5-5"),
        ("claude-haiku-5-5[1m]", "claude-haiku-5-5"),
        ("claude-fable-5-1-20260901", "claude-fable-5-1"),
        ("claude-fable-5-20260609", "claude-fable-5"),
        ("claude-fable-5.2", "claude-fable-5-2"),
        ("anthropic.claude-haiku-5-5", "claude-haiku-5-5"),
        ("anthropic/claude-opus-5.5", "claude-opus-5-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("CLAUDE-OPUS-4-6", "claude-opus-4-6"),
        ("claude-opus-4-6[1m]", "claude-opus-4-6"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-3.7-sonnet:thinking", "claude-3-7-sonnet"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("openai/gpt-4.1", "gpt-4.1"),
    ],
)
def test_resolution(table: ModelTable, raw: str, expected: str) -> None:
    assert table.resolve(raw) == expected
    assert table.get(raw).id == expected
    assert table.get(raw).known
    assert raw in table


def test_1m_suffix_opens_the_beta_window(table: ModelTable) -> None:
    m = table.get("claude-sonnet-4-5[1m]")
    assert m.extended_context and m.context_window_tokens == 1_000_000
    assert table.get("claude-sonnet-4-5").context_window_tokens == 200_000
    assert table.get("claude-opus-5-5[1m]") == table.get("claude-opus-5-5")  # 1M already
    haiku = table.get("claude-haiku-4-5[1m]")
    assert haiku.context_window_tokens == 200_000
    assert "'[1m]' ignored" in haiku.notes[-1]


def test_unknown_family_member_borrows_the_newest_current_verified_one(table: ModelTable) -> None:
    m = table.get("claude-opus-9-9")
    assert not m.known and not m.verified
    assert m.id == "claude-opus-9-9" and m.api_id == "claude-opus-9-9"
    assert m.input_usd_per_mtok == table.get("claude-opus-5-5").input_usd_per_mtok
    assert "Claude Opus 5.5" in m.notes[0]
    assert table.get("claude-fable-7").cache_read_usd_per_mtok == 0.25  # Fable 5.1's
    assert table.get("sonnet").family == "sonnet"  # Claude Code's bare alias
    assert table.get("gpt-7").provider == "openai"
    assert table.resolve("claude-opus-9-9") is None
    assert "claude-opus-9-9" not in table


def test_unknown_name_gets_the_documented_fallback(table: ModelTable) -> None:
    m = table.get("mystery-model")
    assert not m.known
    assert m.family == "unknown"
    assert (m.context_window_tokens, m.input_usd_per_mtok, m.output_usd_per_mtok) == (
        200_000,
        3.0,
        15.0,
    )
    assert "fallback values" in m.notes[0]


def test_warnings_name_unknown_retired_and_deprecated_models(table: ModelTable) -> None:
    unknown = table.get("claude-opus-9-9").warning()
    assert unknown is not None and "'claude-opus-9-9'" in unknown and "--models" in unknown
    retired = table.get("claude-sonnet-4-5-20250929").warning()
    assert retired is not None and "retired on 2026-11-30" in retired
    deprecated = table.get("claude-opus-4-5").warning()
    assert deprecated is not None and "deprecated" in deprecated
    assert table.get("claude-opus-5-5").warning() is None
    unverified = table.get("claude-fable-5-2").warning()
    assert unverified is not None and "third parties only" in unverified


def test_model_info_is_frozen(table: ModelTable) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.get("claude-opus-4-6").max_output_tokens = 1  # type: ignore[misc]


def test_default_table_is_read_once() -> None:
    assert default_table() is default_table()


def test_api_ids_are_first_party_ids(table: ModelTable) -> None:
    assert table.get("claude-sonnet-4").api_id == "claude-sonnet-4-0"
    assert table.get("claude-3-haiku").api_id == "claude-3-haiku-20240307"
    assert table.get("claude-opus-5-5").api_id == "claude-opus-5-5"


def test_table_round_trips_through_its_json(tmp_path: Path, table: ModelTable) -> None:
    path = tmp_path / "all.json"
    path.write_text(json.dumps(table.to_json()), encoding="utf-8")
    assert load_model_table(path).models == table.models


# ---- user files ------------------------------------------------------------------------------


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _complete_entry(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "claude-test-1",
        "display_name": "Claude Test 1",
        "family": "opus",
        "status": "active",
        "source": "my invoice",
        "checked": "2027-01-02",
        "context_window_tokens": 300_000,
        "max_output_tokens": 10_000,
        "input_usd_per_mtok": 7.0,
        "cache_write_5m_usd_per_mtok": 8.75,
        "cache_write_1h_usd_per_mtok": 14.0,
        "cache_read_usd_per_mtok": 0.35,
        "output_usd_per_mtok": 35.0,
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
    entry.update(overrides)
    return entry


def test_user_file_overrides_one_field_by_id(tmp_path: Path) -> None:
    path = _write(tmp_path, {"models": [{"id": "claude-opus-4-7", "min_cacheable_tokens": 4096}]})
    t = load_model_table(path)
    assert t.get("claude-opus-4-7").min_cacheable_tokens == 4096
    assert t.get("claude-opus-4-7").input_usd_per_mtok == 5.0  # the rest is kept
    assert default_table().get("claude-opus-4-7").min_cacheable_tokens == 2048


def test_hidden_prompt_figures_are_per_model_and_overridable(tmp_path: Path) -> None:
    table = default_table()
    # the tool-use overview's table (checked 2026-12-05)
    assert table.get("claude-sonnet-4-5").hidden_tokens("tool_use_auto") == 496
    assert table.get("claude-opus-4-7").hidden_tokens("tool_use_any") == 804
    assert table.get("gpt-4o").hidden_tokens("tool_use_auto") == 0
    every_claude = [m for m in table if m.provider == "anthropic"]
    assert all(m.hidden_tokens("tool_use_auto") > 0 for m in every_claude)
    override = {"id": "claude-opus-4-7", "hidden_prompt_tokens": {"tool_use_auto": 700}}
    t = load_model_table(_write(tmp_path, {"models": [override]}))
    assert t.get("claude-opus-4-7").hidden_tokens("tool_use_auto") == 700
    assert t.get("claude-opus-4-7").hidden_tokens("bash") == 0  # the whole field is replaced


def test_user_file_adds_a_model_with_aliases(tmp_path: Path) -> None:
    entry = _complete_entry(aliases=["claude-test-1-20270101"])
    t = load_model_table(_write(tmp_path, {"checked": "2027-01-02", "models": [entry]}))
    m = t.get("claude-test-1-20270101")
    assert m.known and m.id == "claude-test-1" and m.cache_read_usd_per_mtok == 0.35
    assert m.long_context_threshold_tokens is None  # from the bundled defaults
    assert t.checked == "2027-01-02"
    assert t.get("claude-opus-9").input_usd_per_mtok == 7.0  # new entries count as newest


def test_models_argument_takes_a_table_a_path_or_parsed_json(tmp_path: Path) -> None:
    data = {"models": [_complete_entry()]}
    assert as_table(None) is default_table()
    assert as_table(default_table()) is default_table()
    assert as_table(_write(tmp_path, data)).get("claude-test-1").known
    assert as_table(str(tmp_path / "models.json")).get("claude-test-1").known
    assert as_table(data).get("claude-test-1").output_usd_per_mtok == 35.0
    with pytest.raises(ValueError, match="models: expected"):
        as_table(3)  # type: ignore[arg-type]


def test_user_entry_takes_over_a_bundled_alias(tmp_path: Path) -> None:
    entry = _complete_entry(id="gpt-4o-2024-05-13", family="gpt", provider="openai")
    entry.update(input_usd_per_mtok=5.0, output_usd_per_mtok=15.0)
    t = load_model_table(_write(tmp_path, {"models": [entry]}))
    assert t.get("gpt-4o-2024-05-13").input_usd_per_mtok == 5.0
    assert t.get("gpt-4o-2024-08-06").input_usd_per_mtok == 2.5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"models": [{"id": "claude-new"}]}, "models[0] (claude-new): missing field(s)"),
        (
            {"models": [_complete_entry(cache_read_usd_per_mtok=None)]},
            "cache_read_usd_per_mtok: expected a number >= 0",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "cache_read_multiplier": 0.1}]},
            "cache_read_multiplier no longer exist(s): give each rate in $ per million tokens "
            "(cache_read_usd_per_mtok)",
        ),
        (
            {"defaults": {"cache_read_usd_per_mtok": 0.1}},
            "defaults.cache_read_usd_per_mtok: rates cannot be defaults",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "min_cacheable": 1}]},
            "unknown field(s) min_cacheable",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "context_window_tokens": "1M"}]},
            "context_window_tokens: expected an integer, got '1M'",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "input_usd_per_mtok": -1}]},
            "input_usd_per_mtok: expected a number >= 0",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "status": "sunset"}]},
            "status: expected 'active' or 'legacy' or 'deprecated' or 'retired'",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "retired_on": "30/11/2026"}]},
            "retired_on: expected an ISO date (YYYY-MM-DD) or null",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "checked": None}]},
            "checked: expected an ISO date (YYYY-MM-DD)",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "thinking_modes": ["extended"]}]},
            "thinking_modes: expected a non-empty list of",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "price_history": [{"until": "2026-01-01"}]}]},
            "price_history[0]: names no price that differed before 2026-01-01",
        ),
        (
            {
                "models": [
                    {
                        "id": "claude-opus-4-6",
                        "price_history": [{"until": "2026-01-01", "status": "legacy"}],
                    }
                ]
            },
            "price_history[0]: unknown field(s) status",
        ),
        (
            {
                "models": [
                    {
                        "id": "claude-opus-4-6",
                        "price_history": [
                            {"until": "2026-02-01", "input_usd_per_mtok": 6},
                            {"until": "2026-01-01", "input_usd_per_mtok": 7},
                        ],
                    }
                ]
            },
            "price_history[1].until: periods must be in date order",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "context_overflow": "truncate"}]},
            "context_overflow: expected 'validation_error' or 'model_context_window_exceeded'",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "provider": "google"}]},
            "provider: expected 'anthropic' or 'openai'",
        ),
        ({"model": []}, "unknown top-level key(s) model"),
        ({"models": [{"display_name": "x"}]}, "models[0] has no string 'id'"),
        (
            {"models": [{"id": "claude-opus-4-6", "aliases": ["claude-sonnet-4-5-20250929"]}]},
            "alias 'claude-sonnet-4-5-20250929' belongs to both",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "hidden_prompt_tokens": {"tools": 3}}]},
            "hidden_prompt_tokens.tools: unknown key",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "hidden_prompt_tokens": {"bash": -1}}]},
            "hidden_prompt_tokens.bash: expected an integer >= 0",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "hidden_prompt_tokens": [1, 2]}]},
            "hidden_prompt_tokens: expected an object",
        ),
    ],
)
def test_bad_user_files_are_refused_with_the_place(
    tmp_path: Path, data: object, message: str
) -> None:
    with pytest.raises(ValueError) as err:
        load_model_table(_write(tmp_path, data))
    assert message in str(err.value)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: not valid JSON"):
        load_model_table(path)


def test_model_info_with_1m_is_a_pure_copy(table: ModelTable) -> None:
    base: ModelInfo = table.get("claude-sonnet-4")
    wide = base.with_1m_context()
    assert wide is not base and base.context_window_tokens == 200_000
    assert wide.with_1m_context() is wide


def test_count_tokens_follows_the_models_argument() -> None:
    # Whether earlier turns' thinking is counted is the model table's per-model flag.
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "user", "content": "Hi there, explain caching."},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Caching, in depth. " * 20, "signature": "s"},
                    {"type": "text", "text": "Caching stores prefixes."},
                ],
            },
            {"role": "user", "content": "And TTLs?"},
        ],
    }
    stripped = ctxviz.count_tokens(body)["input_tokens"]
    keep = {"models": [{"id": "claude-sonnet-4-5", "preserves_thinking_by_default": True}]}
    kept = ctxviz.count_tokens(body, models=keep)["input_tokens"]
    assert kept > stripped + 100


def test_thinking_readers_name_models_of_the_table(table: ModelTable) -> None:
    """thinking_readers / reads_thinking_of name entries of the table ("*": any model), and
    only models with preserved thinking carry them."""
    for m in table:
        for name in (*(m.thinking_readers or ()), *(m.reads_thinking_of or ())):
            assert name == "*" or table.resolve(name) == name, (m.id, name)
        if m.thinking_readers is not None or m.reads_thinking_of is not None:
            assert m.preserved_thinking, m.id
    on_demand = {m.id for m in table if m.supports_compaction_on_demand}
    assert {"claude-opus-5-5", "claude-opus-4-6", "claude-sonnet-4-6"} <= on_demand
    assert not on_demand & {"claude-haiku-4-5", "claude-opus-4-5", "gpt-4o"}
