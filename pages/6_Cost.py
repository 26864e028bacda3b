"""Cost: cumulative $ per strategy, cache reads and writes, the long-context premium zone."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ctxviz import figures
from ctxviz.summary import summarize, summed_cost_usd
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
    _subagents(app)
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


def _subagents(app: ui.App) -> None:
    """What the main conversation's sub-agents cost, each replayed as recorded on its own (as
    ``ctxviz summary`` lists them): the strategies above are the main conversation's alone."""
    subs = app.root.subagents
    if app.agent >= 0 or not subs:
        return
    rows: list[dict[str, object]] = []
    costs: list[float | None] = []
    for i, sub in enumerate(subs):
        try:
            summary = summarize(app.simulate_subagent(i))
            requests, cost = summary.requests, summary.total_cost_usd
        except ValueError:  # one that cannot be replayed leaves the total unknown
            requests, cost = len(sub.requests), None
        costs.append(cost)
        rows.append(
            {
                "sub-agent": f"{i + 1}: {sub.agent_type or 'agent'}",
                "description": sub.description or sub.title or "",
                "requests": requests,
                "as recorded $": cost,
            }
        )
    own = summarize(app.simulate()).total_cost_usd
    st.subheader(f"Sub-agents ({len(subs)})")
    agents = summed_cost_usd(costs)
    if own is None or agents is None:
        total = "not every one could be priced, so no total is given"
    else:
        total = (
            f"\\${agents:,.4f} for the sub-agents; with this conversation's own \\${own:,.4f}, "
            f"\\${own + agents:,.4f} in all"
        )
    st.caption(
        "The strategies above replay the main conversation alone. Its sub-agents are "
        "conversations of their own, each replayed as recorded (the sidebar's Chain opens one): "
        f"{total}."
    )
    ui.table(pd.DataFrame(rows), key="cost_subagents")


ui.run_page(
    "Cost",
    body,
    icon=":material/payments:",
    intro="What each strategy costs with prompt caching: every clearing or compaction changes "
    "the prompt's prefix and is paid as cache writes.",
    fragment=True,
)
