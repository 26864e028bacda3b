"""Shared reading helpers: typed access to parsed JSON that knows where it is, content blocks,
and the warnings a loader collects.

Every loader parses defensively through these helpers so that a malformed field becomes a
``TranscriptError`` naming the field (``messages[3].content[1]``, ``line 17, message.content``)
instead of a ``KeyError`` or ``TypeError`` escaping.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ctxviz.budget import charge_blocks
from ctxviz.errors import TOO_DEEP as TOO_DEEP  # for the loaders
from ctxviz.errors import TranscriptError, json_value
from ctxviz.model import (
    Block,
    CompactionBlock,
    DocumentBlock,
    ImageBlock,
    Iteration,
    Message,
    OtherBlock,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)

# ---- locations ---------------------------------------------------------------------------------


def at(where: str, key: str | int) -> str:
    """The location of ``key`` inside ``where``: ``messages`` + 3 → ``messages[3]``.

    A location ending in a comma is a line prefix (``line 5,``): its first key follows a space.
    """
    if isinstance(key, int):
        return f"{where}[{key}]"
    if not where:
        return key
    if where.endswith(","):
        return f"{where} {key}"
    return f"{where}.{key}"


def place(where: str) -> str:
    """A location as shown to the user (a bare line prefix loses its trailing comma)."""
    return where.rstrip(",")


def fail(problem: str, where: str) -> NoReturn:
    raise TranscriptError(problem, place(where))


def kind(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def need_dict(value: object, where: str, what: str = "an object") -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(f"expected {what}, found {kind(value)}", where)
    return value


def need_list(value: object, where: str, what: str = "an array") -> list[Any]:
    if not isinstance(value, list):
        fail(f"expected {what}, found {kind(value)}", where)
    return value


def need_str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        if value is None:
            fail(f"`{key}` is missing", at(where, key))
        fail(f"`{key}` must be a string, found {kind(value)}", at(where, key))
    return value


def opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    fail(f"`{key}` must be a string, found {kind(value)}", at(where, key))


MAX_COUNT = 10**12
"""The largest token count a transcript may record: a thousand times any context window, and
small enough that sums over millions of requests stay within 64-bit integers."""


def opt_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    """A non-negative integer field up to MAX_COUNT, or None when absent (integral floats are
    accepted)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    if isinstance(value, float) and value.is_integer() and 0 <= value <= MAX_COUNT:
        return int(value)
    fail(
        f"`{key}` must be a non-negative integer up to {MAX_COUNT:,}, found {_show(value)}",
        at(where, key),
    )


def str_or(value: object, default: str) -> str:
    """``value`` if it is a string, else ``default`` (for lenient fields)."""
    return value if isinstance(value, str) else default


