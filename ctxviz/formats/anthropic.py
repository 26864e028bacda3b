"""Anthropic Messages API → ``Conversation``: a request body, a bare ``messages`` list, or a log of
request/response pairs (JSON list, JSONL, or VCR cassette interactions).

A log is laid out as one flat history: each request normally repeats the previous prompt and
response and adds new messages, of which only the new ones are appended. A request that does not
continue the history (the client rewrote it) starts a new segment; when it opens with an SDK
``compaction_control`` summary, that is recorded as a client compaction, and the summary request
itself (history + summary prompt) becomes part of the compaction, not a request. A response holding
a ``compaction`` block is a server compaction inside that request: later prompts start at it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ctxviz.errors import json_value
from ctxviz.formats._blocks import (
    Notes,
    at,
    check_messages,
    fail,
    kind,
    need_dict,
    need_list,
    opt_int,
    opt_str,
    parse_content,
    parse_usage,
)
from ctxviz.model import (
    JSON,
    Block,
    CompactionBlock,
    Conversation,
    DocumentBlock,
    ImageBlock,
    Message,
    OtherBlock,
    RecordedCompaction,
    RedactedThinkingBlock,
    Request,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    requests_from_messages,
)
from ctxviz.models import default_table

ROLES = ("user", "assistant", "system")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """One logged API call: the request body and the response body, either possibly missing."""

    request: JSON
    response: JSON
    where: str
    """Location of the pair in the file (``line 3,``, ``[2]``, ``interactions[1]``)."""
    request_where: str
    response_where: str
    headers: Mapping[str, Any] | None = None
    betas: tuple[str, ...] = ()
    """Betas a logger recorded beside the pair (the SDK's ``betas=`` argument)."""
    timestamp: str | None = None
    """When the call was made, if the logger recorded it (ISO 8601)."""


# ---- pieces of a request -------------------------------------------------------------------------


def parse_messages(value: object, where: str, notes: Notes) -> list[Message]:
    """The ``messages`` array of a request body (roles ``user``, ``assistant`` and ``system``)."""
    out: list[Message] = []
    for i, m in enumerate(need_list(value, where, "`messages` to be an array")):
        here = at(where, i)
        if not isinstance(m, dict):
            fail(f"a message must be an object, found {kind(m)}", here)
        role = m.get("role")
        if role not in ROLES:
            if role is None:
                fail("message has no `role`", here)
            fail(f"unknown role {role!r} (expected user, assistant or system)", at(here, "role"))
        if role == "system" and not out:
            fail(
                "role 'system' cannot open `messages` (the API takes it after a user turn; the "
                "system prompt goes in the top-level `system`)",
                at(here, "role"),
            )
        if "content" not in m:
            fail("message has no `content`", here)
        content = parse_content(m["content"], at(here, "content"), notes)
        out.append(Message(role=role, content=content, source=here))
    return out


def parse_system(value: object, where: str, notes: Notes) -> tuple[Block, ...]:
    """The ``system`` parameter: a string or an array of text blocks."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (TextBlock(text=value),) if value else ()
    if isinstance(value, list):
        return parse_content(value, where, notes)
    fail(f"`system` must be a string or an array of blocks, found {kind(value)}", where)


def parse_tools(value: object, where: str) -> tuple[ToolDefinition, ...]:
    """The ``tools`` parameter: client tools by ``name``, server tools by ``name`` or ``type``."""
    if value is None:
        return ()
    out: list[ToolDefinition] = []
    for i, t in enumerate(need_list(value, where, "`tools` to be an array")):
        here = at(where, i)
        if not isinstance(t, dict):
            fail(f"a tool definition must be an object, found {kind(t)}", here)
        name = t.get("name") or t.get("mcp_server_name") or t.get("type")
        if not isinstance(name, str):
            fail("tool definition has no `name`", here)
        out.append(ToolDefinition(name=name, raw=t))
    return tuple(out)


def parse_betas(
    body: Mapping[str, Any], where: str, headers: Mapping[str, Any] | None
) -> tuple[str, ...]:
    """Betas from the body's ``betas`` and the ``anthropic-beta`` header, in order, deduplicated."""
    found = list(need_betas(body.get("betas"), at(where, "betas")))
    for key, value in (headers or {}).items():
        if isinstance(key, str) and key.lower() == "anthropic-beta":
            values = value if isinstance(value, list) else [value]
            found.extend(p.strip() for v in values if isinstance(v, str) for p in v.split(","))
    return tuple(dict.fromkeys(b for b in found if b))


def need_betas(value: object, where: str) -> tuple[str, ...]:
    """A ``betas`` array of names (none when absent)."""
    if value is None:
        return ()
    betas = need_list(value, where)
    for i, b in enumerate(betas):
        if not isinstance(b, str):
            fail(f"a beta name must be a string, found {kind(b)}", at(where, i))
    return tuple(betas)


@dataclass(frozen=True, slots=True, kw_only=True)
class Params:
    """The request parameters a ``Request`` records."""

    model: str | None = None
    max_tokens: int | None = None
    thinking: JSON = None
    context_management: JSON = None
    tool_choice: JSON = None
    output_format: JSON = None
    betas: tuple[str, ...] = ()


def parse_params(body: Mapping[str, Any], where: str, headers: Mapping[str, Any] | None) -> Params:
    b = dict(body)
    thinking = b.get("thinking")
    if thinking is not None and not isinstance(thinking, dict):
        fail(f"`thinking` must be an object, found {kind(thinking)}", at(where, "thinking"))
    cm = b.get("context_management")
    if cm is not None and not isinstance(cm, dict):
        fail(
            f"`context_management` must be an object, found {kind(cm)}",
            at(where, "context_management"),
        )
    return Params(
        model=opt_str(b, "model", where),
        max_tokens=opt_int(b, "max_tokens", where),
        thinking=thinking,
        context_management=cm,
        tool_choice=b.get("tool_choice") if isinstance(b.get("tool_choice"), dict) else None,
        output_format=_output_format(b),
        betas=parse_betas(b, where, headers),
    )


def _output_format(body: Mapping[str, Any]) -> JSON:
    """``output_config.format``, or the structured-outputs beta's ``output_format``."""
    config = body.get("output_config")
    found = config.get("format") if isinstance(config, dict) else None
    found = found if found is not None else body.get("output_format")
    return found if isinstance(found, dict) else None


def _with_params(r: Request, p: Params) -> Request:
    return replace(
        r,
        model=p.model,
        max_tokens=p.max_tokens,
        thinking=p.thinking,
        context_management=p.context_management,
        tool_choice=p.tool_choice,
        output_format=p.output_format,
        betas=p.betas,
    )


# ---- a request body or a bare messages list ------------------------------------------------------


def from_body(
    body: Mapping[str, Any],
    *,
    where: str = "",
    notes: Notes,
    source: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> Conversation:
    """A request body: its history implies one request per assistant message (parameters assumed
    the same throughout), plus the request about to be sent when it ends with a user message."""
    if "messages" not in body:
        fail("a JSON object with no `messages`: not a Messages API request", where)
    messages = parse_messages(body["messages"], at(where, "messages"), notes)
    params = parse_params(body, where, headers)
    return _finish(
        messages=messages,
        requests=[
            _with_params(r, params) for r in requests_from_messages(tuple(messages), source=where)
        ],
        system=parse_system(body.get("system"), at(where, "system"), notes),
        tools=parse_tools(body.get("tools"), at(where, "tools")),
        model=params.model,
        notes=notes,
        source=source,
        where=at(where, "messages"),
    )


def from_messages(
    value: Sequence[Any], *, where: str = "", notes: Notes, source: str | None = None
) -> Conversation:
    """A bare ``messages`` array."""
    messages = parse_messages(list(value), where, notes)
    return _finish(
        messages=messages,
        requests=list(requests_from_messages(tuple(messages), source=where)),
        notes=notes,
        source=source,
        where=where,
    )


def _finish(
    *,
    messages: list[Message],
    requests: list[Request],
    notes: Notes,
    source: str | None,
    where: str = "",
    system: tuple[Block, ...] = (),
    tools: tuple[ToolDefinition, ...] = (),
    model: str | None = None,
    compactions: Sequence[RecordedCompaction] = (),
    format: str = "anthropic",
    locate: Callable[[int, int], str] | None = None,
) -> Conversation:
    if not messages:
        fail("no messages: the conversation is empty", where)
    check_messages(messages, notes, locate, signatures=format in ("anthropic", "claude-trace"))
    _check_system_messages(messages, requests, model, notes)
    return Conversation(
        format=format,
        messages=tuple(messages),
        requests=tuple(requests),
        model=model,
        system=system,
        tools=tools,
        compactions=tuple(compactions),
        source=source,
        warnings=notes.finish(),
    )


def _check_system_messages(
    messages: Sequence[Message], requests: Sequence[Request], model: str | None, notes: Notes
) -> None:
    """A system message sent to a model the table says refuses it, or placed where the API
    refuses it (both answer 400), is kept as sent, with one warning per kind."""
    table = default_table()
    for i, m in enumerate(messages):
        if m.role != "system":
            continue
        before = messages[i - 1] if i else None
        after = messages[i + 1] if i + 1 < len(messages) else None
        follows_turn = before is not None and (
            before.role == "user"
            or (
                before.role == "assistant"
                and bool(before.content)
                and isinstance(before.content[-1], ServerToolUseBlock)
            )
        )
        if not follows_turn or (after is not None and after.role != "assistant"):
            notes.group(
                m.source,
                "a system message where the API refuses it (it must follow a user turn, or an "
                "assistant turn ending in a server tool use, and come last or before an "
                "assistant turn); counted as sent",
            )
        request = next((r for r in requests if r.prompt_start <= i < r.prompt_end), None)
        model_id = (request.model if request else None) or model
        if not model_id:
            continue
        info = table.get(model_id)
        if info.known and not info.supports_system_messages:
            notes.group(
                m.source,
                f"a system message inside `messages`, which {info.display_name} does not accept "
                "(the API answers 400; Opus 4.8 and later do); counted as sent",
            )


# ---- responses ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    message: Message
    usage: Usage | None
    stop_reason: str | None
    applied_edits: tuple[JSON, ...] | None
    model: str | None


def parse_response(value: object, where: str, notes: Notes) -> Response | None:
    """A Messages API response body (or a streamed one, reassembled); None for an error body."""
    if isinstance(value, str) and value.lstrip().startswith(("event:", "data:")):
        value = reassemble_stream(value, where)
    d = need_dict(value, where, "a response object")
    if d.get("type") == "error" or ("error" in d and "content" not in d):
        err = d.get("error")
        text = err.get("message") if isinstance(err, dict) else err
        notes.group(
            where, f"the API answered with an error ({str(text)[:120]}); no response recorded"
        )
        return None
    role = d.get("role", "assistant")
    if role != "assistant":
        fail(f"a response must have role assistant, found {role!r}", at(where, "role"))
    content = parse_content(d.get("content") if "content" in d else [], at(where, "content"), notes)
    usage = parse_usage(d["usage"], at(where, "usage")) if d.get("usage") is not None else None
    applied: tuple[JSON, ...] | None = None
    cm = d.get("context_management")
    if isinstance(cm, dict) and isinstance(cm.get("applied_edits"), list):
        applied = tuple(cm["applied_edits"])
    return Response(
        message=Message(role="assistant", content=content, source=where),
        usage=usage,
        stop_reason=opt_str(d, "stop_reason", where),
        applied_edits=applied,
        model=opt_str(d, "model", where),
    )


def reassemble_stream(text: str, where: str) -> dict[str, Any]:
    """A streamed response (server-sent events) folded back into one response body."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.startswith("data:"):
            continue
        try:
            event = json_value(line[5:])
        except ValueError:
            fail(f"streamed event {n} is not valid JSON", where)
        if not isinstance(event, dict):
            continue
        t = event.get("type")
        if t == "message_start" and isinstance(event.get("message"), dict):
            message = dict(event["message"])
        elif t == "content_block_start" and isinstance(event.get("content_block"), dict):
            blocks[_index(event)] = dict(event["content_block"])
        elif t == "content_block_delta" and isinstance(event.get("delta"), dict):
            i, delta = _index(event), event["delta"]
            block = blocks.setdefault(i, {"type": "text", "text": ""})
            match delta.get("type"):
                case "text_delta":
                    block["text"] = block.get("text", "") + str(delta.get("text", ""))
                case "thinking_delta":
                    block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
                case "signature_delta":
                    block["signature"] = block.get("signature", "") + str(
                        delta.get("signature", "")
                    )
                case "input_json_delta":
                    partial[i] = partial.get(i, "") + str(delta.get("partial_json", ""))
                case "compaction_delta":
                    block["content"] = (block.get("content") or "") + str(
                        delta.get("content") or ""
                    )
        elif t == "content_block_stop":
            i = _index(event)
            if i in partial and i in blocks:
                written = partial.pop(i)
                try:
                    blocks[i]["input"] = json_value(written or "{}")
                except ValueError:  # kept as written
                    blocks[i]["input"] = written
        elif t == "message_delta":
            delta = event.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason") is not None:
                message["stop_reason"] = delta["stop_reason"]
            usage = event.get("usage")
            if isinstance(usage, dict):
                message["usage"] = _merge_usage(message.get("usage"), usage)
            if isinstance(event.get("context_management"), dict):
                message["context_management"] = event["context_management"]
        elif t == "error":
            return {"type": "error", "error": event.get("error")}
    if not message:
        fail("a streamed response without a message_start event", where)
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def _merge_usage(start: object, final: dict[str, Any]) -> dict[str, Any]:
    """``message_start``'s usage updated by ``message_delta``'s. The delta's counts are
    cumulative, so a count never goes down: a 0 or null some proxies write in the delta keeps
    the start's input, and internal server-tool calls raise it."""
    merged = dict(start) if isinstance(start, dict) else {}
    for key, value in final.items():
        if value is None:
            continue
        old = merged.get(key)
        if isinstance(value, int) and isinstance(old, int) and not isinstance(value, bool):
            merged[key] = max(old, value)
        else:
            merged[key] = value
    return merged


def _index(event: dict[str, Any]) -> int:
    i = event.get("index")
    return i if isinstance(i, int) else 0


# ---- logs of request/response pairs ------------------------------------------------------------


def _fp_block(b: Block) -> tuple[Any, ...] | None:
    """What must match for a block sent back to be the block recorded (clients re-serialise)."""
    match b:
        case TextBlock():
            text = b.text.strip()
            return ("text", text) if text else None
        case ThinkingBlock() | RedactedThinkingBlock():
            return None  # clients may drop earlier thinking; the API ignores it anyway
        case ToolUseBlock():
            return ("tool_use", b.id)
        case ToolResultBlock():
            return ("tool_result", b.tool_use_id)
        case ServerToolUseBlock():
            return ("server_tool_use", b.id)
        case ServerToolResultBlock():
            return (b.type, b.tool_use_id)
        case CompactionBlock():
            return ("compaction", b.content.strip()[:200])
        case ImageBlock():
            return ("image",)
        case DocumentBlock():
            return ("document", b.title)
        case OtherBlock():
            return ("other", b.type)
    return None


def fingerprint(m: Message) -> tuple[Any, ...]:
    return (m.role, tuple(x for b in m.content if (x := _fp_block(b)) is not None))


def _summary_prompt(m: Message) -> bool:
    """The SDK's compaction_control summary request ends with a user message asking for tags."""
    if m.role != "user":
        return False
    text = " ".join(b.text for b in m.content if isinstance(b, TextBlock))
    return "<summary>" in text and "</summary>" in text


def _opens_with_summary(m: Message) -> bool:
    if m.role != "user":
        return False
    text = "".join(b.text for b in m.content if isinstance(b, TextBlock)).strip()
    return text.startswith("<summary>") or ("<summary>" in text and "</summary>" in text)


@dataclass(slots=True)
class _Summary:
    where: str
    output_tokens: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedRequest:
    """What a loader needs from one request body, whatever the provider."""

    messages: list[Message]
    system: tuple[Block, ...]
    tools: tuple[ToolDefinition, ...]
    params: Params


def parse_request(
    body: dict[str, Any], where: str, notes: Notes, headers: Mapping[str, Any] | None
) -> ParsedRequest:
    """An Anthropic request body, for a log."""
    if "messages" not in body:
        fail("request body has no `messages`", where)
    return ParsedRequest(
        messages=parse_messages(body["messages"], at(where, "messages"), notes),
        system=parse_system(body.get("system"), at(where, "system"), notes),
        tools=parse_tools(body.get("tools"), at(where, "tools")),
        params=parse_params(body, where, headers),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect:
    """How one provider's request and response bodies are read (Anthropic, OpenAI)."""

    format: str
    parse_request: Callable[[dict[str, Any], str, Notes, Mapping[str, Any] | None], ParsedRequest]
    parse_response: Callable[[object, str, Notes], Response | None]
    locate: Callable[[int, int, Sequence[Message]], str] | None = None
    interleaved: bool = False
    """Logs that interleave several conversations (a proxy capture): a request that does not
    continue the previous one is another conversation, noted once for the whole log."""


ANTHROPIC = Dialect(format="anthropic", parse_request=parse_request, parse_response=parse_response)


def _shared(value: tuple[Any, ...], seen: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """``value``, or the equal value seen before (one object per distinct system prompt or tool
    list, so that each is counted once)."""
    for v in seen:
        if v == value:
            return v
    seen.append(value)
    return value


def from_log(
    pairs: Sequence[Pair],
    *,
    notes: Notes,
    source: str | None = None,
    dialect: Dialect = ANTHROPIC,
) -> Conversation:
    """A log of request/response pairs, laid out as one flat history (see the module docstring)."""
    messages: list[Message] = []
    fps: list[tuple[Any, ...]] = []
    requests: list[Request] = []
    compactions: list[RecordedCompaction] = []
    system: tuple[Block, ...] = ()
    tools: tuple[ToolDefinition, ...] = ()
    sent_systems: list[tuple[Block, ...]] = []  # distinct values, so that equal ones are shared
    sent_tools: list[tuple[ToolDefinition, ...]] = []
    sent_start = prompt_start = 0
    last_total: int | None = None
    summary: _Summary | None = None
    models: dict[str, int] = {}
    scratch = Notes()  # parse remarks about repeated messages are re-derived once at the end

    def append(ms: Sequence[Message]) -> None:
        nonlocal prompt_start
        for m in ms:
            if m.role == "assistant" and any(isinstance(b, CompactionBlock) for b in m.content):
                prompt_start = len(messages)
            messages.append(m)
            fps.append(fingerprint(m))

    for pair in pairs:
        if pair.request is None:
            notes.warn(pair.where, "a response without its request cannot be placed; skipped")
            continue
        body = need_dict(pair.request, pair.request_where, "a request body")
        req = dialect.parse_request(body, pair.request_where, scratch, pair.headers)
        req_msgs, params = req.messages, req.params
        if pair.betas:
            params = replace(params, betas=tuple(dict.fromkeys((*pair.betas, *params.betas))))
        rf = [fingerprint(m) for m in req_msgs]
        response = (
            dialect.parse_response(pair.response, pair.response_where, notes)
            if pair.response is not None
            else None
        )

        base = None
        for s in (sent_start, prompt_start):
            cur = fps[s:]
            if len(rf) >= len(cur) and rf[: len(cur)] == cur:
                base = s
                break
        # the SDK's summary request is part of its compaction, not a row; a capture of all the
        # traffic keeps every call as a row (Claude Code's own compaction call included)
        summarizes = not dialect.interleaved and bool(req_msgs) and _summary_prompt(req_msgs[-1])
        if base is None and requests and summarizes:
            prev = requests[-1]
            if rf[:-1] in (fps[sent_start : prev.prompt_end], fps[sent_start:]):
                if summary is not None:
                    notes.warn(
                        summary.where, "a summary request with no compacted history after it"
                    )
                out = response.usage.output_tokens if response and response.usage else None
                summary = _Summary(where=pair.where, output_tokens=out)
                continue
        if base is not None:
            sent_start = base
            append(req_msgs[len(fps) - base :])
            if summary is not None:
                notes.warn(
                    summary.where,
                    "looks like a compaction_control summary request, but the history was not "
                    "replaced after it; not counted as a request",
                )
                summary = None
        else:
            seg = len(messages)
            sent_start = prompt_start = seg
            append(req_msgs)
            if req_msgs and (summary is not None or _opens_with_summary(req_msgs[0])):
                messages[seg] = replace(messages[seg], is_compact_summary=True)
                compactions.append(
                    RecordedCompaction(
                        kind="client",
                        request=len(requests),
                        summary_message=seg,
                        trigger="threshold",
                        pre_tokens=last_total,
                        summary_tokens=summary.output_tokens if summary else None,
                    )
                )
            elif requests and dialect.interleaved:
                notes.group(
                    pair.where,
                    "a request that does not continue the previous one (another conversation of "
                    "the capture, or a rewritten history): a new segment starts with its messages",
                )
            elif requests:
                notes.warn(
                    pair.where,
                    f"request {len(requests)} does not continue the previous request's messages "
                    f"(the history was rewritten); a new segment starts at message {seg}",
                )
            summary = None
        req_system = _shared(req.system, sent_systems)
        req_tools = _shared(req.tools, sent_tools)
        if req.system and not system:
            system = req_system
        if req.tools and not tools:
            tools = req_tools

        prompt_end = len(messages)
        request_start = min(prompt_start, prompt_end)
        index = len(requests)
        response_index = None
        usage = None
        stop_reason = None
        applied = None
        model = params.model
        if response is not None:
            response_index = len(messages)
            append([response.message])
            usage, stop_reason, applied = (
                response.usage,
                response.stop_reason,
                response.applied_edits,
            )
            model = model or response.model
            if any(isinstance(b, CompactionBlock) for b in response.message.content):
                its = usage.iterations if usage else ()
                it = next((x for x in its if x.type == "compaction"), None)
                compactions.append(
                    RecordedCompaction(
                        kind="server",
                        request=index,
                        summary_message=response_index,
                        trigger="input_tokens",
                        pre_tokens=it.prompt_tokens if it else None,
                        summary_tokens=it.output_tokens if it else None,
                    )
                )
        if model:
            models[model] = models.get(model, 0) + 1
        requests.append(
            Request(
                index=index,
                prompt_start=request_start,
                prompt_end=prompt_end,
                response=response_index,
                usage=usage,
                model=model,
                max_tokens=params.max_tokens,
                thinking=params.thinking,
                context_management=params.context_management,
                tool_choice=params.tool_choice,
                output_format=params.output_format,
                betas=params.betas,
                stop_reason=stop_reason,
                applied_edits=applied,
                source=pair.where.rstrip(","),
                system=req_system,
                tools=req_tools,
                timestamp=pair.timestamp,
            )
        )
        last_total = usage.prompt_tokens + usage.output_tokens if usage else None
    if summary is not None:
        notes.warn(
            summary.where, "a summary request at the end of the log; not counted as a request"
        )
    if not requests:
        fail(f"the log holds no {dialect.format} request", "")
    locate = dialect.locate

    def located(i: int, j: int) -> str:
        assert locate is not None
        return locate(i, j, messages)

    return _finish(
        messages=messages,
        requests=requests,
        system=system,
        tools=tools,
        model=max(models, key=lambda k: models[k]) if models else None,
        compactions=compactions,
        notes=notes,
        source=source,
        format=dialect.format,
        locate=located if locate else None,
    )
