"""Load transcripts: ``load(path)``, ``loads(data)``, ``load_all(path)``.

Only regular files are read. Bytes are decompressed by their magic number (gzip, xz, bzip2) as
they are read, every byte and record charged to the load's one budget (``ctxviz.budget``); a zip's
listing is checked before its members are read, in name order and only up to the conversation
asked for; a Claude Code session is read line by line, other text whole, decoded as UTF-8 (a BOM
is honoured), and the format is detected from the content (``ctxviz.formats``). A Claude Code
session loaded from a path, a folder or a zip picks up its sub-agent transcripts:
``<session>/subagents/agent-*.jsonl`` with ``.meta.json`` (Claude Code 2.1) or flat
``agent-*.jsonl`` files beside it with the same ``sessionId`` (2.0).
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import lzma
import mmap
import os
import posixpath
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

from ctxviz.budget import Budget, Limits, OverBudget, active
from ctxviz.errors import TranscriptError
from ctxviz.formats import Parsed, normalize_format, parse_text
from ctxviz.formats._blocks import Notes
from ctxviz.formats.claude_code import (
    AgentFile,
    Session,
    attach_subagents,
    looks_like,
    parse_session,
)
from ctxviz.model import Conversation

__all__ = ["load", "load_all", "loads", "loads_all", "read_text"]

MAX_ZIP_MEMBERS = 10_000
"""How many entries a zip may hold."""

Selector = int | str | None


class _Every:
    """Every conversation (``load_all``), not one selected."""


_EVERY: Final = _Every()


# ---- public API --------------------------------------------------------------------------------


def load(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    conversation: Selector = None,
    limits: Limits | None = None,
) -> Conversation:
    """Read one transcript file (or a Claude Code session folder, or a zip) into a Conversation.

    When the input holds several conversations (a claude.ai export, a zip of sessions) the first
    with messages is returned, or the one ``conversation`` selects (index, uuid / session id or
    name); its warnings name the others. The files of a zip or folder after the one selected are
    not read. ``limits`` bounds what the load may read (``ctxviz.budget.Limits``).
    """
    fmt = normalize_format(format)
    budget = Budget(limits, os.fspath(path))
    with active(budget):
        return _select(_load_path(Path(path), fmt, budget, conversation), conversation)


def loads(
    data: str | bytes,
    format: str | None = None,
    *,
    conversation: Selector = None,
    limits: Limits | None = None,
) -> Conversation:
    """Read a transcript from a string or bytes (no sub-agent files: there is no folder)."""
    fmt = normalize_format(format)
    budget = Budget(limits)
    with active(budget):
        return _select(_load_data(data, fmt, budget, conversation), conversation)


def load_all(
    path: str | os.PathLike[str], format: str | None = None, *, limits: Limits | None = None
) -> list[Conversation]:
    """Every conversation the input holds, in order (one for most files)."""
    fmt = normalize_format(format)
    budget = Budget(limits, os.fspath(path))
    with active(budget):
        return _load_path(Path(path), fmt, budget, _EVERY).conversations


def loads_all(
    data: str | bytes, format: str | None = None, *, limits: Limits | None = None
) -> list[Conversation]:
    """Every conversation held by a string or bytes."""
    fmt = normalize_format(format)
    budget = Budget(limits)
    with active(budget):
        return _load_data(data, fmt, budget, _EVERY).conversations


def read_text(path: str | os.PathLike[str], *, limits: Limits | None = None) -> str:
    """A text file read as ``load`` reads one (a regular file, compression undone, through one
    budget), not parsed: for request bodies and edit lists given by path."""
    budget = Budget(limits, os.fspath(path))
    with _open(Path(path)) as f:
        return _decode(_Stream(f, budget).whole(), budget.where)


# ---- selection ---------------------------------------------------------------------------------


def _enough(parsed: Parsed, want: Selector | _Every) -> bool:
    """Whether the conversations read so far hold the one ``want`` selects."""
    convs = parsed.conversations
    if isinstance(want, _Every):
        return False
    if want is None:
        return any(c.messages for c in convs)
    if isinstance(want, int) and not isinstance(want, bool):
        return 0 <= want < len(convs)
    ids = parsed.ids
    return any(
        str(want) in (c.title, ids[i] if i < len(ids) else None) for i, c in enumerate(convs)
    )


def _select(parsed: Parsed, conversation: Selector) -> Conversation:
    convs, ids = parsed.conversations, parsed.ids
    if not convs:
        raise TranscriptError("the input holds no conversation")
    if conversation is None:
        chosen = next((i for i, c in enumerate(convs) if c.messages), 0)
    elif isinstance(conversation, int) and not isinstance(conversation, bool):
        if not -len(convs) <= conversation < len(convs):
            raise TranscriptError(
                f"conversation={conversation} is out of range: the input holds {len(convs)}"
            )
        chosen = conversation % len(convs)
    else:
        key = str(conversation)
        hits = [
            i for i, c in enumerate(convs) if key in (c.title, ids[i] if i < len(ids) else None)
        ]
        if not hits:
            names = ", ".join(repr(c.title) for c in convs[:5]) + ("…" if len(convs) > 5 else "")
            raise TranscriptError(
                f"no conversation with id or name {key!r} (the input holds {len(convs)}: {names})"
            )
        chosen = hits[0]
    conv = convs[chosen]
    if not conv.messages:
        raise TranscriptError(f"conversation {chosen} ({conv.title!r}) has no messages")
    if len(convs) + parsed.unread > 1:
        name = conv.title or (ids[chosen] if chosen < len(ids) else None) or f"number {chosen}"
        conv = replace(
            conv,
            warnings=[
                f"this export holds {len(convs) + parsed.unread} conversations; "
                f"loaded {name!r} (index {chosen}); "
                "use load_all or conversation=<index, id or name> for another",
                *conv.warnings,
            ],
        )
    return conv


# ---- bytes -------------------------------------------------------------------------------------

_GZIP, _XZ, _BZ2 = b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_HEAD = 65536
"""The bytes a format or session is recognised from."""
_CHUNK = 1 << 16
"""Bytes read at a time (each reader's buffer). 1 MiB buffers made a 1 MB session's load peak at
2.3x the file, 1.4x with 64 KiB, at the same speed (bench/load.py)."""


def _compression(head: bytes) -> tuple[str, Callable[[BinaryIO], BinaryIO]] | None:
    if head.startswith(_GZIP):
        return "gzip", lambda f: cast(BinaryIO, gzip.GzipFile(fileobj=f))
    if head.startswith(_XZ):
        return "xz", lambda f: cast(BinaryIO, lzma.LZMAFile(f))
    if head.startswith(_BZ2) and head[3:4].isdigit():
        return "bzip2", lambda f: cast(BinaryIO, bz2.BZ2File(f))
    return None


class _Metered(io.RawIOBase):
    """A stream whose every byte is charged to the load's budget as it is read. ``what`` names
    it in errors: ``gzip data`` (a compression layer, refused when broken) or the file itself."""

    def __init__(self, inner: Any, budget: Budget, what: str, *, layer: bool) -> None:
        self.inner, self.budget, self.what, self.layer = inner, budget, what, layer

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[:_CHUNK]
        try:
            n: int = self.inner.readinto(view)  # no intermediate bytes object: less heap churn
        except EOFError:
            problem = f"truncated {self.what}: the stream ends early"
            raise TranscriptError(problem, self.budget.where) from None
        except (OSError, lzma.LZMAError, zlib.error, ValueError, zipfile.BadZipFile) as e:
            problem = (
                f"not valid {self.what} ({e})"
                if self.layer
                else f"{self.what} cannot be read ({e})"
            )
            raise TranscriptError(problem, self.budget.where) from None
        self.budget.read(n, self.what)
        return n


class _Stream:
    """An input with its compression layers undone (up to three, by magic number), read through
    the budget: its first bytes (``head``) and the rest (``rest``)."""

    def __init__(self, f: BinaryIO, budget: Budget, what: str = "the file") -> None:
        stream = io.BufferedReader(_Metered(f, budget, what, layer=False), _CHUNK)
        self.layers = 0
        head = stream.peek(_HEAD)[:_HEAD]
        while (found := _compression(head)) is not None and self.layers < 3:
            name, opener = found
            inner = _Metered(opener(cast(BinaryIO, stream)), budget, f"{name} data", layer=True)
            stream = io.BufferedReader(inner, _CHUNK)
            self.layers += 1
            head = stream.peek(_HEAD)[:_HEAD]
        self.rest = stream
        self.head = _read_up_to(stream, _HEAD)
        self.budget = budget

    def whole(self, *, text: bool = True) -> bytearray:
        """Every byte; as ``text`` for a parser, its records are charged chunk by chunk as they
        are read."""
        charge = self.budget.text if text else None
        data = bytearray(self.head)
        if charge is not None:
            charge(data)
        while chunk := self.rest.read(_CHUNK):
            if charge is not None:
                charge(chunk)
            data += chunk
        return data

    def lines(self) -> Iterator[bytes]:
        """The lines one by one, each charged as records before it is parsed."""
        text = self.budget.text
        parts = self.head.split(b"\n")
        for part in parts[:-1]:
            line = part + b"\n"
            text(line)
            yield line
        tail = parts[-1]
        for line in self.rest:
            if tail:
                line, tail = tail + line, b""
            text(line)
            yield line
        if tail:
            text(tail)
            yield tail


def _read_up_to(f: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream)."""
    out = b""
    while len(out) < n and (chunk := f.read(n - len(out))):
        out += chunk
    return out


def _decode(data: bytes | bytearray, where: str = "", skipped: list[str] | None = None) -> str:
    """UTF-8 text (UTF-16 with a BOM is accepted); binary data is refused with its place.

    With ``skipped``, JSON Lines whose lines are not all UTF-8 text keep their readable lines:
    the others are blanked and named in ``skipped`` (the API contract for unreadable lines).
    """

    def prefix(line: int) -> str:
        return f"{where}, line {line}" if where else f"line {line}"

    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise TranscriptError(f"not valid UTF-16 text (byte offset {e.start})", where) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        if skipped is not None and (text := _readable_lines(data, where, skipped)) is not None:
            return text
        raise TranscriptError(
            f"binary data, not a text transcript: a NUL byte at byte offset {nul}",
            prefix(data.count(b"\n", 0, nul) + 1),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if skipped is not None and (text := _readable_lines(data, where, skipped)) is not None:
            return text
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise TranscriptError(
            f"not UTF-8 text: byte 0x{data[e.start]:02x} at byte offset {e.start} "
            f"(column {column}) cannot be decoded",
            prefix(line),
        ) from None


def _line_problem(line: bytes | bytearray) -> str | None:
    """Why one line is not text (a NUL byte, or bytes that are not UTF-8), else None."""
    nul = line.find(b"\x00")
    if nul >= 0:
        return f"binary data: a NUL byte at column {nul + 1}; skipped"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 text: byte 0x{line[e.start]:02x} at column {e.start + 1}; skipped"
    return None


def _readable_lines(data: bytes | bytearray, where: str, skipped: list[str]) -> str | None:
    """JSON Lines with some lines that are not text: those lines blanked (line numbers kept) and
    named in ``skipped``; None unless two or more lines are readable JSON objects."""
    out: list[str] = []
    found: list[str] = []
    objects = 0
    for n, line in enumerate(cast(list[bytes], data.split(b"\n")), 1):
        problem = _line_problem(line)
        if problem is not None:
            found.append(f"{where}, line {n}: {problem}" if where else f"line {n}: {problem}")
            out.append("")
            continue
        text = line.decode("utf-8")
        if objects < 2 and text.strip():
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                value = None
            objects += isinstance(value, dict)
        out.append(text)
    if objects < 2:
        return None
    skipped.extend(found)
    return "\n".join(out)


def _warned(parsed: Parsed, skipped: list[str]) -> Parsed:
    """Each conversation with the skipped lines' warnings first."""
    if skipped:
        parsed.conversations[:] = [
            replace(c, warnings=[*skipped, *c.warnings]) for c in parsed.conversations
        ]
    return parsed


def _load_data(
    data: str | bytes, fmt: str | None, budget: Budget, want: Selector | _Every
) -> Parsed:
    if isinstance(data, str):
        budget.read(len(data))
        budget.text(data)
        return parse_text(data, fmt, source=None)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"loads() takes str or bytes, not {type(data).__name__}")
    with io.BytesIO(data) as f:
        return _load_stream(_Stream(f, budget), fmt, budget, source=None, want=want)


def _load_stream(
    s: _Stream,
    fmt: str | None,
    budget: Budget,
    *,
    source: str | None,
    want: Selector | _Every,
    seekable: BinaryIO | None = None,
) -> Parsed:
    """One input, its compression undone: a zip (``seekable``: the file itself, when it is not
    compressed), a Claude Code session (read line by line), or text read whole."""
    if s.head.startswith(_ZIP):
        f = seekable if seekable is not None and s.layers == 0 else io.BytesIO(s.whole(text=False))
        return _load_zip(f, fmt, budget, source=source, want=want)
    if not s.head:
        raise TranscriptError(
            "empty file: no transcript" if source else "empty input: no transcript", budget.where
        )
    if _is_session(s.head, fmt):
        notes = Notes()
        session = parse_session(_text_lines(s.lines(), notes), source=source, notes=notes)
        return Parsed([session.conv], session, [session.session_id])
    skipped: list[str] = []
    text = _decode(s.whole(), "", skipped)
    return _warned(parse_text(text, fmt, source=source), skipped)


# ---- paths and folders -------------------------------------------------------------------------


def _open(p: Path) -> BinaryIO:
    """A regular file opened for reading; anything else (a FIFO, a device, a socket) is refused
    without waiting on it (opened non-blocking, checked, then read)."""
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = (
            "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "not a file"
        )  # fmt: skip
        raise TranscriptError(f"not a regular file ({what}); only regular files are read", str(p))
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _load_path(
    p: Path,
    fmt: str | None,
    budget: Budget,
    want: Selector | _Every,
    *,
    absorbed: set[str] | None = None,
) -> Parsed:
    """A file or folder; a session file is joined with the sessions it resumes found beside it
    (their names are added to ``absorbed``)."""
    if p.is_dir():
        return _load_folder(p, fmt, budget, want)
    budget.where = str(p)
    with _open(p) as f:
        parsed = _load_stream(_Stream(f, budget), fmt, budget, source=str(p), want=want, seekable=f)
    if parsed.session is not None and not p.name.startswith("agent-"):
        folder = _DiskFolder(p.parent, budget)
        parsed.conversations[0] = _with_subagents(parsed.session, p.name, folder)
        if parsed.session.resumes is not None:
            d = p.parent
            ((_, parsed),) = _join_resumed(
                [(p.name, parsed)],
                lambda name: _disk_text(d / name, budget),
                lambda session, name, resumed: _with_subagents(session, name, folder, resumed),
                lambda name: str(d / name),
                sorted(f.name for f in d.iterdir() if f.is_file() and _is_session_name(f.name)),
                lambda name, uuid: _mentions(d / name, uuid),
                absorbed,
            )
    return parsed


def _disk_text(p: Path, budget: Budget) -> str:
    """A file beside the one loaded, read whole as text through the load's budget."""
    budget.where = str(p)
    with _open(p) as f:
        return _decode(_Stream(f, budget).whole(), str(p))


def _mentions(path: Path, text: str) -> bool:
    """Whether a file's bytes hold ``text``, searched through a memory map (a file beside the one
    loaded may be large); a compressed file may."""
    with path.open("rb") as f:
        if f.read(6).startswith((_GZIP, _XZ, _BZ2)):
            return True
        if os.fstat(f.fileno()).st_size == 0:
            return False
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(text.encode()) >= 0


def _join_resumed(
    entries: list[tuple[str, Parsed]],
    text_of: Callable[[str], str],
    attach: Callable[[Session, str, Sequence[str]], Conversation],
    source_of: Callable[[str], str],
    candidates: Sequence[str] | None = None,
    mentions: Callable[[str, str], bool] = lambda name, uuid: True,
    absorbed: set[str] | None = None,
) -> list[tuple[str, Parsed]]:
    """Sessions joined with the sessions they resume (whose records their chain continues from),
    found among ``candidates`` (by default the other sessions of ``entries``: one folder or zip;
    ``mentions`` passes over, unread, a file that cannot hold the uuid), oldest first; a session
    joined into another is not listed alone."""
    if candidates is None:
        candidates = [n for n, p in entries if p.session is not None]

    def readable(name: str, uuid: str) -> str:
        try:
            return text_of(name) if mentions(name, uuid) else ""
        except (OSError, TranscriptError):
            return ""  # a file that cannot be read resumes nothing here; it says so when loaded

    joined: dict[str, Parsed] = {}
    absorbed = set() if absorbed is None else absorbed
    for name, parsed in entries:
        session = parsed.session
        resumed: list[tuple[str, str]] = []
        while session is not None and session.resumes is not None:
            taken = {name, *(n for n, _ in resumed)}
            wanted = re.compile(rf'"uuid"\s*:\s*"{re.escape(session.resumes)}"')
            holder = next(
                (
                    (n, text)
                    for n in candidates
                    if n not in taken
                    for text in (readable(n, session.resumes),)
                    if wanted.search(text)
                ),
                None,
            )
            if holder is None:
                break
            resumed.insert(0, holder)
            try:
                joined_session = parse_session(
                    text_of(name), source=source_of(name), resumed=resumed
                )
            except (OSError, TranscriptError):
                joined_session = session
            if joined_session.resumes == session.resumes:  # the match was not its record
                resumed.pop(0)
                break
            session = joined_session
        if resumed and session is not None:
            absorbed.update(n for n, _ in resumed)
            resumed_names = [n for n, _ in resumed]
            joined[name] = Parsed(
                [attach(session, name, resumed_names)], session, [session.session_id]
            )
    return [(n, joined.get(n, p)) for n, p in entries if n not in absorbed]


def _is_session(head: bytes, fmt: str | None) -> bool:
    """Whether an input is a Claude Code session to read line by line (by its first bytes).

    Held whole, a session costs its bytes, its text (up to 4 bytes a character: one emoji widens
    it all) and its records at once, about 10× the file at the peak; line by line, only records.
    """
    if fmt not in (None, "claude-code") or not head.strip():
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return fmt is not None or _session_head(head)


def _session_head(head: bytes) -> bool:
    """Whether a file's first bytes are JSON Lines of Claude Code records, as ``parse_text``
    would decide (in doubt: False, and the file is read whole)."""
    lines = [ln for ln in head.removeprefix(codecs.BOM_UTF8).split(b"\n")[:-1] if ln.strip()]
    if len(lines) < 2:
        return False
    sample: list[object] = []
    for i, ln in enumerate(lines[:50]):
        try:
            sample.append(json.loads(ln.decode("utf-8")))
        except (ValueError, RecursionError):
            if i == 0:
                return False
            continue
        if i == 0 and not isinstance(sample[0], dict):
            return False
    return looks_like(sample)


def _text_lines(lines: Iterator[bytes], notes: Notes) -> Iterator[str]:
    """Lines of bytes as text; a line that is not text is blanked and named in ``notes``, as
    ``_decode`` does for JSON Lines (the file's head showed it is a session)."""
    for n, line in enumerate(lines, 1):
        if n == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[3:]
        problem = _line_problem(line)
        if problem is not None:
            notes.warn(f"line {n}", problem)
            yield ""
            continue
        yield line.decode("utf-8")


def _load_folder(d: Path, fmt: str | None, budget: Budget, want: Selector | _Every) -> Parsed:
    """A folder: its session files (not agent-*), else its conversations.json; the files after
    the conversation selected are not read."""
    sessions = sorted(f for f in d.iterdir() if f.is_file() and _is_session_name(f.name))
    if not sessions:
        export = d / "conversations.json"
        if export.is_file():
            return _load_path(export, fmt, budget, want)
        raise TranscriptError(
            "no transcript in this folder (no session .jsonl, no conversations.json)", str(d)
        )
    out = Parsed([], None, [])
    absorbed: set[str] = set()
    listed: list[tuple[str, int]] = []  # (file, its first conversation's index in out)
    for k, f in enumerate(sessions):
        if f.name in absorbed:
            continue
        parsed = _load_path(f, fmt, budget, _EVERY, absorbed=absorbed)
        listed.append((f.name, len(out.conversations)))
        out.conversations.extend(parsed.conversations)
        out.ids.extend(parsed.ids)
        if _enough(out, want):
            out.unread = len(sessions) - k - 1
            break
    _drop_absorbed(out, listed, absorbed)
    return out


def _drop_absorbed(out: Parsed, listed: list[tuple[str, int]], absorbed: set[str]) -> None:
    """A session read before a later one joined it is not listed alone (one conversation each)."""
    for name, i in reversed(listed):
        if name in absorbed:
            del out.conversations[i]
            del out.ids[i]


def _uncompressed_name(name: str) -> str:
    """A path's file name without its compression suffix: ``a/s.jsonl.gz`` → ``s.jsonl``."""
    base = posixpath.basename(name)
    for ext in (".gz", ".xz", ".bz2"):
        base = base.removesuffix(ext)
    return base


def _is_session_name(name: str) -> bool:
    base = _uncompressed_name(name)
    return base.endswith(".jsonl") and not base.startswith("agent-")


class _DiskFolder:
    """Sub-agent files beside a session on disk."""

    def __init__(self, root: Path, budget: Budget) -> None:
        self.root = root
        self.budget = budget

    def names(self, stem: str) -> list[str]:
        out = [f.name for f in self.root.glob("agent-*.jsonl") if f.is_file()]
        sub = self.root / stem / "subagents"
        if sub.is_dir():
            out.extend(f"{stem}/subagents/{f.name}" for f in sub.iterdir() if f.is_file())
        return sorted(out)

    def source(self, name: str) -> str:
        return str(self.root / name)

    @contextmanager
    def open(self, name: str) -> Iterator[_Stream]:
        self.budget.where = self.source(name)
        with _open(self.root / name) as f:
            yield _Stream(f, self.budget)


class _ZipFolder:
    """Members of an open zip, each read (through the budget) only when it is used."""

    def __init__(
        self, zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], budget: Budget,
        base: str, origin: str | None,
    ) -> None:  # fmt: skip
        self.zf, self.members, self.budget = zf, members, budget
        self.base = base
        self.origin = origin

    def source(self, name: str) -> str:
        inner = f"{self.base}/{name}" if self.base else name
        return f"{self.origin}/{inner}" if self.origin else inner

    def names(self, stem: str) -> list[str]:
        prefix = f"{self.base}/" if self.base else ""
        out = []
        for name in self.members:
            rest = name[len(prefix) :] if name.startswith(prefix) else None
            if rest is None:
                continue
            if ("/" not in rest and rest.startswith("agent-") and rest.endswith(".jsonl")) or (
                rest.startswith(f"{stem}/subagents/")
            ):
                out.append(rest)
        return sorted(out)

    @contextmanager
    def open(self, name: str) -> Iterator[_Stream]:
        full = f"{self.base}/{name}" if self.base else name
        self.budget.where = self.source(name)
        try:
            with self.zf.open(self.members[full]) as f:
                yield _Stream(cast(BinaryIO, f), self.budget, "zip member")
        except TranscriptError:
            raise
        except _ZIP_ERRORS as e:  # the member's header, read on opening it
            raise TranscriptError(f"zip member cannot be read ({e})", self.budget.where) from None


