"""Cost per request and cumulative, with prompt caching."""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ctxviz.figures._compare import _strategy_style
from ctxviz.figures._readers import (
    _col,
    _estimated_mask,
    _symbols,
    _wrap_notes,
    _x,
    source_counts,
    window_tokens,
)
from ctxviz.figures._style import COLORS, NEUTRAL, WINDOW_COLOR
from ctxviz.figures._traces import _hline, _layout, _request_axis
from ctxviz.summary import SimulationLike


def cost(
    sims: Mapping[str, SimulationLike],
    *,
    premium_threshold_tokens: int | None = None,
    title: str = "Cost with prompt caching",
    height: int = 760,
) -> go.Figure:
    """Cumulative $ per strategy, the prompts against the long-context premium zone (drawn only
    when a strategy's window exceeds the threshold), and the first strategy's cache reads and
    writes per request."""
    windows = [window_tokens(sim) or 0 for sim in sims.values()]
    if premium_threshold_tokens and not any(w > premium_threshold_tokens for w in windows):
        premium_threshold_tokens = None
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.4, 0.32, 0.28],
        vertical_spacing=0.09,
        subplot_titles=(
            "Cumulative cost (USD)",
            "Prompt per request"
            + (
                f" — above {premium_threshold_tokens:,} tokens: long-context rates"
                if premium_threshold_tokens
                else ""
            ),
            "Prompt cache per request (first strategy)",
        ),
    )
    notes: list[str] = []
    xs: list[int] = []
    peak = 0.0
    for i, (name, sim) in enumerate(sims.items()):
        req = sim.requests
        x = _x(req)
        xs += x.tolist()
        color, dash = _strategy_style(i)
        cumulative = (
            _col(req, "cumulative_cost_usd")
            if "cumulative_cost_usd" in req.columns
            else _col(req, "cost_usd").cumsum()
        )
        est = _estimated_mask(req)
        symbols = _symbols(est)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=cumulative,
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line={"color": color, "dash": dash, "width": 2},
                marker={"size": 4, "color": color, "symbol": symbols},
                hovertemplate=f"{html.escape(name)}: $%{{y:,.4f}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        prompt = _col(req, "input_tokens")
        peak = max(peak, float(prompt.max()) if len(req) else 0.0)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=prompt,
                name=name,
                legendgroup=name,
                showlegend=False,
                mode="lines",
                line={"color": color, "dash": dash, "width": 1.5},
                hovertemplate=f"{html.escape(name)}: %{{y:,}} tokens<extra></extra>",
            ),
            row=2,
            col=1,
        )
        if "long_context" in req.columns:
            lc = np.asarray(req["long_context"].fillna(False).astype(bool), dtype=np.bool_)
            if bool(lc.any()):
                fig.add_trace(
                    go.Scatter(
                        x=x[lc],
                        y=prompt[lc],
                        name=f"{name}: billed at long-context rates",
                        legendgroup=name,
                        mode="markers",
                        marker={"symbol": "square-open", "size": 7, "color": color},
                        hovertemplate="long-context request %{x}: %{y:,} tokens<extra></extra>",
                    ),
                    row=2,
                    col=1,
                )
        recorded, estimated = source_counts(req)
        notes.append(f"{html.escape(name)}: {recorded:,} recorded / {estimated:,} estimated")
        if i == 0:
            for column, label, c in (
                ("cache_read_input_tokens", "Cache reads", COLORS["system"]),
                ("cache_creation_input_tokens", "Cache writes", "#EE7733"),
                ("uncached_input_tokens", "Uncached input", NEUTRAL),
            ):
                if column in req.columns:
                    fig.add_trace(
                        go.Bar(
                            x=x,
                            y=_col(req, column),
                            name=f"{label} ({name})",
                            marker={"color": c, "line": {"width": 0}},
                            hovertemplate=f"{label}: %{{y:,}}<extra></extra>",
                        ),
                        row=3,
                        col=1,
                    )
    if premium_threshold_tokens:
        top = max(peak, float(premium_threshold_tokens)) * 1.05
        fig.add_hrect(
            y0=premium_threshold_tokens,
            y1=top,
            fillcolor="rgba(204,51,17,0.12)",
            line_width=0,
            row=2,
            col=1,
        )
        _hline(
            fig,
            np.asarray(xs, dtype=np.int64),
            premium_threshold_tokens,
            name=f"Long-context pricing above {premium_threshold_tokens:,} input tokens",
            color=WINDOW_COLOR,
            dash="dot",
            row=2,
        )
    fig.update_xaxes(title_text="Request", row=3, col=1)
    _request_axis(fig, np.asarray(xs, dtype=np.int64))
    fig.update_yaxes(title_text="USD", tickprefix="$", row=1, col=1)
    fig.update_yaxes(title_text="Tokens", tickformat=",", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(title_text="Tokens", tickformat=",", rangemode="tozero", row=3, col=1)
    _layout(
        fig,
        title=title,
        subtitle=_wrap_notes(notes),
        height=height,
        top_margin=105 + 14 * max(len(notes) - 2, 0),
    )
    fig.update_layout(barmode="stack", hovermode="x unified")
    return fig
