"""Hypothesis strategies for every input format, mostly well-formed and hostile in the leaves.

Ids come from small pools (duplicates, tool_results without their tool_use, parent cycles),
numbers from the whole range (negative, past 2**63, NaN, Infinity), strings may hold lone
surrogates, markup and control characters, and any field may hold a value of the wrong type.
Every example goes through ``run_case``: load, simulate, TranscriptError or nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz._check import run_case
from tests.fuzz._mutate import HOSTILE_TEXTS

EXAMPLES = int(os.environ.get("CTXVIZ_FUZZ_EXAMPLES", "120"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # a fixed, reproducible run in CI; failures print their example
    derandomize=os.environ.get("CTXVIZ_FUZZ_SEED") is None,
)

# ---- leaves ------------------------------------------------------------------------------------

any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),  # lone surrogates too
    st.sampled_from(HOSTILE_TEXTS),
    st.sampled_from(["", " ", "\n", "\x00", "<summary>s</summary>", "Warmup", "[{]"]),
)
numbers = st.one_of(
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(-10, 10**6),
    st.integers(min_value=2**62, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**30, -(2**63), 0, 1.0, 1e308]),
)
json_leaf = st.one_of(st.none(), st.booleans(), numbers, any_text)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually ``strategy``; one time in 16 any JSON value (a wrong type), one in 16 absent."""
    return st.integers(0, 15).flatmap(
        lambda i: json_value if i == 14 else st.just(_MISSING) if i == 15 else strategy
    )


