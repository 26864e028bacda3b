"""Figures drawn from hand-made frames with the documented columns (no simulator needed)."""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from ctxviz import figures
from ctxviz.categories import CATEGORIES, LABELS

REQUEST_COLUMNS = [
    "request",
    "input_tokens",
    "original_input_tokens",
    "output_tokens",
    "thinking_tokens",
    "context_tokens",
    "source",
    "turn",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "uncached_input_tokens",
    "cost_usd",
    "cumulative_cost_usd",
    "long_context",
    "over_window",
    "thinking_carried_tokens",
    "thinking_stripped_tokens",
    "cleared_input_tokens",
]
EVENT_COLUMNS = [
    "request",
    "type",
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "cleared_input_tokens",
    "tokens_before",
    "tokens_after",
    "summary_tokens",
    "detail",
]


@dataclass
class FakeSim:
    """The shape of ctxviz.simulate's result, built by hand."""

    requests: pd.DataFrame
    events: pd.DataFrame
    composition: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)


def make_sim(
    n: int = 8, *, estimated_from: int = 5, settings: dict[str, Any] | None = None
) -> FakeSim:
    rows = []
    comp = []
    cumulative = 0.0
    for i in range(n):
        original = 10_000 + 20_000 * i
        cleared = 15_000 if i >= 4 else 0
        prompt = original - cleared
        cost = prompt * 3e-6
        cumulative += cost
        rows.append(
            {
                "request": i,
                "input_tokens": prompt,
                "original_input_tokens": original,
                "output_tokens": 500,
                "thinking_tokens": 300 if i % 2 == 0 else 0,
                "context_tokens": prompt + 500,
                "source": "recorded" if i < estimated_from else "estimated",
                "turn": i // 3,
                "cache_read_input_tokens": prompt - 2_000 if i else 0,
                "cache_creation_input_tokens": 2_000 if i else prompt,
                "uncached_input_tokens": 0,
                "cost_usd": cost,
                "cumulative_cost_usd": cumulative,
                "long_context": prompt > 200_000,
                "over_window": prompt + 500 > 200_000,
                "thinking_carried_tokens": 300 * (i % 3),
                "thinking_stripped_tokens": 200 if i % 3 == 0 and i else 0,
                "cleared_input_tokens": cleared,
            }
        )
        parts = {c: 0 for c in CATEGORIES}
        parts["hidden_prefix"] = 8_000
        parts["user_text"] = 1_000
        parts["tool_results"] = prompt - 9_000 - (1_000 if cleared else 0)
        parts["cleared_placeholders"] = 1_000 if cleared else 0
        comp.append({"request": i, **parts})
    events = pd.DataFrame(
        [
            {
                "request": 4,
                "type": "clear_tool_uses_20250919",
                "cleared_tool_uses": 3,
                "cleared_thinking_turns": None,
                "cleared_input_tokens": 15_000,
                "tokens_before": 90_000,
                "tokens_after": 75_000,
                "summary_tokens": None,
                "detail": "cleared <b>Read</b> results",
            },
            {
                "request": 6,
                "type": "compact_20260112",
                "cleared_tool_uses": None,
                "cleared_thinking_turns": None,
                "cleared_input_tokens": None,
                "tokens_before": 115_000,
                "tokens_after": 3_000,
                "summary_tokens": 2_500,
                "detail": "",
            },
        ][: 2 if n > 6 else 0],
        columns=EVENT_COLUMNS,
    )
    return FakeSim(
        requests=pd.DataFrame(rows, columns=REQUEST_COLUMNS),
        events=events,
        composition=pd.DataFrame(comp, columns=["request", *CATEGORIES]),
        settings=settings
        if settings is not None
        else {
            "context_window": 200_000,
            "context_management": {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "trigger": {"type": "input_tokens", "value": 80_000},
                    },
                    {
                        "type": "compact_20260112",
                        "trigger": {"type": "input_tokens", "value": 110_000},
                    },
                ]
            },
        },
    )


def empty_sim() -> FakeSim:
    return FakeSim(
        requests=pd.DataFrame(columns=REQUEST_COLUMNS),
        events=pd.DataFrame(columns=EVENT_COLUMNS),
        composition=pd.DataFrame(columns=["request", *CATEGORIES]),
        settings={"context_window": 200_000},
    )


def names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data if t.name]


_FIELD = re.compile(r"%\{(x|text|customdata\[(\d+)\])(:,)?\}")


