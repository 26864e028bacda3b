"""OpenAI chat completions → ``Conversation`` (``format="openai"``).

``system`` / ``developer`` messages become the system prompt; an assistant's ``tool_calls`` become
``tool_use`` blocks (arguments parsed from their JSON string); ``tool`` messages become one user
message of ``tool_result`` blocks per run. Usage maps onto the Messages API's names: OpenAI's
``prompt_tokens`` INCLUDES cached tokens, so ``input_tokens = prompt_tokens - cached_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ctxviz.errors import json_value
from ctxviz.formats._blocks import (
    Notes,
    at,
    dict_or_empty,
    fail,
    kind,
    need_dict,
    need_list,
    opt_int,
    opt_str,
)
from ctxviz.formats.anthropic import (
    Dialect,
    Pair,
    Params,
    ParsedRequest,
    Response,
    _finish,
    _with_params,
)
from ctxviz.formats.anthropic import (
    from_log as _from_log,
)
from ctxviz.model import (
    Block,
    Conversation,
    ImageBlock,
    Message,
    OtherBlock,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    requests_from_messages,
)

ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def looks_like(messages: Sequence[object], *, claude: bool = False) -> bool:
    """Whether a messages array uses OpenAI's shapes (system/tool roles, tool_calls, parts).

    ``claude``: the request names a Claude model or a top-level ``system``, so a ``system``
    message after the first is the Messages API's mid-conversation system message."""
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role in ("developer", "tool", "function") or "tool_calls" in m:
            return True
        if role == "system" and (i == 0 or not claude):
            return True
        content = m.get("content")
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") in ("image_url", "input_audio", "refusal")
            for p in content
        ):
            return True
    return False


def _parts(value: object, where: str) -> tuple[Block, ...]:
    """A message's ``content``: a string, null, or an array of content parts."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (TextBlock(text=value),) if value else ()
    out: list[Block] = []
    for i, p in enumerate(need_list(value, where, "`content` to be a string or an array of parts")):
        here = at(where, i)
        if isinstance(p, str):
            out.append(TextBlock(text=p))
            continue
        if not isinstance(p, dict):
            fail(f"a content part must be an object, found {kind(p)}", here)
        t = p.get("type")
        if not isinstance(t, str):
            fail("content part has no `type`", here)
        if t in ("text", "input_text", "output_text", "refusal"):
            text = p.get("refusal" if t == "refusal" else "text")
            if not isinstance(text, str):
                fail(f"a {t} part needs a string, found {kind(text)}", here)
            out.append(TextBlock(text=text))
        elif t == "image_url":
            image = p.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            out.append(ImageBlock(source={"type": "url", "url": url}))
        else:
            out.append(OtherBlock(type=t, raw=p))
    return tuple(out)


def _arguments(raw: object) -> object:
    """A tool call's arguments: parsed JSON, or the string as written when it does not parse."""
    if not isinstance(raw, str):
        return raw
    try:
        return json_value(raw) if raw.strip() else {}
    except ValueError:
        return raw


def _assistant(m: dict[str, Any], here: str) -> list[Block]:
    blocks: list[Block] = []
    reasoning = m.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append(ThinkingBlock(thinking=reasoning))
    blocks.extend(_parts(m.get("content"), at(here, "content")))
    if m.get("refusal") and isinstance(m["refusal"], str) and not blocks:
        blocks.append(TextBlock(text=m["refusal"]))
    calls = m.get("tool_calls")
    if calls is not None:
        cw = at(here, "tool_calls")
        for j, call in enumerate(need_list(calls, cw)):
            callw = at(cw, j)
            call = need_dict(call, callw, "a tool call object")
            fn = need_dict(call.get("function"), at(callw, "function"), "a `function` object")
            cid = call.get("id")
            if not isinstance(cid, str):
                fail("tool call has no `id`", callw)
            name = fn.get("name")
            if not isinstance(name, str):
                fail("tool call has no `function.name`", at(callw, "function"))
            blocks.append(ToolUseBlock(id=cid, name=name, input=_arguments(fn.get("arguments"))))
    fc = m.get("function_call")
    if isinstance(fc, dict) and isinstance(fc.get("name"), str):
        blocks.append(
            ToolUseBlock(
                id=f"function_call:{here}", name=fc["name"], input=_arguments(fc.get("arguments"))
            )
        )
    return blocks


