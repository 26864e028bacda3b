"""Issue 18 ("The first hour"): every page opens on the recording, a shared link whose upload is
not here says so, the upload in use is named on every page, a lone session .jsonl with sub-agents
gets a hint, tables print counts as the metrics do, exports say what the page's policy is."""

from __future__ import annotations

import json

from apptest_helpers import ROOT, page, run, spec

SESSION = ROOT / "sample_conversations" / "claude_code_session"


def trace_names(fig: dict) -> list[str]:
    return [str(t.get("name", "")) for t in fig["data"]]


def test_compaction_opens_on_the_recording_and_the_what_if_is_one_click() -> None:
    at = run(page("4_Compaction.py"))
    assert at.radio(key="cp_mode").value == "recorded"
    names = trace_names(spec(at))
    assert "Compaction in the recording" in names
    assert not any(n.startswith("Server compaction") for n in names)
    at.radio(key="cp_mode").set_value("server")
    run(at)
    assert any(n.startswith("Server compaction") for n in trace_names(spec(at)))


def test_context_editing_opens_on_the_recording() -> None:
    at = page("3_Context_editing.py")
    at.query_params["source"] = "agent_tool_loop"
    run(at)
    assert at.toggle(key="ce_tools").value is False
    fig = spec(at)
    before = next(t for t in fig["data"] if t["name"].startswith("Before edits"))
    sent = next(t for t in fig["data"] if t["name"].startswith("Sent after edits"))
    assert before["y"] == sent["y"]  # nothing cleared
    assert not any(n.startswith("Tool results cleared") for n in trace_names(fig))
    at.toggle(key="ce_tools").set_value(True)
    run(at)
    assert any(n.startswith("Tool results cleared") for n in trace_names(spec(at)))


def test_the_other_pages_open_on_the_recording() -> None:
    for name, check in (
        ("2_Thinking.py", lambda at: at.selectbox(key="th_edit").value == "none"),
        ("5_Compare.py", lambda at: at.multiselect(key="cmp").value[0] == "recorded"),
        ("6_Cost.py", lambda at: at.multiselect(key="cost").value[0] == "recorded"),
        ("7_Inspector.py", lambda at: at.selectbox(key="insp_strategy").value == "recorded"),
    ):
        at = run(page(name))
        assert check(at), name


def test_a_shared_link_made_with_an_upload_says_the_file_is_not_here() -> None:
    at = page("app.py")
    at.query_params["source"] = "upload"
    at.query_params["model"] = "claude-haiku-4-5"
    run(at)
    said = " ".join(w.value for w in at.warning)
    assert "uploaded transcript" in said and "not here" in said
    assert at.sidebar.selectbox(key="model").value == "claude-haiku-4-5"  # settings kept
    offer = next(u for u in at.get("file_uploader") if u.key == "upload_link")
    data = (ROOT / "sample_conversations" / "thinking_chat.jsonl").read_bytes()
    offer.set_value(("my_chat.jsonl", data, "application/json"))
    run(at)
    assert at.sidebar.selectbox(key="source").value == "upload"
    assert not any("not here" in w.value for w in at.warning)
    assert spec(at)["layout"]["title"]["subtitle"]["text"] == "All 8 requests: recorded usage."


def test_the_upload_in_use_is_named_after_changing_page() -> None:
    at = run(page("app.py"))
    data = (ROOT / "sample_conversations" / "thinking_chat.jsonl").read_bytes()
    at.file_uploader[0].set_value(("my_chat.jsonl", data, "application/json"))
    run(at)
    at.switch_page("pages/1_Timeline.py")
    run(at)
    assert at.sidebar.selectbox(key="source").value == "upload"
    captions = [c.value.replace("\\", "") for c in at.sidebar.caption]
    assert any("In use: your upload" in c and "my_chat.jsonl" in c for c in captions)


def test_a_lone_session_jsonl_with_sub_agents_gets_a_hint() -> None:
    at = run(page("app.py"))
    lone = next(SESSION.glob("*.jsonl"))
    at.file_uploader[0].set_value((lone.name, lone.read_bytes(), "application/json"))
    run(at)
    hints = [i.value.replace("\\", "") for i in at.sidebar.info]
    assert any("sub-agents" in h and ".zip" in h and lone.name in h for h in hints)
    # the zip brings them: no hint, and the chain selector appears
    whole = ROOT / "sample_conversations" / "claude_code_session.zip"
    at.file_uploader[0].set_value((whole.name, whole.read_bytes(), "application/zip"))
    run(at)
    assert not any("sub-agents" in i.value for i in at.sidebar.info)
    assert at.sidebar.selectbox(key="agent").options[0] == "Main chain"


def test_tables_format_counts_and_leave_missing_values_blank() -> None:
    at = run(page("4_Compaction.py"))
    table = at.dataframe[0]
    columns = json.loads(table.proto.columns)
    assert columns["tokens_before"]["type_config"]["format"] == "localized"
    longest = int(table.value["detail"].str.len().max())
    assert columns["detail"]["width"] >= 7 * longest  # the whole sentence, not clipped
    assert table.proto.placeholder == "—"


def test_compare_and_cost_exports_say_what_the_policy_is() -> None:
    for name in ("5_Compare.py", "6_Cost.py"):
        at = run(page(name))
        captions = [c.value for c in at.caption]
        assert not any("this page's policy" in c for c in captions), name
        assert any("the first strategy, As recorded, is as recorded" in c for c in captions), name


def test_full_window_toggle_reaches_the_charts() -> None:
    at = page("1_Timeline.py")
    at.query_params["source"] = "thinking_chat"
    run(at)
    fitted = spec(at)["layout"]["yaxis"]["range"][1]
    at.sidebar.toggle(key="full_window").set_value(True)
    run(at)
    full = spec(at)["layout"]["yaxis"]["range"][1]
    assert fitted < 100_000 <= full
