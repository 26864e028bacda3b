"""Resource bombs (issue 13, attacks 2-5): every one ends with exit 2 and one line naming the file
and the limit, within seconds, in a process capped at 2 GiB of address space (a regression
fails with a MemoryError, exit 1, instead of exhausting the machine).

The bombs are built here, small on disk: concatenated gzip members of blank space (600 MiB from
a few hundred KB), tiny JSON records compressed by xz, a zip of gzip members, a YAML alias bomb.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import resource
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import ctxviz.loading as loading
from ctxviz.budget import Limits, OverBudget
from ctxviz.errors import TranscriptError
from ctxviz.loading import load, load_all, loads, loads_all

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 2 << 30
SECONDS = 30.0
"""A generous wall-time bound for a shared, busy machine; each bomb ends in a few seconds."""


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def cli(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m ctxviz ARGS`` under a 2 GiB address-space cap; its result and wall time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "ctxviz", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=_capped,
    )
    return result, time.monotonic() - t


def assert_refused(path: Path, *fragments: str, command: str = "summary") -> None:
    result, seconds = cli(command, path)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ctxviz: error: {path}"), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert seconds < SECONDS, f"{path.name}: {seconds:.1f} s"


def blank_gzip(mib: int) -> bytes:
    """``mib`` MiB of spaces as that many concatenated gzip members (~1 KB each)."""
    return gzip.compress(b" " * (1 << 20), 9) * mib


RECORD = b'{"type":"user","uuid":"u%d","parentUuid":null,"message":{"role":"user","content":"x"}}\n'


def tiny_records_xz(n: int, record: bytes = b'{"a":1}\n') -> bytes:
    return lzma.compress(record * n, preset=1)


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---- 2. memory: decompressed bytes and records -------------------------------------------------


def test_gzip_bomb_stops_at_the_byte_limit(tmp_path: Path) -> None:
    path = tmp_path / "spaces.json.gz"
    path.write_bytes(blank_gzip(600))  # 600 MiB of blank space
    assert path.stat().st_size < 2_000_000
    assert_refused(path, "gzip data expands beyond 536,870,912 bytes")


def test_tiny_records_stop_at_the_record_limit(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsonl.xz"
    path.write_bytes(tiny_records_xz(3_000_000))  # 24 MB of {"a":1} lines, 6 M records
    assert_refused(path, "holds more than 2,000,000 records")
    session = tmp_path / "session.jsonl.xz"  # Claude Code records, read line by line
    session.write_bytes(lzma.compress(b"".join(RECORD % i for i in range(800_000)), preset=1))
    assert_refused(session, "holds more than 2,000,000 records")


def test_a_json_document_of_tiny_objects_is_refused_before_it_is_parsed() -> None:
    bomb = b"[" + b"{}," * 2_500_000 + b"{}]"
    parsed: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loading, "parse_text", lambda *a, **k: parsed.append("x"))
        with pytest.raises(OverBudget, match="holds more than 2,000,000 records"):
            loads(bomb)
    assert parsed == []


def test_an_array_of_numbers_is_refused(tmp_path: Path) -> None:
    """No object, one line: 60 M numbers (1.9 GB as a list of floats), counted by their commas."""
    path = tmp_path / "numbers.json.gz"
    path.write_bytes(gzip.compress(b"[" + b"1.5," * 60_000_000 + b"0]", 1))
    assert_refused(path, "holds more than 2,000,000 records")


def test_block_limit() -> None:
    blocks = ",".join(['{"type": "text", "text": "x"}'] * 50)
    body = '{"messages": [{"role": "user", "content": [' + blocks + "]}]}"
    assert len(loads(body).messages[0].content) == 50
    with pytest.raises(OverBudget, match="more than 20 content blocks"):
        loads(body, limits=Limits(max_blocks=20))


def test_limits_can_be_raised_or_lowered() -> None:
    data = gzip.compress(b'{"messages": [{"role": "user", "content": "hi"}]}' + b" " * 5000)
    assert loads(data).messages
    with pytest.raises(OverBudget, match="expands beyond 1,000 bytes"):
        loads(data, limits=Limits(max_bytes=1000))
    with pytest.raises(OverBudget, match="more than 1 records"):
        loads(data, limits=Limits(max_records=1))


# ---- 3. one budget across layers and zip members; members read lazily -------------------------


def test_zip_of_gzip_bombs_reads_one_member(tmp_path: Path) -> None:
    """20 members of 300 MiB each (6 GiB): the first holds the conversation, the rest are not
    read; a member of 600 MiB alone is refused."""
    body = gzip.compress(b'{"messages": [{"role": "user", "content": "hi"}]}')
    member = body + blank_gzip(300)  # valid JSON, then 300 MiB of blank space
    path = tmp_path / "many.zip"
    path.write_bytes(zipped({f"s{i:02}.json.gz": member for i in range(20)}))
    result, seconds = cli("summary", path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "this export holds 20 conversations" in result.stdout
    assert seconds < SECONDS
    path.write_bytes(zipped({f"s{i:02}.json.gz": blank_gzip(600) for i in range(20)}))
    assert_refused(path, "s00.json.gz: gzip data expands beyond 536,870,912 bytes")


def test_the_budget_is_shared_by_every_member() -> None:
    body = b'{"messages": [{"role": "user", "content": "%s"}]}'
    members = {f"m{i}.json.gz": gzip.compress(body % (b"x" * 4000)) for i in range(3)}
    data = zipped(members)
    limits = Limits(max_bytes=10_000)  # one member's 4 KB fits, three do not
    assert loads(data, limits=limits).messages  # the first member only is read
    with pytest.raises(OverBudget, match="expands beyond 10,000 bytes"):
        loads_all(data, limits=limits)
    assert len(loads_all(data)) == 3


def test_zip_members_are_read_only_up_to_the_conversation_used(tmp_path: Path) -> None:
    def session(sid: str) -> bytes:
        user = f'{{"type":"user","uuid":"{sid}u","parentUuid":null,"sessionId":"{sid}",'
        user += '"message":{"role":"user","content":"hi"}}'
        answer = f'{{"type":"assistant","uuid":"{sid}a","parentUuid":"{sid}u","sessionId":"{sid}",'
        answer += f'"message":{{"id":"m{sid}","role":"assistant","model":"claude-opus-4-6",'
        answer += '"content":[{"type":"text","text":"yo"}],"usage":{"input_tokens":5}}}'
        return f"{user}\n{answer}\n".encode()

    path = tmp_path / "sessions.zip"
    broken = zipfile.ZipInfo("c.jsonl")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.jsonl", session("a"))
        zf.writestr("b.jsonl", session("b"))
        zf.writestr(broken, b"\0not text")
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        opened.append(getattr(name, "filename", str(name)))
        return original(self, name, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zipfile.ZipFile, "open", spy)
        conv = load(path)
        assert opened == ["a.jsonl"]
        assert "this export holds 3 conversations" in conv.warnings[0]
        opened.clear()
        assert load(path, conversation=1).requests
        assert opened == ["a.jsonl", "b.jsonl"]
    with pytest.raises(TranscriptError, match=r"c\.jsonl"):
        load_all(path)  # every member, the broken one too


# ---- 4. YAML aliases ---------------------------------------------------------------------------

CASSETTE = """interactions:
- request: &r
    uri: https://api.anthropic.com/v1/messages
    body: {messages: [{role: user, content: hi}], model: claude-sonnet-4-5}
  response: {status: {code: 200}, body: {content: [], usage: {input_tokens: 1}}}
