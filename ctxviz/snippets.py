"""A context policy as the exact text to paste: JSON, or a complete Python program using the
``anthropic`` SDK with the beta headers it needs.

Each renders only a valid policy: the checks are the policies' own
(``ctxviz.policies.edits.validate_context_management``, ``compaction_control``'s
``validate_compaction_control``), which raise ``PolicyError`` naming the place in the API's terms.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ctxviz.models import ModelInfo, ModelTable, default_table
from ctxviz.policies import clear_tool_uses, compact, compact_on_demand, preserved_thinking
from ctxviz.policies.base import PolicyError, is_int
from ctxviz.policies.compaction_control import validate_compaction_control
from ctxviz.policies.edits import EDIT_POLICIES, validate_context_management

CONTEXT_MANAGEMENT_BETA: Final = clear_tool_uses.BETA
"""Beta header for the ``clear_*`` edits."""
COMPACT_BETA: Final = compact.BETA
"""Beta header for ``compact_20260112``."""
COMPACT_ON_DEMAND_BETA: Final = compact_on_demand.BETA
"""Beta header for the top-level ``compaction`` parameter (compaction on demand)."""

_NONSTREAMING_LIMIT_TOKENS: Final = 21_333
"""Above this ``max_tokens`` the Python SDK refuses a non-streaming call (expected > 10 min)."""
_NONSTREAMING_LIMITS: Final[dict[str, int]] = {
    "claude-opus-4-0": 8_192,
    "claude-opus-4-20250514": 8_192,
    "claude-4-opus-20250514": 8_192,
}
"""Model ids for which the SDK has a lower non-streaming ``max_tokens`` limit."""
_DEFAULT_MAX_TOKENS: Final = 16_000
_ANSWER_TOKENS: Final = 4_096
"""Room left for the answer beyond a thinking budget when ``max_tokens`` is not given."""


# ---- rendering -------------------------------------------------------------------------------
# Model ids, display names, tool names and prompts can come from a transcript: in generated text
# they stay inert. A string is a literal whose every character that is not printable (controls,
# line and paragraph separators, bidi and other format characters, lone surrogates) is written as
# an escape, and a comment shows such characters escaped, so neither can end a line or reorder
# what an editor shows.


def _model_notes(api_model: str, info: ModelInfo) -> list[str]:
    """Comment lines for a model the table does not know, or one that is retired."""
    if not info.known:
        return [f"# '{_escaped(api_model)}' is not in ctxviz's model table: check the model id."]
    if not info.current:
        return [
            f"# {_escaped(info.display_name)} was retired on {_escaped(str(info.retired_on))}: "
            "the API refuses it; pick a current model."
        ]
    return []


def _escaped(text: str) -> str:
    """``text`` with each character that is not printable as a Python escape (``\\u2028``)."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def _json_escaped(text: str) -> str:
    """JSON text with each character that is not printable as a JSON ``\\uXXXX`` escape (its
    line breaks are its layout: inside strings ``json.dumps`` has escaped them already)."""
    return "".join(c if c.isprintable() or c == "\n" else json.dumps(c)[1:-1] for c in text)


def _py(value: object, indent: int = 0) -> str:
    """``value`` (JSON data) as a Python literal, broken over lines past 80 columns."""
    match value:
        case bool():
            return "True" if value else "False"
        case None:
            return "None"
        case int() | float():
            return repr(value)
        case str():
            return _escaped(json.dumps(value, ensure_ascii=False))
        case Mapping():
            items = [(_py(str(k)), v) for k, v in value.items()]
            flat = "{" + ", ".join(f"{k}: {_py(v, indent + 1)}" for k, v in items) + "}"
            if "\n" not in flat and len(flat) + 4 * indent <= 80:
                return flat
            pad = "    " * (indent + 1)
            lines = [f"{pad}{k}: {_py(v, indent + 1)}," for k, v in items]
            return "{\n" + "\n".join(lines) + "\n" + "    " * indent + "}"
        case list() | tuple():
            flat = "[" + ", ".join(_py(v, indent + 1) for v in value) + "]"
            if "\n" not in flat and len(flat) + 4 * indent <= 80:
                return flat
            pad = "    " * (indent + 1)
            lines = [f"{pad}{_py(v, indent + 1)}," for v in value]
            return "[\n" + "\n".join(lines) + "\n" + "    " * indent + "]"
    raise TypeError(f"not JSON data: {value!r}")


def context_management_json(context_management: Mapping[str, object]) -> str:
    """The ``context_management`` object as pretty JSON, exactly as the API takes it."""
    validate_context_management(context_management)
    return _json_escaped(json.dumps(context_management, indent=2, ensure_ascii=False))


