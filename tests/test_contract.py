"""Contract checks written from docs/api.md and docs/semantics.md alone, as outsiders would.

Only the public names of ``import ctxviz`` are used; fixtures are the bundled samples and small
transcripts built here as JSON text. The ``#section`` anchors below are those pages' sections.
"""

from __future__ import annotations

import copy
import json
import lzma
from collections import OrderedDict
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

import ctxviz

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "sample_conversations"
SHARED_SAMPLES = REPO.parent / "shared" / "samples"
CC_SESSION = BUNDLED / "claude_code_session" / "f1136eba-094f-429e-960a-22ac5f6e9ec8.jsonl"

EVENT_TYPES = {
    "clear_tool_uses_20250919",
    "clear_thinking_20251015",
    "compact_20260112",
    "compaction_control",
    "recorded_compaction",
    "context_window_exceeded",
}
REQUEST_COLUMNS = {
    "request",
    "input_tokens",
    "original_input_tokens",
    "output_tokens",
    "thinking_tokens",
    "context_tokens",
    "source",
}
SONNET_45 = "claude-sonnet-4-5-20250929"
SYSTEM = "You are a careful coding agent. Read code before you change it and explain each change."
TOOLS = [
    {
        "name": "Read",
        "description": "Read a file from the workspace and return its content with line numbers.",
        "input_schema": {
            "type": "object",
            "properties": {"file_path": {"type": "string"}},
            "required": ["file_path"],
        },
    }
]


def shared_samples() -> Path:
    if not SHARED_SAMPLES.is_dir():
        pytest.skip(f"real samples absent: {SHARED_SAMPLES} (shared/samples beside the repo)")
    return SHARED_SAMPLES


def text(n: int, word: str = "ledger") -> str:
    """About n words of plain prose: enough for estimates to be well above rounding."""
    return " ".join(f"{word}{i % 97}" for i in range(n))


def usage(inp: int, cw: int = 0, cr: int = 0, out: int = 0, **extra) -> dict:
    return {
        "input_tokens": inp,
        "cache_creation_input_tokens": cw,
        "cache_read_input_tokens": cr,
        "output_tokens": out,
        **extra,
    }


def tool_loop_messages(n_tools: int, words: int = 400) -> list[dict]:
    """User question, then n_tools tool_use/tool_result rounds, then a final text answer."""
    msgs: list[dict] = [{"role": "user", "content": "Why does the nightly export drop rows?"}]
    for k in range(n_tools):
        msgs.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Reading file {k}."},
                    {
                        "type": "tool_use",
                        "id": f"toolu_{k:04d}",
                        "name": "Read",
                        "input": {"file_path": f"src/mod{k}.py"},
                    },
                ],
            }
        )
        msgs.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{k:04d}",
                        "content": text(words, f"m{k}x"),
                    }
                ],
            }
        )
    msgs.append(
        {"role": "assistant", "content": [{"type": "text", "text": "Found it: an off-by-one."}]}
    )
    return msgs


def recorded_log(msgs: list[dict], usages: list[dict], model: str = SONNET_45, **req) -> str:
    """An Anthropic JSONL call log: one {"request", "response"} per assistant message."""
    lines = []
    k = 0
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        stop = "tool_use" if any(b.get("type") == "tool_use" for b in m["content"]) else "end_turn"
        request = {"model": model, "max_tokens": 8192, "system": SYSTEM, "tools": TOOLS}
        request.update(req)
        request["messages"] = msgs[:i]
        response = {
            "id": f"msg_{k:04d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": m["content"],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usages[k],
        }
        lines.append(json.dumps({"request": request, "response": response}))
        k += 1
    assert k == len(usages)
    return "\n".join(lines) + "\n"


def events_of(sim, kind: str) -> pd.DataFrame:
    ev = sim.events
    if len(ev) == 0:
        return ev
    return ev[ev["type"] == kind]


def subagent_list(conv) -> list:
    subs = conv.subagents
    if isinstance(subs, dict):
        return list(subs.values())
    return list(subs)


def expected_claude_code_rows(path: Path, sidechain: bool = False) -> list[tuple[int, int]]:
    """(prompt, output) per response, from the file (docs/semantics.md#claude-code-sessions)."""
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict) or rec.get("type") != "assistant":
            continue
        if bool(rec.get("isSidechain")) != sidechain:
            continue
        msg = rec.get("message") or {}
        if msg.get("model") == "<synthetic>" or not msg.get("usage"):
            continue
        groups.setdefault(msg.get("id") or rec.get("uuid"), []).append(msg["usage"])
    rows = []
    for us in groups.values():
        u = us[-1]
        prompt = (
            u.get("input_tokens", 0)
            + u.get("cache_creation_input_tokens", 0)
            + u.get("cache_read_input_tokens", 0)
        )
        rows.append((prompt, max(x.get("output_tokens", 0) for x in us)))
    return rows


# ---------------------------------------------------------------------------------------------
# Public names (docs/api.md)


@pytest.mark.parametrize(
    "name", ["load", "loads", "load_all", "count_tokens", "simulate", "figures", "Simulation"]
)
def test_public_names(name):
    assert hasattr(ctxviz, name)


def test_transcript_error_is_value_error():
    assert issubclass(ctxviz.TranscriptError, ValueError)


# ---------------------------------------------------------------------------------------------
# Loading


@pytest.mark.parametrize(
    "name",
    [
        "request_body.json",
        "thinking_chat.jsonl",
        "interleaved_thinking_tools.json",
        "openai_tool_calls.jsonl",
        "agent_tool_loop.jsonl.xz",
        "claude_code_session/f1136eba-094f-429e-960a-22ac5f6e9ec8.jsonl",
    ],
)
def test_bundled_samples_load_from_str_and_pathlike(name):
    path = BUNDLED / name
    a = ctxviz.simulate(ctxviz.load(path)).requests
    b = ctxviz.simulate(ctxviz.load(str(path))).requests
    assert len(a) > 0
    assert a["input_tokens"].tolist() == b["input_tokens"].tolist()


