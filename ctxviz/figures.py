"""Plotly figures of a simulation: pure drawing (no Streamlit), so notebooks, the CLI and the app
share them.

Every function takes a simulation (anything with ``requests``, ``events``, ``composition`` and
``settings``, as ``ctxviz.simulate`` returns) or a mapping of named simulations first, options
keyword-only, and returns a ``go.Figure``; an empty simulation still draws (axes, no data).

Conventions shared by every figure, so a reader learns them once:

- each prompt category has one fixed colour (:data:`COLORS`), chosen from Paul Tol's colour-blind
  safe "muted" scheme, plus greys of distinct lightness; readable on light and dark backgrounds;
- requests whose numbers are estimated rather than recorded are hatched (``/``) or drawn with open
  markers, and each figure's subtitle says how many requests are of each kind;
- events (clearings, compactions, the window exceeded) have one symbol and colour each
  (:data:`EVENT_STYLES`) and their hover says what happened and the prompt before → after.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ctxviz import _decimate
from ctxviz.categories import CATEGORIES, LABELS, Category
from ctxviz.models import default_table
from ctxviz.policies import claude_code, clear_tool_uses, compact, rolling
from ctxviz.policies import compaction_control as sdk_compaction
from ctxviz.policies.base import ChartLine
from ctxviz.policies.edits import NO_EDITS, Edits
from ctxviz.policies.edits import parse as parse_edits
from ctxviz.settings import SimulationSettings
from ctxviz.summary import (
    CLEARING_EVENTS,
    COMPACTION_EVENTS,
    SettingsLike,
    SimulationLike,
    summarize,
)

__all__ = [
    "CLEARING_EVENTS",
    "COLORS",
    "COMPACTION_EVENTS",
    "EVENT_STYLES",
    "STRATEGY_COLORS",
    "EventStyle",
    "PolicyLine",
    "SimulationLike",
    "cache_invalidations",
    "compaction",
    "compare",
    "compare_table",
    "composition",
    "composition_table",
    "context_editing",
    "cost",
    "policy_lines",
    "source_counts",
    "source_note",
    "thinking",
    "timeline",
    "window_tokens",
]


# ---- fixed styles ------------------------------------------------------------------------------

COLORS: Final[Mapping[Category, str]] = {
    # Paul Tol "muted" (colour-blind safe), in stacking order; greys of distinct lightness for the
    # rare categories so that no two hues collide under deuteranopia or protanopia.
    "hidden_prefix": "#332288",
    "system": "#88CCEE",
    "tools": "#44AA99",
    "summary": "#117733",
    "reinjected": "#7FB58F",
    "user_text": "#DDCC77",
    "assistant_text": "#999933",
    "thinking": "#AA4499",
    "tool_inputs": "#882255",
    "tool_results": "#CC6677",
    "media": "#6F6F6F",
    "cleared_placeholders": "#BBBBBB",
    "other": "#E3E3E3",
}
"""One colour per prompt category, the same on every page and in every figure."""

HATCHED: Final[frozenset[Category]] = frozenset({"cleared_placeholders", "reinjected"})
"""Categories whose area is also hatched, so they read without colour."""

NEUTRAL: Final = "rgba(128,128,128,0.9)"
"""Lines that are not a category (baselines, totals): mid-grey reads on light and dark themes."""

WINDOW_COLOR: Final = "#CC3311"  # Tol vibrant red
CARRIED_COLOR: Final = "#DDAA33"  # Tol high-contrast yellow: reads on light and dark backgrounds


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStyle:
    """How one event type is drawn."""

    label: str
    symbol: str
    color: str


EVENT_STYLES: Final[Mapping[str, EventStyle]] = {
    # Tol "vibrant": distinct from the category colours and from each other for colour-blind
    # readers; the symbols differ too, so the legend reads in greyscale.
    "clear_tool_uses_20250919": EventStyle(
        label="Tool results cleared (clear_tool_uses_20250919)",
        symbol="triangle-down",
        color="#EE7733",
    ),
    "clear_thinking_20251015": EventStyle(
        label="Thinking cleared (clear_thinking_20251015)",
        symbol="triangle-down-open",
        color="#EE3377",
    ),
    "compact_20260112": EventStyle(
        label="Server compaction (compact_20260112)",
        symbol="diamond",
        color="#0077BB",
    ),
    "compaction_control": EventStyle(
        label="SDK compaction (compaction_control)",
        symbol="diamond-open",
        color="#33BBEE",
    ),
    "claude_code_autocompact": EventStyle(
        label="Claude Code auto-compact (what-if)",
        symbol="hexagon",
        color="#009988",
    ),
    "recorded_compaction": EventStyle(
        label="Compaction in the recording",
        symbol="star",
        color="#009988",
    ),
    "claude_code_microcompact": EventStyle(
        label="Claude Code microcompact (old tool results cleared)",
        symbol="triangle-down-dot",
        color="#EE7733",
    ),
    "compaction_on_demand": EventStyle(
        label="Compaction on demand (block in front)",
        symbol="diamond-wide",
        color="#0077BB",
    ),
    "compaction_on_demand_sent": EventStyle(
        label="Compaction request sent in the background",
        symbol="diamond-wide-open",
        color="#0077BB",
    ),
    "thinking_prefix_rejected": EventStyle(
        label="Preserved thinking invalid: the API's 400",
        symbol="x-open",
        color="#CC3311",
    ),
    "thinking_prefix_dropped": EventStyle(
        label="Preserved thinking invalid: dropped",
        symbol="triangle-down-open-dot",
        color="#CC3311",
    ),
    "thinking_model_dropped": EventStyle(
        label="Thinking another model wrote: dropped",
        symbol="triangle-down-open-dot",
        color="#AA4499",
    ),
    "rolling_window": EventStyle(
        label="Rolling window dropped old messages",
        symbol="triangle-left",
        color="#BBBBBB",
    ),
    "memory_warning": EventStyle(
        label="Memory tool warning (clearing approaches)",
        symbol="circle-open-dot",
        color="#EE3377",
    ),
    "context_window_exceeded": EventStyle(
        label="Context window exceeded",
        symbol="x",
        color=WINDOW_COLOR,
    ),
}
"""One marker style per event type (the API's names; unknown types get a neutral marker)."""

_OTHER_EVENT: Final = EventStyle(label="Other event", symbol="circle-open", color=NEUTRAL)

RECORDED_CLEARING_EVENTS: Final[frozenset[str]] = frozenset({"claude_code_microcompact"})
"""Clearing a client did in the recording (shown beside compactions, not as context editing)."""

STRATEGY_COLORS: Final[tuple[str, ...]] = ("#0077BB", "#EE7733", "#EE3377", "#009988")
"""Up to four compared strategies (Tol vibrant); each also gets its own dash pattern. Hues far
apart in the order the pages offer them: the first (as recorded, blue) and the third (a
compaction, magenta) once were blue and teal, which read alike."""
STRATEGY_DASHES: Final[tuple[str, ...]] = ("solid", "dash", "dot", "dashdot")

MANY_EVENTS: Final = 20
"""Above this many events, Compare draws them as ticks along the bottom (hover intact)."""

_HATCH: Final = {"shape": "/", "fgcolor": "rgba(128,128,128,0.7)", "size": 7, "solidity": 0.25}
_BELOW_DAY_AXIS: Final = -0.3
"""The legend's place under an axis of day labels and its title (the default overlaps them)."""

_LEGEND: Final = {
    "orientation": "h",
    "yanchor": "top",
    "y": -0.14,
    "x": 0,
    "xanchor": "left",
    "traceorder": "normal",  # legend groups (for toggling) must not split the horizontal legend
}


# ---- small readers -----------------------------------------------------------------------------
# Traces get numpy arrays, never Python lists: plotly validates lists element by element, which
# costs about half a second per figure at 2,000 requests.

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


def _col(frame: pd.DataFrame, name: str) -> FloatArray:
    """A numeric column as floats, or zeros when the simulation does not provide it."""
    if name in frame.columns:
        values = pd.to_numeric(frame[name], errors="coerce").fillna(0)
        return np.asarray(values, dtype=np.float64)
    return np.zeros(len(frame), dtype=np.float64)


def _x(frame: pd.DataFrame) -> IntArray:
    """The request numbers of a frame's rows."""
    if "request" in frame.columns:
        return np.asarray(frame["request"], dtype=np.int64)
    return np.arange(len(frame), dtype=np.int64)


def _last_model(sim: SimulationLike) -> str | None:
    """The model of the last request, when the frame has one."""
    req = sim.requests
    if "model" in req.columns and len(req):
        value = req["model"].iloc[-1]
        return str(value) if isinstance(value, str) and value else None
    return None


def window_tokens(sim: SimulationLike) -> int | None:
    """The context window of the last request (each row carries its own), else the setting."""
    req = sim.requests
    if "context_window" in req.columns and len(req):
        value = req["context_window"].iloc[-1]
        if value is not None and not pd.isna(value) and int(value) > 0:
            return int(value)
    settings = sim.settings
    if isinstance(settings, SimulationSettings):
        value = settings.context_window
    else:
        value = settings.get("context_window") if settings is not None else None
    return int(value) if value else None


def _estimated_mask(frame: pd.DataFrame) -> BoolArray:
    if "source" not in frame.columns:
        return np.zeros(len(frame), dtype=np.bool_)
    return np.asarray(frame["source"].astype(str) != "recorded", dtype=np.bool_)


def _symbols(mask: BoolArray) -> npt.NDArray[np.int64] | str:
    """Open markers for estimated requests, filled for recorded ones.

    Plotly's numeric symbol codes (0 circle, 100 circle-open): string arrays are validated with a
    regex per point, five times slower; a single value when all requests agree.
    """
    if not bool(mask.any()):
        return "circle"
    if bool(mask.all()):
        return "circle-open"
    return np.where(mask, 100, 0).astype(np.int64)


def source_counts(frame: pd.DataFrame) -> tuple[int, int]:
    """How many requests are recorded and how many estimated."""
    estimated = int(_estimated_mask(frame).sum())
    return len(frame) - estimated, estimated


def source_note(frame: pd.DataFrame) -> str:
    """One sentence saying which numbers are recorded and which estimated."""
    recorded, estimated = source_counts(frame)
    if not len(frame):
        return "No requests."
    if estimated == 0:
        return f"All {recorded:,} requests: recorded usage."
    if recorded == 0:
        return f"All {estimated:,} requests estimated (hatched / open markers)."
    return f"{recorded:,} requests recorded, {estimated:,} estimated (hatched / open markers)."


def _wrap_notes(notes: list[str]) -> str:
    """Per-strategy source notes, two per line (plotly subtitles do not wrap by themselves)."""
    if not notes:
        return "No strategies."
    lines = [" · ".join(notes[i : i + 2]) for i in range(0, len(notes), 2)]
    return "<br>".join(lines)


def _fmt_int(value: Any) -> str:
    try:
        if value is None or pd.isna(value):
            return "?"
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "?"


def _present(value: Any) -> bool:
    """Neither None nor NaN (nor pandas' NA)."""
    if value is None or value is pd.NA:
        return False
    return not (isinstance(value, float) and math.isnan(value))


# ---- policy lines ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyLine:
    """A horizontal line: a trigger or threshold of an active policy, in prompt tokens."""

    label: str
    tokens: int
    color: str


def _resolved(
    settings: SettingsLike,
) -> tuple[
    Edits,
    sdk_compaction.CompactionControl | None,
    claude_code.ClaudeCodeAutocompact | None,
    rolling.RollingWindow | None,
    object,
]:
    """The policies a replay ran with, as their configs: a simulation's settings, or a mapping of
    ``simulate``'s arguments read as ``simulate`` reads them (what it would reject: not drawn)."""
    if isinstance(settings, SimulationSettings):
        return (
            settings.edits,
            settings.compaction_control,
            settings.claude_code_autocompact,
            settings.rolling_window,
            settings.context_window,
        )
    given: Mapping[str, Any] = settings if settings is not None else {}
    edits, cc, auto, rw = NO_EDITS, None, None, None
    with contextlib.suppress(TypeError, ValueError):
        cm = given.get("context_management")
        edits, _ = parse_edits(json.loads(cm) if isinstance(cm, str) else cm, None)
    with contextlib.suppress(TypeError, ValueError):
        raw = given.get("compaction_control")
        if isinstance(raw, sdk_compaction.CompactionControl):
            cc = raw
        elif raw is not None:
            sdk_compaction.validate_compaction_control(raw)
            cc = sdk_compaction.from_sdk(raw)
    with contextlib.suppress(TypeError, ValueError):
        auto = claude_code.from_arg(given.get("claude_code_autocompact"))
    with contextlib.suppress(TypeError, ValueError):
        rw = rolling.from_arg(given.get("rolling_window"))
    return edits, cc, auto, rw, given.get("context_window")


def _line(kind: str, line: ChartLine | None) -> list[PolicyLine]:
    if line is None:
        return []
    color = EVENT_STYLES.get(kind, _OTHER_EVENT).color
    return [PolicyLine(label=line.label, tokens=line.tokens, color=color)]


def policy_lines(
    settings: SettingsLike, *, context_window: int | None = None, model: str | None = None
) -> list[PolicyLine]:
    """The lines each active policy says a chart draws for it: context-editing and compaction
    triggers, the SDK's ``compaction_control`` threshold, Claude Code's auto-compact point and a
    rolling window's budget.

    ``settings`` is a simulation's ``SimulationSettings`` or a mapping of ``simulate``'s keyword
    arguments (read as ``simulate`` reads them). ``model``: the model replayed (its max output sets
    Claude Code's output reserve; default: 20K or more).
    """
    edits, cc, auto, rw, window = _resolved(settings)
    lines = [
        line
        for edit in edits.clearing
        if isinstance(edit, clear_tool_uses.ClearToolUses)
        for line in _line(clear_tool_uses.TYPE, edit.chart_line())
    ]
    if edits.compact is not None:
        lines += _line(compact.TYPE, edits.compact.chart_line())
    if cc is not None:
        lines += _line(sdk_compaction.TYPE, cc.chart_line())
    window = context_window or window
    if auto is not None and isinstance(window, int) and window:
        max_output = default_table().get(model).max_output_tokens if model else None
        line = claude_code.chart_line(auto, window_tokens=window, max_output_tokens=max_output)
        lines += _line(claude_code.TYPE, line)
    if rw is not None:
        lines += _line(rolling.TYPE, rw.chart_line())
    return lines


# ---- shared trace builders ---------------------------------------------------------------------


def _add(fig: go.Figure, trace: Any, row: int | None) -> None:
    if row is None:
        fig.add_trace(trace)
    else:
        fig.add_trace(trace, row=row, col=1)


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
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0, "xanchor": "left"},
        height=height,
        legend=_LEGEND,
        margin={"l": 60, "r": 20, "t": top_margin, "b": 40},
        barmode="overlay",
        bargap=0,
        hoverlabel={"namelength": -1},
    )
    return fig


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


