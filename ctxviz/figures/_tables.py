"""Tables and summaries for the app (reshaping lives here, not in pages)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ctxviz.figures._composition import _row
from ctxviz.figures._readers import (
    _col,
    _estimated_mask,
    _x,
    source_counts,
    source_note,
    window_tokens,
)
from ctxviz.figures._traces import _layout, _request_axis
from ctxviz.summary import SimulationLike, summarize


class _HasAppliedEdits(Protocol):
    @property
    def requests(self) -> pd.DataFrame: ...

    def applied_edits(self, i: int) -> list[dict[str, Any]]: ...


APPLIED_EDIT_COLUMNS: Final = (
    "request",
    "type",
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "cleared_input_tokens",
)


def applied_edits_table(sim: _HasAppliedEdits) -> pd.DataFrame:
    """Every request's ``context_management.applied_edits``, one row per applied edit."""
    rows: list[dict[str, Any]] = []
    for i in range(len(sim.requests)):
        for edit in sim.applied_edits(i):
            rows.append({"request": i, **edit})
    return pd.DataFrame(rows, columns=list(APPLIED_EDIT_COLUMNS))


def summary(sim: SimulationLike) -> dict[str, Any]:
    """The headline numbers of one replay (``ctxviz.summary.summarize``'s), by the names the
    app's metrics and ``compare_table`` read; the window is the last request's
    (``window_tokens``), the one the charts draw."""
    s = summarize(sim)
    return {
        "requests": s.requests,
        "turns": s.turns,
        "recorded": s.recorded_requests,
        "estimated": s.estimated_requests,
        "peak_prompt_tokens": s.peak_input_tokens or 0,
        "window_tokens": window_tokens(sim),
        "first_over_window": s.first_over_window,
        "clearings": s.clearings,
        "compactions": s.compactions,
        "total_cost_usd": s.total_cost_usd or 0.0,
        "thinking_generated_tokens": s.thinking_generated_tokens,
        # the prompts' estimates (a replay as recorded makes them when first asked for them)
        "thinking_carried_peak_tokens": _peak(sim, "thinking_carried_tokens"),
        "thinking_stripped_peak_tokens": _peak(sim, "thinking_stripped_tokens"),
        "cleared_tokens_peak": s.cleared_peak_tokens,
        "cache_read_tokens": s.cache_read_tokens,
        "cache_write_tokens": s.cache_write_tokens,
    }


def _peak(sim: SimulationLike, name: str) -> int:
    """A request column's largest value (0 without requests or without the column)."""
    values = _col(sim.requests, name)
    return int(values.max()) if len(values) else 0


COST_COLUMNS: Final = (
    ("cost_input_usd", "uncached input $"),
    ("cost_cache_write_usd", "cache writes $"),
    ("cost_cache_read_usd", "cache reads $"),
    ("cost_output_usd", "output $"),
    ("compaction_cost_usd", "compaction calls $"),
    ("cost_usd", "total $"),
)


def cost_table(sims: Mapping[str, SimulationLike]) -> pd.DataFrame:
    """Per strategy: each part of the bill, requests at long-context rates, cache hit rate."""
    rows: list[dict[str, Any]] = []
    for name, sim in sims.items():
        req = sim.requests
        row: dict[str, Any] = {"strategy": name}
        for column, label in COST_COLUMNS:
            row[label] = round(float(_col(req, column).sum()), 4)
        lc = req["long_context"].fillna(False).astype(bool) if "long_context" in req else None
        row["requests at long-context rates"] = int(lc.sum()) if lc is not None else 0
        prompt = float(_col(req, "input_tokens").sum())
        reads = float(_col(req, "cache_read_input_tokens").sum())
        row["cache hit rate"] = round(reads / prompt, 4) if prompt else None
        row["estimated requests"] = source_counts(req)[1]
        rows.append(row)
    columns = [
        "strategy",
        *(label for _, label in COST_COLUMNS),
        "requests at long-context rates",
        "cache hit rate",
        "estimated requests",
    ]
    return pd.DataFrame(rows, columns=columns)


PICKER_COLOR: Final = "#0077BB"