def test_loads_accepts_str_and_bytes():
    data = (BUNDLED / "thinking_chat.jsonl").read_text(encoding="utf-8")
    a = ctxviz.simulate(ctxviz.loads(data)).requests
    b = ctxviz.simulate(ctxviz.loads(data.encode("utf-8"))).requests
    assert a["input_tokens"].tolist() == b["input_tokens"].tolist()


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("anthropic", "request_body.json"),
        ("anthropic", "thinking_chat.jsonl"),
        ("claude-code", "claude_code_session/f1136eba-094f-429e-960a-22ac5f6e9ec8.jsonl"),
        ("openai", "openai_tool_calls.jsonl"),
    ],
)
def test_forced_format_matches_detection(fmt, name):
    path = BUNDLED / name
    forced = ctxviz.simulate(ctxviz.load(path, format=fmt)).requests
    detected = ctxviz.simulate(ctxviz.load(path)).requests
    assert forced["input_tokens"].tolist() == detected["input_tokens"].tolist()


CLAUDE_AI_EXPORT = [
    {
        "uuid": "6a1f0c7e-0000-4000-8000-000000000001",
        "name": "Rate limiter",
        "created_at": "2025-10-01T10:00:00.000000Z",
        "updated_at": "2025-10-01T10:05:00.000000Z",
        "account": {"uuid": "6a1f0c7e-0000-4000-8000-0000000000aa"},
        "chat_messages": [
            {
                "uuid": f"6a1f0c7e-0000-4000-8000-00000000010{i}",
                "text": body,
                "content": [{"type": "text", "text": body}],
                "sender": sender,
                "created_at": f"2025-10-01T10:0{i}:00.000000Z",
                "updated_at": f"2025-10-01T10:0{i}:00.000000Z",
                "attachments": [],
                "files": [],
            }
            for i, (sender, body) in enumerate(
                [
                    ("human", "Token bucket or sliding window for 40 instances?"),
                    ("assistant", "Token bucket in Redis with a Lua script. " + text(80)),
                    ("human", "How do I handle Redis being down?"),
                    ("assistant", "Fail open with a local fallback limiter. " + text(60)),
                ]
            )
        ],
    }
]


def test_claude_ai_export_forced_and_detected():
    data = json.dumps(CLAUDE_AI_EXPORT)
    for conv in (ctxviz.loads(data, format="claude-ai"), ctxviz.loads(data)):
        req = ctxviz.simulate(conv).requests
        assert len(req) == 2  # one row per assistant response
        assert set(req["source"]) == {"estimated"}
        assert req["input_tokens"].iloc[1] > req["input_tokens"].iloc[0] > 0


def test_load_all_returns_every_conversation(tmp_path):
    other = dict(CLAUDE_AI_EXPORT[0], uuid="6a1f0c7e-0000-4000-8000-000000000002")
    two = [*CLAUDE_AI_EXPORT, other]
    p = tmp_path / "conversations.json"
    p.write_text(json.dumps(two), encoding="utf-8")
    convs = list(ctxviz.load_all(p))
    assert len(convs) == 2


def test_unknown_format_is_value_error():
    with pytest.raises(ValueError):
        ctxviz.load(BUNDLED / "request_body.json", format="gemini")


@pytest.mark.parametrize("data", ["", "   \n", "not json at all", "[1, 2, 3]", '{"foo": 1}'])
def test_unreadable_input_raises_transcript_error(data):
    with pytest.raises(ctxviz.TranscriptError):
        ctxviz.loads(data)


def test_json_error_names_json_path():
    msgs = tool_loop_messages(2, words=20)
    msgs[3]["content"].insert(1, 42)  # messages[3].content[1] is not a content block
    body = {"model": SONNET_45, "max_tokens": 1024, "messages": msgs[:4]}
    with pytest.raises(ctxviz.TranscriptError) as e:
        ctxviz.loads(json.dumps(body))
    assert "messages[3].content[1]" in str(e.value)


def _cc_line(**rec) -> str:
    base = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/dev/src/app",
        "sessionId": "0b5e4c5e-0000-4000-8000-000000000000",
        "version": "2.1.42",
        "gitBranch": "main",
        "timestamp": "2026-03-10T09:14:05.883Z",
    }
    base.update(rec)
    return json.dumps(base)


def cc_user(uid: str, content, **rec) -> str:
    return _cc_line(type="user", uuid=uid, message={"role": "user", "content": content}, **rec)


def cc_assistant(uid, msg_id, block, u, model="claude-opus-4-6", stop=None, **rec) -> str:
    return _cc_line(
        type="assistant",
        uuid=uid,
        requestId=f"req_{msg_id}",
        message={
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": u,
        },
        **rec,
    )


def claude_code_session(big_prompt: int = 30000, second_prompt: int | None = None) -> list[str]:
    """Two responses; the first split over three lines with placeholder output_tokens.

    Message records chain through ``parentUuid`` as Claude Code writes them.
    """
    second_prompt = second_prompt or big_prompt + 900
    u1 = usage(3, 5000, big_prompt - 5003, 1)
    u1_last = usage(3, 5000, big_prompt - 5003, 412)
    u2 = usage(1, 900, second_prompt - 901, 57)
    thinking = {"type": "thinking", "thinking": text(50), "signature": "c2ln"}
    read = {"type": "tool_use", "id": "toolu_A", "name": "Read", "input": {"file_path": "a.ts"}}
    result = [{"type": "tool_result", "tool_use_id": "toolu_A", "content": text(300)}]
    return [
        json.dumps({"type": "permission-mode", "permissionMode": "default", "sessionId": "x"}),
        json.dumps({"type": "file-history-snapshot", "messageId": "u1", "snapshot": {}}),
        cc_user("u1", "Move the webhooks onto the event bus."),
        _cc_line(type="progress", uuid="p1", parentUuid="u1", data={"type": "hook_progress"}),
        cc_assistant("a1", "msg_A", thinking, u1, parentUuid="u1"),
        cc_assistant("a2", "msg_A", {"type": "text", "text": "Reading it."}, u1, parentUuid="a1"),
        cc_assistant("a3", "msg_A", read, u1_last, stop="tool_use", parentUuid="a2"),
        json.dumps({"type": "queue-operation", "operation": "enqueue", "sessionId": "x"}),
        cc_user("u2", result, parentUuid="a3"),
        cc_assistant(
            "a4", "msg_B", {"type": "text", "text": "Done."}, u2, stop="end_turn", parentUuid="u2"
        ),
        _cc_line(type="system", subtype="turn_duration", uuid="s1", parentUuid="a4"),
        cc_user("u3", "<command-name>/exit</command-name>", parentUuid="s1"),
        cc_assistant(
            "a5",
            "msg_S",
            {"type": "text", "text": "No response requested."},
            usage(0, 0, 0, 0),
            model="<synthetic>",
            stop="stop_sequence",
            parentUuid="u3",
        ),
    ]


