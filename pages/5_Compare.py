"""Compare: up to four strategies on one plot, and a table of what each one does."""

from __future__ import annotations

import streamlit as st

from ctxviz import figures
from ctxviz_app import ui

DEFAULT = ("recorded", "clear_tools", "server_compaction", "sdk_compaction")


def body(app: ui.App) -> None:
    available = ui.strategies(app)
    chosen = ui.multiselect(
        "Strategies (up to four)",
        list(available),
        key="cmp",
        default=[s for s in DEFAULT if s in available],
        max_selections=4,
        format_func=lambda sid: available[sid].label,
        help="Your own policies from the Context editing and Compaction pages appear here once "
        "you have set them there.",
    )
    if not chosen:
        st.info("Pick at least one strategy.")
        return
    sims = ui.run_strategies(app, [available[s] for s in chosen])
    ui.chart(figures.compare(sims, full_window=app.full_window), key="compare_chart")
    st.caption(
        "One line per strategy (colour and dash pattern), with its clearings and compactions "
        "as markers; open markers: estimated requests. Drag to zoom."
    )
    table = figures.compare_table(sims)
    ui.table(
        table,
        key="compare_table",
        column_config={
            "total $": st.column_config.NumberColumn(format="$%.4f"),
            "cache hit rate": st.column_config.NumberColumn(format="percent"),
            "peak prompt (tokens)": st.column_config.NumberColumn(format="localized"),
        },
    )
    st.caption(
        "Cache hit rate: cache reads / all prompt tokens. Numbers of a what-if are estimated "
        "(see the estimated requests column); recorded requests keep their recorded usage."
    )
    st.download_button(
        "Download this table (CSV)",
        ui.csv_text(table),
        file_name="ctxviz_compare.csv",
        mime="text/csv",
        key="compare_dl_csv",
        on_click="ignore",
    )
    first = available[chosen[0]]
    if first.label in sims:
        ui.exports(
            app,
            sims[first.label],
            key="compare",
            scenario=first.scenario,
            compare=sims,
            label=first.label,
        )


ui.run_page(
    "Compare strategies",
    body,
    icon=":material/compare_arrows:",
    intro="The same transcript replayed under several policies: prompt size, when each one "
    "clears or compacts, whether it still overflows, what it costs.",
)
