"""A context policy as the exact text to paste, and the checks the API and the SDK would make.

``validate_context_management`` and ``validate_compaction_control`` raise ``PolicyError`` (a
``ValueError``) for what the API or the SDK rejects, naming the place in the API's own terms
(``context_management.edits[1].keep.value``), and return warnings for what is well formed but
not supported by the model. The snippet functions render a valid policy as JSON or as a complete
Python program using the ``anthropic`` SDK, with the beta headers it needs.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ctxviz.models import ModelInfo, ModelTable, default_table
from ctxviz.policies import (
    clear_thinking,
    clear_tool_uses,
    compact,
    compact_on_demand,
    preserved_thinking,
)

CLEAR_THINKING: Final = clear_thinking.TYPE
CLEAR_TOOL_USES: Final = clear_tool_uses.TYPE
COMPACT: Final = compact.TYPE
EDIT_TYPES: Final[tuple[str, ...]] = (CLEAR_THINKING, CLEAR_TOOL_USES, COMPACT)

CONTEXT_MANAGEMENT_BETA: Final = "context-management-2025-06-27"
"""Beta header for the ``clear_*`` edits."""
COMPACT_BETA: Final = "compact-2026-01-12"
"""Beta header for ``compact_20260112``."""
COMPACT_ON_DEMAND_BETA: Final = compact_on_demand.BETA
"""Beta header for the top-level ``compaction`` parameter (compaction on demand)."""

COMPACT_MIN_TRIGGER_TOKENS: Final = compact.MIN_TRIGGER_TOKENS
"""The API rejects a ``compact_20260112`` trigger below this many input tokens."""

_EDIT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    CLEAR_THINKING: ("type", "keep"),
    CLEAR_TOOL_USES: (
        "type",
        "trigger",
        "keep",
        "clear_at_least",
        "exclude_tools",
        "clear_tool_inputs",
    ),
    COMPACT: ("type", "trigger", "instructions", "pause_after_compaction"),
}
_COMPACTION_CONTROL_KEYS: Final = ("enabled", "context_token_threshold", "model", "summary_prompt")

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


class PolicyError(ValueError):
    """A policy the API (or the SDK) would reject; one line per problem, each naming its place."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


# ---- validation ------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_count(
    obj: object, where: str, types: tuple[str, ...], problems: list[str]
) -> tuple[str, int] | None:
    """Check a ``{"type": ..., "value": N}`` object (N a positive integer); None when malformed."""
    example = f'{{"type": "{types[0]}", "value": N}}'
    if not isinstance(obj, Mapping):
        problems.append(f"{where}: expected {example}, got {obj!r}")
        return None
    unknown = [k for k in obj if k not in ("type", "value")]
    if unknown:
        problems.append(f"{where}: unknown key '{unknown[0]}' (expected only 'type' and 'value')")
        return None
    kind = obj.get("type")
    if kind not in types:
        expected = " or ".join(f"'{t}'" for t in types)
        problems.append(f"{where}.type: expected {expected}, got {kind!r}")
        return None
    if "value" not in obj:
        problems.append(f"{where}.value: missing (a positive number of {kind})")
        return None
    value = obj["value"]
    if not _is_int(value):
        problems.append(f"{where}.value: expected an integer, got {value!r}")
        return None
    if value <= 0:
        problems.append(f"{where}.value: must be a positive integer, got {value}")
        return None
    return str(kind), int(value)


def _check_keys(edit: Mapping[Any, Any], kind: str, where: str, problems: list[str]) -> None:
    allowed = _EDIT_KEYS[kind]
    for key in edit:
        if key not in allowed:
            problems.append(
                f"{where}: unknown key '{key}' for {kind} (allowed: {', '.join(allowed[1:])})"
            )


