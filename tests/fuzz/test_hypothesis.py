"""Hypothesis strategies for every input format, mostly well-formed and hostile in the leaves.

Ids come from small pools (duplicates, tool_results without their tool_use, parent cycles),
numbers from the whole range (negative, past 2**63, NaN, Infinity), strings may hold lone
surrogates, markup and control characters, and any field may hold a value of the wrong type.
Every example goes through ``run_case``: load, simulate, TranscriptError or nothing.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz._check import run_case, run_path_case
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


# ---- bytes and text ----------------------------------------------------------------------------
# Random bytes or text almost never get past format detection (2,000 of 2,000 were refused as
# binary or "not a transcript"): these start from a small valid transcript of each format and
# splice random bytes or characters into it, then may compress or zip the result, so that most
# cases reach a parser and about a third still load.

_CC = [
    {"type": "user", "uuid": "u1", "parentUuid": None, "sessionId": "s1",
     "message": {"role": "user", "content": "hi"}},
    {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "s1",
     "message": {"id": "m1", "role": "assistant", "model": "claude-opus-4-6",
                 "content": [{"type": "text", "text": "yo"}],
                 "usage": {"input_tokens": 5, "output_tokens": 2}}},
    {"type": "user", "uuid": "u2", "parentUuid": "a1", "sessionId": "s1",
     "message": {"role": "user", "content": [{"type": "text", "text": "more"}]}},
]  # fmt: skip
_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"},
                                      {"type": "tool_use", "id": "t1", "name": "Bash",
                                       "input": {"c": 1}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
]}  # fmt: skip
_RESPONSE = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}],
             "usage": {"input_tokens": 9, "output_tokens": 1}}  # fmt: skip
_EXPORT = [{"uuid": "c1", "name": "chat", "chat_messages": [
    {"uuid": "m1", "sender": "human", "text": "hi"},
    {"uuid": "m2", "sender": "assistant", "text": "yo"}]}]  # fmt: skip
_CASSETTE = """interactions:
- request:
    uri: https://api.anthropic.com/v1/messages
    body: '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}'
  response:
    status: {code: 200}
    body: {string: '{"content": [], "usage": {"input_tokens": 3, "output_tokens": 1}}'}
"""
SEED_TEXTS = (
    "\n".join(json.dumps(r) for r in _CC) + "\n",
    json.dumps(_BODY, indent=1),
    "\n".join(json.dumps({"request": _BODY, "response": _RESPONSE}) for _ in range(2)),
    json.dumps({"model": "gpt-4o", "messages": [{"role": "system", "content": "s"},
                                                {"role": "user", "content": "hi"}]}),
    json.dumps(_EXPORT),
    _CASSETTE,
)  # fmt: skip


def _splice[T: (str, bytes)](seed: T, edits: list[tuple[int, int, T]]) -> T:
    """``seed`` with each edit applied: at a position, delete some, insert a piece."""
    out = seed
    for at, cut, piece in edits:
        i = at % (len(out) + 1)
        out = out[:i] + piece + out[i + cut :]
    return out


def _wrap(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data)
    if how == "xz":
        return lzma.compress(data)
    if how == "bzip2":
        return bz2.compress(data)
    if how == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("t.jsonl", data)
            zf.writestr("t/subagents/agent-x.jsonl", data[: len(data) // 2])
        return buf.getvalue()
    return data


positions = st.integers(0, 1 << 20)
text_pieces = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=8),
    st.sampled_from(['"', "{", "}", "[", "]", ",", ":", "\n", "null", "\\u0000", "1e999"]),
    st.sampled_from(HOSTILE_TEXTS),
)
byte_pieces = st.one_of(  # raw bytes, or text as bytes (so that most cases stay UTF-8)
    st.binary(max_size=8), text_pieces.map(lambda t: t.encode("utf-8", "surrogatepass"))
)
byte_edits = st.lists(st.tuples(positions, st.integers(0, 6), byte_pieces), min_size=1, max_size=4)
text_edits = st.lists(st.tuples(positions, st.integers(0, 6), text_pieces), min_size=1, max_size=4)
wraps = st.sampled_from(["", "", "", "gzip", "xz", "bzip2", "zip"])


def mutated_bytes() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda seed, edits, how: _wrap(_splice(seed.encode(), edits), how),
        st.sampled_from(SEED_TEXTS),
        byte_edits,
        wraps,
    )


@SETTINGS
@given(data=mutated_bytes())
def test_arbitrary_bytes(data: bytes) -> None:
    run_case(data, f"hypothesis bytes: {data[:300]!r}", "hypothesis bytes")


@SETTINGS
@given(seed=st.sampled_from(SEED_TEXTS), edits=text_edits)
def test_arbitrary_text(seed: str, edits: list[tuple[int, int, str]]) -> None:
    text = _splice(seed, edits)
    run_case(text, f"hypothesis text: {text[:300]!r}", "hypothesis text")


@SETTINGS
@given(data=mutated_bytes(), name=st.sampled_from(["s.jsonl", "x.json", "c.yaml", "f.bin"]))
def test_paths_load_all_and_the_command_line(data: bytes, name: str) -> None:
    """The same inputs as files: ``load(path)``, ``load_all(path)`` and ``ctxviz summary``."""
    run_path_case(data, name, f"hypothesis path: {name} {data[:300]!r}", "hypothesis path")


def _run(text: str, cls: str, as_bytes: bool) -> None:
    data: str | bytes = text
    if as_bytes:
        data = text.encode("utf-8", "surrogatepass")  # lone surrogates as CESU-8 bytes
    run_case(data, f"{cls}: {text[:300]!r}", cls)
