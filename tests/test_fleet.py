"""``ctxviz fleet`` and ``ctxviz.fleet``: a folder of real sessions (some broken) indexed cold and
again from the index, rows against per-file ``ctxviz simulate --json``, the DuckDB tables queried
with SQL, sweep totals against per-session replays, exit statuses."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import json
import math
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ctxviz import cli, fleet
from ctxviz.budget import Limits
from ctxviz.loading import load
from ctxviz.simulator import simulate
from ctxviz.summary import summarize

SPOTTER = "02_claude-code_spotter_manualcompact"
THINKING = "03_claude-code_ccl_thinking_v2.0.37"
SUBAGENTS = "04_claude-code_ccl_v2.1.114_subagents"
SESSION_04 = "ef958aa1-0e93-49f0-bb71-150f63befcd1"
SESSION_03 = "cb2e607c-c758-415a-8b45-c49e4631906a"
CLEAR_30K = {
    "context_management": {
        "edits": [
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "input_tokens", "value": 30_000},
            }
        ]
    }
}


def _copy(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)
    for root, dirs, files in os.walk(dst):
        for name in [*dirs, *files]:
            os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)


@pytest.fixture(scope="module")
def fleet_dir(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real sessions in two projects (sub-agents in both layouts), a zip of two sessions, a
    truncated session, a file that is not JSON, and a hostile one (nested 100,000 deep)."""
    root = tmp_path_factory.mktemp("fleet") / "projects"
    _copy(samples_dir / SPOTTER, root / "-home-me-spotter")
    _copy(samples_dir / THINKING, root / "-home-me-review")
    _copy(samples_dir / SUBAGENTS, root / "-home-me-worktrees")
    lines = (samples_dir / SUBAGENTS / f"{SESSION_04}.jsonl").read_bytes().splitlines(True)
    cut = b"".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:50]  # ends mid-record
    (root / "-home-me-worktrees" / "truncated.jsonl").write_bytes(cut)
    (root / "-home-me-review" / "notes.jsonl").write_text("these are my notes, not JSON\n")
    (root / "-home-me-review" / "hostile.jsonl").write_text("[" * 100_000 + "]" * 100_000)
    with zipfile.ZipFile(root / "team.zip", "w") as z:
        z.write(samples_dir / SUBAGENTS / f"{SESSION_04}.jsonl", f"a/{SESSION_04}.jsonl")
        z.write(samples_dir / THINKING / f"{SESSION_03}.jsonl", f"b/{SESSION_03}.jsonl")
    return root


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(argv))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def cold(fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """``ctxviz fleet DIR --index IDX --json`` on a fresh index: the index and the rows."""
    index = tmp_path_factory.mktemp("index") / "fleet.duckdb"
    status, out, err = _main("fleet", str(fleet_dir), "--index", str(index), "--json")
    assert status == 0, err
    rows: list[Any] = json.loads(out)["sessions"]
    readable = ("ae4a77f8", SESSION_03, SESSION_04, "truncated")
    failed = {
        Path(r["path"]).name: r["error"]
        for r in rows
        if r["error"] is not None and Path(r["path"]).name.startswith(readable)
    }
    assert not failed, f"readable sessions failed (the cause, for a flaky run): {failed}"
    return index, rows


def _by_name(rows: list[Any]) -> dict[str, Any]:
    return {f"{Path(r['path']).name}#{r['conversation']}": r for r in rows}


def test_one_row_per_session_subagents_with_their_parent(cold: tuple[Path, list[Any]]) -> None:
    rows = _by_name(cold[1])
    assert sorted(rows) == sorted(
        [
            "ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl#0",
            f"{SESSION_03}.jsonl#0",
            f"{SESSION_04}.jsonl#0",
            "truncated.jsonl#0",
            "notes.jsonl#0",
            "hostile.jsonl#0",
            "team.zip#0",
            "team.zip#1",
        ]
    )
    assert rows["ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl#0"]["subagents"] == 2
    assert rows[f"{SESSION_03}.jsonl#0"]["subagents"] == 3  # flat agent-*.jsonl beside it
    assert rows[f"{SESSION_04}.jsonl#0"]["subagents"] == 6  # <session>/subagents/
    spotter = rows["ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl#0"]
    assert spotter["project"] == "-home-me-spotter"
    assert spotter["compactions"] == 1  # the manual /compact
    assert spotter["started"] == "2026-02-12T14:12:01.177Z"
    assert "claude-opus-4-6" in spotter["models"]


def test_subagents_cost_is_the_sum_of_their_own_replays(
    fleet_dir: Path, cold: tuple[Path, list[Any]]
) -> None:
    """Each session's sub-agents, replayed as recorded on their own (as ``ctxviz summary`` lists
    them): their summed cost is the row's ``subagents_cost_usd``, apart from its own total."""
    from ctxviz.simulator import simulate
    from ctxviz.summary import summarize

    for name, row in _by_name(cold[1]).items():
        if row["error"] is not None or not name.endswith(".jsonl#0"):
            continue
        conv = load(row["path"])
        want = sum(summarize(simulate(sub)).total_cost_usd or 0.0 for sub in conv.subagents)
        assert row["subagents_cost_usd"] == pytest.approx(want, rel=1e-12), name
        if conv.subagents:
            assert row["subagents_cost_usd"] > 0, name
    assert _by_name(cold[1])[f"{SESSION_04}.jsonl#0"]["subagents_cost_usd"] > 0


def test_broken_and_hostile_files_are_rows_with_their_error(cold: tuple[Path, list[Any]]) -> None:
    rows = _by_name(cold[1])
    assert "not a transcript" in rows["notes.jsonl#0"]["error"]
    assert "nested too deeply" in rows["hostile.jsonl#0"]["error"]
    assert rows["hostile.jsonl#0"]["requests"] is None
    truncated = rows["truncated.jsonl#0"]  # read up to the broken record
    assert truncated["error"] is None and truncated["requests"] > 0
    assert sum(r["error"] is None for r in rows.values()) == 6


def test_rows_are_simulate_json_summaries(cold: tuple[Path, list[Any]]) -> None:
    for row in cold[1]:
        if row["error"] is not None:
            continue
        argv = ["simulate", row["path"], "--json"]
        if row["path"].endswith(".zip"):
            argv += ["--conversation", str(row["conversation"])]
        status, out, err = _main(*argv)
        assert status == 0, err
        single = json.loads(out)
        assert single["summary"], row["path"]
        for key, value in single["summary"].items():
            assert row[key] == value, (row["path"], key)
        assert (row["model"], row["format"]) == (single["model"], single["format"])


def test_reopen_reads_the_index_and_gives_the_same_rows(
    fleet_dir: Path, cold: tuple[Path, list[Any]]
) -> None:
    index, rows = cold
    status, out, err = _main("fleet", str(fleet_dir), "--index", str(index), "--json")
    assert status == 0, err
    assert json.loads(out)["sessions"] == rows
    with fleet.Index(str(index)) as ix:
        again = fleet.scan(fleet.discover([str(fleet_dir)]), index=ix)
    assert again.read_files == 0
    assert [r.to_json() for r in again.sessions] == rows


def test_tables_answer_sql(cold: tuple[Path, list[Any]]) -> None:
    index, rows = cold
    ok = {(r["path"], r["conversation"]): r for r in rows if r["error"] is None}
    with duckdb.connect(str(index), read_only=True) as con:
        sessions = con.execute(
            "SELECT count(*), count(error) FROM sessions WHERE path LIKE '%projects%'"
        ).fetchone()
        assert sessions == (len(rows), len(rows) - len(ok))
        per_session = con.execute(
            "SELECT path, conversation, count(*), sum(cost_usd), max(input_tokens) "
            "FROM requests GROUP BY ALL"
        ).fetchall()
        by_project = dict(
            con.execute(
                "SELECT project, sum(total_cost_usd) FROM sessions WHERE error IS NULL "
                "GROUP BY project"
            ).fetchall()
        )
        hashes = con.execute("SELECT count(DISTINCT content_hash) FROM files").fetchone()
    assert len(per_session) == len(ok)
    for path, number, n, cost, peak in per_session:
        row = ok[(path, number)]
        assert n == row["requests"]
        assert cost == pytest.approx(row["total_cost_usd"])
        assert peak <= row["peak_input_tokens"]
    assert by_project["-home-me-spotter"] == pytest.approx(
        _by_name(rows)["ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl#0"]["total_cost_usd"]
    )
    assert hashes == (7,)


def test_sweep_totals_are_the_sum_of_per_session_replays(
    fleet_dir: Path, cold: tuple[Path, list[Any]]
) -> None:
    index, rows = cold
    policy = json.dumps(CLEAR_30K)
    status, out, err = _main(
        "fleet", str(fleet_dir), "--index", str(index), "--json", "--policy", policy
    )
    assert status == 0, err
    (sweep,) = json.loads(out)["sweep"]
    assert sweep["settings"] == CLEAR_30K
    tokens = 0
    usd = 0.0
    added = 0
    for row in rows:
        if row["error"] is not None:
            continue
        conv = load(row["path"], conversation=row["conversation"])
        before, after = simulate(conv), simulate(conv, **CLEAR_30K)
        tokens += int(before.requests["input_tokens"].sum() - after.requests["input_tokens"].sum())
        usd += (summarize(before).total_cost_usd or 0) - (summarize(after).total_cost_usd or 0)
        added += summarize(after).compactions - summarize(before).compactions
    total = sweep["total"]
    assert total["sessions"] == 6 and total["failed"] == 0
    assert total["tokens_saved"] == tokens > 0
    assert math.isclose(total["usd_saved"], usd, rel_tol=1e-9)
    assert total["compactions_added"] == added
    assert sum(s["tokens_saved"] for s in sweep["sessions"]) == tokens
    with fleet.Index(str(index)) as ix:  # swept once: the index answers
        again = fleet.scan(
            fleet.discover([str(fleet_dir)]), index=ix, policies=[fleet.policy_from_json(policy)]
        )
    assert again.read_files == 0
    assert [r.to_json() for r in again.sweeps] == sweep["sessions"]


def test_a_changed_file_is_read_again_an_untouched_copy_is_not(
    samples_dir: Path, tmp_path: Path
) -> None:
    _copy(samples_dir / THINKING, tmp_path / "p")
    session = tmp_path / "p" / f"{SESSION_03}.jsonl"
    index = str(tmp_path / "i.duckdb")
    with fleet.Index(index) as ix:
        first = fleet.scan(fleet.discover([str(tmp_path)]), index=ix, jobs=1)
        os.utime(session, ns=(1, 1))  # new time, same bytes: the hash says unchanged
        same = fleet.scan(fleet.discover([str(tmp_path)]), index=ix, jobs=1)
        lines = session.read_bytes().splitlines(True)
        session.write_bytes(b"".join(lines[: len(lines) // 2]))
        changed = fleet.scan(fleet.discover([str(tmp_path)]), index=ix, jobs=1)
    assert same.read_files == 1 and same.sessions == first.sessions
    assert changed.read_files == 1
    assert changed.sessions[0].requests < first.sessions[0].requests  # type: ignore[operator]
    assert changed.sessions[0].content_hash != first.sessions[0].content_hash


def test_load_limits_apply_per_file(samples_dir: Path, tmp_path: Path) -> None:
    _copy(samples_dir / SUBAGENTS, tmp_path / "p")
    (tmp_path / "p" / "bomb.jsonl.gz").write_bytes(gzip.compress(b"x" * (8 << 20)))
    limits = Limits(max_bytes=4 << 20)
    with fleet.Index(str(tmp_path / "i.duckdb")) as ix:
        result = fleet.scan(fleet.discover([str(tmp_path)]), index=ix, limits=limits, jobs=2)
    rows = {Path(r.path).name: r for r in result.sessions}
    assert "limit of bytes read" in (rows["bomb.jsonl.gz"].error or "")
    assert rows[f"{SESSION_04}.jsonl"].error is None


def test_parquet_holds_the_rows(fleet_dir: Path, cold: tuple[Path, list[Any]]) -> None:
    index, rows = cold
    target = index.parent / "rows.parquet"
    status, _, err = _main("fleet", str(fleet_dir), "--index", str(index), "--parquet", str(target))
    assert status == 0, err
    with duckdb.connect() as con:
        back = con.execute(
            "SELECT path, conversation, total_cost_usd FROM read_parquet(?)", [str(target)]
        ).fetchall()
    assert back == [(r["path"], r["conversation"], r["total_cost_usd"]) for r in rows]


def test_table_output(fleet_dir: Path, cold: tuple[Path, list[Any]]) -> None:
    status, out, err = _main("fleet", str(fleet_dir), "--index", str(cold[0]))
    assert status == 0, err
    assert "-home-me-spotter" in out and "not read" in out
    assert "6 sessions" in out and "2 not read" in out
    assert "nested too deeply" in out


def test_sweep_grid_over_one_option(fleet_dir: Path, cold: tuple[Path, list[Any]]) -> None:
    status, out, err = _main(
        "fleet",
        str(fleet_dir / "-home-me-review"),
        "--index",
        str(cold[0]),
        "--json",
        "--sweep",
        "clear-tool-uses-trigger=30k..90k/30k",
        "--keep",
        "2",
    )
    assert status == 0, err
    sweep = json.loads(out)["sweep"]
    assert [s["policy"] for s in sweep] == [
        "clear-tool-uses-trigger=30,000",
        "clear-tool-uses-trigger=60,000",
        "clear-tool-uses-trigger=90,000",
    ]
    edit = sweep[1]["settings"]["context_management"]["edits"][0]
    assert edit["trigger"]["value"] == 60_000 and edit["keep"]["value"] == 2
    saved = [s["total"]["tokens_saved"] for s in sweep]
    assert saved[0] >= saved[1] >= saved[2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/no/such/folder"], "/no/such/folder: no such file or folder"),
        (["/no/such/*.jsonl"], "no file matches"),
        (["--policy", "{nope"], "not valid JSON"),
        (["--policy", '{"edits": [{"type": "clear_everything"}]}'], "unknown edit type"),
        (["--policy", '{"compact_at": [3]}'], "unknown setting 'compact_at'"),
        (["--sweep", "keep=5..1/1"], "LOW <= HIGH"),
        (["--sweep", "temperature=1"], "OPTION one of"),
        (["--jobs", "0"], "expected a number of processes"),
        (["--parquet", "/no/such/folder/x.parquet"], "no such folder for --parquet"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    argv: list[str], message: str, fleet_dir: Path, tmp_path: Path
) -> None:
    paths = [] if argv[0].startswith("/no") else [str(fleet_dir / "-home-me-review")]
    status, _, err = _main("fleet", *paths, *argv, "--index", str(tmp_path / "i.duckdb"))
    assert status == 2, err
    assert message in err and "Traceback" not in err


def test_an_index_that_is_not_duckdb_exits_2(fleet_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "index.duckdb"
    bad.write_text("not a database")
    status, _, err = _main("fleet", str(fleet_dir / "-home-me-review"), "--index", str(bad))
    assert status == 2 and "cannot open it as a DuckDB index" in err


def test_default_index_respects_xdg_cache_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert fleet.default_index_path() == "/somewhere/cache/ctxviz/fleet.duckdb"


def test_policy_json_takes_simulate_settings_or_edits() -> None:
    edits = CLEAR_30K["context_management"]["edits"]
    as_list = fleet.policy_from_json(json.dumps(edits))
    as_object = fleet.policy_from_json(json.dumps({"edits": edits}))
    as_settings = fleet.policy_from_json(json.dumps({**CLEAR_30K, "model": None}))
    assert as_list.settings == as_object.settings == as_settings.settings == CLEAR_30K


@pytest.fixture
def ray_local() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_ray_writes_the_same_rows_into_the_index(
    ray_local: Any, fleet_dir: Path, cold: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    paths = fleet.discover([str(fleet_dir)])
    with fleet.Index(str(tmp_path / "ray.duckdb")) as ix:
        result = fleet.scan(paths, index=ix, ray_address="local")
        assert result.read_files == len(paths)
        assert [r.to_json() for r in result.sessions] == cold[1]
        n = ix.con.execute("SELECT count(*) FROM requests").fetchone()
    assert n == (sum(r["requests"] or 0 for r in cold[1]),)


@pytest.mark.slow
def test_command_line_entry_point(fleet_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ctxviz", "fleet", str(fleet_dir / "-home-me-review"), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["sessions"]) == 3
    assert (tmp_path / "ctxviz" / "fleet.duckdb").is_file()


def test_a_resumed_session_is_one_row_with_the_session_it_continues(
    samples_dir: Path, tmp_path: Path
) -> None:
    """Sample 04 cut in two as ``claude --resume`` leaves it: the second file's first record
    continues the first file's chain (tests/formats/test_claude_code_chain.py builds the same)."""
    lines = (samples_dir / SUBAGENTS / f"{SESSION_04}.jsonl").read_text().splitlines()
    cut = 116
    second = []
    for line in lines[cut:]:
        record = json.loads(line)
        record["sessionId"] = "0e0e0e0e-0000-4000-8000-000000000002"
        second.append(json.dumps(record))
    project = tmp_path / "project"
    project.mkdir()
    first_file = project / f"{SESSION_04}.jsonl"
    first_file.write_text("\n".join(lines[:cut]) + "\n")
    (project / "0e0e0e0e-0000-4000-8000-000000000002.jsonl").write_text("\n".join(second) + "\n")
    with fleet.Index(str(tmp_path / "i.duckdb")) as ix:
        result = fleet.scan(fleet.discover([str(project)]), index=ix, jobs=1)
    (row,) = result.sessions
    assert row.path.endswith("0e0e0e0e-0000-4000-8000-000000000002.jsonl")
    assert row.resumes == (str(first_file),)
    assert row.requests == 17  # the whole session, as loading the folder gives it


def test_a_worker_that_dies_is_a_row_saying_how(tmp_path: Path) -> None:
    # A FIFO nobody writes: the worker blocks reading it until it is killed.
    fifo = tmp_path / "stuck.jsonl"
    os.mkfifo(fifo)
    task = fleet.FileTask(path=str(fifo), size_bytes=0, mtime_ns=0)

    def kill_the_worker() -> None:
        for _ in range(600):
            children = multiprocessing.active_children()
            if children:
                time.sleep(0.5)  # let it reach the read
                os.kill(children[0].pid or 0, signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    result = fleet._alone(task)
    killer.join()
    (row,) = result.sessions
    assert row.error == "the worker reading it died (killed by SIGKILL, out of memory?)"


def test_a_task_run_alone_gives_what_the_pool_gives(samples_dir: Path) -> None:
    path = samples_dir / THINKING / f"{SESSION_03}.jsonl"
    task = fleet.FileTask(path=str(path), size_bytes=path.stat().st_size, mtime_ns=0)
    alone = fleet._alone(task)
    assert alone.sessions == fleet.index_file(task).sessions
    assert alone.sessions[0].error is None


def test_workers_never_run_the_main_script(
    samples_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under Streamlit, __main__ is the page script being run: multiprocessing would run it again
    # in every worker (as __mp_main__) before it reads its file.
    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'a').write('ran\\n')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    path = samples_dir / THINKING / f"{SESSION_03}.jsonl"
    task = fleet.FileTask(path=str(path), size_bytes=path.stat().st_size, mtime_ns=0)
    (result,) = fleet.run_pool([task], jobs=1)
    assert result.sessions[0].error is None
    assert fleet._alone(task).sessions[0].error is None
    assert not marker.exists(), "a worker ran the main script"


# ---- time limit per file -------------------------------------------------------------------------


def test_a_file_past_its_time_limit_is_a_row_and_the_run_goes_on(
    samples_dir: Path, tmp_path: Path
) -> None:
    # A FIFO nobody writes: the worker hashing it blocks (a hung read), until its alarm.
    fifo = tmp_path / "stuck.jsonl"
    os.mkfifo(fifo)
    good = samples_dir / THINKING / f"{SESSION_03}.jsonl"
    tasks = [
        fleet.FileTask(path=str(fifo), size_bytes=0, mtime_ns=0, timeout_s=0.5),
        fleet.FileTask(path=str(good), size_bytes=good.stat().st_size, mtime_ns=0, timeout_s=60),
    ]
    started = time.monotonic()
    results = {Path(r.path).name: r for r in fleet.run_pool(tasks, jobs=1)}  # one worker: both
    assert time.monotonic() - started < 30
    (stuck,) = results["stuck.jsonl"].sessions
    assert stuck.error == "timed out after 0.5 s: the --timeout limit per file"
    assert results["stuck.jsonl"].content_hash == ""  # read again next time
    (row,) = results[good.name].sessions
    assert row.error is None
    assert row == fleet.index_file(tasks[1]).sessions[0]


def test_the_time_limit_covers_each_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleet, "index_file", lambda task: time.sleep(30))
    policy = fleet.policy_from_json(json.dumps(CLEAR_30K))
    task = fleet.FileTask(
        path="/x/slow.jsonl", size_bytes=1, mtime_ns=1, timeout_s=0.2, policies=(policy,)
    )
    assert fleet.time_limit_s(task) == pytest.approx(0.4)
    started = time.monotonic()
    (row,) = fleet.run_task(task).sessions
    assert time.monotonic() - started < 5
    assert row.error == (
        "timed out after 0.4 s (0.2 s, and as much per policy): the --timeout limit per file"
    )
    sweep = fleet.run_task(dataclasses.replace(task, sweep_only=True, known_hash="h"))
    assert [r.error for r in sweep.sweeps] == [row.error]
    assert sweep.unchanged and not sweep.sessions and sweep.content_hash == ""


def test_a_fifo_in_a_folder_is_not_a_session(samples_dir: Path, tmp_path: Path) -> None:
    _copy(samples_dir / THINKING, tmp_path / "p")
    os.mkfifo(tmp_path / "p" / "stuck.jsonl")
    assert [Path(p).name for p in fleet.discover([str(tmp_path)])] == [f"{SESSION_03}.jsonl"]


def test_timeout_option(fleet_dir: Path, tmp_path: Path) -> None:
    status, out, err = _main(
        "fleet", str(fleet_dir / "-home-me-review"), "--index", str(tmp_path / "i.duckdb"),
        "--json", "--timeout", "1e-6",
    )  # fmt: skip
    assert status == 0, err
    rows = json.loads(out)["sessions"]
    assert rows and all("timed out after 1e-06 s" in r["error"] for r in rows)


# ---- --ray with no cluster -----------------------------------------------------------------------


def test_ray_address_with_no_cluster_fails_fast(fleet_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    status, _, err = _main(
        "fleet", str(fleet_dir / "-home-me-review"), "--index", str(tmp_path / "i.duckdb"),
        "--ray", f"127.0.0.1:{port}",
    )  # fmt: skip
    assert time.monotonic() - started < 20
    assert status == 2, err
    assert f"--ray 127.0.0.1:{port}: no Ray cluster answers there" in err
    assert "Traceback" not in err


# ---- every format ctxviz reads -------------------------------------------------------------------

API = "05_anthropic-messages-api_pydantic-ai"
OPENAI = "06_openai-chat-completions_pydantic-ai"
EXPORT = [
    {
        "uuid": "c-1",
        "name": "Trip planning",
        "created_at": "2025-01-02T10:00:00Z",
        "chat_messages": [
            {"uuid": "m-1", "sender": "human", "text": "Plan three days in Rome"},
            {"uuid": "m-2", "sender": "assistant", "text": "Day one: the Forum. " * 40},
            {"uuid": "m-3", "sender": "human", "text": "And day two?"},
            {"uuid": "m-4", "sender": "assistant", "text": "The Vatican museums. " * 40},
        ],
    },
    {"uuid": "c-empty", "name": "Nothing yet", "created_at": "2025-01-03", "chat_messages": []},
]


@pytest.fixture(scope="module")
def mixed_dir(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of every format: a Claude Code session, Anthropic and OpenAI cassettes (YAML),
    a claude.ai export beside its users.json, a request body, an OpenAI log (JSON Lines), and
    files that are not transcripts: a package.json, a compose file, a truncated JSON log."""
    root = tmp_path_factory.mktemp("mixed") / "logs"
    _copy(samples_dir / SUBAGENTS, root / "claude-code")
    _copy(samples_dir / API, root / "anthropic")
    _copy(samples_dir / OPENAI, root / "openai")
    export = root / "claude-ai"
    export.mkdir()
    (export / "conversations.json").write_text(json.dumps(EXPORT))
    (export / "users.json").write_text(json.dumps([{"uuid": "u-1", "full_name": "Me"}]))
    bundled = Path(__file__).resolve().parents[1] / "sample_conversations"
    shutil.copy(bundled / "request_body.json", root / "request_body.json")
    shutil.copy(bundled / "openai_tool_calls.jsonl", root / "openai_tool_calls.jsonl")
    (root / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    (root / "compose.yml").write_text("services:\n  web:\n    image: nginx\n")
    body = (bundled / "request_body.json").read_text()
    (root / "cut.json").write_text(body[: len(body) // 2])
    return root


def test_a_folder_of_every_format_gives_a_row_per_conversation(
    mixed_dir: Path, tmp_path: Path
) -> None:
    index = tmp_path / "i.duckdb"
    status, out, err = _main("fleet", str(mixed_dir), "--index", str(index), "--json")
    assert status == 0, err
    data = json.loads(out)
    rows = {(Path(r["path"]).name, r["conversation"]): r for r in data["sessions"]}
    assert sorted(rows) == [
        ("conversations.json", 0),
        (f"{SESSION_04}.jsonl", 0),
        ("openai_tool_calls.jsonl", 0),
        ("request_body.json", 0),
        ("test_anthropic_compaction_end_to_end.yaml", 0),
        ("test_anthropic_compaction_usage_with_cache.yaml", 0),
        ("test_anthropic_model_thinking_part_redacted.yaml", 0),
        ("test_anthropic_tool_with_thinking.yaml", 0),
        ("test_openai_instructions_with_tool_calls_keep_instructions.yaml", 0),
        ("test_openai_tool_output.yaml", 0),
    ]
    assert all(r["error"] is None for r in rows.values())
    formats = {name: r["format"] for (name, _), r in rows.items()}
    assert formats["conversations.json"] == "claude-ai"
    assert formats["test_openai_tool_output.yaml"] == "openai"
    assert formats["test_anthropic_tool_with_thinking.yaml"] == "anthropic"
    assert formats[f"{SESSION_04}.jsonl"] == "claude-code"
    assert rows[("conversations.json", 0)]["project"] == "claude-ai"
    assert rows[(f"{SESSION_04}.jsonl", 0)]["subagents"] == 6  # read with its session
    assert rows[(f"{SESSION_04}.jsonl", 0)]["started"]
    # the rest of the folder: skipped, each with why, never a row
    skipped = {Path(s["path"]).name: s["reason"] for s in data["skipped"]}
    assert sorted(skipped) == ["compose.yml", "cut.json", "package.json", "users.json"]
    assert "not a VCR cassette" in skipped["compose.yml"]
    assert "not valid JSON" in skipped["cut.json"]
    for row in rows.values():  # the same numbers as one file at a time
        argv = ["simulate", row["path"], "--json", "--conversation", str(row["conversation"])]
        status, single, err = _main(*argv)
        assert status == 0, err
        summary = json.loads(single)["summary"]
        assert {k: row[k] for k in summary} == summary, row["path"]
    status, again, err = _main("fleet", str(mixed_dir), "--index", str(index), "--json")
    assert json.loads(again) == data  # from the index: the skipped files too
    with fleet.Index(str(index)) as ix:
        assert fleet.scan(fleet.discover([str(mixed_dir)]), index=ix).read_files == 0
    status, table, err = _main("fleet", str(mixed_dir), "--index", str(index))
    assert "4 files skipped, not transcripts: compose.yml (" in table


# ---- --models ------------------------------------------------------------------------------------


def test_models_file_reprices_rows_and_sweep_and_is_part_of_the_key(
    samples_dir: Path, tmp_path: Path
) -> None:
    _copy(samples_dir / THINKING, tmp_path / "p")
    session = str(tmp_path / "p" / f"{SESSION_03}.jsonl")
    index = str(tmp_path / "i.duckdb")
    policy = json.dumps(CLEAR_30K)
    argv = ["fleet", str(tmp_path / "p"), "--index", index, "--json", "--policy", policy]
    status, out, err = _main(*argv)
    assert status == 0, err
    before = json.loads(out)
    (row,) = before["sessions"]
    mine = tmp_path / "mine.json"
    assert row["model"].startswith("claude-sonnet-4-5")
    mine.write_text(
        json.dumps({"models": [{"id": "claude-sonnet-4-5", "output_usd_per_mtok": 150}]})
    )
    status, out, err = _main(*argv, "--models", str(mine))
    assert status == 0, err
    after = json.loads(out)
    (repriced,) = after["sessions"]
    status, single, err = _main("simulate", session, "--json", "--models", str(mine))
    assert status == 0, err
    assert repriced["total_cost_usd"] == json.loads(single)["summary"]["total_cost_usd"]
    assert repriced["total_cost_usd"] > row["total_cost_usd"]
    edits = json.dumps(CLEAR_30K["context_management"])
    status, single, err = _main(
        "simulate", session, "--json", "--models", str(mine), "--edits", edits
    )
    (swept,) = after["sweep"][0]["sessions"]
    assert swept["total_cost_usd"] == json.loads(single)["summary"]["total_cost_usd"]
    assert swept["recorded_cost_usd"] == repriced["total_cost_usd"]
    with fleet.Index(index) as ix:  # the bundled table again: read again, not the stale rows
        back = fleet.scan([session], index=ix)
        assert back.read_files == 1
        assert back.sessions[0].total_cost_usd == row["total_cost_usd"]


def test_bad_models_file_exits_2(fleet_dir: Path, tmp_path: Path) -> None:
    status, _, err = _main(
        "fleet", str(fleet_dir / "-home-me-review"), "--index", str(tmp_path / "i.duckdb"),
        "--models", str(tmp_path / "none.json"),
    )  # fmt: skip
    assert status == 2 and "none.json: no such file" in err


@pytest.mark.slow
def test_ray_tasks_have_the_time_limit(ray_local: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "stuck.jsonl"
    os.mkfifo(fifo)
    task = fleet.FileTask(path=str(fifo), size_bytes=0, mtime_ns=0, timeout_s=0.5)
    (result,) = fleet.run_ray([task], "local")
    assert result.sessions[0].error == "timed out after 0.5 s: the --timeout limit per file"


def test_a_worker_its_alarm_cannot_stop_is_ended_by_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent's own limit set before the worker's alarm (a negative grace), as when a worker
    # is stuck where a signal does not reach: the parent ends the pool's worker, retries the file
    # alone, ends that worker too, and the file is a row, long before the alarm would answer.
    monkeypatch.setattr(fleet, "GRACE_S", -19.5)
    fifo = tmp_path / "stuck.jsonl"
    os.mkfifo(fifo)
    task = fleet.FileTask(path=str(fifo), size_bytes=0, mtime_ns=0, timeout_s=20)
    started = time.monotonic()
    (result,) = fleet.run_pool([task], jobs=1)
    assert time.monotonic() - started < 15
    assert result.sessions[0].error == "timed out after 20 s: the --timeout limit per file"


def test_a_file_that_timed_out_is_read_again_next_time(samples_dir: Path, tmp_path: Path) -> None:
    _copy(samples_dir / THINKING, tmp_path / "p")
    paths = fleet.discover([str(tmp_path / "p")])
    policy = fleet.policy_from_json(json.dumps(CLEAR_30K))
    with fleet.Index(str(tmp_path / "i.duckdb")) as ix:
        late = fleet.scan(paths, index=ix, jobs=1, timeout_s=1e-6)
        assert "timed out" in (late.sessions[0].error or "")
        first = fleet.scan(paths, index=ix, jobs=1)
        assert first.read_files == 1 and first.sessions[0].error is None
        swept_late = fleet.scan(paths, index=ix, jobs=1, policies=[policy], timeout_s=1e-6)
        assert swept_late.sessions == first.sessions  # its row as recorded stays
        assert "timed out" in (swept_late.sweeps[0].error or "")
        swept = fleet.scan(paths, index=ix, jobs=1, policies=[policy])
    assert swept.read_files == 1
    assert swept.sessions == first.sessions
    assert swept.sweeps[0].error is None and (swept.sweeps[0].tokens_saved or 0) > 0


def test_timeout_help_says_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["fleet", "--help"])
    assert f"(default: {fleet.TIMEOUT_S:g})" in " ".join(capsys.readouterr().out.split())