def _check_clear_thinking(edit: Mapping[Any, Any], where: str, problems: list[str]) -> None:
    if "keep" not in edit:
        return
    keep = edit["keep"]
    if keep == "all" or (isinstance(keep, Mapping) and dict(keep) == {"type": "all"}):
        return
    if isinstance(keep, Mapping) and keep.get("type") == "thinking_turns":
        value = keep.get("value")
        if value == 0 and _is_int(value):
            problems.append(
                f"{where}.keep.value: a keep of 0 thinking turns is rejected by the API "
                '(keep at least 1, or "all")'
            )
            return
    if isinstance(keep, Mapping) and keep.get("type") not in ("thinking_turns", "all"):
        problems.append(
            f"{where}.keep.type: expected 'thinking_turns' or 'all', got {keep.get('type')!r}"
        )
        return
    _check_count(keep, f"{where}.keep", ("thinking_turns",), problems)


def _check_clear_tool_uses(
    edit: Mapping[Any, Any], where: str, problems: list[str]
) -> tuple[str, int] | None:
    trigger = None
    if "trigger" in edit:
        kinds = ("input_tokens", "tool_uses")
        trigger = _check_count(edit["trigger"], f"{where}.trigger", kinds, problems)
    if "keep" in edit:
        _check_count(edit["keep"], f"{where}.keep", ("tool_uses",), problems)
    if edit.get("clear_at_least") is not None:
        _check_count(edit["clear_at_least"], f"{where}.clear_at_least", ("input_tokens",), problems)
    exclude = edit.get("exclude_tools")
    if exclude is not None and (
        isinstance(exclude, str)
        or not isinstance(exclude, Sequence)
        or not all(isinstance(t, str) for t in exclude)
    ):
        problems.append(f"{where}.exclude_tools: expected a list of tool names, got {exclude!r}")
    inputs = edit.get("clear_tool_inputs")
    if not (inputs is None or isinstance(inputs, bool)) and (
        isinstance(inputs, str)
        or not isinstance(inputs, Sequence)
        or not all(isinstance(t, str) for t in inputs)
    ):
        problems.append(
            f"{where}.clear_tool_inputs: expected true, false or a list of tool names, "
            f"got {inputs!r}"
        )
    return trigger


def _check_compact(
    edit: Mapping[Any, Any], where: str, problems: list[str]
) -> tuple[str, int] | None:
    trigger = None
    raw = edit.get("trigger")
    if raw is not None:
        if isinstance(raw, Mapping) and raw.get("type") not in (None, "input_tokens"):
            problems.append(
                f"{where}.trigger.type: compact_20260112 only takes an input_tokens trigger, "
                f"got {raw.get('type')!r}"
            )
        else:
            trigger = _check_count(raw, f"{where}.trigger", ("input_tokens",), problems)
            if trigger is not None and trigger[1] < COMPACT_MIN_TRIGGER_TOKENS:
                problems.append(
                    f"{where}.trigger.value: {trigger[1]:,} is below the minimum of "
                    f"{COMPACT_MIN_TRIGGER_TOKENS:,} input tokens the API accepts for "
                    "compact_20260112"
                )
                trigger = None
    instructions = edit.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        problems.append(f"{where}.instructions: expected a string, got {instructions!r}")
    pause = edit.get("pause_after_compaction")
    if "pause_after_compaction" in edit and not isinstance(pause, bool):
        problems.append(f"{where}.pause_after_compaction: expected true or false, got {pause!r}")
    return trigger


def _model_warnings(
    kind: str, trigger: tuple[str, int] | None, where: str, model: ModelInfo
) -> list[str]:
    out: list[str] = []
    what_if = "the replay runs it as a what-if"
    if model.provider != "anthropic":
        out.append(
            f"{where}: {kind} is an Anthropic API feature; {model.display_name} does not "
            f"support it ({what_if})"
        )
    elif kind == COMPACT and not model.supports_compact_20260112:
        out.append(
            f"{where}: compact_20260112 is not supported on {model.display_name}; the API "
            f"accepts it on Claude Opus 4.6, Sonnet 4.6 and later ({what_if})"
        )
    elif kind != COMPACT and not model.supports_context_editing:
        out.append(f"{where}: {kind} is not supported on {model.display_name} ({what_if})")
    if (
        trigger is not None
        and trigger[0] == "input_tokens"
        and trigger[1] >= model.context_window_tokens
    ):
        out.append(
            f"{where}.trigger.value: {trigger[1]:,} input tokens is not below "
            f"{model.display_name}'s {model.context_window_tokens:,}-token window: "
            "this edit can never fire"
        )
    return out