def test_jsonl_bad_lines_load_rest_with_one_warning_each():
    lines = claude_code_session()
    lines.insert(2, "{this is not json")  # line 3
    lines.insert(6, '{"type": "assistant", "message": ')  # line 7, truncated
    conv = ctxviz.loads("\n".join(lines) + "\n")
    assert isinstance(conv.warnings, list)
    assert all(isinstance(w, str) for w in conv.warnings)
    assert len(conv.warnings) == 2, conv.warnings
    assert any("line 3" in w for w in conv.warnings)
    assert any("line 7" in w for w in conv.warnings)
    assert len(ctxviz.simulate(conv).requests) == 2


def test_anthropic_jsonl_log_bad_line_names_line():
    log = recorded_log(tool_loop_messages(2, 50), [usage(10, 0, 0, 5)] * 3).splitlines()
    log.insert(1, "garbage")
    conv = ctxviz.loads("\n".join(log))
    assert len(conv.warnings) == 1 and "line 2" in conv.warnings[0]
    assert len(ctxviz.simulate(conv).requests) == 3


def test_jsonl_with_no_readable_line_is_error():
    with pytest.raises(ctxviz.TranscriptError) as e:
        ctxviz.loads("{bad\n{worse\n")
    assert "line 1" in str(e.value)


# ---------------------------------------------------------------------------------------------
# count_tokens (docs/api.md#counting, docs/semantics.md#counting-with-edits)


def body_of(msgs, model=SONNET_45, **extra) -> dict:
    return {"model": model, "system": SYSTEM, "tools": TOOLS, "messages": msgs, **extra}


def test_count_tokens_shape_and_determinism():
    body = json.loads((BUNDLED / "request_body.json").read_text(encoding="utf-8"))
    a = ctxviz.count_tokens(body)
    assert set(a) == {"input_tokens"}
    assert isinstance(a["input_tokens"], int) and a["input_tokens"] > 0
    assert ctxviz.count_tokens(copy.deepcopy(body)) == a


CLEAR_TOOLS = {
    "edits": [
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 5000},
            "keep": {"type": "tool_uses", "value": 1},
        }
    ]
}


def test_count_tokens_with_context_management_shape():
    body = json.loads((BUNDLED / "request_body.json").read_text(encoding="utf-8"))
    plain = ctxviz.count_tokens(body)
    r = ctxviz.count_tokens({**body, "context_management": CLEAR_TOOLS})
    assert set(r) == {"input_tokens", "context_management"}
    assert set(r["context_management"]) == {"original_input_tokens"}
    assert r["context_management"]["original_input_tokens"] == plain["input_tokens"]
    assert r["input_tokens"] < plain["input_tokens"]


def test_count_tokens_rejects_bad_config():
    body = json.loads((BUNDLED / "request_body.json").read_text(encoding="utf-8"))
    cm = {"edits": [{"type": "no_such_edit_20990101"}]}
    with pytest.raises(ValueError):
        ctxviz.count_tokens({**body, "context_management": cm})


def test_count_tokens_equals_simulate_for_every_prefix():
    """docs/api.md#counting: same prefix -> same number, to the token (transcript without usage)."""
    body = json.loads((BUNDLED / "request_body.json").read_text(encoding="utf-8"))
    sim = ctxviz.simulate(ctxviz.loads(json.dumps(body)))
    req = sim.requests
    starts = [i for i, m in enumerate(body["messages"]) if m["role"] == "assistant"]
    assert len(req) == len(starts) + 1  # + the request about to be sent (docs/semantics.md#rows)
    assert req["output_tokens"].iloc[-1] == 0
    assert set(req["source"]) == {"estimated"}
    prefixes = [body["messages"][:i] for i in starts] + [body["messages"]]
    for row, msgs in zip(req.itertuples(), prefixes, strict=True):
        assert row.input_tokens == ctxviz.count_tokens({**body, "messages": msgs})["input_tokens"]


def test_count_tokens_equals_simulate_with_context_management():
    body = json.loads((BUNDLED / "request_body.json").read_text(encoding="utf-8"))
    sim = ctxviz.simulate(ctxviz.loads(json.dumps(body)), context_management=CLEAR_TOOLS)
    last = sim.requests.iloc[-1]
    r = ctxviz.count_tokens({**body, "context_management": CLEAR_TOOLS})
    assert last["input_tokens"] == r["input_tokens"]
    assert last["original_input_tokens"] == r["context_management"]["original_input_tokens"]


# ---------------------------------------------------------------------------------------------
# simulate: rows


@pytest.mark.parametrize(
    "name",
    [
        "request_body.json",
        "thinking_chat.jsonl",
        "interleaved_thinking_tools.json",
        "openai_tool_calls.jsonl",
        "agent_tool_loop.jsonl.xz",
        "claude_code_session/f1136eba-094f-429e-960a-22ac5f6e9ec8.jsonl",
    ],
)
def test_request_columns_and_invariants(name):
    sim = ctxviz.simulate(ctxviz.load(BUNDLED / name))
    assert isinstance(sim, ctxviz.Simulation)
    req = sim.requests
    assert isinstance(req, pd.DataFrame)
    assert set(req.columns) >= REQUEST_COLUMNS
    assert req["request"].tolist() == list(range(len(req)))
    assert (req["context_tokens"] == req["input_tokens"] + req["output_tokens"]).all()
    assert (req["thinking_tokens"] <= req["output_tokens"]).all()
    assert (req["thinking_tokens"] >= 0).all()
    assert (req["original_input_tokens"] == req["input_tokens"]).all()  # nothing cleared
    assert set(req["source"]) <= {"recorded", "estimated"}
    assert {"request", "type"} <= set(sim.events.columns)
    assert set(sim.events["type"]) <= EVENT_TYPES
    assert isinstance(sim.warnings, list) and all(isinstance(w, str) for w in sim.warnings)
    for i in range(len(req)):
        assert sim.applied_edits(i) == []


