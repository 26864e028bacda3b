"""pages/4_Compaction.py."""

from __future__ import annotations

import ast
import base64
import json

import numpy as np
import pytest
from apptest_helpers import ROOT, page, run, spec, trace

from ctxviz.cli import main as cli_main


def marker_names(fig: dict) -> list[str]:
    return [t.get("name", "") for t in fig["data"] if t.get("mode") == "markers"]


@pytest.mark.slow
def test_server_compaction_default_and_trigger_slider() -> None:
    at = run(page("4_Compaction.py"))
    at.radio(key="cp_mode").set_value("server")  # the Claude Code session, its compaction undone
    run(at)
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
    at.session_state["compaction_tabs"] = "compaction_control"  # only the open tab is built
    run(at)
    assert "SDK compaction (compaction_control)" in marker_names(spec(at))
    literal = next(c.value for c in at.code if c.value.lstrip().startswith("{"))
    assert ast.literal_eval(literal) == {"enabled": True, "context_token_threshold": 60_000}
    at.selectbox(key="cp_totals").select("context")
    run(at)  # the real-context total: same transcript without server tools, still runs


def test_claude_code_pct_override_and_recorded_mode() -> None:
    at = run(page("4_Compaction.py"))
    at.radio(key="cp_mode").set_value("claude_code")
    run(at)
    before = trace(spec(at), "Prompt (input_tokens)")["y"]
    # Claude Code's default threshold fires where the session compacted (request 23)
    assert "Claude Code auto-compact (what-if)" in marker_names(spec(at))
    at.slider(key="cp_pct").set_value(50)
    run(at)
    assert trace(spec(at), "Prompt (input_tokens)")["y"] != before
    at.toggle(key="cp_disable").set_value(True)
    run(at)
    assert "Claude Code auto-compact (what-if)" not in marker_names(spec(at))
    at.radio(key="cp_mode").set_value("recorded")
    run(at)
    assert "Compaction in the recording" in marker_names(spec(at))
    assert len(at.dataframe[0].value) == 1  # the one recorded compaction


@pytest.mark.parametrize(
    ("cli", "widgets"),
    [
        ([], {}),
        (["--autocompact-pct-override", "50"], {"cp_pct": 50}),
        (["--auto-compact-window", "150k"], {"cp_window": 150_000}),
    ],
)
def test_the_command_line_and_the_page_agree(
    cli: list[str], widgets: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    # one what-if through `ctxviz simulate --json` and through the Compaction page, at the
    # page's defaults otherwise: the same prompts, the same events
    path = str(ROOT / "sample_conversations" / "claude_code_session.zip")
    assert cli_main(["simulate", path, "--claude-code-autocompact", *cli, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["undo_recorded_compactions"] is True
    at = run(page("4_Compaction.py"))
    at.radio(key="cp_mode").set_value("claude_code")
    run(at)
    for key, value in widgets.items():
        at.slider(key=key).set_value(value)
        run(at)
    y = trace(spec(at), "Prompt (input_tokens)")["y"]  # plotly's typed array
    prompts = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    assert [r["input_tokens"] for r in data["requests"]] == prompts
    cli_events = [e for e in data["events"] if e["type"] == "claude_code_autocompact"]
    table = at.dataframe[0].value
    page_events = table[table["type"] == "claude_code_autocompact"]
    assert len(cli_events) >= 1
    assert [e["request"] for e in cli_events] == page_events["request"].tolist()
    assert [e["tokens_before"] for e in cli_events] == page_events["tokens_before"].tolist()


def test_summary_size() -> None:
    at = run(page("4_Compaction.py"))
    at.radio(key="cp_mode").set_value("server")
    run(at)
    at.number_input(key="cp_summary").set_value(10_000)
    run(at)
    table = at.dataframe[0].value
    assert list(table["summary_tokens"]) == [10_000] * len(table)


def test_compaction_on_demand_mode_matches_simulate() -> None:
    at = run(page("4_Compaction.py"))  # the Claude Code session, its compaction undone
    at.radio(key="cp_mode").set_value("on_demand")
    run(at)
    at.slider(key="cp_od_tokens").set_value(100_000)
    at.slider(key="cp_od_keep").set_value(1)
    at.session_state["compaction_tabs"] = "Python SDK call"  # only the open tab is built
    run(at)
    assert "Compaction on demand (block in front)" in marker_names(spec(at))
    table = at.dataframe[0].value
    assert set(table["type"]) == {"compaction_on_demand"}
    programs = [c.value for c in at.code if "compaction=COMPACTION" in c.value]
    assert programs and "KEEP_RECENT_TURNS = 1" in programs[0]
    at.toggle(key="cp_od_background").set_value(True)
    run(at)
    assert set(at.dataframe[0].value["type"]) == {
        "compaction_on_demand_sent",
        "compaction_on_demand",
    }
