"""Thinking: generated vs carried per request, what stripping removed, clear_thinking keep N."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import streamlit as st

from ctxviz import figures
from ctxviz.policies import clear_thinking
from ctxviz.policies import preserved_thinking as pt
from ctxviz_app import ui

if TYPE_CHECKING:
    from ctxviz.policies.edits import ContextManagementParam

EDIT_LABELS = {
    "none": "Not set (API default)",
    "turns": "keep N turns",
    "all": 'keep "all"',
}
MISMATCH_LABELS = {
    "reject": 'Reject: the API\'s 400 ("error", the default)',
    "drop": 'Drop the invalid blocks ("drop_block")',
}
PRESERVED_EVENTS = (pt.REJECTED_TYPE, pt.DROPPED_TYPE, pt.UNREADABLE_TYPE)
PRESERVE_LABELS = {
    "default": "Model default",
    "strip": "Strip earlier turns",
    "keep": "Keep earlier turns",
}


def body(app: ui.App) -> None:
    conv = app.conversation
    has_thinking = conv.thinking_enabled
    if not has_thinking:
        st.info(
            "This transcript has no extended thinking: the chart is empty. Pick the chat with "
            "extended thinking, the interleaved sample or the Claude Code session in the sidebar."
        )
    turns = figures.summary(app.simulate())["turns"]
    c1, c2, c3 = st.columns(3)
    with c1:
        edit = ui.select(
            "clear_thinking_20251015",
            list(EDIT_LABELS),
            key="th_edit",
            default="none",
            format_func=EDIT_LABELS.__getitem__,
            disabled=not has_thinking,
            help="Without the edit the API keeps the current turn's thinking only (keep 1).",
        )
    with c2:
        keep = ui.slider(
            "keep: thinking_turns",
            key="th_keep",
            default=clear_thinking.DEFAULT_KEEP_TURNS,
            min_value=1,
            max_value=max(turns, 2),
            disabled=edit != "turns" or not has_thinking,
            help="Keep the thinking of the last N assistant turns (N > 0).",
        )
    with c3:
        preserve = ui.select(
            "Earlier turns' thinking",
            list(PRESERVE_LABELS),
            key="th_preserve",
            default="default",
            format_func=PRESERVE_LABELS.__getitem__,
            help=(
                f"{ui.md(app.model_info.display_name)} "
                + (
                    "keeps earlier thinking by default (thinking preservation)."
                    if app.model_info.preserves_thinking_by_default
                    else "strips earlier thinking by default."
                )
            ),
        )
    cm: ContextManagementParam | None = None
    if edit in ("turns", "all"):
        config = clear_thinking.ClearThinking(keep_turns=keep if edit == "turns" else "all")
        cm = {"edits": [config.to_api()]}
    preservation = {"default": None, "strip": False, "keep": True}[preserve]
    scenario = app.policy(context_management=cm, thinking_preservation=preservation)
    sim = app.simulate(scenario)
    s = figures.summary(sim)
    m = st.columns(3)
    m[0].metric("Thinking generated", f"{s['thinking_generated_tokens']:,}", help="Output tokens.")
    m[1].metric("Most carried in one prompt", f"{s['thinking_carried_peak_tokens']:,}")
    m[2].metric("Most stripped from one prompt", f"{s['thinking_stripped_peak_tokens']:,}")
    ui.chart(figures.thinking(sim), key="thinking_chart")
    st.caption(
        "Up: thinking each response generated (billed as output, part of max_tokens). "
        "Down (hatched): thinking of the history the API stripped from that prompt. Line: "
        "thinking the prompt carried. Shaded: tool-use loops — the current turn's thinking must "
        "be sent back with the tool results and counts in the window until a genuine user "
        "message starts a new turn. Open markers (up to 300 requests): estimated requests."
    )
    st.subheader("applied_edits per request")
    ui.table(figures.applied_edits_table(sim), key="thinking_edits")
    ui.warnings(sim, key="thinking_notes")
    _preserved_thinking(app, scenario)
    ui.exports(app, sim, key="thinking", scenario=scenario)


def _preserved_thinking(app: ui.App, scenario: ui.Scenario) -> None:
    """Preserved thinking's prefix check under a client-side rewrite: which requests would send
    invalid thinking, and what rejecting or dropping it does."""
    st.subheader("Preserved thinking: a client-side rewrite")
    info = app.model_info
    st.caption(
        "On models with preserved thinking, earlier thinking stays in the prompt, and each block "
        "is checked: a client-side rewrite of the history (here a rolling window) invalidates "
        "the thinking it keeps. Server-side context editing and compaction on demand do not."
    )
    p1, p2 = st.columns(2)
    with p1:
        budget = ui.slider(
            "Rolling window: prompt budget (tokens)",
            key="th_roll",
            default=app.replay_window_tokens,
            min_value=1_000,
            max_value=app.replay_window_tokens,
            step=1_000,
            help="The client drops its oldest turns to keep each prompt under this: a rewrite. "
            "At the window, nothing is dropped.",
        )
    with p2:
        mismatch = ui.select(
            "Invalid thinking",
            list(MISMATCH_LABELS),
            key="th_mismatch",
            default="reject",
            format_func=MISMATCH_LABELS.__getitem__,
            help="thinking.block_binding.prefix_mismatch_behavior (beta "
            "thinking-binding-controls-2026-08-01).",
        )
    if not info.preserved_thinking:
        st.info(
            f"{ui.md(info.display_name)} has no preserved thinking: nothing is checked. Pick "
            "Opus 5.5, Sonnet 5.5, Haiku 5.5 or Fable / Mythos 5.1 or 5.2 in the sidebar."
        )
        return
    if budget >= app.replay_window_tokens:
        return
    rewritten = dataclasses.replace(
        scenario, rolling_window=budget, thinking_prefix_mismatch=mismatch
    )
    sim = app.simulate(rewritten)
    ev = sim.events
    found = ev[ev["type"].isin(PRESERVED_EVENTS)]
    if found.empty:
        st.success("No request sends thinking that the rewrite made invalid.")
    else:
        ui.table(
            found[["request", "type", "tokens_before", "tokens_after", "detail"]],
            key="th_invalid",
        )


ui.run_page(
    "Thinking",
    body,
    icon=":material/psychology:",
    intro="What extended thinking costs, what the API strips, and what clear_thinking_20251015 "
    "keeps.",
    fragment=True,
)
