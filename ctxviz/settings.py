"""What a replay depends on besides the conversation: ``simulate``'s arguments, resolved into the
policies' own configs (``ctxviz.simulator`` builds them; the figures and the summary read them).
"""

from __future__ import annotations

from dataclasses import dataclass

from ctxviz.estimates import TokenCounter
from ctxviz.policies import claude_code, compact_on_demand, preserved_thinking, rolling
from ctxviz.policies import compaction_control as sdk_compaction
from ctxviz.policies.edits import NO_EDITS, Edits
from ctxviz.policies.step import ClientPolicy

__all__ = ["SimulationSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationSettings:
    """Everything a replay depends on besides the conversation (hashable: a cache key)."""

    model: str | None = None
    context_window: int | None = None
    max_tokens: int | None = None
    """``max_tokens`` for every request (None: each request's recorded value, where known)."""
    context_management: str | None = None
    """The ``context_management`` argument as canonical JSON (None: the recorded one, if any)."""
    edits: Edits = NO_EDITS
    compaction_control: sdk_compaction.CompactionControl | None = None
    summary_tokens: int | None = None
    thinking_preservation: bool | None = None
    compact_at: tuple[int, ...] = ()
    """Requests whose whole prompt is summarized on demand, inside the request (the older
    shorthand; ``compaction_on_demand`` runs the documented compaction loop)."""
    compaction_on_demand: compact_on_demand.CompactOnDemand | None = None
    """Compaction on demand as the client's loop (``simulate(compaction=...)``)."""
    thinking_prefix_mismatch: preserved_thinking.MismatchBehaviour = (
        preserved_thinking.DEFAULT_BEHAVIOUR
    )
    """What the API does with thinking a client-side rewrite made invalid: reject or drop."""
    claude_code_autocompact: claude_code.ClaudeCodeAutocompact | None = None
    undo_recorded_compactions: bool = False
    rolling_window: rolling.RollingWindow | None = None
    prompt_caching: bool | None = None
    counter: TokenCounter | None = None
    message_frame_tokens: int | None = None

    @property
    def client_policies(self) -> tuple[ClientPolicy, ...]:
        """The client-side policies before each request, in the order they act."""
        return tuple(
            p
            for p in (self.claude_code_autocompact, self.rolling_window, self.compaction_on_demand)
            if p is not None
        )

    @property
    def what_if(self) -> bool:
        """Whether any argument departs from the recording."""
        return (
            self.model is not None
            or self.max_tokens is not None
            or self.context_management is not None
            or self.compaction_control is not None
            or self.thinking_preservation is not None
            or bool(self.compact_at)
            or self.compaction_on_demand is not None
            or self.claude_code_autocompact is not None
            or self.undo_recorded_compactions
            or self.rolling_window is not None
        )
