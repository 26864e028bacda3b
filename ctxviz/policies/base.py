"""What every policy's checks share: the error, the findings a check returns, the API's
``{"type": ..., "value": N}`` objects, and the warnings a model's support gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ctxviz.models import ModelInfo

WHAT_IF: Final = "the replay runs it as a what-if"


class PolicyError(ValueError):
    """A policy the API (or the SDK) would reject; one line per problem, each naming its place."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, slots=True, kw_only=True)
class Findings:
    """What a check found: ``problems`` the API (or SDK) rejects, ``warnings`` it accepts."""

    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartLine:
    """A horizontal line a chart draws for a policy: where it fires, in prompt tokens."""

    tokens: int
    label: str


def is_int(value: object) -> bool:
    """An integer that is not a bool (JSON's ``true`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_count(
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
    if not isinstance(value, int) or isinstance(value, bool):
        problems.append(f"{where}.value: expected an integer, got {value!r}")
        return None
    if value <= 0:
        problems.append(f"{where}.value: must be a positive integer, got {value}")
        return None
    return str(kind), value


def check_keys(
    edit: Mapping[str, object], kind: str, keys: tuple[str, ...], where: str, problems: list[str]
) -> None:
    """Every key of ``edit`` is one of ``keys`` (``"type"`` first)."""
    for key in edit:
        if key not in keys:
            problems.append(
                f"{where}: unknown key '{key}' for {kind} (allowed: {', '.join(keys[1:])})"
            )


def trigger_warnings(trigger: tuple[str, int] | None, where: str, model: ModelInfo) -> list[str]:
    """An ``input_tokens`` trigger at or above the model's window never fires."""
    if trigger is None or trigger[0] != "input_tokens" or trigger[1] < model.context_window_tokens:
        return []
    return [
        f"{where}.trigger.value: {trigger[1]:,} input tokens is not below "
        f"{model.display_name}'s {model.context_window_tokens:,}-token window: "
        "this edit can never fire"
    ]


def provider_warnings(kind: str, where: str, model: ModelInfo) -> list[str]:
    """An edit is an Anthropic API feature: another provider's model does not take it."""
    if model.provider == "anthropic":
        return []
    return [
        f"{where}: {kind} is an Anthropic API feature; {model.display_name} does not "
        f"support it ({WHAT_IF})"
    ]
