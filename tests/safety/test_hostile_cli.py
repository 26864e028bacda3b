"""Hostile input through the whole command line (issue 13): JSON nested too deeply, a session with
no requests, a reader that goes away, numbers argparse cannot hold, and escape sequences in a
transcript's strings. Every path ends with exit status 0, or 2 and ctxviz's message naming the
file and the reason: never 1, never a traceback, never an escape byte on a pipe."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ctxviz import cli
from ctxviz.loading import loads
from tests.test_cli import MODULE, ROOT, SAMPLES, THINKING, assert_bad_input, run

SESSION = SAMPLES / "claude_code_session"
SESSION_ID = "f1136eba-094f-429e-960a-22ac5f6e9ec8"
BODY = SAMPLES / "request_body.json"
TOOL_LOOP = SAMPLES / "agent_tool_loop.jsonl.xz"

TOO_DEEP = "nested too deeply"
DEEP = "[" * 5_000 + "]" * 5_000
"""Valid JSON that json.loads cannot parse within Python's recursion limit."""

ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\u2028\u202e"
"""Set the window title, clear the screen (7-bit and 8-bit CSI), a line separator and a bidi
override: none may reach a pipe, and a terminal shows them escaped."""
RAW = ("\x1b", "\x07", "\x9b", "\u2028", "\u202e")


