"""A block's type, text and characters: what the Inspector shows and what Claude Code's
rough estimate reads."""

from __future__ import annotations

import json
from typing import assert_never

from ctxviz.estimates import IMAGE_TOKENS
from ctxviz.model import (
    Block,
    CompactionBlock,
    Conversation,
    DocumentBlock,
    ImageBlock,
    OtherBlock,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from ctxviz.policies import claude_code


def block_type(block: Block) -> str:
    match block:
        case TextBlock():
            return "text"
        case ThinkingBlock():
            return "thinking"
        case RedactedThinkingBlock():
            return "redacted_thinking"
        case ToolUseBlock():
            return "tool_use"
        case ToolResultBlock():
            return "tool_result"
        case ServerToolUseBlock():
            return "server_tool_use"
        case ServerToolResultBlock(type=kind):
            return kind
        case ImageBlock():
            return "image"
        case DocumentBlock():
            return "document"
        case CompactionBlock():
            return "compaction"
        case OtherBlock(type=kind):
            return kind
        case _:
            assert_never(block)


def block_chars(block: Block) -> int:
    """Characters of a block as Claude Code's rough estimate reads them (an image: its tokens)."""
    match block:
        case ImageBlock():
            return IMAGE_TOKENS * claude_code.CHARS_PER_TOKEN
        case RedactedThinkingBlock(data=data):
            return len(data)
        case _:
            return len(block_text(block))


_MESSAGE_CHARS: list[tuple[Conversation, list[int]]] = []
"""Memo of ``message_chars`` (the conversation held, compared by identity, as
``ctxviz.estimates.conversation_tokens``' memo)."""


def message_chars(conv: Conversation) -> list[int]:
    """Each message's characters as Claude Code's rough estimate reads them (a slider's replays
    of one conversation count them once)."""
    for c, chars in _MESSAGE_CHARS:
        if c is conv:
            return chars
    chars = [sum(block_chars(b) for b in m.content) for m in conv.messages]
    _MESSAGE_CHARS.append((conv, chars))
    if len(_MESSAGE_CHARS) > 8:
        del _MESSAGE_CHARS[0]
    return chars


def block_text(block: Block) -> str:
    match block:
        case TextBlock(text=text) | ThinkingBlock(thinking=text) | CompactionBlock(content=text):
            return text
        case RedactedThinkingBlock():
            return "[redacted thinking]"
        case ToolUseBlock(name=name, input=args) | ServerToolUseBlock(name=name, input=args):
            return f"{name}({json.dumps(args, ensure_ascii=False, default=str)})"
        case ToolResultBlock(content=content):
            if isinstance(content, str):
                return content
            return "\n".join(block_text(b) for b in content)
        case ServerToolResultBlock(content=content):
            return json.dumps(content, ensure_ascii=False, default=str)
        case ImageBlock():
            return "[image]"
        case DocumentBlock(title=title):
            return f"[document{': ' + title if title else ''}]"
        case OtherBlock(raw=raw):
            return json.dumps(raw, ensure_ascii=False, default=str)
        case _:
            assert_never(block)
