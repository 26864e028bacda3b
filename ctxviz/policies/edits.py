"""A ``context_management`` object, validated as the API would, parsed into policy configs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from ctxviz.models import ModelInfo
from ctxviz.policies import clear_thinking, clear_tool_uses, compact
from ctxviz.snippets import validate_context_management

Edit: TypeAlias = clear_thinking.ClearThinking | clear_tool_uses.ClearToolUses | compact.Compact


@dataclass(frozen=True, slots=True, kw_only=True)
class Edits:
    """The edits in the API's order: ``clear_thinking`` first, compaction judged last."""

    clearing: tuple[clear_thinking.ClearThinking | clear_tool_uses.ClearToolUses, ...] = ()
    compact: compact.Compact | None = None

    @property
    def clear_thinking(self) -> clear_thinking.ClearThinking | None:
        """The ``clear_thinking_20251015`` edit, if any (always first)."""
        for edit in self.clearing:
            if isinstance(edit, clear_thinking.ClearThinking):
                return edit
        return None


NO_EDITS = Edits()


def parse(cm: Mapping[str, Any] | None, model: ModelInfo | None) -> tuple[Edits, list[str]]:
    """Validate (``ValueError`` naming the problem) and parse; returns the edits and warnings."""
    warnings = validate_context_management(cm, model)
    if cm is None:
        return NO_EDITS, warnings
    clearing: list[clear_thinking.ClearThinking | clear_tool_uses.ClearToolUses] = []
    compaction: compact.Compact | None = None
    for edit in cm.get("edits", []):
        kind = edit["type"]
        if kind == clear_thinking.TYPE:
            clearing.append(clear_thinking.from_api(edit))
        elif kind == clear_tool_uses.TYPE:
            clearing.append(clear_tool_uses.from_api(edit))
        elif kind == compact.TYPE:
            if compaction is not None:
                raise ValueError("context_management.edits: compact_20260112 is given twice")
            compaction = compact.from_api(edit)
    return Edits(clearing=tuple(clearing), compact=compaction), warnings
