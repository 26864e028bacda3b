"""claude.ai data export (``conversations.json``) → ``Conversation`` per conversation.

Each conversation is ``{uuid, name, created_at, chat_messages: [...]}``; a chat message has a
``sender`` (``human`` / ``assistant``), a ``text``, usually ``content`` blocks (text, thinking,
tool_use, tool_result — claude.ai runs its tools inside the assistant turn, so they are read as
server tool blocks), ``attachments`` with their ``extracted_content`` (sent as plain-text documents)
and ``files`` (not in the export: kept as "other" blocks of unknown size). The export has no usage.
When messages carry ``parent_message_uuid``, the branch shown last (``current_leaf_message_uuid``,
else the last message) is followed and edits/retries are skipped with a warning.
"""

from __future__ import annotations

from typing import Any

from ctxviz.formats._blocks import (
    Notes,
    at,
    fail,
    kind,
    need_dict,
    need_list,
    parse_block,
    str_or,
)
from ctxviz.model import (
    Block,
    Conversation,
    DocumentBlock,
    Message,
    OtherBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    requests_from_messages,
)

SENDERS = {"human": "user", "user": "user", "assistant": "assistant"}


def looks_like(value: object) -> bool:
    """An export: a conversation object or an array of them, each with ``chat_messages``."""
    if isinstance(value, dict):
        return "chat_messages" in value
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(c, dict) for c in value[:5])
        and any("chat_messages" in c for c in value[:5])
    )


def parse_export(
    value: object, *, where: str = "", source: str | None = None
) -> list[Conversation]:
    """Every conversation of an export, in file order."""
    items = (
        [value] if isinstance(value, dict) else need_list(value, where, "an array of conversations")
    )
    out: list[Conversation] = []
    for i, c in enumerate(items):
        here = where if isinstance(value, dict) else at(where, i)
        out.append(parse_conversation(c, here, source=source))
    return out


def _blocks(msg: dict[str, Any], here: str, notes: Notes, counter: list[int]) -> list[Block]:
    blocks: list[Block] = []
    content = msg.get("content")
    cw = at(here, "content")
    pending: dict[str, list[str]] = {}
    if isinstance(content, list) and content:
        for j, b in enumerate(content):
            bw = at(cw, j)
            if not isinstance(b, dict):
                fail(f"a content block must be an object, found {kind(b)}", bw)
            t = b.get("type")
            if not isinstance(t, str):
                fail("content block has no `type`", bw)
            if t == "text":
                text = b.get("text")
                if isinstance(text, str) and text:
                    blocks.append(TextBlock(text=text))
            elif t == "thinking":
                thinking = b.get("thinking")
                blocks.append(ThinkingBlock(thinking=thinking if isinstance(thinking, str) else ""))
            elif t == "tool_use":
                name = str_or(b.get("name"), "tool")
                tid = str_or(b.get("id"), "")
                if not tid:
                    counter[0] += 1
                    tid = f"claude-ai-tool-{counter[0]}"
                pending.setdefault(name, []).append(tid)
                blocks.append(ServerToolUseBlock(id=tid, name=name, input=b.get("input")))
            elif t == "tool_result":
                name = str_or(b.get("name"), "tool")
                tid = str_or(b.get("tool_use_id"), "")
                if not tid:
                    queue = pending.get(name) or []
                    tid = queue.pop(0) if queue else f"claude-ai-unmatched-{name}"
                blocks.append(
                    ServerToolResultBlock(
                        type="tool_result", tool_use_id=tid, content=b.get("content")
                    )
                )
            else:
                blocks.append(parse_block(b, cw, j, notes))
    else:
        text = msg.get("text")
        if text is not None and not isinstance(text, str):
            fail(f"`text` must be a string, found {kind(text)}", at(here, "text"))
        if text:
            blocks.append(TextBlock(text=text))
    attachments = msg.get("attachments")
    aws = at(here, "attachments")
    for k, a in enumerate(need_list(attachments, aws) if attachments is not None else []):
        aw = at(aws, k)
        a = need_dict(a, aw, "an attachment object")
        extracted = a.get("extracted_content")
        title = str_or(a.get("file_name"), "") or None
        if isinstance(extracted, str):
            blocks.append(
                DocumentBlock(
                    source={"type": "text", "media_type": "text/plain", "data": extracted},
                    title=title,
                )
            )
        else:
            blocks.append(OtherBlock(type="attachment", raw=a))
    files = msg.get("files")
    for f in need_list(files, at(here, "files")) if files is not None else []:
        blocks.append(OtherBlock(type="file", raw=f))
    return blocks


def _branch(msgs: list[Any], conv: dict[str, Any], notes: Notes, where: str) -> list[int]:
    """Indices of the messages on the branch shown last, when the export records branches."""
    ids = {
        m["uuid"]: i
        for i, m in enumerate(msgs)
        if isinstance(m, dict) and isinstance(m.get("uuid"), str)
    }
    if not msgs or not all(isinstance(m, dict) and "parent_message_uuid" in m for m in msgs):
        return list(range(len(msgs)))
    leaf = conv.get("current_leaf_message_uuid")
    i: int | None = ids.get(leaf) if isinstance(leaf, str) else None
    if i is None:
        i = len(msgs) - 1
    chain: list[int] = []
    seen: set[int] = set()
    while i is not None and i not in seen:
        seen.add(i)
        chain.append(i)
        parent = msgs[i].get("parent_message_uuid")
        i = ids.get(parent) if isinstance(parent, str) else None
    chain.reverse()
    skipped = len(msgs) - len(chain)
    if skipped:
        notes.warn(where, f"{skipped} messages on other branches (edits or retries) are skipped")
    return chain


def parse_conversation(c: object, where: str, *, source: str | None = None) -> Conversation:
    conv = need_dict(c, where, "a conversation object")
    notes = Notes()
    mw = at(where, "chat_messages")
    if "chat_messages" not in conv:
        fail("a conversation object without `chat_messages`: not a claude.ai export", where)
    msgs = need_list(conv["chat_messages"], mw, "`chat_messages` to be an array")
    messages: list[Message] = []
    counter = [0]
    for i in _branch(msgs, conv, notes, where):
        here = at(mw, i)
        m = need_dict(msgs[i], here, "a message object")
        sender = m.get("sender")
        role = SENDERS.get(sender) if isinstance(sender, str) else None
        if role is None:
            if sender is None:
                fail("message has no `sender`", here)
            fail(f"unknown sender {sender!r} (expected human or assistant)", at(here, "sender"))
        blocks = _blocks(m, here, notes, counter)
        messages.append(
            Message(
                role="user" if role == "user" else "assistant", content=tuple(blocks), source=here
            )
        )
    name = conv.get("name")
    model = conv.get("model")
    history = tuple(messages)
    return Conversation(
        format="claude-ai",
        messages=history,
        requests=requests_from_messages(history) if history else (),
        model=model if isinstance(model, str) else None,
        title=name if isinstance(name, str) and name else None,
        source=source,
        warnings=notes.finish(),
    )
