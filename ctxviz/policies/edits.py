"""A ``context_management`` object, validated as the API would, parsed into policy configs.

``EDIT_POLICIES`` lists the edit policies, one module each, in the API's order; the checks and the
parsing dispatch on an edit's ``type`` through it, so a new edit is a module plus a line there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias, TypedDict, cast

from ctxviz.models import ModelInfo
from ctxviz.policies import clear_thinking, clear_tool_uses, compact
from ctxviz.policies.base import Findings, PolicyError, check_keys

if TYPE_CHECKING:
    from anthropic.types.beta.beta_context_management_config_param import Edit as _SdkEdit

    EditParam: TypeAlias = _SdkEdit
    """An edit as the API takes it (the SDK's TypedDicts, one per edit type)."""

Edit: TypeAlias = clear_thinking.ClearThinking | clear_tool_uses.ClearToolUses | compact.Compact


class ContextManagementParam(TypedDict, total=False):
    """The ``context_management`` request parameter (the SDK's, with the edits a sequence)."""

    edits: Sequence[EditParam]


class EditPolicy(Protocol):
    """What a module of an edit policy provides (the module itself is the registry's entry)."""

    @property
    def TYPE(self) -> str:
        """The edit's ``type``."""

    @property
    def BETA(self) -> str:
        """The beta header a request with the edit needs."""

    @property
    def KEYS(self) -> tuple[str, ...]:
        """The keys the API takes in the edit, ``"type"`` first."""

    def validate(self, edit: Mapping[str, object], where: str, model: ModelInfo | None) -> Findings:
        """What the API rejects in the edit, and what ``model`` (if known) does not support."""

    def from_api(self, edit: Mapping[str, object]) -> Edit:
        """The validated edit as its config."""


EDIT_POLICIES: Final[tuple[EditPolicy, ...]] = (clear_thinking, clear_tool_uses, compact)
"""Every edit the API takes, in its order: ``clear_thinking`` must come first."""
_BY_TYPE: Final[dict[str, EditPolicy]] = {p.TYPE: p for p in EDIT_POLICIES}
EDIT_TYPES: Final = tuple(_BY_TYPE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Edits:
    """The edits in the API's order: ``clear_thinking`` first, compaction judged last."""

    clearing: tuple[clear_thinking.ClearThinking | clear_tool_uses.ClearToolUses, ...] = ()
    compact: compact.Compact | None = None

    @property
    def clear_thinking(self) -> clear_thinking.ClearThinking | None:
        """The ``clear_thinking_20251015`` edit, if any (always first)."""
        for edit in self.clearing:
            if isinstance(edit, clear_thinking.ClearThinking):
                return edit
        return None


NO_EDITS = Edits()


def validate_context_management(
    context_management: Mapping[str, object] | None, model: ModelInfo | None = None
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
    known = model if model is not None and model.known else None
    for i, edit in enumerate(edits):
        at = f"{where}.edits[{i}]"
        if not isinstance(edit, Mapping):
            problems.append(f"{at}: expected an object with a 'type', got {edit!r}")
            continue
        kind = edit.get("type")
        policy = _BY_TYPE.get(kind) if isinstance(kind, str) else None
        if policy is None:
            what = "missing 'type'" if kind is None else f"unknown edit type {kind!r}"
            problems.append(f"{at}.type: {what}; the API takes {', '.join(EDIT_TYPES)}")
            continue
        check_keys(edit, policy.TYPE, policy.KEYS, at, problems)
        if i != 0 and policy is EDIT_POLICIES[0]:
            problems.append(
                f"{at}: {policy.TYPE} must be the first edit (the API rejects it otherwise)"
            )
        found = policy.validate(edit, at, known)
        problems += found.problems
        warnings += found.warnings
    if problems:
        raise PolicyError(problems)
    return warnings


def parse(cm: Mapping[str, object] | None, model: ModelInfo | None) -> tuple[Edits, list[str]]:
    """Validate (``ValueError`` naming the problem) and parse; returns the edits and warnings."""
    warnings = validate_context_management(cm, model)
    if cm is None:
        return NO_EDITS, warnings
    clearing: list[clear_thinking.ClearThinking | clear_tool_uses.ClearToolUses] = []
    compaction: compact.Compact | None = None
    for raw in cast(ContextManagementParam, cm).get("edits", ()):
        edit = _BY_TYPE[raw["type"]].from_api(raw)
        if not isinstance(edit, compact.Compact):
            clearing.append(edit)
        elif compaction is not None:
            raise ValueError(f"context_management.edits: {compact.TYPE} is given twice")
        else:
            compaction = edit
    return Edits(clearing=tuple(clearing), compact=compaction), warnings