def hover_texts(trace: Any) -> list[str]:
    """Each point's hover as plotly renders it from ``hovertemplate``, ``text`` and
    ``customdata`` (the fields and formats the figures use)."""

    def render(i: int) -> str:
        def field(m: re.Match[str]) -> str:
            if m.group(1) == "x":
                value: Any = trace.x[i]
            elif m.group(1) == "text":
                value = trace.text[i]
            else:
                value = trace.customdata[i][int(m.group(2))]
            return f"{int(value):,}" if m.group(3) else str(value)

        return _FIELD.sub(field, trace.hovertemplate).removesuffix("<extra></extra>")

    return [render(i) for i in range(len(trace.x))]


def test_colours_fixed_for_every_category_and_distinct() -> None:
    assert set(figures.COLORS) == set(CATEGORIES)
    assert len(set(figures.COLORS.values())) == len(CATEGORIES)


def test_timeline_stacks_categories_in_fixed_colours() -> None:
    fig = figures.timeline(make_sim())
    stacked = [t for t in fig.data if getattr(t, "stackgroup", None) == "prompt"]
    assert [t.name for t in stacked] == [
        LABELS[c] for c in ("hidden_prefix", "user_text", "tool_results", "cleared_placeholders")
    ]
    for t in stacked:
        cat = next(c for c in CATEGORIES if LABELS[c] == t.name)
        assert t.fillcolor == figures.COLORS[cat]
    # The stack sums to the prompt of each request.
    total = [sum(t.y[i] for t in stacked) for i in range(8)]
    assert total == list(make_sim().requests["input_tokens"])


def test_timeline_window_trigger_lines_and_events() -> None:
    fig = figures.timeline(make_sim())
    n = names(fig)
    assert "Context window (200,000)" in n
    assert "clear_tool_uses_20250919 trigger (80,000)" in n
    assert "compact_20260112 trigger (110,000)" in n
    marker = next(t for t in fig.data if t.name == figures.EVENT_STYLES["compact_20260112"].label)
    assert list(marker.x) == [6] and list(marker.y) == [115_000]
    assert "115,000 → 3,000" in hover_texts(marker)[0]
    clear = next(
        t for t in fig.data if t.name == figures.EVENT_STYLES["clear_tool_uses_20250919"].label
    )
    # Detail text from the transcript is escaped, so hover text stays inert.
    assert "&lt;b&gt;Read&lt;/b&gt;" in hover_texts(clear)[0]


def test_estimated_rows_are_hatched_and_counted() -> None:
    fig = figures.timeline(make_sim(estimated_from=5))
    hatch = next(t for t in fig.data if t.name == "Estimated rows (hatched)")
    xs = [x for x in hatch.x if x is not None]
    assert (min(xs), max(xs)) == (4.5, 7)  # requests 5, 6 and 7, clipped at the last one
    assert max(hatch.y) == 135_000 and hatch.fillpattern.shape == "/"
    assert (
        fig.layout.title.subtitle.text
        == "5 requests recorded, 3 estimated (hatched / open markers)."
    )
    all_recorded = figures.timeline(make_sim(estimated_from=99))
    assert "Estimated rows (hatched)" not in names(all_recorded)
    assert all_recorded.layout.title.subtitle.text == "All 8 requests: recorded usage."


def test_timeline_baseline_and_no_composition() -> None:
    sim = make_sim()
    bare = FakeSim(sim.requests, sim.events, pd.DataFrame(), {"context_window": 200_000})
    fig = figures.timeline(bare, baseline=sim, baseline_name="As recorded")
    assert "Prompt (input_tokens)" in names(fig)
    assert "As recorded (prompt)" in names(fig)


ALL_SINGLE = [
    figures.timeline,
    figures.thinking,
    figures.context_editing,
    figures.compaction,
]


@pytest.mark.parametrize("draw", ALL_SINGLE)
def test_empty_simulation_still_draws(draw: Any) -> None:
    fig = draw(empty_sim())
    assert isinstance(fig, go.Figure)
    fig.to_json()  # serialisable
    assert fig.layout.title.subtitle.text == "No requests."


def test_empty_multi_and_composition_still_draw() -> None:
    for fig in (
        figures.compare({"a": empty_sim()}),
        figures.cost({"a": empty_sim()}, premium_threshold_tokens=200_000),
        figures.compare({}),
        figures.cost({}),
        figures.composition(empty_sim(), 0),
    ):
        assert isinstance(fig, go.Figure)
        fig.to_json()
    assert figures.compare_table({}).empty
    assert figures.composition_table(empty_sim(), 3).empty


