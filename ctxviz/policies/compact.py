"""Server-side compaction ``compact_20260112``, and ``compact_at``'s summary inside a request.

Where compaction is decided (server side):

- Judged last, on the prompt as the clearing edits left it. It fires in the request whose prompt
  reaches the trigger (``>=``: the request that crosses it; default 150,000; the API rejects less
  than 50,000), or at a request the user picked (``compact_at``: the older shorthand for a
  summary of that request's whole prompt; compaction on demand proper, the client's loop, is
  ``ctxviz.policies.compact_on_demand``).
- It happens INSIDE that request, as an extra model iteration: the compaction iteration reads the
  crossing prompt and writes the summary (``summary_tokens``); the request's row is then the model
  call that saw the summary — the prompt is the fixed prefix (system, tools) plus the summary
  (interpretation: the pending user message is folded into the summary, as in the recorded
  cassette where the message iteration's prompt is the summary plus about 100 tokens). Both
  iterations are billed on that request (``compaction_input_tokens`` /
  ``compaction_output_tokens`` columns).
- Later requests send the ``compaction`` block back and the API drops everything before it.
- ``pause_after_compaction``: the request stops with ``stop_reason: "compaction"`` after writing the
  summary (a row of its own whose output is the summary); the client sends the request again and
  the model's answer comes in a second row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ctxviz.policies.step import At, Fired, event

TYPE: Final = "compact_20260112"
DEFAULT_TRIGGER_TOKENS: Final = 150_000
MIN_TRIGGER_TOKENS: Final = 50_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Compact:
    """A validated ``compact_20260112`` edit."""

    trigger_tokens: int = DEFAULT_TRIGGER_TOKENS
    instructions: str | None = None
    pause_after_compaction: bool = False

    def fires(self, prompt_tokens: int) -> bool:
        """Whether the prompt after the clearing edits crosses the trigger."""
        return prompt_tokens >= self.trigger_tokens


def from_api(edit: Mapping[str, Any]) -> Compact:
    """The edit as the API takes it (already validated by ``snippets``)."""
    trigger = edit.get("trigger") or {"type": "input_tokens", "value": DEFAULT_TRIGGER_TOKENS}
    return Compact(
        trigger_tokens=int(trigger["value"]),
        instructions=edit.get("instructions"),
        pause_after_compaction=bool(edit.get("pause_after_compaction", False)),
    )


def step(config: Compact | None, *, on_demand: bool, tokens: int, at: At) -> Fired | None:
    """Judged last, on the cleared prompt of ``tokens`` tokens: compacts inside this request when
    it crosses the trigger or when compaction was asked for here (``on_demand``)."""
    fires = config is not None and config.fires(tokens)
    if not (fires or on_demand):
        return None
    trigger = (config or Compact()).trigger_tokens
    summarized = at.summary()
    after = at.size(summarized)
    how = f"crossed the {trigger:,}-token trigger" if fires else "was compacted on demand"
    return Fired(
        prompt=summarized,
        event=event(
            at.row,
            at.request,
            TYPE,
            f"Request {at.request}: the prompt ({tokens:,} tokens) {how}; a compaction iteration "
            f"wrote a {at.summary_tokens:,}-token summary and the model continued on a "
            f"{after:,}-token prompt.",
            tokens_before=tokens,
            tokens_after=after,
            summary_tokens=at.summary_tokens,
            trigger=str(trigger) if fires else "on_demand",
        ),
        compaction_input_tokens=tokens,
        compaction_output_tokens=at.summary_tokens,
    )
