"""pages/9_Fleet.py: a folder of real sessions (one broken) read through ``ctxviz.fleet``, the
table, the charts, a sweep, and a row opened in the explorer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apptest_helpers import page, run, spec

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
API = "05_anthropic-messages-api_pydantic-ai"
OPENAI = "06_openai-chat-completions_pydantic-ai"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"real sample transcripts not found at {SAMPLES}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "projects"
    for name in ("03_claude-code_ccl_thinking_v2.0.37", "04_claude-code_ccl_v2.1.114_subagents"):
        shutil.copytree(SAMPLES / name, root / name)
    (root / "broken.jsonl").write_text("{not json\n")
    logs = root / "api-logs"  # other formats: Anthropic and OpenAI cassettes, and a config
    logs.mkdir()
    shutil.copy(SAMPLES / API / "test_anthropic_tool_with_thinking.yaml", logs)
    shutil.copy(SAMPLES / OPENAI / "test_openai_tool_output.yaml", logs)
    (logs / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    return root


@pytest.mark.slow
def test_fleet_page_reads_a_folder_sweeps_and_opens_a_row(folder: Path, tmp_path: Path) -> None:
    at = run(page("9_Fleet.py"))
    assert at.info  # nothing read yet: says what to do
    at.text_input(key="fl_folder").set_value(str(folder))
    at.button(key="fl_go").click()
    run(at)
    table = at.dataframe[0].value
    assert sorted(table["session"]) == [
        "broken.jsonl",
        "cb2e607c-c758-415a-8b45-c49e4631906a.jsonl",
        "ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl",
        "test_anthropic_tool_with_thinking.yaml",
        "test_openai_tool_output.yaml",
    ]
    assert table.set_index("session").loc["broken.jsonl", "error"]
    assert table.set_index("session").loc["test_openai_tool_output.yaml", "project"] == "api-logs"
    assert [m.value for m in at.metric][:1] == ["4"]
    skipped = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert list(skipped["file"]) == ["package.json"]
    assert any("2 sessions without a recorded start time" in c.value for c in at.caption)
    titles = [spec(at, i)["layout"]["title"]["text"] for i in range(3)]
    assert titles == ["Peak prompt per session", "Cost by project and day", "Compactions over time"]
    assert (tmp_path / "cache" / "ctxviz" / "fleet.duckdb").is_file()

    at.selectbox(key="fl_only").set_value("not read")
    run(at)
    assert list(at.dataframe[0].value["session"]) == ["broken.jsonl"]
    at.selectbox(key="fl_only").set_value("all")

    at.selectbox(key="fl_sweep").set_value("clear-tool-uses-trigger")
    run(at)
    at.number_input(key="fl_lo").set_value(30_000)
    at.number_input(key="fl_hi").set_value(90_000)
    at.number_input(key="fl_step").set_value(30_000)
    at.button(key="fl_go").click()
    run(at)
    totals = next(df.value for df in at.dataframe if "tokens_saved" in df.value.columns)
    assert list(totals["policy"]) == [
        "clear-tool-uses-trigger=30,000",
        "clear-tool-uses-trigger=60,000",
        "clear-tool-uses-trigger=90,000",
    ]
    assert (totals["sessions"] == 4).all()
    saved = list(totals["tokens_saved"])
    assert saved[0] > saved[1] > saved[2] == 0  # no prompt of these sessions passes 90K

    shown = list(at.dataframe[0].value["session"])
    at.selectbox(key="fl_pick").set_value(shown.index("ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"))
    run(at)
    at.button(key="fl_open").click()
    run(at)
    source = at.sidebar.selectbox(key="source")
    assert source.value == "upload"
    assert "Uploaded: ef958aa1-0e93-49f0-bb71-150f63befcd1.zip" in source.options
    assert at.sidebar.selectbox(key="agent").options  # its six sub-agents came with it


def test_fleet_page_bad_folder_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    at = page("9_Fleet.py")
    at.run()
    at.text_input(key="fl_folder").set_value(str(tmp_path / "nowhere"))
    at.button(key="fl_go").click()
    at.run()
    assert not at.exception
    assert "no such file or folder" in at.error[0].value