def test_thinking_generated_carried_stripped_and_tool_loops() -> None:
    fig = figures.thinking(make_sim())
    generated = next(t for t in fig.data if t.name.startswith("Generated"))
    stripped = next(t for t in fig.data if t.name.startswith("Stripped"))
    carried = next(t for t in fig.data if t.name.startswith("Carried"))
    loops = next(t for t in fig.data if t.name.startswith("Tool-use loop"))
    assert list(generated.y) == [300, 0, 300, 0, 300, 0, 300, 0]
    assert list(stripped.y) == [0, 0, 0, -200, 0, 0, -200, 0]
    assert list(carried.y) == [0, 300, 600, 0, 300, 600, 0, 300]
    assert all(loops.y > 0)  # turns of 3, 3 and 2 requests: all loops
    # Estimated requests get open markers.
    assert list(carried.marker.symbol[4:6]) == [0, 100]  # circle, circle-open
    # Areas, not a bar per request; past MARKED_REQUESTS requests the carried line has no markers
    assert {t.type for t in fig.data} == {"scatter"}
    from ctxviz.figures._thinking import MARKED_REQUESTS

    long = figures.thinking(make_sim(MARKED_REQUESTS + 1))
    assert next(t for t in long.data if t.name.startswith("Carried")).mode == "lines"


def test_request_picker_styles_bars_as_a_whole() -> None:
    """One colour, no per-bar hatch unless a request is estimated, the selection a bar of its
    own: per-bar arrays make plotly style each bar one by one."""
    bars, chosen = figures.request_picker(make_sim(), selected=2).data  # estimated from 5
    assert bars.marker.color == bars.marker.pattern.fgcolor and list(chosen.x) == [2]
    assert list(bars.marker.pattern.shape) == [""] * 5 + ["/"] * 3
    (recorded,) = figures.request_picker(make_sim(estimated_from=8)).data  # nothing selected
    assert recorded.marker.pattern.shape is None


def test_context_editing_before_after_and_cache_invalidation() -> None:
    fig = figures.context_editing(make_sim())
    before = next(t for t in fig.data if t.name.startswith("Before edits"))
    after = next(t for t in fig.data if t.name.startswith("Sent after edits"))
    assert before.y[5] - after.y[5] == 15_000
    inval = next(t for t in fig.data if t.name == "Cache invalidated (prefix changed)")
    assert list(inval.x) == [4]  # no reusable_prefix_tokens column: the clearing events


def test_cache_invalidation_from_reusable_prefix() -> None:
    sim = make_sim()
    reusable = list(sim.requests["input_tokens"].shift(1, fill_value=0))
    reusable[5] = 8_000  # request 5 reuses only the fixed prefix of request 4's prompt
    sim.requests["reusable_prefix_tokens"] = reusable
    fig = figures.context_editing(sim)
    at, reused, previous = figures.cache_invalidations(sim)
    assert list(at) == [5] and list(reused) == [8_000]
    assert list(previous) == [sim.requests["input_tokens"][4]]
    assert {t.name for t in fig.data} >= {"Cache reads", "Cache writes"}


def test_compaction_draws_drops_and_baseline() -> None:
    fig = figures.compaction(make_sim(), baseline=make_sim(settings={}))
    drops = [t for t in fig.data if t.type == "scatter" and t.showlegend is False]
    assert any(list(t.x)[:2] == [6, 6] and list(t.y)[:2] == [115_000, 3_000] for t in drops)
    assert "Without this policy (prompt)" in names(fig)


