"""Policies as text to paste, and the checks the API and the SDK make on them."""

from __future__ import annotations

import ast
import json
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from ctxviz.models import default_table
from ctxviz.policies import compact_on_demand as cod
from ctxviz.policies.base import PolicyError
from ctxviz.policies.compaction_control import validate_compaction_control
from ctxviz.policies.edits import validate_context_management
from ctxviz.snippets import (
    COMPACT_BETA,
    CONTEXT_MANAGEMENT_BETA,
    compaction_control_dict,
    context_management_json,
    python_sdk_call,
    required_betas,
)

OPUS_46 = default_table().get("claude-opus-4-6")
SONNET_45 = default_table().get("claude-sonnet-4-5")

CLEAR_TOOLS: dict[str, Any] = {
    "type": "clear_tool_uses_20250919",
    "trigger": {"type": "input_tokens", "value": 30_000},
    "keep": {"type": "tool_uses", "value": 3},
    "clear_at_least": {"type": "input_tokens", "value": 5_000},
    "exclude_tools": ["web_search"],
    "clear_tool_inputs": False,
}
CLEAR_THINKING: dict[str, Any] = {
    "type": "clear_thinking_20251015",
    "keep": {"type": "thinking_turns", "value": 2},
}
COMPACT: dict[str, Any] = {
    "type": "compact_20260112",
    "trigger": {"type": "input_tokens", "value": 150_000},
    "instructions": 'Keep file paths.\nQuote "errors" and accents: é.',
    "pause_after_compaction": True,
}
ALL_THREE: dict[str, Any] = {"edits": [CLEAR_THINKING, CLEAR_TOOLS, COMPACT]}
CC: dict[str, Any] = {
    "enabled": True,
    "context_token_threshold": 100_000,
    "model": "claude-haiku-4-5",
    "summary_prompt": "Summarise.\nWrap it in <summary></summary> tags.",
}


# ---- running a snippet against a stand-in SDK --------------------------------------------------