def _log_pairs(name: str) -> list[dict]:
    raw = (BUNDLED / name).read_bytes()
    if name.endswith(".xz"):
        raw = lzma.decompress(raw)
    s = raw.decode("utf-8").strip()
    if s.startswith("["):
        return json.loads(s)
    return [json.loads(x) for x in s.splitlines() if x.strip()]


@pytest.mark.parametrize(
    "name", ["thinking_chat.jsonl", "interleaved_thinking_tools.json", "agent_tool_loop.jsonl.xz"]
)
def test_recorded_anthropic_usage_reproduced_to_the_token(name):
    pairs = _log_pairs(name)
    req = ctxviz.simulate(ctxviz.load(BUNDLED / name)).requests
    assert len(req) == len(pairs)
    for row, pair in zip(req.itertuples(), pairs, strict=True):
        u = pair["response"]["usage"]
        whole = u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
        assert row.input_tokens == whole
        assert row.output_tokens == u["output_tokens"]
        assert row.source == "recorded"


def test_recorded_openai_usage_reproduced():
    pairs = _log_pairs("openai_tool_calls.jsonl")
    req = ctxviz.simulate(ctxviz.load(BUNDLED / "openai_tool_calls.jsonl")).requests
    assert len(req) == len(pairs)
    for row, pair in zip(req.itertuples(), pairs, strict=True):
        u = pair["response"]["usage"]
        assert row.input_tokens == u["prompt_tokens"]  # includes cached_tokens
        assert row.output_tokens == u["completion_tokens"]
        assert row.source == "recorded"


def test_recorded_thinking_tokens_from_usage():
    msgs = [
        {"role": "user", "content": "Plan the migration."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": text(120), "signature": "c2ln"},
                {"type": "text", "text": "Plan: three steps."},
            ],
        },
    ]
    u = usage(2, 1500, 0, 900, output_tokens_details={"thinking_tokens": 700})
    log = recorded_log(msgs, [u], thinking={"type": "enabled", "budget_tokens": 4000})
    row = ctxviz.simulate(ctxviz.loads(log)).requests.iloc[0]
    assert row["input_tokens"] == 1502 and row["output_tokens"] == 900
    assert row["thinking_tokens"] == 700


# ---------------------------------------------------------------------------------------------
# Claude Code (docs/semantics.md#claude-code-sessions, #rows)


def test_claude_code_grouping_synthetic_and_bookkeeping():
    conv = ctxviz.loads("\n".join(claude_code_session()) + "\n")
    assert conv.warnings == []
    sim = ctxviz.simulate(conv)
    req = sim.requests
    assert len(req) == 2  # msg_A (3 lines) and msg_B; <synthetic> is not a request
    assert req["input_tokens"].tolist() == [30000, 30900]
    assert req["output_tokens"].tolist() == [412, 57]  # largest among the lines
    assert set(req["source"]) == {"recorded"}
    assert not any(
        k in w.lower()
        for w in sim.warnings
        for k in ("progress", "snapshot", "queue", "permission")
    )


def test_claude_code_200k_window_unless_1m_shown():
    # claude-opus-4-6 has a 1M window in the model table; a Claude Code session runs on 200K.
    lines = claude_code_session(150_000, 199_990)  # request 1: 199,990 + 57 > 200,000
    ev = events_of(ctxviz.simulate(ctxviz.loads("\n".join(lines))), "context_window_exceeded")
    assert len(ev) >= 1 and int(ev["request"].min()) == 1
    big = claude_code_session(210_000, 230_000)  # a prompt above 200K shows a 1M window
    ev = events_of(ctxviz.simulate(ctxviz.loads("\n".join(big))), "context_window_exceeded")
    assert len(ev) == 0


def test_claude_code_bundled_rows_and_subagents():
    conv = ctxviz.load(CC_SESSION)
    req = ctxviz.simulate(conv).requests
    exp = expected_claude_code_rows(CC_SESSION)
    assert list(zip(req["input_tokens"], req["output_tokens"], strict=True)) == exp
    subs = subagent_list(conv)
    assert len(subs) == 1
    sub_req = ctxviz.simulate(subs[0]).requests
    assert len(sub_req) > 0
    sub_file = next((CC_SESSION.parent / CC_SESSION.stem / "subagents").glob("agent-*.jsonl"))
    assert list(zip(sub_req["input_tokens"], sub_req["output_tokens"], strict=True)) == (
        expected_claude_code_rows(sub_file, sidechain=True)
    )


def test_claude_code_recorded_compaction_event():
    sim = ctxviz.simulate(ctxviz.load(CC_SESSION))
    ev = events_of(sim, "recorded_compaction")
    assert len(ev) == 1
    e = ev.iloc[0]
    assert e["tokens_before"] > e["tokens_after"] > 0
    assert e["tokens_after"] == sim.requests.loc[int(e["request"]), "input_tokens"]


@pytest.mark.parametrize(
    "sub",
    [
        "02_claude-code_spotter_manualcompact",
        "03_claude-code_ccl_thinking_v2.0.37",
        "04_claude-code_ccl_v2.1.114_subagents",
    ],
)
def test_real_claude_code_sessions(sub):
    folder = shared_samples() / sub
    main = next(p for p in folder.glob("*.jsonl") if not p.name.startswith("agent-"))
    conv = ctxviz.load(main)
    sim = ctxviz.simulate(conv)
    req = sim.requests
    assert list(zip(req["input_tokens"], req["output_tokens"], strict=True)) == (
        expected_claude_code_rows(main)
    )
    assert set(req["source"]) == {"recorded"}
    assert conv.warnings == []
    assert len(subagent_list(conv)) >= 1
    for s in subagent_list(conv):
        ctxviz.simulate(s)
    if sub.startswith("02"):
        ev = events_of(sim, "recorded_compaction")
        assert len(ev) == 1


# ---------------------------------------------------------------------------------------------
# Thinking (docs/semantics.md#thinking)


