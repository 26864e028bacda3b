"""The lines a chart draws for the policies in force (each policy says its own)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ctxviz.figures._style import _OTHER_EVENT, EVENT_STYLES
from ctxviz.models import default_table
from ctxviz.policies import claude_code, clear_tool_uses, compact, compact_on_demand, rolling
from ctxviz.policies import compaction_control as sdk_compaction
from ctxviz.policies.base import ChartLine
from ctxviz.policies.edits import NO_EDITS, Edits
from ctxviz.policies.edits import parse as parse_edits
from ctxviz.settings import SimulationSettings
from ctxviz.summary import SettingsLike


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyLine:
    """A horizontal line: a trigger or threshold of an active policy, in prompt tokens."""

    label: str
    tokens: int
    color: str


def _resolved(
    settings: SettingsLike,
) -> tuple[
    Edits,
    sdk_compaction.CompactionControl | None,
    claude_code.ClaudeCodeAutocompact | None,
    rolling.RollingWindow | None,
    object,
    compact_on_demand.CompactOnDemand | None,
]:
    """The policies a replay ran with, as their configs: a simulation's settings, or a mapping of
    ``simulate``'s arguments read as ``simulate`` reads them (what it would reject: not drawn)."""
    if isinstance(settings, SimulationSettings):
        return (
            settings.edits,
            settings.compaction_control,
            settings.claude_code_autocompact,
            settings.rolling_window,
            settings.context_window,
            settings.compaction_on_demand,
        )
    given: Mapping[str, Any] = settings if settings is not None else {}
    edits, cc, auto, rw = NO_EDITS, None, None, None
    with contextlib.suppress(TypeError, ValueError):
        cm = given.get("context_management")
        edits, _ = parse_edits(json.loads(cm) if isinstance(cm, str) else cm, None)
    with contextlib.suppress(TypeError, ValueError):
        raw = given.get("compaction_control")
        if isinstance(raw, sdk_compaction.CompactionControl):
            cc = raw
        elif raw is not None:
            sdk_compaction.validate_compaction_control(raw)
            cc = sdk_compaction.from_sdk(raw)
    with contextlib.suppress(TypeError, ValueError):
        auto = claude_code.from_arg(given.get("claude_code_autocompact"))
    with contextlib.suppress(TypeError, ValueError):
        rw = rolling.from_arg(given.get("rolling_window"))
    on_demand = given.get("compaction")
    if not isinstance(on_demand, compact_on_demand.CompactOnDemand):
        on_demand = None
    return edits, cc, auto, rw, given.get("context_window"), on_demand


def _line(kind: str, line: ChartLine | None) -> list[PolicyLine]:
    if line is None:
        return []
    color = EVENT_STYLES.get(kind, _OTHER_EVENT).color
    return [PolicyLine(label=line.label, tokens=line.tokens, color=color)]


def policy_lines(
    settings: SettingsLike, *, context_window: int | None = None, model: str | None = None
) -> list[PolicyLine]:
    """The lines each active policy says a chart draws for it: context-editing and compaction
    triggers, the SDK's ``compaction_control`` threshold, Claude Code's auto-compact point and a
    rolling window's budget.

    ``settings`` is a simulation's ``SimulationSettings`` or a mapping of ``simulate``'s keyword
    arguments (read as ``simulate`` reads them). ``model``: the model replayed (its max output sets
    Claude Code's output reserve; default: 20K or more).
    """
    edits, cc, auto, rw, window, on_demand = _resolved(settings)
    lines = [
        line
        for edit in edits.clearing
        if isinstance(edit, clear_tool_uses.ClearToolUses)
        for line in _line(clear_tool_uses.TYPE, edit.chart_line())
    ]
    if edits.compact is not None:
        lines += _line(compact.TYPE, edits.compact.chart_line())
    if cc is not None:
        lines += _line(sdk_compaction.TYPE, cc.chart_line())
    window = context_window or window
    if auto is not None and isinstance(window, int) and window:
        max_output = default_table().get(model).max_output_tokens if model else None
        line = claude_code.chart_line(auto, window_tokens=window, max_output_tokens=max_output)
        lines += _line(claude_code.TYPE, line)
    if rw is not None:
        lines += _line(rolling.TYPE, rw.chart_line())
    if on_demand is not None:
        lines += _line(compact_on_demand.EVENT, on_demand.chart_line())
    return lines
