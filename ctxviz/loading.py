"""Load transcripts: ``load(path)``, ``loads(data)``, ``load_all(path)``.

Bytes are decompressed by their magic number (gzip, xz, bzip2), zips are read in memory after
their listing is checked, text is decoded as UTF-8 (a BOM is honoured), and the format is detected
from the content (``ctxviz.formats``). A Claude Code session loaded from a path, a folder or a zip
picks up its sub-agent transcripts: ``<session>/subagents/agent-*.jsonl`` with ``.meta.json``
(Claude Code 2.1) or flat ``agent-*.jsonl`` files beside it with the same ``sessionId`` (2.0).
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
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

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

__all__ = ["load", "load_all", "loads", "loads_all"]

MAX_DECOMPRESSED_BYTES = 1 << 30
"""A compressed input may not expand beyond this (1 GiB): a guard against decompression bombs."""
MAX_ZIP_BYTES = 1 << 30
"""The total uncompressed size a zip may declare (1 GiB)."""
MAX_ZIP_MEMBERS = 10_000
"""How many entries a zip may hold."""

Selector = int | str | None


# ---- public API --------------------------------------------------------------------------------


def load(
    path: str | os.PathLike[str], format: str | None = None, *, conversation: Selector = None
) -> Conversation:
    """Read one transcript file (or a Claude Code session folder, or a zip) into a Conversation.

    When the input holds several conversations (a claude.ai export, a zip of sessions) the first
    with messages is returned, or the one ``conversation`` selects (index, uuid / session id or
    name); its warnings name the others.
    """
    return _select(_load_path(path, normalize_format(format)), conversation)


def loads(
    data: str | bytes, format: str | None = None, *, conversation: Selector = None
) -> Conversation:
    """Read a transcript from a string or bytes (no sub-agent files: there is no folder)."""
    return _select(_load_data(data, normalize_format(format), source=None), conversation)


def load_all(path: str | os.PathLike[str], format: str | None = None) -> list[Conversation]:
    """Every conversation the input holds, in order (one for most files)."""
    return _load_path(path, normalize_format(format)).conversations


def loads_all(data: str | bytes, format: str | None = None) -> list[Conversation]:
    """Every conversation held by a string or bytes."""
    return _load_data(data, normalize_format(format), source=None).conversations


# ---- selection ---------------------------------------------------------------------------------


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
    if len(convs) > 1:
        name = conv.title or (ids[chosen] if chosen < len(ids) else None) or f"number {chosen}"
        conv = replace(
            conv,
            warnings=[
                f"this export holds {len(convs)} conversations; loaded {name!r} (index {chosen}); "
                "use load_all or conversation=<index, id or name> for another",
                *conv.warnings,
            ],
        )
    return conv


# ---- bytes -------------------------------------------------------------------------------------

_GZIP, _XZ, _BZ2 = b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")


def _gzip(f: io.BytesIO) -> io.BufferedIOBase:
    return gzip.GzipFile(fileobj=f)


def _decompress(data: bytes, where: str = "") -> bytes:
    """Undo gzip / xz / bzip2 compression recognised by magic bytes (nested ones too)."""
    for _ in range(3):
        opener: Callable[[io.BytesIO], io.BufferedIOBase]
        if data.startswith(_GZIP):
            name, opener = "gzip", _gzip
        elif data.startswith(_XZ):
            name, opener = "xz", lzma.LZMAFile
        elif data.startswith(_BZ2) and data[3:4].isdigit():
            name, opener = "bzip2", bz2.BZ2File
        else:
            return data
        try:
            with opener(io.BytesIO(data)) as f:
                out = f.read(MAX_DECOMPRESSED_BYTES + 1)
        except EOFError:
            raise TranscriptError(f"truncated {name} data: the stream ends early", where) from None
        except (OSError, lzma.LZMAError, zlib.error, ValueError) as e:
            raise TranscriptError(f"not valid {name} data ({e})", where) from None
        if len(out) > MAX_DECOMPRESSED_BYTES:
            raise TranscriptError(
                f"{name} data expands beyond {MAX_DECOMPRESSED_BYTES:,} bytes; refused", where
            )
        data = out
    return data


def _decode(data: bytes, where: str = "", skipped: list[str] | None = None) -> str:
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


def _line_problem(line: bytes) -> str | None:
    """Why one line is not text (a NUL byte, or bytes that are not UTF-8), else None."""
    nul = line.find(b"\x00")
    if nul >= 0:
        return f"binary data: a NUL byte at column {nul + 1}; skipped"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 text: byte 0x{line[e.start]:02x} at column {e.start + 1}; skipped"
    return None


def _readable_lines(data: bytes, where: str, skipped: list[str]) -> str | None:
    """JSON Lines with some lines that are not text: those lines blanked (line numbers kept) and
    named in ``skipped``; None unless two or more lines are readable JSON objects."""
    out: list[str] = []
    found: list[str] = []
    objects = 0
    for n, line in enumerate(data.split(b"\n"), 1):
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


def _load_data(data: str | bytes, fmt: str | None, *, source: str | None) -> Parsed:
    if isinstance(data, str):
        return parse_text(data, fmt, source=source)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"loads() takes str or bytes, not {type(data).__name__}")
    raw = _decompress(bytes(data))
    if raw.startswith(_ZIP):
        return _load_zip(raw, fmt, source=source)
    if not raw:
        raise TranscriptError("empty input: no transcript")
    skipped: list[str] = []
    return _warned(parse_text(_decode(raw, "", skipped), fmt, source=source), skipped)


# ---- paths and folders -------------------------------------------------------------------------


def _load_path(path: str | os.PathLike[str], fmt: str | None, *, join: bool = True) -> Parsed:
    p = Path(path)
    if p.is_dir():
        return _load_folder(p, fmt)
    session = _stream_session(p, fmt)
    skipped: list[str] = []
    if session is not None:
        parsed = Parsed([session.conv], session, [session.session_id])
    else:
        raw = _decompress(p.read_bytes(), p.name)
        if raw.startswith(_ZIP):
            return _load_zip(raw, fmt, source=str(p))
        if not raw:
            raise TranscriptError("empty file: no transcript", p.name)
        parsed = parse_text(_decode(raw, "", skipped), fmt, source=str(p))
    if parsed.session is not None and not p.name.startswith("agent-"):
        folder = _DiskFolder(p.parent)
        parsed.conversations[0] = _with_subagents(parsed.session, p.name, folder)
        if join and parsed.session.resumes is not None:
            # the session it resumes, in a session file beside it
            d = p.parent
            ((_, parsed),) = _join_resumed(
                [(p.name, parsed)],
                lambda name: _decode(_decompress((d / name).read_bytes(), name), name),
                lambda session, name, resumed: _with_subagents(session, name, folder, resumed),
                lambda name: str(d / name),
                sorted(f.name for f in d.iterdir() if f.is_file() and _is_session_name(f.name)),
                lambda name, uuid: _mentions(d / name, uuid),
            )
    return _warned(parsed, skipped)


def _stream_session(p: Path, fmt: str | None) -> Session | None:
    """A plain Claude Code session file read line by line, else None (read it whole).

    Held whole, a session costs its bytes, its text (up to 4 bytes a character: one emoji widens
    it all) and its records at once, about 10× the file at the peak; line by line, only records.
    """
    if fmt not in (None, "claude-code"):
        return None
    with p.open("rb") as f:
        head = f.read(65536)
        if head.startswith((_GZIP, _XZ, _BZ2, *_ZIP, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return None
        if fmt is None and not _session_head(head):
            return None
        if not head.strip():
            return None
        f.seek(0)
        notes = Notes()
        return parse_session(_text_lines(f, notes), source=str(p), notes=notes)


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
        except ValueError:
            if i == 0:
                return False
            continue
        if i == 0 and not isinstance(sample[0], dict):
            return False
    return looks_like(sample)


def _text_lines(f: io.BufferedIOBase, notes: Notes) -> Iterator[str]:
    """The lines of a binary file as text; a line that is not text is blanked and named in
    ``notes``, as ``_decode`` does for JSON Lines (the file's head showed it is a session)."""
    for n, line in enumerate(f, 1):
        if n == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[3:]
        problem = _line_problem(line)
        if problem is not None:
            notes.warn(f"line {n}", problem)
            yield ""
            continue
        yield line.decode("utf-8")


def _load_folder(d: Path, fmt: str | None) -> Parsed:
    """A folder: its session files (not agent-*), else its conversations.json."""
    sessions = sorted(f for f in d.iterdir() if f.is_file() and _is_session_name(f.name))
    if not sessions:
        export = d / "conversations.json"
        if export.is_file():
            return _load_path(export, fmt)
        raise TranscriptError(
            "no transcript in this folder (no session .jsonl, no conversations.json)", str(d)
        )
    entries = _join_resumed(
        [(f.name, _load_path(f, fmt, join=False)) for f in sessions],
        lambda name: _decode(_decompress((d / name).read_bytes(), name), name),
        lambda session, name, resumed: _with_subagents(session, name, _DiskFolder(d), resumed),
        lambda name: str(d / name),
    )
    out = Parsed([], None, [])
    for _, parsed in entries:
        out.conversations.extend(parsed.conversations)
        out.ids.extend(parsed.ids)
    return out


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
    absorbed: set[str] = set()
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

    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self, stem: str) -> list[str]:
        out = [f.name for f in self.root.glob("agent-*.jsonl") if f.is_file()]
        sub = self.root / stem / "subagents"
        if sub.is_dir():
            out.extend(f"{stem}/subagents/{f.name}" for f in sub.iterdir() if f.is_file())
        return sorted(out)

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def source(self, name: str) -> str:
        return str(self.root / name)

    def head(self, name: str) -> bytes:
        with (self.root / name).open("rb") as f:
            return f.read(65536)