def thinking_turns(final_user: bool = True) -> list[dict]:
    msgs = []
    for k in range(3):
        msgs.append({"role": "user", "content": f"Question {k}: " + text(30, "q")})
        msgs.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": text(400, f"t{k}"), "signature": "c2ln"},
                    {"type": "text", "text": f"Answer {k}. " + text(40, "a")},
                ],
            }
        )
    if final_user:
        msgs.append({"role": "user", "content": "And the last question?"})
    return msgs


def strip_thinking(msgs: list[dict]) -> list[dict]:
    out = copy.deepcopy(msgs)
    for m in out:
        if isinstance(m["content"], list):
            m["content"] = [
                b for b in m["content"] if b.get("type") not in ("thinking", "redacted_thinking")
            ]
    return out


THINKING = {"type": "enabled", "budget_tokens": 8000}


def test_previous_turns_thinking_is_stripped():
    msgs = thinking_turns()
    with_t = ctxviz.count_tokens(body_of(msgs, thinking=THINKING))
    without = ctxviz.count_tokens(body_of(strip_thinking(msgs), thinking=THINKING))
    assert with_t == without
    sim = ctxviz.simulate(ctxviz.loads(json.dumps(body_of(msgs, thinking=THINKING))))
    assert sim.requests["input_tokens"].iloc[-1] == with_t["input_tokens"]


def test_thinking_preserved_by_default_on_opus_45():
    msgs = thinking_turns()
    opus = "claude-opus-4-5-20251101"
    with_t = ctxviz.count_tokens(body_of(msgs, model=opus, thinking=THINKING))
    without = ctxviz.count_tokens(body_of(strip_thinking(msgs), model=opus, thinking=THINKING))
    assert with_t["input_tokens"] > without["input_tokens"] + 300
    conv = ctxviz.loads(json.dumps(body_of(msgs, model=SONNET_45, thinking=THINKING)))
    a = ctxviz.simulate(conv).requests["input_tokens"].iloc[-1]
    b = ctxviz.simulate(conv, model=opus).requests["input_tokens"].iloc[-1]
    assert b > a + 300


def test_tool_loop_keeps_current_turn_thinking():
    loop = [
        {"role": "user", "content": "Find the bug."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": text(400, "tl"), "signature": "c2ln"},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "a"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x = 1"}],
        },
    ]
    kept = ctxviz.count_tokens(body_of(loop, thinking=THINKING))["input_tokens"]
    bare = ctxviz.count_tokens(body_of(strip_thinking(loop), thinking=THINKING))["input_tokens"]
    assert kept > bare + 300
    # once a genuine user message starts a new turn, that thinking is stripped
    later = [
        *loop,
        {"role": "assistant", "content": [{"type": "text", "text": "Fixed: x must be 2."}]},
        {"role": "user", "content": "Thanks. Now write a test."},
    ]
    a = ctxviz.count_tokens(body_of(later, thinking=THINKING))
    b = ctxviz.count_tokens(body_of(strip_thinking(later), thinking=THINKING))
    assert a == b


def test_clear_thinking_keep_all_and_default_equivalence():
    msgs = thinking_turns()
    base = body_of(msgs, thinking=THINKING)
    default = ctxviz.count_tokens(base)["input_tokens"]
    keep1 = {
        "edits": [
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 1}}
        ]
    }
    keep_all = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    assert ctxviz.count_tokens({**base, "context_management": keep1})["input_tokens"] == default
    assert (
        ctxviz.count_tokens({**base, "context_management": keep_all})["input_tokens"]
        > default + 300
    )


# ---------------------------------------------------------------------------------------------
# Configurations the API rejects (docs/api.md#simulating, docs/semantics.md#order-of-the-edits)


@pytest.fixture(scope="module")
def thinking_conv():
    return ctxviz.loads(json.dumps(body_of(thinking_turns(), thinking=THINKING)))


@pytest.fixture(scope="module")
def plain_conv():
    return ctxviz.loads(json.dumps(body_of(tool_loop_messages(3, 50)[:-1])))


@pytest.mark.parametrize(
    "cm",
    [
        {
            "edits": [
                {"type": "clear_tool_uses_20250919"},
                {"type": "clear_thinking_20251015", "keep": "all"},
            ]
        },
        {
            "edits": [
                {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 0}}
            ]
        },
        {
            "edits": [
                {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 49_999}}
            ]
        },
        {"edits": [{"type": "compact_20260112", "trigger": {"type": "tool_uses", "value": 5}}]},
        {"edits": [{"type": "clear_everything_20990101"}]},
    ],
    ids=["thinking-not-first", "keep-0", "compact-below-50k", "compact-trigger-type", "unknown"],
)
def test_rejected_configurations(thinking_conv, cm):
    with pytest.raises(ValueError):
        ctxviz.simulate(thinking_conv, context_management=cm)


def test_compact_trigger_50k_is_accepted(thinking_conv):
    cm = {
        "edits": [
            {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50_000}}
        ]
    }
    ctxviz.simulate(thinking_conv, context_management=cm, model="claude-opus-4-6")


def test_clear_thinking_without_thinking_rejected(plain_conv):
    cm = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    with pytest.raises(ValueError):
        ctxviz.simulate(plain_conv, context_management=cm)


# ---------------------------------------------------------------------------------------------
# Context editing what-ifs: applied_edits and events (docs/semantics.md#context-editing, #events)


def test_clear_tool_uses_applied_edits_and_event():
    conv = ctxviz.load(BUNDLED / "request_body.json")
    sim = ctxviz.simulate(conv, context_management=CLEAR_TOOLS)
    req = sim.requests
    last = len(req) - 1
    applied = sim.applied_edits(last)
    assert len(applied) == 1
    e = applied[0]
    assert set(e) == {"type", "cleared_tool_uses", "cleared_input_tokens"}
    assert e["type"] == "clear_tool_uses_20250919"
    assert e["cleared_tool_uses"] == 5  # six tool uses, keep 1
    row = req.iloc[last]
    assert row["original_input_tokens"] - row["input_tokens"] == e["cleared_input_tokens"]
    ev = events_of(sim, "clear_tool_uses_20250919")
    ev = ev[ev["request"] == last]
    assert len(ev) == 1
    ev = ev.iloc[0]
    assert ev["cleared_tool_uses"] == 5
    assert ev["cleared_input_tokens"] == e["cleared_input_tokens"]
    assert ev["tokens_before"] == row["original_input_tokens"]
    assert ev["tokens_after"] == row["input_tokens"]
    for i in range(len(req)):
        for a in sim.applied_edits(i):
            assert set(a) == {"type", "cleared_tool_uses", "cleared_input_tokens"}


