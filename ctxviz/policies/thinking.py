"""Which thinking blocks reach the model: the API's default stripping of earlier turns.

Thinking of PREVIOUS assistant turns is stripped before the prompt reaches the model; the current
turn's thinking (a tool-use loop) is sent back and counts. Opus 4.5 and later preserve earlier
turns' thinking by default (``ModelInfo.preserves_thinking_by_default``); the simulator's
``thinking_preservation`` argument overrides the model's default.

Turns are numbered by ``ctxviz.model.turn_indices``: a genuine user message opens a turn, a user
message made only of tool results continues it. The turn of a request is the turn of the last
message of its prompt, so a request whose prompt ends with a new user message is in a new turn
(with no assistant message yet), and all earlier thinking is stripped.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctxviz.model import Conversation
from ctxviz.models import ModelInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingKeep:
    """How many of the most recent turns keep their thinking; None keeps every turn's."""

    turns: int | None

    def kept_from_turn(self, current_turn: int) -> int:
        """The first turn whose thinking is in the prompt (the current turn counts as the 1st)."""
        if self.turns is None:
            return 0
        return max(0, current_turn - self.turns + 1)


STRIP_EARLIER_TURNS = ThinkingKeep(turns=1)
"""The API's default: only the current turn's thinking (``keep: thinking_turns 1``)."""
PRESERVE_ALL = ThinkingKeep(turns=None)
"""Thinking preservation (Opus 4.5 and later by default): every turn's thinking stays."""


def default_keep(*, preserves_by_default: bool, preservation: bool | None) -> ThinkingKeep:
    """The default when no ``clear_thinking_20251015`` edit is given: per model, overridable."""
    preserve = preserves_by_default if preservation is None else preservation
    return PRESERVE_ALL if preserve else STRIP_EARLIER_TURNS


def thinking_on(conv: Conversation, model: ModelInfo | None) -> bool:
    """Whether the conversation runs with thinking: always on a model whose adaptive thinking
    cannot be disabled (Opus 5.5, Fable 5.x: ``ModelInfo.thinking_always_on``), else when the
    transcript says so (``Conversation.thinking_enabled``)."""
    return (model is not None and model.thinking_always_on) or conv.thinking_enabled