def validate_context_management(
    context_management: Mapping[str, Any] | None, model: ModelInfo | None = None
) -> list[str]:
    """Raise PolicyError for what the API rejects; return warnings for what the model lacks."""
    if context_management is None:
        return []
    where = "context_management"
    if not isinstance(context_management, Mapping):
        raise PolicyError(
            [f'{where}: expected an object {{"edits": [...]}}, got {context_management!r}']
        )
    problems: list[str] = []
    warnings: list[str] = []
    for key in context_management:
        if key != "edits":
            problems.append(f"{where}: unknown key '{key}' (the API takes only 'edits')")
    edits = context_management.get("edits", [])
    if isinstance(edits, str | bytes) or not isinstance(edits, Sequence):
        raise PolicyError([*problems, f"{where}.edits: expected a list of edits, got {edits!r}"])
    if not edits:
        warnings.append(f"{where}.edits is empty: no edit is applied")
    if model is not None and not model.known:
        warnings.append(
            f"{where}: model '{model.id}' is not in the model table; whether it supports "
            "these edits is unknown"
        )
    for i, edit in enumerate(edits):
        at = f"{where}.edits[{i}]"
        if not isinstance(edit, Mapping):
            problems.append(f"{at}: expected an object with a 'type', got {edit!r}")
            continue
        kind = edit.get("type")
        if kind not in EDIT_TYPES:
            what = "missing 'type'" if kind is None else f"unknown edit type {kind!r}"
            problems.append(f"{at}.type: {what}; the API takes {', '.join(EDIT_TYPES)}")
            continue
        _check_keys(edit, kind, at, problems)
        trigger: tuple[str, int] | None = None
        if kind == CLEAR_THINKING:
            if i != 0:
                problems.append(
                    f"{at}: clear_thinking_20251015 must be the first edit "
                    "(the API rejects it otherwise)"
                )
            _check_clear_thinking(edit, at, problems)
        elif kind == CLEAR_TOOL_USES:
            trigger = _check_clear_tool_uses(edit, at, problems)
        else:
            trigger = _check_compact(edit, at, problems)
        if model is not None and model.known:
            warnings.extend(_model_warnings(kind, trigger, at, model))
    if problems:
        raise PolicyError(problems)
    return warnings


