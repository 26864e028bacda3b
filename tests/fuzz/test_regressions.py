"""One test per bug the fuzz suite found (tests/fuzz/FINDINGS.md), on the smallest input showing it.

Each failed before its fix with an exception other than TranscriptError (or a time-out), and must
now load to a TranscriptError or a Conversation that simulates.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ctxviz.errors import TranscriptError
from ctxviz.loading import load, loads
from tests.fuzz._check import run_case


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


BODY = ('{"messages":[{"role":"user","content":"' + "hello world " * 2000 + '"}]}').encode()


@pytest.mark.parametrize("offset", [0, 9, 33])
def test_corrupt_deflate_in_zip_member(offset: int) -> None:
    """F1 byte_flip on claude_code_session.zip: zlib.error escaped from zipfile.read."""
    data = bytearray(_zip("t.json", BODY))
    data[30 + len("t.json") + offset] ^= 0xFF  # inside the member's compressed data
    with pytest.raises(TranscriptError, match=r"^t\.json: zip member cannot be read"):
        loads(bytes(data))
    run_case(bytes(data), f"regression F1 offset {offset}", "regression")


def test_truncated_zip_member() -> None:
    """F1: a member cut short inside its deflate stream (EOFError, or zlib.error)."""
    data = _zip("t.json", BODY)
    cut = data[: 30 + len("t.json") + 40] + data[data.index(b"PK\x01\x02") :]
    with pytest.raises(TranscriptError):
        loads(cut)


DEEP = 100_000


def test_deeply_nested_json_document() -> None:
    """F2 deep_nesting/request_body.json: json.loads raised RecursionError."""
    text = "[" * DEEP + "]" * DEEP
    with pytest.raises(TranscriptError, match="nested too deeply"):
        loads(text)
    body = '{"messages":[{"role":"user","content":"hi"}],"x":' + "[" * DEEP + "]" * DEEP + "}"
    with pytest.raises(TranscriptError, match="nested too deeply"):
        loads(body)


def _pair(text: str) -> str:
    return (
        '{"request":{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"'
        + text
        + '"}]},"response":{"type":"message","role":"assistant","content":[{"type":"text",'
        '"text":"ok"}],"usage":{"input_tokens":10,"output_tokens":2}}}'
    )


def test_deeply_nested_jsonl_line_is_skipped_and_named() -> None:
    """F2 deep_nesting/thinking_chat.jsonl: one deep line raised RecursionError for the whole file;
    it is an unreadable line, so the rest loads and the line is named in the warnings."""
    deep = '{"a":' * DEEP + "1" + "}" * DEEP
    for lines in ([_pair("one"), deep, _pair("two")], [deep, _pair("one"), _pair("two")]):
        conv = loads("\n".join(lines))
        n = lines.index(deep) + 1
        assert any(w.startswith(f"line {n}: ") and "nested too deeply" in w for w in conv.warnings)
        assert len(conv.requests) == 2
        run_case("\n".join(lines), "regression F2 jsonl", "regression")


def test_deeply_nested_body_string_in_a_log() -> None:
    """F2: a logged request body held as a JSON string nested too deeply to decode."""
    body = '{"messages":' + "[" * DEEP + "]" * DEEP + "}"
    log = '[{"request":{"body":' + __import__("json").dumps(body) + '},"response":null}]'
    with pytest.raises(TranscriptError, match=r"^\[0\]\.request\.body: .*nested too deeply"):
        loads(log)


def _claude_code(usage: str, pre_tokens: str = "100") -> str:
    return "\n".join(
        [
            '{"type":"user","uuid":"u1","parentUuid":null,"sessionId":"s","message":{"role":"user",'
            '"content":"hi"}}',
            '{"type":"assistant","uuid":"a1","parentUuid":"u1","sessionId":"s","message":{"id":"m1",'
            '"role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"x"}],'
            f'"usage":{usage}}}}}',
            '{"type":"system","subtype":"compact_boundary","uuid":"b1","parentUuid":"a1",'
            f'"sessionId":"s","compactMetadata":{{"trigger":"auto","preTokens":{pre_tokens}}}}}',
            '{"type":"user","uuid":"u2","parentUuid":"b1","sessionId":"s","isCompactSummary":true,'
            '"message":{"role":"user","content":"summary"}}',
            '{"type":"assistant","uuid":"a2","parentUuid":"u2","sessionId":"s","message":{"id":"m2",'
            '"role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"y"}],'
            '"usage":{"input_tokens":5,"output_tokens":1}}}',
        ]
    )


@pytest.mark.parametrize("big", [2**63, 10**30, 10**13])
def test_absurd_usage_numbers(big: int) -> None:
    """F3 absurd_usage/thinking_chat.jsonl: usage past 2**63 loaded, then simulate raised
    OverflowError (int64 columns, float conversion). Counts above MAX_COUNT are now refused where
    usage is read: a log names the field, a Claude Code session ignores that usage (a warning)."""
    log = _pair("hi").replace('"input_tokens":10', f'"input_tokens":{big}')
    with pytest.raises(TranscriptError, match=r"^\[0\]\.response\.usage\.input_tokens: .*up to"):
        loads("[" + log + "]")
    conv = loads(_claude_code(f'{{"input_tokens":3,"output_tokens":{big}}}'))
    assert any("line 2, message.usage.output_tokens" in w for w in conv.warnings)
    run_case(_claude_code(f'{{"input_tokens":3,"output_tokens":{big}}}'), "F3", "regression")


def test_deeply_nested_session_line_is_skipped_and_named() -> None:
    """F2 deep_nesting/claude_code_session.zip: one deep session record raised RecursionError."""
    text = _claude_code('{"input_tokens":3,"output_tokens":1}')
    lines = text.split("\n")
    lines.insert(2, '{"a":' * DEEP + "1" + "}" * DEEP)
    conv = loads("\n".join(lines))
    assert any(w.startswith("line 3: ") and "nested too deeply" in w for w in conv.warnings)
    assert len(conv.requests) == 2


@pytest.mark.parametrize("unit", ["\n", "-", "a"])
def test_huge_string_is_priced_within_the_time_bound(unit: str) -> None:
    """F4 huge_string/request_body.json: a 2-million-character string took 16 s to price (ctok
    walks its trie up to ~10 µs a character on runs of newlines or dashes, and the cutter split
    everything); a text past LARGE_TEXT_CHARS is now priced from a fixed number of windows."""
    text = unit * 2_000_000
    body = (
        '{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":'
        + __import__("json").dumps(text)
        + "}]}"
    )
    outcome = run_case(body, f"F4 {unit!r}", "regression")
    assert outcome.conv is not None and outcome.seconds < 5.0


def test_jsonl_line_that_is_not_utf8_is_skipped_and_named(tmp_path: Path) -> None:
    """F5 invalid_utf8/thinking_chat.jsonl and truncation mid-character: one bad byte refused
    the whole JSONL file; it is an unreadable line, so the rest loads and the line is named."""
    good = _claude_code('{"input_tokens":3,"output_tokens":1}').encode()
    lines = good.split(b"\n")
    bad_line = lines[2].replace(b"compact_boundary", b"compact_\xff_boundary")
    cases = {
        "cc-bad-byte": b"\n".join([*lines[:2], b'{"x":"caf\xe9"}', *lines[2:]]),
        "cc-nul-tail": good + b"\n" + b"\x00" * 64,
        "cc-cut-in-char": good + b'\n{"type":"user","message":{"content":"\xe2\x82',
        "log-bad-byte": "\n".join([_pair("one"), _pair("two")]).encode() + b'\n{"a":"\xc3',
        "cc-bad-boundary": b"\n".join([*lines[:2], bad_line, *lines[3:]]),
    }
    for name, data in cases.items():
        conv = loads(data)
        n = next(
            i
            for i, ln in enumerate(data.split(b"\n"), 1)
            if b"\xff" in ln or b"\x00" in ln or b"\xe9" in ln or b"\xe2\x82" in ln or b"\xc3" in ln
        )
        assert any(w.startswith(f"line {n}: ") and "skipped" in w for w in conv.warnings), name
        path = tmp_path / f"{name}.jsonl"  # from a path: a session file is streamed line by line
        path.write_bytes(data)
        from_path = load(path)
        assert [m.content for m in from_path.messages] == [m.content for m in conv.messages], name
        assert any(w.startswith(f"line {n}: ") for w in from_path.warnings), name
        with zipfile.ZipFile(zpath := tmp_path / f"{name}.zip", "w") as zf:
            zf.writestr(f"{name}.jsonl", data)
        assert any(w.startswith(f"{name}.jsonl, line {n}: ") for w in load(zpath).warnings), name
        run_case(data, f"F5 {name}", "regression")


def test_non_utf8_json_document_is_still_refused() -> None:
    """F5's recovery is for JSON Lines only: a JSON document with a bad byte names its place."""
    with pytest.raises(TranscriptError, match=r"^line 1: not UTF-8 text: byte 0xff"):
        loads(b'{"messages":[{"role":"user","content":"\xff"}]}')
    with pytest.raises(TranscriptError, match=r"^line 2: binary data"):
        loads(b'{"messages":\n[{"role":"user","content":"\x00"}]}')


