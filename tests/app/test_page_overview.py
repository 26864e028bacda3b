"""app.py — the overview, the shared sidebar, uploads, URL state and navigation between pages."""

from __future__ import annotations

from apptest_helpers import ROOT, page, run, spec, trace


def test_opens_on_the_claude_code_session() -> None:
    at = run(page("app.py"))
    assert at.sidebar.selectbox(key="source").value == "claude_code_session"
    fig = spec(at)
    assert fig["layout"]["title"]["text"] == "Prompt size per request"
    assert "recorded usage" in fig["layout"]["title"]["subtitle"]["text"]
    assert [m.label for m in at.metric][:2] == ["Requests", "Recorded / estimated"]
    # The sub-agent chain selector appears because this session has one.
    assert at.sidebar.selectbox(key="agent").options[0] == "Main chain"
    cost = next(m for m in at.metric if m.label == "Cost (USD)")
    assert "its 1 sub-agent is priced on the Cost page" in cost.proto.help


def test_sample_choice_changes_the_chart_and_the_url() -> None:
    at = run(page("app.py"))
    before = spec(at)
    at.sidebar.selectbox(key="source").select("agent_tool_loop")
    run(at)
    after = spec(at)
    assert after["data"] != before["data"]
    assert at.query_params["source"] == "agent_tool_loop"
    at.sidebar.selectbox(key="source").select("claude_code_session")
    run(at)
    assert "source" not in at.query_params  # the default is left out of the URL


def test_url_restores_the_settings() -> None:
    at = page("app.py")
    at.query_params["source"] = "thinking_chat"
    at.query_params["model"] = "claude-haiku-4-5"
    at.query_params["window"] = "150000"
    run(at)
    assert at.sidebar.selectbox(key="source").value == "thinking_chat"
    assert at.sidebar.selectbox(key="model").value == "claude-haiku-4-5"
    assert at.sidebar.number_input(key="window").value == 150_000
    assert trace(spec(at), "Context window")["name"] == "Context window (150,000)"


def test_invalid_url_values_are_ignored() -> None:
    at = page("app.py")
    at.query_params["source"] = "no-such-sample"
    at.query_params["window"] = "lots"
    run(at)
    assert at.sidebar.selectbox(key="source").value == "claude_code_session"
    assert at.sidebar.number_input(key="window").value is None


def test_sidebar_settings_survive_a_page_switch() -> None:
    # The navigation choice (auto-discovered pages/, a shared sidebar function on every page)
    # keeps the sidebar's values when the user moves to another page.
    at = run(page("app.py"))
    at.sidebar.selectbox(key="source").select("agent_tool_loop")
    at.sidebar.selectbox(key="model").select("claude-sonnet-5-5")
    run(at)
    at.switch_page("pages/4_Compaction.py")
    run(at)
    assert at.sidebar.selectbox(key="source").value == "agent_tool_loop"
    assert at.sidebar.selectbox(key="model").value == "claude-sonnet-5-5"
    assert at.title[0].value == "Compaction"
    assert at.query_params["source"] == "agent_tool_loop"


def test_upload_a_good_file_then_a_bad_one() -> None:
    at = run(page("app.py"))
    data = (ROOT / "sample_conversations" / "thinking_chat.jsonl").read_bytes()
    at.file_uploader[0].set_value(("my_chat.jsonl", data, "application/json"))
    run(at)
    assert at.sidebar.selectbox(key="source").value == "upload"
    assert "Uploaded: my_chat.jsonl" in at.sidebar.selectbox(key="source").options
    assert spec(at)["layout"]["title"]["subtitle"]["text"] == "All 8 requests: recorded usage."
    at.file_uploader[0].set_value(("broken.jsonl", b'{"type": "user"}\n{not json\n', "text/plain"))
    at.run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value.replace("\\", "")
    assert "broken.jsonl" in message and "line 1" in message
    # The user can go back to a sample.
    at.sidebar.selectbox(key="source").select("agent_tool_loop")
    run(at)


def test_compressed_and_zip_uploads() -> None:
    at = run(page("app.py"))
    for name in ("agent_tool_loop.jsonl.xz", "claude_code_session.zip"):
        data = (ROOT / "sample_conversations" / name).read_bytes()
        at.file_uploader[0].set_value((name, data, "application/octet-stream"))
        run(at)
        assert at.sidebar.selectbox(key="source").value == "upload"
        assert spec(at)["data"]


def test_the_sub_agent_is_replayed_on_its_own() -> None:
    at = run(page("app.py"))
    main = spec(at)
    at.sidebar.selectbox(key="agent").set_value(0)
    run(at)
    sub = spec(at)
    assert sub["data"] != main["data"]
    assert at.query_params["agent"] == "0"
    assert int(at.metric[0].value) < int(main_requests(main))


def main_requests(fig: dict) -> str:
    # "All 29 requests: recorded usage." -> "29"
    return fig["layout"]["title"]["subtitle"]["text"].split()[1]
