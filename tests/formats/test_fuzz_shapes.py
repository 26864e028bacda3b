"""Property: whatever part of a valid transcript is replaced by whatever JSON value, loading
either succeeds or raises TranscriptError — never KeyError, TypeError or AttributeError."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ctxviz.loading as loading
from ctxviz.errors import TranscriptError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "text", "id", "content", "role", "x"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)

ANTHROPIC_LOG = [
    {
        "request": {
            "model": "claude-sonnet-4-5",
            "system": [{"type": "text", "text": "s"}],
            "tools": [{"name": "Read", "input_schema": {}}],
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [{"role": "user", "content": "read"}],
        },
        "response": {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "t", "signature": "s"},
                {"type": "tool_use", "id": "t1", "name": "Read", "input": {"p": 1}},
            ],
            "stop_reason": "tool_use",
            "usage": {
                "input_tokens": 5,
                "output_tokens": 9,
                "cache_creation": {"ephemeral_5m_input_tokens": 1, "ephemeral_1h_input_tokens": 0},
                "iterations": [{"type": "message", "input_tokens": 5, "output_tokens": 9}],
                "server_tool_use": {"web_search_requests": 0},
            },
            "context_management": {"applied_edits": []},
        },
    },
    {
        "request": {
            "messages": [
                {"role": "user", "content": "read"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [{"type": "text", "text": "x"}],
                        }
                    ],
                },
            ]
        },
        "response": {
            "content": [{"type": "compaction", "content": "sum"}, {"type": "text", "text": "ok"}],
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    },
]

OPENAI_LOG = [
    {
        "request": {
            "model": "gpt-4.1",
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": [{"type": "text", "text": "q"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c", "content": "r"},
            ],
        },
        "response": {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "a"},
                }
            ],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 1},
            },
        },
    }
]

CLAUDE_AI = [
    {
        "uuid": "c",
        "name": "n",
        "chat_messages": [
            {
                "sender": "human",
                "text": "q",
                "content": [{"type": "text", "text": "q"}],
                "attachments": [{"file_name": "a", "extracted_content": "x"}],
                "files": [],
            },
            {
                "sender": "assistant",
                "content": [
                    {"type": "tool_use", "name": "w", "input": {}},
                    {"type": "tool_result", "name": "w", "content": []},
                ],
            },
        ],
    }
]

CASSETTE = {
    "interactions": [
        {
            "request": {
                "method": "POST",
                "uri": "https://api.anthropic.com/v1/messages",
                "headers": {"anthropic-beta": ["b"]},
                "parsed_body": ANTHROPIC_LOG[0]["request"],
            },
            "response": {"status": {"code": 200}, "parsed_body": ANTHROPIC_LOG[0]["response"]},
        }
    ]
}

CLAUDE_CODE = [
    {
        "type": "user",
        "uuid": "u",
        "parentUuid": None,
        "sessionId": "s",
        "message": {"role": "user", "content": "go"},
    },
    {
        "type": "assistant",
        "uuid": "a",
        "parentUuid": "u",
        "sessionId": "s",
        "message": {
            "id": "m",
            "model": "claude-opus-4-6",
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "Task", "input": {"prompt": "p"}}],
            "usage": {
                "input_tokens": 1,
                "output_tokens": 3,
                "cache_creation": {"ephemeral_5m_input_tokens": 0},
            },
        },
    },
    {
        "type": "user",
        "uuid": "r",
        "parentUuid": "a",
        "sessionId": "s",
        "message": {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}],
        },
        "toolUseResult": {"agentId": "q"},
    },
    {
        "type": "system",
        "subtype": "compact_boundary",
        "uuid": "b",
        "parentUuid": None,
        "logicalParentUuid": "r",
        "sessionId": "s",
        "compactMetadata": {"trigger": "auto", "preTokens": 5},
    },
    {
        "type": "user",
        "uuid": "s1",
        "parentUuid": "b",
        "sessionId": "s",
        "isCompactSummary": True,
        "message": {"role": "user", "content": "summary"},
    },
    {
        "type": "attachment",
        "uuid": "h",
        "parentUuid": "s1",
        "sessionId": "s",
        "attachment": {"type": "hook_additional_context", "hookName": "H", "content": ["c"]},
    },
    {
        "type": "assistant",
        "uuid": "a2",
        "parentUuid": "h",
        "sessionId": "s",
        "message": {
            "id": "m2",
            "role": "assistant",
            "content": [{"type": "text", "text": "ok"}],
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    },
]

DOCUMENTS: list[Any] = [ANTHROPIC_LOG, OPENAI_LOG, CLAUDE_AI, CASSETTE, CLAUDE_CODE]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(paths(v, (*prefix, i)))
    return out


def replaced(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return doc


def encode(doc: Any, index: int) -> str:
    if index == len(DOCUMENTS) - 1 and isinstance(doc, list):  # Claude Code: JSON Lines
        return "\n".join(json.dumps(r) for r in doc)
    return json.dumps(doc)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(DOCUMENTS) - 1), st.integers(0, 10**6), json_values)
@pytest.mark.slow
def test_any_replacement_loads_or_raises_transcript_error(index: int, pick: int, new: Any) -> None:
    doc = DOCUMENTS[index]
    all_paths = paths(doc)
    mutated = replaced(doc, all_paths[pick % len(all_paths)], new)
    try:
        conv = loading.loads(encode(mutated, index))
    except TranscriptError:
        return
    assert conv.messages


def test_the_unmutated_documents_load_cleanly() -> None:
    for i, doc in enumerate(DOCUMENTS):
        conv = loading.loads(encode(doc, i))
        assert conv.messages and conv.requests, i