class _Recorder:
    """Stands in for ``anthropic``: records each call the snippet makes, returns plain objects."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        response = types.SimpleNamespace(usage={"input_tokens": 1}, context_management=None)
        recorder = self

        class _Stream:
            def __enter__(self) -> _Stream:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def get_final_message(self) -> Any:
                return response

        class _Messages:
            def create(self, **kwargs: Any) -> Any:
                recorder.calls.append(("create", kwargs))
                return response

            def stream(self, **kwargs: Any) -> _Stream:
                recorder.calls.append(("stream", kwargs))
                return _Stream()

            def tool_runner(self, **kwargs: Any) -> Iterator[Any]:
                recorder.calls.append(("tool_runner", kwargs))
                return iter([_Stream() if kwargs.get("stream") else response])

        class _Client:
            def __init__(self) -> None:
                self.beta = types.SimpleNamespace(messages=_Messages())

        self.module = types.ModuleType("anthropic")
        self.module.Anthropic = _Client  # type: ignore[attr-defined]


def run(code: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    """Compile and execute a snippet with a recording SDK; the one call it made."""
    recorder = _Recorder()
    monkeypatch.setitem(sys.modules, "anthropic", recorder.module)
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__", "print": lambda *a: None})
    assert len(recorder.calls) == 1
    return recorder.calls[0]


# ---- snippets --------------------------------------------------------------------------------


def test_create_snippet_runs_and_sends_the_policy_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    thinking = {"type": "enabled", "budget_tokens": 8_000}
    code = python_sdk_call("claude-opus-4-6", context_management=ALL_THREE, thinking=thinking)
    method, kwargs = run(code, monkeypatch)
    assert method == "create"
    assert kwargs["context_management"] == ALL_THREE
    assert kwargs["thinking"] == thinking
    assert kwargs["betas"] == [CONTEXT_MANAGEMENT_BETA, COMPACT_BETA]
    assert kwargs["model"] == "claude-opus-4-6"
    assert kwargs["max_tokens"] == 16_000
    assert kwargs["messages"][0]["role"] == "user" and kwargs["tools"] == []
    assert "client.beta.messages.create(" in code
    assert '"context-management-2025-06-27"' in code and '"compact-2026-01-12"' in code


@pytest.mark.parametrize(
    ("model", "edits", "betas"),
    [
        ("claude-sonnet-4-5", [CLEAR_TOOLS], [CONTEXT_MANAGEMENT_BETA]),
        ("claude-sonnet-4-5", [CLEAR_THINKING], [CONTEXT_MANAGEMENT_BETA]),
        ("claude-opus-4-6", [COMPACT], [COMPACT_BETA]),
        ("claude-opus-4-6", [CLEAR_TOOLS, COMPACT], [CONTEXT_MANAGEMENT_BETA, COMPACT_BETA]),
        (
            "claude-sonnet-4-5[1m]",
            [CLEAR_TOOLS],
            ["context-1m-2025-08-07", CONTEXT_MANAGEMENT_BETA],
        ),
        ("claude-opus-4-6[1m]", [CLEAR_TOOLS], [CONTEXT_MANAGEMENT_BETA]),
    ],
)
def test_betas_match_the_edits(
    monkeypatch: pytest.MonkeyPatch, model: str, edits: list[dict[str, Any]], betas: list[str]
) -> None:
    _, kwargs = run(python_sdk_call(model, context_management={"edits": edits}), monkeypatch)
    assert kwargs["betas"] == betas
    assert required_betas({"edits": edits}, default_table().get(model)) == tuple(betas)


def test_no_policy_means_no_betas(monkeypatch: pytest.MonkeyPatch) -> None:
    _, kwargs = run(python_sdk_call("claude-haiku-4-5"), monkeypatch)
    assert "betas" not in kwargs and "context_management" not in kwargs


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-sonnet-4", "claude-sonnet-4-0"),
        ("claude-fable-9", "claude-fable-9"),
    ],
)
def test_snippet_model_is_a_first_party_id(
    monkeypatch: pytest.MonkeyPatch, given: str, sent: str
) -> None:
    _, kwargs = run(python_sdk_call(given, context_management={"edits": []}), monkeypatch)
    assert kwargs["model"] == sent


def test_unknown_model_is_flagged_in_the_snippet() -> None:
    code = python_sdk_call("claude-fable-9", context_management={"edits": [CLEAR_TOOLS]})
    assert "'claude-fable-9' is not in ctxviz's model table" in code
    assert "# Warning: context_management: model 'claude-fable-9' is not in the model" in code


def test_large_max_tokens_switches_to_streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    code = python_sdk_call(
        "claude-opus-4-6", context_management={"edits": [CLEAR_TOOLS]}, max_tokens=64_000
    )
    method, kwargs = run(code, monkeypatch)
    assert method == "stream" and kwargs["max_tokens"] == 64_000
    assert "needs streaming" in code
    # The SDK's lower non-streaming limit for Opus 4 (8,192).
    method, _ = run(python_sdk_call("claude-opus-4-0", max_tokens=16_000), monkeypatch)
    assert method == "stream"


def test_thinking_budget_leaves_room_for_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    thinking = {"type": "enabled", "budget_tokens": 20_000}
    _, kwargs = run(python_sdk_call("claude-sonnet-4-5", thinking=thinking), monkeypatch)
    assert kwargs["max_tokens"] == 24_096
    _, kwargs = run(python_sdk_call("claude-3-5-haiku"), monkeypatch)
    assert kwargs["max_tokens"] == 8_192  # capped by the model's output limit


def test_compaction_control_snippet_uses_tool_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    code = python_sdk_call("claude-sonnet-4-5", compaction_control=CC)
    method, kwargs = run(code, monkeypatch)
    assert method == "tool_runner"
    assert kwargs["compaction_control"] == CC
    assert "betas" not in kwargs
    assert "client.beta.messages.tool_runner(" in code
    assert "deprecated in anthropic 0.89 and removed in 1.0" in code
    assert "compact_20260112" in code


def test_both_policies_in_one_tool_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    code = python_sdk_call(
        "claude-opus-4-6", context_management=ALL_THREE, compaction_control=CC, max_tokens=32_000
    )
    method, kwargs = run(code, monkeypatch)
    assert method == "tool_runner" and kwargs["stream"] is True
    assert kwargs["context_management"] == ALL_THREE and kwargs["compaction_control"] == CC
    assert kwargs["betas"] == [CONTEXT_MANAGEMENT_BETA, COMPACT_BETA]


def test_model_warnings_become_comments() -> None:
    code = python_sdk_call("claude-sonnet-4-5", context_management={"edits": [COMPACT]})
    assert "# Warning: context_management.edits[0]: compact_20260112 is not supported" in code
    assert all(len(line) <= 100 for line in code.splitlines())


def test_invalid_policy_gives_no_snippet() -> None:
    with pytest.raises(PolicyError, match="must be the first edit"):
        python_sdk_call(
            "claude-opus-4-6", context_management={"edits": [CLEAR_TOOLS, CLEAR_THINKING]}
        )
    with pytest.raises(PolicyError, match=r"compaction_control\.enabled: required"):
        python_sdk_call("claude-opus-4-6", compaction_control={"context_token_threshold": 5})
    with pytest.raises(ValueError, match="max_tokens: expected a positive integer"):
        python_sdk_call("claude-opus-4-6", max_tokens=0)


def test_context_management_json_round_trips_exactly() -> None:
    text = context_management_json(ALL_THREE)
    assert json.loads(text) == ALL_THREE
    assert text.startswith('{\n  "edits": [\n    {\n      "type": "clear_thinking_20251015"')
    assert "é" in text  # kept as written, not escaped
    assert list(json.loads(text)["edits"][1]) == list(CLEAR_TOOLS)  # key order kept


def test_compaction_control_dict_is_the_python_literal() -> None:
    text = compaction_control_dict(CC)
    assert ast.literal_eval(text) == CC
    assert '"enabled": True' in text
    compile(f"compaction_control = {text}", "<snippet>", "exec")


def test_json_refuses_an_invalid_policy() -> None:
    with pytest.raises(PolicyError):
        context_management_json({"edits": [{"type": "clear_everything"}]})


# ---- transcript strings stay inert in every export ---------------------------------------------

HOSTILE_NAMES = [
    "claude-x\nPWNED = 1\n#",
    "claude-x\rPWNED = 1\r#",
    "claude-x\r\nPWNED = 1  # crlf",
    "claude-x\u2028PWNED = 1\u2028#",
    "claude-x\u2029PWNED = 1",
    "claude-x\x85PWNED = 1",
    "claude-x\x0bPWNED = 1\x0c#",
    "claude-x\x1c\x1d\x1ePWNED = 1",
    '"); PWNED = 1; ("',
    "'); PWNED = 1; ('",
    '"""\nPWNED = 1\n"""',
    "'''\nPWNED = 1\n'''",
    "trailing backslash \\",
    "\\\nPWNED = 1",
    "*/ PWNED = 1; /*",
    "</script><script>PWNED = 1</script>",
    "${PWNED} `PWNED` $(PWNED)",
    "\x1b]0;PWNED\x07\x1b[2J",
    "\u202eevil\u2066 bidi \u2069",
    "lone \ud800 surrogate \U000e0041 tag",
    "nul \x00 byte",
]
BENIGN_NAME = "claude-fable-9"


def _exports(name: str) -> tuple[str, str, str, dict[str, Any], dict[str, Any]]:
    """Every export of a policy whose strings (model, tool names, SDK settings) are ``name``."""
    edit = {**CLEAR_TOOLS, "exclude_tools": [name, "web_search"]}
    cm = {"edits": [edit, {**COMPACT, "instructions": name}]}
    cc = {**CC, "model": name, "summary_prompt": f"{name} <summary></summary>"}
    program = python_sdk_call(name, context_management=cm, compaction_control=cc)
    return program, context_management_json(cm), compaction_control_dict(cc), cm, cc


class _NoStrings(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant("S") if isinstance(node.value, str) else node


def _shape(code: str) -> str:
    """The program's syntax tree with every string constant the same."""
    return ast.dump(_NoStrings().visit(ast.parse(code)))


