"""Claude Code session JSONL: main chain, grouping, compaction, sub-agents, bad lines."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

import ctxviz.loading as loading
from ctxviz.budget import Limits
from ctxviz.errors import TranscriptError
from ctxviz.model import OtherBlock, TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock

SID = "sess-1"


def rec(kind: str, uuid: str | None, parent: str | None, **kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"type": kind, "sessionId": SID, "isSidechain": False}
    if uuid is not None:
        r["uuid"] = uuid
        r["parentUuid"] = parent
    r.update(kw)
    return r


def user(uuid: str, parent: str | None, content: Any, **kw: Any) -> dict[str, Any]:
    return rec("user", uuid, parent, message={"role": "user", "content": content}, **kw)


def asst(
    uuid: str,
    parent: str | None,
    mid: str,
    blocks: list[dict[str, Any]],
    *,
    out: int = 5,
    prompt: tuple[int, int, int] = (3, 100, 1000),
    model: str = "claude-sonnet-4-5-20250929",
    stop: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    usage = {
        "input_tokens": prompt[0],
        "cache_creation_input_tokens": prompt[1],
        "cache_read_input_tokens": prompt[2],
        "output_tokens": out,
    }
    msg = {
        "id": mid,
        "role": "assistant",
        "model": model,
        "content": blocks,
        "usage": usage,
        "stop_reason": stop,
    }
    return rec("assistant", uuid, parent, message=msg, **kw)


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def tool_use(i: str, name: str = "Bash", **inp: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": i, "name": name, "input": inp}


def result(i: str, content: str = "ok") -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": i, "content": content}


def jsonl(records: list[dict[str, Any] | str]) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def progress(uuid: str, parent: str) -> dict[str, Any]:
    return rec("progress", uuid, parent, data={"type": "hook_progress"}, toolUseID="t")


def session() -> list[dict[str, Any] | str]:
    """A prompt, a response written over three lines with two parallel calls (the second line
    hangs off a progress record), two results on separate records, and a final answer."""
    return [
        {"type": "permission-mode", "permissionMode": "default", "sessionId": SID},
        {"type": "file-history-snapshot", "messageId": "x", "snapshot": {}},
        user("u1", None, "list the files"),
        asst("a1", "u1", "m1", [{"type": "thinking", "thinking": "hmm", "signature": "s"}], out=2),
        asst("a2", "a1", "m1", [tool_use("t1", command="ls")], out=2),
        progress("p1", "a2"),
        asst("a3", "p1", "m1", [tool_use("t2", command="pwd")], out=40),
        user("r1", "a2", [result("t1", "a b")], sourceToolAssistantUUID="a2"),
        user("r2", "a3", [result("t2", "/")], sourceToolAssistantUUID="a3"),
        asst("a4", "r2", "m2", [text("two files")], out=7, prompt=(1, 50, 1100), stop="end_turn"),
        rec("system", "s1", "a4", subtype="turn_duration", durationMs=5),
    ]


def test_groups_lines_merges_results_and_finds_requests() -> None:
    conv = loading.loads(jsonl(session()))
    assert conv.format == "claude-code" and conv.hidden_prefix
    assert conv.warnings == []
    assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    thinking, call1, call2 = conv.messages[1].content
    assert isinstance(thinking, ThinkingBlock)
    assert (call1, call2) == (
        ToolUseBlock(id="t1", name="Bash", input={"command": "ls"}),
        ToolUseBlock(id="t2", name="Bash", input={"command": "pwd"}),
    )
    assert [b.tool_use_id for b in conv.messages[2].content if isinstance(b, ToolResultBlock)] == [
        "t1",
        "t2",
    ]
    r0, r1 = conv.requests
    assert (r0.prompt_start, r0.prompt_end, r0.response) == (0, 1, 1)
    assert (r1.prompt_start, r1.prompt_end, r1.response) == (0, 3, 3)
    assert r0.usage is not None and r0.usage.output_tokens == 40  # largest, never summed
    assert r0.usage.prompt_tokens == 1103
    assert r1.stop_reason == "end_turn" and r1.model == "claude-sonnet-4-5-20250929"
    assert conv.model == "claude-sonnet-4-5-20250929"
    assert conv.messages[1].source == "line 4"
    assert conv.title == "list the files"


def test_abandoned_branch_is_skipped_with_a_warning() -> None:
    records = [
        user("u1", None, "first try"),
        asst("a1", "u1", "m1", [text("answer one")]),
        user("u2", None, "edited prompt"),  # an edit: same parent as u1
        asst("a2", "u2", "m2", [text("answer two")]),
    ]
    conv = loading.loads(jsonl(records))
    assert [m.content for m in conv.messages] == [
        (TextBlock(text="edited prompt"),),
        (TextBlock(text="answer two"),),
    ]
    assert len(conv.requests) == 1
    assert conv.warnings == [
        "2 message records sit on abandoned branches (edits or retries) and are not in the main "
        "chain; skipped"
    ]


def test_compaction_is_recorded_and_history_kept() -> None:
    records = [
        user("u1", None, "do it"),
        asst("a1", "u1", "m1", [text("done")], prompt=(3, 0, 150_000)),
        rec(
            "system",
            "b1",
            None,
            subtype="compact_boundary",
            logicalParentUuid="a1",
            compactMetadata={"trigger": "auto", "preTokens": 167_000},
        ),
        user("s1", "b1", "This session is being continued… summary", isCompactSummary=True),
        user("u2", "s1", "go on"),
        asst("a2", "u2", "m2", [text("going")], prompt=(3, 0, 20_000)),
    ]
    conv = loading.loads(jsonl(records))
    assert conv.warnings == []
    (comp,) = conv.compactions
    assert (comp.kind, comp.trigger, comp.pre_tokens) == ("claude_code", "auto", 167_000)
    assert comp.request == 1 and comp.summary_message == 2
    summary = conv.messages[2]
    assert summary.is_compact_summary and summary.source == "line 4"
    assert conv.messages[3].content == (TextBlock(text="go on"),)  # not merged into the summary
    assert conv.requests[1].prompt_start == 2 and conv.requests[1].prompt_end == 4
    assert conv.requests[0].prompt_start == 0  # the file is append-only: everything stays


def test_synthetic_and_meta_and_unknown_blocks() -> None:
    records = [
        user("u1", None, "hi"),
        user("u2", "u1", "<command-name>/model</command-name>", isMeta=True),
        asst("a1", "u2", "m1", [text("No response requested.")], model="<synthetic>"),
        user("u3", "a1", "really"),
        asst("a2", "u3", "m2", [text("ok"), {"type": "fancy_new_block", "x": 1}]),
    ]
    conv = loading.loads(jsonl(records))
    assert conv.messages[0].content == (
        TextBlock(text="hi"),
        TextBlock(text="<command-name>/model</command-name>"),
    )
    assert conv.messages[1].role == "assistant"  # synthetic: kept as a message…
    assert [r.response for r in conv.requests] == [3]  # …but not a request
    assert conv.model == "claude-sonnet-4-5-20250929"
    assert conv.messages[3].content[1] == OtherBlock(
        type="fancy_new_block", raw={"type": "fancy_new_block", "x": 1}
    )


def test_unreadable_lines_are_skipped_one_warning_each() -> None:
    records = session()
    bad = '{"type": "user", "uuid": "zz" "parentUuid": null}'
    try:
        json.loads(bad)
    except json.JSONDecodeError as e:
        expected = f"line 3: not valid JSON ({e.msg} at column {e.colno}); skipped"
    records.insert(2, bad)
    records.insert(4, "[1, 2]")
    conv = loading.loads(jsonl(records))
    assert conv.warnings[:2] == [
        expected,
        "line 5: a JSONL record must be a JSON object, found an array; skipped",
    ]
    assert len(conv.requests) == 2


def test_orphan_result_and_unsigned_thinking_warn_with_their_line() -> None:
    records = [
        user("u1", None, "hi"),
        asst("a1", "u1", "m1", [{"type": "thinking", "thinking": "x"}, text("hello")]),
        user("r1", "a1", [result("nope")]),
        asst("a2", "r1", "m2", [text("bye")]),
    ]
    conv = loading.loads(jsonl(records))
    assert conv.warnings == [
        "line 2, message.content[0]: thinking block has no signature (the API would reject it "
        "if it were sent back)",
        "line 3, message.content[0]: tool_result for tool_use_id 'nope' matches no earlier "
        "tool_use; kept",
    ]
    assert isinstance(conv.messages[2].content[0], ToolResultBlock)  # kept


def test_result_of_a_call_on_an_unreadable_line_is_kept_not_called_abandoned() -> None:
    """A parallel call's result hangs off the chain; when the line holding the call is unreadable,
    the result answers nothing the file holds. It used to be dropped as an "abandoned branch"."""
    records = session()
    records[4] = '{"type": "assistant", "uuid": "a2", "parentUuid": "a1", "mess'  # holds t1
    conv = loading.loads(jsonl(records))
    results = [
        b.tool_use_id for m in conv.messages for b in m.content if isinstance(b, ToolResultBlock)
    ]
    assert results == ["t1", "t2"]
    assert not any("abandoned" in w for w in conv.warnings), conv.warnings
    assert any(
        w.startswith("line 8, message.content[0]: tool_result for tool_use_id 't1' matches no")
        for w in conv.warnings
    ), conv.warnings


def test_bad_records_are_skipped_and_named_with_their_line() -> None:
    # Each line of a session stands alone (one block of one message): a broken one is skipped
    # with a warning naming it, and the rest of the session still loads.
    records = [
        user("u1", None, "hi"),
        asst("a1", "u1", "m1", [{"text": "no type"}]),
        asst("a2", "a1", "m2", [text("ok")]),
    ]
    conv = loading.loads(jsonl(records))
    assert conv.warnings == [
        "line 2, message.content[0]: content block has no `type`; line skipped"
    ]
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    bot = rec("user", "u1", None, message={"role": "robot", "content": "x"})
    conv = loading.loads(jsonl([bot, user("u2", "u1", "hi"), asst("a1", "u2", "m1", [text("x")])]))
    assert conv.warnings == [
        "line 1, message.role: unknown role 'robot' (expected user or assistant); line skipped"
    ]
    with pytest.raises(TranscriptError, match="no user or assistant records"):
        loading.loads(jsonl([{"type": "summary", "summary": "x", "leafUuid": "y"}]), "claude-code")


def test_attachments_the_model_sees_become_user_text() -> None:
    records = [
        rec(
            "attachment",
            "h1",
            None,
            attachment={
                "type": "hook_additional_context",
                "hookName": "SessionStart",
                "content": ["be nice"],
            },
        ),
        user("u1", "h1", "hi"),
        rec(
            "attachment",
            "h2",
            "u1",
            attachment={"type": "hook_success", "hookEvent": "PostToolUse", "content": "busy"},
        ),
        asst("a1", "h2", "m1", [text("hello")]),
    ]
    conv = loading.loads(jsonl(records))
    first = conv.messages[0].content
    assert first == (
        TextBlock(
            text="<system-reminder>\nSessionStart hook additional context: be nice\n"
            "</system-reminder>"
        ),
        TextBlock(text="hi"),
    )
    assert conv.warnings == []


def write(path: Path, records: list[dict[str, Any] | str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(jsonl(records), encoding="utf-8")


def parent_with_task() -> list[dict[str, Any] | str]:
    return [
        user("u1", None, "research it"),
        asst("a1", "u1", "m1", [tool_use("task1", "Task", description="Look", prompt="Find X")]),
        user(
            "r1",
            "a1",
            [result("task1", "X is here")],
            toolUseResult={"agentId": "abc", "status": "completed"},
        ),
        asst("a2", "r1", "m2", [text("found")]),
    ]


def agent(agent_id: str, prompt: str) -> list[dict[str, Any] | str]:
    return [
        user("x1", None, prompt, isSidechain=True, agentId=agent_id),
        asst("x2", "x1", "mx", [text("X is here")], isSidechain=True, agentId=agent_id),
    ]


def test_subagents_folder_layout_21(tmp_path: Path) -> None:
    write(tmp_path / f"{SID}.jsonl", parent_with_task())
    sub = tmp_path / SID / "subagents"
    write(sub / "agent-abc.jsonl", agent("abc", "Find X"))
    (sub / "agent-abc.meta.json").write_text(
        json.dumps({"agentType": "Explore", "description": "Look"})
    )
    write(sub / "agent-zzz.jsonl", agent("zzz", "something unrelated"))
    conv = loading.load(tmp_path / f"{SID}.jsonl")
    linked, lost = sorted(conv.subagents, key=lambda s: s.parent_tool_use_id or "~")
    assert (linked.parent_tool_use_id, linked.agent_type, linked.description) == (
        "task1",
        "Explore",
        "Look",
    )
    assert lost.parent_tool_use_id is None
    assert conv.warnings == [
        f"{SID}/subagents/agent-zzz.jsonl: sub-agent not linked to a Task/Agent call of the parent "
        "(no agentId, prompt or description match)"
    ]
    # the folder itself loads the same way
    assert loading.load(tmp_path).subagents == conv.subagents


def test_subagents_flat_layout_20_by_session_and_prompt(tmp_path: Path) -> None:
    records = parent_with_task()
    records[2] = user("r1", "a1", [result("task1", "X is here")])  # no agentId: match the prompt
    write(tmp_path / f"{SID}.jsonl", records)
    write(tmp_path / "agent-abc.jsonl", agent("abc", "Find X"))
    other = agent("def", "Find X")
    for r in other:
        assert isinstance(r, dict)
        r["sessionId"] = "another-session"
    write(tmp_path / "agent-def.jsonl", other)
    conv = loading.load(tmp_path / f"{SID}.jsonl")
    (sub,) = conv.subagents
    assert sub.parent_tool_use_id == "task1" and sub.agent_type is None
    assert sub.description == "Look"
    assert conv.warnings == []


def zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


def test_zip_with_session_and_subagents() -> None:
    data = zip_bytes(
        {
            f"{SID}.jsonl": jsonl(parent_with_task()),
            f"{SID}/subagents/agent-abc.jsonl": jsonl(agent("abc", "Find X")),
            f"{SID}/subagents/agent-abc.meta.json": json.dumps({"agentType": "Plan"}),
        }
    )
    conv = loading.loads(data)
    (sub,) = conv.subagents
    assert (sub.parent_tool_use_id, sub.agent_type) == ("task1", "Plan")
    assert len(conv.requests) == 2


def test_unsafe_or_oversized_zips_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TranscriptError, match=r"^\.\./evil\.jsonl: unsafe path"):
        loading.loads(zip_bytes({"../evil.jsonl": "{}", "ok.jsonl": "{}"}))
    with pytest.raises(TranscriptError, match=r"^/etc/x\.jsonl: unsafe path"):
        loading.loads(zip_bytes({"/etc/x.jsonl": "{}"}))
    padded = zip_bytes({"s.jsonl": jsonl(parent_with_task()) + " " * 5000})
    with pytest.raises(TranscriptError, match=r"expands to [\d,]+ bytes \(at most 3,000"):
        loading.loads(padded, limits=Limits(max_bytes=3000))
    monkeypatch.setattr(loading, "MAX_ZIP_MEMBERS", 2)
    with pytest.raises(TranscriptError, match="holds 3 entries"):
        loading.loads(zip_bytes({"a": "1", "b": "2", "c": "3"}))


def test_a_problem_inside_a_zip_names_the_member() -> None:
    records = [user("u1", None, "hi"), asst("a1", "u1", "m1", [{"text": "x"}])]
    conv = loading.loads(zip_bytes({"s.jsonl": jsonl(records)}))
    assert [w.split(": ")[0] for w in conv.warnings] == ["s.jsonl, line 2, message.content[0]"]
    with pytest.raises(TranscriptError, match=r"^s\.jsonl, "):
        loading.loads(zip_bytes({"s.jsonl": jsonl([{"type": "summary", "summary": "x"}])}))


def test_boundary_without_logical_parent_continues_from_the_record_before() -> None:
    records = [
        user("u1", None, "do it"),
        asst("a1", "u1", "m1", [text("done")]),
        rec(
            "system", "b1", None, subtype="compact_boundary", compactMetadata={"trigger": "manual"}
        ),
        user("s1", "b1", "summary", isCompactSummary=True),
        asst("a2", "s1", "m2", [text("going")]),
    ]
    conv = loading.loads(jsonl(records))
    assert conv.warnings == []
    assert len(conv.messages) == 4 and len(conv.requests) == 2
    assert conv.compactions[0].summary_message == 2


def test_what_reading_a_session_does_not_use_is_not_held_for_the_whole_file(
    samples_dir: Path,
) -> None:
    """Every record's bookkeeping (``cwd``, ``gitBranch``, a progress record's ``data``…) is
    dropped as the record is read: on a real session whose records each carry 20 KB of it, the
    peak of reading stays far below what holding it all would take."""
    import tracemalloc

    from ctxviz.formats.claude_code import parse_session

    path = (
        samples_dir
        / "03_claude-code_ccl_thinking_v2.0.37/cb2e607c-c758-415a-8b45-c49e4631906a.jsonl"
    )
    padding = 20_000
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        obj["cwd"] = "c" * padding
        if obj.get("type") == "progress":
            obj["data"] = {"type": "hook_progress", "output": "d" * padding}
        lines.append(json.dumps(obj))
    plain = parse_session(path.read_text(encoding="utf-8"))
    tracemalloc.start()
    try:
        padded = parse_session(iter(lines))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert padded == plain
    held = len(lines) * padding
    assert peak < held / 4, f"{peak:,} bytes at peak for {held:,} bytes of unused fields"


def test_every_record_field_the_reader_reads_is_one_it_keeps() -> None:
    """A record keeps only ``_READ_FIELDS`` (and the three it trims) while the session is built:
    a field read from a record (``obj.get("x")``, ``obj["x"]``) that it does not keep would
    always read as missing."""
    import ast
    import inspect

    from ctxviz.formats import claude_code

    tree = ast.parse(inspect.getsource(claude_code))
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target, args = node.func.value, node.args
            named = node.func.attr == "get" and args and isinstance(args[0], ast.Constant)
            if isinstance(target, ast.Name) and target.id == "obj" and named:
                read.add(args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.value, ast.Name)
            and node.value.id == "obj"
        ):
            read.add(node.slice.value)
    kept = claude_code._READ_FIELDS | {"toolUseResult", "data", "parentToolUseID"}
    assert read and read <= kept, sorted(read - kept)
