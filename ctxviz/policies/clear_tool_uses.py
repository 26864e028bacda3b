"""The ``clear_tool_uses_20250919`` edit: clear old tool results once the prompt is large.

Rules as replayed (docs/semantics.md#clear_tool_uses), decided here:

- Evaluated afresh at every request on the prompt as the client sent it (the client keeps its full
  history) after the edits listed before this one.
- Trigger: ``input_tokens`` fires when the prompt EXCEEDS the value (``>``, "once the prompt
  exceeds"); ``tool_uses`` when the prompt holds more than ``value`` tool uses. Default 100,000
  input tokens.
- Once triggered, every tool use except the most recent ``keep`` (default 3) is cleared, oldest
  first, except those of ``exclude_tools``. ``keep`` counts all tool uses of the prompt, excluded
  ones included (interpretation: "the most recent N tool use/result pairs are kept").
- Each cleared result's content is replaced by ``PLACEHOLDER`` (an assumption: the API's exact
  wording is not documented), which costs its own tokens; the block stays, with its frame. With
  ``clear_tool_inputs`` (true, or a list of tool names) the calls' inputs are cleared too; the
  calls stay, with their names.
- ``cleared_input_tokens`` is the net saving (removed tokens minus placeholders), so that
  ``original_input_tokens - input_tokens`` is the sum of the applied edits' savings.
- ``clear_at_least``: if fewer tokens than that would be cleared, the edit is not applied at all.
- Client tool uses (``tool_use`` / ``tool_result``) and server tool uses (``server_tool_use`` /
  ``web_search_tool_result`` …) are both tool uses.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, cast

from ctxviz.models import ModelInfo
from ctxviz.policies.base import (
    WHAT_IF,
    ChartLine,
    Findings,
    check_count,
    provider_warnings,
    trigger_warnings,
)

if TYPE_CHECKING:
    from anthropic.types.beta import BetaClearToolUses20250919EditParam as ClearToolUsesParam

from ctxviz.policies.step import AppliedEdit, At, Cleared, Prompt, Replay

TYPE: Final = "clear_tool_uses_20250919"
KEYS: Final = ("type", "trigger", "keep", "clear_at_least", "exclude_tools", "clear_tool_inputs")
BETA: Final = "context-management-2025-06-27"
"""The beta header a request with this edit needs."""
PLACEHOLDER: Final = "[Tool result cleared to save context]"
DEFAULT_TRIGGER_TOKENS: Final = 100_000
DEFAULT_KEEP_TOOL_USES: Final = 3

TriggerType: TypeAlias = Literal["input_tokens", "tool_uses"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """When clearing starts: the prompt exceeds ``value`` input tokens, or holds more than
    ``value`` tool uses."""

    type: TriggerType = "input_tokens"
    value: int = DEFAULT_TRIGGER_TOKENS


DEFAULT_TRIGGER: Final = Trigger()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearToolUses:
    """A validated ``clear_tool_uses_20250919`` edit; None: not given (the API's default)."""

    trigger: Trigger | None = None
    """None: more than ``DEFAULT_TRIGGER_TOKENS`` input tokens."""
    keep: int | None = None
    """``keep.value``, in tool uses; None: ``DEFAULT_KEEP_TOOL_USES``."""
    clear_at_least_tokens: int | None = None
    exclude_tools: tuple[str, ...] = ()
    clear_tool_inputs: bool | tuple[str, ...] = False
    """True: every cleared call's input; names: only those tools' inputs."""

    @property
    def trigger_type(self) -> TriggerType:
        """What the trigger counts."""
        return (self.trigger or DEFAULT_TRIGGER).type

    @property
    def trigger_value(self) -> int:
        """The trigger's value (input tokens or tool uses, per ``trigger_type``)."""
        return (self.trigger or DEFAULT_TRIGGER).value

    @property
    def keep_tool_uses(self) -> int:
        """The most recent tool uses never cleared."""
        return DEFAULT_KEEP_TOOL_USES if self.keep is None else self.keep

    def clears_input_of(self, tool_name: str) -> bool:
        """Whether clearing this tool's use also clears its input."""
        if isinstance(self.clear_tool_inputs, bool):
            return self.clear_tool_inputs
        return tool_name in self.clear_tool_inputs

    def triggered(self, *, prompt_tokens: int, tool_uses: int) -> bool:
        """Whether the prompt (as left by the edits before this one) starts clearing."""
        if self.trigger_type == "input_tokens":
            return prompt_tokens > self.trigger_value
        return tool_uses > self.trigger_value

    def clearable_count(self, tool_uses: int) -> int:
        """How many of the prompt's tool uses, oldest first, are candidates (all but ``keep``)."""
        return max(0, tool_uses - self.keep_tool_uses)

    def worth_clearing(self, cleared_input_tokens: int) -> bool:
        """``clear_at_least``: all or nothing."""
        if cleared_input_tokens <= 0:
            return False
        return self.clear_at_least_tokens is None or cleared_input_tokens >= (
            self.clear_at_least_tokens
        )

    def chart_line(self) -> ChartLine | None:
        """The trigger a chart draws (None: a trigger counting tool uses is no prompt size)."""
        if self.trigger_type != "input_tokens":
            return None
        return ChartLine(
            tokens=self.trigger_value, label=f"{TYPE} trigger ({self.trigger_value:,})"
        )

    def apply(self, p: Prompt, tokens: int, at: At, replay: Replay) -> Cleared | None:
        """The edit on prompt ``p`` of ``tokens`` tokens (as the edits before it left it)."""
        uses = replay.tool_use_messages()
        lo, hi_all = bisect_left(uses, p.start), bisect_left(uses, p.end)
        if not self.triggered(prompt_tokens=tokens, tool_uses=hi_all - lo):
            return None
        hi = lo + self.clearable_count(hi_all - lo)
        count = replay.clearable_tool_uses(lo, hi)
        if count <= 0:
            return None
        q = p._replace(clear_lo=lo, clear_hi=hi)
        after = at.size(q)
        if not self.worth_clearing(tokens - after):
            return None
        return Cleared(
            prompt=q,
            tokens=after,
            report=report(cleared_tool_uses=count, cleared_input_tokens=tokens - after),
            detail=f"Request {at.request}: {count} tool use(s) cleared, {tokens - after:,} "
            "tokens saved.",
        )

    def to_api(self) -> ClearToolUsesParam:
        """The edit as the API takes it: what ``from_api`` reads back into this config (members
        at the API's default and not given are left out)."""
        out: ClearToolUsesParam = {"type": TYPE}
        if self.trigger is not None:
            if self.trigger.type == "tool_uses":
                out["trigger"] = {"type": "tool_uses", "value": self.trigger.value}
            else:
                out["trigger"] = {"type": "input_tokens", "value": self.trigger.value}
        if self.keep is not None:
            out["keep"] = {"type": "tool_uses", "value": self.keep}
        if self.clear_at_least_tokens is not None:
            out["clear_at_least"] = {"type": "input_tokens", "value": self.clear_at_least_tokens}
        if self.exclude_tools:
            out["exclude_tools"] = list(self.exclude_tools)
        if self.clear_tool_inputs is not False:
            inputs = self.clear_tool_inputs
            out["clear_tool_inputs"] = inputs if isinstance(inputs, bool) else list(inputs)
        return out


def validate(edit: Mapping[str, object], where: str, model: ModelInfo | None) -> Findings:
    """What the API rejects in this edit and, for a known ``model``, what it lacks."""
    problems: list[str] = []
    trigger = None
    if "trigger" in edit:
        kinds = ("input_tokens", "tool_uses")
        trigger = check_count(edit["trigger"], f"{where}.trigger", kinds, problems)
    if "keep" in edit:
        check_count(edit["keep"], f"{where}.keep", ("tool_uses",), problems)
    if edit.get("clear_at_least") is not None:
        check_count(edit["clear_at_least"], f"{where}.clear_at_least", ("input_tokens",), problems)
    exclude = edit.get("exclude_tools")
    if exclude is not None and not _names(exclude):
        problems.append(f"{where}.exclude_tools: expected a list of tool names, got {exclude!r}")
    inputs = edit.get("clear_tool_inputs")
    if not (inputs is None or isinstance(inputs, bool) or _names(inputs)):
        problems.append(
            f"{where}.clear_tool_inputs: expected true, false or a list of tool names, "
            f"got {inputs!r}"
        )
    warnings: list[str] = []
    if model is not None:
        warnings = provider_warnings(TYPE, where, model)
        if not warnings and not model.supports_context_editing:
            warnings.append(f"{where}: {TYPE} is not supported on {model.display_name} ({WHAT_IF})")
        warnings += trigger_warnings(trigger, where, model)
    return Findings(problems=tuple(problems), warnings=tuple(warnings))


def _names(value: object) -> bool:
    """A list of tool names (not a string, which is a sequence of characters)."""
    return (
        not isinstance(value, str)
        and isinstance(value, Sequence)
        and all(isinstance(t, str) for t in value)
    )


def from_api(edit: Mapping[str, object]) -> ClearToolUses:
    """The edit as the API takes it (already checked by ``validate``)."""
    given = cast("ClearToolUsesParam", edit)
    trigger = given.get("trigger")
    keep = given.get("keep")
    at_least = given.get("clear_at_least")
    inputs = given.get("clear_tool_inputs")
    return ClearToolUses(
        trigger=None
        if trigger is None
        else Trigger(
            type="tool_uses" if trigger["type"] == "tool_uses" else "input_tokens",
            value=int(trigger["value"]),
        ),
        keep=None if keep is None else int(keep["value"]),
        clear_at_least_tokens=None if at_least is None else int(at_least["value"]),
        exclude_tools=tuple(given.get("exclude_tools") or ()),
        clear_tool_inputs=bool(inputs)
        if inputs is None or isinstance(inputs, bool)
        else tuple(inputs),
    )


def report(*, cleared_tool_uses: int, cleared_input_tokens: int) -> AppliedEdit:
    """The entry the API returns in ``context_management.applied_edits``."""
    return {
        "type": TYPE,
        "cleared_tool_uses": cleared_tool_uses,
        "cleared_input_tokens": cleared_input_tokens,
    }