_MISSING = object()


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose fields go through ``maybe``; absent ones are dropped."""
    return st.fixed_dictionaries({k: maybe(v) for k, v in fields.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not _MISSING}
    )


tool_ids = st.sampled_from(["toolu_1", "toolu_2", "toolu_3", "call_1", ""])
usage = obj(
    input_tokens=numbers,
    output_tokens=numbers,
    cache_read_input_tokens=numbers,
    cache_creation_input_tokens=numbers,
    cache_creation=obj(ephemeral_5m_input_tokens=numbers, ephemeral_1h_input_tokens=numbers),
    iterations=st.lists(
        obj(type=st.sampled_from(["compaction", "message"]), input_tokens=numbers), max_size=2
    ),
)

# ---- Anthropic Messages API ----------------------------------------------------------------------

BLOCK_TYPES = [
    "text", "thinking", "redacted_thinking", "tool_use", "tool_result", "image", "document",
    "compaction", "server_tool_use", "web_search_tool_result", "mcp_tool_use", "hologram", "",
]  # fmt: skip
block = st.deferred(
    lambda: obj(
        type=st.sampled_from(BLOCK_TYPES),
        text=any_text,
        thinking=any_text,
        signature=any_text,
        data=any_text,
        id=tool_ids,
        name=st.sampled_from(["Bash", "Task", "Agent", "web_search"]),
        input=json_value,
        tool_use_id=tool_ids,
        content=st.one_of(any_text, st.lists(block, max_size=2)),
        source=json_value,
        is_error=st.booleans(),
    )
)
content = st.one_of(any_text, st.lists(block, max_size=4))
message = obj(
    role=st.sampled_from(["user", "assistant", "user", "assistant", "system"]), content=content
)
messages = st.lists(message, min_size=1, max_size=6)


@SETTINGS
@given(
    body=obj(
        model=st.sampled_from(["claude-sonnet-4-5", "claude-opus-4-6", "gpt-4o", "claude-x-9"]),
        messages=messages,
        system=st.one_of(any_text, st.lists(block, max_size=2)),
        tools=st.lists(obj(name=any_text, type=any_text), max_size=2),
        max_tokens=numbers,
        thinking=obj(type=st.sampled_from(["enabled", "adaptive"]), budget_tokens=numbers),
        context_management=json_value,
    ),
    as_bytes=st.booleans(),
)
@pytest.mark.slow
def test_anthropic_request_body(body: dict[str, Any], as_bytes: bool) -> None:
    _run(json.dumps(body), "hypothesis anthropic body", as_bytes)


response = obj(
    type=st.sampled_from(["message", "error"]),
    role=st.just("assistant"),
    content=st.lists(block, max_size=3),
    usage=usage,
    stop_reason=any_text,
    context_management=obj(applied_edits=st.lists(json_value, max_size=2)),
)


@SETTINGS
@given(
    pairs=st.lists(
        obj(request=obj(model=st.just("claude-sonnet-4-5"), messages=messages), response=response),
        min_size=1,
        max_size=4,
    ),
    jsonl=st.booleans(),
)
@pytest.mark.slow
def test_anthropic_log(pairs: list[dict[str, Any]], jsonl: bool) -> None:
    text = "\n".join(json.dumps(p) for p in pairs) if jsonl else json.dumps(pairs)
    _run(text, "hypothesis anthropic log", True)


# ---- Claude Code -------------------------------------------------------------------------------

uuids = st.sampled_from(["u1", "u2", "u3", "u4", "u5", "u6"])
cc_record = obj(
    type=st.sampled_from(["user", "assistant", "assistant", "system", "attachment", "summary"]),
    uuid=uuids,
    parentUuid=st.one_of(st.none(), uuids),
    logicalParentUuid=uuids,
    sessionId=st.just("s1"),
    isSidechain=st.booleans(),
    isCompactSummary=st.booleans(),
    isMeta=st.booleans(),
    subtype=st.just("compact_boundary"),
    compactMetadata=obj(trigger=st.sampled_from(["auto", "manual"]), preTokens=numbers),
    message=obj(
        id=st.sampled_from(["msg_1", "msg_2", "msg_3"]),
        role=st.sampled_from(["user", "assistant"]),
        model=st.sampled_from(["claude-opus-4-6", "<synthetic>"]),
        content=content,
        usage=usage,
        stop_reason=any_text,
    ),
    attachment=obj(type=any_text, content=json_value, hookEvent=any_text),
    toolUseResult=obj(agentId=any_text),
)


@SETTINGS
@given(records=st.lists(cc_record, min_size=1, max_size=10), junk=st.lists(any_text, max_size=2))
@pytest.mark.slow
def test_claude_code_session(records: list[dict[str, Any]], junk: list[str]) -> None:
    lines = [json.dumps(r) for r in records] + junk
    _run("\n".join(lines), "hypothesis claude code", True)


# ---- OpenAI chat completions and claude.ai exports ---------------------------------------------

oa_message = obj(
    role=st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "bot"]),
    content=st.one_of(
        any_text,
        st.none(),
        st.lists(obj(type=st.sampled_from(["text", "image_url", "refusal", "x"]), text=any_text)),
    ),
    tool_calls=st.lists(
        obj(
            id=tool_ids,
            type=st.just("function"),
            function=obj(name=any_text, arguments=st.one_of(any_text, json_value.map(json.dumps))),
        ),
        max_size=2,
    ),
    tool_call_id=tool_ids,
    name=any_text,
    reasoning_content=any_text,
)


@SETTINGS
@given(msgs=st.lists(oa_message, min_size=1, max_size=6), model=st.sampled_from(["gpt-4o", "o3"]))
def test_openai_messages(msgs: list[dict[str, Any]], model: str) -> None:
    _run(json.dumps({"model": model, "messages": msgs}), "hypothesis openai", True)


chat_message = obj(
    uuid=uuids,
    parent_message_uuid=uuids,
    sender=st.sampled_from(["human", "assistant", "user", "robot"]),
    text=any_text,
    content=st.lists(block, max_size=3),
    attachments=st.lists(obj(file_name=any_text, extracted_content=any_text), max_size=2),
    files=st.lists(json_value, max_size=2),
)


@SETTINGS
@given(
    convs=st.lists(
        obj(
            uuid=uuids,
            name=any_text,
            current_leaf_message_uuid=uuids,
            chat_messages=st.lists(chat_message, max_size=5),
        ),
        min_size=1,
        max_size=3,
    )
)
@pytest.mark.slow
def test_claude_ai_export(convs: list[dict[str, Any]]) -> None:
    _run(json.dumps(convs), "hypothesis claude.ai", True)


# ---- bytes -------------------------------------------------------------------------------------

MAGIC = [b"", b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh9", b"PK\x03\x04", b"PK\x05\x06", b"\xef\xbb\xbf"]


@SETTINGS
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=600))
def test_arbitrary_bytes(prefix: bytes, body: bytes) -> None:
    run_case(prefix + body, "hypothesis bytes", "hypothesis bytes")


@SETTINGS
@given(text=st.text(st.characters(codec=None, exclude_categories=()), max_size=300))
def test_arbitrary_text(text: str) -> None:
    run_case(text, "hypothesis text", "hypothesis text")


def _run(text: str, cls: str, as_bytes: bool) -> None:
    data: str | bytes = text
    if as_bytes:
        data = text.encode("utf-8", "surrogatepass")  # lone surrogates as CESU-8 bytes
    run_case(data, f"{cls}: {text[:300]!r}", cls)