def parse_messages(
    value: object, where: str, notes: Notes
) -> tuple[list[Block], list[Message], dict[int, list[str]]]:
    """System blocks, the history, and where each block of a merged tool message came from."""
    system: list[Block] = []
    messages: list[Message] = []
    places: dict[int, list[str]] = {}
    merging = False
    last_call_by_name: dict[str, str] = {}
    for i, m in enumerate(need_list(value, where, "`messages` to be an array")):
        here = at(where, i)
        if not isinstance(m, dict):
            fail(f"a message must be an object, found {kind(m)}", here)
        role = m.get("role")
        if role not in ROLES:
            if role is None:
                fail("message has no `role`", here)
            fail(
                f"unknown role {role!r} (expected system, developer, user, assistant or tool)",
                at(here, "role"),
            )
        if role in ("system", "developer"):
            if messages:
                notes.warn(
                    here, f"a {role} message inside the conversation is read as system prompt"
                )
            system.extend(_parts(m.get("content"), at(here, "content")))
            merging = False
            continue
        if role in ("tool", "function"):
            if role == "tool":
                tid = m.get("tool_call_id")
                if not isinstance(tid, str):
                    fail("tool message has no `tool_call_id`", here)
            else:
                name = m.get("name")
                tid = (
                    last_call_by_name.get(name, f"function:{name}") if isinstance(name, str) else ""
                )
            raw = m.get("content")
            content: str | tuple[Block, ...] = (
                raw if isinstance(raw, str) else _parts(raw, at(here, "content"))
            )
            block = ToolResultBlock(tool_use_id=tid, content=content)
            if merging and messages:
                prev = messages[-1]
                messages[-1] = replace(prev, content=(*prev.content, block))
                places[len(messages) - 1].append(here)
            else:
                messages.append(Message(role="user", content=(block,), source=here))
                places[len(messages) - 1] = [here]
                merging = True
            continue
        merging = False
        if role == "user":
            blocks = list(_parts(m.get("content"), at(here, "content")))
        else:
            blocks = _assistant(m, here)
            for b in blocks:
                if isinstance(b, ToolUseBlock):
                    last_call_by_name[b.name] = b.id
        messages.append(Message(role=role, content=tuple(blocks), source=here))
    return system, messages, places


def parse_tools(value: object, where: str) -> tuple[ToolDefinition, ...]:
    if value is None:
        return ()
    out: list[ToolDefinition] = []
    for i, t in enumerate(need_list(value, where, "`tools` to be an array")):
        here = at(where, i)
        if not isinstance(t, dict):
            fail(f"a tool definition must be an object, found {kind(t)}", here)
        fn = t["function"] if isinstance(t.get("function"), dict) else t
        name = fn.get("name") or t.get("type")
        if not isinstance(name, str):
            fail("tool definition has no `function.name`", here)
        out.append(ToolDefinition(name=name, raw=t))
    return tuple(out)


def _params(body: Mapping[str, Any], where: str) -> Params:
    b = dict(body)
    max_tokens = opt_int(b, "max_completion_tokens", where)
    if max_tokens is None:
        max_tokens = opt_int(b, "max_tokens", where)
    return Params(model=opt_str(b, "model", where), max_tokens=max_tokens)


def parse_request(
    body: dict[str, Any], where: str, notes: Notes, headers: Mapping[str, Any] | None = None
) -> ParsedRequest:
    if "messages" not in body:
        fail("request body has no `messages`", where)
    system, messages, _ = parse_messages(body["messages"], at(where, "messages"), notes)
    tools = parse_tools(body.get("tools") or body.get("functions"), at(where, "tools"))
    return ParsedRequest(
        messages=messages, system=tuple(system), tools=tools, params=_params(body, where)
    )


def parse_usage(obj: object, where: str) -> Usage:
    """OpenAI usage in the Messages API's terms (cached tokens are part of ``prompt_tokens``)."""
    d = need_dict(obj, where, "a usage object")
    prompt = opt_int(d, "prompt_tokens", where)
    if prompt is None:
        fail("usage has no `prompt_tokens`", where)
    cached = 0
    details = d.get("prompt_tokens_details")
    if isinstance(details, dict):
        cached = opt_int(details, "cached_tokens", at(where, "prompt_tokens_details")) or 0
    if cached > prompt:
        fail(
            f"cached_tokens ({cached}) exceed prompt_tokens ({prompt})",
            at(where, "prompt_tokens_details"),
        )
    reasoning = None
    out_details = d.get("completion_tokens_details")
    if isinstance(out_details, dict):
        reasoning = opt_int(out_details, "reasoning_tokens", at(where, "completion_tokens_details"))
    return Usage(
        input_tokens=prompt - cached,
        cache_read_input_tokens=cached,
        output_tokens=opt_int(d, "completion_tokens", where) or 0,
        thinking_tokens=reasoning,
        service_tier=None,
    )


