"""Trace builders and axes every figure shares: events, estimated hatching, layout, fitted axes."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ctxviz import _decimate
from ctxviz.figures._lines import PolicyLine
from ctxviz.figures._readers import (
    FloatArray,
    IntArray,
    _col,
    _estimated_mask,
    _fmt_int,
    _present,
    _x,
)
from ctxviz.figures._style import (
    _HATCH,
    _LEGEND,
    _OTHER_EVENT,
    EVENT_STYLES,
    MANY_EVENTS,
    WINDOW_COLOR,
    EventStyle,
)


def _add(fig: go.Figure, trace: Any, row: int | None) -> None:
    if row is None:
        fig.add_trace(trace)
    else:
        fig.add_trace(trace, row=row, col=1)


def _stepped_area(x: Any, y: Any, *, color: str, fillcolor: str, **kwargs: Any) -> go.Scatter:
    """An area stepped at each request: one SVG path, where bars are an element each that
    plotly styles one by one (thousands of them make a slider move slow)."""
    return go.Scatter(
        x=x,
        y=y,
        mode="lines",
        line={"width": 0, "shape": "hvh", "color": color},
        fill=kwargs.pop("fill", "tozeroy"),
        fillcolor=fillcolor,
        **kwargs,
    )


def _hline(
    fig: go.Figure,
    x: IntArray,
    tokens: int,
    *,
    name: str,
    color: str,
    dash: str,
    row: int | None = None,
) -> None:
    """A horizontal line as a trace (so it has a legend entry and hover)."""
    lo, hi = (int(x.min()), int(x.max())) if len(x) else (0, 1)
    _add(
        fig,
        go.Scatter(
            x=[lo, hi],
            y=[tokens, tokens],
            mode="lines",
            name=name,
            line={"color": color, "dash": dash, "width": 1.6},
            hovertemplate=f"{html.escape(name)}<extra></extra>",
        ),
        row,
    )


_EVENT_COUNTS: Final = (
    ("cleared_tool_uses", "tool uses cleared"),
    ("cleared_thinking_turns", "thinking turns cleared"),
    ("cleared_input_tokens", "tokens cleared"),
    ("summary_tokens", "summary tokens"),
)


_RESTATES_COUNTS: Final = re.compile(
    r"Request [0-9,]+: (?:[0-9,]+ tool use\(s\)|thinking of [0-9,]+ earlier turn\(s\)) cleared, "
    r"[0-9,]+ tokens saved\."
)
"""A clearing's detail as its policy writes it (``ctxviz.policies.step.Cleared.detail``): it only
restates the request and counts the hover already shows, and with hundreds of clearings per chart
it would be most of the bytes sent per slider move. Any other detail is shown."""


def _event_hover(group: pd.DataFrame, style: EventStyle) -> dict[str, Any]:
    """Hover of each event: what, where, prompt before → after, counts, the detail.

    What every marker of the trace has goes into one shared ``hovertemplate``, its numbers into
    ``customdata`` (a typed array: a few bytes per marker); only what differs from marker to
    marker is text. Built column by column, which is fast for thousands of events.
    """
    n = len(group)

    def column(name: str) -> list[Any]:
        return group[name].tolist() if name in group.columns else [None] * n

    template = [f"<b>{html.escape(style.label)}</b><br>request %{{x:,}}"]
    shared: list[list[int]] = []
    parts: list[list[str]] = []

    def share(values: list[Any]) -> str:
        shared.append([int(v) for v in values])
        return f"%{{customdata[{len(shared) - 1}]:,}}"

    befores, afters = column("tokens_before"), column("tokens_after")
    if n and all(_present(b) and _present(a) for b, a in zip(befores, afters, strict=True)):
        template.append(f"prompt {share(befores)} → {share(afters)} tokens")
    else:
        parts.append(
            [
                f"<br>prompt {_fmt_int(b)} → {_fmt_int(a)} tokens" if _present(b) else ""
                for b, a in zip(befores, afters, strict=True)
            ]
        )
    for key, label in _EVENT_COUNTS:
        values = column(key)
        if n and all(_present(v) and v for v in values):
            template.append(f"{label}: {share(values)}")
        else:
            parts.append(
                [f"<br>{label}: {_fmt_int(v)}" if _present(v) and v else "" for v in values]
            )
    # Details may quote tool names from the transcript: escape so hover text stays inert.
    parts.append(
        [
            "<br>" + html.escape(d[:300])
            if isinstance(d, str) and d and not _RESTATES_COUNTS.fullmatch(d)
            else ""
            for d in column("detail")
        ]
    )
    texts = ["".join(p) for p in zip(*parts, strict=True)]
    hover: dict[str, Any] = {"hovertemplate": "<br>".join(template)}
    if any(texts):
        hover["hovertemplate"] += "%{text}"  # each text starts with its own line break
        hover["text"] = np.asarray(texts, dtype=object)
    if shared:
        hover["customdata"] = np.asarray(shared, dtype=np.int64).T
    hover["hovertemplate"] += "<extra></extra>"
    return hover


def _add_events(
    fig: go.Figure,
    events: pd.DataFrame,
    requests: pd.DataFrame,
    *,
    types: Iterable[str] | None = None,
    row: int | None = None,
    name_suffix: str = "",
    show_drop: bool = False,
    at_after: bool = False,
    color: str | None = None,
    rug: bool = False,
) -> None:
    """One marker trace per event type at (request, tokens before), hover with the details;
    ``at_after`` puts the markers at the prompt after the event (on the curve of what was sent);
    ``color`` replaces the event type's colour (the symbol still tells the type); ``rug`` draws
    more than :data:`MANY_EVENTS` events as thin ticks along the bottom, so they do not smother
    the lines."""
    if events.empty or "type" not in events.columns:
        return
    wanted = set(types) if types is not None else None
    if wanted is not None:
        events = events[events["type"].isin(wanted)]
    as_rug = rug and len(events) > MANY_EVENTS
    prompt = dict(zip(_x(requests).tolist(), _col(requests, "input_tokens").tolist(), strict=True))
    for kind, group in events.groupby("type", sort=False):
        kind = str(kind)
        if wanted is not None and kind not in wanted:
            continue
        style = EVENT_STYLES.get(kind, _OTHER_EVENT)
        if color is not None:
            style = EventStyle(label=style.label, symbol=style.symbol, color=color)
        xs = np.asarray(_col(group, "request"), dtype=np.int64)
        before = _col(group, "tokens_before")
        has_before = (
            np.asarray(group["tokens_before"].notna(), dtype=np.bool_)
            if "tokens_before" in group.columns
            else np.zeros(len(group), dtype=np.bool_)
        )
        fallback = np.asarray([prompt.get(int(r), 0.0) for r in xs], dtype=np.float64)
        ys = np.where(has_before, before, fallback)
        if at_after and "tokens_after" in group.columns:
            after_col = _col(group, "tokens_after")
            has_after = np.asarray(group["tokens_after"].notna(), dtype=np.bool_)
            ys = np.where(has_after, after_col, fallback)
        if as_rug:
            ys = np.zeros(len(xs), dtype=np.float64)
        if show_drop and not as_rug and "tokens_after" in group.columns:
            after = np.asarray(pd.to_numeric(group["tokens_after"], errors="coerce"), np.float64)
            keep = ~np.isnan(after)
            if bool(keep.any()):
                n = int(keep.sum())
                drop_x = np.full(3 * n, np.nan)
                drop_y = np.full(3 * n, np.nan)
                drop_x[0::3] = drop_x[1::3] = xs[keep]
                drop_y[0::3] = ys[keep]
                drop_y[1::3] = after[keep]
                _add(
                    fig,
                    go.Scatter(
                        x=drop_x,
                        y=drop_y,
                        mode="lines",
                        line={"color": style.color, "width": 2},
                        showlegend=False,
                        hoverinfo="skip",
                        legendgroup=kind + name_suffix,
                    ),
                    row,
                )
        _add(
            fig,
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name=style.label + name_suffix,
                legendgroup=kind + name_suffix,
                marker={"symbol": "line-ns-open", "size": 9, "line": {"width": 1.2}}
                if as_rug
                else {"symbol": style.symbol, "size": 11, "line": {"width": 1.5}},
                marker_color=style.color,
                marker_line_color=style.color,
                cliponaxis=not as_rug,
                **_event_hover(group, style),
            ),
            row,
        )


def _add_estimated_hatch(
    fig: go.Figure,
    requests: pd.DataFrame,
    heights: FloatArray,
    *,
    row: int | None = None,
    name: str = "Estimated rows (hatched)",
) -> None:
    """Hatch the columns of estimated requests up to ``heights``, one legend entry for all.

    A transparent scatter fill with a pattern, not a bar: plotly draws bars beneath scatter
    traces, so a bar hatch would hide under the stacked areas. Each run of consecutive estimated
    requests is one closed polygon (steps of one request wide), runs separated by gaps.
    """
    mask = _estimated_mask(requests)
    if not bool(mask.any()):
        return
    x_all = _x(requests)
    lo, hi = float(x_all.min()), float(x_all.max())
    xs: list[float] = []
    ys: list[float] = []
    idx = np.flatnonzero(mask)
    # Split into runs of consecutive request numbers.
    breaks = np.flatnonzero(np.diff(x_all[idx]) != 1) + 1
    for run in np.split(idx, breaks):
        rx = x_all[run].astype(np.float64)
        h = heights[run]
        left = np.maximum(rx - 0.5, lo)
        right = np.minimum(rx + 0.5, hi)
        step_x = np.empty(2 * len(run))
        step_y = np.empty(2 * len(run))
        step_x[0::2], step_x[1::2] = left, right
        step_y[0::2], step_y[1::2] = h, h
        xs += [float(left[0]), *step_x.tolist(), float(right[-1]), math.nan]
        ys += [0.0, *step_y.tolist(), 0.0, math.nan]
    _add(
        fig,
        go.Scatter(
            x=np.asarray(xs),
            y=np.asarray(ys),
            name=name,
            mode="lines",
            fill="toself",
            fillcolor="rgba(0,0,0,0)",
            fillpattern=_HATCH,
            line={"width": 0, "color": "rgba(128,128,128,0.7)"},
            hoverinfo="skip",
        ),
        row,
    )


_TITLE_TOP_PX: Final = 12
# Every margin is set to what the chart needs (the x axis's tick labels and title below, 67 px
# in Chromium), so that plotly never pushes one: a push is made again at every redraw (the
# figure resets the margin) and costs a second layout, 20-35 ms of a slider move at 236
# requests (A/B in Chromium). tests/browser checks no page's chart is pushed at 1,440 px.
_BOTTOM_PX: Final = 70
# The legend's room above the plot is reserved in the top margin, its rows reckoned for a plot
# _TYPICAL_PLOT_PX wide (a 1,440 px page): had plotly to push the margin, it would at every redraw
# (see above). Where the page is narrower and the legend takes more rows, plotly still makes
# room for them.
_TYPICAL_PLOT_PX: Final = 1000
_LEGEND_ROW_PX: Final = 19
_LEGEND_CHAR_PX: Final = 6.2
_LEGEND_SYMBOL_PX: Final = 46


def _legend_px(fig: go.Figure) -> int:
    """The reserved height of the legend: its rows at the typical width, columns as wide as its
    widest entry."""
    names = [t.name for t in fig.data if t.showlegend is not False and t.name]
    if fig.layout.showlegend is False or (len(names) < 2 and not fig.layout.showlegend):
        return 0
    widest = _LEGEND_SYMBOL_PX + _LEGEND_CHAR_PX * max(map(len, names))
    columns = max(1, int(_TYPICAL_PLOT_PX // widest))
    return _LEGEND_ROW_PX * -(-len(names) // columns)


def _layout(
    fig: go.Figure,
    *,
    title: str,
    subtitle: str,
    height: int,
    top_margin: int = 80,
    fit: bool = True,
) -> go.Figure:
    if fit:  # long series thinned for the screen: peaks, steps and events kept (_decimate)
        _decimate.fit(fig)
    fig.update_layout(
        title={
            "text": title,
            "subtitle": {"text": subtitle},
            "x": 0,
            "xanchor": "left",
            "yref": "container",
            "y": 1 - _TITLE_TOP_PX / height,
            "yanchor": "top",
        },
        height=height,
        legend={**_LEGEND, "yref": "container", "y": 1 - (top_margin - 24) / height},
        margin={"l": 60, "r": 20, "t": top_margin + _legend_px(fig), "b": _BOTTOM_PX},
        barmode="overlay",
        bargap=0,
        hoverlabel={"namelength": -1},
    )
    _fixed_left_margin(fig)
    return fig


# ---- the left margin, set here rather than measured by plotly ----------------------------------
# Plotly's automargin measures the tick labels in the page at every redraw, and each measurement
# lays out the whole Streamlit document: ~30 ms of a slider move's 250 ms at 236 requests
# (docs/speed.md). A token axis's labels are numbers with thousands separators (tickformat ","),
# so their widest possible text is known from the axis's range, and the margin is set from it.
# Pixel widths in plotly's 12 px tick font; the frame is the tick marks, padding and the axis
# title, measured in Chromium (tests/browser checks every label and title lies inside the chart).
_DIGIT_PX: Final = 6.0
_SEPARATOR_PX: Final = 3.0
_MINUS_PX: Final = 7.0
_LEFT_FRAME_PX: Final = 59


def _fixed_left_margin(fig: go.Figure) -> None:
    """Switch automargin off on left token axes (tickformat ",") and widen the left margin to
    their widest possible tick label, and off on y axes without labels; other axes keep
    plotly's automargin."""
    layout = fig.layout
    widths = []
    for axis in fig.select_yaxes():
        if axis.showticklabels is False:
            if not axis.title.text:
                axis.automargin = False  # nothing to measure
            continue
        if (
            axis.tickformat not in (",", ",d")
            or axis.side == "right"
            or axis.overlaying
            or axis.type not in (None, "-", "linear")
            or axis.tickprefix
            or axis.ticksuffix
        ):
            continue
        lo, hi = _axis_span(fig, "y" + axis.plotly_name.removeprefix("yaxis"), axis.range)
        widths.append(_label_px(lo, hi))
        axis.automargin = False
    if widths:
        layout.margin.l = max(layout.margin.l or 0, _LEFT_FRAME_PX + math.ceil(max(widths)))


