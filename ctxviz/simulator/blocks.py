"""A block's type, text and characters: what the Inspector shows and what Claude Code's
rough estimate reads."""

from __future__ import annotations

import json
from typing import assert_never

from ctxviz._memo import per_conversation
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


@per_conversation
def message_chars(conv: Conversation) -> tuple[int, ...]:
    """Each message's characters as Claude Code's rough estimate reads them (a slider's replays
    of one conversation count them once)."""
    return tuple(sum(block_chars(b) for b in m.content) for m in conv.messages)


@per_conversation
def thinking_responses(conv: Conversation) -> frozenset[int]:
    """The response messages that hold thinking (their thinking is their output minus their
    visible blocks; a response without any thinks 0)."""
    messages = conv.messages
    return frozenset(
        m
        for m in (r.response for r in conv.requests)
        if m is not None
        and 0 <= m < len(messages)
        and any(isinstance(b, ThinkingBlock | RedactedThinkingBlock) for b in messages[m].content)
    )


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