@pytest.mark.parametrize("content", ['""', "[]"])
def test_conversation_without_any_block(content: str) -> None:
    """F6 hypothesis anthropic body: a history with no block at all (one user message with empty
    content) made simulate raise numpy's UFuncTypeError (an empty bincount is int64, then float64
    was added in place)."""
    run_case('{"messages":[{"role":"user","content":' + content + "}]}", "F6", "regression")


@pytest.mark.parametrize("field", ["uuid", "parent_message_uuid"])
def test_claude_ai_ids_of_the_wrong_type(field: str) -> None:
    """F7 hypothesis claude.ai: an array or object as a message's uuid or parent_message_uuid
    raised TypeError (unhashable) while following the branch."""
    msgs = [
        {"uuid": "m1", "parent_message_uuid": None, "sender": "human", "text": "hi"},
        {"uuid": "m2", "parent_message_uuid": "m1", "sender": "assistant", "text": "yo"},
    ]
    msgs[1][field] = []
    export = [{"uuid": "c1", "name": "x", "chat_messages": msgs}]
    run_case(__import__("json").dumps(export), "F7", "regression")


def test_unreadable_line_in_a_session_does_not_cut_the_chain() -> None:
    """F8 nothing-lost on every real session: one unreadable line inside a Claude Code chain left
    its child with a parent "not in this file", so the chain started there and every record
    before the line was counted as an abandoned branch (cb2e607c: 76 of 86 blocks gone)."""
    lines = _claude_code('{"input_tokens":3,"output_tokens":1}').split("\n")
    lines[1] = lines[1][:40]  # the first assistant record, cut short
    conv = loads("\n".join(lines))
    texts = [b.text for m in conv.messages for b in m.content]  # type: ignore[union-attr]
    assert texts[0] == "hi", texts  # the first prompt, before the unreadable line, is kept
    assert any(w.startswith("line 2: not valid JSON") for w in conv.warnings)
    assert any(w.startswith("line 3: ") and "continues from line 1" in w for w in conv.warnings)
    assert not any("abandoned" in w for w in conv.warnings), conv.warnings


@pytest.mark.parametrize("uri", ["https://[api.anthropic.com/v1/messages", "http://[click]/x"])
def test_cassette_uri_that_is_not_a_url(uri: str) -> None:
    """Issue 13 fuzz: urlparse's ValueError ("Invalid IPv6 URL") escaped the cassette reader."""
    cassette = f"""interactions:
- request:
    uri: '{uri}'
    body: '{{"model": "claude-sonnet-4-5", "messages": [{{"role": "user", "content": "hi"}}]}}'
  response: {{status: {{code: 200}}, body: {{content: [], usage: {{input_tokens: 3}}}}}}
"""
    conv = loads(cassette)
    assert conv.messages and any("not a URL" in w for w in conv.warnings)
    run_case(cassette, f"regression uri {uri}", "regression")


def test_yaml_text_with_a_lone_surrogate() -> None:
    """Issue 13 fuzz: a str cassette holding a lone surrogate raised UnicodeEncodeError from the
    C YAML parser."""
    text = "\ud800interactions:\n- request: {uri: https://api.anthropic.com/v1/messages}\n"
    with pytest.raises(TranscriptError, match="lone surrogate"):
        loads(text)
    run_case(text, "regression yaml surrogate", "regression")