def test_policy_lines_from_settings() -> None:
    lines = figures.policy_lines(
        {
            "context_window": 200_000,
            "compaction_control": {"enabled": True, "context_token_threshold": 100_000},
            "claude_code_autocompact": {"reserve_tokens": 33_000},
            "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        }
    )
    assert [(line.tokens, line.label.split(" (")[0]) for line in lines] == [
        (100_000, "compaction_control threshold"),
        (167_000, "Claude Code auto-compact"),
    ]
    assert figures.policy_lines(None) == []


def test_policy_lines_are_the_policies_own_defaults_included() -> None:
    """A mapping of simulate's arguments draws what simulate would run, defaults filled in."""
    from ctxviz.policies import clear_tool_uses, compact, compaction_control

    tools = clear_tool_uses.ClearToolUses(trigger=clear_tool_uses.Trigger(value=30_000))
    lines = figures.policy_lines(
        {
            "context_management": {"edits": [tools.to_api(), compact.Compact().to_api()]},
            "compaction_control": compaction_control.CompactionControl().to_sdk(),
            "rolling_window": 90_000,
        }
    )
    assert [(line.tokens, line.label) for line in lines] == [
        (30_000, "clear_tool_uses_20250919 trigger (30,000)"),
        (150_000, "compact_20260112 trigger (150,000)"),
        (100_000, "compaction_control threshold (100,000, prompt + output)"),
        (90_000, "Rolling window budget (90,000)"),
    ]
    invalid = {"context_management": {"edits": [{"type": "compact_20260112", "trigger": 1}]}}
    assert figures.policy_lines(invalid) == []


def test_compare_and_table() -> None:
    sims = {"As recorded": make_sim(settings={"context_window": 200_000}), "Edits": make_sim()}
    fig = figures.compare(sims)
    lines = [t for t in fig.data if t.name in sims]
    assert [t.line.dash for t in lines] == ["solid", "dash"]
    assert lines[0].line.color != lines[1].line.color
    table = figures.compare_table(sims)
    assert list(table["strategy"]) == ["As recorded", "Edits"]
    row = table.iloc[1]
    assert row["peak prompt (tokens)"] == 135_000
    assert row["clearings"] == 1 and row["compactions"] == 1
    assert row["total $"] == pytest.approx(round(sum(make_sim().requests["cost_usd"]), 4))
    reads = make_sim().requests["cache_read_input_tokens"].sum()
    assert row["cache hit rate"] == pytest.approx(
        round(reads / make_sim().requests["input_tokens"].sum(), 4)
    )
    assert row["estimated requests"] == 3


def test_cost_cumulative_and_premium_zone() -> None:
    sims = {"A": make_sim(12, settings={"context_window": 1_000_000})}
    fig = figures.cost(sims, premium_threshold_tokens=200_000)
    cum = next(t for t in fig.data if t.name == "A" and t.showlegend is not False)
    assert cum.y[-1] == pytest.approx(sims["A"].requests["cumulative_cost_usd"].iloc[-1])
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].y0 == 200_000
    assert "A: billed at long-context rates" in names(fig)
    no_premium = figures.cost(sims, premium_threshold_tokens=None)
    assert len(no_premium.layout.shapes) == 0
    # On a window that cannot exceed the threshold, no zone is drawn.
    small = figures.cost({"A": make_sim(12)}, premium_threshold_tokens=200_000)
    assert len(small.layout.shapes) == 0


def test_composition_of_one_request() -> None:
    sim = make_sim()
    table = figures.composition_table(sim, 5)
    assert list(table["category"]) == [
        "hidden_prefix",
        "user_text",
        "tool_results",
        "cleared_placeholders",
        "output",
        "free",
    ]
    assert table["tokens"].sum() == 200_000
    fig = figures.composition(sim, 5)
    assert [t.name for t in fig.data][-1] == "Free space"
    # Request 5 is estimated: its prompt bars are hatched, over their category's own colour.
    assert fig.data[0].marker.pattern.shape == "/"
    assert fig.data[0].marker.pattern.fillmode == "overlay"
    assert fig.data[0].marker.color == figures.COLORS["hidden_prefix"]
    assert fig.data[1].marker.color == figures.COLORS["user_text"] != fig.data[0].marker.color


def test_figures_never_write_to_the_simulation() -> None:
    # The app shares one cached Simulation between sessions: drawing must not modify it.
    sim = make_sim(estimated_from=5)
    frames = [sim.requests.copy(), sim.events.copy(), sim.composition.copy()]
    for draw in ALL_SINGLE:
        draw(sim)
    figures.compare({"a": sim, "b": sim})
    figures.compare_table({"a": sim})
    figures.cost({"a": sim}, premium_threshold_tokens=200_000)
    figures.cost_table({"a": sim})
    figures.composition(sim, 3)
    figures.composition_table(sim, 3)
    figures.summary(sim)
    figures.events_table(sim, types=figures.COMPACTION_EVENTS)
    figures.request_picker(sim, selected=2)
    for before, after in zip(frames, [sim.requests, sim.events, sim.composition], strict=True):
        pd.testing.assert_frame_equal(before, after)


