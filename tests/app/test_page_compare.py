"""pages/5_Compare.py."""

from __future__ import annotations

from apptest_helpers import page, run, spec


def test_four_strategies_and_their_table() -> None:
    at = run(page("5_Compare.py"))
    table = at.dataframe[0].value
    assert len(table) == 4
    assert list(table.columns[:6]) == [
        "strategy",
        "requests",
        "peak prompt (tokens)",
        "first request over the window",
        "clearings",
        "compactions",
    ]
    assert {"total $", "cache hit rate"} <= set(table.columns)
    lines = [t for t in spec(at)["data"] if t.get("mode") == "lines+markers"]
    assert len(lines) == 4


def test_choosing_strategies_changes_the_plot() -> None:
    at = run(page("5_Compare.py"))
    at.multiselect(key="cmp").set_value(["recorded", "no_compaction"])
    run(at)
    lines = [t["name"] for t in spec(at)["data"] if t.get("mode") == "lines+markers"]
    assert lines == ["As recorded", "No compaction (recorded ones undone)"]
    assert at.query_params["cmp"] == ["recorded", "no_compaction"]


def test_the_users_policy_from_the_editing_page_is_offered() -> None:
    at = run(page("app.py"))
    at.switch_page("pages/3_Context_editing.py")
    run(at)
    at.switch_page("pages/5_Compare.py")
    run(at)
    assert "Your context-editing policy" in at.multiselect(key="cmp").options


def test_the_recommended_strategies_side_by_side() -> None:
    """As recorded, compaction on demand, at a token threshold and context editing, named as the
    compaction overview names them; the on-demand strategy exports the client's loop."""
    at = run(page("5_Compare.py"))
    assert at.multiselect(key="cmp").value == [
        "recorded",
        "on_demand",
        "server_compaction",
        "context_editing",
    ]
    table = at.dataframe[0].value
    assert list(table["strategy"]) == [
        "As recorded",
        "Compaction on demand (past 150K)",
        "Compaction at a token threshold (compact_20260112, 150K default)",
        "Context editing (clear_thinking + clear_tool_uses, API defaults)",
    ]
    at.multiselect(key="cmp").set_value(["on_demand", "recorded"])
    at.session_state["compare_tabs"] = "Python SDK call"  # only the open export tab is built
    run(at)
    programs = [c.value for c in at.code if "compaction=COMPACTION" in c.value]
    assert programs and '"compact-2026-09-04"' in programs[0]
