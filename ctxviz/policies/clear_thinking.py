"""The ``clear_thinking_20251015`` edit: keep the thinking of the last N turns, or ``"all"``.

Interpretation (documented): N counts turns by their index, the current turn included even when it
has no assistant message yet, so ``keep: 1`` equals the API's default stripping and ``keep: 2``
also keeps the previous turn's thinking. Without this edit the earlier thinking is stripped before
counting (it is not in ``original_input_tokens``); with it, the client's full history — every
turn's thinking — is the prompt before editing, and what the edit removes is reported in
``applied_edits`` as ``cleared_thinking_turns`` / ``cleared_input_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ctxviz.policies.step import At, Cleared, Prompt, Replay
from ctxviz.policies.thinking import PRESERVE_ALL, ThinkingKeep

TYPE: Final = "clear_thinking_20251015"
DEFAULT_KEEP_TURNS: Final = 1
"""The API's default ``keep``: the last thinking turn (the same as its default stripping)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearThinking:
    """A validated ``clear_thinking_20251015`` edit."""

    keep: ThinkingKeep

    def apply(self, p: Prompt, tokens: int, at: At, replay: Replay) -> Cleared | None:
        """The edit on prompt ``p`` of ``tokens`` tokens (as the edits before it left it)."""
        kept_from = self.keep.kept_from_turn(at.turn)
        if kept_from <= p.kept_from_turn:
            return None  # it keeps at least what the prompt holds
        q = p._replace(kept_from_turn=kept_from)
        turns = replay.thinking_turns_stripped(q)
        if p.kept_from_turn > 0:
            turns -= replay.thinking_turns_stripped(p)
        if turns <= 0:
            return None
        after = at.size(q)
        return Cleared(
            prompt=q,
            tokens=after,
            report=report(cleared_thinking_turns=turns, cleared_input_tokens=tokens - after),
            detail=f"Request {at.request}: thinking of {turns} earlier turn(s) cleared, "
            f"{tokens - after:,} tokens saved.",
        )


def from_api(edit: Mapping[str, Any]) -> ClearThinking:
    """The edit as the API takes it (already validated by ``snippets``)."""
    keep = edit.get("keep", {"type": "thinking_turns", "value": DEFAULT_KEEP_TURNS})
    if keep == "all" or (isinstance(keep, Mapping) and keep.get("type") == "all"):
        return ClearThinking(keep=PRESERVE_ALL)
    return ClearThinking(keep=ThinkingKeep(turns=int(keep["value"])))


def report(*, cleared_thinking_turns: int, cleared_input_tokens: int) -> dict[str, Any]:
    """The entry the API returns in ``context_management.applied_edits``."""
    return {
        "type": TYPE,
        "cleared_thinking_turns": cleared_thinking_turns,
        "cleared_input_tokens": cleared_input_tokens,
    }