def request_picker(
    sim: SimulationLike,
    *,
    selected: int | None = None,
    title: str = "Pick a request (click a bar)",
    height: int = 260,
) -> go.Figure:
    """One bar per request (its prompt); click one to select it. Estimated bars are hatched."""
    req = sim.requests
    x = _x(req)
    y = _col(req, "input_tokens")
    est = _estimated_mask(req)
    # One colour and, only where a request is estimated, a hatch: per-bar arrays make plotly
    # style every bar one by one (0.3 s of a move at 3,000 requests). The selected request is
    # a bar of its own drawn over it.
    marker: dict[str, Any] = {"color": PICKER_COLOR, "line": {"width": 0}}
    if bool(est.any()):  # hatched in the bars' colour on a clear ground, as they were drawn
        marker["pattern"] = {
            "shape": np.where(est, "/", ""),
            "fgcolor": PICKER_COLOR,
            "solidity": 0.3,
        }
    fig = go.Figure(
        go.Bar(
            x=x,
            y=y,
            name="Prompt (input_tokens)",
            marker=marker,
            customdata=np.where(est, "estimated", "recorded"),
            hovertemplate="request %{x}: %{y:,} tokens (%{customdata})<extra></extra>",
        )
    )
    chosen = np.asarray(x) == (selected if selected is not None else -1)
    if bool(chosen.any()):
        fig.add_trace(
            go.Bar(
                x=x[chosen],
                y=y[chosen],
                name="Selected request",
                width=max(0.8, len(x) / 300),  # at least about 4 px wide
                marker={
                    "color": "#EE7733",
                    "line": {"width": 0},
                    "pattern": {"shape": "/" if est[chosen][0] else "", "fgcolor": "#EE7733"},
                },
                hoverinfo="skip",
            )
        )
    fig.update_xaxes(title_text="Request")
    _request_axis(fig, x)
    fig.update_yaxes(title_text="Prompt tokens", tickformat=",", rangemode="tozero")
    # Long series thinned like every chart (3,000 bars took 0.4 s of a move to draw); each bar
    # left then spans half way to its neighbours, so the bars still tile the axis, and a click
    # picks the request it stands for (the slider picks any).
    _layout(fig, title=title, subtitle=source_note(req), height=height, top_margin=70)
    kept = np.asarray(fig.data[0].x, dtype=np.float64)
    if 1 < len(kept) < len(x):
        edges = np.concatenate([[kept[0] - 0.5], (kept[1:] + kept[:-1]) / 2, [kept[-1] + 0.5]])
        fig.data[0].update(width=np.diff(edges), offset=edges[:-1] - kept)
    fig.update_layout(bargap=0.15, showlegend=False, clickmode="event+select", dragmode=False)
    return fig


EVENT_TABLE_COLUMNS: Final = (
    "request",
    "type",
    "tokens_before",
    "tokens_after",
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "cleared_input_tokens",
    "summary_tokens",
    "detail",
)


def events_table(sim: SimulationLike, *, types: Iterable[str] | None = None) -> pd.DataFrame:
    """The events (optionally of some types) with the columns worth reading, in order."""
    ev = sim.events
    if types is not None and "type" in ev.columns:
        ev = ev[ev["type"].isin(set(types))]
    keep = [
        c
        for c in EVENT_TABLE_COLUMNS
        if c in ev.columns and (c in ("request", "type") or bool(ev[c].notna().any()))
    ]
    return ev[keep].reset_index(drop=True)


def request_row(sim: SimulationLike, request: int) -> dict[str, Any]:
    """One request's row of ``sim.requests`` as a dict (empty when out of range)."""
    return _row(sim.requests, request)


class _HasToFrame(Protocol):
    def to_frame(self, *, text: bool = True) -> pd.DataFrame: ...


PROMPT_TABLE_COLUMNS: Final = (
    "message",
    "block",
    "role",
    "type",
    "category",
    "status",
    "tokens",
    "original_tokens",
)


def prompt_table(view: _HasToFrame) -> pd.DataFrame:
    """A prompt view's blocks without their text (the table stays small at thousands of blocks;
    the text is shown block by block, inert)."""
    frame = view.to_frame(text=False)
    return frame[[c for c in PROMPT_TABLE_COLUMNS if c in frame.columns]]