def _one_line_per_newline(text: str) -> None:
    """No character an editor, a terminal or Python could read as a line break or a control."""
    assert all(c.isprintable() or c == "\n" for c in text), [
        c for c in text if not c.isprintable() and c != "\n"
    ]
    assert text.splitlines() == text.rstrip("\n").split("\n")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_cannot_change_the_python_program(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _, _, cm, cc = _exports(name)
    assert _shape(program) == _shape(_exports(BENIGN_NAME)[0])
    _one_line_per_newline(program)
    recorder = _Recorder()
    monkeypatch.setitem(sys.modules, "anthropic", recorder.module)
    scope: dict[str, Any] = {"__name__": "__snippet__", "print": lambda *a: None}
    exec(compile(program, "<snippet>", "exec"), scope)
    assert "PWNED" not in scope
    ((method, kwargs),) = recorder.calls
    assert method == "tool_runner"
    assert kwargs["model"] == name.strip()  # the string itself reaches the call, intact
    assert kwargs["context_management"] == cm
    assert kwargs["compaction_control"] == cc


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_display_name_in_a_model_table_stays_a_comment(name: str) -> None:
    """A user's model table (the app's sidebar, --models) names models too."""
    from ctxviz.models import load_model_table

    def program(display_name: str) -> str:
        entry = {"id": "claude-opus-4-6", "display_name": display_name}
        table = load_model_table(data={"models": [entry]})
        return python_sdk_call("claude-opus-4-6", context_management=ALL_THREE, table=table)

    hostile = program(name)
    assert _shape(hostile) == _shape(program(BENIGN_NAME))
    _one_line_per_newline(hostile)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_stays_data_in_the_json_and_the_dict(name: str) -> None:
    _, cm_json, cc_dict, cm, cc = _exports(name)
    assert json.loads(cm_json) == cm
    assert ast.literal_eval(cc_dict) == cc
    assert _shape(f"cc = {cc_dict}") == _shape(f"cc = {_exports(BENIGN_NAME)[2]}")
    for text in (cm_json, cc_dict):
        _one_line_per_newline(text)


# ---- validate_context_management: errors ------------------------------------------------------


def _problems(cm: Any, model: Any = None) -> list[str]:
    with pytest.raises(PolicyError) as err:
        validate_context_management(cm, model)
    assert isinstance(err.value, ValueError)
    assert str(err.value) == "\n".join(err.value.problems)
    return list(err.value.problems)


@pytest.mark.parametrize(
    ("cm", "message"),
    [
        (
            {"edits": [CLEAR_TOOLS, CLEAR_THINKING]},
            "context_management.edits[1]: clear_thinking_20251015 must be the first edit "
            "(the API rejects it otherwise)",
        ),
        (
            {"edits": [{"type": "clear_everything"}]},
            "context_management.edits[0].type: unknown edit type 'clear_everything'; the API "
            "takes clear_thinking_20251015, clear_tool_uses_20250919, compact_20260112",
        ),
        (
            {"edits": [{"keep": "all"}]},
            "context_management.edits[0].type: missing 'type'; the API takes",
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_thinking_20251015",
                        "keep": {"type": "thinking_turns", "value": 0},
                    }
                ]
            },
            "context_management.edits[0].keep.value: a keep of 0 thinking turns is rejected by "
            'the API (keep at least 1, or "all")',
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_thinking_20251015",
                        "keep": {"type": "thinking_turns", "value": -2},
                    }
                ]
            },
            "context_management.edits[0].keep.value: must be a positive integer, got -2",
        ),
        (
            {
                "edits": [
                    {"type": "clear_thinking_20251015", "keep": {"type": "tool_uses", "value": 2}}
                ]
            },
            "context_management.edits[0].keep.type: expected 'thinking_turns' or 'all', "
            "got 'tool_uses'",
        ),
        (
            {"edits": [{"type": "clear_thinking_20251015", "keep": "some"}]},
            'context_management.edits[0].keep: expected {"type": "thinking_turns", '
            "\"value\": N}, got 'some'",
        ),
        (
            {
                "edits": [
                    {
                        "type": "compact_20260112",
                        "trigger": {"type": "input_tokens", "value": 40_000},
                    }
                ]
            },
            "context_management.edits[0].trigger.value: 40,000 is below the minimum of 50,000 "
            "input tokens the API accepts for compact_20260112",
        ),
        (
            {
                "edits": [
                    {"type": "compact_20260112", "trigger": {"type": "tool_uses", "value": 60_000}}
                ]
            },
            "context_management.edits[0].trigger.type: compact_20260112 only takes an "
            "input_tokens trigger, got 'tool_uses'",
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "trigger": {"type": "input_tokens", "value": 0},
                    }
                ]
            },
            "context_management.edits[0].trigger.value: must be a positive integer, got 0",
        ),
        (
            {
                "edits": [
                    {"type": "clear_tool_uses_20250919", "keep": {"type": "tool_uses", "value": -1}}
                ]
            },
            "context_management.edits[0].keep.value: must be a positive integer, got -1",
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "clear_at_least": {"type": "input_tokens", "value": 0},
                    }
                ]
            },
            "context_management.edits[0].clear_at_least.value: must be a positive integer, got 0",
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "trigger": {"type": "input_tokens", "value": 1.5},
                    }
                ]
            },
            "context_management.edits[0].trigger.value: expected an integer, got 1.5",
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "trigger": {"type": "input_tokens", "value": True},
                    }
                ]
            },
            "context_management.edits[0].trigger.value: expected an integer, got True",
        ),
        (
            {"edits": [{"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens"}}]},
            "context_management.edits[0].trigger.value: missing "
            "(a positive number of input_tokens)",
        ),
        (
            {
                "edits": [
                    {"type": "clear_tool_uses_20250919", "trigger": {"type": "turns", "value": 3}}
                ]
            },
            "context_management.edits[0].trigger.type: expected 'input_tokens' or 'tool_uses', "
            "got 'turns'",
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "trigger": {"type": "input_tokens", "value": 9, "unit": "k"},
                    }
                ]
            },
            "context_management.edits[0].trigger: unknown key 'unit' "
            "(expected only 'type' and 'value')",
        ),
        (
            {"edits": [{"type": "clear_tool_uses_20250919", "keep_last": 3}]},
            "context_management.edits[0]: unknown key 'keep_last' for clear_tool_uses_20250919 "
            "(allowed: trigger, keep, clear_at_least, exclude_tools, clear_tool_inputs)",
        ),
        (
            {
                "edits": [
                    {
                        "type": "clear_thinking_20251015",
                        "trigger": {"type": "input_tokens", "value": 1},
                    }
                ]
            },
            "context_management.edits[0]: unknown key 'trigger' for clear_thinking_20251015 "
            "(allowed: keep)",
        ),
        (
            {"edits": [{"type": "compact_20260112", "keep": {"type": "tool_uses", "value": 1}}]},
            "context_management.edits[0]: unknown key 'keep' for compact_20260112 "
            "(allowed: trigger, instructions, pause_after_compaction)",
        ),
        (
            {"edits": [], "strategy": "auto"},
            "context_management: unknown key 'strategy' (the API takes only 'edits')",
        ),
        (
            {"edits": [{"type": "clear_tool_uses_20250919", "exclude_tools": "web_search"}]},
            "context_management.edits[0].exclude_tools: expected a list of tool names, "
            "got 'web_search'",
        ),
        (
            {"edits": [{"type": "clear_tool_uses_20250919", "clear_tool_inputs": "yes"}]},
            "context_management.edits[0].clear_tool_inputs: expected true, false or a list of "
            "tool names, got 'yes'",
        ),
        (
            {"edits": [{"type": "compact_20260112", "instructions": 42}]},
            "context_management.edits[0].instructions: expected a string, got 42",
        ),
        (
            {"edits": [{"type": "compact_20260112", "pause_after_compaction": "no"}]},
            "context_management.edits[0].pause_after_compaction: expected true or false, got 'no'",
        ),
        (
            {"edits": ["clear_tool_uses_20250919"]},
            "context_management.edits[0]: expected an object with a 'type', "
            "got 'clear_tool_uses_20250919'",
        ),
    ],
)
def test_api_rejections_name_the_place(cm: Any, message: str) -> None:
    assert any(p.startswith(message) for p in _problems(cm)), _problems(cm)


