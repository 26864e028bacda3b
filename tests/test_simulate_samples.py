"""Replaying real transcripts (../shared/samples) and the bundled samples.

As recorded, every request that carries usage is reproduced to the token; every what-if runs,
keeps the composition adding up, and never makes a prompt larger than as recorded except by its
placeholders and summaries.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctxviz.loading import load_all
from ctxviz.model import Conversation
from ctxviz.simulator import REQUEST_COLUMNS, Simulation, simulate
from ctxviz.simulator.result import DEFERRED_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "samples"
BUNDLED = ROOT / "sample_conversations"
FILE_TYPES = ("*.jsonl", "*.json", "*.yaml", "*.xz", "*.zip")


def files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    out = [p for pattern in FILE_TYPES for p in folder.rglob(pattern)]
    return sorted(p for p in out if not p.name.endswith(".meta.json"))


def with_subagents(conv: Conversation) -> Iterator[Conversation]:
    yield conv
    for sub in conv.subagents:
        yield from with_subagents(sub)


def conversations(path: Path) -> list[Conversation]:
    return [c for top in load_all(path) for c in with_subagents(top)]


SHARED_FILES = files(SHARED)
BUNDLED_FILES = [p for p in files(BUNDLED) if p.name != "generate.py"]


def check_as_recorded(conv: Conversation) -> Simulation:
    sim = simulate(conv)
    r = sim.requests
    assert len(r) == len(conv.requests)
    for row, req in zip(r.itertuples(), conv.requests, strict=True):
        if req.usage is not None:
            assert row.source == "recorded"
            assert row.input_tokens == req.usage.prompt_tokens
            assert row.output_tokens == req.usage.output_tokens
            assert row.cache_read_input_tokens == req.usage.cache_read_input_tokens
        else:
            assert row.source == "estimated"
    assert (sim.composition.sum(axis=1) == r["input_tokens"]).all()
    assert (sim.composition.to_numpy() >= 0).all()
    return sim


@pytest.mark.skipif(not SHARED_FILES, reason=f"real samples not found at {SHARED}")
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_real_samples_reproduce_recorded_usage(path: Path) -> None:
    for conv in conversations(path):
        check_as_recorded(conv)


@pytest.mark.skipif(not BUNDLED_FILES, reason="bundled samples missing")
@pytest.mark.parametrize("path", BUNDLED_FILES, ids=lambda p: p.name)
def test_bundled_samples_reproduce_recorded_usage(path: Path) -> None:
    for conv in conversations(path):
        check_as_recorded(conv)


WHAT_IFS: dict[str, dict[str, Any]] = {
    "clear_tool_uses": {
        "context_management": {
            "edits": [
                {
                    "type": "clear_tool_uses_20250919",
                    "trigger": {"type": "input_tokens", "value": 5_000},
                    "keep": {"type": "tool_uses", "value": 2},
                }
            ]
        }
    },
    "compact": {
        "context_management": {
            "edits": [
                {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50_000}}
            ]
        }
    },
    "compaction_control": {
        "compaction_control": {"enabled": True, "context_token_threshold": 40_000}
    },
    "claude_code": {"claude_code_autocompact": {"reserve_tokens": 150_000}},
    "rolling": {"rolling_window": 30_000},
    "undo": {"undo_recorded_compactions": True},
    "preserve": {"thinking_preservation": True},
}


@pytest.mark.skipif(not SHARED_FILES, reason=f"real samples not found at {SHARED}")
@pytest.mark.parametrize("name", list(WHAT_IFS))
def test_what_ifs_on_real_samples(name: str) -> None:
    kwargs = WHAT_IFS[name]
    for path in SHARED_FILES:
        for conv in conversations(path):
            base = simulate(conv)
            sim = simulate(conv, **kwargs)
            r = sim.requests
            assert (sim.composition.sum(axis=1) == r["input_tokens"]).all(), path.name
            if name in ("undo", "preserve"):
                continue  # these add content back
            before = base.requests.set_index("request")["input_tokens"]
            for row in r.itertuples():
                allowed = before[row.recorded_request] + row.placeholder_tokens + row.summary_tokens
                assert row.input_tokens <= allowed, (path.name, row.request)


@pytest.mark.skipif(not SHARED_FILES, reason=f"real samples not found at {SHARED}")
def test_claude_code_hidden_prefix_and_manual_compaction() -> None:
    path = (
        SHARED
        / "02_claude-code_spotter_manualcompact"
        / "ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"
    )
    conv = conversations(path)[0]
    sim = simulate(conv)
    # about 26K tokens of system prompt and tools that the file does not hold
    assert 20_000 < sim.hidden_prefix_tokens < 32_000
    ev = sim.events[sim.events["type"] == "recorded_compaction"]
    assert ev["tokens_before"].tolist() == [142_431]
    assert (sim.requests["context_window"] == 200_000).all()


def check_deferred_equals_whole(conv: Conversation, **kwargs: Any) -> bool:
    """A replay as recorded that leaves the prompts' estimates for later reads, from the
    recording and the responses, exactly what the whole replay says (every column but the
    estimate-made ones, the events, warnings and hidden prefix). Returns whether it deferred."""
    sim = simulate(conv, **kwargs)
    if not sim.deferred:
        return False
    cheap = {n: list(sim.request_columns[n]) for n in REQUEST_COLUMNS if n not in DEFERRED_COLUMNS}
    assert sim.deferred, "reading a column the recording gives ran the whole replay"
    whole = sim._whole()
    for name, values in cheap.items():
        assert values == list(whole.request_columns[name]), name
    assert list(sim.event_records) == list(whole.event_records)
    assert sim.warnings == whole.warnings
    assert sim.hidden_prefix_tokens == whole.hidden_prefix_tokens
    for name in DEFERRED_COLUMNS:  # read on demand: the whole replay's
        assert list(sim.request_columns[name]) == list(whole.request_columns[name]), name
    assert not sim.deferred
    assert (sim.composition.to_numpy() == whole.composition.to_numpy()).all()
    assert sim.scale == whole.scale
    at_once = simulate(conv, defer_estimates=False, **kwargs)  # one pass, the same numbers
    assert not at_once.deferred
    assert at_once.requests.equals(sim.requests)
    assert at_once.composition.equals(sim.composition)
    return True


@pytest.mark.skipif(not SHARED_FILES, reason=f"real samples not found at {SHARED}")
def test_a_replay_as_recorded_defers_the_prompts_estimates_without_changing_a_number() -> None:
    deferred = 0
    for path in [*SHARED_FILES, *BUNDLED_FILES]:
        for conv in conversations(path):
            for kwargs in ({}, {"context_window": 60_000}):
                deferred += check_deferred_equals_whole(conv, **kwargs)
    assert deferred >= 30  # every Claude Code session and sub-agent, most API logs


def test_a_replay_as_recorded_defers_on_cut_and_shuffled_real_sessions(
    tmp_path: Path, samples_dir: Path
) -> None:
    # real structure: the thinking session with a record cut, and with its lines shuffled (the
    # reader rebuilds the chain from the uuids)
    session = (
        samples_dir
        / "03_claude-code_ccl_thinking_v2.0.37"
        / "cb2e607c-c758-415a-8b45-c49e4631906a.jsonl"
    )
    source = session.read_text(encoding="utf-8").splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(source[:40] + source[41:]) + "\n", encoding="utf-8")
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(random.Random(7).sample(source, len(source))) + "\n")
    for path in (cut, shuffled):
        for conv in conversations(path):
            assert check_deferred_equals_whole(conv), path.name


def test_a_claude_code_session_has_no_system_prompt_in_its_composition(samples_dir: Path) -> None:
    # the file holds no system prompt (it is in the hidden prefix): the prompt's own frame, which
    # the composition counted as "system" (3 tokens shown in the Inspector), is "other"
    path = samples_dir / "04_claude-code_ccl_v2.1.114_subagents"
    for conv in conversations(path):
        assert not conv.system
        sim = simulate(conv)
        assert (sim.composition["system"] == 0).all()
        assert (sim.composition.sum(axis=1) == sim.requests["input_tokens"]).all()
        view = sim.prompt_view(len(sim.requests) - 1)
        assert "system" not in {b.category for b in view.blocks if b.message == -1}


def test_counted_texts_are_every_text_a_replay_counts(samples_dir: Path) -> None:
    """What a worker counts ahead (``estimates.counted_texts``) is what the first replay asks
    the counter for: all of it but clear_tool_uses' placeholder, which the replay counts apart."""
    import ctxviz
    from ctxviz.estimates import counted_texts
    from ctxviz.models import default_table
    from ctxviz.simulator.prepare import first_model
    from ctxviz.tokens import count_text, family_for_model

    for path in sorted(samples_dir.glob("0[234]*/*.jsonl")):
        conv = ctxviz.load(path)
        model_id = first_model(conv)
        table = default_table()
        family = family_for_model(model_id)
        texts = counted_texts(
            conv, family=family, model=table.get(model_id) if model_id else None, table=table
        )
        asked: list[str] = []

        def spy(text: str, family: str, asked: list[str] = asked) -> int:
            asked.append(text)
            return count_text(text, family)  # type: ignore[arg-type]

        simulate(conv, counter=spy, defer_estimates=False)
        assert len(texts) == len(set(texts))
        assert set(asked) - set(texts) == {"[Tool result cleared to save context]"}, path
        assert set(texts) <= set(asked), path
