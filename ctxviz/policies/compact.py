"""Server-side compaction ``compact_20260112``, and ``compact_at``'s summary inside a request.

Where compaction is decided (server side):

- Judged last, on the prompt as the clearing edits left it. It fires in the request whose prompt
  reaches the trigger (``>=``: the request that crosses it; default 150,000; the API rejects less
  than 50,000), or at a request the user picked (``compact_at``: the older shorthand for a
  summary of that request's whole prompt; compaction on demand proper, the client's loop, is
  ``ctxviz.policies.compact_on_demand``).
- It happens INSIDE that request, as an extra model iteration: the compaction iteration reads the
  crossing prompt and writes the summary (``summary_tokens``); the request's row is then the model
  call that saw the summary — the prompt is the fixed prefix (system, tools) plus the summary
  (interpretation: the pending user message is folded into the summary, as in the recorded
  cassette where the message iteration's prompt is the summary plus about 100 tokens). Both
  iterations are billed on that request (``compaction_input_tokens`` /
  ``compaction_output_tokens`` columns).
- Later requests send the ``compaction`` block back and the API drops everything before it.
- ``pause_after_compaction``: the request stops with ``stop_reason: "compaction"`` after writing the
  summary (a row of its own whose output is the summary); the client sends the request again and
  the model's answer comes in a second row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

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
    from anthropic.types.beta import BetaCompact20260112EditParam as CompactParam

from ctxviz.policies.step import At, Fired, event

TYPE: Final = "compact_20260112"
KEYS: Final = ("type", "trigger", "instructions", "pause_after_compaction")
BETA: Final = "compact-2026-01-12"
"""The beta header a request with this edit needs."""
DEFAULT_TRIGGER_TOKENS: Final = 150_000
MIN_TRIGGER_TOKENS: Final = 50_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Compact:
    """A validated ``compact_20260112`` edit; None: not given (the API's default)."""

    trigger: int | None = None
    """``trigger.value``, in input tokens; None: ``DEFAULT_TRIGGER_TOKENS``."""
    instructions: str | None = None
    pause_after_compaction: bool = False

    @property
    def trigger_tokens(self) -> int:
        """The prompt size that compacts."""
        return DEFAULT_TRIGGER_TOKENS if self.trigger is None else self.trigger

    def fires(self, prompt_tokens: int) -> bool:
        """Whether the prompt after the clearing edits crosses the trigger."""
        return prompt_tokens >= self.trigger_tokens

    def chart_line(self) -> ChartLine:
        """The trigger a chart draws."""
        return ChartLine(
            tokens=self.trigger_tokens, label=f"{TYPE} trigger ({self.trigger_tokens:,})"
        )

    def to_api(self) -> CompactParam:
        """The edit as the API takes it: what ``from_api`` reads back into this config (members
        at the API's default and not given are left out)."""
        out: CompactParam = {"type": TYPE}
        if self.trigger is not None:
            out["trigger"] = {"type": "input_tokens", "value": self.trigger}
        if self.instructions is not None:
            out["instructions"] = self.instructions
        if self.pause_after_compaction:
            out["pause_after_compaction"] = True
        return out


def validate(edit: Mapping[str, object], where: str, model: ModelInfo | None) -> Findings:
    """What the API rejects in this edit and, for a known ``model``, what it lacks."""
    problems: list[str] = []
    trigger = None
    raw = edit.get("trigger")
    if raw is not None:
        if isinstance(raw, Mapping) and raw.get("type") not in (None, "input_tokens"):
            problems.append(
                f"{where}.trigger.type: {TYPE} only takes an input_tokens trigger, "
                f"got {raw.get('type')!r}"
            )
        else:
            trigger = check_count(raw, f"{where}.trigger", ("input_tokens",), problems)
            if trigger is not None and trigger[1] < MIN_TRIGGER_TOKENS:
                problems.append(
                    f"{where}.trigger.value: {trigger[1]:,} is below the minimum of "
                    f"{MIN_TRIGGER_TOKENS:,} input tokens the API accepts for {TYPE}"
                )
                trigger = None
    instructions = edit.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        problems.append(f"{where}.instructions: expected a string, got {instructions!r}")
    pause = edit.get("pause_after_compaction")
    if "pause_after_compaction" in edit and not isinstance(pause, bool):
        problems.append(f"{where}.pause_after_compaction: expected true or false, got {pause!r}")
    warnings: list[str] = []
    if model is not None:
        warnings = provider_warnings(TYPE, where, model)
        if not warnings and not model.supports_compact_20260112:
            warnings.append(
                f"{where}: {TYPE} is not supported on {model.display_name}; the API "
                f"accepts it on Claude Opus 4.6, Sonnet 4.6 and later ({WHAT_IF})"
            )
        warnings += trigger_warnings(trigger, where, model)
    return Findings(problems=tuple(problems), warnings=tuple(warnings))


def from_api(edit: Mapping[str, object]) -> Compact:
    """The edit as the API takes it (already checked by ``validate``)."""
    given = cast("CompactParam", edit)
    trigger = given.get("trigger")
    return Compact(
        trigger=None if trigger is None else int(trigger["value"]),
        instructions=given.get("instructions"),
        pause_after_compaction=bool(given.get("pause_after_compaction", False)),
    )


def step(config: Compact | None, *, on_demand: bool, tokens: int, at: At) -> Fired | None:
    """Judged last, on the cleared prompt of ``tokens`` tokens: compacts inside this request when
    it crosses the trigger or when compaction was asked for here (``on_demand``)."""
    fires = config is not None and config.fires(tokens)
    if not (fires or on_demand):
        return None
    trigger = (config or Compact()).trigger_tokens
    summarized = at.summary()
    after = at.size(summarized)
    how = f"crossed the {trigger:,}-token trigger" if fires else "was compacted on demand"
    return Fired(
        prompt=summarized,
        event=event(
            at.row,
            at.request,
            TYPE,
            f"Request {at.request}: the prompt ({tokens:,} tokens) {how}; a compaction iteration "
            f"wrote a {at.summary_tokens:,}-token summary and the model continued on a "
            f"{after:,}-token prompt.",
            tokens_before=tokens,
            tokens_after=after,
            summary_tokens=at.summary_tokens,
            trigger=str(trigger) if fires else "on_demand",
        ),
        compaction_input_tokens=tokens,
        compaction_output_tokens=at.summary_tokens,
    )
