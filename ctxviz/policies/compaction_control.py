"""The SDK's client-side ``compaction_control`` (``tool_runner``, anthropic 0.75–0.125), exactly.

Where it is decided: after EACH model response (also a final ``end_turn``) and before any tool
runs, the SDK adds ``input_tokens + cache_creation_input_tokens + cache_read_input_tokens +
output_tokens`` of THAT response and compacts when the total is ``>=`` ``context_token_threshold``
(default 100,000). The response that crossed is discarded (its tool calls never ran); the history
becomes ONE user message holding the summary (system prompt and tools carry over); the model then
re-issues that response, which the replay shows as an extra row (same ``recorded_request``). The
summary request itself is reported on the event, not as a row.

The seeds' pitfall: with server tools (web search / fetch), one response's
``cache_read_input_tokens`` adds up the reads of several internal model calls, so the SDK's total
is inflated and compaction fires early. ``totals="sdk"`` (default) replays the SDK's formula on
the usage as recorded; ``totals="context"`` uses the real context instead (the last ``message``
iteration's prompt where ``usage.iterations`` is recorded, else the estimated prompt), to show the
difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, Required, TypeAlias, TypedDict, cast

from ctxviz.policies.base import ChartLine, Findings, PolicyError
from ctxviz.policies.step import At, Fired, event

TYPE: Final = "compaction_control"
DEFAULT_THRESHOLD_TOKENS: Final = 100_000
KEYS: Final = ("enabled", "context_token_threshold", "model", "summary_prompt")

Totals: TypeAlias = Literal["sdk", "context"]


class CompactionControlParam(TypedDict, total=False):
    """The SDK's ``compaction_control`` dict (anthropic 0.75 to 0.125; not in later SDKs' types)."""

    enabled: Required[bool]
    context_token_threshold: int
    model: str
    summary_prompt: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactionControl:
    """A validated ``compaction_control`` dict; None: not given (the SDK's default)."""

    enabled: bool = True
    threshold_tokens: int | None = None
    """``context_token_threshold``; None: ``DEFAULT_THRESHOLD_TOKENS``."""
    model: str | None = None
    summary_prompt: str | None = None
    totals: Totals = "sdk"
    """Not the SDK's: which total ctxviz compares (``simulate``'s ``compaction_control_totals``)."""

    @property
    def context_token_threshold(self) -> int:
        """The total at which the SDK compacts."""
        return DEFAULT_THRESHOLD_TOKENS if self.threshold_tokens is None else self.threshold_tokens

    def total(
        self, *, prompt_tokens: int, output_tokens: int, server_tool_excess_tokens: int
    ) -> int:
        """The number the SDK compares with the threshold after a response."""
        if self.totals == "context":
            return prompt_tokens - server_tool_excess_tokens + output_tokens
        return prompt_tokens + output_tokens

    def fires(self, total_tokens: int) -> bool:
        """Whether the SDK compacts after this response."""
        return self.enabled and total_tokens >= self.context_token_threshold

    def chart_line(self) -> ChartLine | None:
        """The threshold a chart draws (None: disabled, it never compacts)."""
        if not self.enabled:
            return None
        value = self.context_token_threshold
        return ChartLine(tokens=value, label=f"{TYPE} threshold ({value:,}, prompt + output)")

    def after_response(
        self, tokens: int, at: At, *, server_tool_excess_tokens: int
    ) -> tuple[int, Fired | None]:
        """After the response to a prompt of ``tokens`` tokens: the SDK's total, and the
        compaction when it reaches the threshold (the response is discarded and re-issued on the
        summary)."""
        total = self.total(
            prompt_tokens=tokens,
            output_tokens=at.output_tokens,
            server_tool_excess_tokens=server_tool_excess_tokens,
        )
        if not self.fires(total):
            return total, None
        again = at.summary()
        return total, Fired(
            prompt=again,
            event=event(
                at.row,
                at.request,
                TYPE,
                f"After request {at.request}: input + cache writes + cache reads + output = "
                f"{total:,} tokens reached the threshold of {self.context_token_threshold:,}; the "
                f"response is discarded (its tool calls never ran), a {at.summary_tokens:,}-token "
                "summary becomes the history, and the model re-issues the response.",
                tokens_before=total,
                tokens_after=at.size(again),
                summary_tokens=at.summary_tokens,
                trigger=str(self.context_token_threshold),
            ),
            compaction_input_tokens=tokens,
            compaction_output_tokens=at.summary_tokens,
        )

    def to_sdk(self) -> CompactionControlParam:
        """The dict as the SDK takes it: what ``from_sdk(..., totals=self.totals)`` reads back."""
        out: CompactionControlParam = {"enabled": self.enabled}
        if self.threshold_tokens is not None:
            out["context_token_threshold"] = self.threshold_tokens
        if self.model is not None:
            out["model"] = self.model
        if self.summary_prompt is not None:
            out["summary_prompt"] = self.summary_prompt
        return out


def validate(cc: Mapping[str, object], where: str = TYPE) -> Findings:
    """What the SDK rejects in the ``compaction_control`` dict, and what it accepts but warns of."""
    problems: list[str] = []
    warnings: list[str] = []
    for key in cc:
        if key not in KEYS:
            problems.append(
                f"{where}: unknown key '{key}' (the SDK takes "
                f"{', '.join(KEYS)}; others are silently ignored)"
            )
    enabled = cc.get("enabled")
    if "enabled" not in cc:
        problems.append(f"{where}.enabled: required (the SDK reads it first; True to compact)")
    elif not isinstance(enabled, bool):
        problems.append(f"{where}.enabled: expected True or False, got {enabled!r}")
    elif not enabled:
        warnings.append(f"{where}.enabled is False: the SDK never compacts")
    if "context_token_threshold" in cc:
        value = cc["context_token_threshold"]
        if not isinstance(value, int) or isinstance(value, bool):
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
    return Findings(problems=tuple(problems), warnings=tuple(warnings))


def validate_compaction_control(compaction_control: Mapping[str, object] | None) -> list[str]:
    """Raise PolicyError for what the SDK's ``compaction_control`` rejects; return warnings."""
    if compaction_control is None:
        return []
    if not isinstance(compaction_control, Mapping):
        raise PolicyError(
            [f'{TYPE}: expected an object {{"enabled": True, ...}}, got {compaction_control!r}']
        )
    found = validate(compaction_control)
    if found.problems:
        raise PolicyError(found.problems)
    return list(found.warnings)


def from_sdk(cc: Mapping[str, object], *, totals: Totals = "sdk") -> CompactionControl:
    """The dict as the SDK takes it (already checked by ``validate``)."""
    given = cast(CompactionControlParam, cc)
    threshold = given.get("context_token_threshold")
    return CompactionControl(
        enabled=bool(given["enabled"]),
        threshold_tokens=None if threshold is None else int(threshold),
        model=given.get("model"),
        summary_prompt=given.get("summary_prompt"),
        totals=totals,
    )