@pytest.mark.parametrize(
    ("cm", "message"),
    [
        ([CLEAR_TOOLS], 'context_management: expected an object {"edits": [...]}'),
        ({"edits": CLEAR_TOOLS}, "context_management.edits: expected a list of edits"),
        ({"edits": "clear_tool_uses_20250919"}, "context_management.edits: expected a list"),
    ],
)
def test_wrong_shapes_are_rejected(cm: Any, message: str) -> None:
    assert _problems(cm)[-1].startswith(message)


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(
        {
            "edits": [
                {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 1_000}},
                {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 0}},
            ]
        }
    )
    assert [p.split(":")[0] for p in problems] == [
        "context_management.edits[0].trigger.value",
        "context_management.edits[1]",
        "context_management.edits[1].keep.value",
    ]


def test_errors_win_over_model_warnings() -> None:
    with pytest.raises(PolicyError):
        validate_context_management({"edits": [CLEAR_TOOLS, CLEAR_THINKING]}, SONNET_45)


# ---- validate_context_management: accepted, with or without warnings -----------------------------


@pytest.mark.parametrize(
    "cm",
    [
        None,
        ALL_THREE,
        {"edits": [CLEAR_THINKING]},
        {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        {"edits": [{"type": "clear_thinking_20251015", "keep": {"type": "all"}}]},
        {"edits": [{"type": "clear_tool_uses_20250919"}]},
        {
            "edits": [
                {"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 5}}
            ]
        },
        {
            "edits": [
                {
                    "type": "clear_tool_uses_20250919",
                    "clear_tool_inputs": ["bash"],
                    "clear_at_least": None,
                }
            ]
        },
        {"edits": [{"type": "compact_20260112"}]},
        {
            "edits": [
                {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50_000}}
            ]
        },
    ],
)
def test_valid_policies_pass_silently_on_opus_4_6(cm: Any) -> None:
    assert validate_context_management(cm, OPUS_46) == []


@pytest.mark.parametrize(
    ("model_id", "cm", "warning"),
    [
        (
            "claude-sonnet-4-5",
            {"edits": [COMPACT]},
            "context_management.edits[0]: compact_20260112 is not supported on Claude Sonnet 4.5; "
            "the API accepts it on Claude Opus 4.6, Sonnet 4.6 and later (the replay runs it as "
            "a what-if)",
        ),
        (
            "claude-3-7-sonnet",
            {"edits": [CLEAR_TOOLS]},
            "context_management.edits[0]: clear_tool_uses_20250919 is not supported on "
            "Claude Sonnet 3.7 (the replay runs it as a what-if)",
        ),
        (
            "gpt-4o",
            {"edits": [CLEAR_TOOLS]},
            "context_management.edits[0]: clear_tool_uses_20250919 is an Anthropic API feature; "
            "GPT-4o (OpenAI) does not support it (the replay runs it as a what-if)",
        ),
        (
            "claude-fable-9",
            {"edits": [CLEAR_TOOLS]},
            "context_management: model 'claude-fable-9' is not in the model table; whether it "
            "supports these edits is unknown",
        ),
        (
            "claude-haiku-4-5",
            {
                "edits": [
                    {
                        "type": "clear_tool_uses_20250919",
                        "trigger": {"type": "input_tokens", "value": 200_000},
                    }
                ]
            },
            "context_management.edits[0].trigger.value: 200,000 input tokens is not below "
            "Claude Haiku 4.5's 200,000-token window: this edit can never fire",
        ),
        ("claude-opus-4-6", {"edits": []}, "context_management.edits is empty: no edit is applied"),
    ],
)
def test_model_limits_are_warnings(model_id: str, cm: Any, warning: str) -> None:
    warnings = validate_context_management(cm, default_table().get(model_id))
    assert warning in warnings


def test_compaction_is_accepted_on_sonnet_4_6_and_later() -> None:
    for model_id in ("claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-4-8"):
        assert (
            validate_context_management({"edits": [COMPACT]}, default_table().get(model_id)) == []
        )


# ---- validate_compaction_control -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cc", "message"),
    [
        ({"context_token_threshold": 100_000}, "compaction_control.enabled: required"),
        ({"enabled": "yes"}, "compaction_control.enabled: expected True or False, got 'yes'"),
        (
            {"enabled": True, "threshold": 50_000},
            "compaction_control: unknown key 'threshold' (the SDK takes enabled, "
            "context_token_threshold, model, summary_prompt; others are silently ignored)",
        ),
        (
            {"enabled": True, "context_token_threshold": 0},
            "compaction_control.context_token_threshold: must be a positive integer, got 0",
        ),
        (
            {"enabled": True, "context_token_threshold": 1e5},
            "compaction_control.context_token_threshold: expected an integer, got 100000.0",
        ),
        ({"enabled": True, "model": ""}, "compaction_control.model: expected a model id, got ''"),
        (
            {"enabled": True, "summary_prompt": "  "},
            "compaction_control.summary_prompt: expected a non-empty string, got '  '",
        ),
        (True, "compaction_control: expected an object"),
    ],
)
def test_compaction_control_rejections(cc: Any, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        validate_compaction_control(cc)
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems


def test_compaction_control_warnings() -> None:
    assert validate_compaction_control(CC) == []
    assert validate_compaction_control(None) == []
    assert validate_compaction_control({"enabled": False}) == [
        "compaction_control.enabled is False: the SDK never compacts"
    ]
    assert validate_compaction_control({"enabled": True, "summary_prompt": "Summarise."}) == [
        "compaction_control.summary_prompt does not ask for <summary></summary> tags, as the "
        "SDK's documentation requires"
    ]


def test_snippet_arguments_exist_in_the_installed_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    import anthropic

    messages = anthropic.Anthropic(api_key="unused").beta.messages
    thinking = {"type": "enabled", "budget_tokens": 8_000}
    for max_tokens, method in ((16_000, "create"), (64_000, "stream")):
        code = python_sdk_call(
            "claude-opus-4-6",
            context_management=ALL_THREE,
            thinking=thinking,
            max_tokens=max_tokens,
        )
        called, kwargs = run(code, monkeypatch)
        assert called == method
        accepted = inspect.signature(getattr(messages, method)).parameters
        assert set(kwargs) <= set(accepted), set(kwargs) - set(accepted)


def test_snippet_through_the_real_sdk_sends_the_exact_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anthropic

    try:  # the SDK's HTTP client: httpx2 in recent releases, httpx before
        import httpx2 as httpx
    except ImportError:
        import httpx  # type: ignore[no-redef]

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-6",
                "content": [{"type": "text", "text": "Hi"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 2},
                "context_management": {"applied_edits": []},
            },
        )

    module = types.ModuleType("anthropic")
    module.Anthropic = lambda: anthropic.Anthropic(  # type: ignore[attr-defined]
        api_key="unused", http_client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    monkeypatch.setitem(sys.modules, "anthropic", module)
    code = python_sdk_call("claude-opus-4-6", context_management=ALL_THREE)
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__", "print": lambda *a: None})
    (request,) = seen
    body = json.loads(request.content)
    assert body["context_management"] == ALL_THREE
    assert body["model"] == "claude-opus-4-6"
    assert request.headers["anthropic-beta"] == f"{CONTEXT_MANAGEMENT_BETA},{COMPACT_BETA}"


def test_sdk_call_on_a_retired_model_says_so() -> None:
    program = python_sdk_call("claude-sonnet-4-5-20250929")
    assert "# Claude Sonnet 4.5 was retired on 2026-11-30: the API refuses it" in program
    assert "retired" not in python_sdk_call("claude-opus-5-5")


# ---- compaction on demand: the client's loop ----------------------------------------------------


class _LoopSDK:
    """Stands in for ``anthropic`` in a compaction loop: every call is recorded; a compaction
    request answers with a block, any other with a reply of 150 tokens in all."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        recorder = self

        class _Messages:
            def create(self, **kwargs: Any) -> Any:
                recorder.calls.append(kwargs)
                usage = types.SimpleNamespace(
                    input_tokens=100,
                    output_tokens=50,
                    cache_creation_input_tokens=None,
                    cache_read_input_tokens=0,
                )
                if "compaction" in kwargs:
                    block = {"type": "compaction", "content": "summary", "signature": "s"}
                    return types.SimpleNamespace(
                        stop_reason="compaction", content=[block], usage=usage
                    )
                reply = [{"type": "text", "text": f"reply {len(recorder.calls)}"}]
                return types.SimpleNamespace(stop_reason="end_turn", content=reply, usage=usage)

        class _Client:
            def __init__(self) -> None:
                self.beta = types.SimpleNamespace(messages=_Messages())

        self.module = types.ModuleType("anthropic")
        self.module.Anthropic = _Client  # type: ignore[attr-defined]


def _run_loop(
    code: str, monkeypatch: pytest.MonkeyPatch, turns: int
) -> tuple[_LoopSDK, dict[str, Any]]:
    sdk = _LoopSDK()
    monkeypatch.setitem(sys.modules, "anthropic", sdk.module)
    scope: dict[str, Any] = {"__name__": "__snippet__", "print": lambda *a: None}
    exec(compile(code, "<snippet>", "exec"), scope)
    for n in range(2, turns + 1):
        scope["send"]([{"role": "user", "content": f"question {n}"}])
    if "executor" in scope:
        scope["executor"].shutdown()
    return sdk, scope


def _is_block(message: dict[str, Any]) -> bool:
    content = message["content"]
    return isinstance(content, list) and content[0].get("type") == "compaction"


def test_compaction_loop_compacts_past_its_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    code = python_sdk_call("claude-opus-5-5", compaction=cod.CompactOnDemand(at_prompt_tokens=120))
    ast.parse(code)
    sdk, _ = _run_loop(code, monkeypatch, turns=2)
    first, summary, second = sdk.calls
    assert "compaction" not in first and first["betas"] == ["compact-2026-09-04"]
    assert summary["compaction"] == {"type": "summarize"}
    assert summary["betas"] == ["compact-2026-09-04"]
    assert [m["role"] for m in summary["messages"]] == ["user", "assistant"]
    assert _is_block(second["messages"][0])
    assert second["messages"][1] == {"role": "user", "content": "question 2"}
    assert "context_management" not in code


def test_compaction_loop_keeps_recent_turns_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = cod.CompactOnDemand(every_requests=2, keep_recent_turns=1)
    sdk, _ = _run_loop(python_sdk_call("claude-opus-5-5", compaction=cfg), monkeypatch, turns=3)
    summaries = [c for c in sdk.calls if "compaction" in c]
    assert len(summaries) == 1
    assert summaries[0]["messages"][0]["content"] == "Hello, Claude"
    assert len(summaries[0]["messages"]) == 2  # the first turn only
    last = sdk.calls[-1]["messages"]
    assert _is_block(last[0])
    assert last[1] == {"role": "user", "content": "question 2"}  # the kept turn, verbatim
    assert last[-1] == {"role": "user", "content": "question 3"}


def test_compaction_loop_in_the_background_swaps_one_request_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = cod.CompactOnDemand(at_prompt_tokens=120, background=True)
    code = python_sdk_call("claude-opus-5-5", compaction=cfg)
    assert "ThreadPoolExecutor" in code
    sdk, _ = _run_loop(code, monkeypatch, turns=3)
    requests = [c for c in sdk.calls if "compaction" not in c]
    assert len(requests) == 3
    assert not _is_block(requests[1]["messages"][0])  # sent on the full history
    assert _is_block(requests[2]["messages"][0])  # the block swapped in
    assert requests[2]["messages"][1:] == [
        {"role": "user", "content": "question 2"},
        {"role": "assistant", "content": [{"type": "text", "text": "reply 3"}]},
        {"role": "user", "content": "question 3"},
    ]


def test_compaction_cannot_be_combined_with_context_management() -> None:
    with pytest.raises(PolicyError, match="cannot be combined"):
        python_sdk_call(
            "claude-opus-5-5",
            context_management={"edits": [CLEAR_TOOLS]},
            compaction=cod.CompactOnDemand(every_requests=3),
        )


def test_compaction_loop_warns_on_an_unsupported_model() -> None:
    code = python_sdk_call("claude-haiku-4-5", compaction=cod.CompactOnDemand(every_requests=3))
    assert "# Warning: compaction on demand is not listed as supported" in code


def test_prefix_mismatch_goes_in_thinking_block_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    code = python_sdk_call("claude-fable-5-1", thinking_prefix_mismatch="drop")
    _, kwargs = run(code, monkeypatch)
    assert kwargs["thinking"] == {
        "type": "adaptive",
        "block_binding": {"prefix_mismatch_behavior": "drop_block"},
    }
    assert kwargs["betas"] == ["thinking-binding-controls-2026-08-01"]
    loop = python_sdk_call(
        "claude-fable-5-1",
        compaction=cod.CompactOnDemand(every_requests=3),
        thinking_prefix_mismatch="reject",
    )
    assert '"prefix_mismatch_behavior": "error"' in loop
    assert 'BETAS = ["compact-2026-09-04", "thinking-binding-controls-2026-08-01"]' in loop
