"""What a policy's step works on and gives back: the replay's common language.

The simulator's loop (``ctxviz.simulator.loop``) meets each request once and hands the prompt it
is building to each configured policy in order. A step sees:

- ``Prompt``: a prompt as a few numbers (first and end message, the first turn whose thinking is
  kept, the range of cleared tool uses, the summary in front);
- ``At``: the request at hand (its index, model, window, output, turn) and how to size a prompt;
- ``Replay``: what the replay knows of the whole conversation, for the steps that need more than
  sizes (Claude Code's rough estimate, the tool uses, the thinking turns).

A step that changes the prompt answers with ``Fired``: the new prompt, the event it reports, and
the summary call billed on the request, if any. The loop keeps the books (the client's history,
the rows); the rules stay with their policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Final,
    Literal,
    NamedTuple,
    NotRequired,
    Protocol,
    TypeAlias,
    TypedDict,
    get_args,
)

if TYPE_CHECKING:
    from ctxviz.model import Conversation, Request
    from ctxviz.models import ModelInfo


EventColumn: TypeAlias = Literal[
    "request",
    "recorded_request",
    "type",
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "cleared_input_tokens",
    "tokens_before",
    "tokens_after",
    "summary_tokens",
    "trigger",
    "detail",
]
EVENT_COLUMNS: Final[tuple[EventColumn, ...]] = get_args(EventColumn)


class Event(TypedDict):
    """One event as a step reports it: a row of ``Simulation.events``."""

    request: int
    recorded_request: int
    type: str
    cleared_tool_uses: int | None
    cleared_thinking_turns: int | None
    cleared_input_tokens: int | None
    tokens_before: int | None
    tokens_after: int | None
    summary_tokens: int | None
    trigger: str | None
    detail: str


class AppliedEdit(TypedDict):
    """An entry of the API's ``context_management.applied_edits``: a clearing edit that applied."""

    type: Literal["clear_thinking_20251015", "clear_tool_uses_20250919"]
    cleared_input_tokens: int
    cleared_tool_uses: NotRequired[int]
    cleared_thinking_turns: NotRequired[int]


class Prompt(NamedTuple):
    """One prompt, as a few numbers: messages[start:end] under its thinking and clearing state.

    A NamedTuple rather than a dataclass: the loop builds and compares one or more per request,
    and tuple equality runs in C.
    """

    start: int
    end: int
    kept_from_turn: int
    """Thinking of turns before this one is not in the prompt."""
    clear_lo: int = 0
    clear_hi: int = 0
    """Tool-use ordinals [clear_lo, clear_hi) are cleared (those not excluded)."""
    summary_id: int = 0
    """Which what-if summary is in front (0: none)."""
    summary_tokens: int = 0
    """Real tokens of that summary (not scaled)."""
    extra_estimate: int = 0
    """Estimated tokens of a recorded server compaction summary heading the prompt."""
    thinking_from: int = 0
    """Thinking of messages before this index is not in the prompt either (preserved thinking
    dropped after a client-side rewrite, ``ctxviz.policies.preserved_thinking``; 0: none)."""


