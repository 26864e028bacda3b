"""Context editing: the prompt before and after clearing, and the cache it breaks."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ctxviz.figures._lines import policy_lines
from ctxviz.figures._readers import (
    FloatArray,
    IntArray,
    _col,
    _last_model,
    _x,
    source_note,
    window_tokens,
)
from ctxviz.figures._style import COLORS, EVENT_STYLES, NEUTRAL, WINDOW_COLOR
from ctxviz.figures._traces import (
    _add_estimated_hatch,
    _add_events,
    _data_top,
    _fit_y,
    _hline,
    _layout,
    _request_axis,
    _stepped_area,
)
from ctxviz.summary import CLEARING_EVENTS, SimulationLike


def context_editing(
    sim: SimulationLike,
    *,
    full_window: bool = False,
    title: str = "Context editing: the prompt before and after edits",
    height: int = 640,
) -> go.Figure:
    """Prompt before edits vs sent, cleared tokens between, and the cache reads and writes below
    (a clearing changes the prefix, so the cache is written again from there)."""
    req = sim.requests
    x = _x(req)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.66, 0.34],
        vertical_spacing=0.11,
        subplot_titles=("Prompt (input tokens)", "Prompt cache per request"),
    )
    original = _col(
        req, "original_input_tokens" if "original_input_tokens" in req.columns else "input_tokens"
    )
    sent = _col(req, "input_tokens")
    fig.add_trace(
        go.Scatter(
            x=x,
            y=original,
            name="Before edits (original_input_tokens)",
            mode="lines",
            line={"color": NEUTRAL, "dash": "dash", "width": 1.5},
            hovertemplate="before edits: %{y:,}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=sent,
            name="Sent after edits (input_tokens); the gap was cleared",
            mode="lines",
            fill="tonexty",
            fillcolor="rgba(187,187,187,0.35)",
            fillpattern={"shape": "x", "fgcolor": "rgba(128,128,128,0.6)", "solidity": 0.15},
            line={"color": COLORS["tool_results"], "width": 2},
            hovertemplate="sent: %{y:,}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    _add_estimated_hatch(fig, req, sent, row=1)
    window = window_tokens(sim)
    if window:
        _hline(
            fig,
            x,
            window,
            name=f"Context window ({window:,})",
            color=WINDOW_COLOR,
            dash="dash",
            row=1,
        )
    lines = policy_lines(sim.settings, context_window=window, model=_last_model(sim))
    for line in lines:
        _hline(fig, x, line.tokens, name=line.label, color=line.color, dash="dot", row=1)
    _add_events(fig, sim.events, req, row=1)
    reads = _col(req, "cache_read_input_tokens")
    writes = _col(req, "cache_creation_input_tokens")
    # Stacked areas stepped at each request, not bars: two SVG paths instead of one per request
    # (a slider move redraws them; a bar chart of 3,000 requests is 6,000 paths). Stacked by
    # hand so that the hover says each trace's own value.
    write_color = EVENT_STYLES["clear_tool_uses_20250919"].color
    fig.add_trace(
        _stepped_area(
            x,
            reads,
            color=COLORS["system"],
            fillcolor=COLORS["system"],
            name="Cache reads",
            hovertemplate="cache read: %{y:,}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        _stepped_area(
            x,
            reads + writes,
            color=write_color,
            fillcolor=write_color,
            fill="tonexty",
            customdata=writes,
            name="Cache writes",
            hovertemplate="cache write: %{customdata:,}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    at, reusable, previous = cache_invalidations(sim)
    if len(at):
        fig.add_trace(
            go.Scatter(
                x=at,
                y=writes[np.searchsorted(x, at)],
                customdata=np.stack([reusable, previous], axis=-1),
                mode="markers",
                name="Cache invalidated (prefix changed)",
                marker={
                    "symbol": "x-thin",
                    "size": 12,
                    "line": {"width": 2, "color": WINDOW_COLOR},
                },
                hovertemplate="request %{x}: only %{customdata[0]:,} of the previous "
                "%{customdata[1]:,}-token prompt reusable; cache written again<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_layout(barmode="stack", hovermode="x unified")
    fig.update_xaxes(title_text="Request", row=2, col=1)
    _request_axis(fig, x)
    fig.update_yaxes(title_text="Tokens", tickformat=",", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="Tokens", tickformat=",", rangemode="tozero", row=2, col=1)
    _fit_y(
        fig,
        data_top=_data_top(original, sent),
        window=window,
        lines=lines,
        full_window=full_window,
        row=1,
    )
    _layout(fig, title=title, subtitle=source_note(req), height=height, top_margin=105)
    fig.update_layout(barmode="stack")
    return fig


def cache_invalidations(sim: SimulationLike) -> tuple[IntArray, FloatArray, FloatArray]:
    """Requests whose prompt no longer starts with the whole previous prompt, so the cache is
    written again from the first changed block: (requests, reusable prefix, previous prompt).

    Read from ``reusable_prefix_tokens`` where the simulation gives it; otherwise every
    clearing event counts as one.
    """
    req = sim.requests
    x = _x(req)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.float64))
    if len(req) < 2:
        return empty
    prompt = _col(req, "input_tokens")
    if "reusable_prefix_tokens" in req.columns:
        reusable = _col(req, "reusable_prefix_tokens")
        hit = np.zeros(len(req), dtype=np.bool_)
        hit[1:] = reusable[1:] < prompt[:-1]
        prev = np.concatenate([[0.0], prompt[:-1]])
        return x[hit], reusable[hit], prev[hit]
    ev = sim.events
    if ev.empty or "type" not in ev.columns:
        return empty
    cleared = np.unique(np.asarray(ev.loc[ev["type"].isin(CLEARING_EVENTS), "request"], np.int64))
    pos = np.searchsorted(x, cleared)
    prev = np.where(pos > 0, prompt[np.maximum(pos - 1, 0)], 0.0)
    return cleared, np.full(len(cleared), np.nan), prev
