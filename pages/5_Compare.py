"""Compare: up to four strategies on one plot, and a table of what each one does."""

from __future__ import annotations

import streamlit as st

from ctxviz import figures
from ctxviz_app import ui

# As recorded, then the strategies the compaction overview recommends side by side: compaction
# on demand, compaction at a token threshold, context editing (clear_tool_uses alone when the
# transcript has no thinking to clear).
DEFAULT = ("recorded", "on_demand", "server_compaction", "context_editing", "clear_tools")


def body(app: ui.App) -> None:
    available = ui.strategies(app)
    info = app.model_info
    if not info.current or not (
        info.supports_compaction_on_demand and info.supports_compact_20260112
    ):
        st.info(
            f"{ui.md(info.display_name)} does not take every strategy the docs now recommend "
            "(compaction on demand, compaction at a token threshold, context editing): the "
            "replay runs them with a warning. Pick a current model in the sidebar to compare "
            "them as the API would run them."
        )
    chosen = ui.multiselect(
        "Strategies (up to four)",
        list(available),
        key="cmp",
        default=[s for s in DEFAULT if s in available][:4],
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
    fragment=True,
)