# ---- timeline ----------------------------------------------------------------------------------


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


# ---- thinking ----------------------------------------------------------------------------------


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
    if bool(loop.any()):
        fig.add_trace(
            go.Bar(
                x=x[loop],
                y=np.full(int(loop.sum()), top * 1.05),
                width=1.0,
                name="Tool-use loop: this turn's thinking is sent back and counts",
                marker={"color": "rgba(136,204,238,0.16)", "line": {"width": 0}},
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
        go.Bar(
            x=x,
            y=generated,
            name="Generated (output thinking_tokens)",
            marker={"color": COLORS["thinking"], "line": {"width": 0}},
            hovertemplate="generated: %{y:,}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=x,
            y=(-stripped),
            name="Stripped from the prompt (below zero)",
            marker={
                "color": "rgba(170,68,153,0.25)",
                "pattern": {"shape": "/", "fgcolor": COLORS["thinking"], "solidity": 0.4},
                "line": {"width": 0},
            },
            customdata=stripped,
            hovertemplate="stripped: %{customdata:,}<extra></extra>",
        )
    )
    est = _estimated_mask(req)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=carried,
            name="Carried in the prompt (thinking_carried_tokens)",
            mode="lines+markers",
            line={"color": CARRIED_COLOR, "width": 2.5, "shape": "hv"},
            marker={"size": 6, "color": CARRIED_COLOR, "symbol": _symbols(est)},
            hovertemplate="carried: %{y:,}<extra></extra>",
        )
    )
    _add_events(fig, sim.events, req, types=["clear_thinking_20251015"])
    fig.update_xaxes(title_text="Request", rangemode="tozero")
    _request_axis(fig, x)
    fig.update_yaxes(title_text="Thinking tokens", tickformat=",", zeroline=True)
    fig.update_layout(hovermode="x unified", barmode="overlay")
    return _layout(fig, title=title, subtitle=source_note(req), height=height)


