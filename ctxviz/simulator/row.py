"""One row of the replay, before it becomes a DataFrame row."""

from __future__ import annotations

from typing import NamedTuple

from ctxviz.policies.step import AppliedEdit, Prompt


class Row(NamedTuple):
    """One row of the replay, before it becomes a DataFrame row (a NamedTuple: the loop makes
    one per request, and a tuple is several times cheaper to build than a frozen dataclass)."""

    recorded_request: int
    prompt: Prompt
    original: Prompt
    input_tokens: int
    original_input_tokens: int
    output_tokens: int
    thinking_tokens: int
    stop_reason: str | None
    model: str
    window: int
    recorded: bool = False
    """The prompt is as recorded and the request carries usage: recorded numbers."""
    cleared_tool_uses: int = 0
    cleared_thinking_turns: int = 0
    cleared_input_tokens: int = 0
    """Net saving of the clearing edits applied at this request."""
    compaction_input_tokens: int = 0
    compaction_output_tokens: int = 0
    compaction_usage: tuple[int, int, int] | None = None
    """A recorded compaction iteration's (uncached, cache writes, cache reads) input."""
    sdk_total: int | None = None
    applied_edits: tuple[AppliedEdit, ...] = ()
