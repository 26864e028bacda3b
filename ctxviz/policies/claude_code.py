"""Claude Code's auto-compaction, and how recorded compactions are replayed or undone.

Where it is decided: before sending a request, Claude Code compacts when the prompt it is about to
send reaches ``window - reserve_tokens`` (reserve about 33,000 tokens in current versions, 45,000
in older ones: real 200K sessions compacted at ``preTokens`` 167,094–170,251). The summary request
(a sub-agent call) reads that prompt and writes ``summary_tokens``; it is reported on the event,
billed on the request's row (``compaction_*`` columns), and not a row itself. The request is then
sent as the fixed prefix plus the summary, and the history continues after it.

Recorded compactions (``conv.compactions``) are replayed as recorded (event
``recorded_compaction``). With ``undo_recorded_compactions=True`` they are undone: the session file
keeps the records before the compaction, so the history continues unbroken and the summary message
is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

TYPE: Final = "claude_code_autocompact"
RECORDED_TYPE: Final = "recorded_compaction"
DEFAULT_RESERVE_TOKENS: Final = 33_000
CLAUDE_CODE_WINDOW_TOKENS: Final = 200_000
"""Claude Code sessions run on a 200K window unless they show 1M (a prompt above 200K, [1m])."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaudeCodeAutocompact:
    """Auto-compaction settings: compact when the prompt reaches ``window - reserve_tokens``."""

    reserve_tokens: int = DEFAULT_RESERVE_TOKENS

    def threshold(self, window_tokens: int) -> int:
        """The prompt size at which it fires."""
        return window_tokens - self.reserve_tokens

    def fires(self, *, prompt_tokens: int, window_tokens: int) -> bool:
        """Whether the prompt about to be sent is near enough the window to compact first."""
        return prompt_tokens >= self.threshold(window_tokens)


def from_arg(
    arg: bool | Mapping[str, Any] | ClaudeCodeAutocompact | None,
) -> ClaudeCodeAutocompact | None:
    """``True`` (defaults), ``{"reserve_tokens": N}``, a config, or None/False (off)."""
    if arg is None or arg is False:
        return None
    if arg is True:
        return ClaudeCodeAutocompact()
    if isinstance(arg, ClaudeCodeAutocompact):
        return arg
    unknown = [k for k in arg if k != "reserve_tokens"]
    if unknown:
        raise ValueError(
            f"claude_code_autocompact: unknown key '{unknown[0]}' (expected 'reserve_tokens')"
        )
    reserve = arg.get("reserve_tokens", DEFAULT_RESERVE_TOKENS)
    if isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0:
        raise ValueError(
            f"claude_code_autocompact.reserve_tokens: expected a non-negative integer, "
            f"got {reserve!r}"
        )
    return ClaudeCodeAutocompact(reserve_tokens=reserve)