def test_turn_starts_mark_new_user_turns() -> None:
    sim = make_sim(8)  # turns of 3, 3 and 2 requests
    assert list(figures.turn_starts(sim.requests)) == [3, 6]
    fig = figures.thinking(sim)
    starts = next(t for t in fig.data if t.name == "A user message starts a new turn")
    assert [x for x in starts.x if x == x] == [2.5, 2.5, 5.5, 5.5]


def test_compare_puts_event_markers_on_each_curve() -> None:
    fig = figures.compare({"E": make_sim()})
    compaction = next(t for t in fig.data if t.name.startswith("Server compaction"))
    assert list(compaction.y) == [3_000]  # the prompt after, where the curve is


def test_window_from_each_row_then_settings() -> None:
    sim = make_sim()
    assert figures.window_tokens(sim) == 200_000
    sim.requests["context_window"] = 1_000_000
    assert figures.window_tokens(sim) == 1_000_000


def test_events_table_drops_empty_columns_and_filters_types() -> None:
    table = figures.events_table(make_sim(), types=figures.COMPACTION_EVENTS)
    assert list(table["type"]) == ["compact_20260112"]
    assert "cleared_tool_uses" not in table.columns and "summary_tokens" in table.columns


def test_summary_and_cost_table() -> None:
    sim = make_sim()
    s = figures.summary(sim)
    assert s["requests"] == 8 and s["turns"] == 3 and s["compactions"] == 1
    assert s["peak_prompt_tokens"] == 135_000
    table = figures.cost_table({"A": sim})
    assert table.loc[0, "total $"] == pytest.approx(round(sim.requests["cost_usd"].sum(), 4))


def test_prompt_table_leaves_the_text_out() -> None:
    class View:
        def to_frame(self, *, text: bool = True) -> pd.DataFrame:
            return pd.DataFrame(
                {
                    "message": [0],
                    "block": [0],
                    "role": ["user"],
                    "type": ["text"],
                    "category": ["user_text"],
                    "status": ["kept"],
                    "tokens": [3],
                    "original_tokens": [3],
                    "text": ["hello"],
                }
            )

    table = figures.prompt_table(View())
    assert "text" not in table.columns and list(table["status"]) == ["kept"]


# ---- long series thinned for the screen (ctxviz/_decimate.py) -----------------------------------


def _long_session(n_requests: int) -> Any:
    """A tool loop of ``n_requests`` requests, a new user turn every 10th."""
    from ctxviz.model import (
        Conversation,
        Message,
        TextBlock,
        ThinkingBlock,
        ToolResultBlock,
        ToolUseBlock,
        requests_from_messages,
    )

    messages = [Message(role="user", content=(TextBlock(text="start the task"),))]
    for k in range(n_requests):
        tid = f"t{k}"
        messages.append(
            Message(
                role="assistant",
                content=(
                    ThinkingBlock(thinking=f"step {k} " * 8, signature="s"),
                    ToolUseBlock(id=tid, name="read", input={"path": f"f{k}"}),
                ),
            )
        )
        body = f"line {k} of the file\n" * (20 + k % 50)
        turn = (TextBlock(text=f"now do part {k}"),) if k % 10 == 9 else ()
        messages.append(
            Message(role="user", content=(ToolResultBlock(tool_use_id=tid, content=body), *turn))
        )
    msgs = tuple(messages)
    return Conversation(
        format="anthropic",
        messages=msgs,
        requests=requests_from_messages(msgs),
        model="claude-sonnet-4-5",
    )


@pytest.fixture(scope="module")
def long_sim() -> Any:
    from ctxviz.simulator import simulate

    compacting = {
        "edits": [
            {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 150_000}}
        ]
    }
    return simulate(_long_session(20_000), context_management=compacting)


_LONG_DRAWS = {
    "timeline": lambda sim: figures.timeline(sim),
    "thinking": lambda sim: figures.thinking(sim),
    "context_editing": lambda sim: figures.context_editing(sim),
    "compaction": lambda sim: figures.compaction(sim),
    "cost": lambda sim: figures.cost({"as recorded": sim}),
    "compare": lambda sim: figures.compare({"a": sim, "b": sim}),
}


