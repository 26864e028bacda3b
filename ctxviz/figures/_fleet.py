"""Many sessions (ctxviz fleet): peaks, cost by project and day, compactions, sweeps."""

from __future__ import annotations

import html
import math
from typing import Final

import pandas as pd
import plotly.graph_objects as go

from ctxviz.figures._style import STRATEGY_COLORS
from ctxviz.figures._traces import _layout

PROJECT_COLORS: Final[tuple[str, ...]] = (
    "#4477AA",
    "#EE6677",
    "#228833",
    "#CCBB44",
    "#66CCEE",
    "#AA3377",
    "#BBBBBB",
    "#000000",
)
"""Paul Tol's "bright" scheme: one colour per project (the eighth, black, is "other")."""


def _projects(frame: pd.DataFrame, most: int = 7) -> pd.Series:
    """Each session's project, the ``most`` costliest kept and the rest called "other"."""
    project = frame["project"].fillna("").astype(str)
    costs = frame.groupby(project)["total_cost_usd"].sum().sort_values(ascending=False)
    kept = set(costs.index[:most])
    return project.where(project.isin(kept), "other")


def _day(frame: pd.DataFrame) -> pd.Series:
    started = pd.to_datetime(frame["started"], errors="coerce", utc=True, format="ISO8601")
    return started.dt.strftime("%Y-%m-%d")


def fleet_peaks(frame: pd.DataFrame) -> go.Figure:
    """How large sessions' largest prompts were: a histogram of ``peak_input_tokens``, with each
    session's window fraction in the hover."""
    peaks = pd.to_numeric(frame["peak_input_tokens"], errors="coerce").dropna()
    fig = go.Figure(
        go.Histogram(
            x=peaks,
            nbinsx=40,
            marker={"color": STRATEGY_COLORS[0]},
            hovertemplate="%{x} tokens: %{y:,} sessions<extra></extra>",
            name="sessions",
        )
    )
    fig.update_xaxes(title_text="peak prompt (tokens)", tickformat=",")
    fig.update_yaxes(title_text="sessions")
    return _layout(
        fig,
        title="Peak prompt per session",
        subtitle=f"{len(peaks):,} sessions; the largest prompt each sent (input tokens)",
        height=340,
        fit=False,
    ).update_layout(bargap=0.05)


def fleet_cost(frame: pd.DataFrame) -> go.Figure:
    """Dollars per day, stacked by project (the seven costliest; the rest as "other"): each
    session's own requests and its sub-agents'."""
    usd = pd.to_numeric(frame["total_cost_usd"], errors="coerce").fillna(0)
    if "subagents_cost_usd" in frame:
        usd = usd + pd.to_numeric(frame["subagents_cost_usd"], errors="coerce").fillna(0)
    data = pd.DataFrame({"day": _day(frame), "project": _projects(frame), "usd": usd}).dropna(
        subset=["day"]
    )
    fig = go.Figure()
    totals = data.groupby("project")["usd"].sum().sort_values(ascending=False)
    for i, project in enumerate(totals.index):
        per_day = data[data["project"] == project].groupby("day")["usd"].sum()
        color = PROJECT_COLORS[-1] if project == "other" else PROJECT_COLORS[i % 7]
        fig.add_trace(
            go.Bar(
                x=list(per_day.index),
                y=per_day.to_numpy(),
                name=html.escape(project or "(no folder)"),
                marker={"color": color},
                hovertemplate=f"{html.escape(project)}<br>%{{x}}: $%{{y:,.2f}}<extra></extra>",
            )
        )
    fig.update_xaxes(
        title_text="day the session started", type="category", categoryorder="category ascending"
    )
    fig.update_yaxes(title_text="USD", tickprefix="$")
    return _layout(
        fig,
        title="Cost by project and day",
        subtitle="list prices with prompt caching, each session with its sub-agents on the day "
        "it started",
        height=380,
        fit=False,
    ).update_layout(barmode="stack", bargap=0.2)


def fleet_compactions(frame: pd.DataFrame) -> go.Figure:
    """Compactions and window hits per day."""
    data = pd.DataFrame(
        {
            "day": _day(frame),
            "compactions": pd.to_numeric(frame["compactions"], errors="coerce").fillna(0),
            "over": pd.to_numeric(frame["over_window_requests"], errors="coerce").fillna(0) > 0,
        }
    ).dropna(subset=["day"])
    per_day = data.groupby("day").agg(
        compactions=("compactions", "sum"), over=("over", "sum"), sessions=("day", "size")
    )
    fig = go.Figure(
        [
            go.Bar(
                x=list(per_day.index),
                y=per_day["compactions"].to_numpy(),
                name="compactions",
                marker={"color": STRATEGY_COLORS[2]},
                customdata=per_day["sessions"].to_numpy(),
                hovertemplate="%{x}: %{y:,} compactions in %{customdata:,} sessions<extra></extra>",
            ),
            go.Bar(
                x=list(per_day.index),
                y=per_day["over"].to_numpy(),
                name="sessions over the window",
                marker={"color": STRATEGY_COLORS[1]},
                hovertemplate="%{x}: %{y:,} sessions over the window<extra></extra>",
            ),
        ]
    )
    fig.update_xaxes(
        title_text="day the session started", type="category", categoryorder="category ascending"
    )
    top = (
        max(float(per_day["compactions"].max()), float(per_day["over"].max()), 0.0)
        if len(per_day)
        else 0.0
    )
    # counts: whole ticks only (plotly would label 0.5 compactions on a short axis)
    fig.update_yaxes(title_text="count", rangemode="tozero", dtick=max(1, math.ceil(top / 5)))
    return _layout(
        fig,
        title="Compactions over time",
        subtitle="compactions (recorded) and sessions with a request over the window, per day",
        height=340,
        fit=False,
    ).update_layout(barmode="group", bargap=0.2)


def sweep_savings(totals: pd.DataFrame) -> go.Figure:
    """Dollars saved per policy over every session (negative: the policy costs more), the tokens
    saved and compactions added in the hover."""
    fig = go.Figure(
        go.Bar(
            x=[html.escape(p) for p in totals["policy"].astype(str)],
            y=totals["usd_saved"].to_numpy(),
            marker={"color": STRATEGY_COLORS[3]},
            customdata=totals[["tokens_saved", "compactions_added"]].to_numpy(),
            hovertemplate="%{x}<br>$%{y:,.2f} saved, %{customdata[0]:,} prompt tokens saved, "
            "%{customdata[1]:+,} compactions<extra></extra>",
            name="USD saved",
        )
    )
    fig.update_xaxes(title_text="policy", type="category")
    fig.update_yaxes(title_text="USD saved vs as recorded", tickprefix="$")
    return _layout(
        fig,
        title="What each policy would have saved",
        subtitle="summed over every session it replayed (as recorded minus the policy)",
        height=360,
        fit=False,
    ).update_layout(bargap=0.3)
