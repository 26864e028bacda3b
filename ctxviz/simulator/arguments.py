"""``simulate``'s arguments checked into ``SimulationSettings``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ctxviz.estimates import TokenCounter
from ctxviz.model import Conversation
from ctxviz.models import ModelsArg, ModelTable, as_table
from ctxviz.policies import claude_code, compact_on_demand, preserved_thinking, rolling
from ctxviz.policies import compaction_control as sdk_compaction
from ctxviz.policies.compaction_control import validate_compaction_control
from ctxviz.policies.edits import NO_EDITS, Edits
from ctxviz.policies.edits import parse as parse_edits
from ctxviz.policies.thinking import thinking_on
from ctxviz.settings import SimulationSettings
from ctxviz.simulator.prepare import first_model


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def arguments(
    conv: Conversation,
    *,
    model: str | None = None,
    context_window: int | None = None,
    max_tokens: int | None = None,
    context_management: Mapping[str, Any] | None = None,
    compaction_control: Mapping[str, Any] | None = None,
    summary_tokens: int | None = None,
    thinking_preservation: bool | None = None,
    compact_at: Sequence[int] = (),
    compaction: compact_on_demand.CompactOnDemand | Mapping[str, Any] | None = None,
    thinking_prefix_mismatch: str | None = None,
    claude_code_autocompact: bool | Mapping[str, Any] | None = None,
    undo_recorded_compactions: bool = False,
    rolling_window: bool | int | None = None,
    compaction_control_totals: sdk_compaction.Totals = "sdk",
    prompt_caching: bool | None = None,
    counter: TokenCounter | None = None,
    message_frame_tokens: int | None = None,
    model_table: ModelTable | None = None,
    models: ModelsArg = None,
) -> tuple[SimulationSettings, ModelTable, list[str]]:
    """``simulate``'s arguments checked: the settings, the model table and the warnings so far."""
    table = model_table if model_table is not None else as_table(models)
    warnings: list[str] = []
    named_model = model or first_model(conv)
    main_info = table.get(named_model or "unknown")
    if named_model and (said := main_info.warning()) is not None:
        warnings.append(said)
    edits: Edits = NO_EDITS
    if context_management is not None:
        edits, found = parse_edits(context_management, main_info)
        warnings.extend(found)
        if edits.clear_thinking is not None and not thinking_on(conv, main_info):
            raise ValueError(
                "context_management.edits[0]: clear_thinking_20251015 needs extended thinking, "
                "and this conversation has none (the API rejects the request)"
            )
    cc_config = None
    if compaction_control is not None:
        warnings.extend(validate_compaction_control(compaction_control))
        if compaction_control_totals not in ("sdk", "context"):
            raise ValueError(
                "compaction_control_totals: expected 'sdk' or 'context', "
                f"got {compaction_control_totals!r}"
            )
        cc_config = sdk_compaction.from_sdk(compaction_control, totals=compaction_control_totals)
    if summary_tokens is not None and (
        isinstance(summary_tokens, bool)
        or not isinstance(summary_tokens, int)
        or summary_tokens < 0
    ):
        raise ValueError(f"summary_tokens: expected a non-negative integer, got {summary_tokens!r}")
    if context_window is not None and (
        isinstance(context_window, bool)
        or not isinstance(context_window, int)
        or context_window <= 0
    ):
        raise ValueError(f"context_window: expected a positive integer, got {context_window!r}")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0
    ):
        raise ValueError(f"max_tokens: expected a positive integer, got {max_tokens!r}")
    n_requests = len(conv.requests)
    for r in compact_at:
        if not 0 <= r < n_requests:
            raise ValueError(f"compact_at: request {r} is not in 0..{n_requests - 1}")
    if compact_at and not main_info.supports_compaction_on_demand:
        warnings.append(
            f"compact_at: on-demand compaction is not supported on {main_info.display_name}; "
            "the replay runs it as a what-if"
        )
    on_demand = _on_demand(compaction, n_requests)
    if on_demand is not None:
        if compact_at:
            raise ValueError(
                "compaction: give the requests to compact as compaction's at_requests, not also "
                "compact_at"
            )
        if edits.compact is not None:
            raise ValueError(
                "compaction: compaction on demand cannot be combined with compact_20260112 "
                "(the API refuses threshold compaction on a request that carries a signed block)"
            )
        if not main_info.supports_compaction_on_demand:
            warnings.append(
                f"compaction: compaction on demand is not supported on "
                f"{main_info.display_name}; the replay runs it as a what-if"
            )
    mismatch = preserved_thinking.from_arg(thinking_prefix_mismatch)
    settings = SimulationSettings(
        model=model,
        context_window=context_window,
        max_tokens=max_tokens,
        context_management=(
            None if context_management is None else canonical_json(context_management)
        ),
        edits=edits,
        compaction_control=cc_config,
        summary_tokens=summary_tokens,
        thinking_preservation=thinking_preservation,
        compact_at=tuple(sorted(set(compact_at))),
        compaction_on_demand=on_demand,
        thinking_prefix_mismatch=mismatch,
        claude_code_autocompact=claude_code.from_arg(claude_code_autocompact),
        undo_recorded_compactions=undo_recorded_compactions,
        rolling_window=rolling.from_arg(rolling_window),
        prompt_caching=prompt_caching,
        counter=counter,
        message_frame_tokens=message_frame_tokens,
    )
    return settings, table, warnings


def _on_demand(
    compaction: compact_on_demand.CompactOnDemand | Mapping[str, Any] | None, n_requests: int
) -> compact_on_demand.CompactOnDemand | None:
    """``compaction=``: a ``CompactOnDemand``, or a mapping of its fields (JSON from the CLI or
    the app)."""
    if compaction is None:
        return None
    if isinstance(compaction, Mapping):
        fields = set(compact_on_demand.CompactOnDemand.__dataclass_fields__)
        unknown = sorted(set(map(str, compaction)) - fields)
        if unknown:
            raise ValueError(
                f"compaction: unknown field(s) {', '.join(unknown)} (expected "
                f"{', '.join(sorted(fields))})"
            )
        given = dict(compaction)
        if isinstance(given.get("at_requests"), list | tuple):
            given["at_requests"] = tuple(given["at_requests"])
        compaction = compact_on_demand.CompactOnDemand(**given)
    if not isinstance(compaction, compact_on_demand.CompactOnDemand):
        raise ValueError(f"compaction: expected a CompactOnDemand or a mapping, got {compaction!r}")
    for r in compaction.at_requests:
        if r >= n_requests:
            raise ValueError(f"compaction.at_requests: request {r} is not in 0..{n_requests - 1}")
    if not compaction.scheduled:
        raise ValueError(
            "compaction: say when to compact (at_requests, every_requests, at_user_turns or "
            "at_prompt_tokens)"
        )
    return compaction