@pytest.mark.parametrize("draw", list(_LONG_DRAWS))
def test_long_series_are_thinned_keeping_events_peaks_and_steps(
    long_sim: Any, draw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from ctxviz import _decimate

    events = long_sim.events
    event_xs = set(events["request"].tolist())
    assert 10 <= len(event_xs) <= 500  # a compaction now and then, as in a real session
    thin = _LONG_DRAWS[draw](long_sim)
    with monkeypatch.context() as m:
        m.setattr(_decimate, "fit", lambda fig, **kw: fig)
        full = _LONG_DRAWS[draw](long_sim)
    assert [t.name for t in thin.data] == [t.name for t in full.data]
    assert max(len(t.x) for t in full.data) >= 20_000
    # the figures that draw the events (the thinking figure does not)
    shows_events = any(t.type != "bar" and t.mode == "markers" for t in full.data)
    for t, f in zip(thin.data, full.data, strict=True):
        fx, tx = np.asarray(f.x, dtype=float), np.asarray(t.x, dtype=float)
        if f.type != "bar" and f.mode == "markers":  # events: every one kept
            assert np.array_equal(tx, fx, equal_nan=True), t.name
            continue
        markers = sum(len(m.x) for m in full.data if m.type != "bar" and m.mode == "markers")
        bound = _decimate.MAX_POINTS + min(markers, _decimate.MAX_POINTS // 4 + len(event_xs))
        assert len(tx) <= bound, (t.name, len(tx))
        if f.y is not None and len(f.y):
            fy, ty = np.asarray(f.y, dtype=float), np.asarray(t.y, dtype=float)
            assert np.nanmax(ty) == np.nanmax(fy), t.name  # peaks kept
            assert np.nanmin(ty) == np.nanmin(fy), t.name
        if shows_events and len(fx) > _decimate.MAX_POINTS and event_xs <= set(fx.tolist()):
            assert event_xs <= set(tx.tolist()), t.name  # every event request still there
            # both sides of each clearing: the prompt before and after the drop
            fy = np.asarray(f.y, dtype=float)
            pairs = dict(zip(fx.tolist(), fy.tolist(), strict=True))
            kept = dict(zip(tx.tolist(), np.asarray(t.y, dtype=float).tolist(), strict=True))
            for x in event_xs:
                if x - 1 in pairs and abs(pairs[x] - pairs[x - 1]) > 0.05 * np.nanmax(fy):
                    assert kept.get(x - 1) == pairs[x - 1], (t.name, x)


def test_event_hover_names_type_request_and_counts_in_few_bytes() -> None:
    import ctxviz

    conv = ctxviz.load(
        Path(__file__).resolve().parents[1] / "sample_conversations" / "agent_tool_loop.jsonl.xz"
    )
    edit = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "input_tokens", "value": 30_000},
        "keep": {"type": "tool_uses", "value": 3},
    }
    sim = ctxviz.simulate(conv, context_management={"edits": [edit]})
    fig = figures.context_editing(sim)
    clearings = sim.events[sim.events["type"] == edit["type"]]
    assert len(clearings) > 5
    label = figures.EVENT_STYLES[edit["type"]].label
    marker = next(t for t in fig.data if t.name == label and t.mode == "markers")
    hovers = hover_texts(marker)
    assert len(hovers) == len(clearings)
    for hover, (_, ev) in zip(hovers, clearings.iterrows(), strict=True):
        assert f"<b>{label}</b>" in hover
        assert f"request {ev['request']:,}" in hover
        assert f"prompt {ev['tokens_before']:,} → {ev['tokens_after']:,} tokens" in hover
        assert f"tool uses cleared: {ev['cleared_tool_uses']:,}" in hover
        assert f"tokens cleared: {ev['cleared_input_tokens']:,}" in hover
    # the label and field names are sent once per trace, not once per marker
    assert marker.text is None, "the simulator's clearing sentence only restates the counts"


# ---- axes fit the data, whole requests, events that do not smother the lines (issue 18) -------


def small_chat(n: int = 2, *, window: int = 1_000_000) -> FakeSim:
    """A short chat (2,800 tokens at most) on a large window, as API cassettes are."""
    sim = make_sim(n, estimated_from=n, settings={"context_window": window})
    for frame in (sim.requests, sim.composition):
        for column in frame.columns:
            if column not in ("request", "turn", "source", "long_context", "over_window"):
                frame[column] = frame[column] // 50
    return sim


def y_top(fig: go.Figure, axis: str = "yaxis") -> float:
    value = fig.layout[axis].range
    assert value is not None, f"{axis} is not fitted"
    return float(value[1])


def window_notes(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations if a.text and a.text.startswith("window")]


FITTED: Final = {
    "timeline": lambda sim, **kw: figures.timeline(sim, **kw),
    "compaction": lambda sim, **kw: figures.compaction(sim, **kw),
    "context_editing": lambda sim, **kw: figures.context_editing(sim, **kw),
    "compare": lambda sim, **kw: figures.compare({"As recorded": sim}, **kw),
}