def _one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert_bad_input(result, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _session_copy(tmp_path: Path) -> Path:
    """The sample Claude Code session (with its sub-agent folder), writable."""
    folder = tmp_path / "session"
    shutil.copytree(SESSION, folder)
    return folder


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# ---- JSON nested too deeply --------------------------------------------------------------------


def test_deep_json_in_a_body_edits_or_a_model_table_is_bad_input(tmp_path: Path) -> None:
    body = json.loads(BODY.read_text(encoding="utf-8"))
    deep_body = tmp_path / "deep_body.json"
    deep_body.write_text(json.dumps(body)[:-1] + f', "metadata": {DEEP}}}', encoding="utf-8")
    edits = tmp_path / "deep_edits.json"
    edits.write_text(DEEP, encoding="utf-8")
    _one_error_line(run("count", deep_body), "deep_body.json", TOO_DEEP)
    _one_error_line(run("count", BODY, "--edits-file", edits), "deep_edits.json", TOO_DEEP)
    _one_error_line(run("simulate", THINKING, "--edits-file", edits), "deep_edits.json", TOO_DEEP)
    _one_error_line(run("simulate", THINKING, "--edits", DEEP), "--edits", TOO_DEEP)
    _one_error_line(run("models", "--models", edits), "deep_edits.json", TOO_DEEP)


def _deep_head(folder: Path) -> Path:
    """A deep line among the session's first lines (the check that reads a file's head)."""
    main = folder / f"{SESSION_ID}.jsonl"
    lines = _lines(main)
    main.write_text("\n".join([lines[0], DEEP, *lines[1:]]) + "\n", encoding="utf-8")
    return folder


def _deep_flat_agent(folder: Path) -> Path:
    """A flat agent-*.jsonl beside the session whose first line is deep (the same-session check)."""
    nested = folder / SESSION_ID / "subagents" / "agent-a2669c5b8c6b8aa5f.jsonl"
    (folder / "agent-deep.jsonl").write_text(DEEP + "\n" + nested.read_text(encoding="utf-8"))
    return folder


def _deep_meta(folder: Path) -> Path:
    meta = folder / SESSION_ID / "subagents" / "agent-a2669c5b8c6b8aa5f.meta.json"
    meta.write_text(DEEP, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("make", "when_read"),
    [
        (_deep_head, TOO_DEEP),  # the line skipped, with its warning
        (_deep_flat_agent, "2 sub-agents"),  # the agent file kept (its warning is its own)
        (_deep_meta, "meta.json"),  # the meta file ignored, with its warning
    ],
)
def test_a_deep_line_in_a_claude_code_session_is_not_a_bug(
    make: Callable[[Path], Path], when_read: str, tmp_path: Path
) -> None:
    """Exit 2 naming the file and the reason, or (once the library reads past the line) the
    session with only that line or file lost; never exit 1."""
    folder = make(_session_copy(tmp_path))
    result = run("summary", folder)
    assert "Traceback" not in result.stderr + result.stdout
    if result.returncode == 0:
        assert when_read in result.stdout, result.stdout
    else:
        _one_error_line(result, str(folder), TOO_DEEP)


def test_deep_tool_call_arguments_are_kept_as_written() -> None:
    """An OpenAI tool call whose arguments json cannot parse keeps them as the string written."""
    log = json.loads(_lines(SAMPLES / "openai_tool_calls.jsonl")[0])
    choice = log["response"]["choices"][0]
    choice["message"]["tool_calls"] = [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": DEEP}}
    ]
    conv = loads(json.dumps(log))
    inputs = [getattr(b, "input", None) for m in conv.messages for b in m.content]
    assert DEEP in inputs


# ---- a session with no requests ----------------------------------------------------------------


def test_a_session_with_no_requests_is_an_empty_summary(tmp_path: Path) -> None:
    main = tmp_path / "no_requests.jsonl"
    lines = _lines(SESSION / f"{SESSION_ID}.jsonl")
    main.write_text(
        "\n".join(ln for ln in lines if json.loads(ln).get("type") != "assistant") + "\n",
        encoding="utf-8",
    )
    for args in (["summary", main], ["simulate", main, "--keep", "3"]):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert "0 requests" in result.stdout
        assert "no requests: the transcript holds no assistant turn" in result.stdout
    data = json.loads(run("simulate", main, "--json").stdout)
    assert data["requests"] == [] and data["summary"]["requests"] == 0
    assert any(w.startswith("no requests") for w in data["warnings"])
    report = tmp_path / "report.html"
    assert run("report", main, "-o", report).returncode == 0
    assert "no requests: the transcript holds no assistant turn" in report.read_text("utf-8")


# ---- a reader that goes away -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["summary", TOOL_LOOP, "--all"],
        ["simulate", TOOL_LOOP, "--keep", "3", "--all"],
        ["simulate", TOOL_LOOP, "--json"],
        ["count", BODY],
    ],
    ids=["summary", "simulate", "json", "count"],
)
def test_a_closed_pipe_ends_quietly(args: list[object]) -> None:
    """``ctxviz summary F | head -c 10``: the reader leaves; ctxviz exits 0 and says nothing."""
    proc = subprocess.Popen(
        [*MODULE, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "140"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert err == ""


# ---- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        "--window",
        "--keep",
        "--compact-trigger",
        "--summary-tokens",
        "--clear-thinking",
        "--auto-compact-window",
    ],
)
@pytest.mark.parametrize(
    "value", ["1e400k", "infk", "inf", "nan", "nank", "-5", "1e30", "9" * 25, "1000001m", "٣"]
)
def test_a_number_out_of_reach_is_a_usage_error(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["simulate", str(THINKING), f"{option}={value}"]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["1e400", "inf", "nan", "-5", "0", "101", "abc"])
def test_a_percentage_out_of_reach_is_bad_input(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["simulate", str(SESSION), f"--autocompact-pct-override={value}"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "autocompact" in err.lower() and "Traceback" not in err, err


def test_an_overflowing_window_through_the_real_command() -> None:
    result = run("simulate", THINKING, "--window", "1e400k")
    assert result.returncode == 2
    assert "argument --window: expected a number of tokens" in result.stderr
    assert "Traceback" not in result.stderr


# ---- escape sequences --------------------------------------------------------------------------


def _hostile_session(tmp_path: Path) -> Path:
    """The sample session with escape sequences in its model id, first prompt (the title) and
    sub-agent description."""
    folder = _session_copy(tmp_path)
    main = folder / f"{SESSION_ID}.jsonl"
    out = []
    titled = False
    for line in _lines(main):
        rec = json.loads(line)
        message = rec.get("message")
        if isinstance(message, dict) and isinstance(message.get("model"), str):
            message["model"] += ESCAPES
        if not titled and isinstance(message, dict) and isinstance(message.get("content"), str):
            message["content"] = f"title {ESCAPES} {message['content']}"
            titled = True
        out.append(json.dumps(rec))
    main.write_text("\n".join(out) + "\n", encoding="utf-8")
    meta = folder / SESSION_ID / "subagents" / "agent-a2669c5b8c6b8aa5f.meta.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    data["description"] = f"desc {ESCAPES}"
    meta.write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_escape_sequences_never_reach_a_pipe(tmp_path: Path) -> None:
    folder = _hostile_session(tmp_path)
    summary = run("summary", folder)
    simulate = run("simulate", folder, "--keep", "3", "--model", f"claude-opus-4-6{ESCAPES}")
    as_json = run("simulate", folder, "--json")
    missing = run("summary", folder, "--conversation", f"nope{ESCAPES}")
    assert summary.returncode == simulate.returncode == as_json.returncode == 0
    assert missing.returncode == 2
    for result in (summary, simulate, as_json, missing):
        for raw in RAW:
            assert raw not in result.stdout + result.stderr, (raw, result.args)
    assert "PWNED" in summary.stdout  # the strings are shown, without their control characters
    assert "title ]0;PWNED[2J31m" in summary.stdout
    assert "desc ]0;PWNED" in summary.stdout
    data = json.loads(as_json.stdout)  # JSON keeps the exact strings, escaped
    assert data["model"].endswith(ESCAPES)


def test_escape_sequences_are_shown_escaped_on_a_terminal(tmp_path: Path) -> None:
    folder = _hostile_session(tmp_path)
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [*MODULE, "summary", str(folder)],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
            timeout=300,
        )
    finally:
        os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # closed once the child has exited and it is drained
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert result.returncode == 0, result.stderr
    text = seen.decode("utf-8")
    assert "\x1b]0;" not in text and "\x1b[2J" not in text and "\x07" not in text
    assert "\x9b" not in text and "\u2028" not in text and "\u202e" not in text
    assert "claude-opus-4-6\\x1b]0;PWNED\\x07\\x1b[2J\\x9b31m\\u2028\\u202e" in text
    assert "title \\x1b]0;PWNED\\x07\\x1b[2J\\x9b31m" in text  # the title ends at a line break


def test_an_error_naming_a_hostile_file_is_one_inert_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / f"x{ESCAPES}\nctxviz: error: forged.jsonl"
    assert cli.main(["summary", str(missing)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert not any(raw in err for raw in RAW), err
    assert err.startswith("ctxviz: error: ") and "no such file" in err


def test_a_file_ctxviz_cannot_read_is_named_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one line names the file, then where in it and what is wrong."""
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\x00\x01 not a transcript \xff")
    role = tmp_path / "role.json"
    role.write_text(json.dumps({"messages": [{"role": "bogus", "content": "x"}]}), "utf-8")
    for args, where in (
        (["summary", str(garbage)], "line 1"),
        (["simulate", str(role)], "messages[0].role"),
        (["count", str(role)], "messages[0].role"),
    ):
        assert cli.main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"ctxviz: error: {args[1]}: {where}"), err
        assert len(err.splitlines()) == 1