- request: *r
  response: {status: {code: 200}, body: {content: [], usage: {input_tokens: 2}}}
"""


def alias_bomb(levels: int = 9) -> str:
    """A cassette whose request body holds ``9**(levels + 1)`` strings through nested aliases."""
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines += [
        "interactions:",
        "- request:",
        "    uri: https://api.anthropic.com/v1/messages",
        f"    body: {{messages: [{{role: user, content: hi}}], metadata: *a{levels}}}",
        "  response: {status: {code: 200}, body: {content: [], usage: {input_tokens: 1}}}",
    ]
    return "\n".join([*lines, ""])


def test_yaml_alias_bomb_is_refused_before_it_is_built(tmp_path: Path) -> None:
    bomb = alias_bomb()
    assert len(bomb) < 1000  # 9**10 nodes once expanded
    t = time.monotonic()
    with pytest.raises(OverBudget, match="YAML nodes"):
        loads(bomb)
    assert time.monotonic() - t < 5
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    assert_refused(path, "holds more than 2,000,000 records")


def test_a_cassette_with_a_few_aliases_still_loads() -> None:
    conv = loads(CASSETTE)
    assert [r.usage.input_tokens for r in conv.requests if r.usage] == [1, 2]


# ---- 5. only regular files ---------------------------------------------------------------------


def _within(seconds: float, fn: Callable[[], object]) -> None:
    done = threading.Event()

    def run() -> None:
        try:
            fn()
        finally:
            done.set()

    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            run()
        except BaseException as e:
            errors.append(e)

    threading.Thread(target=guarded, daemon=True).start()
    assert done.wait(seconds), "still waiting on the input"
    assert errors and isinstance(errors[0], TranscriptError), errors
    assert "not a regular file" in str(errors[0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "session.jsonl"
    os.mkfifo(fifo)
    _within(5, lambda: load(fifo))
    _within(5, lambda: loading.read_text(fifo))
    assert_refused(fifo, "not a regular file (a FIFO)")
    assert_refused(fifo, "not a regular file (a FIFO)", command="count")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused() -> None:
    _within(5, lambda: load("/dev/zero"))
    assert_refused(Path("/dev/zero"), "not a regular file (a device)")


def test_count_reads_through_the_same_budget(tmp_path: Path) -> None:
    path = tmp_path / "body.json.gz"
    path.write_bytes(blank_gzip(600))
    assert_refused(path, "gzip data expands beyond 536,870,912 bytes", command="count")
