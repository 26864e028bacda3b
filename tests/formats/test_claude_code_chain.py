"""Claude Code main chain: never lost to a missing logical parent or to line order; preserved
segments, microcompact and newer bookkeeping records read without warnings."""

from __future__ import annotations

import io
import json
import random
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import ctxviz.loading as loading
from ctxviz.model import Conversation, TextBlock, ToolResultBlock

S02 = "02_claude-code_spotter_manualcompact/ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"
S03 = "03_claude-code_ccl_thinking_v2.0.37/cb2e607c-c758-415a-8b45-c49e4631906a.jsonl"
S04 = "04_claude-code_ccl_v2.1.114_subagents/ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"


def lines_of(samples_dir: Path, name: str) -> list[str]:
    return (samples_dir / name).read_text(encoding="utf-8").splitlines()


def read(lines: list[str]) -> Conversation:
    return loading.loads("\n".join(lines) + "\n", "claude-code")


def shape(conv: Conversation) -> tuple[Any, ...]:
    """What must not depend on line order: the history, every request with its usage, and each
    compaction's place (sources name lines, which move)."""
    return (
        [(m.role, m.content, m.is_compact_summary) for m in conv.messages],
        [(r.prompt_start, r.prompt_end, r.response, r.usage, r.model) for r in conv.requests],
        [(c.request, c.summary_message, c.trigger, c.pre_tokens) for c in conv.compactions],
    )


def without_logical_parent(lines: list[str]) -> list[str]:
    """The session with the record its compact boundary names as logical parent deleted, as
    Claude Code sometimes leaves it (the boundary then names a record never written)."""
    records = [json.loads(line) for line in lines]
    (boundary,) = [r for r in records if r.get("subtype") == "compact_boundary"]
    gone = boundary["logicalParentUuid"]
    return [line for line, r in zip(lines, records, strict=True) if r.get("uuid") != gone]


@pytest.mark.parametrize("name", [S02, S03, S04])
@pytest.mark.parametrize("how", ["reversed", "shuffled"])
def test_line_order_does_not_change_the_conversation(
    samples_dir: Path, name: str, how: str
) -> None:
    lines = lines_of(samples_dir, name)
    original = read(lines)
    moved = lines[::-1] if how == "reversed" else random.Random(7).sample(lines, len(lines))
    conv = read(moved)
    assert shape(conv) == shape(original)
    assert len(conv.requests) == {S02: 217, S03: 80, S04: 17}[name]
    assert conv.warnings == original.warnings == []


def test_boundary_whose_logical_parent_was_never_written_keeps_the_history(
    samples_dir: Path,
) -> None:
    original = read(lines_of(samples_dir, S02))
    conv = read(without_logical_parent(lines_of(samples_dir, S02)))
    assert len(conv.requests) == 217
    assert shape(conv) == shape(original)
    assert conv.compactions[0].request == 138 == original.compactions[0].request
    (warning,) = conv.warnings
    assert "was never written" in warning
    assert "line 1480" in warning and "line 1473" in warning
    assert "abandoned" not in warning


def test_missing_logical_parent_and_shuffled_lines(samples_dir: Path) -> None:
    original = read(lines_of(samples_dir, S02))
    lines = without_logical_parent(lines_of(samples_dir, S02))
    conv = read(random.Random(3).sample(lines, len(lines)))
    assert shape(conv) == shape(original)
    assert len(conv.warnings) == 1


def test_compact_metadata_post_tokens_duration_and_boundary_place(samples_dir: Path) -> None:
    lines = []
    for line in lines_of(samples_dir, S02):
        r = json.loads(line)
        if r.get("subtype") == "compact_boundary":
            r["compactMetadata"].update(postTokens=19_380, durationMs=48_211)
            line = json.dumps(r)
        lines.append(line)
    (c,) = read(lines).compactions
    assert (c.pre_tokens, c.post_tokens, c.duration_ms) == (142_431, 19_380, 48_211)
    assert c.boundary_source == "line 1481"
    assert c.preserved_messages is None


# ---- constructed sessions ----------------------------------------------------------------------


def rec(kind: str, uuid: str, parent: str | None, ts: int, **kw: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "uuid": uuid,
        "parentUuid": parent,
        "sessionId": "s",
        "isSidechain": False,
        "timestamp": f"2026-05-01T10:{ts // 60:02d}:{ts % 60:02d}.000Z",
        **kw,
    }


def user(uuid: str, parent: str | None, ts: int, content: Any, **kw: Any) -> dict[str, Any]:
    return rec("user", uuid, parent, ts, message={"role": "user", "content": content}, **kw)