@pytest.mark.parametrize("draw", FITTED.values(), ids=FITTED.keys())
def test_a_small_chat_fits_the_axis_and_the_window_is_still_marked(draw: Any) -> None:
    sim = small_chat()
    peak = float(
        sim.requests[["input_tokens", "original_input_tokens", "context_tokens"]].max().max()
    )
    assert peak < 3_000
    fig = draw(sim)
    assert peak <= y_top(fig) <= 1.5 * peak  # not a flat line at zero under 1M
    assert window_notes(fig) == ["window 1,000,000 ↑"]
    assert "Context window (1,000,000)" in names(fig)
    full = draw(sim, full_window=True)
    assert y_top(full) >= 1_000_000 and not window_notes(full)


def test_a_window_close_to_the_data_stays_in_view() -> None:
    fig = figures.timeline(make_sim())  # peak 135,500 of 200,000
    assert y_top(fig) >= 200_000 and not window_notes(fig)


def test_context_editing_fits_only_the_prompt_panel() -> None:
    fig = figures.context_editing(small_chat())
    assert y_top(fig, "yaxis") < 3_000
    assert fig.layout.yaxis2.range is None  # cache bars: plotly's own range


REQUEST_AXES: Final = {
    **FITTED,
    "thinking": lambda sim, **kw: figures.thinking(sim, **kw),
    "cost": lambda sim, **kw: figures.cost({"A": sim}, **kw),
    "request_picker": lambda sim, **kw: figures.request_picker(sim, **kw),
}


@pytest.mark.parametrize("draw", REQUEST_AXES.values(), ids=REQUEST_AXES.keys())
def test_request_ticks_are_whole_numbers(draw: Any) -> None:
    fig = draw(small_chat(2))  # a 2-request file: plotly alone ticks 0, 0.2, 0.4 …
    axes = [fig.layout[k] for k in fig.layout if k.startswith("xaxis")]
    assert axes and all(a.dtick == 1 and a.tick0 == 0 for a in axes)
    long = draw(make_sim(40))
    assert all(
        fig_axis.tickformat == ",d"
        for fig_axis in (long.layout[k] for k in long.layout if k.startswith("xaxis"))
    )


def many_events(n_requests: int = 217, n_events: int = 121) -> FakeSim:
    sim = make_sim(n_requests)
    rows = [
        {
            "request": 1 + i * (n_requests - 1) // n_events,
            "type": "clear_tool_uses_20250919",
            "cleared_tool_uses": 1,
            "cleared_input_tokens": 2_000,
            "tokens_before": 50_000,
            "tokens_after": 48_000,
            "detail": f"cleared result {i}",
        }
        for i in range(n_events)
    ]
    sim.events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    return sim


def test_compare_draws_many_events_as_ticks_along_the_bottom_with_hover() -> None:
    fig = figures.compare({"As recorded": make_sim(217), "Clearing": many_events()})
    events = [t for t in fig.data if t.name and t.name.endswith(" — Clearing")]
    assert sum(len(t.x) for t in events) == 121
    for t in events:
        assert t.marker.size <= 9 and t.marker.symbol == "line-ns-open"
        assert set(t.y) == {0.0}  # along the bottom, off the lines
        assert "cleared result" in t.text[0]  # hover intact
    few = figures.compare({"Edits": make_sim()})  # two events: markers on the curve
    marker = next(t for t in few.data if t.name.startswith("Server compaction"))
    assert marker.marker.size == 11 and marker.marker.symbol == "diamond"


