"""Thinking: generated vs carried per request, what stripping removed, clear_thinking keep N."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ctxviz import figures
from ctxviz.policies import clear_thinking
from ctxviz_app import ui

if TYPE_CHECKING:
    from ctxviz.policies.edits import ContextManagementParam

EDIT_LABELS = {
    "none": "Not set (API default)",
    "turns": "keep N turns",
    "all": 'keep "all"',
}
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
        "Bars up: thinking each response generated (billed as output, part of max_tokens). "
        "Bars down: thinking of the history the API stripped from that prompt. Line: thinking "
        "the prompt carried. Shaded: tool-use loops — the current turn's thinking must be sent "
        "back with the tool results and counts in the window until a genuine user message "
        "starts a new turn. Open markers: estimated requests."
    )
    st.subheader("applied_edits per request")
    ui.table(figures.applied_edits_table(sim), key="thinking_edits")
    ui.warnings(sim, key="thinking_notes")
    ui.exports(app, sim, key="thinking", scenario=scenario)


ui.run_page(
    "Thinking",
    body,
    icon=":material/psychology:",
    intro="What extended thinking costs, what the API strips, and what clear_thinking_20251015 "
    "keeps.",
)
