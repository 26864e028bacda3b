"""A .zip is checked before anything is extracted, and is read in memory, never onto disk.

The checks (ctxviz/loading.py ``_load_zip``): at most MAX_ZIP_MEMBERS entries, a declared total
uncompressed size of at most MAX_ZIP_BYTES, no absolute path, drive letter or ``..`` component;
a member whose data expands past its declared size fails its CRC rather than filling memory.
"""

from __future__ import annotations

import builtins
import gzip
import io
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ctxviz.loading as loading
from ctxviz.budget import Limits
from ctxviz.errors import TranscriptError
from ctxviz.loading import loads

SESSION = Path(__file__).resolve().parents[2] / "sample_conversations" / "claude_code_session.zip"
BODY = b'{"messages":[{"role":"user","content":"hi"}]}'


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _set_sizes(data: bytes, size: int) -> bytes:
    """Forge every member's declared uncompressed size (local headers and central directory)."""
    out = bytearray(data)
    i = 0
    while (i := out.find(b"PK\x03\x04", i)) >= 0:
        struct.pack_into("<I", out, i + 22, size)
        i += 4
    i = 0
    while (i := out.find(b"PK\x01\x02", i)) >= 0:
        struct.pack_into("<I", out, i + 24, size)
        i += 4
    return bytes(out)


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd.json", "../escape.json", "a/../../escape.json", "C:/x.json", "\\\\srv\\x.json",
     "ok/..\\..\\x.json"],
)  # fmt: skip
def test_unsafe_paths_are_refused(name: str) -> None:
    data = _zip({"fine.json": BODY, name: BODY})
    with pytest.raises(TranscriptError, match="unsafe path in the zip"):
        loads(data)


def test_declared_size_past_the_limit_is_refused_before_reading() -> None:
    data = _set_sizes(_zip({"a.json": BODY}), Limits().max_bytes + 1)
    reads: list[str] = []
    original = zipfile.ZipFile.read

    def spy(self: zipfile.ZipFile, name: Any, pwd: bytes | None = None) -> bytes:
        reads.append(str(name))
        return original(self, name, pwd)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zipfile.ZipFile, "read", spy)
        with pytest.raises(TranscriptError, match=r"expands to 536,870,913 bytes"):
            loads(data)
    assert reads == []  # refused from the listing alone


def test_too_many_members_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "MAX_ZIP_MEMBERS", 20)
    data = _zip({f"f{i}.json": BODY for i in range(21)})
    with pytest.raises(TranscriptError, match=r"holds 21 entries \(at most 20\)"):
        loads(data)


def test_a_member_that_lies_about_its_size_is_not_expanded() -> None:
    """50 MB of zeros declared as 100 bytes: zipfile stops at the declared size (CRC error)."""
    data = _set_sizes(_zip({"a.jsonl": b"\0" * 50_000_000}), 100)
    with pytest.raises(TranscriptError, match=r"^a\.jsonl: zip member cannot be read"):
        loads(data)


def test_nested_compression_bomb_is_capped() -> None:
    limits = Limits(max_bytes=1_000_000)
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    bomb = comp.compress(b"\0" * 20_000_000) + comp.flush()
    with pytest.raises(TranscriptError, match="expands beyond 1,000,000 bytes"):
        loads(bomb, limits=limits)
    with pytest.raises(TranscriptError, match="expands beyond"):
        loads(_zip({"a.jsonl.gz": bomb}), limits=limits)
    assert gzip.decompress(bomb)[:1] == b"\0"


@pytest.fixture
def no_disk_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail on any file opened for writing, any extraction, or a new entry in the temp folder."""
    attempts: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            attempts.append(f"open({file!r}, {mode!r})")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            attempts.append(f"os.open({path!r})")
        return real_os_open(path, flags, *args, **kwargs)

    def no_extract(*args: Any, **kwargs: Any) -> None:
        attempts.append("ZipFile.extract")
        raise AssertionError("a zip member was extracted")

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    monkeypatch.setattr(zipfile.ZipFile, "extract", no_extract)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_extract)
    before = set(os.listdir(tempfile.gettempdir()))
    yield attempts
    assert set(os.listdir(tempfile.gettempdir())) <= before


def test_a_zip_is_read_in_memory(no_disk_writes: list[str]) -> None:
    if not SESSION.exists():
        pytest.skip("sample_conversations/claude_code_session.zip is not there")
    data = SESSION.read_bytes()
    conv = loads(data)
    assert conv.subagents and conv.messages  # the session and its sub-agent, from memory
    assert no_disk_writes == []
