"""Cost: cumulative $ per strategy, cache reads and writes, the long-context premium zone."""

from __future__ import annotations

import streamlit as st

from ctxviz import figures
from ctxviz_app import ui

DEFAULT = ("recorded", "clear_tools", "server_compaction")


def body(app: ui.App) -> None:
    available = ui.strategies(app)
    chosen = ui.multiselect(
        "Strategies (up to four)",
        list(available),
        key="cost",
        default=[s for s in DEFAULT if s in available],
        max_selections=4,
        format_func=lambda sid: available[sid].label,
    )
    if not chosen:
        st.info("Pick at least one strategy.")
        return
    sims = ui.run_strategies(app, [available[s] for s in chosen])
    info = app.model_info
    threshold = info.long_context_threshold_tokens
    ui.chart(figures.cost(sims, premium_threshold_tokens=threshold), key="cost_chart")
    premium = (
        f"Above {threshold:,} input tokens a request is billed at long-context rates (input "
        f"×{info.long_context_input_multiplier:g}, output ×{info.long_context_output_multiplier:g}"
        "): the shaded zone."
        if threshold
        else f"{ui.md(info.display_name)} has no long-context premium in ctxviz's model table."
    )
    st.caption(
        f"Prices per MTok, {ui.md(info.display_name)}: input \\${info.input_usd_per_mtok:g}, "
        f"cache writes \\${info.cache_write_5m_usd_per_mtok:g} (5 min) / "
        f"\\${info.cache_write_1h_usd_per_mtok:g} (1 h), cache reads "
        f"\\${info.cache_read_usd_per_mtok:g}, output \\${info.output_usd_per_mtok:g} (the "
        "rates in force today; a request is priced at those of its date). " + premium
    )
    ui.table(
        figures.cost_table(sims),
        key="cost_table",
        column_config={"cache hit rate": st.column_config.NumberColumn(format="percent")},
    )
    first = available[chosen[0]]
    if first.label in sims:
        ui.exports(
            app,
            sims[first.label],
            key="cost",
            scenario=first.scenario,
            compare=sims,
            label=first.label,
        )


ui.run_page(
    "Cost",
    body,
    icon=":material/payments:",
    intro="What each strategy costs with prompt caching: every clearing or compaction changes "
    "the prompt's prefix and is paid as cache writes.",
    fragment=True,
)