def _axis_span(fig: go.Figure, axis_id: str, fixed: Any) -> tuple[float, float]:
    """The axis's range if set, else a bound on plotly's autorange: every value drawn on it
    (bars summed as if stacked), zero included, padded by 5%."""
    if fixed is not None and len(fixed) == 2 and None not in fixed:
        return float(fixed[0]), float(fixed[1])
    lo = hi = bars_lo = bars_hi = 0.0
    for trace in fig.data:
        if (getattr(trace, "yaxis", None) or "y") != axis_id or getattr(trace, "y", None) is None:
            continue
        y = np.asarray(trace.y, dtype=np.float64)
        y = y[np.isfinite(y)]
        if not len(y):
            continue
        if trace.type == "bar":
            bars_lo += min(float(y.min()), 0.0)
            bars_hi += max(float(y.max()), 0.0)
        else:
            lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
    lo, hi = min(lo, bars_lo), max(hi, bars_hi)
    return lo * 1.05, hi * 1.05


def _label_px(lo: float, hi: float) -> float:
    """Width of the widest tick label an axis from ``lo`` to ``hi`` can show (format ",")."""
    digits = len(str(int(max(abs(lo), abs(hi), 1))))
    px = digits * _DIGIT_PX + (digits - 1) // 3 * _SEPARATOR_PX
    if hi - lo < 20:  # fractional steps: "2.5", "0.25"
        px += _SEPARATOR_PX + 2 * _DIGIT_PX
    return px + (_MINUS_PX if lo < 0 else 0.0)


