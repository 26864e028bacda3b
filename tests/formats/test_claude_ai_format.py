"""claude.ai data export: every conversation, selection, blocks, branches, zip."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

import ctxviz.loading as loading
from ctxviz.errors import TranscriptError
from ctxviz.model import (
    DocumentBlock,
    OtherBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
)


def msg(sender: str, text: str, **kw: Any) -> dict[str, Any]:
    return {
        "uuid": f"m-{text[:5]}",
        "sender": sender,
        "text": text,
        "content": [{"type": "text", "text": text}],
        **kw,
    }


EXPORT: list[dict[str, Any]] = [
    {"uuid": "c-empty", "name": "Nothing yet", "created_at": "2025-01-01", "chat_messages": []},
    {
        "uuid": "c-1",
        "name": "Trip planning",
        "created_at": "2025-01-02",
        "chat_messages": [
            msg(
                "human",
                "Plan a trip using this",
                attachments=[
                    {"file_name": "notes.txt", "file_size": 12, "extracted_content": "Rome, 3 days"}
                ],
                files=[{"file_name": "map.png"}],
            ),
            {
                "uuid": "m-2",
                "sender": "assistant",
                "text": "",
                "content": [
                    {"type": "thinking", "thinking": "Rome for three days…"},
                    {"type": "tool_use", "name": "web_search", "input": {"query": "Rome"}},
                    {
                        "type": "tool_result",
                        "name": "web_search",
                        "content": [{"type": "text", "text": "results"}],
                    },
                    {"type": "text", "text": "Day 1: Colosseum."},
                ],
            },
            msg("human", "Thanks"),
            msg("assistant", "You're welcome."),
        ],
    },
    {
        "uuid": "c-2",
        "name": "Poem",
        "chat_messages": [msg("human", "A haiku?"), msg("assistant", "Soft rain…")],
    },
]


def test_load_picks_the_first_with_messages_and_names_the_others() -> None:
    conv = loading.loads(json.dumps(EXPORT))
    assert conv.format == "claude-ai" and conv.title == "Trip planning"
    assert conv.warnings == [
        "this export holds 3 conversations; loaded 'Trip planning' (index 1); use load_all or "
        "conversation=<index, id or name> for another"
    ]
    user, assistant = conv.messages[0], conv.messages[1]
    assert user.content == (
        TextBlock(text="Plan a trip using this"),
        DocumentBlock(
            source={"type": "text", "media_type": "text/plain", "data": "Rome, 3 days"},
            title="notes.txt",
        ),
        OtherBlock(type="file", raw={"file_name": "map.png"}),
    )
    thinking, use, result, answer = assistant.content
    assert isinstance(thinking, ThinkingBlock) and thinking.signature is None
    assert isinstance(use, ServerToolUseBlock) and isinstance(result, ServerToolResultBlock)
    assert result.tool_use_id == use.id  # matched by name: the export has no ids
    assert answer == TextBlock(text="Day 1: Colosseum.")
    assert [r.response for r in conv.requests] == [1, 3]
    assert all(r.usage is None for r in conv.requests)


def test_selection_by_index_uuid_and_name(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(EXPORT))
    assert loading.load(path, conversation=2).title == "Poem"
    assert loading.load(path, conversation="c-2").title == "Poem"
    assert loading.load(path, conversation="Poem").title == "Poem"
    assert [c.title for c in loading.load_all(path)] == ["Nothing yet", "Trip planning", "Poem"]
    with pytest.raises(TranscriptError, match="no conversation with id or name 'Nope'"):
        loading.load(path, conversation="Nope")
    with pytest.raises(TranscriptError, match="conversation=7 is out of range"):
        loading.load(path, conversation=7)
    with pytest.raises(TranscriptError, match=r"conversation 0 \('Nothing yet'\) has no messages"):
        loading.load(path, conversation=0)


def test_export_zip() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("users.json", json.dumps([{"uuid": "u"}]))
        zf.writestr("conversations.json", json.dumps(EXPORT))
        zf.writestr("projects.json", "[]")
    convs = loading.loads_all(buf.getvalue())
    assert [c.title for c in convs] == ["Nothing yet", "Trip planning", "Poem"]
    assert loading.loads(buf.getvalue(), conversation="c-2").messages[1].content == (
        TextBlock(text="Soft rain…"),
    )


def test_branches_follow_the_current_leaf() -> None:
    conv_data = {
        "uuid": "c",
        "name": "Branchy",
        "current_leaf_message_uuid": "a2",
        "chat_messages": [
            {**msg("human", "q"), "uuid": "h1", "parent_message_uuid": "root"},
            {**msg("assistant", "first answer"), "uuid": "a1", "parent_message_uuid": "h1"},
            {**msg("assistant", "retried answer"), "uuid": "a2", "parent_message_uuid": "h1"},
        ],
    }
    conv = loading.loads(json.dumps(conv_data))
    assert [m.content for m in conv.messages] == [
        (TextBlock(text="q"),),
        (TextBlock(text="retried answer"),),
    ]
    assert conv.warnings == ["1 messages on other branches (edits or retries) are skipped"]


def test_errors_have_paths() -> None:
    bad = [{"uuid": "c", "name": "x", "chat_messages": [msg("human", "hi"), msg("robot", "beep")]}]
    with pytest.raises(
        TranscriptError, match=r"^\[0\]\.chat_messages\[1\]\.sender: unknown sender 'robot'"
    ):
        loading.loads(json.dumps(bad))
    bad = [{"uuid": "c", "chat_messages": [{"sender": "human", "content": [{"text": "no type"}]}]}]
    with pytest.raises(
        TranscriptError,
        match=r"^\[0\]\.chat_messages\[0\]\.content\[0\]: content block has no `type`",
    ):
        loading.loads(json.dumps(bad))
    with pytest.raises(TranscriptError, match=r"without `chat_messages`: not a claude.ai export"):
        loading.loads(json.dumps([{"role": "user", "content": "x"}]), format="claude-ai")
