"""Context editing: every option of clear_tool_uses_20250919 and clear_thinking_20251015."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st

from ctxviz import figures
from ctxviz.policies import clear_thinking, clear_tool_uses
from ctxviz.simulator import Simulation
from ctxviz_app import ui

if TYPE_CHECKING:
    from ctxviz.policies.edits import ContextManagementParam, EditParam

TRIGGERS: dict[clear_tool_uses.TriggerType, str] = {
    "input_tokens": "input_tokens",
    "tool_uses": "tool_uses",
}


@st.fragment
def applied_edits(sim: Simulation, last_edited: int | None) -> None:
    """One request's applied_edits. A fragment: moving its slider reruns only this part, not
    the replay lookup, the figure (resent and redrawn) and the tables above and below."""
    last = max(len(sim.requests) - 1, 0)
    request = ui.slider(
        "Request",
        key="ce_request",
        default=last if last_edited is None else last_edited,
        min_value=0,
        max_value=last,
        help="Starts at the last request where an edit applied.",
    )
    if request < len(sim.requests):
        st.caption(
            f"What the API returns in context_management.applied_edits for request {request}:"
        )
        st.code(json.dumps(sim.applied_edits(request), indent=2), language="json")


def body(app: ui.App) -> None:
    conv = app.conversation
    window = app.replay_window_tokens
    st.subheader("clear_tool_uses_20250919")
    on = ui.toggle("Clear old tool results", key="ce_tools", default=False)
    c1, c2, c3 = st.columns(3)
    with c1:
        trigger_type = ui.select(
            "trigger.type",
            list(TRIGGERS),
            key="ce_trigger_type",
            default="input_tokens",
            radio=True,
            disabled=not on,
            help="Start clearing once the prompt exceeds N tokens, or once there are N tool uses.",
        )
        if trigger_type == "input_tokens":
            trigger_value = ui.slider(
                "trigger.value (input tokens)",
                key="ce_trigger_tokens",
                default=clear_tool_uses.DEFAULT_TRIGGER_TOKENS,
                min_value=5_000,
                max_value=max(window, 10_000),
                step=5_000,
                disabled=not on,
            )
        else:
            trigger_value = ui.slider(
                "trigger.value (tool uses)",
                key="ce_trigger_uses",
                default=10,
                min_value=1,
                max_value=200,
                disabled=not on,
            )
    with c2:
        keep = ui.slider(
            "keep (tool uses)",
            key="ce_keep",
            default=clear_tool_uses.DEFAULT_KEEP_TOOL_USES,
            min_value=1,
            max_value=50,
            disabled=not on,
            help="The most recent N tool use/result pairs are never cleared.",
        )
        clear_at_least = ui.number(
            "clear_at_least (input tokens)",
            key="ce_clear_at_least",
            default=None,
            min_value=1,
            step=1_000,
            placeholder="none",
            disabled=not on,
            help="All or nothing: if fewer tokens can be cleared, the edit is not applied "
            "(each clearing costs a cache write).",
        )
    with c3:
        exclude = ui.multiselect(
            "exclude_tools",
            list(conv.tool_names),
            key="ce_exclude",
            help="Tools whose uses and results are never cleared.",
        )
        inputs = ui.toggle(
            "clear_tool_inputs",
            key="ce_inputs",
            default=False,
            disabled=not on,
            help="Also clear the tool_use inputs (by default only results are cleared).",
        )
    st.subheader("clear_thinking_20251015")
    t1, t2 = st.columns([1, 2])
    with t1:
        thinking_on = ui.toggle(
            "Clear old thinking",
            key="ce_thinking",
            default=False,
            disabled=not conv.thinking_enabled,
            help="Only with extended thinking; always first in edits."
            if conv.thinking_enabled
            else "This transcript has no extended thinking (the API would reject the edit).",
        )
    with t2:
        thinking_keep = ui.slider(
            "keep: thinking_turns",
            key="ce_thinking_keep",
            default=clear_thinking.DEFAULT_KEEP_TURNS,
            min_value=1,
            max_value=20,
            disabled=not thinking_on,
        )
    edits: list[EditParam] = []
    if thinking_on and conv.thinking_enabled:
        edits.append(clear_thinking.ClearThinking(keep_turns=thinking_keep).to_api())
    if on:
        config = clear_tool_uses.ClearToolUses(
            trigger=clear_tool_uses.Trigger(type=trigger_type, value=trigger_value),
            keep=keep,
            clear_at_least_tokens=clear_at_least or None,
            exclude_tools=tuple(exclude),
            clear_tool_inputs=inputs,
        )
        edits.append(config.to_api())
    cm: ContextManagementParam | None = {"edits": edits} if edits else None
    scenario = app.policy(context_management=cm)
    ui.remember_policy("editing", scenario)
    sim = app.simulate(scenario)
    ui.chart(figures.context_editing(sim, full_window=app.full_window), key="editing_chart")
    st.caption(
        "Top: the prompt the client sent (dashed) and what the model saw after the edits; the "
        "hatched gap was cleared. Bottom: prompt cache reads and writes per request; ✕ marks "
        "requests whose prefix changed, so the cache was written again from there."
    )
    st.subheader("applied_edits")
    edits_table = figures.applied_edits_table(sim)
    applied_edits(sim, int(edits_table["request"].max()) if len(edits_table) else None)
    ui.table(edits_table, key="editing_edits")
    ui.warnings(sim, key="editing_notes")
    ui.exports(app, sim, key="editing", scenario=scenario)


ui.run_page(
    "Context editing",
    body,
    icon=":material/content_cut:",
    intro="Server-side clearing (beta context-management-2025-06-27): set every option, see the "
    "prompt before and after, what each request's applied_edits would say, and the cache cost.",
    fragment=True,
)
