"""The ``clear_tool_uses_20250919`` edit: clear old tool results once the prompt is large.

Rules as replayed (docs/semantics.md#clear_tool_uses), decided here:

- Evaluated afresh at every request on the prompt as the client sent it (the client keeps its full
  history) after the edits listed before this one.
- Trigger: ``input_tokens`` fires when the prompt EXCEEDS the value (``>``, "once the prompt
  exceeds"); ``tool_uses`` when the prompt holds more than ``value`` tool uses. Default 100,000
  input tokens.
- Once triggered, every tool use except the most recent ``keep`` (default 3) is cleared, oldest
  first, except those of ``exclude_tools``. ``keep`` counts all tool uses of the prompt, excluded
  ones included (interpretation: "the most recent N tool use/result pairs are kept").
- Each cleared result is replaced by ``PLACEHOLDER`` (an assumption: the API's exact wording is not
  documented), which costs its own tokens. With ``clear_tool_inputs`` (true, or a list of tool
  names) the calls' inputs are cleared too; the calls stay, with their names.
- ``cleared_input_tokens`` is the net saving (removed tokens minus placeholders), so that
  ``original_input_tokens - input_tokens`` is the sum of the applied edits' savings.
- ``clear_at_least``: if fewer tokens than that would be cleared, the edit is not applied at all.
- Client tool uses (``tool_use`` / ``tool_result``) and server tool uses (``server_tool_use`` /
  ``web_search_tool_result`` …) are both tool uses.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from ctxviz.policies.step import At, Cleared, Prompt, Replay

TYPE: Final = "clear_tool_uses_20250919"
PLACEHOLDER: Final = "[Tool result cleared to save context]"
DEFAULT_TRIGGER_TOKENS: Final = 100_000
DEFAULT_KEEP_TOOL_USES: Final = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearToolUses:
    """A validated ``clear_tool_uses_20250919`` edit."""

    trigger_type: Literal["input_tokens", "tool_uses"] = "input_tokens"
    trigger_value: int = DEFAULT_TRIGGER_TOKENS
    keep_tool_uses: int = DEFAULT_KEEP_TOOL_USES
    clear_at_least_tokens: int | None = None
    exclude_tools: frozenset[str] = frozenset()
    clear_tool_inputs: bool | frozenset[str] = False
    """True: every cleared call's input; a set: only those tools' inputs."""

    def clears_input_of(self, tool_name: str) -> bool:
        """Whether clearing this tool's use also clears its input."""
        if isinstance(self.clear_tool_inputs, bool):
            return self.clear_tool_inputs
        return tool_name in self.clear_tool_inputs

    def triggered(self, *, prompt_tokens: int, tool_uses: int) -> bool:
        """Whether the prompt (as left by the edits before this one) starts clearing."""
        if self.trigger_type == "input_tokens":
            return prompt_tokens > self.trigger_value
        return tool_uses > self.trigger_value

    def clearable_count(self, tool_uses: int) -> int:
        """How many of the prompt's tool uses, oldest first, are candidates (all but ``keep``)."""
        return max(0, tool_uses - self.keep_tool_uses)

    def worth_clearing(self, cleared_input_tokens: int) -> bool:
        """``clear_at_least``: all or nothing."""
        if cleared_input_tokens <= 0:
            return False
        return self.clear_at_least_tokens is None or cleared_input_tokens >= (
            self.clear_at_least_tokens
        )

    def apply(self, p: Prompt, tokens: int, at: At, replay: Replay) -> Cleared | None:
        """The edit on prompt ``p`` of ``tokens`` tokens (as the edits before it left it)."""
        uses = replay.tool_use_messages()
        lo, hi_all = bisect_left(uses, p.start), bisect_left(uses, p.end)
        if not self.triggered(prompt_tokens=tokens, tool_uses=hi_all - lo):
            return None
        hi = lo + self.clearable_count(hi_all - lo)
        count = replay.clearable_tool_uses(lo, hi)
        if count <= 0:
            return None
        q = p._replace(clear_lo=lo, clear_hi=hi)
        after = at.size(q)
        if not self.worth_clearing(tokens - after):
            return None
        return Cleared(
            prompt=q,
            tokens=after,
            report=report(cleared_tool_uses=count, cleared_input_tokens=tokens - after),
            detail=f"Request {at.request}: {count} tool use(s) cleared, {tokens - after:,} "
            "tokens saved.",
        )


def from_api(edit: Mapping[str, Any]) -> ClearToolUses:
    """The edit as the API takes it (already validated by ``snippets``)."""
    trigger = edit.get("trigger") or {"type": "input_tokens", "value": DEFAULT_TRIGGER_TOKENS}
    keep = edit.get("keep") or {"type": "tool_uses", "value": DEFAULT_KEEP_TOOL_USES}
    at_least = edit.get("clear_at_least")
    inputs = edit.get("clear_tool_inputs", False)
    return ClearToolUses(
        trigger_type="tool_uses" if trigger["type"] == "tool_uses" else "input_tokens",
        trigger_value=int(trigger["value"]),
        keep_tool_uses=int(keep["value"]),
        clear_at_least_tokens=None if at_least is None else int(at_least["value"]),
        exclude_tools=frozenset(edit.get("exclude_tools") or ()),
        clear_tool_inputs=bool(inputs)
        if inputs is None or isinstance(inputs, bool)
        else (frozenset(inputs)),
    )


def report(*, cleared_tool_uses: int, cleared_input_tokens: int) -> dict[str, Any]:
    """The entry the API returns in ``context_management.applied_edits``."""
    return {
        "type": TYPE,
        "cleared_tool_uses": cleared_tool_uses,
        "cleared_input_tokens": cleared_input_tokens,
    }
