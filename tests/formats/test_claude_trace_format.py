"""claude-trace captures: JSONL ``{request, response}`` records of Claude Code's traffic, streamed
responses in ``response.body_raw`` as server-sent events, several conversations interleaved.

The capture below is built here (not recorded traffic): Claude Code's shapes as claude-trace writes
them — a HEAD probe, a quota call, count_tokens, telemetry, a main conversation streamed with
thinking and tool calls, a sub-agent with its own system prompt and tools, a title side call, and
an orphaned request (no response).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import ctxviz
import ctxviz.loading as loading
from ctxviz.errors import TranscriptError
from ctxviz.formats import normalize_format
from ctxviz.model import TextBlock, ThinkingBlock, ToolUseBlock
from ctxviz.tokens import prompt_frame_tokens

API = "https://api.anthropic.com"
MAIN_SYSTEM = [
    {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
    {"type": "text", "text": "Long instructions " * 50, "cache_control": {"type": "ephemeral"}},
]
MAIN_TOOLS = [
    {"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}},
    {"name": "Task", "description": "Start a sub-agent", "input_schema": {"type": "object"}},
]
AGENT_SYSTEM = [{"type": "text", "text": "You are a search agent."}]
AGENT_TOOLS = [{"name": "Grep", "description": "Search", "input_schema": {"type": "object"}}]


def sse(*events: dict[str, Any]) -> str:
    """Server-sent events as the API streams them (with a ping in the middle)."""
    out = []
    for i, e in enumerate(events):
        out.append(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n")
        if i == 0:
            out.append('event: ping\ndata: {"type": "ping"}\n\n')
    return "".join(out)


def stream(
    model: str,
    blocks: list[dict[str, Any]],
    *,
    start_usage: dict[str, int],
    output_tokens: int,
    stop: str,
    cumulative: bool = False,
) -> str:
    """A streamed response: ``blocks`` are (start block, deltas) as the API sends them."""
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_x",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "usage": {**start_usage, "output_tokens": 1},
            },
        }
    ]
    for i, b in enumerate(blocks):
        events.append({"type": "content_block_start", "index": i, "content_block": b["start"]})
        for d in b["deltas"]:
            events.append({"type": "content_block_delta", "index": i, "delta": d})
        events.append({"type": "content_block_stop", "index": i})
    final: dict[str, int] = {"output_tokens": output_tokens}
    if cumulative:  # newer streams repeat the cumulative input counts in message_delta
        final = {**start_usage, **final}
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": final,
        }
    )
    events.append({"type": "message_stop"})
    return sse(*events)


def thinking(text: str, signature: str) -> dict[str, Any]:
    half = len(text) // 2
    return {
        "start": {"type": "thinking", "thinking": "", "signature": ""},
        "deltas": [
            {"type": "thinking_delta", "thinking": text[:half]},
            {"type": "thinking_delta", "thinking": text[half:]},
            {"type": "signature_delta", "signature": signature},
        ],
    }


def say(text: str) -> dict[str, Any]:
    return {
        "start": {"type": "text", "text": ""},
        "deltas": [
            {"type": "text_delta", "text": text[:3]},
            {"type": "text_delta", "text": text[3:]},
        ],
    }


def tool(tool_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(arguments)
    return {
        "start": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        "deltas": [
            {"type": "input_json_delta", "partial_json": raw[:5]},
            {"type": "input_json_delta", "partial_json": raw[5:]},
        ],
    }


def record(
    method: str,
    path: str,
    body: Any,
    response: dict[str, Any] | None,
) -> str:
    req = {
        "timestamp": 1764900000.0,
        "method": method,
        "url": API + path,
        "headers": {"anthropic-beta": "interleaved-thinking-2025-05-14"},
        "body": body,
    }
    return json.dumps({"request": req, "response": response, "logged_at": "2026-12-05T10:00:00Z"})


def streamed(raw: str) -> dict[str, Any]:
    return {
        "timestamp": 1764900001.0,
        "status_code": 200,
        "headers": {"content-type": "text/event-stream"},
        "body_raw": raw,
    }


def json_response(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return {
        "timestamp": 1764900001.0,
        "status_code": status,
        "headers": {"content-type": "application/json"},
        "body": body,
    }


def main_body(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 32000,
        "stream": True,
        "system": MAIN_SYSTEM,
        "tools": MAIN_TOOLS,
        "thinking": {"type": "adaptive"},
        "messages": messages,
    }


def agent_body(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 8000,
        "stream": True,
        "system": AGENT_SYSTEM,
        "tools": AGENT_TOOLS,
        "messages": messages,
    }


def u(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def results(tool_id: str, text: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": text}],
    }


A1 = {
    "role": "assistant",
    "content": [
        {"type": "thinking", "thinking": "The user wants the config read.", "signature": "sig1"},
        {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a.toml"}},
    ],
}
A2 = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "toolu_2", "name": "Task", "input": {"q": "find x"}}],
}
B1 = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "toolu_b1", "name": "Grep", "input": {"pattern": "x"}}],
}
B2 = {"role": "assistant", "content": [{"type": "text", "text": "x is in b.py"}]}
A3 = {"role": "assistant", "content": [{"type": "text", "text": "Done: x is in b.py."}]}

# (input, cache writes, cache reads, output) of each /v1/messages call, in capture order
RECORDED = {
    "quota": (8, 0, 0, 1),
    "main1": (3, 5200, 0, 60),
    "title": (120, 0, 0, 9),
    "main2": (4, 180, 5200, 40),
    "agent1": (300, 0, 0, 25),
    "agent2": (340, 0, 0, 12),
    "main3": (5, 90, 5380, 15),
}


def start(name: str) -> dict[str, int]:
    i, cw, cr, _ = RECORDED[name]
    return {"input_tokens": i, "cache_creation_input_tokens": cw, "cache_read_input_tokens": cr}


def capture() -> str:
    main1 = [u("Read a.toml")]
    main2 = [
        *main1,
        A1,
        results("toolu_1", "key = 1"),
    ]
    agent1 = [u("find x")]
    agent2 = [*agent1, B1, results("toolu_b1", "b.py:3: x")]
    main3 = [*main2, A2, results("toolu_2", "x is in b.py")]
    lines = [
        record("HEAD", "/", None, {"timestamp": 1.0, "status_code": 200, "headers": {}}),
        record(
            "POST",
            "/v1/messages?beta=true",
            {"model": "claude-haiku-4-5", "max_tokens": 1, "messages": [u("quota")]},
            json_response(
                {
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-haiku-4-5",
                    "content": [{"type": "text", "text": "ok"}],
                    "stop_reason": "max_tokens",
                    "usage": {**start("quota"), "output_tokens": 1},
                }
            ),
        ),
        record(
            "POST",
            "/v1/messages/count_tokens?beta=true",
            {"model": "claude-opus-4-8", "messages": [u("Read a.toml")]},
            json_response({"input_tokens": 11}),
        ),
        record(
            "POST",
            "/v1/messages?beta=true",
            main_body(main1),
            streamed(
                stream(
                    "claude-opus-4-8",
                    [
                        thinking("The user wants the config read.", "sig1"),
                        tool("toolu_1", "Read", {"path": "a.toml"}),
                    ],
                    start_usage=start("main1"),
                    output_tokens=RECORDED["main1"][3],
                    stop="tool_use",
                )
            ),
        ),
        record(
            "POST",
            "/v1/messages?beta=true",
            {
                "model": "claude-haiku-4-5",
                "max_tokens": 512,
                "stream": True,
                "system": [{"type": "text", "text": "Write a 3-word title."}],
                "messages": [u("Read a.toml")],
            },
            streamed(
                stream(
                    "claude-haiku-4-5",
                    [say("Reading config file")],
                    start_usage=start("title"),
                    output_tokens=RECORDED["title"][3],
                    stop="end_turn",
                )
            ),
        ),
        record("POST", "/api/event_logging/batch", {"events": []}, json_response({})),
        record(
            "POST",
            "/v1/messages?beta=true",
            main_body(main2),
            streamed(
                stream(
                    "claude-opus-4-8",
                    [tool("toolu_2", "Task", {"q": "find x"})],
                    start_usage=start("main2"),
                    output_tokens=RECORDED["main2"][3],
                    stop="tool_use",
                    cumulative=True,
                )
            ),
        ),
        record(
            "POST",
            "/v1/messages?beta=true",
            agent_body(agent1),
            streamed(
                stream(
                    "claude-sonnet-4-6",
                    [tool("toolu_b1", "Grep", {"pattern": "x"})],
                    start_usage=start("agent1"),
                    output_tokens=RECORDED["agent1"][3],
                    stop="tool_use",
                )
            ),
        ),
        record(
            "POST",
            "/v1/messages/count_tokens?beta=true",
            {"model": "claude-sonnet-4-6", "messages": agent1},
            json_response({"input_tokens": 5}),
        ),
        record(
            "POST",
            "/v1/messages?beta=true",
            agent_body(agent2),
            streamed(
                stream(
                    "claude-sonnet-4-6",
                    [say("x is in b.py")],
                    start_usage=start("agent2"),
                    output_tokens=RECORDED["agent2"][3],
                    stop="end_turn",
                )
            ),
        ),
        record(
            "POST",
            "/v1/messages?beta=true",
            main_body(main3),
            streamed(
                stream(
                    "claude-opus-4-8",
                    [say("Done: x is in b.py.")],
                    start_usage=start("main3"),
                    output_tokens=RECORDED["main3"][3],
                    stop="end_turn",
                )
            ),
        ),
        # the sub-agent's next call, interrupted: no response recorded
        record("POST", "/v1/messages?beta=true", agent_body([*agent2, B2, u("and y?")]), None),
    ]
    return "\n".join(lines) + "\n"


def test_capture_is_detected_from_content() -> None:
    conv = loading.loads(capture())
    assert conv.format == "claude-trace"
    assert normalize_format("claude_trace") == "claude-trace"
    assert loading.loads(capture(), format="claude-trace").format == "claude-trace"


@pytest.mark.slow
def test_every_request_keeps_its_recorded_prompt_and_output() -> None:
    conv = loading.loads(capture())
    names = ["quota", "main1", "title", "main2", "agent1", "agent2", "main3"]
    assert len(conv.requests) == len(names) + 1  # and the orphaned request
    for r, name in zip(conv.requests, names, strict=False):
        i, cw, cr, out = RECORDED[name]
        assert r.usage is not None, name
        assert (r.usage.input_tokens, r.usage.cache_creation_input_tokens) == (i, cw), name
        assert (r.usage.cache_read_input_tokens, r.usage.output_tokens) == (cr, out), name
    sim = ctxviz.simulate(conv)
    req = sim.requests
    assert req["input_tokens"].tolist()[:-1] == [sum(RECORDED[n][:3]) for n in names]
    assert req["output_tokens"].tolist()[:-1] == [RECORDED[n][3] for n in names]
    assert req["source"].tolist() == ["recorded"] * len(names) + ["estimated"]
    assert (
        req["stop_reason"].tolist()[:-1]
        == [
            "max_tokens",
            "tool_use",
            "end_turn",
            "tool_use",
            "tool_use",
            "end_turn",
            "end_turn",
            None,
        ][:-1]
    )


def test_streamed_responses_are_reassembled_block_by_block() -> None:
    conv = loading.loads(capture())
    main1 = conv.requests[1]
    assert main1.response is not None
    th, call = conv.messages[main1.response].content
    assert th == ThinkingBlock(thinking="The user wants the config read.", signature="sig1")
    assert call == ToolUseBlock(id="toolu_1", name="Read", input={"path": "a.toml"})
    title = conv.requests[2]
    assert title.response is not None
    assert conv.messages[title.response].content == (TextBlock(text="Reading config file"),)


def test_each_request_keeps_its_own_model_system_and_tools() -> None:
    conv = loading.loads(capture())
    models = [r.model for r in conv.requests]
    assert models == [
        "claude-haiku-4-5",
        "claude-opus-4-8",
        "claude-haiku-4-5",
        "claude-opus-4-8",
        "claude-sonnet-4-6",
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        "claude-sonnet-4-6",
    ]
    texts = [tuple(b.text for b in r.system or ()) for r in conv.requests]  # type: ignore[attr-defined]
    assert texts[0] == ()
    assert texts[1] == texts[3] == texts[6] == tuple(b["text"] for b in MAIN_SYSTEM)
    assert texts[2] == ("Write a 3-word title.",)
    assert texts[4] == texts[5] == texts[7] == ("You are a search agent.",)
    tools = [tuple(t.name for t in r.tools or ()) for r in conv.requests]
    assert tools[1] == tools[3] == tools[6] == ("Read", "Task")
    assert tools[4] == tools[5] == tools[7] == ("Grep",)
    assert tools[0] == tools[2] == ()
    # one object per distinct system prompt, so each is counted once
    assert conv.requests[1].system is conv.requests[6].system


def test_other_traffic_is_skipped_with_one_summary_warning() -> None:
    conv = loading.loads(capture())
    skipped = [w for w in conv.warnings if "not Messages API requests" in w]
    assert skipped == [
        "4 calls that are not Messages API requests skipped (2 count_tokens, 1 HEAD, 1 other)"
    ]
    segments = [w for w in conv.warnings if "does not continue" in w]
    assert len(segments) == 1  # one note for the whole capture, not one per switch
    assert segments[0].startswith("line 4 and 5 more: a request that does not continue")
    assert len(conv.warnings) == 2, conv.warnings


def test_an_estimated_row_uses_its_own_segments_system_prompt_and_tools() -> None:
    conv = loading.loads(capture())
    sim = ctxviz.simulate(conv, counter=lambda text, family: len(text.split()))
    last = sim.composition.iloc[-1]  # the orphaned sub-agent request, estimated
    assert sim.requests["source"].iloc[-1] == "estimated"
    # the sub-agent's "You are a search agent." (5 words) and one tool (as the tool-use system
    # prompt lists it, <function>{"description": "Search", "name": "Grep", "parameters":
    # {"type": "object"}}</function>: 7 words, plus its own model's tool-use system prompt:
    # Sonnet 4.6, 497), not the main conversation's 109-word system prompt and 2 tools; the
    # prompt's own frame is not system prompt text: it is counted in "other"
    assert abs(last["system"] - sim.scale * 5) <= 1
    assert last["other"] >= sim.scale * prompt_frame_tokens("v3") - 1
    assert abs(last["tools"] - sim.scale * (7 + 497)) <= 1


def test_a_capture_without_messages_calls_is_an_error() -> None:
    line = record("HEAD", "/", None, None)
    with pytest.raises(TranscriptError, match="no POST /v1/messages call"):
        loading.loads(line + "\n" + line)


def test_failed_calls_and_stray_lines_are_noted_once_each() -> None:
    body = main_body([u("Read a.toml")])
    overloaded = sse({"type": "error", "error": {"type": "overloaded_error", "message": "Busy"}})
    ok = stream(
        "claude-opus-4-8",
        [say("fine")],
        start_usage=start("main1"),
        output_tokens=7,
        stop="end_turn",
    )
    failed = {"timestamp": 1.0, "status_code": 429, "headers": {}, "body_raw": ""}
    lines = [
        record("POST", "/v1/messages", body, streamed(overloaded)),
        record("POST", "/v1/messages", body, streamed(overloaded)),
        record("POST", "/v1/messages", body, failed),
        record("POST", "/v1/messages", body, failed),
        json.dumps({"unrelated": True}),
        record("POST", "/v1/messages", body, streamed(ok)),
    ]
    conv = loading.loads("\n".join(lines))
    assert conv.format == "claude-trace"
    assert conv.warnings == [
        "line 3 and 1 more: the API answered HTTP 429; no response recorded",
        "line 5: not a claude-trace record (no request url and method); skipped",
        "line 1, response.body_raw and 1 more: the API answered with an error (Busy); no "
        "response recorded",
    ]
    # the retries send the same prompt: one history, five rows, the last one recorded
    assert len(conv.messages) == 2
    assert [r.usage is not None for r in conv.requests] == [False] * 4 + [True]
    assert conv.requests[-1].usage.output_tokens == 7  # type: ignore[union-attr]


def test_a_messages_call_without_a_readable_body_is_skipped_with_a_warning() -> None:
    ok = stream(
        "claude-opus-4-8",
        [say("fine")],
        start_usage=start("main1"),
        output_tokens=7,
        stop="end_turn",
    )
    lines = [
        record("POST", "/v1/messages", "not json at all", json_response({})),
        record("POST", "/v1/messages", main_body([u("Read a.toml")]), streamed(ok)),
    ]
    conv = loading.loads("\n".join(lines))
    assert conv.warnings == [
        "line 1: a /v1/messages call whose request body has no `messages`; skipped"
    ]
    assert len(conv.requests) == 1 and conv.requests[0].usage is not None


def test_a_summary_call_in_a_capture_is_a_request_of_its_own() -> None:
    # a call asking for a <summary> of the history so far: in an SDK log, part of the SDK's
    # compaction_control; in a capture, one more API call with its own usage
    def ok(out: int) -> dict[str, Any]:
        return streamed(
            stream(
                "claude-opus-4-8",
                [say("fine")],
                start_usage=start("main1"),
                output_tokens=out,
                stop="end_turn",
            )
        )

    ask = u("Summarize the conversation; put it in <summary></summary> tags.")
    lines = [
        record("POST", "/v1/messages", main_body([u("Read a.toml")]), ok(5)),
        record("POST", "/v1/messages", main_body([u("Read a.toml"), ask]), ok(300)),
    ]
    conv = loading.loads("\n".join(lines))
    assert [r.usage.output_tokens for r in conv.requests] == [5, 300]  # type: ignore[union-attr]


# ---- a capture built from a real Claude Code session ------------------------------------------


def api_block(b: Any) -> dict[str, Any]:
    """A block of the model as the API takes it (the shapes a Claude Code session holds)."""
    from ctxviz.model import OtherBlock, ToolResultBlock

    match b:
        case TextBlock():
            return {"type": "text", "text": b.text}
        case ThinkingBlock():
            return {"type": "thinking", "thinking": b.thinking, "signature": b.signature or ""}
        case ToolUseBlock():
            return {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
        case ToolResultBlock():
            content = b.content if isinstance(b.content, str) else [api_block(x) for x in b.content]
            return {"type": "tool_result", "tool_use_id": b.tool_use_id, "content": content}
        case OtherBlock():
            return dict(b.raw)
    raise AssertionError(f"no API shape for {b!r} in this test")


def streamed_blocks(blocks: Any) -> list[dict[str, Any]]:
    out = []
    for b in blocks:
        match b:
            case TextBlock():
                out.append(
                    say(b.text) if len(b.text) > 3 else {"start": api_block(b), "deltas": []}
                )
            case ThinkingBlock():
                out.append(thinking(b.thinking, b.signature or ""))
            case ToolUseBlock():
                out.append(tool(b.id, b.name, b.input))
            case _:
                out.append({"start": api_block(b), "deltas": []})
    return out


def session_calls(conv: Any, system: str, tools: list[dict[str, Any]]) -> list[tuple[Any, str]]:
    """Each recorded request of a loaded session as (request, claude-trace line)."""
    calls = []
    for r in conv.requests:
        if r.response is None or r.usage is None:
            continue
        prompt = conv.messages[r.prompt_start : r.prompt_end]
        body = {
            "model": r.model,
            "max_tokens": 32000,
            "stream": True,
            "system": [{"type": "text", "text": system}],
            "tools": tools,
            "messages": [
                {"role": m.role, "content": [api_block(b) for b in m.content]} for m in prompt
            ],
        }
        u_ = r.usage
        raw = stream(
            r.model,
            streamed_blocks(conv.messages[r.response].content),
            start_usage={
                "input_tokens": u_.input_tokens,
                "cache_creation_input_tokens": u_.cache_creation_input_tokens,
                "cache_read_input_tokens": u_.cache_read_input_tokens,
            },
            output_tokens=u_.output_tokens,
            stop=r.stop_reason or "end_turn",
        )
        calls.append((r, record("POST", "/v1/messages?beta=true", body, streamed(raw))))
    return calls


def test_a_capture_of_a_real_session_reproduces_every_prompt_and_output(samples_dir: Any) -> None:
    session = ctxviz.load(
        samples_dir
        / "04_claude-code_ccl_v2.1.114_subagents"
        / "ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"
    )
    main = session_calls(session, "You are Claude Code.", MAIN_TOOLS)
    agents = [
        session_calls(s, f"You are a {s.agent_type} agent.", AGENT_TOOLS) for s in session.subagents
    ]
    # the sub-agents' calls come right after the main call that started them, round-robin
    # (they run in parallel), with the other traffic of a real capture in between
    launched: dict[str, list[list[tuple[Any, str]]]] = {}
    for s, calls in zip(session.subagents, agents, strict=True):
        launched.setdefault(s.parent_tool_use_id, []).append(calls)
    order: list[tuple[Any, str]] = []
    lines = [record("HEAD", "/", None, None)]
    for r, line in main:
        order.append((r, line))
        lines.append(line)
        ids = [b.id for b in session.messages[r.response].content if isinstance(b, ToolUseBlock)]
        group = [c for i in ids for c in launched.pop(i, [])]
        for k in range(max((len(c) for c in group), default=0)):
            for calls in group:
                if k < len(calls):
                    order.append(calls[k])
                    lines.append(calls[k][1])
                    lines.append(record("POST", "/v1/messages/count_tokens", {}, None))
    assert not launched  # every sub-agent was placed
    conv = loading.loads("\n".join(lines))
    assert conv.format == "claude-trace"
    assert len(conv.requests) == len(order) == 17 + 66
    sim = ctxviz.simulate(conv)
    want_prompt = [r.usage.prompt_tokens for r, _ in order]
    want_output = [r.usage.output_tokens for r, _ in order]
    assert sim.requests["input_tokens"].tolist() == want_prompt
    assert sim.requests["output_tokens"].tolist() == want_output
    assert set(sim.requests["source"]) == {"recorded"}
    assert [r.model for r in conv.requests] == [r.model for r, _ in order]
    # no warning storm: the skipped calls and the conversation switches are one warning each
    assert len(conv.warnings) == 2, conv.warnings


def test_unreadable_responses_lose_only_their_own_call() -> None:
    body = main_body([u("Read a.toml")])
    ok = stream(
        "claude-opus-4-8",
        [say("fine")],
        start_usage=start("main1"),
        output_tokens=7,
        stop="end_turn",
    )
    cut = ok[: ok.index("content_block_delta") + 40]  # the capture ended mid-event
    lines = [
        record("POST", "/v1/messages", body, streamed(cut)),
        record("POST", "/v1/messages", body, json_response({})),
        record("POST", "/v1/messages", body, {**json_response({}), "body": '{"type": "mess'}),
        record("POST", "/v1/messages", body, streamed(ok)),
    ]
    lines[1] = lines[1].replace('"response": {', '"response": ["not an object"], "x": {', 1)
    conv = loading.loads("\n".join(lines))
    assert len(conv.requests) == 4
    assert [r.usage is not None for r in conv.requests] == [False, False, False, True]
    assert len(conv.warnings) == 3, conv.warnings
    assert conv.warnings[0].startswith("line 2: a `response` that is not an object")
    assert conv.warnings[1].startswith("line 3, response.body: a body that is not valid JSON")
    assert conv.warnings[2].startswith(
        "line 1, response.body_raw: a response that cannot be read (streamed event"
    )


def test_a_json_array_of_records_is_a_capture_too() -> None:
    records = [json.loads(line) for line in capture().splitlines()]
    conv = loading.loads(json.dumps(records))
    assert conv.format == "claude-trace"
    assert len(conv.requests) == 8
    assert conv.warnings[1].startswith("[3] and 5 more: a request that does not continue")


def test_message_delta_counts_are_cumulative_and_never_lower_the_start() -> None:
    def events(delta_usage: dict[str, Any]) -> str:
        return sse(
            {
                "type": "message_start",
                "message": {
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-opus-4-8",
                    "content": [],
                    "usage": {
                        "input_tokens": 12,
                        "cache_read_input_tokens": 900,
                        "output_tokens": 1,
                    },
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "hi"},
            },
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": delta_usage},
            {"type": "message_stop"},
        )

    body = main_body([u("Read a.toml")])
    lines = [
        # a proxy that zeroes the input in message_delta
        record(
            "POST", "/v1/messages", body, streamed(events({"input_tokens": 0, "output_tokens": 30}))
        ),
        # internal server-tool calls: the cumulative input grows
        record(
            "POST",
            "/v1/messages",
            body,
            streamed(
                events({"input_tokens": 40, "cache_read_input_tokens": 1800, "output_tokens": 9})
            ),
        ),
    ]
    conv = loading.loads("\n".join(lines))
    got = [
        (r.usage.input_tokens, r.usage.cache_read_input_tokens, r.usage.output_tokens)
        for r in conv.requests
    ]  # type: ignore[union-attr]
    assert got == [(12, 900, 30), (40, 1800, 9)]
