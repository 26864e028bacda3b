"""Figures sized for the screen: long series thinned to what a chart can show.

A chart a thousand pixels wide cannot show 20,000 points per trace, but the browser still
receives, parses and draws every one (megabytes of JSON per slider move). ``fit`` keeps at most
about ``max_points`` points per line trace (a quarter of that per bar trace), and never drops the
ones that matter:

* the first and last point, and the lowest and highest point of each bucket of consecutive
  points (so every peak and trough survives, and the maximum of every series is kept exactly);
* both sides of every step (a clearing, a compaction: a jump larger than 2 % of the trace's
  range), the largest steps first when there are more than the budget allows;
* every x where an event marker stands, and the point before it (marker-only traces are events
  and are never thinned; a marker trace of more than ``max_points / 4`` points is too dense to
  pin points to).

Traces that share an x (stacked areas, stacked bars) keep the same points, so they still stack.
A trace with gaps (NaN-separated pieces: the hatch over estimated requests) is thinned piece by
piece; past ``max_points / 4`` pieces, only an evenly spaced share of the tiny ones (up to four
points: the separator line of each turn) is kept. Marker-only traces left longer than
``max_points`` are drawn with WebGL (``scattergl``).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

MAX_POINTS: Final = 2_000
"""Default budget of points per trace."""
BAR_SHARE: Final = 4
"""Bars get a quarter of the budget: each is an SVG element of its own, and a chart is ~1,300
pixels wide."""
STEP_SHARE: Final = 0.02
"""A jump larger than this share of a trace's range is a step whose two sides are kept."""
# Per-point attributes cut along with x and y (top level, then inside ``marker``).
_POINT_ATTRS: Final = ("x", "y", "text", "hovertext", "customdata", "width")
_MARKER_ATTRS: Final = ("color", "size", "symbol", "opacity")

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def fit(fig: go.Figure, *, max_points: int = MAX_POINTS) -> go.Figure:
    """Thin every long line and bar trace of ``fig`` in place (see the module docstring)."""
    events = _event_xs(fig, max_points)
    groups: dict[tuple[bool, bytes], list[int]] = {}
    for i, trace in enumerate(fig.data):
        if not _is_series(trace):
            continue
        x = _floats(trace.x)
        budget = max_points // BAR_SHARE if trace.type == "bar" else max_points
        if x is None or len(x) <= budget:
            continue
        groups.setdefault((trace.type == "bar", x.tobytes()), []).append(i)
    for (bars, _), members in groups.items():
        traces = [fig.data[i] for i in members]
        x = _floats(traces[0].x)
        assert x is not None
        ys = [_floats(t.y) for t in traces]
        if any(y is None or len(y) != len(x) for y in ys):
            continue
        budget = max_points // BAR_SHARE if bars else max_points
        keep = _keep(x, [y for y in ys if y is not None], events, budget)
        for trace in traces:
            _apply(trace, keep)
    _webgl_markers(fig, max_points)
    return fig


def _is_series(trace: Any) -> bool:
    if trace.type == "bar":
        return True
    return bool(trace.type == "scatter" and trace.mode != "markers")


def _event_xs(fig: go.Figure, max_points: int) -> FloatArray:
    """The x of every event marker (marker-only scatter traces), but of markers too many to tell
    apart (more than ``max_points / 4`` in a trace: a cache break at every turn)."""
    xs = [
        x
        for t in fig.data
        if t.type in ("scatter", "scattergl") and t.mode == "markers"
        for x in [_floats(t.x)]
        if x is not None and len(x) <= max_points // 4
    ]
    return np.unique(np.concatenate(xs)) if xs else np.empty(0)


def _floats(values: Any) -> FloatArray | None:
    if values is None:
        return None
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None  # categorical or date x: left alone