def parse_response(value: object, where: str, notes: Notes) -> Response | None:
    """A chat completion (or a streamed one, reassembled); None for an error body."""
    if isinstance(value, str) and value.lstrip().startswith("data:"):
        value = reassemble_stream(value, where)
    d = need_dict(value, where, "a response object")
    if "choices" not in d:
        err = d.get("error")
        text = err.get("message") if isinstance(err, dict) else err
        notes.warn(where, f"not a chat completion ({str(text)[:120]}); no response recorded")
        return None
    choices = need_list(d["choices"], at(where, "choices"))
    if not choices:
        notes.warn(where, "a chat completion with no choices; no response recorded")
        return None
    if len(choices) > 1:
        notes.warn(where, f"{len(choices)} choices; the first is kept")
    cw = at(at(where, "choices"), 0)
    choice = need_dict(choices[0], cw)
    msg = need_dict(choice.get("message"), at(cw, "message"), "a `message` object")
    blocks = _assistant(msg, at(cw, "message"))
    usage = parse_usage(d["usage"], at(where, "usage")) if d.get("usage") is not None else None
    reason = choice.get("finish_reason")
    return Response(
        message=Message(role="assistant", content=tuple(blocks), source=at(cw, "message")),
        usage=usage,
        stop_reason=reason if isinstance(reason, str) else None,
        applied_edits=None,
        model=opt_str(d, "model", where),
    )


def reassemble_stream(text: str, where: str) -> dict[str, Any]:
    """Streamed chunks (``data: {...}`` lines) folded back into one chat completion."""
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    out: dict[str, Any] = {}
    finish = None
    for line in text.splitlines():
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        try:
            chunk = json_value(line[5:])
        except ValueError:
            fail("a streamed chunk is not valid JSON", where)
        if not isinstance(chunk, dict):
            continue
        for key in ("id", "model", "created"):
            if key in chunk:
                out.setdefault(key, chunk[key])
        if chunk.get("usage"):
            out["usage"] = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            finish = choice.get("finish_reason") or finish
            delta = dict_or_empty(choice.get("delta"))
            if isinstance(delta.get("content"), str):
                content.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                if not isinstance(call, dict):
                    continue
                slot = calls.setdefault(
                    call.get("index", 0), {"id": None, "function": {"name": "", "arguments": ""}}
                )
                slot["id"] = call.get("id") or slot["id"]
                fn = dict_or_empty(call.get("function"))
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
    if calls:
        message["tool_calls"] = [{"type": "function", **calls[i]} for i in sorted(calls)]
    out["choices"] = [{"index": 0, "message": message, "finish_reason": finish}]
    return out


def _check_arguments(messages: Sequence[Message], notes: Notes) -> None:
    for m in messages:
        for b in m.content:
            if isinstance(b, ToolUseBlock) and isinstance(b.input, str):
                notes.warn(
                    m.source,
                    f"tool call {b.id!r} ({b.name}): its arguments are not valid JSON; "
                    "kept as a string",
                )


def _locate(places: dict[int, list[str]], messages: Sequence[Message]) -> Any:
    def locate(i: int, j: int) -> str:
        if i in places and j < len(places[i]):
            return places[i][j]
        return (
            f"{messages[i].source}.content[{j}]"
            if messages[i].role != "user"
            else messages[i].source
        )

    return locate


def from_body(
    body: Mapping[str, Any], *, where: str = "", notes: Notes, source: str | None = None
) -> Conversation:
    """A chat completions request body: one request per assistant message, plus the pending one."""
    if "messages" not in body:
        fail("a JSON object with no `messages`: not a chat completions request", where)
    return _from_history(body, body["messages"], at(where, "messages"), where, notes, source)


def from_messages(
    value: Sequence[Any], *, where: str = "", notes: Notes, source: str | None = None
) -> Conversation:
    """A bare messages array."""
    return _from_history({}, list(value), where, where, notes, source)


def _from_history(
    body: Mapping[str, Any],
    value: object,
    messages_where: str,
    where: str,
    notes: Notes,
    source: str | None,
) -> Conversation:
    system, messages, places = parse_messages(value, messages_where, notes)
    params = _params(body, where)
    _check_arguments(messages, notes)
    requests = [
        _with_params(r, params) for r in requests_from_messages(tuple(messages), source=where)
    ]
    return _finish(
        messages=messages,
        requests=requests,
        system=tuple(system),
        tools=parse_tools(body.get("tools") or body.get("functions"), at(where, "tools")),
        model=params.model,
        notes=notes,
        source=source,
        where=messages_where,
        format="openai",
        locate=_locate(places, messages),
    )


def _locate_in_log(i: int, j: int, messages: Sequence[Message]) -> str:
    m = messages[i]
    if m.is_tool_results_only:
        return f"{m.source} (tool result {j + 1} of this run)" if j else m.source
    return f"{m.source}.content[{j}]"


OPENAI = Dialect(
    format="openai",
    parse_request=parse_request,
    parse_response=parse_response,
    locate=_locate_in_log,
)


def from_log(pairs: Sequence[Pair], *, notes: Notes, source: str | None = None) -> Conversation:
    """A log of chat completion calls, laid out like an Anthropic log."""
    conv = _from_log(pairs, notes=notes, source=source, dialect=OPENAI)
    extra = Notes()
    _check_arguments(conv.messages, extra)
    conv.warnings.extend(extra.finish())
    return conv
