"""Thinking: what it costs per request, carried and stripped."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ctxviz.figures._readers import (
    BoolArray,
    IntArray,
    _col,
    _estimated_mask,
    _symbols,
    _x,
    source_note,
)
from ctxviz.figures._style import CARRIED_COLOR, COLORS, NEUTRAL
from ctxviz.figures._traces import _add_events, _layout, _request_axis, _stepped_area
from ctxviz.summary import SimulationLike


def _tool_loop_mask(requests: pd.DataFrame) -> BoolArray:
    """Requests that belong to a turn spanning several requests (a tool-use loop)."""
    if "turn" not in requests.columns or requests.empty:
        return np.zeros(len(requests), dtype=np.bool_)
    sizes = requests.groupby("turn")["turn"].transform("size")
    return np.asarray(sizes > 1, dtype=np.bool_)


def turn_starts(requests: pd.DataFrame) -> IntArray:
    """Requests that open a new assistant turn (a genuine user message before them), after the
    first: where the previous turn's thinking stops being sent back."""
    if "turn" not in requests.columns or len(requests) < 2:
        return np.zeros(0, dtype=np.int64)
    turn = np.asarray(requests["turn"], dtype=np.int64)
    x = _x(requests)
    starts: IntArray = x[1:][turn[1:] != turn[:-1]]
    return starts


MARKED_REQUESTS: Final = 300
"""Up to this many requests, the carried line has a marker per request (open: estimated); past
it, a line only (a marker is styled one by one, and 3,000 are a blur)."""


def thinking(
    sim: SimulationLike,
    *,
    title: str = "Thinking: generated, carried in the prompt, stripped",
    height: int = 520,
) -> go.Figure:
    """Thinking generated per request vs thinking carried in the next prompts, and what the API
    stripped; tool-use loops (where the current turn's thinking must be sent back) are shaded."""
    req = sim.requests
    x = _x(req)
    generated = _col(req, "thinking_tokens")
    carried = _col(req, "thinking_carried_tokens")
    stripped = _col(req, "thinking_stripped_tokens")
    fig = go.Figure()
    loop = _tool_loop_mask(req)
    top = float(max(generated.max() if len(req) else 0, carried.max() if len(req) else 0, 1))
    bottom = -float(stripped.max()) if len(req) and float(stripped.max()) > 0 else 0.0
    # Areas stepped at each request, not bars: a bar is an SVG element styled one by one (3,000
    # requests made a slider move spend ~0.3 s styling them); an area is one path.
    if bool(loop.any()):
        fig.add_trace(
            _stepped_area(
                x,
                np.where(loop, top * 1.05, 0.0),
                color="rgba(136,204,238,0.16)",
                fillcolor="rgba(136,204,238,0.16)",
                name="Tool-use loop: this turn's thinking is sent back and counts",
                hoverinfo="skip",
            )
        )
    starts = turn_starts(req)
    if len(starts):
        seg_x = np.full(3 * len(starts), np.nan)
        seg_y = np.full(3 * len(starts), np.nan)
        seg_x[0::3] = seg_x[1::3] = starts - 0.5
        seg_y[0::3], seg_y[1::3] = bottom, top * 1.05
        fig.add_trace(
            go.Scatter(
                x=seg_x,
                y=seg_y,
                mode="lines",
                name="A user message starts a new turn",
                line={"color": NEUTRAL, "width": 1, "dash": "dot"},
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        _stepped_area(
            x,
            generated,
            color=COLORS["thinking"],
            fillcolor=COLORS["thinking"],
            name="Generated (output thinking_tokens)",
            hovertemplate="generated: %{y:,}<extra></extra>",
        )
    )
    fig.add_trace(
        _stepped_area(
            x,
            -stripped,
            color=COLORS["thinking"],
            fillcolor="rgba(170,68,153,0.25)",
            name="Stripped from the prompt (below zero)",
            fillpattern={"shape": "/", "fgcolor": COLORS["thinking"], "solidity": 0.4},
            customdata=stripped,
            hovertemplate="stripped: %{customdata:,}<extra></extra>",
        )
    )
    est = _estimated_mask(req)
    markers = len(x) <= MARKED_REQUESTS
    fig.add_trace(
        go.Scatter(
            x=x,
            y=carried,
            name="Carried in the prompt (thinking_carried_tokens)",
            mode="lines+markers" if markers else "lines",
            line={"color": CARRIED_COLOR, "width": 2.5, "shape": "hv"},
            marker={"size": 6, "color": CARRIED_COLOR, "symbol": _symbols(est)}
            if markers
            else None,
            hovertemplate="carried: %{y:,}<extra></extra>",
        )
    )
    _add_events(fig, sim.events, req, types=["clear_thinking_20251015"])
    fig.update_xaxes(title_text="Request", rangemode="tozero")
    _request_axis(fig, x)
    fig.update_yaxes(title_text="Thinking tokens", tickformat=",", zeroline=True)
    fig.update_layout(hovermode="x unified")
    return _layout(fig, title=title, subtitle=source_note(req), height=height)