def test_clear_thinking_applied_edits_shape(thinking_conv):
    cm = {
        "edits": [
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 1}}
        ]
    }
    opus = "claude-opus-4-5-20251101"  # preserves thinking by default, so keep 1 clears something
    sim = ctxviz.simulate(thinking_conv, context_management=cm, model=opus)
    last = len(sim.requests) - 1
    applied = sim.applied_edits(last)
    assert len(applied) == 1
    assert set(applied[0]) == {"type", "cleared_thinking_turns", "cleared_input_tokens"}
    assert applied[0]["type"] == "clear_thinking_20251015"
    # At the request after a new user message every earlier turn is "previous": keep 1 is the
    # default (docs/semantics.md#clear_thinking): earlier turns' thinking goes, all three cleared.
    assert applied[0]["cleared_thinking_turns"] == 3
    row = sim.requests.iloc[last]
    assert row["original_input_tokens"] - row["input_tokens"] == applied[0]["cleared_input_tokens"]


# ---------------------------------------------------------------------------------------------
# Compaction what-ifs (docs/semantics.md#compact_20260112, #client-side-compaction)

# four requests; whole prompts 20,003 / 30,001 / 45,001 / 50,001; totals with output:
# 20,503 / 30,401 / 45,601 / 50,301
LOOP_USAGES = [
    usage(3, 20000, 0, 500),
    usage(1, 10000, 20000, 400),
    usage(1, 15000, 30000, 600),
    usage(1, 5000, 45000, 300),
]


def loop_log(model: str = "claude-sonnet-4-6") -> str:
    return recorded_log(tool_loop_messages(3, 300), LOOP_USAGES, model=model)


def cc(threshold: int) -> dict:
    return {"enabled": True, "context_token_threshold": threshold}


def test_compaction_control_fires_at_threshold_inclusive():
    conv = ctxviz.loads(loop_log())
    sim = ctxviz.simulate(conv, compaction_control=cc(45_601), summary_tokens=2000)
    ev = events_of(sim, "compaction_control")
    assert len(ev) >= 1
    e = ev.iloc[0]
    assert int(e["request"]) == 2
    assert e["tokens_before"] == 45_601  # input + cache writes + cache reads + output
    req = sim.requests
    # the crossing response is discarded and re-issued: one more row, the summary is not a row
    assert len(req) == 5
    assert req["request"].tolist() == list(range(5))
    assert req.loc[:2, "input_tokens"].tolist() == [20003, 30001, 45001]
    nxt = req.iloc[3]
    assert e["tokens_after"] == nxt["input_tokens"]
    assert nxt["input_tokens"] < 45_001
    assert nxt["output_tokens"] == 600  # the same response, re-issued


def test_compaction_control_not_fired_below_threshold():
    sim = ctxviz.simulate(ctxviz.loads(loop_log()), compaction_control=cc(45_602))
    ev = events_of(sim, "compaction_control")
    assert len(ev) == 0 or int(ev.iloc[0]["request"]) == 3
    assert sim.requests.loc[:3, "input_tokens"].tolist() == [20003, 30001, 45001, 50001]


def test_compaction_control_disabled_does_nothing():
    sim = ctxviz.simulate(
        ctxviz.loads(loop_log()),
        compaction_control={"enabled": False, "context_token_threshold": 10_000},
    )
    assert len(events_of(sim, "compaction_control")) == 0
    assert len(sim.requests) == 4


def test_summary_tokens_sets_the_summary_size():
    conv = ctxviz.loads(loop_log())
    a = ctxviz.simulate(conv, compaction_control=cc(45_601), summary_tokens=2000)
    b = ctxviz.simulate(conv, compaction_control=cc(45_601), summary_tokens=5000)
    ea = events_of(a, "compaction_control").iloc[0]
    eb = events_of(b, "compaction_control").iloc[0]
    assert eb["tokens_after"] - ea["tokens_after"] == 3000
    # the default is a documented constant: deterministic and positive
    d1 = ctxviz.simulate(conv, compaction_control=cc(45_601))
    d2 = ctxviz.simulate(conv, compaction_control=cc(45_601))
    assert d1.requests["input_tokens"].tolist() == d2.requests["input_tokens"].tolist()


def compact_cm(value: int) -> dict:
    return {
        "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": value}}]
    }


def test_server_compaction_inside_crossing_request():
    sim = ctxviz.simulate(
        ctxviz.loads(loop_log()), context_management=compact_cm(50_000), summary_tokens=2000
    )
    req = sim.requests
    assert len(req) == 4  # not an extra request
    ev = events_of(sim, "compact_20260112")
    assert len(ev) == 1
    e = ev.iloc[0]
    assert int(e["request"]) == 3
    assert e["tokens_before"] == 50_001
    assert e["tokens_after"] == req.iloc[3]["input_tokens"] < 50_001
    for i in range(4):
        assert all(a.get("type") != "compact_20260112" for a in sim.applied_edits(i))


def test_server_compaction_unsupported_model_is_warning_not_error():
    conv = ctxviz.loads(loop_log(model=SONNET_45))
    sim = ctxviz.simulate(conv, context_management=compact_cm(50_000))
    assert len(events_of(sim, "compact_20260112")) == 1
    assert any("compact" in w.lower() for w in sim.warnings)
    ok = ctxviz.simulate(ctxviz.loads(loop_log()), context_management=compact_cm(50_000))
    assert not any("compact_20260112" in w for w in ok.warnings)


# ---------------------------------------------------------------------------------------------
# Window limit (docs/semantics.md#windows-and-limits)


