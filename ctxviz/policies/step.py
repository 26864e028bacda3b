"""What every policy's step works on: a prompt as a few numbers, and the event it reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    pass


EVENT_COLUMNS: Final[tuple[str, ...]] = (
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
)


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
) -> dict[str, Any]:
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
