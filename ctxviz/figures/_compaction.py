"""Compaction: the prompt under a compaction policy, with its trigger."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from ctxviz.categories import LABELS
from ctxviz.figures._lines import policy_lines
from ctxviz.figures._readers import (
    _col,
    _estimated_mask,
    _last_model,
    _symbols,
    _x,
    source_note,
    window_tokens,
)
from ctxviz.figures._style import COLORS, NEUTRAL, WINDOW_COLOR
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


def compaction(
    sim: SimulationLike,
    *,
    baseline: SimulationLike | None = None,
    baseline_name: str = "Without this policy",
    full_window: bool = False,
    title: str = "Compaction: the prompt's sawtooth",
    height: int = 560,
) -> go.Figure:
    """The prompt per request with every compaction drawn as a drop (tokens before → after)."""
    req = sim.requests
    x = _x(req)
    fig = go.Figure()
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
    est = _estimated_mask(req)
    prompt = _col(req, "input_tokens")
    fig.add_trace(
        go.Scatter(
            x=x,
            y=prompt,
            name="Prompt (input_tokens)",
            mode="lines+markers",
            line={"color": COLORS["summary"], "width": 2},
            marker={
                "size": 4,
                "color": COLORS["summary"],
                "symbol": _symbols(est),
            },
            fill="tozeroy",
            fillcolor="rgba(17,119,51,0.12)",
            hovertemplate="prompt: %{y:,}<extra></extra>",
        )
    )
    if "summary" in sim.composition.columns and len(sim.composition) == len(req):
        summary = _col(sim.composition, "summary")
        if float(summary.sum()) > 0:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=summary,
                    name=LABELS["summary"],
                    mode="lines",
                    line={"color": COLORS["summary"], "width": 0.5},
                    fill="tozeroy",
                    fillcolor=COLORS["summary"],
                    hovertemplate="summary: %{y:,}<extra></extra>",
                )
            )
    _add_estimated_hatch(fig, req, prompt)
    window = window_tokens(sim)
    if window:
        _hline(fig, x, window, name=f"Context window ({window:,})", color=WINDOW_COLOR, dash="dash")
    lines = policy_lines(sim.settings, context_window=window, model=_last_model(sim))
    for line in lines:
        _hline(fig, x, line.tokens, name=line.label, color=line.color, dash="dot")
    _add_events(fig, sim.events, req, show_drop=True)
    fig.update_xaxes(title_text="Request", rangemode="tozero")
    _request_axis(fig, x)
    fig.update_yaxes(title_text="Tokens", tickformat=",", rangemode="tozero")
    tops = [prompt, _col(req, "compaction_input_tokens")]
    if baseline is not None:
        tops.append(_col(baseline.requests, "input_tokens"))
    _fit_y(
        fig,
        data_top=_data_top(*tops),
        window=window,
        lines=lines,
        full_window=full_window,
    )
    fig.update_layout(hovermode="closest")
    return _layout(fig, title=title, subtitle=source_note(req), height=height)
