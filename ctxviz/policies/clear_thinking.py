"""The ``clear_thinking_20251015`` edit: keep the thinking of the last N turns, or ``"all"``.

Interpretation (documented): N counts turns by their index, the current turn included even when it
has no assistant message yet, so ``keep: 1`` equals the API's default stripping and ``keep: 2``
also keeps the previous turn's thinking. Without this edit the earlier thinking is stripped before
counting (it is not in ``original_input_tokens``); with it, the client's full history — every
turn's thinking — is the prompt before editing, and what the edit removes is reported in
``applied_edits`` as ``cleared_thinking_turns`` / ``cleared_input_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, cast

from ctxviz.models import ModelInfo
from ctxviz.policies.base import WHAT_IF, Findings, check_count, is_int, provider_warnings
from ctxviz.policies.step import AppliedEdit, At, Cleared, Prompt, Replay
from ctxviz.policies.thinking import PRESERVE_ALL, ThinkingKeep

if TYPE_CHECKING:
    from anthropic.types.beta import BetaClearThinking20251015EditParam as ClearThinkingParam

TYPE: Final = "clear_thinking_20251015"
KEYS: Final = ("type", "keep")
BETA: Final = "context-management-2025-06-27"
"""The beta header a request with this edit needs."""
DEFAULT_KEEP_TURNS: Final = 1
"""The API's default ``keep``: the last thinking turn (the same as its default stripping)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearThinking:
    """A validated ``clear_thinking_20251015`` edit."""

    keep_turns: int | Literal["all"] | None = None
    """``keep``: the last N turns' thinking, or ``"all"``; None: ``DEFAULT_KEEP_TURNS``."""

    @property
    def keep(self) -> ThinkingKeep:
        """Which turns keep their thinking."""
        if self.keep_turns == "all":
            return PRESERVE_ALL
        return ThinkingKeep(
            turns=DEFAULT_KEEP_TURNS if self.keep_turns is None else self.keep_turns
        )

    def to_api(self) -> ClearThinkingParam:
        """The edit as the API takes it: what ``from_api`` reads back into this config."""
        out: ClearThinkingParam = {"type": TYPE}
        if self.keep_turns == "all":
            out["keep"] = "all"
        elif self.keep_turns is not None:
            out["keep"] = {"type": "thinking_turns", "value": self.keep_turns}
        return out

    def apply(self, p: Prompt, tokens: int, at: At, replay: Replay) -> Cleared | None:
        """The edit on prompt ``p`` of ``tokens`` tokens (as the edits before it left it)."""
        kept_from = self.keep.kept_from_turn(at.turn)
        if kept_from <= p.kept_from_turn:
            return None  # it keeps at least what the prompt holds
        q = p._replace(kept_from_turn=kept_from)
        turns = replay.thinking_turns_stripped(q)
        if p.kept_from_turn > 0:
            turns -= replay.thinking_turns_stripped(p)
        if turns <= 0:
            return None
        after = at.size(q)
        return Cleared(
            prompt=q,
            tokens=after,
            report=report(cleared_thinking_turns=turns, cleared_input_tokens=tokens - after),
            detail=f"Request {at.request}: thinking of {turns} earlier turn(s) cleared, "
            f"{tokens - after:,} tokens saved.",
        )


def validate(edit: Mapping[str, object], where: str, model: ModelInfo | None) -> Findings:
    """What the API rejects in this edit's ``keep`` and, for a known ``model``, what it lacks."""
    problems: list[str] = []
    if "keep" in edit:
        _check_keep(edit["keep"], where, problems)
    warnings: list[str] = []
    if model is not None:
        warnings = provider_warnings(TYPE, where, model)
        if not warnings and not model.supports_context_editing:
            warnings.append(f"{where}: {TYPE} is not supported on {model.display_name} ({WHAT_IF})")
    return Findings(problems=tuple(problems), warnings=tuple(warnings))


def _check_keep(keep: object, where: str, problems: list[str]) -> None:
    if keep == "all" or (isinstance(keep, Mapping) and dict(keep) == {"type": "all"}):
        return
    if isinstance(keep, Mapping) and keep.get("type") == "thinking_turns":
        value = keep.get("value")
        if value == 0 and is_int(value):
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
    check_count(keep, f"{where}.keep", ("thinking_turns",), problems)


def from_api(edit: Mapping[str, object]) -> ClearThinking:
    """The edit as the API takes it (already checked by ``validate``)."""
    keep = cast("ClearThinkingParam", edit).get("keep")
    if keep is None:
        return ClearThinking()
    if keep == "all" or keep["type"] == "all":
        return ClearThinking(keep_turns="all")
    return ClearThinking(keep_turns=int(keep["value"]))


def report(*, cleared_thinking_turns: int, cleared_input_tokens: int) -> AppliedEdit:
    """The entry the API returns in ``context_management.applied_edits``."""
    return {
        "type": TYPE,
        "cleared_thinking_turns": cleared_thinking_turns,
        "cleared_input_tokens": cleared_input_tokens,
    }