def _in_member(name: str, location: str) -> str:
    return f"{name}, {location}" if location else name


def _with_subagents(
    session: Session, name: str, folder: _DiskFolder | _ZipFolder, resumed: Sequence[str] = ()
) -> Conversation:
    """The session's conversation with the sub-agent transcripts found beside it (and beside the
    sessions it resumes, when joined with them)."""
    notes = Notes()
    agents: list[AgentFile] = []
    listed: dict[str, None] = {}
    for each in (*resumed, name):
        stem = _uncompressed_name(each).removesuffix(".jsonl")
        try:
            listed.update(dict.fromkeys(folder.names(stem)))
        except OSError as e:
            notes.warn("", f"sub-agent files could not be listed ({e})")
    names = list(listed)
    ids: set[str | None] = {session.session_id, *session.session_ids}
    for n in names:
        if not n.endswith(".jsonl") or not posixpath.basename(n).startswith("agent-"):
            continue
        nested = "/" in n
        try:
            with folder.open(n) as s:
                if not nested and not any(_same_session(s.head, i) for i in ids):
                    continue
                text = _decode(s.whole(), n)
            sub = parse_session(text, source=folder.source(n))
        except OverBudget:
            raise
        except (OSError, TranscriptError) as e:
            notes.warn(n, f"sub-agent transcript could not be read ({e}); skipped")
            continue
        meta = None
        meta_name = n.removesuffix(".jsonl") + ".meta.json"
        if nested and meta_name in names:
            try:
                with folder.open(meta_name) as s:
                    loaded = json.loads(s.whole())
                meta = loaded if isinstance(loaded, dict) else None
            except OverBudget:
                raise
            except (OSError, ValueError, RecursionError) as e:
                notes.warn(meta_name, f"not readable ({e}); ignored")
        agents.append(AgentFile(name=n, session=sub, meta=meta))
    return attach_subagents(session, agents, notes)