def event(
    request: int,
    recorded_request: int,
    kind: str,
    detail: str,
    *,
    cleared_tool_uses: int | None = None,
    cleared_thinking_turns: int | None = None,
    cleared_input_tokens: int | None = None,
    tokens_before: int | None = None,
    tokens_after: int | None = None,
    summary_tokens: int | None = None,
    trigger: str | None = None,
) -> Event:
    return {
        "request": request,
        "recorded_request": recorded_request,
        "type": kind,
        "cleared_tool_uses": cleared_tool_uses,
        "cleared_thinking_turns": cleared_thinking_turns,
        "cleared_input_tokens": cleared_input_tokens,
        "tokens_before": tokens_before,
        "tokens_after": tokens_after,
        "summary_tokens": summary_tokens,
        "trigger": trigger,
        "detail": detail,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Previous:
    """The row before the request at hand, as far as a client step reads it."""

    input_tokens: int
    output_tokens: int
    recorded: bool
    """Its prompt was as recorded and it carries recorded usage."""


class At(NamedTuple):
    """The request a step acts on (a NamedTuple, as ``Prompt``: the loop makes one per request,
    and a tuple is built about 3x faster than a frozen dataclass)."""

    request: int
    """The transcript's request (``recorded_request``)."""
    row: int
    """The row the step's event belongs to (rows so far)."""
    start: int
    """First message of the client's history."""
    end: int
    """The prompt ends before this message."""
    model: str
    window_tokens: int
    output_tokens: int
    turn: int
    kept_from_turn: int
    """The first turn whose thinking the prompt holds before any edit."""
    summary_tokens: int
    """The size a what-if summary is given in this replay."""
    next_summary_id: int
    """The id a summary written at this request takes."""
    previous: Previous | None
    """The row before, when the client's history runs on from it (else None)."""
    size: Callable[[Prompt], int]
    """Tokens of a prompt at this request (recorded where it is the recorded one)."""

    def summary(self, *, first_kept: int | None = None, kept_from_turn: int = 0) -> Prompt:
        """The prompt after a what-if summary written here: the summary, then the messages from
        ``first_kept`` (default: none) to the end."""
        return Prompt(
            self.end if first_kept is None else first_kept,
            self.end,
            kept_from_turn,
            summary_id=self.next_summary_id,
            summary_tokens=self.summary_tokens,
        )


class Replay(Protocol):
    """What the replay knows of the whole conversation, for steps that need more than sizes."""

    @property
    def conv(self) -> Conversation: ...

    @property
    def undoes_recorded_compactions(self) -> bool:
        """The history runs on through recorded compactions."""
        ...

    @property
    def summary_tokens_given(self) -> bool:
        """A what-if summary's size was given (else the recorded summaries' size)."""
        ...

    @property
    def requests(self) -> Sequence[Request]: ...

    @property
    def rec_desc(self) -> list[Prompt]:
        """The recorded prompt of each request."""
        ...

    def cum_chars(self) -> list[int]:
        """Prefix sums of each message's characters."""
        ...

    def message_size(self, m: int) -> int:
        """The scaled estimate of message ``m`` as written."""
        ...

    def info(self, model: str) -> ModelInfo: ...

    def turn_starts(self) -> list[int]:
        """The messages that open a turn, ascending."""
        ...

    def tool_use_messages(self) -> list[int]:
        """The message of each tool use, in call order."""
        ...

    def clearable_tool_uses(self, lo: int, hi: int) -> int:
        """Tool uses among ordinals [lo, hi) that clearing may touch (not excluded)."""
        ...

    def thinking_turns_stripped(self, p: Prompt) -> int:
        """Turns with thinking in the prompt's messages whose thinking is not kept."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Fired:
    """What a step that changed the prompt gives back."""

    prompt: Prompt
    event: Event
    compaction_input_tokens: int = 0
    """A summary call billed on this request: what it read ..."""
    compaction_output_tokens: int = 0
    """... and what it wrote."""
    keeps_thinking_valid: bool = False
    """The API wrote the summary (compaction on demand): thinking kept after it stays valid on
    models with preserved thinking. Any other client-side rewrite invalidates the thinking it
    keeps (``ctxviz.policies.preserved_thinking``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cleared:
    """What a server-side clearing edit that applied gives back."""

    prompt: Prompt
    tokens: int
    """The prompt's tokens after the edit."""
    report: AppliedEdit
    """The entry the API returns in ``context_management.applied_edits``."""
    detail: str
    """The event's sentence."""


class ClientStep(Protocol):
    """A client-side policy over one replay: it may rewrite the history before a request."""

    def before_sending(self, client: Prompt, at: At) -> Fired | None: ...


class ClientPolicy(Protocol):
    """A client-side policy's config: bound to a replay, it is that replay's step."""

    def bind(self, replay: Replay) -> ClientStep: ...


class ClearingEdit(Protocol):
    """A server-side clearing edit (``context_management.edits``), applied in the API's order."""

    def apply(self, p: Prompt, tokens: int, at: At, replay: Replay) -> Cleared | None: ...
