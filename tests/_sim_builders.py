"""Hand-built conversations for the simulator's golden tests (a word counter: numbers by hand)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ctxviz.model import (
    Block,
    Conversation,
    Message,
    RecordedCompaction,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    requests_from_messages,
)


def words(text: str, family: str) -> int:
    """The trivial counter: one token per whitespace-separated word."""
    return len(text.split())


def text(s: str) -> TextBlock:
    return TextBlock(text=s)


def think(s: str) -> ThinkingBlock:
    return ThinkingBlock(thinking=s, signature="sig")


def call(tool_id: str, name: str = "read", **args: object) -> ToolUseBlock:
    return ToolUseBlock(id=tool_id, name=name, input=dict(args))


def result(tool_id: str, s: str) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id=tool_id, content=s)


def user(*blocks: Block | str) -> Message:
    return Message(role="user", content=tuple(text(b) if isinstance(b, str) else b for b in blocks))


def assistant(*blocks: Block | str) -> Message:
    return Message(
        role="assistant", content=tuple(text(b) if isinstance(b, str) else b for b in blocks)
    )


def w(n: int, word: str = "x") -> str:
    """A text of ``n`` words."""
    return " ".join([word] * n)


def conversation(
    messages: Sequence[Message],
    *,
    usages: Sequence[Usage | None] | None = None,
    model: str = "claude-sonnet-4-5",
    fmt: str = "anthropic",
    hidden_prefix: bool = False,
    compactions: Sequence[RecordedCompaction] = (),
    system: Sequence[Block] = (),
    tools: Sequence[ToolDefinition] = (),
    max_tokens: int | None = None,
) -> Conversation:
    msgs = tuple(messages)
    requests = requests_from_messages(msgs)
    if usages is not None:
        requests = (
            tuple(dataclasses.replace(r, usage=u) for r, u in zip(requests, usages, strict=False))
            + requests[len(usages) :]
        )
    requests = tuple(dataclasses.replace(r, model=model, max_tokens=max_tokens) for r in requests)
    return Conversation(
        format=fmt,
        messages=msgs,
        requests=requests,
        model=model,
        system=tuple(system),
        tools=tuple(tools),
        compactions=tuple(compactions),
        hidden_prefix=hidden_prefix,
    )


def usage(prompt: int, output: int, *, read: int = 0, write: int = 0, **kw: object) -> Usage:
    """A usage whose whole prompt is ``prompt`` (split as uncached / writes / reads)."""
    return Usage(
        input_tokens=prompt - read - write,
        cache_creation_input_tokens=write,
        cache_read_input_tokens=read,
        output_tokens=output,
        **kw,  # type: ignore[arg-type]
    )