def _same_session(head: bytes, session_id: str | None) -> bool:
    """Whether a flat agent-*.jsonl file belongs to the session (its records' sessionId)."""
    if session_id is None:
        return False
    for line in head.split(b"\n")[:5]:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # a line nested too deeply is not a record head
            continue
        if isinstance(obj, dict) and "sessionId" in obj:
            return bool(obj["sessionId"] == session_id)
    return False


# ---- zips --------------------------------------------------------------------------------------

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    NotImplementedError,
    EOFError,  # a truncated member
    zlib.error,  # corrupt deflate data
    lzma.LZMAError,
)


def _safe_name(name: str) -> bool:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return False
    return ".." not in name.replace("\\", "/").split("/")


def _load_zip(
    f: BinaryIO, fmt: str | None, budget: Budget, *, source: str | None, want: Selector | _Every
) -> Parsed:
    """A zip: a claude.ai export, Claude Code sessions with their sub-agents, or transcript
    files. The listing is checked first (entry count, declared total size, paths); members are
    read in name order through the budget, and those after the conversation selected not at all.
    """
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise TranscriptError(f"not a readable zip ({e})", budget.where) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise TranscriptError(
                f"the zip holds {len(infos):,} entries (at most {MAX_ZIP_MEMBERS:,})"
            )
        total = sum(i.file_size for i in infos)
        if total > budget.limits.max_bytes:
            raise OverBudget(
                f"the zip expands to {total:,} bytes (at most {budget.limits.max_bytes:,}, the "
                "limit of bytes read and decompressed per load); refused",
                budget.where,
            )
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if not _safe_name(name):
                raise TranscriptError("unsafe path in the zip (absolute or with ..)", name)
            base = posixpath.basename(name.rstrip("/"))
            if info.is_dir() or name.startswith("__MACOSX/") or base.startswith("."):
                continue
            if info.flag_bits & 0x1:
                raise TranscriptError("encrypted zip member", name)
            members[name] = info
        if not members:
            raise TranscriptError("the zip holds no files")
        exports = [n for n in members if posixpath.basename(n) == "conversations.json"]
        chosen = exports[:1] or [n for n in members if _is_session_name(n)]
        if not chosen:
            chosen = [
                n
                for n in members
                if n.lower().endswith((".json", ".jsonl", ".yaml", ".yml", ".gz", ".xz", ".bz2"))
            ] or list(members)
        chosen.sort()
        out = Parsed([], None, [])
        absorbed: set[str] = set()
        listed: list[tuple[str, int]] = []
        whole = _ZipFolder(zf, members, budget, "", source)

        def text_of(member: str) -> str:
            with whole.open(member) as s:
                return _decode(s.whole(), member)

        sessions = [n for n in chosen if _is_session_name(n)]
        for k, name in enumerate(chosen):
            if name in absorbed:
                continue
            folder = _ZipFolder(zf, members, budget, posixpath.dirname(name), source)
            parsed = _load_member(folder, posixpath.basename(name), fmt, budget)
            if parsed.session is not None:
                parsed.conversations[0] = _with_subagents(parsed.session, name, folder)
                if parsed.session.resumes is not None:
                    ((_, parsed),) = _join_resumed(
                        [(name, parsed)],
                        text_of,
                        lambda session, n, resumed: _with_subagents(
                            session,
                            n,
                            _ZipFolder(zf, members, budget, posixpath.dirname(n), source),
                            resumed,
                        ),
                        whole.source,
                        sessions,
                        absorbed=absorbed,
                    )
            listed.append((name, len(out.conversations)))
            for conv in parsed.conversations:
                # a warning located by line names its member too, as errors do
                conv.warnings[:] = [
                    f"{name}, {w}" if w.startswith("line ") else w for w in conv.warnings
                ]
                out.conversations.append(conv)
            out.ids.extend(parsed.ids)
            if _enough(out, want):
                out.unread = len(chosen) - k - 1
                break
        _drop_absorbed(out, listed, absorbed)
    return out


def _load_member(folder: _ZipFolder, name: str, fmt: str | None, budget: Budget) -> Parsed:
    """One transcript file of a zip (not a zip itself)."""
    where = folder.source(name)
    try:
        with folder.open(name) as s:
            if s.head.startswith(_ZIP):
                raise TranscriptError("a zip inside the zip: not read")
            if not s.head:
                raise TranscriptError("empty file")
            if _is_session(s.head, fmt):
                notes = Notes()
                lines = _text_lines(s.lines(), notes)
                session = parse_session(lines, source=folder.source(name), notes=notes)
                return Parsed([session.conv], session, [session.session_id])
            skipped: list[str] = []
            text = _decode(s.whole(), "", skipped)
            return _warned(parse_text(text, fmt, source=folder.source(name)), skipped)
    except TranscriptError as e:
        if isinstance(e, OverBudget) or e.location == budget.where:  # named already
            raise
        raise TranscriptError(e.problem, _in_member(where, e.location)) from None
