"""pages/2_Thinking.py."""

from __future__ import annotations

from apptest_helpers import page, run, spec, trace


def test_keep_n_changes_what_is_carried() -> None:
    at = page("2_Thinking.py")
    at.query_params["source"] = "thinking_chat"
    run(at)
    before = trace(spec(at), "Stripped")
    at.selectbox(key="th_edit").select("turns")
    run(at)
    at.slider(key="th_keep").set_value(4)
    run(at)
    after = trace(spec(at), "Stripped")
    assert after["y"] != before["y"]
    assert len(at.dataframe) == 1 and not at.dataframe[0].value.empty  # applied_edits
    assert '"thinking_turns"' in at.code[0].value  # the exported context_management


def test_preservation_override_and_keep_all() -> None:
    at = page("2_Thinking.py")
    at.query_params["source"] = "thinking_chat"
    run(at)
    carried = trace(spec(at), "Carried")["y"]
    at.selectbox(key="th_preserve").select("keep")
    run(at)
    assert trace(spec(at), "Carried")["y"] != carried
    at.selectbox(key="th_edit").select("all")
    run(at)
    assert '"all"' in at.code[0].value


def test_a_transcript_without_thinking_disables_the_edit() -> None:
    at = page("2_Thinking.py")
    at.query_params["source"] = "openai_tool_calls"
    run(at)
    assert at.info and "no extended thinking" in at.info[0].value
    assert at.selectbox(key="th_edit").disabled
    assert spec(at)["data"] is not None  # the chart still draws


def test_preserved_thinking_under_a_rolling_window() -> None:
    at = page("2_Thinking.py")
    at.query_params["source"] = "claude_code_session"
    run(at)
    assert "has no preserved thinking" in at.info[-1].value  # the session's own model
    at.sidebar.selectbox(key="model").set_value("claude-fable-5-1")
    run(at)
    at.slider(key="th_roll").set_value(80_000)
    run(at)
    table = at.dataframe[-1].value
    assert set(table["type"]) == {"thinking_prefix_rejected"}
    assert "400" in table["detail"].iloc[0]
    at.selectbox(key="th_mismatch").select("drop")
    run(at)
    dropped = at.dataframe[-1].value
    assert set(dropped["type"]) == {"thinking_prefix_dropped"}
    assert (dropped["tokens_before"] > dropped["tokens_after"]).all()