def test_context_window_exceeded_first_request_and_replay_goes_on():
    us = [
        usage(3, 150_000, 0, 10_000),
        usage(1, 45_000, 150_000, 8_000),
        usage(1, 500, 195_000, 50),
    ]
    log = recorded_log(tool_loop_messages(2, 50), us)
    sim = ctxviz.simulate(ctxviz.loads(log))
    assert len(sim.requests) == 3  # replay continues, flagged
    ev = events_of(sim, "context_window_exceeded")
    assert len(ev) >= 1 and int(ev["request"].min()) == 1  # 195,001 + 8,000 > 200,000
    small = ctxviz.simulate(ctxviz.loads(log), context_window=100_000)
    ev = events_of(small, "context_window_exceeded")
    assert int(ev["request"].min()) == 0


def test_context_window_not_exceeded_when_exactly_full():
    us = [usage(0, 190_000, 0, 10_000)]
    log = recorded_log(tool_loop_messages(0, 0), us)
    sim = ctxviz.simulate(ctxviz.loads(log))
    assert sim.requests.iloc[0]["context_tokens"] == 200_000
    assert len(events_of(sim, "context_window_exceeded")) == 0


# ---------------------------------------------------------------------------------------------
# Figures (docs/api.md#figures-and-notebooks)


def test_figures_take_a_simulation_and_return_plotly():
    sim = ctxviz.simulate(ctxviz.load(BUNDLED / "thinking_chat.jsonl"))
    produced = 0
    for name in dir(ctxviz.figures):
        f = getattr(ctxviz.figures, name)
        if name.startswith("_") or not callable(f) or isinstance(f, type):
            continue
        if not getattr(f, "__module__", "").startswith(ctxviz.figures.__name__):
            continue
        try:
            out = f(sim)
        except Exception:  # other signatures (a request index, a mapping of simulations)
            continue
        if isinstance(out, go.Figure):
            produced += 1
    assert produced >= 1


# ---------------------------------------------------------------------------------------------
# More checks against the bundled agent log (recorded usage, 26 requests, prompt up to ~117K)


def agent_totals() -> tuple[list[int], list[int]]:
    prompts, totals = [], []
    for pair in _log_pairs("agent_tool_loop.jsonl.xz"):
        u = pair["response"]["usage"]
        p = u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
        prompts.append(p)
        totals.append(p + u["output_tokens"])
    return prompts, totals


@pytest.fixture(scope="module")
def agent_conv():
    return ctxviz.load(BUNDLED / "agent_tool_loop.jsonl.xz")


@pytest.mark.parametrize("threshold", [None, 60_000, 100_000])
def test_compaction_control_on_agent_log(agent_conv, threshold):
    prompts, totals = agent_totals()
    control = {"enabled": True}
    if threshold is not None:
        control["context_token_threshold"] = threshold
    limit = threshold or 100_000  # SDK default
    first = next(i for i, t in enumerate(totals) if t >= limit)
    sim = ctxviz.simulate(agent_conv, compaction_control=control)
    ev = events_of(sim, "compaction_control")
    assert len(ev) >= 1
    e = ev.sort_values("request").iloc[0]
    assert int(e["request"]) == first
    assert e["tokens_before"] == totals[first]
    req = sim.requests
    assert req.loc[:first, "input_tokens"].tolist() == prompts[: first + 1]
    assert e["tokens_after"] == req.iloc[first + 1]["input_tokens"]
    assert req.iloc[first + 1]["source"] == "estimated"


def test_server_compaction_on_agent_log(agent_conv):
    prompts, _ = agent_totals()
    first = next(i for i, p in enumerate(prompts) if p > 100_000)
    sim = ctxviz.simulate(agent_conv, context_management=compact_cm(100_000))
    assert len(sim.requests) == len(prompts)
    e = events_of(sim, "compact_20260112").sort_values("request").iloc[0]
    assert int(e["request"]) == first
    assert e["tokens_before"] == prompts[first]
    assert e["tokens_after"] == sim.requests.iloc[first]["input_tokens"] < prompts[first]


def test_clear_tool_uses_default_trigger_on_agent_log(agent_conv):
    prompts, _ = agent_totals()
    assert 100_000 not in prompts  # keep away from the boundary
    first = next(i for i, p in enumerate(prompts) if p > 100_000)
    cm = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    sim = ctxviz.simulate(agent_conv, context_management=cm)
    req = sim.requests
    for i in range(first):
        assert sim.applied_edits(i) == []
        assert req.iloc[i]["input_tokens"] == prompts[i]
    applied = sim.applied_edits(first)
    assert [a["type"] for a in applied] == ["clear_tool_uses_20250919"]
    assert req.iloc[first]["original_input_tokens"] == prompts[first]
    assert req.iloc[first]["input_tokens"] == prompts[first] - applied[0]["cleared_input_tokens"]


def _body():
    return json.loads((BUNDLED / "request_body.json").read_text(encoding="utf-8"))


def _clear(**opts) -> dict:
    return {"edits": [{"type": "clear_tool_uses_20250919", **opts}]}


def test_clear_at_least_not_met_means_not_applied():
    body = _body()
    cm = _clear(
        trigger={"type": "input_tokens", "value": 5000},
        keep={"type": "tool_uses", "value": 1},
        clear_at_least={"type": "input_tokens", "value": 10_000_000},
    )
    r = ctxviz.count_tokens({**body, "context_management": cm})
    assert r["input_tokens"] == r["context_management"]["original_input_tokens"]
    sim = ctxviz.simulate(ctxviz.loads(json.dumps(body)), context_management=cm)
    assert sim.applied_edits(len(sim.requests) - 1) == []


def test_clear_tool_uses_trigger_by_tool_uses_and_untriggered():
    body = _body()
    by_uses = _clear(
        trigger={"type": "tool_uses", "value": 3}, keep={"type": "tool_uses", "value": 1}
    )
    sim = ctxviz.simulate(ctxviz.loads(json.dumps(body)), context_management=by_uses)
    applied = sim.applied_edits(len(sim.requests) - 1)
    assert applied and applied[0]["cleared_tool_uses"] == 5
    high = _clear(trigger={"type": "input_tokens", "value": 10_000_000})
    r = ctxviz.count_tokens({**body, "context_management": high})
    assert r["input_tokens"] == r["context_management"]["original_input_tokens"]


def test_clear_tool_inputs_clears_more():
    body = _body()
    base = {
        "trigger": {"type": "input_tokens", "value": 5000},
        "keep": {"type": "tool_uses", "value": 1},
    }
    a = ctxviz.count_tokens({**body, "context_management": _clear(**base)})
    b = ctxviz.count_tokens({**body, "context_management": _clear(**base, clear_tool_inputs=True)})
    assert b["input_tokens"] < a["input_tokens"]


