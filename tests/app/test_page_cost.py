"""pages/6_Cost.py."""

from __future__ import annotations

from apptest_helpers import page, run, spec
from streamlit.testing.v1 import AppTest


def test_cumulative_cost_per_strategy_and_table() -> None:
    at = run(page("6_Cost.py"))
    fig = spec(at)
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles[0] == "Cumulative cost (USD)"
    table = at.dataframe[0].value
    assert list(table["strategy"]) == [
        "As recorded",
        "clear_tool_uses (API defaults)",
        "Compaction at a token threshold (compact_20260112, 150K default)",
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
    # Sonnet 4.5 is retired: said so, still priced, and not offered in the picker.
    assert any("retired on 2026-11-30" in w.value.replace("\\", "") for w in at.sidebar.warning)
    assert "claude-sonnet-4-5" not in at.sidebar.selectbox(key="model").options
    # On a 1M window, Sonnet 4.5 bills prompts above 200K at long-context rates: shaded.
    at.sidebar.number_input(key="window").set_value(1_000_000)
    run(at)
    assert [s["y0"] for s in spec(at)["layout"]["shapes"]] == [200_000]
    # Haiku 5.5 bills a whole request 5x once its prompt passes 100K.
    at.sidebar.selectbox(key="model").set_value("claude-haiku-5-5")
    run(at)
    assert [s["y0"] for s in spec(at)["layout"]["shapes"]] == [100_000]
    assert any("cache reads \\$0.01" in c.value for c in at.caption)
    at.sidebar.selectbox(key="model").set_value("claude-opus-4-6")
    run(at)
    assert not spec(at)["layout"].get("shapes")
    assert any("no long-context premium" in c.value for c in at.caption)


def _total(at: AppTest) -> float:
    return float(at.dataframe[0].value["total $"].iloc[0])


def test_sidebar_model_table_reprices_and_refuses_a_bad_table() -> None:
    at = page("6_Cost.py")
    at.query_params["source"] = "agent_tool_loop"
    run(at)
    before = _total(at)
    # The recorded model (Sonnet 4.5) at 10x its output price: the recorded cost rises.
    at.sidebar.text_area(key="models_text").set_value(
        '{"models": [{"id": "claude-sonnet-4-5", "output_usd_per_mtok": 150}]}'
    )
    run(at)
    assert any("merged over the bundled table" in s.value for s in at.sidebar.success)
    assert _total(at) > before
    # A bad table is refused with its reason; the bundled prices apply again.
    at.sidebar.text_area(key="models_text").set_value('{"models": [{"id": "x", "oops": 1}]}')
    at.run()
    assert not at.exception
    assert any("unknown field" in e.value and "oops" in e.value for e in at.sidebar.error)
    assert _total(at) == before


def test_sidebar_model_table_survives_a_page_switch() -> None:
    at = page("app.py")
    at.query_params["source"] = "agent_tool_loop"
    run(at)
    at.switch_page("pages/6_Cost.py")
    run(at)
    before = _total(at)
    at.sidebar.text_area(key="models_text").set_value(
        '{"models": [{"id": "claude-sonnet-4-5", "output_usd_per_mtok": 150}]}'
    )
    run(at)
    repriced = _total(at)
    assert repriced > before
    at.switch_page("pages/4_Compaction.py")
    run(at)
    at.switch_page("pages/6_Cost.py")
    run(at)
    assert _total(at) == repriced


def test_the_main_conversations_sub_agents_are_priced_apart() -> None:
    """The bundled Claude Code session has sub-agents: each is replayed as recorded and priced,
    and the caption adds them to the main conversation's own cost."""
    from pathlib import Path

    from ctxviz import load, simulate
    from ctxviz.summary import summarize

    at = run(page("6_Cost.py"))  # opens on the bundled Claude Code session
    conv = load(
        Path(__file__).resolve().parents[2] / "sample_conversations" / "claude_code_session"
    )
    assert conv.subagents
    own = summarize(simulate(conv)).total_cost_usd
    agents = [summarize(simulate(sub)).total_cost_usd for sub in conv.subagents]
    assert own is not None and all(a is not None for a in agents)
    total = sum(a or 0.0 for a in agents)
    (table,) = [d.value for d in at.dataframe if "sub-agent" in d.value.columns]
    assert len(table) == len(conv.subagents)
    assert table["as recorded $"].tolist() == agents
    caption = next(c.value for c in at.caption if "for the sub-agents" in c.value)
    assert f"${total:,.4f} for the sub-agents" in caption.replace("\\", "")
    assert f"${own + total:,.4f} in all" in caption.replace("\\", "")
