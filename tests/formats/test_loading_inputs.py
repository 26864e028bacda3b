"""Bytes and paths: compression, encodings, wrong kinds of file, format forcing."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
from pathlib import Path

import pytest

import ctxviz.loading as loading
from ctxviz.budget import Limits
from ctxviz.errors import TranscriptError

BODY = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
RAW = json.dumps(BODY).encode()


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, bz2.compress])
def test_compressed_input_is_recognised_by_magic_bytes(tmp_path: Path, compress: object) -> None:
    assert callable(compress)
    packed = compress(RAW)
    expected = loading.loads(RAW)
    assert loading.loads(packed).messages == expected.messages
    path = tmp_path / "no-telling-name.bin"  # the name says nothing: content decides
    path.write_bytes(packed)
    conv = loading.load(path)
    assert conv.messages == expected.messages and conv.source == str(path)


def test_corrupt_or_huge_compressed_data() -> None:
    with pytest.raises(TranscriptError, match="truncated xz data"):
        loading.loads(lzma.compress(RAW)[:-10])
    with pytest.raises(TranscriptError, match=r"not valid gzip data|truncated gzip data"):
        loading.loads(b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    with pytest.raises(TranscriptError, match="gzip data expands beyond 1,000 bytes"):
        loading.loads(gzip.compress(b" " * 5000 + RAW), limits=Limits(max_bytes=1000))


def test_empty_whitespace_binary_and_wrong_files() -> None:
    cases = [
        (b"", "^empty input: no transcript$"),
        (b" \n\t\n", "^the input holds only whitespace$"),
        (
            b"\x00\x01\x02garbage",
            r"^line 1: binary data, not a text transcript: a NUL byte at byte offset 0",
        ),
        (
            b"name,age\nbob,3\n",
            r"^line 1: not a transcript: expected JSON .* it starts with 'name,age'",
        ),
        (b'{"name": "bob"}', r"^top level: a JSON object with no `messages`.*\(its keys: name\)"),
        (
            b"[1, 2]",
            r"^\[0\]: expected an object \(a message or a logged request\), found a number",
        ),
        (
            b'{"messages": [\n  {"role": "user",\n   "content": "x" "y"}]}',
            r"^line 3: not valid JSON \(Expecting ',' delimiter at column 19\)",
        ),
        (b"foo: 1\nbar: 2\n", r"^line 1: not a transcript"),
        (b"interactions: [\n", r"^line 2: not valid YAML"),
    ]
    for data, pattern in cases:
        with pytest.raises(TranscriptError, match=pattern):
            loading.loads(data)


def test_non_utf8_names_the_byte_offset_and_line() -> None:
    data = b'{"messages": [\n{"role": "user", "content": "caf\xe9"}]}'
    with pytest.raises(TranscriptError) as err:
        loading.loads(data)
    assert str(err.value) == (
        "line 2: not UTF-8 text: byte 0xe9 at byte offset 47 (column 33) cannot be decoded"
    )
    assert isinstance(err.value, ValueError) and err.value.location == "line 2"


def test_bom_and_utf16_are_accepted() -> None:
    assert loading.loads(b"\xef\xbb\xbf" + RAW).messages == loading.loads(RAW).messages
    assert loading.loads(json.dumps(BODY).encode("utf-16")).messages == loading.loads(RAW).messages


def test_format_names_and_forcing() -> None:
    assert loading.loads(RAW, format="Anthropic").format == "anthropic"
    assert loading.loads(RAW, format="openai").format == "openai"
    with pytest.raises(ValueError, match="unknown format 'markdown'"):
        loading.loads(RAW, format="markdown")
    with pytest.raises(TranscriptError, match="not a Claude Code session"):
        loading.loads(RAW, format="claude_code")
    with pytest.raises(TypeError):
        loading.loads(123)  # type: ignore[arg-type]


def test_load_all_of_a_single_file_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "body.json").write_bytes(RAW)
    (convs,) = [loading.load_all(tmp_path / "body.json")]
    assert len(convs) == 1 and convs[0].messages
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TranscriptError, match="no transcript in this folder"):
        loading.load(empty)


def test_errors_never_escape_as_other_exceptions() -> None:
    """Odd shapes in every position raise TranscriptError, never KeyError/TypeError/…"""
    odd_values: list[object] = [None, 1, "x", [], {}, [1], {"a": 1}, True]
    shapes = [
        lambda v: {"messages": v},
        lambda v: {"messages": [{"role": "user", "content": v}]},
        lambda v: {"messages": [{"role": "assistant", "content": [v]}]},
        lambda v: {
            "messages": [
                {"role": "assistant", "content": [{"type": "tool_use", "id": v, "name": "x"}]}
            ]
        },
        lambda v: {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t", "content": v}],
                }
            ]
        },
        lambda v: {"messages": [{"role": "user", "content": "x"}], "system": v, "tools": v},
        lambda v: [{"request": {"messages": [{"role": "user", "content": "x"}]}, "response": v}],
        lambda v: [
            {
                "request": {"messages": [{"role": "user", "content": "x"}]},
                "response": {"content": [], "usage": v},
            }
        ],
        lambda v: [
            {
                "request": {"messages": [{"role": "user", "content": "x"}]},
                "response": {
                    "content": [],
                    "usage": {"input_tokens": 1, "cache_creation": v, "iterations": v},
                },
            }
        ],
        lambda v: [{"role": "system", "content": "s"}, {"role": "assistant", "tool_calls": v}],
        lambda v: [
            {"role": "system", "content": "s"},
            {"role": "assistant", "tool_calls": [{"id": "i", "function": v}]},
        ],
        lambda v: [{"uuid": "c", "chat_messages": v}],
        lambda v: [
            {"uuid": "c", "chat_messages": [{"sender": "human", "content": v, "attachments": v}]}
        ],
        lambda v: {"interactions": v},
        lambda v: {"interactions": [{"request": v, "response": v}]},
    ]
    for shape in shapes:
        for v in odd_values:
            data = json.dumps(shape(v))
            with contextlib.suppress(TranscriptError):
                loading.loads(data)
    records = [
        {"type": "user", "uuid": "u", "parentUuid": None, "sessionId": "s", "message": "x"},
        {
            "type": "assistant",
            "uuid": "a",
            "parentUuid": "u",
            "sessionId": "s",
            "message": {"content": None},
        },
        {
            "type": "assistant",
            "uuid": "b",
            "parentUuid": "a",
            "sessionId": "s",
            "message": {"id": 3, "content": [], "usage": "x"},
        },
    ]
    for r in records:
        with contextlib.suppress(TranscriptError):
            loading.loads(json.dumps(r) + "\n" + json.dumps(records[0]))


def test_bom_and_crlf_in_a_claude_code_string() -> None:
    records = [
        {
            "type": "user",
            "uuid": "u",
            "parentUuid": None,
            "sessionId": "s",
            "message": {"role": "user", "content": "hi"},
        },
        {
            "type": "assistant",
            "uuid": "a",
            "parentUuid": "u",
            "sessionId": "s",
            "message": {
                "id": "m",
                "role": "assistant",
                "content": [{"type": "text", "text": "yo"}],
            },
        },
    ]
    text = "\ufeff" + "\r\n".join(json.dumps(r) for r in records) + "\r\n"
    conv = loading.loads(text)
    assert conv.warnings == [] and len(conv.requests) == 1
