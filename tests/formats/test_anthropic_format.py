"""Anthropic Messages API: request bodies, bare lists, logs, cassettes, and their errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

import ctxviz.loading as loading
from ctxviz.errors import TranscriptError
from ctxviz.model import (
    CompactionBlock,
    OtherBlock,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
)


def u(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def a(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def call(i: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": i, "name": "Read", "input": {"path": i}}


def res(i: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": i, "content": "x"}]}


def usage(inp: int, out: int, read: int = 0, write: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
        **extra,
    }


def response(
    *blocks: dict[str, Any], use: dict[str, Any], stop: str = "end_turn", **kw: Any
) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": list(blocks),
        "stop_reason": stop,
        "usage": use,
        **kw,
    }


def test_request_body() -> None:
    body = {
        "model": "claude-opus-4-6",
        "max_tokens": 4096,
        "system": "You are terse.",
        "tools": [
            {"name": "Read", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        "betas": ["context-management-2025-06-27"],
        "messages": [u("read a"), a(text("ok"), call("a")), res("a")],
    }
    conv = loading.loads(json.dumps(body))
    assert conv.format == "anthropic" and conv.warnings == []
    assert conv.system == (TextBlock(text="You are terse."),)
    assert [t.name for t in conv.tools] == ["Read", "web_search"]
    assert isinstance(conv.tools[0], ToolDefinition) and conv.tools[0].raw == body["tools"][0]
    first, pending = conv.requests
    assert (first.prompt_end, first.response) == (1, 1)
    assert (pending.prompt_end, pending.response) == (3, None)  # the request about to be sent
    for r in conv.requests:
        assert r.model == "claude-opus-4-6" and r.max_tokens == 4096
        assert r.thinking == body["thinking"] and r.context_management == body["context_management"]
        assert r.betas == ("context-management-2025-06-27",)
        assert r.usage is None
    assert not conv.recorded and conv.model == "claude-opus-4-6"


def test_bare_messages_list_and_unknown_blocks() -> None:
    conv = loading.loads(json.dumps([u("hi"), a(text("yo"), {"type": "shiny", "v": 1})]))
    assert len(conv.requests) == 1
    assert conv.messages[1].content[1] == OtherBlock(type="shiny", raw={"type": "shiny", "v": 1})


def log_line(messages: list[dict[str, Any]], resp: dict[str, Any], **kw: Any) -> str:
    return json.dumps(
        {
            "request": {
                "model": "claude-sonnet-4-5-20250929",
                "max_tokens": 1000,
                "messages": messages,
                **kw,
            },
            "response": resp,
        }
    )


def test_log_is_laid_out_as_one_history() -> None:
    r1 = response(text("reading"), call("a"), stop="tool_use", use=usage(10, 20, write=1000))
    r2 = response(
        text("done"),
        use=usage(
            3,
            40,
            read=1000,
            write=50,
            cache_creation={"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 30},
            output_tokens_details={"thinking_tokens": 12},
            server_tool_use={"web_search_requests": 2},
            service_tier="standard",
        ),
        context_management={
            "applied_edits": [
                {
                    "type": "clear_tool_uses_20250919",
                    "cleared_tool_uses": 1,
                    "cleared_input_tokens": 500,
                }
            ]
        },
    )
    lines = [
        log_line(
            [u("read a")],
            r1,
            system=[{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        ),
        # clients re-serialise: the string prompt comes back as a block list
        log_line(
            [
                {"role": "user", "content": [text("read a")]},
                a(text("reading"), call("a")),
                res("a"),
            ],
            r2,
        ),
    ]
    conv = loading.loads("\n".join(lines))
    assert conv.warnings == []
    assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    one, two = conv.requests
    assert (one.prompt_start, one.prompt_end, one.response) == (0, 1, 1)
    assert (two.prompt_start, two.prompt_end, two.response) == (0, 3, 3)
    assert one.usage is not None and one.usage.prompt_tokens == 1010
    u2 = two.usage
    assert u2 is not None
    assert (u2.input_tokens, u2.cache_read_input_tokens, u2.cache_creation_input_tokens) == (
        3,
        1000,
        50,
    )
    assert (u2.ephemeral_5m_input_tokens, u2.ephemeral_1h_input_tokens) == (20, 30)
    assert u2.thinking_tokens == 12 and u2.server_tool_use == {"web_search_requests": 2}
    assert u2.service_tier == "standard"
    assert two.applied_edits == (
        {"type": "clear_tool_uses_20250919", "cleared_tool_uses": 1, "cleared_input_tokens": 500},
    )
    assert one.stop_reason == "tool_use" and two.source == "line 2"
    assert conv.system == (TextBlock(text="sys"),)


SUMMARY_PROMPT = "Write a continuation summary… Wrap your summary in <summary></summary> tags."


def test_client_compaction_from_the_sdk_runner() -> None:
    big = response(text("reading"), call("b"), stop="tool_use", use=usage(90_000, 15_000))
    lines = [
        log_line([u("task")], response(text("go"), call("a"), stop="tool_use", use=usage(10, 5))),
        log_line([u("task"), a(text("go"), call("a")), res("a")], big),
        # the summary request: the prompt as last sent + the summary prompt (no system, tools)
        log_line(
            [u("task"), a(text("go"), call("a")), res("a"), u(SUMMARY_PROMPT)],
            response(text("<summary>did a</summary>"), use=usage(90_010, 700)),
        ),
        log_line(
            [u("<summary>did a</summary>")],
            response(text("again"), call("b"), stop="tool_use", use=usage(800, 30)),
        ),
    ]
    conv = loading.loads("\n".join(lines))
    assert conv.warnings == []
    assert len(conv.requests) == 3  # the summary request is on the compaction, not a row
    (comp,) = conv.compactions
    assert comp.kind == "client" and comp.trigger == "threshold"
    assert comp.request == 2 and comp.summary_message == 4
    assert comp.pre_tokens == 105_000  # the total the runner compared with its threshold
    assert comp.summary_tokens == 700
    assert conv.messages[4].is_compact_summary
    assert conv.requests[2].prompt_start == 4
    assert conv.requests[1].prompt_start == 0  # the history before the summary stays


def test_rewritten_history_starts_a_segment_with_a_warning() -> None:
    lines = [
        log_line([u("one")], response(text("a"), use=usage(5, 5))),
        log_line([u("something else")], response(text("b"), use=usage(5, 5))),
    ]
    conv = loading.loads("\n".join(lines))
    assert conv.warnings == [
        "line 2: request 1 does not continue the previous request's messages (the history was "
        "rewritten); a new segment starts at message 2"
    ]
    assert conv.requests[1].prompt_start == 2 and conv.compactions == ()


def test_server_compaction_in_a_log_moves_the_prompt_start() -> None:
    comp_resp = response(
        {"type": "compaction", "content": "summary of it"},
        text("hi"),
        use=usage(
            200,
            8,
            iterations=[
                {"type": "compaction", "input_tokens": 60_000, "output_tokens": 90},
                {"type": "message", "input_tokens": 200, "output_tokens": 8},
            ],
        ),
    )
    lines = [
        log_line([u("long")], comp_resp),
        log_line(
            [
                u("long"),
                a({"type": "compaction", "content": "summary of it"}, text("hi")),
                u("more"),
            ],
            response(text("ok"), use=usage(230, 4)),
        ),
    ]
    conv = loading.loads("\n".join(lines))
    (comp,) = conv.compactions
    assert (
        comp.kind,
        comp.request,
        comp.summary_message,
        comp.pre_tokens,
        comp.summary_tokens,
    ) == (
        "server",
        0,
        1,
        60_000,
        90,
    )
    assert isinstance(conv.messages[1].content[0], CompactionBlock)
    assert conv.requests[1].prompt_start == 1


def test_jsonl_log_with_bad_lines_loads_the_rest() -> None:
    good = log_line([u("hi")], response(text("yo"), use=usage(5, 5)))
    conv = loading.loads("\n".join([good, '{"request": {"messages": [}', "", "not json at all"]))
    assert len(conv.requests) == 1
    assert len(conv.warnings) == 2
    assert conv.warnings[0].startswith("line 2: not valid JSON (") and conv.warnings[0].endswith(
        "); skipped"
    )
    assert conv.warnings[1] == "line 4: not valid JSON (Expecting value at column 1); skipped"


def test_top_level_pair_convention_and_wrapped_bodies() -> None:
    pairs = [
        # request parameters at the top level beside the response (LiteLLM-style)
        {
            "model": "claude-sonnet-4-5-20250929",
            "messages": [u("hi")],
            "response": response(text("a"), use=usage(4, 1)),
        },
        # request as {"headers", "body"} with the beta header
        {
            "request": {
                "headers": {"anthropic-beta": "context-1m-2025-08-07,foo"},
                "body": json.dumps({"messages": [u("hi"), a(text("a")), u("more")]}),
            },
            "response": {"body": response(text("b"), use=usage(9, 1))},
        },
    ]
    conv = loading.loads(json.dumps(pairs))
    assert conv.warnings == [] and len(conv.requests) == 2
    assert conv.requests[1].betas == ("context-1m-2025-08-07", "foo")
    assert conv.requests[1].source == "[1]"


def cassette(*interactions: dict[str, Any]) -> str:
    return yaml.safe_dump({"interactions": list(interactions), "version": 1})


def interaction(
    uri: str, body: dict[str, Any], resp: Any, *, parsed: bool = True
) -> dict[str, Any]:
    req: dict[str, Any] = {
        "method": "POST",
        "uri": uri,
        "headers": {"anthropic-beta": ["compact-2026-01-12"]},
    }
    if parsed:
        req["parsed_body"] = body
    else:
        req["body"] = json.dumps(body)
    out: dict[str, Any] = {"status": {"code": 200, "message": "OK"}}
    if isinstance(resp, str):
        out["body"] = {"string": resp}
    else:
        out["parsed_body"] = resp
    return {"request": req, "response": out}


def test_cassette_skips_count_tokens_and_reassembles_streams() -> None:
    sse = "\n".join(
        "event: x\ndata: " + json.dumps(e)
        for e in [
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "role": "assistant",
                    "model": "claude-opus-4-6",
                    "content": [],
                    "usage": {"input_tokens": 12, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "let me "},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "see"},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "sig"},
            },
            {"type": "content_block_stop", "index": 0},
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": "t", "name": "Read", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"pa'},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": 'th": "x"}'},
            },
            {"type": "content_block_stop", "index": 1},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 33},
            },
            {"type": "message_stop"},
        ]
    )
    doc = cassette(
        interaction(
            "https://api.anthropic.com/v1/messages/count_tokens",
            {"messages": [u("hi")]},
            {"input_tokens": 5},
        ),
        interaction(
            "https://api.anthropic.com/v1/messages?beta=true",
            {"model": "claude-opus-4-6", "messages": [u("hi")]},
            sse,
            parsed=False,
        ),
    )
    conv = loading.loads(doc)
    assert conv.warnings == [
        "interactions[0]: a count_tokens call, not a request with a response; skipped"
    ]
    (req,) = conv.requests
    assert req.betas == ("compact-2026-01-12",) and req.stop_reason == "tool_use"
    assert req.usage is not None and (req.usage.input_tokens, req.usage.output_tokens) == (12, 33)
    assert conv.messages[1].content == (
        ThinkingBlock(thinking="let me see", signature="sig"),
        ToolUseBlock(id="t", name="Read", input={"path": "x"}),
    )


def test_errors_name_the_problem_and_the_json_path() -> None:
    cases = [
        (
            {"messages": [u("a"), {"role": "bot", "content": "x"}]},
            r"^messages\[1\]\.role: unknown role 'bot'",
        ),
        (
            {"messages": [u("a"), a(text("b"), {"text": "c"})]},
            r"^messages\[1\]\.content\[1\]: content block has no `type`",
        ),
        (
            {"messages": [u("a"), {"role": "assistant"}]},
            r"^messages\[1\]: message has no `content`",
        ),
        ({"messages": "hello"}, r"^messages: expected `messages` to be an array, found a string"),
        ({"messages": [u("a")], "system": 5}, r"^system: `system` must be a string or an array"),
        (
            {"messages": [u("a")], "tools": [{"description": "x"}]},
            r"^tools\[0\]: tool definition has no `name`",
        ),
        ({"messages": []}, r"^messages: no messages"),
        ({"model": "x", "max_tokens": 5}, r"^top level: a JSON object with no `messages`"),
    ]
    for body, pattern in cases:
        with pytest.raises(TranscriptError, match=pattern):
            loading.loads(json.dumps(body))
    bad_usage = {
        "request": {"messages": [u("a")]},
        "response": response(text("b"), use={"input_tokens": -1}),
    }
    with pytest.raises(
        TranscriptError,
        match=r"^\[0\]\.response\.usage\.input_tokens: `input_tokens` must be a non-negative "
        r"integer.*, found a number -1",
    ):
        loading.loads(json.dumps([bad_usage]))
    with pytest.raises(
        TranscriptError,
        match=r"^line 2, request\.messages\[0\]\.content\[0\]: content block has no `type`",
    ):
        loading.loads(
            log_line([u("a")], response(text("b"), use=usage(1, 1)))
            + "\n"
            + log_line([{"role": "user", "content": [{}]}], response(text("b"), use=usage(1, 1)))
        )


def test_warnings_for_orphans_and_missing_signatures_are_given_once() -> None:
    thinking = {"type": "thinking", "thinking": "x"}
    lines = [
        log_line([u("a"), res("ghost")], response(thinking, text("b"), use=usage(1, 1))),
        log_line(
            [u("a"), res("ghost"), a(thinking, text("b")), u("c")],
            response(thinking, text("d"), use=usage(1, 1)),
        ),
    ]
    conv = loading.loads("\n".join(lines))
    assert conv.warnings == [
        "line 1, request.messages[1].content[0]: tool_result for tool_use_id 'ghost' matches no "
        "earlier tool_use; kept",
        "line 1, response.content[0] and 1 more: thinking block has no signature (the API would "
        "reject it if it were sent back)",
    ]
    assert isinstance(conv.messages[1].content[0], ToolResultBlock)
