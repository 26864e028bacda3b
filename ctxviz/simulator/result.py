"""A replay's result: the ``Simulation``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from ctxviz.categories import CATEGORIES
from ctxviz.model import Conversation
from ctxviz.policies import limits
from ctxviz.policies.step import EVENT_COLUMNS, Event
from ctxviz.settings import SimulationSettings
from ctxviz.simulator.context import Context
from ctxviz.simulator.inspector import PromptView, view
from ctxviz.simulator.row import Row

if TYPE_CHECKING:
    import pandas as pd


REQUEST_COLUMNS: Final[tuple[str, ...]] = (
    "request",
    "recorded_request",
    "turn",
    "model",
    "stop_reason",
    "source",
    "input_tokens",
    "original_input_tokens",
    "output_tokens",
    "thinking_tokens",
    "context_tokens",
    "uncached_input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "reusable_prefix_tokens",
    "cleared_input_tokens",
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "thinking_carried_tokens",
    "thinking_stripped_tokens",
    "placeholder_tokens",
    "summary_tokens",
    "compaction_input_tokens",
    "compaction_output_tokens",
    "compaction_control_total_tokens",
    "context_window",
    "remaining_tokens",
    "server_tool_extra_input_tokens",
    "over_window",
    "long_context",
    "cost_input_usd",
    "cost_cache_write_usd",
    "cost_cache_read_usd",
    "cost_output_usd",
    "compaction_cost_usd",
    "cost_usd",
    "cumulative_cost_usd",
    "prompt_start_message",
    "prompt_end_message",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Simulation:
    """A replay's result.

    ``requests`` — one row per model call of the conversation's chain, in order. Columns:

    - ``request``: 0-based row index; ``recorded_request``: the transcript's request it replays
      (an SDK ``compaction_control`` re-issue or a paused compaction adds a row with the same one);
      ``turn``: 0-based assistant turn; ``model``; ``stop_reason``.
    - ``source``: ``"recorded"`` where the numbers come from the transcript's usage and the prompt
      is as recorded, else ``"estimated"``.
    - ``input_tokens``: the whole prompt the model saw after edits (uncached + cache writes +
      cache reads); ``original_input_tokens``: the prompt before context editing and server
      compaction (what the client sent); ``output_tokens`` (thinking included);
      ``thinking_tokens``; ``context_tokens`` = input + output.
    - ``uncached_input_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``: the
      API's split (recorded where as-recorded, else the cache model of ``ctxviz.cost`` with
      ``reusable_prefix_tokens``, the tokens identical to the start of the previous prompt).
    - ``cleared_input_tokens`` (net, all edits), ``cleared_tool_uses``,
      ``cleared_thinking_turns``; ``thinking_carried_tokens`` (thinking in the prompt),
      ``thinking_stripped_tokens`` (thinking of the history not in the prompt);
      ``placeholder_tokens``; ``summary_tokens`` (summary in the prompt).
    - ``compaction_input_tokens`` / ``compaction_output_tokens``: a compaction call billed on this
      request (server compaction iteration, SDK or Claude Code summary request);
      ``compaction_control_total_tokens``: the SDK's total after this response (when configured).
    - ``context_window``, ``remaining_tokens`` (window - input), ``over_window`` (does not fit:
      input + output > window, or input + max_tokens for models that reject up front),
      ``long_context`` (priced at long-context rates). ``server_tool_extra_input_tokens``: what a
      server-tool response's recorded usage adds beyond its largest internal call (the calls'
      prompts are summed); the window is judged without it.
    - ``cost_input_usd``, ``cost_cache_write_usd``, ``cost_cache_read_usd``, ``cost_output_usd``,
      ``compaction_cost_usd``, ``cost_usd`` (all of them), ``cumulative_cost_usd``.
    - ``prompt_start_message`` / ``prompt_end_message``: the prompt is built from
      ``conv.messages[start:end]``.

    ``events`` — one row per event: ``request``, ``recorded_request``, ``type`` (the API's edit
    names, ``compaction_control``, ``claude_code_autocompact``, ``recorded_compaction``,
    ``claude_code_microcompact``,
    ``rolling_window``, ``memory_warning``, ``context_window_exceeded``), ``cleared_tool_uses``,
    ``cleared_thinking_turns``, ``cleared_input_tokens``, ``tokens_before``, ``tokens_after``,
    ``summary_tokens``, ``trigger`` and ``detail`` (a sentence).

    ``composition`` — one row per request, one column per category of
    ``ctxviz.categories.CATEGORIES``; each row adds up to ``input_tokens`` exactly (scaled
    estimates, largest-remainder rounding). ``reinjected``: what Claude Code put back after a
    recorded compaction and the file does not hold (the recorded prompt of the request after it
    minus the hidden prefix and its visible summary and messages), carried by the prompts after.

    The three frames are built from ``request_columns``, ``event_records`` and
    ``composition_tokens`` when first read (pandas is imported then, not before).

    Methods: ``applied_edits(i)`` (the API's ``context_management.applied_edits``),
    ``prompt_view(i)`` (every block up to request ``i`` with its status: kept, cleared,
    thinking_stripped, summarized, dropped, summary; ``.to_frame()`` for a table) and
    ``context_awareness(i)`` (the budget lines a context-aware model sees).
    """

    conversation: Conversation
    settings: SimulationSettings
    request_columns: Mapping[str, npt.NDArray[Any]]
    """``requests``' columns as arrays, read without building the frame (pandas is imported
    only when a frame is asked for): the command line and the fleet read these."""
    event_records: tuple[Event, ...]
    """``events``' rows, in request order."""
    warnings: list[str] = field(default_factory=list)
    hidden_prefix_tokens: int = 0
    _composition: npt.NDArray[np.int64] | None = None
    _scale: float = 1.0
    _rows: tuple[Row, ...] = ()
    _ctx: Context | None = None
    _whole_replay: WholeReplay | None = None
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        columns = _Columns(dict(self.request_columns), self._whole_replay)
        object.__setattr__(self, "request_columns", columns)
        object.__setattr__(
            self, "event_records", tuple(sorted(self.event_records, key=itemgetter("request")))
        )

    def _whole(self) -> Simulation:
        """This replay with every estimate made (itself unless they were left for later)."""
        return self if self._whole_replay is None else self._whole_replay.simulation()

    @property
    def deferred(self) -> bool:
        """Whether the estimates (composition, scale, the columns made of them) are still to be
        made: a replay as recorded whose every request is recorded counts only the responses'
        text until one of them is read (``ctxviz.simulator.run``)."""
        return self._whole_replay is not None and not self._whole_replay.done

    @property
    def composition_tokens(self) -> npt.NDArray[np.int64]:
        """``composition`` as an array: a row per request, a column per category."""
        whole = self._whole()
        assert whole._composition is not None
        return whole._composition

    @property
    def scale(self) -> float:
        """Recorded prompt tokens per estimated token (1.0 without usage)."""
        return self._whole()._scale

    @property
    def requests(self) -> pd.DataFrame:
        """One row per model call (the class doc lists the columns); built on first read."""
        return self._frame("requests", lambda: requests_frame(self.request_columns))

    @property
    def events(self) -> pd.DataFrame:
        """One row per event; built on first read."""
        return self._frame("events", lambda: events_frame(self.event_records))

    @property
    def composition(self) -> pd.DataFrame:
        """One row per request, one column per category; built on first read."""
        return self._frame("composition", lambda: composition_frame(self.composition_tokens))

    def _frame(self, name: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            frame = self._frames[name] = build()
        return frame

    def applied_edits(self, i: int) -> list[dict[str, Any]]:
        """What the API would return as ``context_management.applied_edits`` for request ``i``
        (the recorded list where the request is as recorded and the transcript holds it)."""
        row = self._rows[i]
        recorded = self.conversation.requests[row.recorded_request].applied_edits
        if row.recorded and recorded is not None:
            return [dict(e) for e in recorded]
        return [dict(e) for e in row.applied_edits]

    def prompt_view(self, i: int) -> PromptView:
        """The blocks of request ``i``'s prompt, each with its status and tokens."""
        whole = self._whole()
        assert whole._ctx is not None
        return view(whole._ctx, whole._rows[i], i)

    def __repr__(self) -> str:
        """A one-line summary (the frames and the conversation would print megabytes)."""
        from ctxviz.notebook import policy_description

        windows = self.request_columns["context_window"]
        window = self.settings.context_window or (int(windows.max()) if len(windows) else None)
        return (
            f"Simulation(requests={len(windows)}, events={len(self.event_records)}, "
            f"model={self.settings.model or self.conversation.model!r}, window={window}, "
            f"policy={policy_description(self.settings)!r}, warnings={len(self.warnings)})"
        )

    def _repr_html_(self) -> str:
        """Jupyter's rich display: a compact summary (``ctxviz.notebook.simulation_html``)."""
        from ctxviz.notebook import simulation_html  # the notebook helpers import pandas only

        return simulation_html(self)

    def context_awareness(self, i: int) -> tuple[str, ...]:
        """The budget lines a context-aware model sees at request ``i`` (empty if not aware)."""
        assert self._ctx is not None
        row = self._rows[i]
        if not self._ctx.engine.info(row.model).context_awareness:
            return ()
        lines = [limits.budget_line(row.window)]
        p = row.prompt
        if p.end > p.start and self.conversation.messages[p.end - 1].is_tool_results_only:
            lines.append(limits.usage_line(row.input_tokens, row.window))
        return tuple(lines)


class WholeReplay(Protocol):
    """The replay with every estimate made, run once when first needed."""

    @property
    def done(self) -> bool: ...

    def simulation(self) -> Simulation: ...


DEFERRED_COLUMNS: Final = frozenset(
    {
        "reusable_prefix_tokens",
        "thinking_carried_tokens",
        "thinking_stripped_tokens",
        "placeholder_tokens",
        "summary_tokens",
    }
)
"""The request columns made of the prompts' estimates (a replay as recorded whose every request
is recorded reads every other column from the recording and the responses' text)."""


class _Columns(Mapping[str, npt.NDArray[Any]]):
    """Request columns, read-only; with a whole replay to come, the estimate-made ones
    (``DEFERRED_COLUMNS``) are read from it (it runs the first time one of them is asked for)."""

    __slots__ = ("_columns", "_whole")

    def __init__(self, columns: dict[str, npt.NDArray[Any]], whole: WholeReplay | None) -> None:
        self._columns = columns
        self._whole = whole

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        if self._whole is not None and name in DEFERRED_COLUMNS:
            return self._whole.simulation().request_columns[name]
        return self._columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


_OBJECT_COLUMNS: Final = frozenset({"model", "stop_reason", "source"})
_NULLABLE_COLUMNS: Final = frozenset({"compaction_control_total_tokens"})


def requests_frame(
    columns: Mapping[str, npt.NDArray[Any]], names: Sequence[str] = REQUEST_COLUMNS
) -> pd.DataFrame:
    """``Simulation.requests`` (or those of its columns ``names``) from its columns: text as
    objects, a nullable column (an object array of ints and Nones) as nullable integers."""
    import pandas as pd

    data: dict[str, Any] = {}
    for name in names:
        values = columns[name]
        if name in _OBJECT_COLUMNS:
            data[name] = pd.Series(values, dtype=object)
        elif name in _NULLABLE_COLUMNS:
            data[name] = _nullable_ints(values)
        else:
            data[name] = values
    return pd.DataFrame(data, columns=list(names))


def composition_frame(tokens: npt.NDArray[np.int64]) -> pd.DataFrame:
    """``Simulation.composition`` from its array."""
    import pandas as pd

    frame = pd.DataFrame(tokens, columns=list(CATEGORIES))
    frame.index.name = "request"
    return frame


def events_frame(events: tuple[Event, ...]) -> pd.DataFrame:
    """Events (in request order) as a frame, column by column (nullable integers)."""
    import pandas as pd

    data: dict[str, Any] = {}
    for c in EVENT_COLUMNS:
        values = [e[c] for e in events]
        if c in ("type", "trigger", "detail"):
            data[c] = pd.Series(values, dtype=object)
        else:
            data[c] = _nullable_ints(values)
    return pd.DataFrame(data, columns=list(EVENT_COLUMNS))


def _nullable_ints(values: Any) -> Any:
    import pandas as pd

    mask = np.asarray([v is None for v in values], dtype=bool)
    ints = np.asarray([0 if v is None else v for v in values], dtype=np.int64)
    return pd.arrays.IntegerArray(ints.reshape(len(mask)), mask)