def test_thinking_first_then_tools_is_valid(thinking_conv):
    cm = {
        "edits": [
            {"type": "clear_thinking_20251015", "keep": "all"},
            {"type": "clear_tool_uses_20250919"},
        ]
    }
    ctxviz.simulate(thinking_conv, context_management=cm)


def test_model_override_changes_window():
    us = [
        usage(3, 150_000, 0, 10_000),
        usage(1, 45_000, 150_000, 8_000),
        usage(1, 500, 195_000, 50),
    ]
    log = recorded_log(tool_loop_messages(2, 50), us)
    sim = ctxviz.simulate(ctxviz.loads(log), model="claude-opus-4-6")  # 1M window
    assert len(events_of(sim, "context_window_exceeded")) == 0


def test_compaction_control_fires_on_final_end_turn_response():
    sim = ctxviz.simulate(ctxviz.loads(loop_log()), compaction_control=cc(50_301))
    ev = events_of(sim, "compaction_control")
    assert len(ev) == 1 and int(ev.iloc[0]["request"]) == 3
    assert ev.iloc[0]["tokens_before"] == 50_301


def test_jsonl_non_object_lines_are_reported():
    lines = claude_code_session()
    lines.insert(3, "42")  # line 4: valid JSON, not a record
    conv = ctxviz.loads("\n".join(lines))
    assert len(conv.warnings) == 1 and "line 4" in conv.warnings[0]
    assert len(ctxviz.simulate(conv).requests) == 2


def test_json_log_list_error_names_path():
    pairs = [
        json.loads(x) for x in recorded_log(tool_loop_messages(1, 20), [usage(5)] * 2).splitlines()
    ]
    pairs[1]["request"]["messages"][0]["content"] = 7
    with pytest.raises(ctxviz.TranscriptError) as e:
        ctxviz.loads(json.dumps(pairs))
    assert "[1]" in str(e.value) and "messages[0]" in str(e.value)


def test_real_manual_compaction_sample():
    main = next((shared_samples() / "02_claude-code_spotter_manualcompact").glob("*.jsonl"))
    sim = ctxviz.simulate(ctxviz.load(main))
    e = events_of(sim, "recorded_compaction").iloc[0]
    assert e["tokens_after"] == 45_263  # first prompt after (SOURCES.txt)
    assert e["tokens_before"] in (141_787, 142_431)  # last prompt before, or preTokens


def test_rejected_up_front_when_input_plus_max_tokens_exceeds():
    # docs/semantics.md#windows-and-limits: pre-4.5 refuse input + max_tokens > window; 4.5+ accept.
    for model, flagged in (("claude-opus-4-1-20250805", True), (SONNET_45, False)):
        log = recorded_log(tool_loop_messages(0, 0), [usage(3, 175_000, 0, 10)], model=model)
        log = log.replace('"max_tokens": 8192', '"max_tokens": 32000')
        ev = events_of(ctxviz.simulate(ctxviz.loads(log)), "context_window_exceeded")
        assert (len(ev) > 0) == flagged, model


def test_claude_code_1m_model_name_shows_1m_window():
    lines = claude_code_session(150_000, 199_990)
    lines = [x.replace('"claude-opus-4-6"', '"claude-opus-4-6[1m]"') for x in lines]
    sim = ctxviz.simulate(ctxviz.loads("\n".join(lines)))
    assert len(events_of(sim, "context_window_exceeded")) == 0


def _cassette_log(path: Path) -> tuple[str, list[dict]]:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pairs = [
        {"request": it["request"]["parsed_body"], "response": it["response"]["parsed_body"]}
        for it in data["interactions"]
        if it["request"].get("parsed_body")
    ]
    return "\n".join(json.dumps(p) for p in pairs), pairs


def test_real_anthropic_cassettes_recorded_and_server_compaction():
    folder = shared_samples() / "05_anthropic-messages-api_pydantic-ai"
    for path in sorted(folder.glob("*.yaml")):
        log, pairs = _cassette_log(path)
        sim = ctxviz.simulate(ctxviz.loads(log))
        req = sim.requests
        assert len(req) == len(pairs), path.name
        for row, pair in zip(req.itertuples(), pairs, strict=True):
            u = pair["response"]["usage"]
            whole = (
                u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
            )
            assert (row.input_tokens, row.output_tokens) == (whole, u["output_tokens"])
            assert row.source == "recorded"
        if "compaction" in path.name:
            # the compaction happened inside request 0: its row is the call that saw the summary
            ev = events_of(sim, "recorded_compaction")
            assert ev["request"].tolist() == [0], path.name
            iters = pairs[0]["response"]["usage"]["iterations"]
            it = next(it for it in iters if it["type"] == "compaction")
            seen = (
                it["input_tokens"]
                + it["cache_creation_input_tokens"]
                + it["cache_read_input_tokens"]
            )
            assert ev.iloc[0]["tokens_before"] == seen
            assert ev.iloc[0]["tokens_after"] == req.iloc[0]["input_tokens"]


def test_real_openai_cassettes_recorded():
    folder = shared_samples() / "06_openai-chat-completions_pydantic-ai"
    for path in sorted(folder.glob("*.yaml")):
        log, pairs = _cassette_log(path)
        req = ctxviz.simulate(ctxviz.loads(log)).requests
        assert len(req) == len(pairs), path.name
        for row, pair in zip(req.itertuples(), pairs, strict=True):
            u = pair["response"]["usage"]
            assert (row.input_tokens, row.output_tokens) == (
                u["prompt_tokens"],
                u["completion_tokens"],
            )


def test_jsonl_structurally_bad_line_names_its_line():
    # docs/api.md#loading allows either: an error naming the line, or the line skipped, warned.
    lines = claude_code_session()
    rec = json.loads(lines[9])  # line 10: the second response
    rec["message"]["content"] = 5
    lines[9] = json.dumps(rec)
    try:
        conv = ctxviz.loads("\n".join(lines))
    except ctxviz.TranscriptError as e:
        assert "line 10" in str(e)
    else:
        assert any("line 10" in w for w in conv.warnings)