def _keep(x: FloatArray, ys: list[FloatArray], events: FloatArray, max_points: int) -> BoolArray:
    """Which points to keep: the union of every trace's picks, within each gap-free piece."""
    gaps = np.isnan(x)
    keep = gaps.copy()  # the NaN separators between pieces
    runs = np.flatnonzero(np.diff(np.concatenate(([0], (~gaps).astype(np.int8), [0]))))
    total = max(1, len(x) - int(gaps.sum()))
    pieces = list(zip(runs[0::2].tolist(), runs[1::2].tolist(), strict=True))
    # Too many tiny pieces (a separator line per turn): an evenly spaced share of them is drawn.
    stride = -(-len(pieces) // max(1, max_points // 4))
    for p, (lo, hi) in enumerate(pieces):
        if hi - lo <= 4 and p % stride:
            if hi < len(x):
                keep[hi] = False  # and its separator
            continue
        budget = max(4, max_points * (hi - lo) // total)
        keep[lo:hi] |= _keep_piece(x[lo:hi], [y[lo:hi] for y in ys], events, budget)
    return keep


def _keep_piece(x: FloatArray, ys: list[FloatArray], events: FloatArray, budget: int) -> BoolArray:
    n = len(x)
    keep = np.zeros(n, dtype=np.bool_)
    if n <= budget:
        keep[:] = True
        return keep
    keep[0] = keep[-1] = True
    if len(events):
        keep |= np.isin(x, events) | np.isin(x + 1, events)  # the event and the point before
    # Two thirds of the budget for the bucket extremes, a quarter for the steps.
    buckets = max(1, budget // (3 * len(ys)))
    bucket = (np.arange(n) * buckets) // n
    starts = np.flatnonzero(np.diff(bucket, prepend=-1))
    ends = np.append(starts[1:], n) - 1
    steps_left = max(1, budget // (8 * len(ys)))
    for y in ys:
        filled = np.nan_to_num(y, nan=0.0)
        order = np.lexsort((filled, bucket))
        keep[order[starts]] = True  # the lowest of each bucket
        keep[order[ends]] = True  # the highest
        jumps = np.abs(np.diff(filled))
        span = float(filled.max() - filled.min())
        big = np.flatnonzero(jumps > STEP_SHARE * span) if span > 0 else np.empty(0, np.int64)
        if len(big) > steps_left:
            big = big[np.argsort(jumps[big])[-steps_left:]]
        keep[big] = True
        keep[big + 1] = True
    return keep


def _apply(trace: Any, keep: BoolArray) -> None:
    n = len(keep)
    updates: dict[str, Any] = {}
    for name in _POINT_ATTRS:
        value = getattr(trace, name, None)
        if _per_point(value, n):
            updates[name] = np.asarray(value)[keep]
    marker = getattr(trace, "marker", None)
    if marker is not None:
        for name in _MARKER_ATTRS:
            value = getattr(marker, name, None)
            if _per_point(value, n):
                updates[f"marker.{name}"] = np.asarray(value)[keep]
    trace.update({k: v for k, v in updates.items() if "." not in k})
    for key, value in updates.items():
        if "." in key:
            trace.marker[key.split(".", 1)[1]] = value


def _per_point(value: Any, n: int) -> bool:
    return (
        value is not None and not isinstance(value, str) and np.ndim(value) == 1 and len(value) == n
    )


def _webgl_markers(fig: go.Figure, max_points: int) -> None:
    """Marker-only traces still longer than ``max_points`` are redrawn with WebGL."""
    data = list(fig.data)
    changed = False
    for i, trace in enumerate(data):
        long = trace.x is not None and len(trace.x) > max_points
        if trace.type == "scatter" and trace.mode == "markers" and long:
            spec = trace.to_plotly_json()
            spec.pop("type", None)
            # what only SVG scatter has (cliponaxis: the rug of events drawn past the axis) is
            # dropped, not refused: WebGL draws inside the plot area anyway
            data[i] = go.Scattergl(spec, skip_invalid=True)
            changed = True
    if changed:
        fig.data = ()
        for trace in data:
            fig.add_trace(trace)
