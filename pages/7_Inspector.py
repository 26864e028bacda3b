"""Inspector: one request — what its context window holds, and the prompt as the model saw it."""

from __future__ import annotations

import json

import streamlit as st

from ctxviz import figures
from ctxviz_app import ui

PAGE_SIZE = 10
MAX_CHARS = 20_000
STATUS = {
    "kept": "kept",
    "cleared": "CLEARED",
    "thinking_stripped": "STRIPPED",
    "summarized": "SUMMARIZED",
    "dropped": "DROPPED",
    "summary": "SUMMARY",
}
EXPLAIN = {
    "cleared": "Cleared by context editing: the model saw only the placeholder below.",
    "thinking_stripped": "Thinking of an earlier turn, stripped by the API: the model did not "
    "see it (shown as written).",
    "summarized": "Replaced by a compaction summary: not in this prompt (shown as written).",
    "dropped": "Dropped by the rolling window: not in this prompt (shown as written).",
    "summary": "The compaction summary the model saw in place of the history before it.",
}
UNSEEN = frozenset({"thinking_stripped", "summarized", "dropped"})


def _on_pick() -> None:
    """A click on a bar of the picker selects that request (runs before the rerun)."""
    state = st.session_state.get("insp_chart")
    points = state.selection.points if state is not None else []
    if points:
        st.session_state["request"] = int(points[0]["x"])


def body(app: ui.App) -> None:
    available = ui.strategies(app)
    sid = ui.select(
        "Strategy",
        list(available),
        key="insp_strategy",
        default="recorded",
        format_func=lambda s: available[s].label,
    )
    sim = app.simulate(available[sid].scenario)
    n = len(sim.requests)
    request = ui.slider(
        "Request", key="request", default=max(n - 1, 0), min_value=0, max_value=max(n - 1, 0)
    )
    request = min(request, max(n - 1, 0))
    ui.chart(
        figures.request_picker(sim, selected=request),
        key="insp_chart",
        on_select=_on_pick,
        selection_mode="points",
    )
    if n == 0:
        st.info("This transcript has no requests.")
        return
    row = figures.request_row(sim, request)
    m = st.columns(4)
    m[0].metric("Prompt (input tokens)", f"{int(row['input_tokens']):,}")
    m[1].metric("Output tokens", f"{int(row['output_tokens']):,}")
    m[2].metric("Numbers", str(row["source"]), help="recorded: the transcript's usage.")
    window = int(row.get("context_window") or 0)
    m[3].metric(
        "Window used",
        f"{(int(row['input_tokens']) + int(row['output_tokens'])) / window:.1%}" if window else "?",
        help="(input + output) / context window",
    )
    ui.chart(figures.composition(sim, request), key="insp_composition")
    left, right = st.columns([3, 2])
    with left:
        ui.table(
            figures.composition_table(sim, request),
            key="insp_composition_table",
            column_config={"share of window": st.column_config.NumberColumn(format="percent")},
        )
    with right:
        st.caption("context_management.applied_edits the API would return:")
        st.code(json.dumps(sim.applied_edits(request), indent=2), language="json")
        aware = sim.context_awareness(request)
        if aware:
            st.caption("What a context-aware model is told:")
            st.code("\n".join(aware), language=None)
    st.subheader(f"Request {request}: the prompt as the model saw it")
    view = sim.prompt_view(request)
    ui.table(figures.prompt_table(view), key="insp_blocks")
    blocks = view.blocks
    last_page = max((len(blocks) - 1) // PAGE_SIZE * PAGE_SIZE, 0)
    first = ui.slider(
        "Blocks from",
        key="insp_first",
        default=last_page,
        min_value=0,
        max_value=last_page,
        step=PAGE_SIZE,
        help=f"{PAGE_SIZE} blocks at a time; starts at the end of the prompt, the newest blocks.",
    )
    for i, b in enumerate(blocks[first : first + PAGE_SIZE], start=first):
        tokens = f"{b.tokens:,} tokens" + (
            f" (written: {b.original_tokens:,})" if b.original_tokens != b.tokens else ""
        )
        where = "prefix" if b.message < 0 else f"message {b.message}"
        label = f"{i}. {where} · {b.role} · {b.type} · {STATUS.get(b.status, b.status)} · {tokens}"
        with st.expander(
            ui.md(label),
            expanded=b.status not in UNSEEN and len(b.text) <= 600,
            key=f"insp_block_{request}_{i}",
        ):
            if b.status in EXPLAIN:
                st.caption(EXPLAIN[b.status])
            if not b.text:
                st.caption("Not in the file (sent by the client, sized from the recorded usage).")
                continue
            # Transcript text is inert: st.code renders it verbatim (no links, images, LaTeX).
            st.code(b.text[:MAX_CHARS], language=None, wrap_lines=True)
            if len(b.text) > MAX_CHARS:
                st.caption(f"… {len(b.text) - MAX_CHARS:,} more characters not shown.")
    ui.warnings(sim, key="insp_notes")


ui.run_page(
    "Inspector",
    body,
    icon=":material/search:",
    intro="Pick a request (slider, or click a bar): what its window holds, like Claude Code's "
    "/context, and every block as the model saw it — cleared, stripped or summarized.",
    fragment=True,
)
