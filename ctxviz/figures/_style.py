"""Fixed styles: category colours, event symbols, strategy colours, the legend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ctxviz.categories import Category

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

# Horizontal, above the plot and under the title (``_traces._layout`` places it, in pixels from
# the figure's top): under the x axis, placed in fractions of the plot's height, it met the tick
# labels or the axis title whenever it wrapped onto more rows, which shrinks the plot.
_LEGEND: Final = {
    "orientation": "h",
    "yanchor": "top",
    "x": 0,
    "xanchor": "left",
    "traceorder": "normal",  # legend groups (for toggling) must not split the horizontal legend
    "maxheight": 1.0,  # never a scrolled legend: on a narrow page the plot gives it room
}
