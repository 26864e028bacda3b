"""Input formats: recognise a transcript from its content and read it into the model.

``parse_text`` takes decoded text and returns what it holds; ``ctxviz.loading`` handles bytes,
compression, zips, folders and sub-agent files around it. Detection never looks at file names:

- JSON whose value is a request body, a bare ``messages`` array, a log of request/response pairs, a
  VCR cassette, or a claude.ai export; JSONL of Claude Code records, logged pairs, messages or
  conversations; YAML VCR cassettes.
- JSONL (or a JSON array) of claude-trace records (``request`` with ``url`` and ``method``): a
  proxy capture of Claude Code's traffic (``formats.claude_trace``).
- Anthropic vs OpenAI: the cassette's URI, else the shapes (``system``/``tool`` roles,
  ``tool_calls``, ``choices``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ctxviz.budget import current
from ctxviz.errors import TranscriptError
from ctxviz.formats import anthropic, claude_ai, claude_code, claude_trace, openai
from ctxviz.formats._blocks import (
    TOO_DEEP,
    Notes,
    at,
    fail,
    kind,
    need_dict,
    need_list,
    read_record,
)
from ctxviz.formats.anthropic import Pair
from ctxviz.formats.claude_code import Session
from ctxviz.model import Conversation

if TYPE_CHECKING:
    import yaml

FORMATS = ("anthropic", "claude-code", "openai", "claude-ai", "claude-trace")


def normalize_format(fmt: str | None) -> str | None:
    """The canonical format name (``claude_code`` → ``claude-code``); ValueError if unknown."""
    if fmt is None:
        return None
    name = str(fmt).strip().lower().replace("_", "-")
    aliases = {
        "claudecode": "claude-code",
        "claudeai": "claude-ai",
        "claude.ai": "claude-ai",
        "claudetrace": "claude-trace",
    }
    name = aliases.get(name.replace("-", ""), name) if name not in FORMATS else name
    if name not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return name


@dataclass(slots=True)
class Parsed:
    """What one text held: conversations, the Claude Code session behind the first (to attach
    sub-agents), and each conversation's id (claude.ai uuid, session id) for selection."""

    conversations: list[Conversation]
    session: Session | None = None
    ids: list[str | None] = field(default_factory=list)
    unread: int = 0
    """Files of a zip or folder not read: the conversation asked for came before them."""


def parse_text(text: str, fmt: str | None = None, *, source: str | None = None) -> Parsed:
    """Read decoded text; ``fmt`` forces a format (still checked against the content)."""
    text = text.removeprefix("\ufeff")
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise TranscriptError(
            "empty input: no transcript" if not text else "the input holds only whitespace"
        )
    if fmt == "claude-code":
        session = claude_code.parse_session(text, source=source)
        return Parsed([session.conv], session, [session.session_id])
    if stripped[0] in "{[":
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as e:
            if _is_jsonl(stripped, e):
                return parse_jsonl(text, fmt, source=source)
            offset = len(text) - len(stripped)
            line = e.lineno + text.count("\n", 0, offset)
            raise TranscriptError(
                f"not valid JSON ({e.msg} at column {e.colno})", f"line {line}"
            ) from None
        except ValueError as e:
            raise TranscriptError(f"not valid JSON ({e})") from None
        except RecursionError:  # json.loads has no depth limit of its own
            if _is_jsonl(stripped, json.JSONDecodeError(TOO_DEEP, stripped, 0)):
                return parse_jsonl(text, fmt, source=source)
            raise TranscriptError(f"not valid JSON ({TOO_DEEP})") from None
        return parse_value(value, fmt, source=source)
    if _looks_yaml(stripped):
        return parse_value(_load_yaml(text), fmt, source=source, cassette_only=True)
    first = _head_lines(stripped, 1)[0]
    line = text.count("\n", 0, len(text) - len(stripped)) + 1
    raise TranscriptError(
        "not a transcript: expected JSON (a request body, messages or a log), JSONL (a Claude "
        f"Code session or a log) or a YAML cassette; it starts with {first[:60]!r}",
        f"line {line}",
    )


def _head_lines(text: str, n: int) -> list[str]:
    """The first ``n`` lines, without splitting a large text whole."""
    lines: list[str] = []
    start = 0
    while len(lines) < n and start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            lines.append(text[start:])
            break
        lines.append(text[start:end])
        start = end + 1
    return lines


