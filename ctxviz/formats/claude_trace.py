"""claude-trace captures → ``Conversation`` (``format="claude-trace"``).

claude-trace, the proxy people use to record Claude Code's traffic, writes one JSON object per
line: ``{"request": {"timestamp", "method", "url", "headers", "body"}, "response": {"timestamp",
"status_code", "headers", "body"} or {..., "body_raw": "<SSE text>"} or null, "logged_at"}``.
Streamed responses sit in ``body_raw`` as server-sent events and are reassembled into one response
(``anthropic.reassemble_stream``: usage from ``message_start``, its final counts from
``message_delta``). Only ``POST …/v1/messages`` calls are requests; the rest of the traffic
(``count_tokens``, ``HEAD`` probes, telemetry) is skipped and counted in one warning.

One capture interleaves Claude Code's conversations (the main one, sub-agents, side calls for
titles or quota): it is read as one log whose segments are those conversations, each request with
its own model, system prompt and tools (``Request.system`` / ``Request.tools``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from ctxviz.errors import TranscriptError, json_value
from ctxviz.formats import anthropic
from ctxviz.formats._blocks import Notes, at
from ctxviz.formats.anthropic import Pair
from ctxviz.model import Conversation


def _parse_response(value: object, where: str, notes: Notes) -> anthropic.Response | None:
    """A response, or None with a warning when it cannot be read (a stream cut mid-event): one
    unreadable call does not hide the rest of the capture."""
    try:
        return anthropic.parse_response(value, where, notes)
    except TranscriptError as e:
        notes.group(where, f"a response that cannot be read ({e.problem}); no response recorded")
        return None


CLAUDE_TRACE = anthropic.Dialect(
    format="claude-trace",
    parse_request=anthropic.parse_request,
    parse_response=_parse_response,
    interleaved=True,
)


def _is_record(obj: object) -> bool:
    if not isinstance(obj, dict) or "response" not in obj:
        return False
    req = obj.get("request")
    return isinstance(req, dict) and isinstance(req.get("url"), str) and "method" in req


def looks_like(records: Sequence[object]) -> bool:
    """Whether parsed JSON Lines records are claude-trace's (a request with ``url`` and
    ``method``, a response or null): most of them, so that a stray line is skipped, not fatal."""
    objs = [r for r in records if isinstance(r, dict)]
    found = sum(_is_record(r) for r in objs)
    return found > 0 and 2 * found > len(objs)


def _kind(method: str, path: str) -> str | None:
    """None for a Messages API call, else what the skipped call was."""
    if method.upper() == "POST" and path.rstrip("/").endswith("/v1/messages"):
        return None
    if path.rstrip("/").endswith("/count_tokens"):
        return "count_tokens"
    if method.upper() != "POST":
        return method.upper()
    return "other"


def _body(value: object) -> object:
    """A logged body: an object, or JSON / SSE text (an empty text is no body); ValueError when
    JSON text does not parse."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    if text.startswith(("{", "[")):
        return json_value(text)
    return value


def parse_capture(
    records: Sequence[tuple[str, dict[str, Any]]], *, notes: Notes, source: str | None = None
) -> Conversation:
    """A claude-trace capture, each record with its place (``line 3`` or ``[2]``): its
    ``/v1/messages`` calls, in order, as one log."""
    pairs: list[Pair] = []
    skipped: Counter[str] = Counter()
    for place, obj in records:
        base = place + "," if place.startswith("line ") else place
        if not _is_record(obj):
            notes.warn(place, "not a claude-trace record (no request url and method); skipped")
            continue
        req = obj["request"]
        where = at(base, "request")
        url = req["url"]
        method = req.get("method")
        kind = _kind(method if isinstance(method, str) else "", urlparse(url).path)
        if kind is not None:
            skipped[kind] += 1
            continue
        headers = req.get("headers")
        try:
            body = _body(req.get("body"))
        except ValueError:
            body = None
        if not isinstance(body, dict) or "messages" not in body:
            notes.group(base, "a /v1/messages call whose request body has no `messages`; skipped")
            continue
        resp = obj.get("response")
        response: object = None
        resp_where = at(base, "response")
        if isinstance(resp, dict):
            key = "body" if resp.get("body") is not None else "body_raw"
            resp_where = at(resp_where, key)
            try:
                response = _body(resp.get(key))
            except ValueError as e:
                notes.group(
                    resp_where, f"a body that is not valid JSON ({e}); no response recorded"
                )
            status = resp.get("status_code")
            if response is None and isinstance(status, int) and status >= 400:
                notes.group(base, f"the API answered HTTP {status}; no response recorded")
        elif resp is not None:
            notes.group(base, "a `response` that is not an object; no response recorded")
        pairs.append(
            Pair(
                request=body,
                response=response,
                where=base,
                request_where=at(where, "body"),
                response_where=resp_where,
                headers=headers if isinstance(headers, dict) else None,
            )
        )
    if skipped:
        what = ", ".join(f"{count} {kind}" for kind, count in skipped.most_common())
        notes.warn(
            "", f"{sum(skipped.values())} calls that are not Messages API requests skipped ({what})"
        )
    if not pairs:
        raise TranscriptError("the claude-trace capture holds no POST /v1/messages call")
    return anthropic.from_log(pairs, notes=notes, source=source, dialect=CLAUDE_TRACE)
