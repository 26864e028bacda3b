"""Deterministic mutations of a transcript: one function per case class of the issue.

Every mutator takes the seed's bytes, its kind and a seeded ``random.Random`` and returns new
bytes, so a failing case is reproduced from (seed name, class, case number) alone. Structural
mutators parse the seed (JSON, one JSONL line, or YAML), change one node and serialise it back;
the others work on bytes.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from tests.fuzz._corpus import Kind

Mutator = Callable[[bytes, Kind, random.Random], bytes]

# Keys the loaders branch on: a structural mutation picks one of these half of the time.
HOT_KEYS = frozenset(
    {
        "type", "role", "content", "messages", "message", "text", "thinking", "id", "uuid",
        "parentUuid", "logicalParentUuid", "tool_use_id", "input", "usage", "input_tokens",
        "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "request",
        "response", "parsed_body", "body", "interactions", "choices", "tool_calls", "function",
        "arguments", "system", "tools", "name", "model", "sessionId", "isSidechain",
        "isCompactSummary", "subtype", "compactMetadata", "iterations", "context_management",
        "signature", "data", "source", "prompt_tokens", "completion_tokens", "tool_call_id",
        "chat_messages", "sender", "attachments", "max_tokens", "thinking_tokens", "stop_reason",
    }
)  # fmt: skip


# ---- documents -----------------------------------------------------------------------------------


class Doc:
    """A parsed seed: a JSON/YAML value, or JSONL lines (values, or raw bytes when unparseable)."""

    def __init__(self, data: bytes, kind: Kind) -> None:
        self.kind = kind
        self.lines: list[Any] = []
        self.value: Any = None
        if kind == "jsonl":
            for line in data.split(b"\n"):
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    self.lines.append(line)
        elif kind == "yaml":
            self.value = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        else:
            self.value = json.loads(data)

    def roots(self) -> list[tuple[Any, Any]]:
        """(container, key) of each top-level value that can be mutated."""
        if self.kind == "jsonl":
            return [(self.lines, i) for i, v in enumerate(self.lines) if isinstance(v, dict | list)]
        return [(self, "value")]

    def dump(self) -> bytes:
        if self.kind == "jsonl":
            return b"\n".join(
                v if isinstance(v, bytes) else _json(v).encode("utf-8") for v in self.lines
            )
        if self.kind == "yaml":
            try:
                dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
                text = yaml.dump(self.value, Dumper=dumper, allow_unicode=False, sort_keys=False)
                return text.encode()
            except (yaml.YAMLError, UnicodeError, RecursionError):
                return _json(self.value).encode("utf-8")  # still a cassette, as JSON
        return _json(self.value).encode("utf-8")


def _json(value: Any) -> str:
    # ensure_ascii writes lone surrogates as \\udXXX escapes, as a broken writer would
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


def _get(container: Any, key: Any) -> Any:
    return getattr(container, key) if isinstance(container, Doc) else container[key]


def _set(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, Doc):
        setattr(container, key, value)
    else:
        container[key] = value


def nodes(value: Any, container: Any, key: Any, depth: int = 0) -> Iterator[tuple[Any, Any, Any]]:
    """Every (container, key, value) under a value, the value itself first."""
    yield container, key, value
    if depth > 60:
        return
    if isinstance(value, dict):
        for k, v in list(value.items()):
            yield from nodes(v, value, k, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from nodes(v, value, i, depth + 1)


def pick_node(doc: Doc, rng: random.Random, pred: Callable[[Any, Any, Any], bool] | None = None):
    """A random (container, key, value); hot keys half of the time; None if nothing matches."""
    roots = doc.roots()
    if not roots:
        return None
    # a few roots at random (a long JSONL file has thousands of lines)
    chosen = rng.sample(roots, min(len(roots), 8))
    found = [n for c, k in chosen for n in nodes(_get(c, k), c, k)]
    if pred is not None:
        found = [n for n in found if pred(*n)]
    if not found:
        return None
    hot = [n for n in found if isinstance(n[1], str) and n[1] in HOT_KEYS]
    return rng.choice(hot if hot and rng.random() < 0.5 else found)


def structural(change: Callable[[Doc, random.Random], bool]) -> Mutator:
    """A mutator that parses the seed, applies ``change`` and serialises it back."""

    def mutate(data: bytes, kind: Kind, rng: random.Random) -> bytes:
        if kind == "binary":
            return flip_bytes(data, kind, rng)
        doc = Doc(data, kind)
        if not change(doc, rng):
            return truncate(data, kind, rng)  # nothing to change: still a hostile case
        return doc.dump()

    mutate.__name__ = change.__name__
    return mutate


# ---- byte-level ----------------------------------------------------------------------------------


def truncate(data: bytes, kind: Kind, rng: random.Random) -> bytes:
    """Cut the input anywhere (mid-token, mid-UTF-8 sequence, mid-line, mid-stream)."""
    if not data:
        return data
    return data[: rng.randrange(len(data))]


def flip_bytes(data: bytes, kind: Kind, rng: random.Random) -> bytes:
    """Flip 1–8 random bits, or overwrite a byte with a structural character."""
    if not data:
        return b"\x00"
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(b))
        if rng.random() < 0.5:
            b[i] ^= 1 << rng.randrange(8)
        else:
            b[i] = rng.choice(b'{}[]":,\\\n\x00\xff 0-e')
    return bytes(b)


INVALID_UTF8 = (b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80")


def invalid_utf8(data: bytes, kind: Kind, rng: random.Random) -> bytes:
    """Insert bytes that are not UTF-8 (lone lead or continuation, CESU surrogate, overlong)."""
    seq = rng.choice(INVALID_UTF8)
    if not data:
        return seq
    # inside a string value when possible: after a quote
    quotes = [i for i in range(min(len(data), 200_000)) if data[i] == 0x22]
    i = rng.choice(quotes) + 1 if quotes and rng.random() < 0.8 else rng.randrange(len(data))
    return data[:i] + seq + data[i:]


def line_ops(data: bytes, kind: Kind, rng: random.Random) -> bytes:
    """Delete, duplicate, swap or reverse lines (JSONL order and duplicates)."""
    lines = data.split(b"\n")
    if len(lines) < 2:
        return truncate(data, kind, rng)
    op = rng.choice(("delete", "duplicate", "swap", "reverse", "blank"))
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(j, lines[i])
    elif op == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "reverse":
        lines.reverse()
    else:
        lines[i] = b" \t\r"
    return b"\n".join(lines)


# ---- structural ----------------------------------------------------------------------------------

WRONG_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1.5, -1e308, "", "x", [], {}, [None], {"type": None}, [[]],
    "\x00", "NaN", 2**63, -(2**63) - 1,
)  # fmt: skip


def _wrong_type(doc: Doc, rng: random.Random) -> bool:
    n = pick_node(doc, rng)
    if n is None:
        return False
    container, key, value = n
    choices = [v for v in WRONG_VALUES if type(v) is not type(value)]
    _set(container, key, copy.deepcopy(rng.choice(choices)))
    return True


def _missing_field(doc: Doc, rng: random.Random) -> bool:
    n = pick_node(doc, rng, lambda c, k, v: isinstance(c, dict))
    if n is None:
        return False
    container, key, _ = n
    del container[key]
    return True


def _deep_nesting(doc: Doc, rng: random.Random) -> bool:
    """Replace a node by an array or object nested 10–100,000 deep (past every recursion limit)."""
    n = pick_node(doc, rng)
    if n is None:
        return False
    depth = rng.choice((10, 500, 990, 1_000, 1_100, 5_000, 100_000))
    inner: Any = _get(n[0], n[1])
    if rng.random() < 0.5:
        for _ in range(depth):
            inner = [inner]
    else:
        for _ in range(depth):
            inner = {"a": inner}
    _set(n[0], n[1], _Raw(depth, inner))
    return True


class _Raw:
    """A deeply nested value that json.dumps cannot serialise recursively: written by hand."""

    def __init__(self, depth: int, value: Any) -> None:
        self.depth, self.value = depth, value


def _dump_deep(value: Any) -> str:
    parts: list[str] = []
    closers: list[str] = []
    v = value
    while True:
        if isinstance(v, list) and len(v) == 1 and isinstance(v[0], list | dict):
            parts.append("[")
            closers.append("]")
            v = v[0]
        elif isinstance(v, dict) and list(v) == ["a"] and isinstance(v["a"], list | dict):
            parts.append('{"a":')
            closers.append("}")
            v = v["a"]
        else:
            parts.append(json.dumps(v, ensure_ascii=True, allow_nan=True, default=str))
            break
    return "".join(parts) + "".join(reversed(closers))


def _json_with_raw(value: Any) -> str:
    """JSON text of a value holding ``_Raw`` nodes (written by hand, not recursively)."""
    marks: dict[str, str] = {}

    def swap(v: Any) -> Any:
        if isinstance(v, _Raw):
            token = f"@@RAW{len(marks)}@@"
            marks[token] = _dump_deep(v.value)
            return token
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value), ensure_ascii=True, allow_nan=True)
    for token, raw in marks.items():
        text = text.replace(json.dumps(token), raw)
    return text


def deep_nesting(data: bytes, kind: Kind, rng: random.Random) -> bytes:
    if kind == "binary":
        return flip_bytes(data, kind, rng)
    doc = Doc(data, kind)
    if not _deep_nesting(doc, rng):
        return b"[" * 100_000 + b"]" * 100_000
    if doc.kind == "jsonl":
        return b"\n".join(
            v if isinstance(v, bytes) else _json_with_raw(v).encode() for v in doc.lines
        )
    return _json_with_raw(doc.value).encode()  # YAML seeds become a JSON cassette here


HUGE_STRING_CHARS = 2_000_000
"""A mutation case's long string (the 100 MB case is its own test: it costs seconds)."""