# ---- axes: fit the data, keep the window marked, whole requests ---------------------------------

HEADROOM: Final = 1.15
"""The fitted y axis reaches this much above the highest point drawn."""
FAR: Final = 2.0
"""A window more than this many times the data's top is left out of the axis (an arrow says
where it is); closer, the axis shows the whole window."""


def _data_top(*series: Any) -> float:
    """The largest value of the (possibly empty) series drawn on a token axis; 0 when none."""
    return max((float(s.max()) for s in series if len(s)), default=0.0)


def _fit_y(
    fig: go.Figure,
    *,
    data_top: float,
    window: int | None,
    lines: Iterable[PolicyLine] = (),
    full_window: bool = False,
    row: int | None = None,
) -> None:
    """Fit the token axis to the data with headroom (a 2,800-token chat is not a flat line at
    zero under a 1M window) when the window is far above it (:data:`FAR`); the window line is
    kept, and an annotation says where it is. ``full_window`` draws up to the window instead.
    Trigger lines close above the data (up to twice its top) are kept in view."""
    top = max(float(data_top), 0.0)
    near = [ln.tokens for ln in lines if ln.tokens <= 2 * top]
    top = max([top, *near])
    ref = {} if row is None else {"row": row, "col": 1}
    if window and (full_window or top <= 0 or window <= top * FAR):
        fig.update_yaxes(range=[0, max(window, top) * 1.05], **ref)
        return
    if top <= 0:
        return
    fig.update_yaxes(range=[0, top * HEADROOM], **ref)
    if window:
        yref = "y" if row in (None, 1) else f"y{row}"
        fig.add_annotation(
            # top left: prompts mostly grow, so the right end of the curve is near the top
            x=0,
            xref="paper",
            xanchor="left",
            y=top * HEADROOM,
            yref=yref,
            yanchor="top",
            text=f"window {window:,} ↑",
            showarrow=False,
            font={"color": WINDOW_COLOR, "size": 12},
            bgcolor="rgba(128,128,128,0.12)",
        )


def _request_axis(fig: go.Figure, x: IntArray, *, row: int | None = None) -> None:
    """Requests are whole numbers: one tick per request on short files, never a fraction."""
    ref = {} if row is None else {"row": row, "col": 1}
    span = int(x.max() - x.min()) if len(x) else 0
    if span <= 10:
        fig.update_xaxes(tick0=0, dtick=1, **ref)
    else:
        fig.update_xaxes(tickformat=",d", **ref)
