"""The headline numbers of a replay, computed once: the command line, the notebook and the
figures (``figures.summary``, the app's metrics) all read ``summarize(sim)``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from ctxviz.settings import SimulationSettings

__all__ = [
    "CLEARING_EVENTS",
    "COMPACTION_EVENTS",
    "EventCount",
    "SettingsLike",
    "SimulationLike",
    "SimulationSummary",
    "summarize",
    "summary_json",
]

COMPACTION_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "compact_20260112",
        "compaction_control",
        "claude_code_autocompact",
        "recorded_compaction",
        "compaction_on_demand",
    }
)
"""Event types that replace the history by a summary."""
CLEARING_EVENTS: Final[frozenset[str]] = frozenset(
    {"clear_tool_uses_20250919", "clear_thinking_20251015"}
)
"""Event types of context editing (each one invalidates the prompt cache from the change)."""

SettingsLike: TypeAlias = SimulationSettings | Mapping[str, Any] | None
"""A simulation's settings: ``simulate``'s resolved ``SimulationSettings``, or a mapping of its
keyword arguments as given (a simulation built elsewhere; only explicit values are read)."""


class SimulationLike(Protocol):
    """What the summary, the figures and the notebook read from a simulation
    (``ctxviz.simulate``'s result has all of it; each reader uses only what it needs)."""

    @property
    def requests(self) -> pd.DataFrame: ...

    @property
    def events(self) -> pd.DataFrame: ...

    @property
    def composition(self) -> pd.DataFrame: ...

    @property
    def settings(self) -> SettingsLike: ...

    @property
    def warnings(self) -> list[str]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCount:
    """How many events of one type a replay had, and the first request where one happened."""

    type: str
    count: int
    first_request: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationSummary:
    """The headline numbers of a replay (tokens, USD)."""

    requests: int
    recorded_requests: int
    estimated_requests: int
    model: str | None
    peak_input_tokens: int | None
    """The largest prompt of any request: its ``input_tokens``, or what a compaction iteration
    inside it read (``compaction_input_tokens``) when larger."""
    peak_request: int | None
    context_window: int | None
    """The window of the peak request (the simulation's window when rows do not say)."""
    peak_context_tokens: int | None
    """The largest ``input_tokens + output_tokens`` of any request."""
    over_window_requests: int
    first_over_window: int | None
    events: tuple[EventCount, ...]
    total_cost_usd: float | None
    """Every request's ``cost_usd`` added up; None when the replay has no cost column."""
    estimated_cost_usd: float | None
    """Of which on requests whose numbers are estimated."""
    cleared_input_tokens: int
    """Net tokens removed from prompts by context editing, over all requests."""
    cleared_peak_tokens: int
    """The most tokens context editing removed from one prompt."""
    turns: int
    """User turns (the largest ``turn`` + 1)."""
    thinking_generated_tokens: int
    thinking_carried_peak_tokens: int
    """The most earlier thinking carried in one prompt."""
    thinking_stripped_peak_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int

    def event_count(self, types: Collection[str]) -> int:
        """How many events of these types the replay had."""
        return sum(c.count for c in self.events if c.type in types)

    @property
    def compactions(self) -> int:
        """Events that replaced the history by a summary (:data:`COMPACTION_EVENTS`)."""
        return self.event_count(COMPACTION_EVENTS)

    @property
    def clearings(self) -> int:
        """Context-editing events (:data:`CLEARING_EVENTS`)."""
        return self.event_count(CLEARING_EVENTS)

    @property
    def peak_window_fraction(self) -> float | None:
        """The peak prompt as a fraction of the window."""
        if self.peak_input_tokens is None or not self.context_window:
            return None
        return self.peak_input_tokens / self.context_window


def _numeric(frame: pd.DataFrame, name: str) -> pd.Series | None:
    if name not in frame.columns:
        return None
    return pd.to_numeric(frame[name], errors="coerce")


def _zeros_for_missing(frame: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    """A numeric column as floats, missing values and a missing column as zeros."""
    if name in frame.columns:
        values = pd.to_numeric(frame[name], errors="coerce").fillna(0)
        return np.asarray(values, dtype=np.float64)
    return np.zeros(len(frame), dtype=np.float64)


def _int_or_none(value: Any) -> int | None:
    try:
        if value is None or pd.isna(value):
            return None
        return int(value)
    except (TypeError, ValueError):
        return None


def _model_and_window(settings: SettingsLike) -> tuple[Any, Any]:
    """The settings' model and context window (None when not given)."""
    if isinstance(settings, SimulationSettings):
        return settings.model, settings.context_window
    if isinstance(settings, Mapping):
        return settings.get("model"), settings.get("context_window")
    return None, None


def _request_numbers(frame: pd.DataFrame) -> list[int]:
    if "request" in frame.columns:
        return [int(v) for v in pd.to_numeric(frame["request"], errors="coerce").fillna(-1)]
    return list(range(len(frame)))


def summarize(sim: SimulationLike) -> SimulationSummary:
    """The headline numbers of a replay: requests, peak prompt, events, cost, estimates."""
    req = sim.requests
    n = len(req)
    numbers = _request_numbers(req)
    if "source" in req.columns:
        estimated_mask = req["source"].astype(str) != "recorded"
    else:
        estimated_mask = pd.Series(True, index=req.index)
    estimated = int(estimated_mask.sum())

    model, window_setting = _model_and_window(sim.settings)
    if "model" in req.columns:
        models = req["model"].dropna().astype(str)
        if len(models):
            model = str(models.mode().iloc[0])

    prompt = _numeric(req, "input_tokens")
    compaction = _numeric(req, "compaction_input_tokens")
    if prompt is not None and compaction is not None:
        # a compaction iteration read the whole prompt before the summary: a prompt of its own
        prompt = prompt.combine(compaction, max, fill_value=0)
    peak_tokens = peak_request = window = None
    if prompt is not None and n and prompt.notna().any():
        pos = int(prompt.fillna(-1).to_numpy().argmax())  # first row of the largest prompt
        peak_tokens = _int_or_none(prompt.iloc[pos])
        peak_request = numbers[pos]
        windows = _numeric(req, "context_window")
        if windows is not None:
            window = _int_or_none(windows.iloc[pos])
    if window is None:
        window = _int_or_none(window_setting)

    context = _numeric(req, "context_tokens")
    peak_context = _int_or_none(context.max()) if context is not None and n else None

    over = req["over_window"].fillna(False).astype(bool) if "over_window" in req.columns else None
    over_count = int(over.sum()) if over is not None else 0
    first_over = None
    if over is not None and over_count:
        first_over = numbers[int(over.to_numpy().argmax())]

    ev = sim.events
    counts: list[EventCount] = []
    if len(ev) and "type" in ev.columns:
        ev_requests = pd.to_numeric(ev["request"], errors="coerce") if "request" in ev else None
        for kind, group in ev.groupby(ev["type"].astype(str), sort=False):
            first = None
            if ev_requests is not None:
                first = _int_or_none(ev_requests.loc[group.index].min())
            counts.append(EventCount(type=str(kind), count=len(group), first_request=first))
    if first_over is None:
        first_over = next(
            (c.first_request for c in counts if c.type == "context_window_exceeded"), None
        )

    cost = _numeric(req, "cost_usd")
    total_cost = estimated_cost = None
    if cost is not None:
        total_cost = float(cost.fillna(0).sum())
        estimated_cost = float(cost[estimated_mask].fillna(0).sum())

    cleared = _numeric(req, "cleared_input_tokens")
    cleared_total = int(cleared.fillna(0).sum()) if cleared is not None else 0

    def total(name: str) -> int:
        return int(_zeros_for_missing(req, name).sum())

    def peak(name: str) -> int:
        return int(_zeros_for_missing(req, name).max()) if n else 0

    return SimulationSummary(
        requests=n,
        recorded_requests=n - estimated,
        estimated_requests=estimated,
        model=None if model is None else str(model),
        peak_input_tokens=peak_tokens,
        peak_request=peak_request,
        context_window=window,
        peak_context_tokens=peak_context,
        over_window_requests=over_count,
        first_over_window=first_over,
        events=tuple(counts),
        total_cost_usd=total_cost,
        estimated_cost_usd=estimated_cost,
        cleared_input_tokens=cleared_total,
        cleared_peak_tokens=peak("cleared_input_tokens"),
        turns=int(req["turn"].max()) + 1 if "turn" in req.columns and n else 0,
        thinking_generated_tokens=total("thinking_tokens"),
        thinking_carried_peak_tokens=peak("thinking_carried_tokens"),
        thinking_stripped_peak_tokens=peak("thinking_stripped_tokens"),
        cache_read_tokens=total("cache_read_input_tokens"),
        cache_write_tokens=total("cache_creation_input_tokens"),
    )


def summed_cost_usd(costs: Iterable[float | None]) -> float | None:
    """Several replays' costs added up (a session's sub-agents); None when one is unknown (not
    replayed, or not priced), since a partial sum would read as the whole."""
    total = 0.0
    for cost in costs:
        if cost is None:
            return None
        total += cost
    return total


def summary_json(s: SimulationSummary) -> dict[str, Any]:
    """The summary as ``ctxviz simulate --json`` prints it under ``"summary"`` (and ``ctxviz
    fleet`` in each session's row): the same names and values in both."""
    return {
        "requests": s.requests,
        "recorded_requests": s.recorded_requests,
        "estimated_requests": s.estimated_requests,
        "peak_input_tokens": s.peak_input_tokens,
        "peak_request": s.peak_request,
        "context_window": s.context_window,
        "first_over_window": s.first_over_window,
        "over_window_requests": s.over_window_requests,
        "compactions": s.compactions,
        "clearings": s.clearings,
        "cleared_input_tokens": s.cleared_input_tokens,
        "total_cost_usd": s.total_cost_usd,
        "events": {c.type: c.count for c in s.events},
    }
