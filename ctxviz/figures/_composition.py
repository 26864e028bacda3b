"""The composition of one request's prompt."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ctxviz.categories import CATEGORIES, LABELS
from ctxviz.figures._readers import window_tokens
from ctxviz.figures._style import _HATCH, COLORS, HATCHED, NEUTRAL
from ctxviz.figures._traces import _layout
from ctxviz.summary import SimulationLike


def composition_table(sim: SimulationLike, request: int) -> pd.DataFrame:
    """What request ``request``'s context window holds, by category, like Claude Code's /context:
    category, tokens and share of the window (output and free space included)."""
    req = sim.requests
    comp = sim.composition
    columns = ["category", "label", "tokens", "share of window"]
    if req.empty or request < 0 or request >= len(req):
        return pd.DataFrame(columns=columns)
    row = _row(req, request)
    crow = _row(comp, request) if len(comp) == len(req) else {}
    window = window_tokens(sim)
    rows: list[dict[str, Any]] = []
    for cat in CATEGORIES:
        value = crow.get(cat)
        if value is not None and not pd.isna(value) and value:
            rows.append({"category": cat, "label": LABELS[cat], "tokens": int(value)})
    if not rows:
        rows.append(
            {
                "category": "prompt",
                "label": "Prompt (input_tokens)",
                "tokens": int(row.get("input_tokens", 0) or 0),
            }
        )
    output = int(row.get("output_tokens", 0) or 0)
    if output:
        rows.append({"category": "output", "label": "Output of this request", "tokens": output})
    used = sum(int(r["tokens"]) for r in rows)
    if window:
        rows.append({"category": "free", "label": "Free space", "tokens": max(window - used, 0)})
    frame = pd.DataFrame(rows, columns=columns[:3])
    denominator = window or used or 1
    frame["share of window"] = (frame["tokens"] / denominator).round(4)
    return frame


def _row(frame: pd.DataFrame, request: int) -> dict[str, Any]:
    if "request" in frame.columns:
        match = frame[frame["request"] == request]
        if len(match):
            return {str(k): v for k, v in match.iloc[0].to_dict().items()}
    if 0 <= request < len(frame):
        return {str(k): v for k, v in frame.iloc[request].to_dict().items()}
    return {}


def composition(
    sim: SimulationLike,
    request: int,
    *,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """One request's context window as a horizontal stacked bar: categories, output, free.

    ``height`` (pixels) defaults to room for the legend in one column (a narrow page) and the
    bar under it; the bar keeps a fixed thickness."""
    table = composition_table(sim, request)
    if height is None:
        height = 200 + 19 * len(table)
    row = _row(sim.requests, request)
    estimated = str(row.get("source", "estimated")) != "recorded"
    fig = go.Figure()
    colors: dict[str, str] = {str(k): v for k, v in COLORS.items()}
    colors |= {
        "prompt": COLORS["system"],
        "output": "#EE7733",
        "free": "rgba(0,0,0,0)",
    }
    for record in table.to_dict("records"):
        cat = str(record["category"])
        color = colors.get(cat, NEUTRAL)
        marker: dict[str, Any] = {"color": color, "line": {"width": 0}}
        if cat == "free":
            marker = {"color": "rgba(0,0,0,0)", "line": {"width": 1, "color": NEUTRAL}}
        elif cat in HATCHED or (estimated and cat != "output"):
            # overlay: the hatching marks "estimated" while the category keeps its colour
            marker["pattern"] = {**_HATCH, "fillmode": "overlay"}
        label = str(record["label"])
        fig.add_trace(
            go.Bar(
                x=[int(record["tokens"])],
                y=["window"],
                width=0.5,
                orientation="h",
                name=label,
                marker=marker,
                customdata=[[float(record["share of window"]) * 100]],
                hovertemplate=f"{html.escape(label)}: %{{x:,}} tokens "
                "(%{customdata[0]:.1f}% of window)<extra></extra>",
            )
        )
    window = window_tokens(sim)
    source = "estimated (hatched)" if estimated else "recorded usage"
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=",", range=[0, window] if window else None)
    fig.update_yaxes(showticklabels=False)
    _layout(
        fig,
        title=title or f"Request {request}: what the context window holds",
        subtitle=f"Request {request}: {source}"
        + (f" · window {window:,} tokens" if window else ""),
        height=height,
    )
    # room for the tick labels below and the last one's overhang on the right (never pushed)
    fig.update_layout(barmode="stack", margin={"l": 20, "r": 35, "b": 40})
    return fig