def dict_or_empty(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _show(value: object) -> str:
    text = repr(value)
    return f"{kind(value)} {text[:40]}{'…' if len(text) > 40 else ''}"


# ---- JSON Lines --------------------------------------------------------------------------------


def read_record(line: str, n: int, notes: Notes) -> dict[str, Any] | None:
    """Line ``n`` of JSON Lines as an object, or None with a warning naming the line."""
    try:
        obj = json_value(line)
    except json.JSONDecodeError as e:
        notes.warn(f"line {n}", f"not valid JSON ({e.msg} at column {e.colno}); skipped")
        return None
    except ValueError as e:  # nested too deeply, an integer too long to convert
        notes.warn(f"line {n}", f"not valid JSON ({e}); skipped")
        return None
    if not isinstance(obj, dict):
        notes.warn(f"line {n}", f"a JSONL record must be a JSON object, found {kind(obj)}; skipped")
        return None
    return obj


# ---- warnings ----------------------------------------------------------------------------------


class Notes:
    """Warnings collected while reading: one sentence each, with its place.

    ``group`` gathers many occurrences of the same remark into one warning (first place and
    count) so that, say, 500 unsigned thinking blocks do not drown the rest.
    """

    def __init__(self) -> None:
        self._items: list[tuple[str, str] | str] = []
        self._groups: dict[str, list[str]] = {}

    def warn(self, where: str, text: str) -> None:
        self._items.append(f"{place(where)}: {text}" if where else text)

    def group(self, where: str, text: str) -> None:
        places = self._groups.get(text)
        if places is None:
            self._groups[text] = [place(where)]
            self._items.append(("group", text))
        else:
            places.append(place(where))

    def finish(self) -> list[str]:
        out: list[str] = []
        for item in self._items:
            if isinstance(item, str):
                out.append(item)
                continue
            text = item[1]
            places = self._groups[text]
            if len(places) == 1:
                out.append(f"{places[0]}: {text}")
            else:
                out.append(f"{places[0]} and {len(places) - 1} more: {text}")
        return out


UNSIGNED = "thinking block has no signature (the API would reject it if it were sent back)"


# ---- blocks ------------------------------------------------------------------------------------

SERVER_TOOL_USES = frozenset({"server_tool_use", "mcp_tool_use"})


def parse_content(value: object, where: str, notes: Notes) -> tuple[Block, ...]:
    """A message's ``content``: a string or an array of blocks (an empty string is no block)."""
    if isinstance(value, str):
        return (TextBlock(text=value),) if value else ()
    if isinstance(value, list):
        charge_blocks(len(value))
        return tuple(parse_block(item, where, i, notes) for i, item in enumerate(value))
    if value is None:
        fail("`content` is missing", where)
    fail(f"`content` must be a string or an array of blocks, found {kind(value)}", where)


def parse_block(obj: object, where: str, index: int, notes: Notes) -> Block:
    """One content block of the Messages API; unknown types are kept whole as ``OtherBlock``."""
    if not isinstance(obj, dict):
        fail(f"a content block must be an object, found {kind(obj)}", at(where, index))
    t = obj.get("type")
    if not isinstance(t, str):
        here = at(where, index)
        if t is None:
            fail("content block has no `type`", here)
        fail(f"content block `type` must be a string, found {kind(t)}", here)
    match t:
        case "text":
            text = obj.get("text")
            if not isinstance(text, str):
                fail(f"text block needs a string `text`, found {kind(text)}", at(where, index))
            return TextBlock(text=text)
        case "thinking":
            here = at(where, index)
            thinking = obj.get("thinking")
            if not isinstance(thinking, str):
                fail(f"thinking block needs a string `thinking`, found {kind(thinking)}", here)
            return ThinkingBlock(
                thinking=thinking, signature=opt_str(obj, "signature", here) or None
            )
        case "redacted_thinking":
            data = obj.get("data")
            if not isinstance(data, str):
                fail(
                    f"redacted_thinking needs a string `data`, found {kind(data)}", at(where, index)
                )
            return RedactedThinkingBlock(data=data)
        case "tool_use":
            here = at(where, index)
            return ToolUseBlock(
                id=need_str(obj, "id", here),
                name=need_str(obj, "name", here),
                input=obj.get("input"),
            )
        case "tool_result":
            here = at(where, index)
            tool_use_id = need_str(obj, "tool_use_id", here)
            raw = obj.get("content")
            content: str | tuple[Block, ...]
            if raw is None:
                content = ""
            elif isinstance(raw, str):
                content = raw
            elif isinstance(raw, list):
                inner = at(here, "content")
                charge_blocks(len(raw))
                content = tuple(parse_block(item, inner, j, notes) for j, item in enumerate(raw))
            else:
                fail(f"tool_result `content` must be a string or an array, found {kind(raw)}", here)
            is_error = obj.get("is_error")
            return ToolResultBlock(
                tool_use_id=tool_use_id, content=content, is_error=is_error is True
            )
        case "image":
            return ImageBlock(source=obj.get("source"))
        case "document":
            title = obj.get("title")
            return DocumentBlock(
                source=obj.get("source"), title=title if isinstance(title, str) else None
            )
        case "compaction":
            content_text = obj.get("content")
            if content_text is not None and not isinstance(content_text, str):
                fail(
                    f"compaction `content` must be a string, found {kind(content_text)}",
                    at(where, index),
                )
            return CompactionBlock(content=content_text or "")
        case _ if t in SERVER_TOOL_USES:
            here = at(where, index)
            return ServerToolUseBlock(
                id=need_str(obj, "id", here),
                name=need_str(obj, "name", here),
                input=obj.get("input"),
            )
        case _ if t.endswith("_tool_result") and isinstance(obj.get("tool_use_id"), str):
            return ServerToolResultBlock(
                type=t, tool_use_id=obj["tool_use_id"], content=obj.get("content")
            )
        case _:
            return OtherBlock(type=t, raw=obj)


# ---- usage -------------------------------------------------------------------------------------


def parse_usage(obj: object, where: str) -> Usage:
    """A Messages API ``usage`` object, with the API's field names and every field it carried."""
    d = need_dict(obj, where, "a usage object")
    input_tokens = opt_int(d, "input_tokens", where)
    if input_tokens is None:
        fail("usage has no `input_tokens`", where)
    e5m = e1h = None
    cache = d.get("cache_creation")
    if cache is not None:
        cw = at(where, "cache_creation")
        cache = need_dict(cache, cw)
        e5m = opt_int(cache, "ephemeral_5m_input_tokens", cw)
        e1h = opt_int(cache, "ephemeral_1h_input_tokens", cw)
    thinking_tokens = None
    details = d.get("output_tokens_details")
    if details is not None:
        dw = at(where, "output_tokens_details")
        thinking_tokens = opt_int(need_dict(details, dw), "thinking_tokens", dw)
    server: dict[str, int] | None = None
    stu = d.get("server_tool_use")
    if stu is not None:
        sw = at(where, "server_tool_use")
        server = {k: v for k in need_dict(stu, sw) if (v := opt_int(stu, k, sw)) is not None}
    iterations: list[Iteration] = []
    its = d.get("iterations")
    if its is not None:
        iw = at(where, "iterations")
        for i, it in enumerate(need_list(its, iw)):
            here = at(iw, i)
            it = need_dict(it, here)
            it_input = opt_int(it, "input_tokens", here)
            iterations.append(
                Iteration(
                    type=opt_str(it, "type", here) or "message",
                    input_tokens=it_input or 0,
                    cache_creation_input_tokens=opt_int(it, "cache_creation_input_tokens", here)
                    or 0,
                    cache_read_input_tokens=opt_int(it, "cache_read_input_tokens", here) or 0,
                    output_tokens=opt_int(it, "output_tokens", here) or 0,
                    model=opt_str(it, "model", here),
                )
            )
    tier = d.get("service_tier")
    return Usage(
        input_tokens=input_tokens,
        cache_creation_input_tokens=opt_int(d, "cache_creation_input_tokens", where) or 0,
        cache_read_input_tokens=opt_int(d, "cache_read_input_tokens", where) or 0,
        output_tokens=opt_int(d, "output_tokens", where) or 0,
        ephemeral_5m_input_tokens=e5m,
        ephemeral_1h_input_tokens=e1h,
        thinking_tokens=thinking_tokens,
        server_tool_use=server,
        iterations=tuple(iterations),
        service_tier=tier if isinstance(tier, str) else None,
    )


# ---- whole-history checks ----------------------------------------------------------------------


def check_messages(
    messages: Sequence[Message],
    notes: Notes,
    locate: Callable[[int, int], str] | None = None,
    *,
    signatures: bool = True,
) -> None:
    """Whole-history checks, run once on the final history (a log repeats its messages):
    a ``tool_result`` whose ``tool_use_id`` matches no earlier ``tool_use`` (kept, with a warning)
    and, when ``signatures``, assistant thinking blocks without a signature."""
    seen: set[str] = set()
    for i, m in enumerate(messages):
        for j, b in enumerate(m.content):
            if isinstance(b, ToolUseBlock):
                seen.add(b.id)
            elif isinstance(b, ToolResultBlock) and b.tool_use_id not in seen:
                notes.warn(
                    locate(i, j) if locate else f"{m.source}.content[{j}]",
                    f"tool_result for tool_use_id {b.tool_use_id!r} matches no earlier tool_use; "
                    "kept",
                )
            elif signatures and isinstance(b, ThinkingBlock) and b.signature is None:
                notes.group(locate(i, j) if locate else f"{m.source}.content[{j}]", UNSIGNED)


def first_text(blocks: Sequence[Block]) -> str:
    """The text of the first text block (or a tool result's text), for titles and matching."""
    for b in blocks:
        if isinstance(b, TextBlock) and b.text.strip():
            return b.text
    return ""