def asst(uuid: str, parent: str, ts: int, mid: str, content: list[Any], prompt: int) -> Any:
    usage = {"input_tokens": prompt, "output_tokens": 10}
    msg = {"id": mid, "role": "assistant", "model": "claude-opus-4-6", "content": content}
    return rec("assistant", uuid, parent, ts, message={**msg, "usage": usage})


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def call(i: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": i, "name": "Read", "input": {"file_path": i}}


def result(i: str, content: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": i, "content": content}


def preserved_session(anchor: str = "sum") -> list[dict[str, Any]]:
    """Two turns, then a compaction that keeps the second turn verbatim after the summary
    (``preservedSegment``): on disk, the kept messages are the ones written before the boundary,
    and the next prompt's record hangs off the segment's tail."""
    meta = {
        "trigger": "auto",
        "preTokens": 170_000,
        "postTokens": 30_000,
        "durationMs": 41_000,
        "preservedSegment": {"headUuid": "u2", "anchorUuid": anchor, "tailUuid": "a2"},
    }
    return [
        user("u1", None, 1, "first"),
        asst("a1", "u1", 2, "m1", [text("one")], 100),
        user("u2", "a1", 3, "second"),
        asst("a2", "u2", 4, "m2", [text("two")], 200),
        rec("system", "b", None, 5, subtype="compact_boundary", logicalParentUuid="a2")
        | {"compactMetadata": meta},
        user("sum", "b", 5, "summary of it all", isCompactSummary=True),
        user("u3", "a2", 6, "third"),
        asst("a3", "u3", 7, "m3", [text("three")], 300),
    ]


@pytest.mark.parametrize("anchor", ["sum", "b", "never-written"])
def test_preserved_segment_is_copied_after_the_summary_in_any_line_order(anchor: str) -> None:
    records = preserved_session(anchor)
    conv = read([json.dumps(r) for r in records])
    texts = ["".join(b.text for b in m.content if isinstance(b, TextBlock)) for m in conv.messages]
    before = ["first", "one", "second", "two"]
    after = ["summary of it all", "second", "two", "third", "three"]
    assert texts == before + after
    assert [(r.prompt_start, r.prompt_end) for r in conv.requests] == [(0, 1), (0, 3), (4, 8)]
    (c,) = conv.compactions
    assert (c.request, c.summary_message, c.preserved_messages) == (2, 4, (5, 7))
    assert (c.post_tokens, c.duration_ms) == (30_000, 41_000)
    assert conv.warnings == []
    backwards = read([json.dumps(r) for r in reversed(records)])
    assert shape(backwards) == shape(conv)
    assert [replace(c, boundary_source=None) for c in backwards.compactions] == [
        replace(c, boundary_source=None) for c in conv.compactions
    ]


def test_real_side_branch_still_warned_with_its_count() -> None:
    records = [
        user("u1", None, 1, "first"),
        asst("a1", "u1", 2, "m1", [text("one")], 100),
        user("x1", "a1", 3, "a prompt the user edited"),
        asst("x2", "x1", 4, "mx", [text("abandoned")], 150),
        user("u2", "a1", 5, "the edited prompt"),
        asst("a2", "u2", 6, "m2", [text("two")], 160),
    ]
    for order in (records, records[::-1]):
        conv = read([json.dumps(r) for r in order])
        assert [r.usage.input_tokens for r in conv.requests if r.usage] == [100, 160]
        (warning,) = conv.warnings
        assert warning.startswith("2 message records sit on abandoned branches")


def test_microcompact_boundary_and_cleared_results_are_events() -> None:
    micro = {
        "trigger": "auto",
        "preTokens": 90_000,
        "tokensSaved": 20_000,
        "compactedToolIds": ["t1"],
        "clearedAttachmentUUIDs": [],
    }
    records = [
        user("u1", None, 1, "read both"),
        asst("a1", "u1", 2, "m1", [call("t1"), call("t2")], 100),
        user(
            "r1",
            "a1",
            3,
            [result("t1", "long file"), result("t2", "[Old tool result content cleared]")],
        ),
        asst("a2", "r1", 4, "m2", [text("read")], 200),
        user("u2", "a2", 5, "go on"),
        rec("system", "mc", "u2", 6, subtype="microcompact_boundary", microcompactMetadata=micro),
        asst("a3", "mc", 7, "m3", [text("done")], 150),
    ]
    conv = read([json.dumps(r) for r in records])
    assert [(m.request, m.tool_use_ids) for m in conv.microcompactions] == [
        (1, ("t2",)),
        (2, ("t1",)),
    ]
    assert conv.microcompactions[1].source == "line 6"
    assert conv.warnings == []
    blocks = [b for m in conv.messages for b in m.content if isinstance(b, ToolResultBlock)]
    assert [b.tool_use_id for b in blocks] == ["t1", "t2"]


def test_agent_name_custom_title_and_token_reminder_read_without_warnings() -> None:
    reminder = {
        "type": "total_tokens_reminder",
        "text": "<total_tokens>150000 tokens left</total_tokens>",
    }
    records = [
        {"type": "custom-title", "customTitle": "old name", "sessionId": "s"},
        {"type": "ai-title", "aiTitle": "Claude Code's own title", "sessionId": "s"},
        {"type": "agent-name", "agentName": "reviewer", "sessionId": "s"},
        user("u1", None, 1, "hello"),
        rec("attachment", "at", "u1", 2, attachment=reminder),
        asst("a1", "at", 3, "m1", [text("hi")], 100),
        {"type": "custom-title", "customTitle": "new name", "sessionId": "s"},
    ]
    conv = read([json.dumps(r) for r in records])
    assert (conv.title, conv.agent_name) == ("new name", "reviewer")
    assert conv.warnings == []
    untitled = [r for r in records if r.get("type") != "custom-title"]
    assert read([json.dumps(r) for r in untitled]).title == "Claude Code's own title"
    (prompt,) = [m for m in conv.messages if m.role == "user"]
    sent = "".join(b.text for b in prompt.content if isinstance(b, TextBlock))
    assert "<total_tokens>150000 tokens left</total_tokens>" in sent
    assert '{"text"' not in sent


# ---- a resumed session ------------------------------------------------------------------------


def split_as_resumed(samples_dir: Path) -> tuple[list[str], list[str]]:
    """Sample 04 cut at its second prompt into two sessions, as ``claude --resume`` leaves them:
    the second file has its own session id, and its first record's parent is in the first."""
    lines = lines_of(samples_dir, S04)
    cut = 116  # line 117: the second prompt, whose parent is the first session's last answer
    assert json.loads(lines[cut])["message"]["content"].startswith("Well, the subagents")
    second = []
    for line in lines[cut:]:
        r = json.loads(line)
        r["sessionId"] = "0e0e0e0e-0000-4000-8000-000000000002"
        second.append(json.dumps(r))
    return lines[:cut], second


def test_resumed_session_alone_says_what_to_load(samples_dir: Path) -> None:
    _, second = split_as_resumed(samples_dir)
    conv = read(second)
    assert len(conv.requests) < 17
    assert any("put the session it resumes beside it" in w for w in conv.warnings)


@pytest.mark.parametrize("container", ["folder", "zip", "beside"])
def test_resumed_session_is_joined_with_the_session_it_resumes(
    samples_dir: Path, tmp_path: Path, container: str
) -> None:
    original = read(lines_of(samples_dir, S04))
    first, second = split_as_resumed(samples_dir)
    files = {
        "ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl": "\n".join(first) + "\n",
        "0e0e0e0e-0000-4000-8000-000000000002.jsonl": "\n".join(reversed(second)) + "\n",
    }
    if container != "zip":
        for name, body in files.items():
            (tmp_path / name).write_text(body, encoding="utf-8")
        # the sub-agents started in the first session, in its folder
        shutil.copytree((samples_dir / S04).with_suffix(""), tmp_path / Path(S04).stem)
        if container == "folder":
            convs = loading.load_all(tmp_path)
        else:
            (tmp_path / "notes.jsonl").write_bytes(b"\xff not text\n")  # passed over
            child = tmp_path / "0e0e0e0e-0000-4000-8000-000000000002.jsonl"
            convs = loading.load_all(child)
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, body in files.items():
                zf.writestr(f"project/{name}", body)
        convs = loading.loads_all(buf.getvalue())
    (conv,) = convs
    assert shape(conv) == shape(original)
    assert len(conv.requests) == 17
    assert conv.warnings == []
    assert len(conv.subagents) == (0 if container == "zip" else 6)
    if container != "zip":
        assert all(s.parent_tool_use_id for s in conv.subagents)
    # the resumed session's lines are named with their file
    assert conv.messages[0].source.startswith("line 3 of ")
    assert conv.messages[0].source.endswith("ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl")
    assert conv.messages[-1].source == "line 3"  # reversed: the last record is on line 3