class _ZipFolder:
    """Members of a zip already read into memory."""

    def __init__(self, members: dict[str, bytes], base: str, origin: str | None) -> None:
        self.members = members
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

    def read(self, name: str) -> bytes:
        return self.members[f"{self.base}/{name}" if self.base else name]

    def head(self, name: str) -> bytes:
        return self.read(name)[:65536]


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
            if not nested and not any(
                _same_session(head, i) for head in (folder.head(n),) for i in ids
            ):
                continue
            text = _decode(_decompress(folder.read(n), n), n)
            sub = parse_session(text, source=folder.source(n))
        except (OSError, TranscriptError) as e:
            notes.warn(n, f"sub-agent transcript could not be read ({e}); skipped")
            continue
        meta = None
        meta_name = n.removesuffix(".jsonl") + ".meta.json"
        if nested and meta_name in names:
            try:
                loaded = json.loads(folder.read(meta_name))
                meta = loaded if isinstance(loaded, dict) else None
            except (OSError, ValueError) as e:
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
        except ValueError:
            continue
        if isinstance(obj, dict) and "sessionId" in obj:
            return bool(obj["sessionId"] == session_id)
    return False


# ---- zips --------------------------------------------------------------------------------------


def _safe_name(name: str) -> bool:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return False
    return ".." not in name.replace("\\", "/").split("/")


