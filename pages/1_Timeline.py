"""Timeline: the prompt of every request, stacked by category, with the window and the events."""

from __future__ import annotations

import streamlit as st

from ctxviz import figures
from ctxviz_app import ui


def body(app: ui.App) -> None:
    sim = app.simulate()
    last = max(len(sim.requests) - 1, 1)
    left, right = st.columns([1, 3])
    with left:
        show_events = ui.toggle("Show events", key="tl_events", default=True)
    with right:
        lo, hi = ui.range_slider(
            "Requests shown", key="tl_range", min_value=0, max_value=last, help="Zoom on a range."
        )
    ui.chart(
        figures.timeline(
            sim, show_events=show_events, x_range=(lo, hi), full_window=app.full_window
        ),
        key="timeline_chart",
    )
    st.caption(
        "Stacked: what the model saw in each request, by category (fixed colours). Dotted grey: "
        "prompt + output, which must fit the window (red dashed). Dotted coloured lines: the "
        "triggers of active policies. Markers: events, with the prompt before → after on hover. "
        "Hatched columns: estimated requests."
    )
    st.subheader("Events")
    ui.table(figures.events_table(sim), key="timeline_events")
    ui.warnings(sim, key="timeline_notes")
    ui.exports(app, sim, key="timeline")


ui.run_page(
    "Timeline",
    body,
    icon=":material/stacked_line_chart:",
    intro="Prompt size per request, as recorded (change model or window in the sidebar).",
    fragment=True,
)
