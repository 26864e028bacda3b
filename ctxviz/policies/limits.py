"""Context windows and what happens at them; context awareness; the memory tool's warning.

- The window of a request is the model's (``ModelInfo.context_window_tokens``; the 1M window when
  the request carries the model's 1M beta or a ``[1m]`` model id), or the ``context_window``
  argument. A Claude Code session replays on the model's native window when it is 1M (every
  4.6-and-later model, read from the model table: no ``[1m]`` suffix needed; for Opus and Sonnet
  4.6 only from 2026-03-13, ``native_1m_since``, by the first timestamp) unless the session
  shows 200K (an auto-compaction recorded below 200K tokens), and on 200K otherwise unless it shows
  1M: a recorded prompt above 200K or a ``[1m]`` model.
- ``context_window_exceeded`` fires at the first request whose ``input_tokens + output_tokens``
  exceeds the window; where ``max_tokens`` is known, models that reject up front
  (``context_overflow == "validation_error"``, before 4.5) also flag ``input_tokens + max_tokens``
  (the API refuses the request), while 4.5-and-later models accept it and stop with
  ``stop_reason: "model_context_window_exceeded"``. The replay goes on, flagged (``over_window``).
- Context awareness (Sonnet 4.5 / 4.6, Haiku 4.5): the model is told its budget at the start and,
  after each tool call, how much it used.
- Memory tool (``memory_20250818``) with ``clear_tool_uses_20250919``: the model is warned as the
  prompt approaches the clearing trigger. Assumption (the threshold is not documented): the warning
  comes at the first request whose prompt reaches ``MEMORY_WARNING_FRACTION`` (80%) of an
  ``input_tokens`` trigger.
"""

from __future__ import annotations

from typing import Final, Literal

from ctxviz.models import ContextOverflow, ModelInfo
from ctxviz.policies.claude_code import CLAUDE_CODE_WINDOW_TOKENS

TYPE: Final = "context_window_exceeded"
MEMORY_WARNING_TYPE: Final = "memory_warning"
MEMORY_TOOL_TYPE: Final = "memory_20250818"
MEMORY_WARNING_FRACTION: Final = 0.8

Overflow = Literal["input+output", "input+max_tokens"]


def window_tokens(
    info: ModelInfo,
    *,
    betas: tuple[str, ...] = (),
    claude_code: bool = False,
    shows_1m: bool = False,
    shows_200k: bool = False,
    started: str | None = None,
    override: int | None = None,
) -> int:
    """The window one request must fit; ``started``: when the session began (ISO 8601), which
    decides whether a model's 1M window was already its standard one."""
    if override is not None:
        return override
    if info.context_1m_beta is not None and info.context_1m_beta in betas:
        info = info.with_1m_context()
    native_1m = info.native_1m_at(started)
    if claude_code and not shows_1m and not info.extended_context and (shows_200k or not native_1m):
        return min(info.context_window_tokens, CLAUDE_CODE_WINDOW_TOKENS)
    if claude_code and shows_1m:
        info = info.with_1m_context()
    return info.context_window_tokens


def overflow_detail(
    *,
    kind: Overflow,
    request: int,
    input_tokens: int,
    other_tokens: int,
    window: int,
    behaviour: ContextOverflow,
    model: str,
) -> str:
    """A sentence for the event."""
    what = "output" if kind == "input+output" else "max_tokens"
    head = (
        f"Request {request}: {input_tokens:,} input + {other_tokens:,} {what} tokens exceed "
        f"the {window:,}-token window of {model}"
    )
    if behaviour == "validation_error":
        return f"{head}; the API refuses such a request up front with a validation error."
    return (
        f'{head}; the model accepts it and stops with stop_reason "model_context_window_exceeded".'
    )


def budget_line(window: int) -> str:
    """What a context-aware model is told at the start of a conversation."""
    return f"<budget:token_budget>{window}</budget:token_budget>"


def usage_line(used_tokens: int, window: int) -> str:
    """What a context-aware model is told after a tool call."""
    return (
        f"<system_warning>Token usage: {used_tokens}/{window}; "
        f"{window - used_tokens} remaining</system_warning>"
    )
