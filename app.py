"""ctxviz explorer — the overview page. Run: ``streamlit run app.py``.

Navigation is Streamlit's auto-discovered ``pages/`` folder; every page (this one included) calls
``ctxviz_app.ui.run_page``, which draws the shared sidebar and guards the page body.
"""

from __future__ import annotations

import streamlit as st

from ctxviz import figures
from ctxviz_app import ui


def body(app: ui.App) -> None:
    sim = app.simulate()
    s = figures.summary(sim)
    if app.conversation.title:
        st.text(f"Transcript: {app.conversation.title[:200]}")
    cols = st.columns(5)
    cols[0].metric("Requests", f"{s['requests']:,}", help="API calls of this chain, in order.")
    cols[1].metric(
        "Recorded / estimated",
        f"{s['recorded']:,} / {s['estimated']:,}",
        help="Recorded: numbers from the transcript's usage. Estimated: counted offline.",
    )
    window = s["window_tokens"]
    cols[2].metric(
        "Peak prompt",
        f"{s['peak_prompt_tokens']:,}",
        help=f"Largest input of any request; the window is {window:,} tokens." if window else None,
    )
    cols[3].metric("Compactions / clearings", f"{s['compactions']} / {s['clearings']}")
    subagents = len(app.root.subagents) if app.agent < 0 else 0
    cols[4].metric(
        "Cost (USD)",
        f"${s['total_cost_usd']:,.2f}",
        help="With prompt caching, priced from ctxviz's model table."
        + (
            f" This chain's own requests: its {subagents} sub-agent"
            f"{'s are' if subagents != 1 else ' is'} priced on the Cost page."
            if subagents
            else ""
        ),
    )
    ui.chart(figures.timeline(sim, full_window=app.full_window), key="overview_timeline")
    st.caption(
        "Each band is one kind of content in the prompt, in the same colour on every page. "
        "Drag to zoom, double-click to reset; hover a marker for what happened and the prompt "
        "before → after."
    )
    ui.warnings(sim, key="overview_notes")
    st.subheader("Explore")
    ui.page_links(describe=True)


ui.run_page(
    "ctxviz — how Claude's context window behaves",
    body,
    icon=":material/stacked_line_chart:",
    intro="Load a transcript, see request by request how the prompt grows and what thinking, "
    "context editing, compaction and caching do to it — then replay it under other settings.",
)
