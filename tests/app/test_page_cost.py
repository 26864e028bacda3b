"""pages/6_Cost.py."""

from __future__ import annotations

from apptest_helpers import page, run, spec


def test_cumulative_cost_per_strategy_and_table() -> None:
    at = run(page("6_Cost.py"))
    fig = spec(at)
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles[0] == "Cumulative cost (USD)"
    table = at.dataframe[0].value
    assert list(table["strategy"]) == [
        "As recorded",
        "clear_tool_uses (API defaults)",
        "compact_20260112 (150K default)",
    ]
    assert (table["total $"] > 0).all()
    at.multiselect(key="cost").set_value(["recorded"])
    run(at)
    assert len(at.dataframe[0].value) == 1


def test_long_context_premium_zone_only_where_it_can_apply() -> None:
    at = page("6_Cost.py")
    at.query_params["source"] = "agent_tool_loop"
    run(at)
    assert not spec(at)["layout"].get("shapes")  # Sonnet 4.5 on 200K: nothing above 200K
    # On a 1M window, Sonnet 4.5 bills prompts above 200K at long-context rates: shaded.
    at.sidebar.selectbox(key="model").set_value("claude-sonnet-4-5")
    at.sidebar.number_input(key="window").set_value(1_000_000)
    run(at)
    assert [s["y0"] for s in spec(at)["layout"]["shapes"]] == [200_000]
    at.sidebar.selectbox(key="model").set_value("claude-opus-4-6")
    run(at)
    assert not spec(at)["layout"].get("shapes")
    assert any("no long-context premium" in c.value for c in at.caption)
