"""OpenAI chat completions: messages, bodies, logs, usage mapping, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ctxviz.loading as loading
from ctxviz.errors import TranscriptError
from ctxviz.model import ImageBlock, TextBlock, ToolResultBlock, ToolUseBlock


def tool_call(i: str, name: str, args: str) -> dict[str, Any]:
    return {"id": i, "type": "function", "function": {"name": name, "arguments": args}}


MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Weather in Paris and Rome?"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        ],
    },
    {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            tool_call("c1", "weather", '{"city": "Paris"}'),
            tool_call("c2", "weather", '{"city": "Rome"'),  # truncated JSON
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "18C"},
    {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "21C"}]},
    {"role": "assistant", "content": "Paris 18C, Rome 21C."},
]


def test_messages_list() -> None:
    conv = loading.loads(json.dumps(MESSAGES))
    assert conv.format == "openai"
    assert conv.system == (TextBlock(text="Be brief."), TextBlock(text="Use tools."))
    assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    assert conv.messages[0].content[1] == ImageBlock(
        source={"type": "url", "url": "https://x/y.png"}
    )
    assert conv.messages[1].content == (
        TextBlock(text="Checking."),
        ToolUseBlock(id="c1", name="weather", input={"city": "Paris"}),
        ToolUseBlock(id="c2", name="weather", input='{"city": "Rome"'),
    )
    # consecutive tool messages: one user message of tool results
    assert conv.messages[2].content == (
        ToolResultBlock(tool_use_id="c1", content="18C"),
        ToolResultBlock(tool_use_id="c2", content=(TextBlock(text="21C"),)),
    )
    assert conv.warnings == [
        "[3]: tool call 'c2' (weather): its arguments are not valid JSON; kept as a string"
    ]
    assert [r.response for r in conv.requests] == [1, 3]


def test_usage_mapping_in_a_log() -> None:
    request = {"model": "gpt-4.1", "max_completion_tokens": 500, "messages": MESSAGES[:3]}
    response = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4.1-2025-04-14",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}
        ],
        "usage": {
            "prompt_tokens": 2000,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1536},
            "completion_tokens_details": {"reasoning_tokens": 256},
        },
    }
    conv = loading.loads(json.dumps({"request": request, "response": response}))
    (r,) = conv.requests
    assert r.usage is not None
    # prompt_tokens INCLUDES the cached part
    assert (r.usage.input_tokens, r.usage.cache_read_input_tokens) == (464, 1536)
    assert (r.usage.output_tokens, r.usage.thinking_tokens) == (300, 256)
    assert r.usage.prompt_tokens == 2000
    assert (r.model, r.max_tokens, r.stop_reason) == ("gpt-4.1", 500, "stop")


def test_streamed_completion_in_a_cassette() -> None:
    chunks = [
        {
            "id": "c",
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}],
        },
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "lo"}}]},
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "k", "function": {"name": "f", "arguments": '{"a"'}}
                        ]
                    },
                }
            ],
        },
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
                    "finish_reason": "tool_calls",
                }
            ],
        },
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 4}},
    ]
    sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    doc = {
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/chat/completions",
                    "body": json.dumps(
                        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
                    ),
                },
                "response": {"status": {"code": 200}, "body": {"string": sse}},
            }
        ]
    }
    conv = loading.loads(json.dumps(doc))
    assert conv.format == "openai" and conv.warnings == []
    assert conv.messages[1].content == (
        TextBlock(text="Hello"),
        ToolUseBlock(id="k", name="f", input={"a": 1}),
    )
    assert conv.requests[0].usage is not None and conv.requests[0].usage.output_tokens == 4


def test_errors_and_orphans() -> None:
    with pytest.raises(TranscriptError, match=r"^\[1\]\.role: unknown role 'robot'"):
        loading.loads(
            json.dumps([{"role": "system", "content": "x"}, {"role": "robot", "content": "y"}])
        )
    with pytest.raises(TranscriptError, match=r"^\[1\]: tool message has no `tool_call_id`"):
        loading.loads(
            json.dumps([{"role": "system", "content": "x"}, {"role": "tool", "content": "y"}])
        )
    with pytest.raises(TranscriptError, match=r"^\[1\]\.content\[0\]: content part has no `type`"):
        loading.loads(
            json.dumps(
                [{"role": "system", "content": "x"}, {"role": "user", "content": [{"text": "y"}]}]
            )
        )
    with pytest.raises(TranscriptError, match=r"^\[1\]\.tool_calls\[0\]: tool call has no `id`"):
        loading.loads(
            json.dumps(
                [
                    {"role": "system", "content": "x"},
                    {"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]},
                ]
            )
        )
    conv = loading.loads(
        json.dumps(
            [
                {"role": "system", "content": "x"},
                {"role": "user", "content": "q"},
                {"role": "tool", "tool_call_id": "ghost", "content": "r"},
            ]
        )
    )
    assert conv.warnings == [
        "[2]: tool_result for tool_use_id 'ghost' matches no earlier tool_use; kept"
    ]


def test_forcing_anthropic_on_openai_messages_is_an_error() -> None:
    with pytest.raises(
        TranscriptError, match=r"^\[0\]\.role: role 'system' cannot open `messages`"
    ):
        loading.loads(json.dumps(MESSAGES), format="anthropic")
