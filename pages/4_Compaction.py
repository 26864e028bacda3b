"""Compaction: on demand, compact_20260112, the SDK's compaction_control, Claude Code's."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import streamlit as st

from ctxviz import figures
from ctxviz.policies import claude_code, compact, compact_on_demand, compaction_control
from ctxviz.simulator import DEFAULT_SUMMARY_TOKENS
from ctxviz_app import ui

if TYPE_CHECKING:
    from ctxviz.policies.compaction_control import CompactionControlParam
    from ctxviz.policies.edits import ContextManagementParam

MODES = {
    "recorded": "As recorded",
    "on_demand": "On demand: the compaction parameter",
    "server": "Server: compact_20260112",
    "sdk": "SDK: compaction_control",
    "claude_code": "Claude Code auto-compact",
}
WHEN = {
    "tokens": "When the conversation reaches N tokens",
    "every": "Every N requests",
    "turns": "At each user turn",
}
TOTALS = {
    "sdk": "As the SDK adds it up (server-tool reads inflate it)",
    "context": "The real context (what the fix would use)",
}


def body(app: ui.App) -> None:
    conv = app.conversation
    window = app.replay_window_tokens
    mode = ui.select(
        "Compaction",
        list(MODES),
        key="cp_mode",
        default="recorded",
        radio=True,
        format_func=MODES.__getitem__,
    )
    c1, c2, c3 = st.columns(3)
    cm: ContextManagementParam | None = None
    cc: CompactionControlParam | None = None
    changes: dict[str, Any] = {}
    with c1:
        if mode == "on_demand":
            changes["compaction"] = _on_demand(app, window)
        elif mode == "server":
            trigger = ui.slider(
                "trigger (input tokens)",
                key="cp_trigger",
                default=compact.DEFAULT_TRIGGER_TOKENS,
                min_value=compact.MIN_TRIGGER_TOKENS,
                max_value=max(window, compact.MIN_TRIGGER_TOKENS + 10_000),
                step=5_000,
                help="Compacts inside the request whose prompt reaches it; the API rejects a "
                f"value below {compact.MIN_TRIGGER_TOKENS:,}.",
            )
            pause = ui.toggle(
                "pause_after_compaction",
                key="cp_pause",
                default=False,
                help="The response stops with stop_reason 'compaction' after the summary.",
            )
            edit = compact.Compact(trigger=trigger, pause_after_compaction=pause)
            cm = {"edits": [edit.to_api()]}
        elif mode == "sdk":
            threshold = ui.slider(
                "context_token_threshold",
                key="cp_threshold",
                default=compaction_control.DEFAULT_THRESHOLD_TOKENS,
                min_value=5_000,
                max_value=max(window, 10_000),
                step=5_000,
                help="After each response: input + cache writes + cache reads + output ≥ "
                "threshold → compact.",
            )
            cc = compaction_control.CompactionControl(threshold_tokens=threshold).to_sdk()
            totals = ui.select(
                "Server-tool pitfall: the total compared",
                list(TOTALS),
                key="cp_totals",
                default="sdk",
                format_func=TOTALS.__getitem__,
                help="With web search/fetch, cache_read_input_tokens adds up several internal "
                "calls, so the SDK's total overstates the context and compacts too early.",
            )
            changes["compaction_control_totals"] = totals
        elif mode == "claude_code":
            # Claude Code's own settings; at their defaults nothing is passed (as on the CLI)
            pct = ui.slider(
                "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE (%)",
                key="cp_pct",
                default=100,
                min_value=10,
                max_value=100,
                help="Compact at this share of the window minus the output reserve; it can only "
                "lower Claude Code's threshold (window − min(max output, 20K) − 13K).",
            )
            top = min(max(window, claude_code.MIN_WINDOW_TOKENS), claude_code.MAX_WINDOW_TOKENS)
            auto_window = ui.slider(
                "autoCompactWindow (tokens)",
                key="cp_window",
                default=top,
                min_value=claude_code.MIN_WINDOW_TOKENS,
                max_value=claude_code.MAX_WINDOW_TOKENS,
                step=10_000,
                help="CLAUDE_CODE_AUTO_COMPACT_WINDOW: the window the threshold is computed on "
                "(capped by the model's).",
            )
            disable = ui.toggle(
                "DISABLE_AUTO_COMPACT",
                key="cp_disable",
                default=False,
                help="Claude Code never compacts on its own.",
            )
            settings = claude_code.to_settings(
                claude_code.ClaudeCodeAutocompact(
                    pct_override=pct if pct < 100 else None,
                    window_tokens=auto_window if auto_window != top else None,
                )
            )
            if disable:
                settings[claude_code.DISABLE] = True
            changes["claude_code_autocompact"] = json.dumps(settings, sort_keys=True)
        else:
            st.caption("The compactions found in the transcript, if any.")
    with c2:
        summary = ui.number(
            "Summary size (tokens)",
            key="cp_summary",
            default=None,
            min_value=1,
            step=500,
            placeholder=f"observed, else {DEFAULT_SUMMARY_TOKENS:,}",
            disabled=mode == "recorded",
            help="Size of a what-if summary; empty: the transcript's observed summary size, or "
            f"a documented {DEFAULT_SUMMARY_TOKENS:,} tokens.",
        )
        if mode != "recorded":
            changes["summary_tokens"] = summary
    with c3:
        undo = ui.toggle(
            "Undo the recorded compactions",
            key="cp_undo",
            default=bool(conv.compactions),
            disabled=not conv.compactions or mode == "recorded",
            help="Replay the history through the compactions the transcript recorded, so the "
            "policy here decides alone.",
        )
        if mode != "recorded":
            changes["undo_recorded_compactions"] = undo and bool(conv.compactions)
    scenario = app.policy(context_management=cm, compaction_control=cc, **changes)
    if mode != "recorded":
        ui.remember_policy("compaction", scenario)
    sim = app.simulate(scenario)
    baseline = app.simulate(app.policy(undo_recorded_compactions=bool(conv.compactions)))
    ui.chart(
        figures.compaction(
            sim,
            baseline=baseline if mode != "recorded" or conv.compactions else None,
            baseline_name="No compaction" if conv.compactions else "As recorded",
            full_window=app.full_window,
        ),
        key="compaction_chart",
    )
    st.caption(
        "Solid: the prompt under this policy; each compaction is a vertical drop (hover: tokens "
        "before → after, summary size). Dashed grey: the prompt without compaction. Dotted: the "
        "trigger. Open markers and hatching: estimated requests."
    )
    st.subheader("Compactions")
    ui.table(
        figures.events_table(
            sim,
            types=figures.COMPACTION_EVENTS
            | figures.RECORDED_CLEARING_EVENTS
            | {compact_on_demand.SENT_EVENT},
        ),
        key="compaction_events",
    )
    if mode == "claude_code":
        st.caption("Claude Code's auto-compact is a client behaviour, not an API setting.")
    ui.warnings(sim, key="compaction_notes")
    ui.exports(app, sim, key="compaction", scenario=scenario)


def _on_demand(app: ui.App, window: int) -> str:
    """Compaction on demand's controls: when, kept turns, background. Its fields as JSON."""
    when = ui.select(
        "When the client asks for a summary",
        list(WHEN),
        key="cp_when",
        default="tokens",
        format_func=WHEN.__getitem__,
        help="The API has no trigger: the client's loop decides before each request.",
    )
    fields: dict[str, Any] = {}
    if when == "tokens":
        fields["at_prompt_tokens"] = ui.slider(
            "Compact past (tokens)",
            key="cp_od_tokens",
            default=min(compact.DEFAULT_TRIGGER_TOKENS, window),
            min_value=5_000,
            max_value=max(window, 10_000),
            step=5_000,
            help="The previous request's prompt + its output (what the next request sends "
            "again), as in the documented loop.",
        )
    elif when == "every":
        fields["every_requests"] = ui.slider(
            "Every N requests",
            key="cp_od_every",
            default=10,
            min_value=1,
            max_value=max(len(app.conversation.requests), 2),
        )
    else:
        fields["at_user_turns"] = True
    keep = ui.slider(
        "Keep the last turns verbatim",
        key="cp_od_keep",
        default=0,
        min_value=0,
        max_value=10,
        help="Left out of the compaction request and sent after the block, word for word.",
    )
    if keep:
        fields["keep_recent_turns"] = keep
    if ui.toggle(
        "In the background",
        key="cp_od_background",
        default=False,
        help="The conversation continues on its full history until the block arrives: "
        "swapped in on the next request (the documented loop).",
    ):
        fields["background"] = True
    return json.dumps(fields, sort_keys=True)


ui.run_page(
    "Compaction",
    body,
    icon=":material/compress:",
    intro="Where compaction fires, what the summary replaces, and how often — on demand (the "
    "compaction parameter), server-side (compact_20260112), client-side (the SDK's "
    "compaction_control) or Claude Code's.",
    fragment=True,
)
