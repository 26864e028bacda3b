"""Small readers of a simulation's frames and settings."""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from ctxviz.settings import SimulationSettings
from ctxviz.summary import SimulationLike

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
