"""The SDK's client-side ``compaction_control`` (``tool_runner``, anthropic 0.75–0.125), exactly.

Where it is decided: after EACH model response (also a final ``end_turn``) and before any tool
runs, the SDK adds ``input_tokens + cache_creation_input_tokens + cache_read_input_tokens +
output_tokens`` of THAT response and compacts when the total is ``>=`` ``context_token_threshold``
(default 100,000). The response that crossed is discarded (its tool calls never ran); the history
becomes ONE user message holding the summary (system prompt and tools carry over); the model then
re-issues that response, which the replay shows as an extra row (same ``recorded_request``). The
summary request itself is reported on the event, not as a row.

The seeds' pitfall: with server tools (web search / fetch), one response's
``cache_read_input_tokens`` adds up the reads of several internal model calls, so the SDK's total
is inflated and compaction fires early. ``totals="sdk"`` (default) replays the SDK's formula on
the usage as recorded; ``totals="context"`` uses the real context instead (the last ``message``
iteration's prompt where ``usage.iterations`` is recorded, else the estimated prompt), to show the
difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from ctxviz.policies.step import At, Fired, event

TYPE: Final = "compaction_control"
DEFAULT_THRESHOLD_TOKENS: Final = 100_000

Totals: TypeAlias = Literal["sdk", "context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactionControl:
    """A validated ``compaction_control`` dict."""

    enabled: bool = True
    context_token_threshold: int = DEFAULT_THRESHOLD_TOKENS
    model: str | None = None
    summary_prompt: str | None = None
    totals: Totals = "sdk"

    def total(
        self, *, prompt_tokens: int, output_tokens: int, server_tool_excess_tokens: int
    ) -> int:
        """The number the SDK compares with the threshold after a response."""
        if self.totals == "context":
            return prompt_tokens - server_tool_excess_tokens + output_tokens
        return prompt_tokens + output_tokens

    def fires(self, total_tokens: int) -> bool:
        """Whether the SDK compacts after this response."""
        return self.enabled and total_tokens >= self.context_token_threshold

    def after_response(
        self, tokens: int, at: At, *, server_tool_excess_tokens: int
    ) -> tuple[int, Fired | None]:
        """After the response to a prompt of ``tokens`` tokens: the SDK's total, and the
        compaction when it reaches the threshold (the response is discarded and re-issued on the
        summary)."""
        total = self.total(
            prompt_tokens=tokens,
            output_tokens=at.output_tokens,
            server_tool_excess_tokens=server_tool_excess_tokens,
        )
        if not self.fires(total):
            return total, None
        again = at.summary()
        return total, Fired(
            prompt=again,
            event=event(
                at.row,
                at.request,
                TYPE,
                f"After request {at.request}: input + cache writes + cache reads + output = "
                f"{total:,} tokens reached the threshold of {self.context_token_threshold:,}; the "
                f"response is discarded (its tool calls never ran), a {at.summary_tokens:,}-token "
                "summary becomes the history, and the model re-issues the response.",
                tokens_before=total,
                tokens_after=at.size(again),
                summary_tokens=at.summary_tokens,
                trigger=str(self.context_token_threshold),
            ),
            compaction_input_tokens=tokens,
            compaction_output_tokens=at.summary_tokens,
        )


def from_sdk(cc: Mapping[str, Any], *, totals: Totals = "sdk") -> CompactionControl:
    """The dict as the SDK takes it (already validated by ``snippets``)."""
    return CompactionControl(
        enabled=bool(cc["enabled"]),
        context_token_threshold=int(cc.get("context_token_threshold", DEFAULT_THRESHOLD_TOKENS)),
        model=cc.get("model"),
        summary_prompt=cc.get("summary_prompt"),
        totals=totals,
    )