def _huge_string(doc: Doc, rng: random.Random) -> bool:
    n = pick_node(doc, rng, lambda c, k, v: isinstance(v, str))
    if n is None:
        return False
    unit = rng.choice(("a", "word ", "\n", "é", "😀", "<script>x</script>", " " * 7 + "\t"))
    _set(n[0], n[1], unit * (HUGE_STRING_CHARS // len(unit)))
    return True


SURROGATES = ("\ud800", "\udfff", "\udc00x\ud83d", "a\ud83d")


def _lone_surrogate(doc: Doc, rng: random.Random) -> bool:
    n = pick_node(doc, rng, lambda c, k, v: isinstance(v, str) or isinstance(c, dict))
    if n is None:
        return False
    container, key, value = n
    s = rng.choice(SURROGATES)
    if isinstance(value, str):
        at = rng.randint(0, len(value))
        _set(container, key, value[:at] + s + value[at:])
    if isinstance(container, dict) and rng.random() < 0.3:  # in a key too
        container[key + s] = container.pop(key)
    return True


NON_FINITE = (math.nan, math.inf, -math.inf, 1e400, -0.0, 1e-320)


def _nan_infinity(doc: Doc, rng: random.Random) -> bool:
    n = pick_node(
        doc, rng, lambda c, k, v: isinstance(v, int | float) and not isinstance(v, bool)
    ) or pick_node(doc, rng)
    if n is None:
        return False
    _set(n[0], n[1], rng.choice(NON_FINITE))
    return True


def _is_block(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("type"), str)


def _duplicate_ids(doc: Doc, rng: random.Random) -> bool:
    """Give a tool_use / message / record the id of another one, or duplicate a block or line."""
    ids = [
        (c, k, v)
        for c, k, v in (n for r in doc.roots() for n in nodes(_get(*r), *r))
        if k in ("id", "uuid", "tool_use_id", "tool_call_id") and isinstance(v, str)
    ]
    if len(ids) >= 2 and rng.random() < 0.7:
        (c1, k1, _), (_, _, v2) = rng.sample(ids, 2)
        c1[k1] = v2
        return True
    n = pick_node(doc, rng, lambda c, k, v: isinstance(c, list) and _is_block(v))
    if n is None:
        if doc.kind == "jsonl" and doc.lines:
            doc.lines.insert(rng.randrange(len(doc.lines)), rng.choice(doc.lines))
            return True
        return False
    container, key, value = n
    container.insert(key, copy.deepcopy(value))
    return True


def _orphan_tool_result(doc: Doc, rng: random.Random) -> bool:
    """A tool_result whose tool_use is gone: delete a tool_use block or rename its result's id."""
    uses = [
        n
        for r in doc.roots()
        for n in nodes(_get(*r), *r)
        if isinstance(n[0], list) and _is_block(n[2]) and n[2]["type"] == "tool_use"
    ]
    results = [
        n
        for r in doc.roots()
        for n in nodes(_get(*r), *r)
        if _is_block(n[2]) and n[2]["type"] == "tool_result"
    ]
    if uses and rng.random() < 0.5:
        container, key, _ = rng.choice(uses)
        del container[key]
        return True
    if results:
        results_block = rng.choice(results)[2]
        results_block["tool_use_id"] = f"toolu_orphan_{rng.randrange(10**6)}"
        return True
    lists = [
        n
        for r in doc.roots()
        for n in nodes(_get(*r), *r)
        if n[1] == "content" and isinstance(n[2], list)
    ]
    if not lists:
        return False
    rng.choice(lists)[2].insert(
        0, {"type": "tool_result", "tool_use_id": "toolu_nowhere", "content": "orphan"}
    )
    return True


UNKNOWN_BLOCKS: tuple[dict[str, Any], ...] = (
    {"type": "hologram", "payload": {"x": [1, 2, 3]}},
    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_x", "content": [{"a": 1}]},
    {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "m", "input": None},
    {"type": "container_upload", "file_id": "file_1"},
    {"type": "image", "source": None},
    {"type": "document", "source": {"type": "base64", "data": "A" * 40}, "title": 5},
    {"type": "compaction", "content": None},
    {"type": "redacted_thinking", "data": ""},
    {"type": "text"},
    {"type": ""},
)


def _unknown_block(doc: Doc, rng: random.Random) -> bool:
    lists = [
        n
        for r in doc.roots()
        for n in nodes(_get(*r), *r)
        if n[1] in ("content", "system") and isinstance(n[2], list)
    ]
    block = copy.deepcopy(rng.choice(UNKNOWN_BLOCKS))
    if lists:
        target = rng.choice(lists)[2]
        target.insert(rng.randint(0, len(target)), block)
        return True
    n = pick_node(doc, rng, lambda c, k, v: _is_block(v))
    if n is None:
        return False
    n[2]["type"] = block["type"]
    return True


USAGE_KEYS = (
    "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
    "prompt_tokens", "completion_tokens", "cached_tokens", "ephemeral_5m_input_tokens",
    "thinking_tokens", "reasoning_tokens", "preTokens", "max_tokens", "budget_tokens",
)  # fmt: skip
ABSURD = (-1, -(10**9), 10**12, 2**63 - 1, 2**63, 2**64 + 1, 10**30, 10**4000, 1.0e18, 0)


def _absurd_usage(doc: Doc, rng: random.Random) -> bool:
    hits = [
        n
        for r in doc.roots()
        for n in nodes(_get(*r), *r)
        if n[1] in USAGE_KEYS and isinstance(n[0], dict)
    ]
    if not hits:
        return False
    for container, key, _ in rng.sample(hits, min(len(hits), rng.randint(1, 3))):
        container[key] = rng.choice(ABSURD)
    return True


def _hostile_markup(doc: Doc, rng: random.Random) -> bool:
    """Script tags, event handlers, markdown links and images, LaTeX in a text field."""
    n = pick_node(doc, rng, lambda c, k, v: isinstance(v, str) and k in ("text", "content"))
    if n is None:
        return False
    _set(n[0], n[1], rng.choice(HOSTILE_TEXTS) + _get(n[0], n[1]))
    return True


HOSTILE_TEXTS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "[click](javascript:alert(1)) ![img](http://203.0.113.7/x.png)",
    "<!-- hidden --> $$\\frac{a}{b}$$ \\(x\\) {{7*7}} ${7*7}",
    "\u202e\u200b\ufeff\x1b[31m",
)

wrong_type = structural(_wrong_type)
missing_field = structural(_missing_field)
huge_string = structural(_huge_string)
lone_surrogate = structural(_lone_surrogate)
nan_infinity = structural(_nan_infinity)
duplicate_ids = structural(_duplicate_ids)
orphan_tool_result = structural(_orphan_tool_result)
unknown_block = structural(_unknown_block)
absurd_usage = structural(_absurd_usage)
hostile_markup = structural(_hostile_markup)

MUTATORS: dict[str, Mutator] = {
    "truncation": truncate,
    "byte_flip": flip_bytes,
    "invalid_utf8": invalid_utf8,
    "line_ops": line_ops,
    "wrong_type": wrong_type,
    "missing_field": missing_field,
    "deep_nesting": deep_nesting,
    "huge_string": huge_string,
    "lone_surrogate": lone_surrogate,
    "nan_infinity": nan_infinity,
    "duplicate_ids": duplicate_ids,
    "orphan_tool_result": orphan_tool_result,
    "unknown_block": unknown_block,
    "absurd_usage": absurd_usage,
    "hostile_markup": hostile_markup,
}