# ---- context editing ---------------------------------------------------------------------------


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
    fig.add_trace(
        go.Bar(
            x=x,
            y=reads,
            name="Cache reads",
            marker={"color": COLORS["system"], "line": {"width": 0}},
            hovertemplate="cache read: %{y:,}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=x,
            y=writes,
            name="Cache writes",
            marker={"color": EVENT_STYLES["clear_tool_uses_20250919"].color, "line": {"width": 0}},
            hovertemplate="cache write: %{y:,}<extra></extra>",
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


# ---- compaction --------------------------------------------------------------------------------


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


# ---- compare -----------------------------------------------------------------------------------


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


# ---- cost --------------------------------------------------------------------------------------


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


# ---- composition of one request ----------------------------------------------------------------


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
    height: int = 300,
) -> go.Figure:
    """One request's context window as a horizontal stacked bar: categories, output, free."""
    table = composition_table(sim, request)
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
    fig.update_layout(barmode="stack", margin={"l": 20, "r": 20, "t": 70, "b": 20})
    fig.update_layout(legend={"orientation": "h", "y": -0.2, "yanchor": "top"})
    return fig


# ---- tables and summaries for the app (reshaping lives here, not in pages) ---------------------


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
        "thinking_carried_peak_tokens": s.thinking_carried_peak_tokens,
        "thinking_stripped_peak_tokens": s.thinking_stripped_peak_tokens,
        "cleared_tokens_peak": s.cleared_peak_tokens,
        "cache_read_tokens": s.cache_read_tokens,
        "cache_write_tokens": s.cache_write_tokens,
    }


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
    est = _estimated_mask(req)
    colors = np.where(
        np.asarray(x) == (selected if selected is not None else -1), "#EE7733", "#0077BB"
    )
    fig = go.Figure(
        go.Bar(
            x=x,
            y=_col(req, "input_tokens"),
            name="Prompt (input_tokens)",
            marker={
                "color": colors,
                "line": {"width": 0},
                "pattern": {
                    "shape": np.where(est, "/", ""),
                    "fgcolor": "rgba(255,255,255,0.8)",
                    "solidity": 0.3,
                },
            },
            customdata=np.where(est, "estimated", "recorded"),
            hovertemplate="request %{x}: %{y:,} tokens (%{customdata})<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="Request")
    _request_axis(fig, x)
    fig.update_yaxes(title_text="Prompt tokens", tickformat=",", rangemode="tozero")
    _layout(fig, title=title, subtitle=source_note(req), height=height, fit=False)  # every bar
    fig.update_layout(
        bargap=0.15,
        showlegend=False,
        clickmode="event+select",
        dragmode=False,
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
    )
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
    def to_frame(self) -> pd.DataFrame: ...


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
    frame = view.to_frame()
    return frame[[c for c in PROMPT_TABLE_COLUMNS if c in frame.columns]]


# ---- many sessions (ctxviz fleet) ---------------------------------------------------------------

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
    """Dollars per day, stacked by project (the seven costliest; the rest as "other")."""
    data = pd.DataFrame(
        {
            "day": _day(frame),
            "project": _projects(frame),
            "usd": pd.to_numeric(frame["total_cost_usd"], errors="coerce").fillna(0),
        }
    ).dropna(subset=["day"])
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
        subtitle="list prices with prompt caching, each session on the day it started",
        height=380,
        fit=False,
    ).update_layout(barmode="stack", bargap=0.2, legend_y=_BELOW_DAY_AXIS)


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
    ).update_layout(barmode="group", bargap=0.2, legend_y=_BELOW_DAY_AXIS)


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
