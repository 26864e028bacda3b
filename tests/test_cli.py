"""The command line through its real entry points: ``python -m ctxviz`` and the ``ctxviz`` script.

Every command's numbers are checked against the Python API on the same file, and every kind of
bad input must end with exit status 2, ctxviz's message on stderr and no traceback.
"""

from __future__ import annotations

import importlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ctxviz
from ctxviz import cli
from ctxviz.counting import count_tokens
from ctxviz.loading import load
from ctxviz.simulator import simulate
from ctxviz.summary import summarize

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_conversations"
TOOL_LOOP = SAMPLES / "agent_tool_loop.jsonl.xz"
THINKING = SAMPLES / "thinking_chat.jsonl"
SESSION_ZIP = SAMPLES / "claude_code_session.zip"
BODY = SAMPLES / "request_body.json"

CLEAR_TOOLS = {
    "edits": [
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 30_000},
            "keep": {"type": "tool_uses", "value": 3},
        }
    ]
}


def _script() -> str | None:
    """The installed ``ctxviz`` console script beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "ctxviz"
    if beside.exists():
        return str(beside)
    return shutil.which("ctxviz")


MODULE = [sys.executable, "-m", "ctxviz"]
ENTRY_POINTS = [
    pytest.param(MODULE, id="python-m-ctxviz"),
    pytest.param(
        [_script() or "ctxviz"],
        id="ctxviz-script",
        marks=pytest.mark.skipif(_script() is None, reason="the ctxviz script is not installed"),
    ),
]


def run(
    *args: str | os.PathLike[str],
    entry: list[str] = MODULE,
    cwd: Path | None = None,
    columns: int = 140,
) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user would: a fresh process, stdout and stderr piped."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": str(columns)}
    return subprocess.run(
        [*entry, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
    )


def assert_bad_input(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2, a ctxviz message on stderr naming the problem, nothing on stdout, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert re.search(r"^ctxviz( \w+)?: error: ", result.stderr, re.MULTILINE), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def tokens(n: int) -> str:
    return f"{n:,}"


# ---- help and version --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.slow
def test_version_and_help_through_each_entry_point(entry: list[str]) -> None:
    version = run("--version", entry=entry)
    assert version.returncode == 0
    assert version.stdout.strip() == f"ctxviz {ctxviz.__version__}"

    top = run("--help", entry=entry)
    assert top.returncode == 0
    for command in ("summary", "simulate", "count", "report"):
        assert command in top.stdout
    assert "examples:" in top.stdout


@pytest.mark.parametrize("command", ["summary", "simulate", "count", "report"])
def test_each_command_help_has_an_example_of_that_command(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout
    # The example lines are kept as written (RawDescriptionHelpFormatter), one command a line.
    assert re.search(rf"^  ctxviz {command} \S+", result.stdout, re.MULTILINE), result.stdout


def test_no_command_is_a_usage_error() -> None:
    result = run()
    assert result.returncode == 2
    assert "usage: ctxviz" in result.stderr
    assert "Traceback" not in result.stderr


# ---- summary -----------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.slow
def test_summary_prints_the_as_recorded_numbers(entry: list[str]) -> None:
    sim = simulate(load(THINKING))
    result = run("summary", THINKING, entry=entry)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    peak = int(sim.requests["input_tokens"].max())
    peak_request = int(sim.requests["input_tokens"].idxmax())
    assert f"Peak prompt  {tokens(peak)} tokens at request {peak_request}" in out
    assert f"{len(sim.requests)} requests" in out
    assert f"${sim.requests['cost_usd'].sum():,.4f}" in out
    assert f"All {len(sim.requests)} requests: recorded usage" in out
    # Every request is listed (8 rows: no abridging), each with its recorded prompt.
    for _, row in sim.requests.iterrows():
        assert re.search(
            rf"^\s+{row['request']}\s+{tokens(row['input_tokens'])}\s", out, re.MULTILINE
        ), row["request"]
    # Warnings of the load or replay are shown (this chat has a redacted_thinking block).
    assert sim.warnings or load(THINKING).warnings
    assert "Warnings (" in out
    # No progress on a pipe, and no stray output on stderr.
    assert result.stderr == ""


@pytest.mark.slow
def test_summary_abridges_long_tables_and_all_shows_every_request() -> None:
    sim = simulate(load(TOOL_LOOP))
    n = len(sim.requests)
    assert n > cli.HEAD_ROWS + cli.TAIL_ROWS + 1  # the sample is long enough to abridge
    middle = cli.HEAD_ROWS + 2

    def listed(out: str, i: int) -> bool:
        prompt = tokens(int(sim.requests["input_tokens"].iloc[i]))
        return re.search(rf"^\s+{i}\s+{prompt}\s", out, re.MULTILINE) is not None

    short = run("summary", TOOL_LOOP)
    assert short.returncode == 0, short.stderr
    assert listed(short.stdout, 0) and listed(short.stdout, n - 1)
    assert not listed(short.stdout, middle)
    assert f"requests {cli.HEAD_ROWS}–{n - cli.TAIL_ROWS - 1} not shown" in short.stdout

    full = run("summary", TOOL_LOOP, "--all")
    assert full.returncode == 0, full.stderr
    assert all(listed(full.stdout, i) for i in range(n))
    assert "not shown" not in full.stdout


@pytest.mark.slow
def test_summary_of_a_claude_code_session_lists_sub_agents_and_the_recorded_compaction() -> None:
    conv = load(SESSION_ZIP)
    assert conv.subagents, "the bundled session has a sub-agent"
    sim = simulate(conv)
    result = run("summary", SESSION_ZIP)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Sub-agents ({len(conv.subagents)})" in out
    for sub in conv.subagents:
        sub_sim = simulate(sub)
        line = next(ln for ln in out.splitlines() if (sub.description or "") in ln and ln.strip())
        assert sub.agent_type is not None and sub.agent_type in line
        assert tokens(int(sub_sim.requests["input_tokens"].max())) in line
    own = summarize(sim).total_cost_usd
    agents = sum(summarize(simulate(sub)).total_cost_usd or 0.0 for sub in conv.subagents)
    assert own is not None and agents > 0
    assert (
        f"Sub-agents cost ${agents:,.4f}; with the session's own requests, "
        f"${own + agents:,.4f} in all."
    ) in " ".join(out.split())
    kinds = set(sim.events["type"])
    assert "recorded_compaction" in kinds
    assert "recorded_compaction" in out
    if conv.hidden_prefix:
        assert f"Hidden prefix  {tokens(sim.hidden_prefix_tokens)} tokens" in out


@pytest.mark.slow
def test_summary_shows_the_lines_a_jsonl_file_skipped(tmp_path: Path) -> None:
    lines = THINKING.read_text(encoding="utf-8").splitlines()
    lines[2] = '{"request": {"model": "x", "messages": [}'  # line 3: not JSON
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    conv = load(broken)
    assert conv.warnings and any("line 3" in w for w in conv.warnings)
    result = run("summary", broken)
    assert result.returncode == 0, result.stderr
    assert "Warnings (" in result.stdout
    assert "line 3" in result.stdout


@pytest.mark.slow
def test_conversation_and_format_options(tmp_path: Path) -> None:
    import zipfile

    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.write(THINKING, "a.jsonl")
        z.write(SAMPLES / "openai_tool_calls.jsonl", "b.jsonl")
    second = load(two, conversation=1)
    chosen = run("summary", two, "--conversation", "1")
    assert chosen.returncode == 0, chosen.stderr
    assert f"two.zip  {second.format} · {second.model}" in chosen.stdout
    first = run("summary", two)
    assert first.returncode == 0, first.stderr
    assert "this export holds 2 conversations" in first.stdout  # the others are named
    assert_bad_input(run("summary", two, "--conversation", "5"), "out of range")
    forced = run("summary", BODY, "--format", "anthropic")
    assert forced.returncode == 0, forced.stderr
    assert_bad_input(run("summary", BODY, "--format", "claude-code"))


@pytest.mark.slow
def test_transcript_text_is_not_read_as_rich_markup(tmp_path: Path) -> None:
    body = json.loads(BODY.read_text(encoding="utf-8"))
    body["model"] = "[bold red]claude-made-up[/bold red]"
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    result = run("summary", path)
    assert result.returncode == 0, result.stderr
    assert "[bold red]claude-made-up[/bold red]" in result.stdout


# ---- simulate ----------------------------------------------------------------------------------


def _json_run(*args: str | os.PathLike[str], entry: list[str] = MODULE) -> dict[str, object]:
    result = run("simulate", *args, "--json", entry=entry)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data: dict[str, object] = json.loads(result.stdout)  # stdout holds nothing but the JSON
    return data


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.slow
def test_simulate_json_matches_the_python_api(entry: list[str]) -> None:
    sim = simulate(load(TOOL_LOOP), context_management=CLEAR_TOOLS)
    data = _json_run(TOOL_LOOP, "--clear-tool-uses-trigger", "30k", "--keep", "3", entry=entry)
    assert set(data) >= {"requests", "events", "applied_edits", "warnings", "summary", "settings"}
    requests = data["requests"]
    assert isinstance(requests, list)
    assert [r["input_tokens"] for r in requests] == sim.requests["input_tokens"].tolist()
    assert [r["source"] for r in requests] == sim.requests["source"].tolist()
    events = data["events"]
    assert isinstance(events, list)
    assert [(e["request"], e["type"]) for e in events] == list(
        zip(sim.events["request"], sim.events["type"], strict=True)
    )
    assert any(e["type"] == "clear_tool_uses_20250919" for e in events)
    assert data["applied_edits"] == [sim.applied_edits(i) for i in range(len(sim.requests))]
    assert any(data["applied_edits"])  # the policy does clear something in this sample
    assert data["warnings"] == [*load(TOOL_LOOP).warnings, *sim.warnings]
    assert data["settings"]["context_management"] == CLEAR_TOOLS  # type: ignore[index]
    summary = data["summary"]
    assert summary["peak_input_tokens"] == int(sim.requests["input_tokens"].max())  # type: ignore[index]


@pytest.mark.slow
def test_edits_json_edits_file_and_convenience_flags_are_the_same_policy(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(CLEAR_TOOLS), encoding="utf-8")
    by_flags = _json_run(TOOL_LOOP, "--clear-tool-uses-trigger", "30000", "--keep", "3")
    by_json = _json_run(TOOL_LOOP, "--edits", json.dumps(CLEAR_TOOLS))
    by_list = _json_run(TOOL_LOOP, "--edits", json.dumps(CLEAR_TOOLS["edits"]))
    by_file = _json_run(TOOL_LOOP, "--edits-file", policy_file)
    assert by_flags["requests"] == by_json["requests"] == by_list["requests"] == by_file["requests"]
    assert by_flags["settings"] == by_json["settings"]


def test_convenience_flags_build_the_api_object_in_the_api_order() -> None:
    args = cli.build_parser().parse_args(
        [
            "simulate",
            "f.jsonl",
            "--compact-trigger",
            "150k",
            "--clear-tool-inputs",
            "--exclude-tools",
            "Read,Grep",
            "--exclude-tools",
            "Bash",
            "--clear-at-least",
            "5_000",
            "--clear-thinking",
            "2",
        ]
    )
    assert cli.context_management_from(args) == {
        "edits": [
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 2}},
            {
                "type": "clear_tool_uses_20250919",
                "clear_at_least": {"type": "input_tokens", "value": 5_000},
                "exclude_tools": ["Read", "Grep", "Bash"],
                "clear_tool_inputs": True,
            },
            {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 150_000}},
        ]
    }
    bare = cli.build_parser().parse_args(["simulate", "f.jsonl", "--clear-thinking"])
    assert cli.context_management_from(bare) == {"edits": [{"type": "clear_thinking_20251015"}]}
    keep_all = cli.build_parser().parse_args(["simulate", "f", "--clear-thinking", "all"])
    assert cli.context_management_from(keep_all) == {
        "edits": [{"type": "clear_thinking_20251015", "keep": "all"}]
    }
    nothing = cli.build_parser().parse_args(["simulate", "f.jsonl"])
    assert cli.context_management_from(nothing) is None
    assert cli.simulate_kwargs(nothing) == {}


@pytest.mark.slow
def test_a_narrow_terminal_leaves_columns_out_rather_than_cutting_numbers() -> None:
    sim = simulate(load(TOOL_LOOP), context_management=CLEAR_TOOLS)
    result = run("simulate", TOOL_LOOP, "--edits", json.dumps(CLEAR_TOOLS), columns=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "columns left out to fit 60 characters" in out
    for i in (*range(cli.HEAD_ROWS), *range(len(sim.requests) - cli.TAIL_ROWS, len(sim.requests))):
        prompt = tokens(int(sim.requests["input_tokens"].iloc[i]))
        cost = f"{sim.requests['cost_usd'].iloc[i]:,.4f}"
        assert re.search(rf"^\s+{i}\s+{prompt}\s.*{re.escape(cost)}", out, re.MULTILINE), i
    table = out[out.index("\n request ") : out.index("requests 10")]
    assert max(len(line) for line in table.splitlines()) <= 60


@pytest.mark.slow
def test_compaction_threshold_and_summary_tokens_reach_the_simulator() -> None:
    kwargs = {
        "compaction_control": {"enabled": True, "context_token_threshold": 60_000},
        "summary_tokens": 2_000,
    }
    sim = simulate(load(TOOL_LOOP), **kwargs)  # type: ignore[arg-type]
    assert "compaction_control" in set(sim.events["type"])
    data = _json_run(TOOL_LOOP, "--compaction-threshold", "60000", "--summary-tokens", "2000")
    assert [r["input_tokens"] for r in data["requests"]] == sim.requests["input_tokens"].tolist()  # type: ignore[attr-defined]
    assert [e["type"] for e in data["events"]] == sim.events["type"].tolist()  # type: ignore[attr-defined]


def test_compact_trigger_is_server_compaction() -> None:
    data = _json_run(TOOL_LOOP, "--compact-trigger", "60000")
    assert "compact_20260112" in [e["type"] for e in data["events"]]  # type: ignore[attr-defined]
    assert data["settings"]["context_management"] == {  # type: ignore[index]
        "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 60000}}]
    }


@pytest.mark.slow
def test_model_and_window_options() -> None:
    data = _json_run(THINKING, "--model", "claude-haiku-4-5", "--window", "2500")
    sim = simulate(load(THINKING), model="claude-haiku-4-5", context_window=2500)
    assert [r["input_tokens"] for r in data["requests"]] == sim.requests["input_tokens"].tolist()  # type: ignore[attr-defined]
    over = [e for e in data["events"] if e["type"] == "context_window_exceeded"]  # type: ignore[attr-defined]
    assert over, "a 2,500-token window is exceeded by this chat"
    text = run("simulate", THINKING, "--window", "2500")
    assert text.returncode == 0, text.stderr
    assert "Over the window" in text.stdout
    assert "OVER WINDOW" in text.stdout


@pytest.mark.slow
def test_simulate_table_shows_policy_events_and_the_recorded_baseline() -> None:
    recorded = simulate(load(TOOL_LOOP))
    sim = simulate(load(TOOL_LOOP), context_management=CLEAR_TOOLS)
    result = run("simulate", TOOL_LOOP, "--clear-tool-uses-trigger", "30k", "--keep", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Policy: context_management: clear_tool_uses_20250919" in out
    assert "context_management = " + json.dumps(CLEAR_TOOLS) in out  # copy-pastable, one line
    assert f"Peak prompt  {tokens(int(sim.requests['input_tokens'].max()))} tokens" in out
    assert f"As recorded: peak prompt {tokens(int(recorded.requests['input_tokens'].max()))}" in out
    n_clear = int((sim.events["type"] == "clear_tool_uses_20250919").sum())
    assert f"{n_clear} × clear_tool_uses_20250919" in out
    estimated = int((sim.requests["source"] == "estimated").sum())
    assert f"{estimated} estimated" in out


# ---- count -------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.slow
def test_count_prints_the_api_answer_shape(entry: list[str]) -> None:
    body = json.loads(BODY.read_text(encoding="utf-8"))
    result = run("count", BODY, entry=entry)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer == count_tokens(body)
    assert set(answer) == {"input_tokens"} and answer["input_tokens"] > 0


CALIBRATION = ROOT.parent / "shared" / "calibration"


@pytest.mark.skipif(not CALIBRATION.is_dir(), reason=f"no calibration data at {CALIBRATION}")
def test_count_exact_matches_real_count_tokens_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the first Rosetta Code programs the default estimator miscounts (v3: Opus 4.5): --exact
    # gives what the real count_tokens endpoint answered for them
    import gzip

    from ctxviz.tokens import count_text

    counts = json.loads((CALIBRATION / "rosetta_counts.json").read_text(encoding="utf-8"))["v3"]
    checked = 0
    with gzip.open(CALIBRATION / "rosetta.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            real = counts["counts"][doc["id"]]
            if count_text(doc["text"], "v3") + 7 == real:
                continue
            body = {
                "model": counts["model"],
                "messages": [{"role": "user", "content": doc["text"]}],
            }
            path = tmp_path / f"{checked}.json"
            path.write_text(json.dumps(body), encoding="utf-8")
            assert cli.main(["count", str(path)]) == 0
            assert json.loads(capsys.readouterr().out)["input_tokens"] != real
            assert cli.main(["count", str(path), "--exact"]) == 0
            assert json.loads(capsys.readouterr().out) == {"input_tokens": real}
            checked += 1
            if checked == 3:
                break
    assert checked == 3


@pytest.mark.slow
def test_count_with_edits_and_model(tmp_path: Path) -> None:
    body = json.loads(BODY.read_text(encoding="utf-8"))
    edits = [{"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 1}}]
    expected = count_tokens({**body, "context_management": {"edits": edits}})
    result = run("count", BODY, "--edits", json.dumps(edits))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected
    assert set(expected) == {"input_tokens", "context_management"}
    assert set(expected["context_management"]) == {"original_input_tokens"}

    other = run("count", BODY, "--model", "claude-opus-4-7")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == count_tokens({**body, "model": "claude-opus-4-7"})


# ---- report ------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.slow
def test_report_writes_html_that_opens_offline(tmp_path: Path, entry: list[str]) -> None:
    out = tmp_path / "report.html"
    result = run("report", THINKING, "-o", out, entry=entry)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    # Offline: no script is fetched from the network (plotly.js is inlined).
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", page, re.IGNORECASE)
    assert "Plotly" in page


@pytest.mark.slow
def test_report_with_a_policy_and_the_default_output_name(tmp_path: Path) -> None:
    result = run(
        "report", TOOL_LOOP, "--clear-tool-uses-trigger", "30k", "--keep", "3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "agent_tool_loop.html").read_text(encoding="utf-8")
    assert "clear_tool_uses_20250919" in page


# ---- bad input ---------------------------------------------------------------------------------


@pytest.fixture()
def bad_files(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\x00\x01\x02 this is not a transcript \xff\xfe")
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\nnot json at all\n", encoding="utf-8")
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    a_list = tmp_path / "list.json"
    a_list.write_text("[1, 2, 3]", encoding="utf-8")
    return {"empty": empty, "garbage": garbage, "text": text, "folder": folder, "list": a_list}


@pytest.mark.parametrize("command", ["summary", "simulate", "report"])
@pytest.mark.slow
def test_missing_empty_and_garbage_files(
    command: str, bad_files: dict[str, Path], tmp_path: Path
) -> None:
    extra = ["-o", str(tmp_path / "r.html")] if command == "report" else []
    missing = tmp_path / "missing.jsonl"
    assert_bad_input(run(command, missing, *extra), str(missing), "no such file")
    assert_bad_input(run(command, bad_files["empty"], *extra), "empty")
    assert_bad_input(run(command, bad_files["garbage"], *extra), "line 1")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.slow
def test_unreadable_inputs_through_each_entry_point(
    entry: list[str], bad_files: dict[str, Path], tmp_path: Path
) -> None:
    assert_bad_input(run("summary", tmp_path / "missing.jsonl", entry=entry), "no such file")
    assert_bad_input(run("summary", bad_files["text"], entry=entry), "line 1")
    assert_bad_input(run("summary", bad_files["folder"], entry=entry), "nothing_here")


@pytest.mark.slow
def test_count_bad_input(bad_files: dict[str, Path], tmp_path: Path) -> None:
    assert_bad_input(run("count", tmp_path / "missing.json"), "no such file")
    assert_bad_input(run("count", bad_files["empty"]), "empty")
    assert_bad_input(run("count", bad_files["text"]), "not valid JSON", "line 1 column 1")
    assert_bad_input(run("count", bad_files["list"]), "expected a request body")
    assert_bad_input(run("count", bad_files["folder"]), "nothing_here")
    # A Claude Code session is a transcript, not a body: say what count takes, not "Extra data"
    session = next((SAMPLES / "claude_code_session").glob("*.jsonl"))
    result = run("count", session)
    assert_bad_input(result, str(session), "expected a request body", f"ctxviz summary {session}")
    assert "Extra data" not in result.stderr
    log = tmp_path / "log.json"
    log.write_text('{"request": {"messages": []}, "response": {}}', encoding="utf-8")
    assert_bad_input(run("count", log), "no 'messages'", "ctxviz summary")
    assert_bad_input(run("count", BODY, "--edits", "[{"), "--edits: not valid JSON")
    assert_bad_input(
        run("count", BODY, "--edits", '[{"type": "clear_tool_uses_20250919", "keep": 0}]'),
        "keep",
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(
            ["--edits", "{not json"], ["--edits: not valid JSON", "line 1"], id="bad-json"
        ),
        pytest.param(["--edits", "42"], ['expected an object {"edits": [...]}'], id="not-object"),
        pytest.param(
            [
                "--edits",
                '[{"type": "clear_tool_uses_20250919"}, {"type": "clear_thinking_20251015"}]',
            ],
            ["edits[1]", "clear_thinking_20251015 must be the first edit"],
            id="clear-thinking-not-first",
        ),
        pytest.param(
            ["--clear-thinking", "0"],
            ["keep of 0 thinking turns"],
            id="clear-thinking-keep-0",
        ),
        pytest.param(
            ["--edits", '[{"type": "clear_everything"}]'],
            ["edits[0].type", "clear_everything"],
            id="unknown-edit",
        ),
        pytest.param(["--compact-trigger", "1000"], ["50,000"], id="compact-trigger-too-low"),
        pytest.param(["--window", "0"], ["context_window"], id="window-0"),
        pytest.param(
            ["--edits", "[]", "--keep", "3"], ["cannot be combined", "--keep"], id="edits-and-flags"
        ),
    ],
)
def test_invalid_policies(args: list[str], fragments: list[str]) -> None:
    assert_bad_input(run("simulate", THINKING, *args), *fragments)


@pytest.mark.slow
def test_edits_file_problems(tmp_path: Path) -> None:
    assert_bad_input(run("simulate", THINKING, "--edits-file", tmp_path / "nope.json"), "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"edits": [\n  {"type": }\n]}', encoding="utf-8")
    assert_bad_input(run("simulate", THINKING, "--edits-file", bad), "not valid JSON", "line 2")


@pytest.mark.slow
def test_usage_errors_exit_2_with_argparse_messages() -> None:
    for args in (
        ["simulate", THINKING, "--window", "lots"],
        ["simulate", THINKING, "--edits", "[]", "--edits-file", "x.json"],
        ["frobnicate", THINKING],
    ):
        result = run(*args)
        assert result.returncode == 2, args
        assert "usage: ctxviz" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_report_into_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder" / "r.html"
    assert_bad_input(run("report", THINKING, "-o", target), "no such folder")


# ---- progress and unexpected errors ------------------------------------------------------------


@pytest.mark.slow
def test_progress_is_shown_on_a_terminal_stderr_only() -> None:
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [*MODULE, "summary", str(THINKING)],
            stdout=subprocess.PIPE,
            stderr=follower,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=300,
        )
    finally:
        os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed once the child has exited and it is drained
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert result.returncode == 0
    assert b"Loading" in seen and b"Replaying" in seen
    assert b"Loading" not in result.stdout  # progress never goes to stdout
    # On a pipe, nothing but the result: checked by test_summary_prints_the_as_recorded_numbers.


def test_an_unexpected_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # ``ctxviz.simulate`` is the function; its module is ctxviz.simulator.
    module = importlib.import_module("ctxviz.simulator")

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom\nsecond line")

    monkeypatch.setattr(module, "simulate", broken)
    status = cli.main(["summary", str(THINKING)])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ctxviz: internal error: KeyError")
    assert "Traceback" not in captured.err


def test_main_returns_statuses_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert cli.main(["summary", "/nonexistent/file.jsonl"]) == 2
    assert "ctxviz: error: /nonexistent/file.jsonl: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("150000", 150_000),
        ("150_000", 150_000),
        ("150,000", 150_000),
        ("150k", 150_000),
        ("1.5k", 1_500),
        ("1m", 1_000_000),
        ("0", 0),
        ("0.1k", 100),  # exact: no float rounding
        ("1000000m", 10**12),  # the largest count a transcript may hold
    ],
)
def test_token_counts_accept_separators_and_suffixes(text: str, value: int) -> None:
    assert cli._token_count(text) == value


@pytest.mark.parametrize(
    "text",
    ["-1", "1.5", "lots", "1.0005k", "", "1e400k", "infk", "nan", "1e3", "1000001m", "9" * 5000],
)
def test_token_counts_reject_what_is_not_a_whole_count(text: str) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        cli._token_count(text)


@pytest.mark.slow
def test_summary_of_a_claude_trace_capture(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "formats"))
    try:
        from test_claude_trace_format import capture
    finally:
        sys.path.pop(0)
    path = tmp_path / "log-2026-12-05-10-00-00.jsonl"
    path.write_text(capture(), encoding="utf-8")
    for args in ((), ("--format", "claude-trace")):
        result = run("summary", path, *args)
        assert result.returncode == 0, result.stderr
        assert "claude-trace · claude-opus-4-8" in result.stdout
        assert "7 requests recorded" in result.stdout
        assert "4 calls that are not Messages API requests skipped" in result.stdout


# ---- the model table -----------------------------------------------------------------------------


def test_models_prints_the_table_with_rates_status_and_price_changes() -> None:
    result = run("models")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    opus = rows["claude-opus-5-5"]
    assert opus[1:10] == ["active", "1M", "128K", "4", "5", "8", "0.2", "20", "—"]
    assert rows["claude-haiku-5-5"][9] == ">100K"  # its long-context tier
    assert rows["claude-sonnet-4-5"][1] == "retired"
    assert "claude-sonnet-5-5, requests before 2026-10-07: cache_read_usd_per_mtok 0.2" in (
        result.stdout
    )


def test_models_json_is_a_table_file_that_models_reads_back(tmp_path: Path) -> None:
    result = run("models", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["checked"] == "2026-12-05"
    by_id = {m["id"]: m for m in data["models"]}
    assert by_id["claude-opus-5-5"]["cache_read_usd_per_mtok"] == 0.2
    assert all(m["source"] and m["status"] for m in data["models"])
    mine = tmp_path / "mine.json"
    by_id["claude-opus-5-5"]["output_usd_per_mtok"] = 21.5
    mine.write_text(json.dumps({"models": [by_id["claude-opus-5-5"]]}), encoding="utf-8")
    again = json.loads(run("models", "--json", "--models", mine).stdout)
    assert {m["id"]: m for m in again["models"]}["claude-opus-5-5"]["output_usd_per_mtok"] == 21.5


def test_models_file_reprices_a_transcript(tmp_path: Path) -> None:
    before = json.loads(run("simulate", TOOL_LOOP, "--json").stdout)
    # The sample's model (Sonnet 4.5) is retired: said, and still priced.
    assert any("retired on 2026-11-30" in w for w in before["warnings"])
    mine = tmp_path / "mine.json"
    mine.write_text(
        json.dumps({"models": [{"id": "claude-sonnet-4-5", "output_usd_per_mtok": 150}]}),
        encoding="utf-8",
    )
    after = json.loads(run("simulate", TOOL_LOOP, "--json", "--models", mine).stdout)
    outputs = sum(r["output_tokens"] for r in after["requests"])
    extra = outputs * (150 - 15) / 1e6
    assert after["summary"]["total_cost_usd"] == pytest.approx(
        before["summary"]["total_cost_usd"] + extra
    )
    summary = run("summary", TOOL_LOOP, "--models", mine)
    assert summary.returncode == 0, summary.stderr


def test_bad_models_file_is_refused_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": [{"id": "claude-opus-5-5", "cache_read_multiplier": 0.1}]}')
    assert_bad_input(
        run("summary", TOOL_LOOP, "--models", bad),
        "bad.json",
        "cache_read_multiplier no longer exist(s)",
    )
    assert_bad_input(run("models", "--models", tmp_path / "none.json"), "none.json: no such file")
    body = ROOT / "sample_conversations" / "request_body.json"
    assert_bad_input(run("count", body, "--models", bad), "bad.json")


# ---- Claude Code's auto-compact ----------------------------------------------------------------


def test_claude_code_autocompact_json_matches_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    path = SESSION_ZIP
    argv = ["simulate", str(path), "--claude-code-autocompact", "--json"]
    argv += ["--autocompact-pct-override", "60", "--auto-compact-window", "150k"]
    assert cli.main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    settings = {"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": 60.0, "autoCompactWindow": 150_000}
    assert data["settings"]["claude_code_autocompact"] == settings
    assert data["settings"]["undo_recorded_compactions"] is True
    sim = simulate(load(path), claude_code_autocompact=settings, undo_recorded_compactions=True)
    assert [r["input_tokens"] for r in data["requests"]] == sim.requests["input_tokens"].tolist()
    ev = sim.events[sim.events["type"] == "claude_code_autocompact"]
    # threshold: min(floor((150,000 - 20,000) x 60%), 150,000 - 33,000) = 78,000
    assert len(ev) >= 1 and set(ev["trigger"]) == {"78000"}
    assert [e["type"] for e in data["events"]].count("claude_code_autocompact") == len(ev)


def test_recorded_compactions_kept_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", str(SESSION_ZIP), "--claude-code-autocompact"]
    assert cli.main([*argv, "--no-undo-recorded-compactions", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["undo_recorded_compactions"] is False
    assert "recorded_compaction" in [e["type"] for e in data["events"]]


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--auto-compact-window", "50k"], "100,000 to 1,000,000"),
        (["--autocompact-pct-override", "0"], "0 < pct <= 100"),
    ],
)
def test_claude_code_autocompact_bad_settings(flags: list[str], fragment: str) -> None:
    assert_bad_input(run("simulate", SESSION_ZIP, "--claude-code-autocompact", *flags), fragment)


@pytest.mark.parametrize(
    "argv",
    [["count", str(BODY)], ["models"], ["models", "--json"], ["summary", str(SESSION_ZIP)]],
)
def test_commands_that_need_no_frame_start_without_pandas(argv: list[str]) -> None:
    # pandas costs a fresh process 0.2-0.4 s: summary reads the replay's columns (the bundled
    # session's sub-agent is replayed and summarized too)
    code = (
        "import sys\n"
        "from ctxviz import cli\n"
        f"assert cli.main({argv!r}) == 0\n"
        "late = sorted(m for m in ('pandas', 'plotly') if m in sys.modules)\n"
        "assert not late, f'ctxviz {argv[0]} imported {late}'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_transcript_error_names_the_file(
    bad_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # the parser's message gives the place inside the file ("line 1"); the file's name is
    # said too (issue 18: some errors left it out)
    for command in ("summary", "simulate"):
        assert cli.main([command, str(bad_files["text"])]) == 2
        err = capsys.readouterr().err
        assert f"{bad_files['text']}: line 1: " in err, err


def test_compaction_on_demand_and_prefix_mismatch_flags_match_simulate(
    capsys: pytest.CaptureFixture[str], samples_dir: Path
) -> None:
    session = "04_claude-code_ccl_v2.1.114_subagents/ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"
    path = samples_dir / session
    argv = ["simulate", str(path), "--model", "claude-fable-5-1", "--json"]
    argv += ["--on-demand-past", "50k", "--on-demand-keep-turns", "1", "--on-demand-background"]
    assert cli.main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    fields = {
        "at_prompt_tokens": 50_000,
        "keep_recent_turns": 1,
        "background": True,
        "swap_after_requests": 1,
    }
    assert data["settings"]["compaction"] == fields
    sim = simulate(
        load(path), model="claude-fable-5-1", compaction=fields, undo_recorded_compactions=True
    )
    assert [r["input_tokens"] for r in data["requests"]] == sim.requests["input_tokens"].tolist()
    assert [e["trigger"] for e in data["events"]] == ["background", "swap"]
    assert cli.main([*argv, "--thinking-prefix-mismatch", "drop"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["thinking_prefix_mismatch"] == "drop"


def test_on_demand_options_need_a_when() -> None:
    assert_bad_input(run("simulate", SESSION_ZIP, "--on-demand-keep-turns", "2"), "say when")
