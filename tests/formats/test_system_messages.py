"""``role: "system"`` messages inside ``messages`` (mid-conversation system messages)."""

from __future__ import annotations

import json
from typing import Any

import ctxviz
import ctxviz.loading as loading
from ctxviz.counting import count_tokens
from ctxviz.models import default_table


def u(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def s(text: str) -> dict[str, Any]:
    return {"role": "system", "content": text}


def a(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def body(model: str, *messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "max_tokens": 100, "system": "Be terse.", "messages": list(messages)}


def test_system_message_is_kept_in_place_for_a_model_that_accepts_it() -> None:
    conv = loading.loads(
        json.dumps(body("claude-opus-4-8", u("hi"), s("Answer in French."), a("Bonjour"), u("?")))
    )
    assert conv.format == "anthropic"
    assert [m.role for m in conv.messages] == ["user", "system", "assistant", "user"]
    assert conv.messages[1].source == "messages[1]"
    assert conv.warnings == []
    # the request after it holds it; the top-level system prompt is unchanged
    assert conv.requests[0].prompt_end == 2
    assert [b.text for b in conv.system] == ["Be terse."]  # type: ignore[attr-defined]


def test_system_message_to_a_model_that_refuses_it_warns_once() -> None:
    conv = loading.loads(
        json.dumps(
            body(
                "claude-sonnet-4-6",
                u("hi"),
                s("Answer in French."),
                a("Bonjour"),
                u("?"),
                s("Shorter."),
            )
        )
    )
    assert [m.role for m in conv.messages] == ["user", "system", "assistant", "user", "system"]
    assert conv.warnings == [
        "messages[1] and 1 more: a system message inside `messages`, which Claude Sonnet 4.6 "
        "does not accept (the API answers 400; Opus 4.8 and later do); counted as sent"
    ]
    # ending with a system message: the request about to be sent is a row
    assert conv.requests[-1].response is None and conv.requests[-1].prompt_end == 5


def test_the_model_table_says_which_models_accept_system_messages() -> None:
    table = default_table()
    assert table.get("claude-opus-4-8").supports_system_messages
    assert not table.get("claude-sonnet-4-6").supports_system_messages
    assert not table.get("claude-3-haiku").supports_system_messages


def test_system_message_is_counted_in_the_prompt_as_system() -> None:
    with_system = body("claude-opus-4-8", u("hi"), s("Answer in French, always."), a("Oui"))
    without = body("claude-opus-4-8", u("hi"), a("Oui"))
    counter = lambda text, family: len(text.split())  # noqa: E731
    got = count_tokens(with_system, counter=counter, message_frame_tokens=3)
    base = count_tokens(without, counter=counter, message_frame_tokens=3)
    assert got["input_tokens"] == base["input_tokens"] + 4 + 3  # four words and one frame
    sim = ctxviz.simulate(
        loading.loads(json.dumps(with_system)), counter=counter, message_frame_tokens=3
    )
    comp = sim.composition.iloc[0]
    assert comp["system"] == 2 + 4 + 3  # "Be terse." + the system message and its frame
    assert comp["user_text"] == 1 + 3


def test_as_recorded_replay_of_a_log_with_system_messages_keeps_recorded_usage() -> None:
    def usage(inp: int, out: int) -> dict[str, Any]:
        return {"input_tokens": inp, "output_tokens": out}

    def resp(text: str, inp: int, out: int) -> dict[str, Any]:
        return {
            "type": "message",
            "role": "assistant",
            "model": "claude-opus-4-8",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": usage(inp, out),
        }

    first = body("claude-opus-4-8", u("hi"), s("Answer in French."))
    second = body(
        "claude-opus-4-8", u("hi"), s("Answer in French."), a("Bonjour"), u("more"), s("Shorter.")
    )
    lines = [
        json.dumps({"request": first, "response": resp("Bonjour", 31, 4)}),
        json.dumps({"request": second, "response": resp("Oui", 47, 2)}),
    ]
    conv = loading.loads("\n".join(lines))
    assert conv.warnings == []
    assert [m.role for m in conv.messages] == [
        "user",
        "system",
        "assistant",
        "user",
        "system",
        "assistant",
    ]
    sim = ctxviz.simulate(conv)
    assert sim.requests["input_tokens"].tolist() == [31, 47]
    assert sim.requests["output_tokens"].tolist() == [4, 2]
    assert sim.requests["source"].tolist() == ["recorded", "recorded"]


def test_openai_system_messages_still_become_the_system_prompt() -> None:
    chat = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "Now in French."},
            {"role": "assistant", "content": "Bonjour"},
        ],
    }
    conv = loading.loads(json.dumps(chat))
    assert conv.format == "openai"
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    assert [b.text for b in conv.system] == ["Be terse.", "Now in French."]  # type: ignore[attr-defined]


def test_a_misplaced_system_message_is_kept_with_a_warning() -> None:
    conv = loading.loads(
        json.dumps(
            body("claude-opus-4-8", u("hi"), s("One."), s("Two."), a("ok"), u("?"), s("Three."))
        )
    )
    assert [m.role for m in conv.messages] == [
        "user",
        "system",
        "system",
        "assistant",
        "user",
        "system",
    ]
    assert conv.warnings == [
        "messages[1] and 1 more: a system message where the API refuses it (it must follow a "
        "user turn, or an assistant turn ending in a server tool use, and come last or before an "
        "assistant turn); counted as sent"
    ]
