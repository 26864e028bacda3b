"""Strategies side by side."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ctxviz.figures._readers import (
    _col,
    _estimated_mask,
    _symbols,
    _wrap_notes,
    _x,
    source_counts,
    window_tokens,
)
from ctxviz.figures._style import STRATEGY_COLORS, STRATEGY_DASHES, WINDOW_COLOR
from ctxviz.figures._tables import summary
from ctxviz.figures._traces import _add_events, _fit_y, _hline, _layout, _request_axis
from ctxviz.summary import (
    CLEARING_EVENTS,
    COMPACTION_EVENTS,
    SimulationLike,
)


def _strategy_style(i: int) -> tuple[str, str]:
    return STRATEGY_COLORS[i % len(STRATEGY_COLORS)], STRATEGY_DASHES[i % len(STRATEGY_DASHES)]


def compare(
    sims: Mapping[str, SimulationLike],
    *,
    full_window: bool = False,
    title: str = "Strategies compared: prompt per request",
    height: int = 560,
) -> go.Figure:
    """Up to four strategies' prompt curves on one plot, with their compactions and clearings."""
    fig = go.Figure()
    xs: list[int] = []
    notes: list[str] = []
    window: int | None = None
    top = 0.0
    for i, (name, sim) in enumerate(sims.items()):
        req = sim.requests
        color, dash = _strategy_style(i)
        x = _x(req)
        xs += x.tolist()
        top = max(top, float(_col(req, "input_tokens").max()) if len(req) else 0.0)
        est = _estimated_mask(req)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_col(req, "input_tokens"),
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line={"color": color, "dash": dash, "width": 2},
                marker={
                    "size": 4,
                    "color": color,
                    "symbol": _symbols(est),
                },
                hovertemplate=f"{html.escape(name)}: %{{y:,}}<extra></extra>",
            )
        )
        _add_events(
            fig,
            sim.events,
            req,
            types=COMPACTION_EVENTS | CLEARING_EVENTS | {"context_window_exceeded"},
            name_suffix=f" — {name}",
            at_after=True,
            color=color,
            rug=True,
        )
        window = window or window_tokens(sim)
        recorded, estimated = source_counts(req)
        notes.append(f"{html.escape(name)}: {recorded:,} recorded / {estimated:,} estimated")
    if window:
        _hline(
            fig,
            np.asarray(xs, dtype=np.int64),
            window,
            name=f"Context window ({window:,})",
            color=WINDOW_COLOR,
            dash="dash",
        )
    fig.update_xaxes(title_text="Request", rangemode="tozero")
    _request_axis(fig, np.asarray(xs, dtype=np.int64))
    fig.update_yaxes(title_text="Prompt tokens", tickformat=",", rangemode="tozero")
    _fit_y(fig, data_top=top, window=window, full_window=full_window)
    fig.update_layout(hovermode="x unified")
    return _layout(
        fig,
        title=title,
        subtitle=_wrap_notes(notes),
        height=height,
        top_margin=80 + 14 * max(len(notes) - 2, 0),
    )


def compare_table(sims: Mapping[str, SimulationLike]) -> pd.DataFrame:
    """One row per strategy: peak prompt, first request over the window, clearings,
    compactions, total cost, cache hit rate, and how many requests are estimated."""
    rows: list[dict[str, Any]] = []
    for name, sim in sims.items():
        req = sim.requests
        s = summary(sim)
        total_prompt = float(_col(req, "input_tokens").sum())
        reads = float(_col(req, "cache_read_input_tokens").sum())
        rows.append(
            {
                "strategy": name,
                "requests": s["requests"],
                "peak prompt (tokens)": s["peak_prompt_tokens"],
                "first request over the window": s["first_over_window"],
                "clearings": s["clearings"],
                "compactions": s["compactions"],
                "total $": round(s["total_cost_usd"], 4) if "cost_usd" in req.columns else None,
                "cache hit rate": round(reads / total_prompt, 4) if total_prompt else None,
                "estimated requests": s["estimated"],
                "recorded requests": s["recorded"],
            }
        )
    columns = [
        "strategy",
        "requests",
        "peak prompt (tokens)",
        "first request over the window",
        "clearings",
        "compactions",
        "total $",
        "cache hit rate",
        "estimated requests",
        "recorded requests",
    ]
    return pd.DataFrame(rows, columns=columns)
