"""The categories a prompt is split into: one vocabulary for the simulator, figures and app."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, get_args

Category: TypeAlias = Literal[  # stacking order, bottom to top
    "hidden_prefix",
    "system",
    "tools",
    "summary",
    "reinjected",
    "user_text",
    "assistant_text",
    "thinking",
    "tool_inputs",
    "tool_results",
    "media",
    "cleared_placeholders",
    "other",
]

CATEGORIES: Final[tuple[Category, ...]] = get_args(Category)
"""Stacking order, bottom to top: the stable prefix first, the most clearable content last."""

LABELS: Final[dict[Category, str]] = {
    "hidden_prefix": "Hidden prefix (system prompt + tools not in the file)",
    "system": "System prompt",
    "tools": "Tool definitions",
    "summary": "Compaction summary",
    "reinjected": "Re-injected after compaction (not in the file)",
    "user_text": "User text",
    "assistant_text": "Assistant text",
    "thinking": "Thinking",
    "tool_inputs": "Tool inputs",
    "tool_results": "Tool results",
    "media": "Images and documents",
    "cleared_placeholders": "Cleared placeholders",
    "other": "Other blocks, the prompt's frame",
}
