"""The model table: bundled data, lookups, unknown ids and user overrides."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from ctxviz.models import ModelInfo, ModelTable, default_table, load_model_table

BUNDLED = Path(__file__).resolve().parents[1] / "ctxviz" / "data" / "models.json"


@pytest.fixture(scope="module")
def table() -> ModelTable:
    return default_table()


def test_bundled_table_is_dated_and_sourced(table: ModelTable) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.checked)
    assert "SEMANTICS.md" in table.sources
    assert len(table) == len(json.loads(BUNDLED.read_text())["models"])


@pytest.mark.parametrize(
    "model_id",
    [
        "claude-opus-4-8",
        "claude-opus-4-7",
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "claude-opus-4-5",
        "claude-sonnet-4-5",
        "claude-sonnet-4",
        "claude-haiku-4-5",
        "claude-opus-4-1",
        "claude-opus-4",
        "claude-3-7-sonnet",
        "claude-3-5-haiku",
        "claude-3-haiku",
        "claude-opus-5",
        "claude-sonnet-5",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
    ],
)
def test_every_listed_model_is_in_the_table(table: ModelTable, model_id: str) -> None:
    info = table.get(model_id)
    assert info.id == model_id
    assert info.known


def test_windows_limits_and_prices_follow_semantics(table: ModelTable) -> None:
    # SEMANTICS.md section 2, row by row.
    expected = {
        "claude-opus-4-8": (1_000_000, 128_000, 5.0, 25.0),
        "claude-opus-4-7": (1_000_000, 128_000, 5.0, 25.0),
        "claude-opus-4-6": (1_000_000, 128_000, 5.0, 25.0),
        "claude-sonnet-4-6": (1_000_000, 128_000, 3.0, 15.0),
        "claude-opus-4-5": (200_000, 64_000, 5.0, 25.0),
        "claude-sonnet-4-5": (200_000, 64_000, 3.0, 15.0),
        "claude-sonnet-4": (200_000, 64_000, 3.0, 15.0),
        "claude-haiku-4-5": (200_000, 64_000, 1.0, 5.0),
        "claude-opus-4-1": (200_000, 32_000, 15.0, 75.0),
        "claude-opus-4": (200_000, 32_000, 15.0, 75.0),
    }
    for model_id, (window, out, price_in, price_out) in expected.items():
        m = table.get(model_id)
        assert (
            m.context_window_tokens,
            m.max_output_tokens,
            m.input_usd_per_mtok,
            m.output_usd_per_mtok,
        ) == (window, out, price_in, price_out), model_id


def test_one_million_beta_only_on_sonnet_4_and_4_5(table: ModelTable) -> None:
    with_beta = {m.id for m in table if m.context_1m_beta is not None}
    assert with_beta == {"claude-sonnet-4", "claude-sonnet-4-5"}
    for model_id in with_beta:
        m = table.get(model_id)
        assert m.context_1m_beta == "context-1m-2025-08-07"
        assert m.extended_context_window_tokens == 1_000_000
        assert m.long_context_threshold_tokens == 200_000
        assert (m.long_context_input_multiplier, m.long_context_output_multiplier) == (2.0, 1.5)


def test_anthropic_cache_multipliers(table: ModelTable) -> None:
    for m in table:
        if m.provider == "anthropic":
            assert (
                m.cache_write_5m_multiplier,
                m.cache_write_1h_multiplier,
                m.cache_read_multiplier,
            ) == (1.25, 2.0, 0.1), m.id
    sonnet = table.get("claude-sonnet-4-5")
    assert sonnet.cache_write_5m_usd_per_mtok == pytest.approx(3.75)
    assert sonnet.cache_write_1h_usd_per_mtok == pytest.approx(6.0)
    assert sonnet.cache_read_usd_per_mtok == pytest.approx(0.30)


@pytest.mark.parametrize(
    ("model_id", "tokens"),
    [
        ("claude-sonnet-4-5", 1024),
        ("claude-sonnet-4", 1024),
        ("claude-opus-4", 1024),
        ("claude-opus-4-1", 1024),
        ("claude-opus-4-5", 4096),
        ("claude-opus-4-6", 4096),
        ("claude-haiku-4-5", 4096),
        ("claude-3-5-haiku", 2048),
        ("claude-3-haiku", 2048),
    ],
)
def test_min_cacheable_prefix(table: ModelTable, model_id: str, tokens: int) -> None:
    assert table.get(model_id).min_cacheable_tokens == tokens


def test_thinking_preserved_by_default_from_opus_4_5(table: ModelTable) -> None:
    preserved = {
        m.id for m in table if m.provider == "anthropic" and m.preserves_thinking_by_default
    }
    assert preserved == {
        "claude-opus-5",
        "claude-sonnet-5",
        "claude-opus-4-8",
        "claude-opus-4-7",
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "claude-opus-4-5",
    }


def test_overflow_behaviour_changes_at_4_5(table: ModelTable) -> None:
    for model_id in ("claude-sonnet-4", "claude-opus-4-1", "claude-opus-4", "claude-3-7-sonnet"):
        assert table.get(model_id).context_overflow == "validation_error"
    for model_id in ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5", "claude-opus-4-8"):
        assert table.get(model_id).context_overflow == "model_context_window_exceeded"


def test_tokenizer_families(table: ModelTable) -> None:
    assert table.get("claude-opus-4-6").tokenizer == "v3"
    assert table.get("claude-sonnet-4-6").tokenizer == "v3"
    assert table.get("claude-haiku-4-5").tokenizer == "v3"
    assert table.get("claude-opus-4-7").tokenizer == "v4.7"
    assert table.get("claude-opus-4-8").tokenizer == "v5"
    assert table.get("claude-opus-5").tokenizer == "v5"


def test_compaction_and_context_awareness_flags(table: ModelTable) -> None:
    compact = {m.id for m in table if m.supports_compact_20260112}
    assert {"claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-4-8"} <= compact
    assert not compact & {"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o"}
    aware = {m.id for m in table if m.context_awareness}
    assert aware == {"claude-sonnet-4-5", "claude-sonnet-4-6", "claude-haiku-4-5"}


def test_claude_5_entries_are_marked_unverified_with_notes(table: ModelTable) -> None:
    for model_id in ("claude-opus-5", "claude-sonnet-5"):
        m = table.get(model_id)
        assert not m.verified
        assert any("Unverified" in n for n in m.notes)
    assert all(m.verified for m in table if not m.id.endswith("-5"))


def test_differing_sources_are_recorded_in_notes(table: ModelTable) -> None:
    notes = " ".join(table.get("claude-sonnet-4-6").notes)
    assert "max_output_tokens" in notes and "64K" in notes
    assert "min_cacheable_tokens" in notes and "2,048" in notes


def test_openai_rows_claim_no_anthropic_feature(table: ModelTable) -> None:
    openai = [m for m in table if m.provider == "openai"]
    assert {m.id for m in openai} == {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"}
    for m in openai:
        assert not (m.supports_compact_20260112 or m.supports_context_editing)
        assert not (m.context_awareness or m.preserves_thinking_by_default)
        assert m.cache_write_5m_multiplier == 1.0  # automatic caching: no write premium
    assert table.get("gpt-4o").context_window_tokens == 128_000
    assert table.get("gpt-4.1").input_usd_per_mtok == 2.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("CLAUDE-OPUS-4-6", "claude-opus-4-6"),
        ("claude-opus-4-6[1m]", "claude-opus-4-6"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-3.7-sonnet:thinking", "claude-3-7-sonnet"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("openai/gpt-4.1", "gpt-4.1"),
    ],
)
def test_resolution(table: ModelTable, raw: str, expected: str) -> None:
    assert table.resolve(raw) == expected
    assert table.get(raw).id == expected
    assert raw in table


def test_1m_suffix_opens_the_beta_window(table: ModelTable) -> None:
    m = table.get("claude-sonnet-4-5[1m]")
    assert m.extended_context and m.context_window_tokens == 1_000_000
    assert table.get("claude-sonnet-4-5").context_window_tokens == 200_000
    already = table.get("claude-opus-4-6[1m]")
    assert already == table.get("claude-opus-4-6")  # 1M already: nothing to switch on
    haiku = table.get("claude-haiku-4-5[1m]")
    assert haiku.context_window_tokens == 200_000
    assert "'[1m]' ignored" in haiku.notes[-1]


def test_unknown_family_member_borrows_the_newest_verified_one(table: ModelTable) -> None:
    m = table.get("claude-opus-9-9")
    assert not m.known and not m.verified
    assert m.id == "claude-opus-9-9" and m.api_id == "claude-opus-9-9"
    assert m.input_usd_per_mtok == table.get("claude-opus-4-8").input_usd_per_mtok
    assert "not in the model table" in m.notes[0] and "Claude Opus 4.8" in m.notes[0]
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


def test_model_info_is_frozen(table: ModelTable) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.get("claude-opus-4-6").max_output_tokens = 1  # type: ignore[misc]


def test_default_table_is_read_once() -> None:
    assert default_table() is default_table()


def test_api_ids_are_first_party_ids(table: ModelTable) -> None:
    assert table.get("claude-sonnet-4").api_id == "claude-sonnet-4-0"
    assert table.get("claude-3-haiku").api_id == "claude-3-haiku-20240307"
    assert table.get("claude-opus-4-6").api_id == "claude-opus-4-6"


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
        "context_window_tokens": 300_000,
        "max_output_tokens": 10_000,
        "input_usd_per_mtok": 7.0,
        "output_usd_per_mtok": 35.0,
        "min_cacheable_tokens": 1024,
        "preserves_thinking_by_default": True,
        "context_overflow": "model_context_window_exceeded",
        "tokenizer": "v5",
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


def test_user_file_adds_a_model_with_aliases(tmp_path: Path) -> None:
    entry = _complete_entry(aliases=["claude-test-1-20270101"])
    t = load_model_table(_write(tmp_path, {"checked": "2027-01-02", "models": [entry]}))
    m = t.get("claude-test-1-20270101")
    assert m.known and m.id == "claude-test-1" and m.input_usd_per_mtok == 7.0
    assert m.cache_write_5m_multiplier == 1.25  # from the bundled defaults
    assert t.checked == "2027-01-02"
    assert t.get("claude-opus-9").input_usd_per_mtok == 7.0  # new entries count as newest


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
            {"models": [{"id": "claude-opus-4-6", "min_cacheable": 1}]},
            "unknown field(s) min_cacheable",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "context_window_tokens": "1M"}]},
            "context_window_tokens: expected an integer, got '1M'",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "context_window_tokens": 0}]},
            "context_window_tokens: expected a positive integer",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "input_usd_per_mtok": -1}]},
            "input_usd_per_mtok: expected a number >= 0",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "context_overflow": "truncate"}]},
            "context_overflow: expected 'validation_error' or 'model_context_window_exceeded'",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "provider": "google"}]},
            "provider: expected 'anthropic' or 'openai'",
        ),
        (
            {"models": [{"id": "claude-opus-4-6", "context_awareness": 1}]},
            "context_awareness: expected true or false",
        ),
        ({"model": []}, "unknown top-level key(s) model"),
        ({"models": [{"display_name": "x"}]}, "models[0] has no string 'id'"),
        (
            {"models": [{"id": "claude-opus-4-6", "aliases": ["claude-sonnet-4-5-20250929"]}]},
            "alias 'claude-sonnet-4-5-20250929' belongs to both",
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