def compaction_control_dict(compaction_control: Mapping[str, object]) -> str:
    """The ``compaction_control`` argument as a Python dict literal, exactly as the SDK takes it."""
    validate_compaction_control(compaction_control)
    return _py(compaction_control)


def required_betas(
    context_management: Mapping[str, object] | None, model: ModelInfo | None = None
) -> tuple[str, ...]:
    """The ``betas`` a request needs for this policy (and for the model's 1M window, if on)."""
    betas: list[str] = []
    if model is not None and model.extended_context and model.context_1m_beta:
        betas.append(model.context_1m_beta)
    edits = (context_management or {}).get("edits", ())
    kinds = (
        {e.get("type") for e in edits if isinstance(e, Mapping)}
        if isinstance(edits, list | tuple)
        else set()
    )
    for policy in EDIT_POLICIES:
        if policy.TYPE in kinds and policy.BETA not in betas:
            betas.append(policy.BETA)
    return tuple(betas)


def _api_model_id(model: str, info: ModelInfo) -> str:
    """The snippet's model: the caller's id when it is a first-party one, else the table's."""
    given = model.strip()
    if given.lower().endswith("[1m]"):
        given = given[: -len("[1m]")]
    if not info.known:
        return given
    if given == info.api_id or given in info.aliases:
        return given
    return info.api_id


def _needs_streaming(api_model: str, max_tokens: int) -> bool:
    limit = _NONSTREAMING_LIMITS.get(api_model, _NONSTREAMING_LIMIT_TOKENS)
    return max_tokens > limit


def python_sdk_call(
    model: str,
    *,
    context_management: Mapping[str, object] | None = None,
    compaction_control: Mapping[str, object] | None = None,
    max_tokens: int | None = None,
    thinking: Mapping[str, object] | None = None,
    table: ModelTable | None = None,
    compaction: compact_on_demand.CompactOnDemand | None = None,
    thinking_prefix_mismatch: str | None = None,
) -> str:
    """A complete Python program making the call with this policy, betas included. With
    ``compaction`` (compaction on demand), the program is the client's compaction loop. With
    ``thinking_prefix_mismatch`` (``reject`` / ``drop``), ``thinking.block_binding`` says what
    the API does with preserved thinking that fails its prefix check."""
    extra_betas: tuple[str, ...] = ()
    if thinking_prefix_mismatch is not None:
        behaviour = preserved_thinking.from_arg(thinking_prefix_mismatch)
        thinking = {
            **(thinking or {"type": "adaptive"}),
            "block_binding": preserved_thinking.block_binding(behaviour),
        }
        extra_betas = (preserved_thinking.BETA,)
    if compaction is not None:
        if context_management is not None or compaction_control is not None:
            raise PolicyError(
                [
                    "compaction: the top-level compaction parameter cannot be combined with "
                    "context_management (the API rejects it) or the SDK's compaction_control"
                ]
            )
        return python_compaction_loop(
            model,
            compaction,
            max_tokens=max_tokens,
            thinking=thinking,
            table=table,
            extra_betas=extra_betas,
        )
    info = (table or default_table()).get(model)
    warnings = validate_context_management(context_management, info)
    warnings += validate_compaction_control(compaction_control)
    if max_tokens is None:
        budget = (thinking or {}).get("budget_tokens")
        budget_tokens = budget if isinstance(budget, int) and not isinstance(budget, bool) else 0
        # Room for the thinking budget plus an answer, capped by the model's output limit.
        wanted = max(_DEFAULT_MAX_TOKENS, budget_tokens + _ANSWER_TOKENS)
        max_tokens = min(info.max_output_tokens, wanted)
    if not is_int(max_tokens) or max_tokens <= 0:
        raise ValueError(f"max_tokens: expected a positive integer, got {max_tokens!r}")
    api_model = _api_model_id(model, info)
    betas = (*required_betas(context_management, info), *extra_betas)
    streaming = _needs_streaming(api_model, max_tokens)

    header = [f"# Generated by ctxviz: {_escaped(info.display_name)} with this context policy."]
    header += _model_notes(api_model, info)
    if compaction_control is not None:
        header += [
            "# compaction_control is the SDK's client-side compaction (tool_runner). It was",
            "# deprecated in anthropic 0.89 and removed in 1.0 in favour of server-side compaction",
            '# (the compact_20260112 edit): run this with "anthropic>=0.75,<1.0".',
        ]
    for w in warnings:
        header += textwrap.wrap(
            _escaped(w), 99, initial_indent="# Warning: ", subsequent_indent="#   "
        )
    if streaming:
        header.append(
            f"# max_tokens={max_tokens:,} needs streaming: the Python SDK refuses longer "
            "non-streaming calls."
        )
    header.append("")

    args: list[tuple[str, str]] = [("model", _py(api_model)), ("max_tokens", str(max_tokens))]
    if betas:
        args.append(("betas", _py(list(betas), 1)))
    if context_management is not None:
        args.append(("context_management", _py(context_management, 1)))
    if thinking is not None:
        args.append(("thinking", _py(thinking, 1)))
    args += [("messages", "messages"), ("tools", "tools")]
    if compaction_control is not None:
        args.append(("compaction_control", _py(compaction_control, 1)))
        if streaming:
            args.append(("stream", "True"))
    call_args = "\n".join(f"    {name}={value}," for name, value in args)

    tools_comment = (
        "  # functions decorated with @anthropic.beta_tool"
        if compaction_control is not None
        else "  # your tool definitions"
    )
    lines = [
        *header,
        "import anthropic",
        "",
        "client = anthropic.Anthropic()  # reads ANTHROPIC_API_KEY from the environment",
        "",
        "# Your conversation so far and your tools.",
        'messages = [{"role": "user", "content": "Hello, Claude"}]',
        f"tools = []{tools_comment}",
        "",
    ]
    if compaction_control is not None:
        lines += ["runner = client.beta.messages.tool_runner(", call_args, ")"]
        if streaming:
            lines += [
                "for stream in runner:",
                "    message = stream.get_final_message()",
                "    print(message.usage)",
            ]
        else:
            lines += ["for message in runner:", "    print(message.usage)"]
    elif streaming:
        lines += [
            "with client.beta.messages.stream(",
            call_args,
            ") as stream:",
            "    response = stream.get_final_message()",
            "print(response.usage)",
        ]
    else:
        lines += [
            "response = client.beta.messages.create(",
            call_args,
            ")",
            "print(response.usage)",
        ]
    if compaction_control is None and context_management is not None:
        lines.append("print(response.context_management)")
    return "\n".join(lines) + "\n"


