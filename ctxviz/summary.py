"""The headline numbers of a replay, computed once: the command line, the notebook and the
figures (``figures.summary``, the app's metrics) all read ``summarize(sim)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from ctxviz.settings import SimulationSettings

if TYPE_CHECKING:
    import pandas as pd

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


class _Table:
    """A simulation's request columns and events as arrays: read from ``request_columns`` /
    ``event_records`` when it has them (no frame is built, pandas is not imported), else from
    its frames (a simulation built elsewhere; any dtype, unreadable values as missing)."""

    def __init__(self, sim: SimulationLike) -> None:
        columns = getattr(sim, "request_columns", None)
        records = getattr(sim, "event_records", None)
        self._frame = None
        self._columns: Mapping[str, npt.NDArray[Any]] = {}
        if isinstance(columns, Mapping) and isinstance(records, tuple):
            self._columns = columns
            first = next(iter(columns.values()), None)
            self.n = 0 if first is None else len(first)
            self.event_types = [str(e["type"]) for e in records]
            self.event_requests = [_float(e["request"]) for e in records]
        else:
            self._frame = sim.requests
            self.n = len(self._frame)
            ev = sim.events
            has_types = len(ev) and "type" in ev.columns
            self.event_types = [str(t) for t in ev["type"]] if has_types else []
            self.event_requests = (
                _numbers(ev["request"]).tolist()
                if has_types and "request" in ev.columns
                else [np.nan] * len(self.event_types)
            )

    def has(self, name: str) -> bool:
        if self._frame is not None:
            return name in self._frame.columns
        return name in self._columns

    def numbers(self, name: str) -> npt.NDArray[np.float64] | None:
        """A column as floats, unreadable values as NaN; None when there is no such column."""
        if not self.has(name):
            return None
        if self._frame is not None:
            return _numbers(self._frame[name])
        values = self._columns[name]
        if values.dtype == object:
            return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        return np.asarray(values, dtype=np.float64)

    def zeros_for_missing(self, name: str) -> npt.NDArray[np.float64]:
        """A numeric column as floats, missing values and a missing column as zeros."""
        values = self.numbers(name)
        if values is None:
            return np.zeros(self.n, dtype=np.float64)
        return np.nan_to_num(values, nan=0.0, posinf=np.inf, neginf=-np.inf)

    def texts(self, name: str) -> list[Any] | None:
        """A column's values as they are (None / NaN where missing)."""
        if not self.has(name):
            return None
        if self._frame is not None:
            return [None if _is_na(v) else v for v in self._frame[name]]
        return list(self._columns[name])


def _numbers(values: Any) -> npt.NDArray[np.float64]:
    import pandas as pd

    return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64)


def _is_na(value: Any) -> bool:
    """pandas' missing values (None, NaN, NA, NaT) in a frame's cell."""
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array in an object cell
        return False


def _float(value: Any) -> float:
    return np.nan if value is None else float(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _int_or_none(value: Any) -> int | None:
    try:
        if _missing(value):
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


def _most_common(values: list[str]) -> str:
    """The most frequent value; the smallest of equally frequent ones."""
    counts = Counter(values)
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def summarize(sim: SimulationLike) -> SimulationSummary:
    """The headline numbers of a replay: requests, peak prompt, events, cost, estimates."""
    t = _Table(sim)
    n = t.n
    request = t.numbers("request")
    numbers = (
        list(range(n)) if request is None else [int(v) for v in np.nan_to_num(request, nan=-1.0)]
    )
    sources = t.texts("source")
    if sources is not None:
        estimated_mask = np.asarray([str(v) != "recorded" for v in sources], dtype=bool)
    else:
        estimated_mask = np.ones(n, dtype=bool)
    estimated = int(estimated_mask.sum())

    model, window_setting = _model_and_window(sim.settings)
    models = t.texts("model")
    if models is not None:
        named = [str(m) for m in models if not _missing(m)]
        if named:
            model = _most_common(named)

    prompt = t.numbers("input_tokens")
    compaction = t.numbers("compaction_input_tokens")
    if prompt is not None and compaction is not None:
        # a compaction iteration read the whole prompt before the summary: a prompt of its own
        larger = ~np.isnan(prompt) & (compaction > prompt)  # NaN compares False
        prompt = np.where(larger, compaction, prompt)
    peak_tokens = peak_request = window = None
    if prompt is not None and n and not np.isnan(prompt).all():
        pos = int(np.nan_to_num(prompt, nan=-1.0).argmax())  # first row of the largest prompt
        peak_tokens = _int_or_none(prompt[pos])
        peak_request = numbers[pos]
        windows = t.numbers("context_window")
        if windows is not None:
            window = _int_or_none(windows[pos])
    if window is None:
        window = _int_or_none(window_setting)

    context = t.numbers("context_tokens")
    peak_context = (
        _int_or_none(np.nanmax(context))
        if context is not None and n and not np.isnan(context).all()
        else None
    )

    over_values = t.texts("over_window")
    over_count = 0
    first_over = None
    if over_values is not None:
        over = np.asarray([not _missing(v) and bool(v) for v in over_values], dtype=bool)
        over_count = int(over.sum())
        if over_count:
            first_over = numbers[int(over.argmax())]

    counts: list[EventCount] = []
    firsts: dict[str, float] = {}
    tally: Counter[str] = Counter()
    for kind, at in zip(t.event_types, t.event_requests, strict=True):
        tally[kind] += 1
        known = firsts.get(kind, np.nan)
        firsts[kind] = at if np.isnan(known) or (not np.isnan(at) and at < known) else known
    for kind, count in tally.items():
        counts.append(EventCount(type=kind, count=count, first_request=_int_or_none(firsts[kind])))
    if first_over is None:
        first_over = next(
            (c.first_request for c in counts if c.type == "context_window_exceeded"), None
        )

    cost = t.numbers("cost_usd")
    total_cost = estimated_cost = None
    if cost is not None:
        paid = np.nan_to_num(cost, nan=0.0)
        total_cost = float(paid.sum())
        estimated_cost = float(paid[estimated_mask].sum())

    cleared = t.numbers("cleared_input_tokens")
    cleared_total = int(np.nan_to_num(cleared, nan=0.0).sum()) if cleared is not None else 0

    def total(name: str) -> int:
        return int(t.zeros_for_missing(name).sum())

    def peak(name: str) -> int:
        return int(t.zeros_for_missing(name).max()) if n else 0

    turns = t.numbers("turn")
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
        turns=int(np.nanmax(turns)) + 1 if turns is not None and n else 0,
        thinking_generated_tokens=total("thinking_tokens"),
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