def validate_compaction_control(compaction_control: Mapping[str, Any] | None) -> list[str]:
    """Raise PolicyError for what the SDK's ``compaction_control`` rejects; return warnings."""
    if compaction_control is None:
        return []
    where = "compaction_control"
    cc = compaction_control
    if not isinstance(cc, Mapping):
        raise PolicyError([f'{where}: expected an object {{"enabled": True, ...}}, got {cc!r}'])
    problems: list[str] = []
    warnings: list[str] = []
    for key in cc:
        if key not in _COMPACTION_CONTROL_KEYS:
            problems.append(
                f"{where}: unknown key '{key}' (the SDK takes "
                f"{', '.join(_COMPACTION_CONTROL_KEYS)}; others are silently ignored)"
            )
    if "enabled" not in cc:
        problems.append(f"{where}.enabled: required (the SDK reads it first; True to compact)")
    elif not isinstance(cc["enabled"], bool):
        problems.append(f"{where}.enabled: expected True or False, got {cc['enabled']!r}")
    elif not cc["enabled"]:
        warnings.append(f"{where}.enabled is False: the SDK never compacts")
    if "context_token_threshold" in cc:
        value = cc["context_token_threshold"]
        if not _is_int(value):
            problems.append(f"{where}.context_token_threshold: expected an integer, got {value!r}")
        elif value <= 0:
            problems.append(
                f"{where}.context_token_threshold: must be a positive integer, got {value}"
            )
    if "model" in cc and (not isinstance(cc["model"], str) or not cc["model"]):
        problems.append(f"{where}.model: expected a model id, got {cc['model']!r}")
    if "summary_prompt" in cc:
        prompt = cc["summary_prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append(f"{where}.summary_prompt: expected a non-empty string, got {prompt!r}")
        elif "<summary>" not in prompt:
            warnings.append(
                f"{where}.summary_prompt does not ask for <summary></summary> tags, as the SDK's "
                "documentation requires"
            )
    if problems:
        raise PolicyError(problems)
    return warnings


# ---- rendering -------------------------------------------------------------------------------
# Model ids, display names, tool names and prompts can come from a transcript: in generated text
# they stay inert. A string is a literal whose every character that is not printable (controls,
# line and paragraph separators, bidi and other format characters, lone surrogates) is written as
# an escape, and a comment shows such characters escaped, so neither can end a line or reorder
# what an editor shows.


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


def _py(value: Any, indent: int = 0) -> str:
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


def context_management_json(context_management: Mapping[str, Any]) -> str:
    """The ``context_management`` object as pretty JSON, exactly as the API takes it."""
    validate_context_management(context_management)
    return _json_escaped(json.dumps(context_management, indent=2, ensure_ascii=False))


def compaction_control_dict(compaction_control: Mapping[str, Any]) -> str:
    """The ``compaction_control`` argument as a Python dict literal, exactly as the SDK takes it."""
    validate_compaction_control(compaction_control)
    return _py(compaction_control)


def required_betas(
    context_management: Mapping[str, Any] | None, model: ModelInfo | None = None
) -> tuple[str, ...]:
    """The ``betas`` a request needs for this policy (and for the model's 1M window, if on)."""
    betas: list[str] = []
    if model is not None and model.extended_context and model.context_1m_beta:
        betas.append(model.context_1m_beta)
    kinds = {
        e.get("type") for e in (context_management or {}).get("edits", ()) if isinstance(e, Mapping)
    }
    if kinds & {CLEAR_THINKING, CLEAR_TOOL_USES}:
        betas.append(CONTEXT_MANAGEMENT_BETA)
    if COMPACT in kinds:
        betas.append(COMPACT_BETA)
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
    context_management: Mapping[str, Any] | None = None,
    compaction_control: Mapping[str, Any] | None = None,
    max_tokens: int | None = None,
    thinking: Mapping[str, Any] | None = None,
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
    if not _is_int(max_tokens) or max_tokens <= 0:
        raise ValueError(f"max_tokens: expected a positive integer, got {max_tokens!r}")
    api_model = _api_model_id(model, info)
    betas = (*required_betas(context_management, info), *extra_betas)
    streaming = _needs_streaming(api_model, max_tokens)

    header = [f"# Generated by ctxviz: {_escaped(info.display_name)} with this context policy."]
    if not info.known:
        header.append(
            f"# '{_escaped(api_model)}' is not in ctxviz's model table: check the model id."
        )
    elif not info.current:
        header.append(
            f"# {_escaped(info.display_name)} was retired on {_escaped(str(info.retired_on))}: "
            "the API refuses it; pick a current model."
        )
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
    if not _is_int(max_tokens) or max_tokens <= 0:
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
    if not info.known:
        header.append(
            f"# '{_escaped(api_model)}' is not in ctxviz's model table: check the model id."
        )
    elif not info.current:
        header.append(
            f"# {_escaped(info.display_name)} was retired on {_escaped(str(info.retired_on))}: "
            "the API refuses it; pick a current model."
        )
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
