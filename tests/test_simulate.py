"""Golden tests of the as-recorded replay, thinking stripping, composition and result shape.

Counter: one token per word, message frame 0 unless a test says otherwise, so every number below
is computed by hand in the comment next to it.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from _sim_builders import assistant, call, conversation, result, think, usage, user, w, words

from ctxviz.categories import CATEGORIES
from ctxviz.model import Conversation, RedactedThinkingBlock
from ctxviz.simulator import EVENT_COLUMNS, REQUEST_COLUMNS, simulate


def sim(conv: Conversation, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("counter", words)
    kw.setdefault("message_frame_tokens", 0)
    return simulate(conv, **kw)  # type: ignore[arg-type]


def test_empty_conversation_has_all_columns() -> None:
    s = sim(conversation([]))
    assert list(s.requests.columns) == list(REQUEST_COLUMNS)
    assert list(s.events.columns) == list(EVENT_COLUMNS)
    assert list(s.composition.columns) == list(CATEGORIES)
    assert len(s.requests) == 0 and len(s.events) == 0 and len(s.composition) == 0


def test_estimated_rows_and_pending_request() -> None:
    # u0 (3) a1 (2) u2 (4): request 0 sees u0 = 3; request 1 (pending) sees 3 + 2 + 4 = 9
    conv = conversation([user(w(3)), assistant(w(2)), user(w(4))])
    r = sim(conv).requests
    assert r["input_tokens"].tolist() == [3, 9]
    assert r["output_tokens"].tolist() == [2, 0]
    assert r["context_tokens"].tolist() == [5, 9]
    assert r["source"].tolist() == ["estimated", "estimated"]
    assert r["original_input_tokens"].tolist() == [3, 9]


def test_message_frames_count_once_per_message() -> None:
    conv = conversation([user(w(3)), assistant(w(2)), user(w(4))])
    r = sim(conv, message_frame_tokens=7).requests
    assert r["input_tokens"].tolist() == [3 + 7, 9 + 3 * 7]


def test_as_recorded_reproduces_usage_to_the_token() -> None:
    conv = conversation(
        [user(w(10)), assistant(w(5)), user(w(10)), assistant(w(5))],
        usages=[usage(1000, 50, write=1000), usage(1300, 60, read=1000, write=300)],
    )
    s = sim(conv)
    r = s.requests
    assert r["input_tokens"].tolist() == [1000, 1300]
    assert r["output_tokens"].tolist() == [50, 60]
    assert r["source"].tolist() == ["recorded", "recorded"]
    assert r["cache_read_input_tokens"].tolist() == [0, 1000]
    assert r["cache_creation_input_tokens"].tolist() == [1000, 300]
    assert r["uncached_input_tokens"].tolist() == [0, 0]
    # scale: (1000 + 1300) / (10 + 25) estimated words
    assert s.scale == pytest.approx(2300 / 35)
    assert (s.composition.sum(axis=1) == r["input_tokens"]).all()


def test_hidden_prefix_is_first_prompt_minus_visible_estimate() -> None:
    # first prompt 1,010 recorded, visible 10 words -> hidden 1,000; second: 1,030 = 1000 + 30
    conv = conversation(
        [user(w(10)), assistant(w(10)), user(w(10)), assistant(w(1))],
        usages=[usage(1010, 10), usage(1030, 1)],
        fmt="claude-code",
        hidden_prefix=True,
    )
    s = sim(conv)
    assert s.hidden_prefix_tokens == 1000
    assert s.scale == pytest.approx(1.0)
    comp = s.composition
    assert comp["hidden_prefix"].tolist() == [1000, 1000]
    assert comp["user_text"].tolist() == [10, 20]
    assert comp["assistant_text"].tolist() == [0, 10]
    assert (comp.sum(axis=1) == s.requests["input_tokens"]).all()


def test_composition_adds_up_with_largest_remainder() -> None:
    # 3 user words and 3 assistant words scaled to a 10-token recorded prompt: 5 / 5 split
    # 1 / 1 / 1 would be 3.33 each; the largest remainders take the spare tokens.
    conv = conversation(
        [user(w(1)), assistant(w(1)), user(w(1)), assistant(w(1)), user(w(1)), assistant(w(1))],
        usages=[usage(1, 1), usage(3, 1), usage(10, 1)],
    )
    s = sim(conv)
    assert (s.composition.sum(axis=1) == s.requests["input_tokens"]).all()
    assert s.composition.to_numpy().min() >= 0


# ---- thinking (docs/semantics.md#thinking) ------------------------------------------------------


def thinking_conversation() -> Conversation:
    # turn 0: u0 "2"; a1 [think 5, call t1 (name 1 + input {} 1 = 2)]; u2 [result 3];
    #         a3 [think 4, text 1]
    # turn 1: u4 "2"; a5 [think 6, text 1]
    return conversation(
        [
            user(w(2)),
            assistant(think(w(5)), call("t1")),
            user(result("t1", w(3))),
            assistant(think(w(4)), w(1)),
            user(w(2)),
            assistant(think(w(6)), w(1)),
        ]
    )


def test_current_turn_thinking_is_kept_earlier_turns_stripped() -> None:
    r = sim(thinking_conversation()).requests
    # req0: u0 = 2
    # req1 (tool loop, turn 0): u0 2 + a1 (5 + 2) + u2 3 = 12, current thinking kept
    # req2 (new turn 1): u0 2 + a1 2 (thinking stripped) + u2 3 + a3 1 + u4 2 = 10
    assert r["input_tokens"].tolist() == [2, 12, 10]
    assert r["turn"].tolist() == [0, 0, 1]
    assert r["thinking_carried_tokens"].tolist() == [0, 5, 0]
    assert r["thinking_stripped_tokens"].tolist() == [0, 0, 9]
    # generated thinking, estimated from the text (no usage)
    assert r["thinking_tokens"].tolist() == [5, 4, 6]


def test_thinking_preservation_keeps_earlier_turns() -> None:
    r = sim(thinking_conversation(), thinking_preservation=True).requests
    assert r["input_tokens"].tolist() == [2, 12, 19]  # 10 + 5 + 4
    assert r["thinking_stripped_tokens"].tolist() == [0, 0, 0]


def test_opus_4_5_preserves_thinking_by_default() -> None:
    conv = thinking_conversation()
    r = sim(conv, model="claude-opus-4-5").requests
    assert r["input_tokens"].tolist() == [2, 12, 19]
    r = sim(conv, model="claude-opus-4-5", thinking_preservation=False).requests
    assert r["input_tokens"].tolist() == [2, 12, 10]


def test_thinking_tokens_from_output_minus_visible_blocks() -> None:
    # recorded output 40, the response's visible text is 1 word (scale 1): thinking 39
    conv = conversation(
        [user(w(2)), assistant(think(w(3)), w(1))],
        usages=[usage(2, 40)],
    )
    assert sim(conv).requests["thinking_tokens"].tolist() == [39]
    conv = conversation(
        [user(w(2)), assistant(think(w(3)), w(1))],
        usages=[usage(2, 40, thinking_tokens=30)],
    )
    assert sim(conv).requests["thinking_tokens"].tolist() == [30]


def test_redacted_thinking_is_estimated_and_says_so() -> None:
    conv = conversation([user(w(2)), assistant(RedactedThinkingBlock(data="a" * 160), w(1))])
    s = sim(conv)
    assert s.requests["thinking_tokens"].tolist() == [30]  # 160 * 3 / 16
    assert any("redacted_thinking" in x for x in s.warnings)


def test_what_if_on_recorded_keeps_untouched_requests_recorded() -> None:
    # request 2 strips 9 thinking words by default; preserving them adds 9 x scale
    conv = thinking_conversation()
    conv = conversation(conv.messages, usages=[usage(20, 7), usage(120, 5), usage(100, 7)])
    base = sim(conv)
    assert base.requests["input_tokens"].tolist() == [20, 120, 100]
    s = sim(conv, thinking_preservation=True)
    r = s.requests
    assert r["source"].tolist() == ["recorded", "recorded", "estimated"]
    assert r["input_tokens"].tolist()[:2] == [20, 120]
    assert r["input_tokens"].iat[2] == 100 + round(9 * s.scale)


def test_settings_are_frozen_and_hashable() -> None:
    s = sim(conversation([user(w(3))]))
    hash(s.settings)
    with pytest.raises(AttributeError):
        s.settings.model = "x"  # type: ignore[misc]


def test_frames_dtypes() -> None:
    s = sim(thinking_conversation())
    assert isinstance(s.requests, pd.DataFrame)
    assert s.requests["input_tokens"].dtype.kind == "i"
    assert s.requests["over_window"].dtype == bool


def test_tool_results_category() -> None:
    conv = conversation([user(w(1)), assistant(call("a")), user(result("a", w(4)))])
    s = sim(conv)
    assert s.composition["tool_results"].tolist() == [0, 4]
    assert s.composition["tool_inputs"].tolist() == [0, 2]


def test_max_tokens_override_flags_up_front_rejection_on_older_models() -> None:
    """Models before 4.5 refuse input + max_tokens > window: a max_tokens what-if shows it."""
    from ctxviz.model import Message, TextBlock, requests_from_messages

    msgs = (Message(role="user", content=(TextBlock(text="word " * 50),)),)
    conv = Conversation(format="anthropic", messages=msgs, requests=requests_from_messages(msgs))
    base = simulate(conv, model="claude-opus-4-1", context_window=1_000, counter=words)
    assert base.events.empty
    prompt = int(base.requests["input_tokens"].iloc[-1])
    sim = simulate(
        conv,
        model="claude-opus-4-1",
        context_window=1_000,
        max_tokens=1_000 - prompt + 1,
        counter=words,
    )
    assert list(sim.events["type"]) == ["context_window_exceeded"]
    assert bool(sim.requests["over_window"].iloc[-1])
    newer = simulate(
        conv,
        model="claude-opus-4-5",
        context_window=1_000,
        max_tokens=1_000 - prompt + 1,
        counter=words,
    )
    assert newer.events.empty  # 4.5+ accepts the request and stops at the window instead
    with pytest.raises(ValueError, match="max_tokens: expected a positive integer"):
        simulate(conv, max_tokens=0)


def test_an_estimated_row_of_a_mixed_log_uses_its_own_segments_system_and_tools() -> None:
    # A log of two conversations: A with a 50-word system prompt and a tool, B with a 2-word one
    # and none. B's second request has no response: it is estimated on B's own prefix.
    import json

    from ctxviz.loading import loads

    def pair(system: str, tools: list[object], messages: list[object], out: object) -> str:
        body = {"model": "claude-sonnet-4-6", "system": system, "tools": tools}
        return json.dumps({"request": {**body, "messages": messages}, "response": out})

    def reply(text: str, prompt: int) -> dict[str, object]:
        return {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": prompt, "output_tokens": len(text.split())},
        }

    # 15 words as the tool-use system prompt lists it: <function>{"description": "x x … x ",
    # "name": "t", "parameters": {}}</function>
    tool = {"name": "t", "description": "x " * 9, "input_schema": {}}
    b1 = [{"role": "user", "content": "b b b"}]
    b2 = [*b1, {"role": "assistant", "content": "ok fine"}, {"role": "user", "content": "c c"}]
    log = "\n".join(
        [
            # recorded prompts equal their estimates, so the scale is 1 (one word, one token; A's
            # tools carry Sonnet 4.6's tool-use system prompt, 497)
            pair(
                w(50),
                [tool],
                [{"role": "user", "content": "a a a"}],
                reply("yes", 50 + 15 + 497 + 3),
            ),
            pair(w(2), [], b1, reply("ok fine", 2 + 3)),
            pair(w(2), [], b2, None),
        ]
    )
    conv = loads(log)
    s = sim(conv)
    r = s.requests
    assert r["source"].tolist() == ["recorded", "recorded", "estimated"]
    assert s.scale == 1.0
    # B's system (2) + b b b (3) + ok fine (2) + c c (2), not A's system and tools (562)
    assert r["input_tokens"].tolist() == [565, 5, 9]
    assert s.composition["system"].tolist() == [50, 2, 2]
    assert s.composition["tools"].tolist() == [512, 0, 0]
    # B cannot read what A cached (another system prompt in front); B's next request can
    assert r["reusable_prefix_tokens"].tolist() == [0, 0, 5]


@pytest.mark.parametrize(
    ("name", "iteration", "rows"),
    [
        # (uncached, cache writes, cache reads, output) of the compaction iteration
        ("test_anthropic_compaction_end_to_end.yaml", (55_196, 0, 0, 125), 2),
        ("test_anthropic_compaction_usage_with_cache.yaml", (100, 55_096, 0, 131), 1),
    ],
)
def test_peak_prompt_counts_a_compaction_iterations_input(
    samples_dir: Path, name: str, iteration: tuple[int, int, int, int], rows: int
) -> None:
    from ctxviz import figures, load
    from ctxviz.models import default_table
    from ctxviz.notebook import summarize

    s = simulate(load(samples_dir / "05_anthropic-messages-api_pydantic-ai" / name))
    r = s.requests
    assert len(r) == rows
    read = sum(iteration[:3])
    assert read == 55_196  # what the server compacted, while the rows' prompts stay ~230
    assert int(r["compaction_input_tokens"].iloc[0]) == read
    assert r["input_tokens"].max() < 300
    summary = summarize(s)
    assert (summary.peak_input_tokens, summary.peak_request) == (read, 0)
    assert figures.summary(s)["peak_prompt_tokens"] == read
    fig = figures.timeline(s)
    (marker,) = [t for t in fig.data if "compaction_input_tokens" in (t.name or "")]
    assert list(marker.x) == [0] and list(marker.y) == [read]
    # and the iteration is priced with its own split (already so: checked, not changed)
    info = default_table().get("claude-sonnet-4-6")
    uncached, writes, reads, out = iteration
    expected = (
        uncached * info.input_usd_per_mtok
        + writes * info.cache_write_5m_usd_per_mtok
        + reads * info.cache_read_usd_per_mtok
        + out * info.output_usd_per_mtok
    ) / 1e6
    assert float(r["compaction_cost_usd"].iloc[0]) == pytest.approx(expected)


class _UniterableText(str):
    """Text that fails when read one character at a time."""

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("a tool result's text was iterated character by character")


def test_a_tool_results_text_is_never_read_a_character_at_a_time() -> None:
    """Counting unsized images looked inside every tool result, and a text result is a string:
    3.6M steps a replay at 3,039 requests (0.85 s of a 1.0 s warm replay)."""
    text = _UniterableText(w(50))
    conv = conversation(
        [user("go"), assistant(call("t1")), user(result("t1", text)), assistant("done")],
    )
    sim = simulate(conv)
    assert len(sim.requests) == 2


_BUNDLED_SESSION = Path(__file__).parents[1] / "sample_conversations" / "claude_code_session.zip"


def test_frames_are_built_on_first_read_from_the_columns() -> None:
    # a replay needs no pandas (the command line's summary reads the arrays); the frames hold
    # exactly the arrays' values, and a frame is built once
    code = (
        "import sys\n"
        "import ctxviz\n"
        f"sim = ctxviz.simulate(ctxviz.load({str(_BUNDLED_SESSION)!r}))\n"
        "from ctxviz.summary import summarize\n"
        "summary = summarize(sim)\n"
        "assert 'pandas' not in sys.modules, 'simulate or summarize imported pandas'\n"
        "assert sim.requests is sim.requests and sim.events is sim.events\n"
        "assert 'pandas' in sys.modules\n"
        "import types\n"
        "frames = types.SimpleNamespace(requests=sim.requests, events=sim.events,\n"
        "    composition=sim.composition, settings=sim.settings, warnings=sim.warnings)\n"
        "assert summarize(frames) == summary, (summarize(frames), summary)\n"
        "for name, values in sim.request_columns.items():\n"
        "    shown = sim.requests[name].astype(object).where(sim.requests[name].notna(), None)\n"
        "    assert list(shown) == list(values), name\n"
        "assert (sim.composition.to_numpy() == sim.composition_tokens).all()\n"
        "assert [dict(e) for e in sim.event_records] == [\n"
        "    {k: (None if v != v or v is None else v) for k, v in r.items()}\n"
        "    for r in sim.events.astype(object).to_dict('records')]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_simulation_pickles_whole() -> None:
    # a replay as recorded that defers its estimates is pickled whole (joblib, multiprocessing,
    # caches); a what-if as it is
    from ctxviz import load

    conv = load(_BUNDLED_SESSION)
    for sim in (simulate(conv), simulate(conv, rolling_window=50_000)):
        back = pickle.loads(pickle.dumps(sim))
        assert not back.deferred
        assert back.requests.equals(sim.requests)
        assert (back.composition.to_numpy() == sim.composition.to_numpy()).all()
        assert back.scale == sim.scale and back.warnings == sim.warnings
        assert repr(back.prompt_view(len(sim.requests) - 1)) == repr(
            sim.prompt_view(len(sim.requests) - 1)
        )


def test_a_prompt_views_text_is_made_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Inspector shows a prompt's blocks ten at a time: a view writes no block's text (tool
    inputs as JSON) until that block's text is read, and then it is the block's text."""
    from ctxviz import load
    from ctxviz.simulator import inspector
    from ctxviz.simulator.blocks import block_text

    conv = load(_BUNDLED_SESSION)
    edit = {"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 30000}}
    sim = simulate(conv, context_management={"edits": [edit]})
    request = max(
        range(len(sim.requests)),
        key=lambda i: sum(b.status == "cleared" for b in sim.prompt_view(i).blocks),
    )
    made: list[object] = []

    def counted(block: object) -> str:
        made.append(block)
        return block_text(block)  # type: ignore[arg-type]

    monkeypatch.setattr(inspector, "block_text", counted)
    view = sim.prompt_view(request)
    assert len(view.blocks) > 50 and not made
    table = view.to_frame(text=False)
    assert "text" not in table.columns and not made
    texts = view.to_frame()["text"].tolist()
    assert len(made) == sum(not isinstance(b.content, str) for b in view.blocks)
    assert {b.status for b in view.blocks} >= {"kept", "cleared"}
    for b, text in zip(view.blocks, texts, strict=True):
        msg = conv.messages[b.message].content[b.block] if b.message >= 0 else None
        if b.status == "cleared" and b.type == "tool_result":
            assert text == inspector.clear_tool_uses.PLACEHOLDER
        elif msg is not None:
            assert text == block_text(msg)
