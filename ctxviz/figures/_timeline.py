"""The timeline: each request's prompt by category, events and the window."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from ctxviz.categories import CATEGORIES, LABELS
from ctxviz.figures._lines import policy_lines
from ctxviz.figures._readers import _col, _last_model, _x, source_note, window_tokens
from ctxviz.figures._style import COLORS, HATCHED, NEUTRAL, WINDOW_COLOR
from ctxviz.figures._traces import (
    _add_estimated_hatch,
    _add_events,
    _data_top,
    _fit_y,
    _hline,
    _layout,
    _request_axis,
)
from ctxviz.summary import SimulationLike


def timeline(
    sim: SimulationLike,
    *,
    baseline: SimulationLike | None = None,
    baseline_name: str = "As recorded",
    show_events: bool = True,
    x_range: tuple[int, int] | None = None,
    full_window: bool = False,
    title: str = "Prompt size per request",
    height: int = 560,
) -> go.Figure:
    """The prompt of every request stacked by category, the window, trigger lines and events;
    ``x_range`` zooms on requests ``lo..hi`` (plotly's own zoom works too); the token axis fits
    the data unless ``full_window``."""
    req = sim.requests
    comp = sim.composition
    x = _x(req)
    fig = go.Figure()
    total = _col(req, "input_tokens")
    categories = [c for c in CATEGORIES if c in comp.columns and float(_col(comp, c).sum()) > 0]
    if categories and len(comp) == len(req):
        cx = _x(comp) if "request" in comp.columns else x
        for cat in categories:
            fig.add_trace(
                go.Scatter(
                    x=cx,
                    y=_col(comp, cat),
                    name=LABELS[cat],
                    stackgroup="prompt",
                    mode="lines",
                    line={"width": 0.5, "color": COLORS[cat]},
                    fillcolor=COLORS[cat],
                    fillpattern={"shape": "x", "fgcolor": "#777777", "solidity": 0.2}
                    if cat in HATCHED
                    else None,
                    hovertemplate=f"{html.escape(LABELS[cat])}: %{{y:,}}<extra></extra>",
                )
            )
    else:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=total,
                name="Prompt (input_tokens)",
                mode="lines",
                fill="tozeroy",
                line={"color": COLORS["system"], "width": 1.5},
                hovertemplate="prompt: %{y:,}<extra></extra>",
            )
        )
    _add_estimated_hatch(fig, req, total)
    compacted = _col(req, "compaction_input_tokens")
    if bool((compacted > 0).any()):
        at = compacted > 0
        fig.add_trace(
            go.Scatter(
                x=x[at],
                y=compacted[at],
                name="Compaction iteration's prompt (compaction_input_tokens)",
                mode="markers",
                marker={
                    "symbol": "line-ew-open",
                    "size": 18,
                    "color": NEUTRAL,
                    "line": {"width": 2, "color": NEUTRAL},
                },
                hovertemplate="compaction iteration read: %{y:,}<extra></extra>",
            )
        )
    if "context_tokens" in req.columns:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_col(req, "context_tokens"),
                name="Prompt + output (context_tokens)",
                mode="lines",
                line={"color": NEUTRAL, "width": 1, "dash": "dot"},
                hovertemplate="prompt + output: %{y:,}<extra></extra>",
            )
        )
    if baseline is not None:
        b = baseline.requests
        fig.add_trace(
            go.Scatter(
                x=_x(b),
                y=_col(b, "input_tokens"),
                name=f"{baseline_name} (prompt)",
                mode="lines",
                line={"color": NEUTRAL, "width": 1.5, "dash": "dash"},
                hovertemplate=f"{html.escape(baseline_name)}: %{{y:,}}<extra></extra>",
            )
        )
    window = window_tokens(sim)
    if window:
        _hline(fig, x, window, name=f"Context window ({window:,})", color=WINDOW_COLOR, dash="dash")
    lines = policy_lines(sim.settings, context_window=window, model=_last_model(sim))
    for line in lines:
        _hline(fig, x, line.tokens, name=line.label, color=line.color, dash="dot")
    if show_events:
        _add_events(fig, sim.events, req, show_drop=True)
    fig.update_xaxes(title_text="Request", rangemode="tozero")
    _request_axis(fig, x)
    if x_range is not None:
        fig.update_xaxes(range=[x_range[0] - 0.5, x_range[1] + 0.5])
    fig.update_yaxes(title_text="Tokens", rangemode="tozero", tickformat=",")
    tops = [total, compacted, _col(req, "context_tokens")]
    if baseline is not None:
        tops.append(_col(baseline.requests, "input_tokens"))
    _fit_y(
        fig,
        data_top=_data_top(*tops),
        window=window,
        lines=lines,
        full_window=full_window,
    )
    fig.update_layout(hovermode="x unified")
    return _layout(fig, title=title, subtitle=source_note(req), height=height)