def hue_degrees(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360


def test_strategy_colours_are_far_apart_in_hue() -> None:
    # Compare's defaults: as recorded, clear_tool_uses, compact_20260112, SDK compaction. The
    # first and the third were Tol blue and teal (22° apart), which read alike.
    hues = [hue_degrees(c) for c in figures.STRATEGY_COLORS]

    def gap(i: int, j: int) -> float:
        d = abs(hues[i] - hues[j])
        return min(d, 360 - d)

    assert gap(0, 2) >= 90
    for i in range(4):
        for j in range(i + 1, 4):
            if {i, j} != {0, 3}:  # the fourth (teal) also differs by its dash-dot pattern
                assert gap(i, j) >= 40, (figures.STRATEGY_COLORS[i], figures.STRATEGY_COLORS[j])


def test_compare_events_never_take_another_strategys_colour() -> None:
    # "As recorded" is the first strategy; a compaction what-if's diamonds must not share its
    # colour (they did: Tol blue for both).
    sims = {
        "As recorded": make_sim(settings={"context_window": 200_000}),
        "compact_20260112 (150K default)": make_sim(),
        "Third": make_sim(),
    }
    fig = figures.compare(sims)
    line_colour = {t.name: t.line.color for t in fig.data if t.name in sims}
    assert len(set(line_colour.values())) == 3
    for t in fig.data:
        if t.name and " — " in t.name:  # an event trace, named after its strategy
            strategy = t.name.split(" — ", 1)[1]
            assert t.marker.color == line_colour[strategy]
            others = {c for s, c in line_colour.items() if s != strategy}
            assert t.marker.color not in others


def test_a_dense_marker_trace_with_svg_only_properties_still_draws() -> None:
    # At 20,000 requests the events' rug (cliponaxis=False) became a WebGL trace, which plotly
    # refused ("Invalid property ... Scattergl: 'cliponaxis'"): no chart at all.
    from ctxviz import _decimate

    n = _decimate.MAX_POINTS * 2
    fig = go.Figure(
        [go.Scatter(x=np.arange(n), y=np.zeros(n), mode="markers", cliponaxis=False, name="rug")]
    )
    fitted = _decimate.fit(fig)
    (trace,) = fitted.data
    assert trace.type == "scattergl" and len(trace.x) == n
    go.Figure(fitted.to_dict())  # valid: plotly validates every property again


def test_compaction_on_demand_past_a_size_draws_its_threshold() -> None:
    from ctxviz.policies.compact_on_demand import CompactOnDemand
    from ctxviz.settings import SimulationSettings

    settings = SimulationSettings(compaction_on_demand=CompactOnDemand(at_prompt_tokens=150_000))
    (line,) = figures.policy_lines(settings)
    assert line.tokens == 150_000 and "on demand" in line.label
    every = SimulationSettings(compaction_on_demand=CompactOnDemand(every_requests=5))
    assert figures.policy_lines(every) == []  # no size to draw


def test_token_axes_have_a_fixed_left_margin_wide_enough_for_their_labels() -> None:
    """Token axes (tickformat ",") are laid out without plotly's automargin, which measures the
    labels in the page at every redraw; the margin grows with the widest label the range allows
    (tests/browser checks in Chromium that labels and titles stay inside)."""
    from ctxviz.figures._traces import _label_px, _layout

    def margin(top: float, bottom: float = 0.0, **axis: Any) -> tuple[float, Any]:
        fig = go.Figure(go.Scatter(x=[0, 1], y=[bottom, top]))
        fig.update_yaxes(tickformat=",", **axis)
        _layout(fig, title="t", subtitle="s", height=300, fit=False)
        return fig.layout.margin.l, fig.layout.yaxis.automargin

    small, automargin = margin(900)
    assert automargin is False and small == 59 + 3 * 6  # "900"
    million, automargin = margin(900, range=[0, 1_050_000])  # a fixed range wins over the data
    assert automargin is False and million >= 59 + _label_px(0, 1_000_000)
    assert margin(150_000)[0] < margin(1_500_000)[0] < million + 1 + 2 * 6
    assert margin(150_000, bottom=-150_000)[0] > margin(150_000)[0]  # "−100,000"
    assert _label_px(0, 2.5) > _label_px(0, 100)  # "2.25" is wider than "100"
    # axes whose labels are not plain token counts keep plotly's automargin
    assert margin(900, tickprefix="$") == (60, None)
    assert margin(900, side="right")[1] is None
    fig = figures.context_editing(make_sim(), full_window=True)
    assert fig.layout.yaxis.automargin is False and fig.layout.yaxis2.automargin is False
    assert fig.layout.margin.l >= 59 + _label_px(*fig.layout.yaxis.range)


def test_a_long_request_picker_is_thinned_and_its_bars_still_tile_the_axis() -> None:
    sim = make_sim(3_000, estimated_from=3_000)
    bars, chosen = figures.request_picker(sim, selected=1_234).data
    assert len(bars.x) < 1_000  # thinned for the screen
    left = np.asarray(bars.x) + np.asarray(bars.offset)
    right = left + np.asarray(bars.width)
    assert left[0] == -0.5 and right[-1] == 2_999.5
    assert np.allclose(left[1:], right[:-1])  # no gap, no overlap
    assert list(chosen.x) == [1_234]  # the selection is never thinned away