_COMPACTION_MAX_TOKENS: Final = 8_192
"""``max_tokens`` of the compaction request: it caps the summary and any thinking before it (the
docs: allow several thousand tokens)."""


def python_compaction_loop(
    model: str,
    compaction: compact_on_demand.CompactOnDemand,
    *,
    max_tokens: int | None = None,
    thinking: Mapping[str, Any] | None = None,
    table: ModelTable | None = None,
    extra_betas: Sequence[str] = (),
) -> str:
    """A complete Python program (anthropic SDK 1.x or later, ``client.beta.messages``) that
    compacts on demand as ``compaction`` says: when, which turns stay verbatim, in the background
    or not (docs/semantics.md#compaction-on-demand). ``send(new_messages)`` is one request."""
    info = (table or default_table()).get(model)
    if max_tokens is None:
        max_tokens = min(info.max_output_tokens, _DEFAULT_MAX_TOKENS)
    if not is_int(max_tokens) or max_tokens <= 0:
        raise ValueError(f"max_tokens: expected a positive integer, got {max_tokens!r}")
    api_model = _api_model_id(model, info)
    betas = [*required_betas(None, info), COMPACT_ON_DEMAND_BETA, *extra_betas]
    header = [
        *textwrap.wrap(
            f"Generated by ctxviz: {_escaped(info.display_name)} with "
            f"{_escaped(compaction.describe())}.",
            97,
            initial_indent="# ",
            subsequent_indent="# ",
        ),
        "# Compaction on demand: the top-level `compaction` parameter (beta compact-2026-09-04),",
        "# anthropic SDK 1.x or later. The compaction request returns a signed compaction block",
        "# that replaces the messages it summarized, first in `messages` from then on.",
    ]
    header += _model_notes(api_model, info)
    if not info.supports_compaction_on_demand:
        header.append(
            f"# Warning: compaction on demand is not listed as supported on "
            f"{_escaped(info.display_name)}; the API may refuse the compaction request."
        )
    stream = _needs_streaming(api_model, max_tokens)
    send_call = (
        "    with client.beta.messages.stream(**request) as stream:\n"
        "        response = stream.get_final_message()"
        if stream
        else "    response = client.beta.messages.create(**request)"
    )
    extra = f"\n    thinking={_py(thinking, 1)}," if thinking is not None else ""
    lines = [
        *header,
        "import anthropic",
        *(["from concurrent.futures import ThreadPoolExecutor"] if compaction.background else []),
        "",
        "client = anthropic.Anthropic()  # reads ANTHROPIC_API_KEY from the environment",
        "",
        f"MODEL = {_py(api_model)}",
        f"BETAS = {_py(betas)}",
        f"COMPACTION = {_py(compaction.to_api())}",
        "# When to compact (checked before each request):",
        f"COMPACT_AT_TOKENS = {_py(compaction.at_prompt_tokens)}"
        "  # last prompt + its output above this",
        f"COMPACT_EVERY_REQUESTS = {_py(compaction.every_requests)}",
        f"COMPACT_AT_USER_TURNS = {_py(compaction.at_user_turns)}",
        f"KEEP_RECENT_TURNS = {compaction.keep_recent_turns}"
        "  # turns sent verbatim after the block",
        "",
        "tools = []  # your tool definitions: the same on every request, compaction included",
        "history = []  # the conversation as the API receives it",
        'state = {"since": 0, "tokens": None}',
        "",
        "",
        "def opens_turn(message):",
        '    """A genuine user message (not only tool results) starts a turn."""',
        '    content = message["content"]',
        '    return message["role"] == "user" and (',
        '        isinstance(content, str) or any(b.get("type") != "tool_result" for b in content)',
        "    )",
        "",
        "",
        "def cut_point(messages):",
        '    """First message kept verbatim after the block; None: nothing older to summarize."""',
        "    if not KEEP_RECENT_TURNS:",
        "        return len(messages)",
        "    starts = [i for i, m in enumerate(messages) if i > 0 and opens_turn(m)]",
        "    return starts[-KEEP_RECENT_TURNS] if len(starts) >= KEEP_RECENT_TURNS else None",
        "",
        "",
        "def should_compact(new_turn):",
        '    """The policy, on the previous response\'s usage."""',
        '    if COMPACT_EVERY_REQUESTS and state["since"] >= COMPACT_EVERY_REQUESTS:',
        "        return True",
        "    if COMPACT_AT_USER_TURNS and new_turn:",
        "        return True",
        '    tokens = state["tokens"]',
        "    return COMPACT_AT_TOKENS is not None and tokens is not None and tokens > "
        "COMPACT_AT_TOKENS",
        "",
        "",
        "def summarize(messages):",
        '    """The compaction request: the block\'s message, or None when no summary came."""',
        "    summary = client.beta.messages.create(",
        "        model=MODEL,",
        f"        max_tokens={_COMPACTION_MAX_TOKENS},",
        "        betas=BETAS,",
        "        tools=tools,",
        "        messages=messages,",
        "        compaction=COMPACTION,",
        "    )",
        '    if summary.stop_reason != "compaction":',
        "        return None  # keep the full history; compact again later",
        '    return {"role": "assistant", "content": summary.content}',
        "",
    ]
    if compaction.background:
        lines += [
            "",
            "executor = ThreadPoolExecutor(max_workers=1)",
            'pending = {"future": None, "sent": 0}',
            "",
            "",
            "def swap_in():",
            '    """Put an arrived block in place of exactly the messages it summarized."""',
            "    global history",
            '    future = pending["future"]',
            "    if future is None or not future.done():",
            "        return",
            '    block, pending["future"] = future.result(), None',
            "    if block is not None:",
            '        history = [block, *history[pending["sent"] :]]',
            '        state["since"] = 0',
            "",
        ]
    lines += [
        "",
        "def send(new_messages):",
        '    """One request: compacts first when the policy says so, then sends the history."""',
        "    global history",
        *(["    swap_in()"] if compaction.background else []),
        "    new_turn = any(opens_turn(m) for m in new_messages)",
        "    # tool results answer the last response: they go with the summarized part",
        "    before, after = (history, new_messages) if new_turn else (history + new_messages, [])",
    ]
    if compaction.background:
        lines += [
            '    if before and pending["future"] is None and should_compact(new_turn):',
            "        cut = cut_point(before)",
            "        if cut is not None:",
            '            pending["sent"] = cut',
            '            pending["future"] = executor.submit(summarize, list(before[:cut]))',
            "    history = history + new_messages",
        ]
    else:
        lines += [
            "    if before and should_compact(new_turn):",
            "        cut = cut_point(before)",
            "        block = summarize(before[:cut]) if cut is not None else None",
            "        if block is not None:",
            "            before = [block, *before[cut:]]",
            '            state["since"] = 0',
            "    history = before + after",
        ]
    lines += [
        "    request = dict(",
        "        model=MODEL,",
        f"        max_tokens={max_tokens},",
        f"        betas=BETAS,{extra}",
        "        tools=tools,",
        "        messages=history,",
        "    )",
        send_call,
        '    history = history + [{"role": "assistant", "content": response.content}]',
        "    usage = response.usage",
        '    state["since"] += 1',
        '    state["tokens"] = (',
        "        usage.input_tokens",
        "        + (usage.cache_creation_input_tokens or 0)",
        "        + (usage.cache_read_input_tokens or 0)",
        "        + usage.output_tokens",
        "    )",
        "    return response",
        "",
        "",
        'response = send([{"role": "user", "content": "Hello, Claude"}])',
        "print(response.usage)",
    ]
    return "\n".join(lines) + "\n"
