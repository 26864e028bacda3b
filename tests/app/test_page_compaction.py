"""pages/4_Compaction.py."""

from __future__ import annotations

import ast
import json

import pytest
from apptest_helpers import page, run, spec, trace


def marker_names(fig: dict) -> list[str]:
    return [t.get("name", "") for t in fig["data"] if t.get("mode") == "markers"]


@pytest.mark.slow
def test_server_compaction_default_and_trigger_slider() -> None:
    at = run(page("4_Compaction.py"))  # the Claude Code session, its compaction undone
    fig = spec(at)
    assert "Server compaction (compact_20260112)" in marker_names(fig)
    assert trace(fig, "No compaction")
    at.slider(key="cp_trigger").set_value(100_000)
    run(at)
    server = trace(spec(at), "Server compaction")
    assert len(server["x"]) >= 1 and server != trace(fig, "Server compaction")
    assert json.loads(at.code[0].value)["edits"][0]["trigger"]["value"] == 100_000


def test_sdk_threshold_and_server_tool_pitfall_switch() -> None:
    at = page("4_Compaction.py")
    at.query_params["source"] = "agent_tool_loop"
    run(at)
    at.radio(key="cp_mode").set_value("sdk")
    run(at)
    at.slider(key="cp_threshold").set_value(60_000)
    run(at)
    assert "SDK compaction (compaction_control)" in marker_names(spec(at))
    literal = next(c.value for c in at.code if c.value.lstrip().startswith("{"))
    assert ast.literal_eval(literal) == {"enabled": True, "context_token_threshold": 60_000}
    at.selectbox(key="cp_totals").select("context")
    run(at)  # the real-context total: same transcript without server tools, still runs


def test_claude_code_reserve_and_recorded_mode() -> None:
    at = run(page("4_Compaction.py"))
    at.radio(key="cp_mode").set_value("claude_code")
    run(at)
    before = trace(spec(at), "Prompt (input_tokens)")["y"]
    at.slider(key="cp_reserve").set_value(90_000)
    run(at)
    assert trace(spec(at), "Prompt (input_tokens)")["y"] != before
    assert "Claude Code auto-compact (what-if)" in marker_names(spec(at))
    at.radio(key="cp_mode").set_value("recorded")
    run(at)
    assert "Compaction in the recording" in marker_names(spec(at))
    assert len(at.dataframe[0].value) == 1  # the one recorded compaction


def test_summary_size() -> None:
    at = run(page("4_Compaction.py"))
    at.number_input(key="cp_summary").set_value(10_000)
    run(at)
    table = at.dataframe[0].value
    assert list(table["summary_tokens"]) == [10_000] * len(table)