def _load_zip(data: bytes, fmt: str | None, *, source: str | None) -> Parsed:
    """A zip read in memory: a claude.ai export, Claude Code sessions with their sub-agents, or
    transcript files. The listing is checked first (entry count, declared total size, paths)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise TranscriptError(f"not a readable zip ({e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise TranscriptError(
                f"the zip holds {len(infos):,} entries (at most {MAX_ZIP_MEMBERS:,})"
            )
        total = sum(i.file_size for i in infos)
        if total > MAX_ZIP_BYTES:
            raise TranscriptError(
                f"the zip expands to {total:,} bytes (at most {MAX_ZIP_BYTES:,}); refused"
            )
        for info in infos:
            if not _safe_name(info.filename):
                raise TranscriptError("unsafe path in the zip (absolute or with ..)", info.filename)
        members: dict[str, bytes] = {}
        for info in infos:
            name = info.filename
            base = posixpath.basename(name.rstrip("/"))
            if info.is_dir() or name.startswith("__MACOSX/") or base.startswith("."):
                continue
            if info.flag_bits & 0x1:
                raise TranscriptError("encrypted zip member", name)
            try:
                members[name] = zf.read(info)
            except (
                zipfile.BadZipFile,
                OSError,
                ValueError,
                NotImplementedError,
                EOFError,  # a truncated member
                zlib.error,  # corrupt deflate data
                lzma.LZMAError,
            ) as e:
                raise TranscriptError(f"zip member cannot be read ({e})", name) from None
    if not members:
        raise TranscriptError("the zip holds no files")
    exports = [n for n in members if posixpath.basename(n) == "conversations.json"]
    chosen = exports[:1] or [n for n in members if _is_session_name(n)]
    if not chosen:
        chosen = [
            n
            for n in members
            if n.lower().endswith((".json", ".jsonl", ".yaml", ".yml", ".gz", ".xz", ".bz2"))
        ] or sorted(members)
    entries: list[tuple[str, Parsed]] = []
    for name in sorted(chosen):
        member_source = f"{source}/{name}" if source else name
        try:
            raw = _decompress(members[name])
            if not raw:
                raise TranscriptError("empty file")
            skipped: list[str] = []
            parsed = parse_text(_decode(raw, name, skipped), fmt, source=member_source)
        except TranscriptError as e:
            raise TranscriptError(
                e.problem, f"{name}, {e.location}" if e.location else name
            ) from None
        if parsed.session is not None:
            folder = _ZipFolder(members, posixpath.dirname(name), source)
            parsed.conversations[0] = _with_subagents(parsed.session, name, folder)
        entries.append((name, _warned(parsed, skipped)))
    entries = _join_resumed(
        entries,
        lambda name: _decode(_decompress(members[name]), name),
        lambda session, name, resumed: _with_subagents(
            session, name, _ZipFolder(members, posixpath.dirname(name), source), resumed
        ),
        lambda name: f"{source}/{name}" if source else name,
    )
    out = Parsed([], None, [])
    for name, parsed in entries:
        for conv in parsed.conversations:
            # a warning located by line names its member too, as errors do
            conv.warnings[:] = [
                f"{name}, {w}" if w.startswith("line ") else w for w in conv.warnings
            ]
            out.conversations.append(conv)
        out.ids.extend(parsed.ids)
    return out