def _is_jsonl(text: str, e: json.JSONDecodeError) -> bool:
    """JSON failed: is it JSON Lines (one object per line) rather than broken JSON?"""
    lines = [ln for ln in _head_lines(text, 30) if ln.strip()]
    if len(lines) < 2:
        return False
    if e.msg == "Extra data" and e.lineno > 1:
        return True
    ok = 0
    for ln in lines[:10]:
        try:
            ok += isinstance(json.loads(ln), dict)
        except (ValueError, RecursionError):
            continue
    return ok >= 2 or (ok == 1 and e.lineno == 1 and e.msg != "Extra data")


def _looks_yaml(text: str) -> bool:
    for line in _head_lines(text, 20):
        s = line.strip()
        if not s or s.startswith("#") or s == "---":
            continue
        return s.startswith(("interactions:", "version:")) or (s.endswith(":") and " " not in s)
    return False


def _load_yaml(text: str) -> Any:
    """A YAML document, its size checked first: every node counts as a record of the load's
    budget, an alias as many as the node it repeats (an alias bomb is refused before it is
    built)."""
    import yaml  # here: only cassettes are YAML (0.8 MB and 15 ms that loading JSONL need not pay)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _count_yaml_nodes(yaml.parse(text, Loader=loader))
        return yaml.load(text, Loader=loader)
    except UnicodeEncodeError as e:  # the C parser reads UTF-8: a lone surrogate has none
        raise TranscriptError(
            f"not valid YAML text (character {e.start} is a lone surrogate, {e.object[e.start]!r})"
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise TranscriptError(
            f"not valid YAML ({problem})", f"line {mark.line + 1}" if mark is not None else ""
        ) from None


def _count_yaml_nodes(events: Iterable[yaml.Event]) -> None:
    """Charge a YAML stream's nodes to the budget as its events come, aliases expanded."""
    import yaml

    budget = current()
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    total = charged = 0
    for ev in events:
        if isinstance(ev, yaml.AliasEvent):
            total += sizes.get(ev.anchor or "", 1)
        elif isinstance(ev, yaml.ScalarEvent):
            total += 1
            if ev.anchor:
                sizes[ev.anchor] = 1
        elif isinstance(ev, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            open_nodes.append((ev.anchor, total))
            total += 1
        elif isinstance(ev, yaml.SequenceEndEvent | yaml.MappingEndEvent) and open_nodes:
            anchor, start = open_nodes.pop()
            if anchor:
                sizes[anchor] = total - start
        if total - charged >= 4096:
            budget.record(total - charged)
            charged = total
    budget.record(total - charged)


# ---- JSON values -------------------------------------------------------------------------------

REQUEST_KEYS = ("request", "request_body")
RESPONSE_KEYS = ("response", "response_body")


def parse_value(
    value: object, fmt: str | None, *, source: str | None = None, cassette_only: bool = False
) -> Parsed:
    """A parsed JSON (or YAML) document."""
    if isinstance(value, dict) and "interactions" in value:
        return _one(_from_cassette(value, fmt, source))
    if cassette_only:
        raise TranscriptError("a YAML document without `interactions`: not a VCR cassette")
    if fmt == "claude-ai" or (fmt is None and claude_ai.looks_like(value)):
        convs = claude_ai.parse_export(value, source=source)
        items = value if isinstance(value, list) else [value]
        ids = [
            c.get("uuid") if isinstance(c, dict) and isinstance(c.get("uuid"), str) else None
            for c in items
        ]
        return Parsed(convs, None, ids)
    if fmt == "claude-code":
        raise TranscriptError("a JSON document, not a Claude Code session (JSONL)")
    notes = Notes()
    if isinstance(value, dict):
        if _is_pair(value):
            return _one(_from_pairs([_pair(value, "")], fmt, notes, source))
        if "messages" in value:
            if _provider(fmt, value.get("messages"), value) == "openai":
                return _one(openai.from_body(value, notes=notes, source=source))
            return _one(anthropic.from_body(value, notes=notes, source=source))
        keys = ", ".join(list(value)[:8])
        raise TranscriptError(
            "a JSON object with no `messages`: not a request body, log or export "
            f"(its keys: {keys})",
            "top level",
        )
    if isinstance(value, list):
        if not value:
            raise TranscriptError("an empty JSON array: no messages", "top level")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                fail(
                    f"expected an object (a message or a logged request), found {kind(item)}",
                    at("", i),
                )
        if fmt == "claude-trace" or (fmt is None and claude_trace.looks_like(value)):
            places = [(f"[{i}]", x) for i, x in enumerate(value)]
            return _one(claude_trace.parse_capture(places, notes=notes, source=source))
        if all(_is_pair(x) for x in value):
            pairs = [_pair(x, f"[{i}]") for i, x in enumerate(value)]
            return _one(_from_pairs(pairs, fmt, notes, source))
        if all("messages" in x and "role" not in x for x in value):
            pairs = [_body_pair(x, f"[{i}]") for i, x in enumerate(value)]
            return _one(_from_pairs(pairs, fmt, notes, source))
        if any("role" in x for x in value):
            if _provider(fmt, value, None) == "openai":
                return _one(openai.from_messages(value, notes=notes, source=source))
            return _one(anthropic.from_messages(value, notes=notes, source=source))
        fail("expected a message (with `role`) or a logged request (with `request`)", "[0]")
    raise TranscriptError(f"a JSON document holding {kind(value)} is not a transcript", "top level")


def _one(conv: Conversation) -> Parsed:
    return Parsed([conv], None, [None])


def _provider(
    fmt: str | None, messages: object, body: dict[str, Any] | None, response: object = None
) -> str:
    if fmt in ("anthropic", "openai"):
        return fmt
    if fmt is not None:
        raise TranscriptError(f"this is a Messages API or chat completions transcript, not {fmt}")
    if isinstance(response, dict):
        if "choices" in response:
            return "openai"
        if response.get("type") == "message" or isinstance(response.get("content"), list):
            return "anthropic"
    model = body.get("model") if body else None
    claude = (isinstance(model, str) and "claude" in model) or bool(body and "system" in body)
    if isinstance(messages, list) and openai.looks_like(messages, claude=claude):
        return "openai"
    if isinstance(model, str) and model.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    return "anthropic"


def _is_pair(obj: dict[str, Any]) -> bool:
    return any(k in obj for k in REQUEST_KEYS) or (
        "messages" in obj and any(k in obj for k in RESPONSE_KEYS)
    )


def _unwrap(value: object, where: str) -> tuple[object, str, Any]:
    """A logged body, possibly wrapped as ``{"body": ..., "headers": ...}`` or as a JSON string."""
    headers = None
    if (
        isinstance(value, dict)
        and "body" in value
        and not {"messages", "content", "choices"} & value.keys()
    ):
        headers = value.get("headers")
        value, where = value["body"], at(where, "body")
    if isinstance(value, dict) and set(value) == {"string"}:
        value, where = value["string"], at(where, "string")
    if isinstance(value, bytes):
        if value[:2] == b"\x1f\x8b":
            try:
                value = gzip.decompress(value)
            except (OSError, EOFError) as e:
                fail(f"a gzip body that does not decompress ({e})", where)
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as e:
            fail(f"a body that is not UTF-8 (byte offset {e.start})", where)
    if isinstance(value, str):
        s = value.strip()
        if s.startswith(("{", "[")):
            try:
                value = json.loads(s)
            except ValueError as e:
                fail(f"a body that is not valid JSON ({e})", where)
            except RecursionError:
                fail(f"a body that is not valid JSON ({TOO_DEEP})", where)
        elif not s:
            value = None
    return value, where, headers


def _pair(obj: dict[str, Any], where: str) -> Pair:
    base = where + "," if where.startswith("line ") else where
    req_key = next((k for k in REQUEST_KEYS if k in obj), None)
    resp_key = next((k for k in RESPONSE_KEYS if k in obj), None)
    if req_key is None:  # request parameters at the top level, next to the response
        request: object = {k: v for k, v in obj.items() if k not in RESPONSE_KEYS}
        req_where = base
        headers = None
    else:
        request, req_where, headers = _unwrap(obj[req_key], at(base, req_key))
    response, resp_where = None, at(base, resp_key or "response")
    if resp_key is not None:
        response, resp_where, _ = _unwrap(obj[resp_key], resp_where)
    if headers is None and isinstance(obj.get("headers"), dict):
        headers = obj["headers"]
    betas = anthropic.need_betas(obj.get("betas"), at(base, "betas"))
    return Pair(
        request=request,
        response=response,
        where=base,
        request_where=req_where,
        response_where=resp_where,
        headers=headers if isinstance(headers, dict) else None,
        betas=betas,
        timestamp=obj["timestamp"] if isinstance(obj.get("timestamp"), str) else None,
    )


def _body_pair(obj: dict[str, Any], where: str) -> Pair:
    base = where + "," if where.startswith("line ") else where
    return Pair(request=obj, response=None, where=base, request_where=base, response_where=base)


def _from_pairs(
    pairs: Sequence[Pair], fmt: str | None, notes: Notes, source: str | None
) -> Conversation:
    first = next((p for p in pairs if isinstance(p.request, dict)), None)
    req = first.request if first else None
    provider = _provider(
        fmt,
        req.get("messages") if isinstance(req, dict) else None,
        req if isinstance(req, dict) else None,
        first.response if first else None,
    )
    if provider == "openai":
        return openai.from_log(pairs, notes=notes, source=source)
    return anthropic.from_log(pairs, notes=notes, source=source)


# ---- cassettes ---------------------------------------------------------------------------------


def _from_cassette(doc: dict[str, Any], fmt: str | None, source: str | None) -> Conversation:
    """A VCR cassette: its Messages API or chat completions interactions, in order."""
    notes = Notes()
    interactions = need_list(
        doc.get("interactions"), "interactions", "`interactions` to be an array"
    )
    found: list[tuple[str | None, Pair]] = []
    for i, it in enumerate(interactions):
        here = at("interactions", i)
        it = need_dict(it, here, "an interaction object")
        req = need_dict(it.get("request"), at(here, "request"), "a `request` object")
        uri = req.get("uri") or req.get("url") or ""
        try:
            path = urlparse(uri).path if isinstance(uri, str) else ""
        except ValueError:  # "Invalid IPv6 URL" and the like
            notes.warn(at(here, "request.uri"), "not a URL; the call is read by its body")
            path = ""
        if path.endswith("/count_tokens"):
            notes.warn(here, "a count_tokens call, not a request with a response; skipped")
            continue
        provider: str | None = None
        if path.endswith("/v1/messages") or path.endswith("/messages"):
            provider = "anthropic"
        elif path.endswith("/chat/completions"):
            provider = "openai"
        elif path:
            notes.warn(
                here,
                f"{req.get('method', 'a')} {uri}: not a messages or chat completions call; skipped",
            )
            continue
        rw = at(here, "request")
        if "parsed_body" in req:
            body, bw, _ = _unwrap(req["parsed_body"], at(rw, "parsed_body"))
        else:
            body, bw, _ = _unwrap(req.get("body"), at(rw, "body"))
        resp = it.get("response")
        response, resp_where = None, at(here, "response")
        if isinstance(resp, dict):
            key = "parsed_body" if "parsed_body" in resp else "body"
            response, resp_where, _ = _unwrap(resp.get(key), at(resp_where, key))
            status = resp.get("status")
            code = status.get("code") if isinstance(status, dict) else status
            if isinstance(code, int) and code >= 400 and not isinstance(response, dict | str):
                notes.warn(here, f"the API answered HTTP {code}; no response recorded")
                response = None
        if not isinstance(body, dict) or "messages" not in body:
            notes.warn(here, "its request has no `messages`; skipped")
            continue
        headers = req.get("headers") if isinstance(req.get("headers"), dict) else None
        pair = Pair(
            request=body,
            response=response,
            where=here,
            request_where=bw,
            response_where=resp_where,
            headers=headers,
        )
        found.append((provider, pair))
    if not found:
        raise TranscriptError("the cassette holds no Messages API or chat completions call")
    detected = [p for p, _ in found if p is not None]
    if fmt in ("anthropic", "openai"):
        provider = fmt
    elif fmt is not None:
        raise TranscriptError(f"a VCR cassette of API calls, not {fmt}")
    elif detected:
        provider = max(set(detected), key=detected.count)
    else:
        p0 = found[0][1]
        req0 = p0.request if isinstance(p0.request, dict) else {}
        provider = _provider(None, req0.get("messages"), req0, p0.response)
    pairs = []
    for p, pair in found:
        if p is not None and p != provider:
            notes.warn(pair.where, f"a {p} call in a {provider} cassette; skipped")
        else:
            pairs.append(pair)
    if provider == "openai":
        return openai.from_log(pairs, notes=notes, source=source)
    return anthropic.from_log(pairs, notes=notes, source=source)


# ---- JSON Lines --------------------------------------------------------------------------------


def parse_jsonl(text: str, fmt: str | None, *, source: str | None = None) -> Parsed:
    """JSON Lines: a Claude Code session, or one logged pair, message or conversation per line."""
    sample: list[object] = []
    for line in _head_lines(text, 50):
        if line.strip():
            try:
                sample.append(json.loads(line))
            except (ValueError, RecursionError):
                continue
    if fmt == "claude-code" or (fmt is None and claude_code.looks_like(sample)):
        session = claude_code.parse_session(text, source=source)
        return Parsed([session.conv], session, [session.session_id])
    notes = Notes()
    records: list[tuple[int, dict[str, Any]]] = []
    for n, line in enumerate(text.split("\n"), 1):
        if line.strip() and (obj := read_record(line, n, notes)) is not None:
            records.append((n, obj))
    if not records:
        raise TranscriptError("no line of this JSONL input is a readable JSON object")
    objs = [o for _, o in records]
    if fmt == "claude-ai" or (fmt is None and claude_ai.looks_like(objs)):
        convs = [claude_ai.parse_conversation(o, f"line {n},", source=source) for n, o in records]
        for c in convs:
            c.warnings[:0] = notes.finish()
        return Parsed(
            convs, None, [o.get("uuid") if isinstance(o.get("uuid"), str) else None for o in objs]
        )
    if fmt == "claude-trace" or (fmt is None and claude_trace.looks_like(objs)):
        places = [(f"line {n}", o) for n, o in records]
        return _one(claude_trace.parse_capture(places, notes=notes, source=source))
    if all(_is_pair(o) for o in objs):
        pairs = [_pair(o, f"line {n}") for n, o in records]
        return _one(_from_pairs(pairs, fmt, notes, source))
    if all("messages" in o and "role" not in o for o in objs):
        pairs = [_body_pair(o, f"line {n}") for n, o in records]
        return _one(_from_pairs(pairs, fmt, notes, source))
    if all("role" in o for o in objs):
        return _one(_from_jsonl_messages(records, fmt, notes, source))
    n, o = next((n, o) for n, o in records if not ("role" in o or _is_pair(o)))
    raise TranscriptError(
        "not a transcript record: expected a Claude Code record, a logged request/response, a "
        f"message or a conversation (its keys: {', '.join(list(o)[:8])})",
        f"line {n}",
    )


def _from_jsonl_messages(
    records: list[tuple[int, dict[str, Any]]], fmt: str | None, notes: Notes, source: str | None
) -> Conversation:
    """One message per line: read as a messages array, then relabel each message by its line."""
    values = [o for _, o in records]
    provider = _provider(fmt, values, None)
    lines = [n for n, _ in records]
    try:
        if provider == "openai":
            conv = openai.from_messages(values, notes=notes, source=source)
        else:
            conv = anthropic.from_messages(values, notes=notes, source=source)
    except TranscriptError as e:
        raise TranscriptError(e.problem, _line_of(e.location, lines)) from None
    conv.warnings[:] = [_relabel(w, lines) for w in conv.warnings]
    return conv


def _line_of(location: str, lines: list[int]) -> str:
    """``[3].content[1]`` (an index into the records) → ``line 7, content[1]``."""
    if location.startswith("["):
        end = location.find("]")
        try:
            n = lines[int(location[1:end])]
        except (ValueError, IndexError):
            return location
        rest = location[end + 1 :].lstrip(".")
        return f"line {n}, {rest}" if rest else f"line {n}"
    return location


def _relabel(warning: str, lines: list[int]) -> str:
    head, sep, tail = warning.partition(": ")
    return f"{_line_of(head, lines)}{sep}{tail}" if sep else warning
