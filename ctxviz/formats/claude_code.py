"""Claude Code session JSONL → ``Conversation``.

A session file is an append-only log of records linked by ``parentUuid``. One API response is
written as several ``assistant`` lines sharing ``message.id`` (one per content block, usage
repeated, early lines carrying placeholder ``output_tokens``); parallel tool results are separate
``user`` records that form one API message; bookkeeping records (progress, snapshots, queue and
permission records…) sit in the chain but are not sent. Edits and retries leave abandoned
branches behind.

The main chain is found by walking ``parentUuid`` (``logicalParentUuid`` across a compact boundary,
the anchor from a preserved segment's head) back from the newest message record, then
re-attaching what Claude Code hangs beside the chain: the other lines of a response on the chain,
the results of its parallel tool calls, and meta records hanging off those. Messages follow the
chain, the records beside it in writing order (timestamp, then depth, then line), so the order of
the file's lines does not matter; requests are one per ``message.id`` on the chain.
"""

from __future__ import annotations

import gc
import heapq
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ctxviz.errors import TranscriptError
from ctxviz.formats._blocks import (
    Notes,
    check_messages,
    fail,
    first_text,
    kind,
    parse_content,
    parse_usage,
    read_record,
    str_or,
)
from ctxviz.model import (
    Block,
    Conversation,
    Message,
    RecordedCompaction,
    RecordedMicrocompaction,
    Request,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

SYNTHETIC_MODEL = "<synthetic>"
_NAME_FIELDS = {"custom-title": "customTitle", "ai-title": "aiTitle", "agent-name": "agentName"}
AGENT_TOOLS = frozenset({"Task", "Agent"})
_READ_FIELDS: Final = frozenset(
    {
        "type",
        "uuid",
        "parentUuid",
        "logicalParentUuid",
        "timestamp",
        "sessionId",
        "agentId",
        "message",
        "subtype",
        "microcompactMetadata",
        "compactMetadata",
        "isCompactSummary",
        "attachment",
        "isMeta",
        "isSidechain",
        "summary",
        *_NAME_FIELDS.values(),
    }
)
"""The fields of a record that reading a session uses (``toolUseResult``, ``data`` and
``parentToolUseID`` apart): a record keeps only these until the session is built, so that the
bookkeeping every record carries (``cwd``, ``gitBranch``, ``slug``, ``version``…, a third of a
progress record) is not held in memory for the whole file at once."""
_SHARED_FIELDS: Final = ("type", "sessionId")
"""Fields whose few values repeat on every record: one string object each is kept."""

# Attachments that Claude Code never sends to the model (from its attachment normaliser).
_SILENT_ATTACHMENTS = frozenset(
    {
        "already_read_file",
        "command_permissions",
        "edited_image_file",
        "hook_cancelled",
        "hook_error_during_execution",
        "hook_non_blocking_error",
        "hook_system_message",
        "structured_output",
        "hook_permission_decision",
        "dynamic_skill",
        "context_efficiency",
        "autocheckpointing",
        "background_task_status",
        "todo",
        "task_progress",
    }
)


@dataclass(slots=True)
class _Item:
    """A message being assembled: the records it merges and each block's line."""

    role: str
    blocks: list[Block]
    places: list[tuple[int, int]]
    """Each block's (line, index in that record's ``message.content``)."""
    first_line: int
    summary: bool = False
    closed: bool = False
    copy: bool = False
    """A message kept verbatim after a compaction summary (its second place in the history)."""
    segment: int = 0
    """The compact boundaries passed before it."""
    # assistant responses only
    model: str | None = None
    usage: dict[str, Any] | None = None
    usage_line: int = 0
    best_output: int = -1
    stop_reason: str | None = None
    timestamp: str | None = None


@dataclass(slots=True)
class Session:
    """A parsed session file and what is needed to link its sub-agents."""

    conv: Conversation
    session_id: str | None = None
    agent_id: str | None = None
    first_prompt: str = ""
    first_parent: str | None = None
    """The record the chain's first record continues from, when it is not in the file."""
    resumes: str | None = None
    """For a main session: the record of another session its chain continues from (resumed)."""
    session_ids: set[str] = field(default_factory=set)
    """When joined with the sessions it resumes: every ``sessionId`` of the joined records."""
    first_timestamp: str = ""
    agent_links: dict[str, str] = field(default_factory=dict)
    """``agentId`` → the ``tool_use`` id of the Task/Agent call that started it."""
    task_calls: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Task/Agent ``tool_use`` id → (prompt, description)."""
    boundaries: dict[str, tuple[int, int]] = field(default_factory=dict)
    """The record a compact boundary continues from → (its line, index in ``compactions``)."""


def looks_like(records: Sequence[object]) -> bool:
    """Whether parsed JSONL records look like a Claude Code session."""
    for obj in records:
        if isinstance(obj, dict) and (
            "parentUuid" in obj
            or "sessionId" in obj
            or obj.get("type") in ("file-history-snapshot", "queue-operation", "summary")
        ):
            return True
    return False


def parse_session(
    text: str | Iterable[str],
    *,
    source: str | None = None,
    notes: Notes | None = None,
    resumed: Sequence[tuple[str, str]] = (),
) -> Session:
    """Read one session (or sub-agent) JSONL file: its text, or its lines one by one (so that a
    large file is never held whole as text, which takes up to 4 bytes a character).

    ``resumed``: the (name, text) of the session files it resumes, oldest first, read as records
    written before its own; their lines are named with their file ("line 12 of name").
    """
    # The records are plain dicts with no reference cycles; letting the cyclic collector rescan
    # the growing list on every allocation threshold roughly halves the reading speed.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, source, notes if notes is not None else Notes(), resumed)
    finally:
        if collecting:
            gc.enable()


class _Line(int):
    """A line of a session joined from several files: ordered by its place in the joined
    records, shown as the line of its own file."""

    shown: int
    name: str | None

    def __new__(cls, value: int, shown: int, name: str | None) -> _Line:
        line = super().__new__(cls, value)
        line.shown, line.name = shown, name
        return line

    def __format__(self, spec: str) -> str:
        return f"{self.shown} of {self.name}" if self.name else str(self.shown)

    def __str__(self) -> str:
        return self.__format__("")

    __repr__ = __str__


def _joined_lines(
    resumed: Sequence[tuple[str, str]], own: Iterable[str]
) -> Iterator[tuple[int, str]]:
    total = 0
    for name, text in resumed:
        for k, line in enumerate(text.split("\n"), 1):
            total += 1
            yield _Line(total, k, name), line
    for k, line in enumerate(own, 1):
        total += 1
        yield _Line(total, k, None), line


_raw_decode = json.JSONDecoder().raw_decode


def _parse(
    text: str | Iterable[str], source: str | None, notes: Notes, resumed: Sequence[tuple[str, str]]
) -> Session:
    raw_decode = _raw_decode
    recs: list[tuple[int, dict[str, Any]]] = []
    by_uuid: dict[str, int] = {}
    duplicates = 0
    lines = text.split("\n") if isinstance(text, str) else text
    numbered = _joined_lines(resumed, lines) if resumed else enumerate(lines, 1)
    own_session: str | None = None
    session_ids: set[str] = set()
    shared: dict[str, str] = {}
    for n, line in numbered:
        if not line or line.isspace():
            continue
        try:
            obj, end = raw_decode(line)
            ok = type(obj) is dict and (end == len(line) or line[end:].isspace())
        except (ValueError, RecursionError):
            ok = False
        if not ok:
            # the standard parser again, for its warning (or to accept leading blanks)
            obj = read_record(line, n, notes)
            if obj is None:
                continue
        obj = _kept(obj, shared)
        if resumed:
            sid = _str(obj.get("sessionId"))
            if sid is not None:
                session_ids.add(sid)
                if own_session is None and not getattr(n, "name", None):
                    own_session = sid
        u = obj.get("uuid")
        if type(u) is str:
            if u in by_uuid:
                duplicates += 1
                continue
            by_uuid[u] = len(recs)
        recs.append((n, obj))
    if duplicates:
        notes.warn("", f"{duplicates} records repeat an earlier record's uuid; skipped")
    session = _build(recs, by_uuid, source, notes)
    if resumed and own_session is not None:
        session.session_id = own_session  # the file's own, to be selected by
        session.session_ids = session_ids  # and every file's, for their flat agent-*.jsonl
    return session


def _kept(obj: dict[str, Any], shared: dict[str, str]) -> dict[str, Any]:
    """A record with only the fields reading it uses (``_READ_FIELDS``): of a ``toolUseResult``
    object its ``agentId`` (the rest repeats the tool's output, a third of a typical session
    file), of a progress record's ``data`` its type and ``agentId`` (and its
    ``parentToolUseID``) when it links a sub-agent. ``shared``: the one string kept for each
    value of ``_SHARED_FIELDS`` met so far."""
    kept = {k: v for k, v in obj.items() if k in _READ_FIELDS}
    for k in _SHARED_FIELDS:
        value = kept.get(k)
        if type(value) is str:
            kept[k] = shared.setdefault(value, value)
    tool_result = obj.get("toolUseResult")
    if type(tool_result) is dict:
        kept["toolUseResult"] = {"agentId": tool_result.get("agentId")}
    data = obj.get("data")
    if type(data) is dict and data.get("type") == "agent_progress":
        kept["data"] = {"type": "agent_progress", "agentId": data.get("agentId")}
        kept["parentToolUseID"] = obj.get("parentToolUseID")
    return kept


def _message(obj: dict[str, Any], n: int) -> dict[str, Any]:
    msg = obj.get("message")
    if type(msg) is not dict:
        fail(
            f"a {obj.get('type')} record needs a `message` object, found {kind(msg)}", f"line {n},"
        )
    role = msg.get("role")
    if role is not None and role not in ("user", "assistant"):
        fail(f"unknown role {role!r} (expected user or assistant)", f"line {n}, message.role")
    return msg


def _read_message(
    obj: dict[str, Any], n: int, notes: Notes
) -> tuple[dict[str, Any], list[Block]] | None:
    """A record's message and blocks, or None (with a warning) when its structure is broken.

    Each line of a session stands alone (one block of one message), so a broken one is skipped
    and named rather than refusing the whole session.
    """
    try:
        msg = _message(obj, n)
        return msg, list(parse_content(msg.get("content"), f"line {n}, message.content", notes))
    except TranscriptError as e:
        notes.warn(e.location, f"{e.problem}; line skipped")
        return None


@dataclass(slots=True)
class _Items:
    """The session's messages being assembled, record by record in chain order: a response's
    records merged by message id, consecutive user records merged, compact boundaries and
    summaries, microcompact marks."""

    items: list[_Item] = field(default_factory=list)
    groups: dict[tuple[str, int, bool], _Item] = field(default_factory=dict)
    segment_starts: list[int] = field(default_factory=list)
    compactions: list[dict[str, Any]] = field(default_factory=list)
    pending_boundary: dict[str, Any] | None = None
    new_segment: bool = False
    segment: int = 0
    """Compact boundaries passed."""
    micro_marks: list[tuple[int, tuple[str, ...], int]] = field(default_factory=list)
    """(line, tool ids, next item) of each microcompact boundary."""
    prompt_title: str | None = None
    """The title of the first genuine user prompt."""

    def _open(self, item: _Item) -> None:
        if self.new_segment:
            self.segment_starts.append(len(self.items))
            self.new_segment = False
        self.items.append(item)

    def add(
        self, rec: tuple[int, dict[str, Any]], copy: bool, session: Session, notes: Notes
    ) -> None:
        """One record of the chain (``copy``: its second place, after a compaction summary)."""
        n, obj = rec
        t = obj.get("type")
        if not session.first_timestamp and type(obj.get("timestamp")) is str:
            session.first_timestamp = obj["timestamp"]
        if session.agent_id is None and type(obj.get("agentId")) is str:
            session.agent_id = obj["agentId"]
        if t == "assistant":
            read = _read_message(obj, n, notes)
            if read is None:
                return
            msg, blocks = read
            mid = msg.get("id")
            if not isinstance(mid, str):
                mid = str_or(obj.get("uuid"), f"line {n}")
            item = self.groups.get((mid, self.segment, copy))
            if item is None:
                item = _Item(
                    role="assistant",
                    blocks=[],
                    places=[],
                    first_line=n,
                    copy=copy,
                    segment=self.segment,
                )
                self.groups[mid, self.segment, copy] = item
                self._open(item)
                model, when = msg.get("model"), obj.get("timestamp")
                item.model = model if type(model) is str else None
                item.timestamp = when if type(when) is str else None
            item.blocks.extend(blocks)
            item.places.extend((n, k) for k in range(len(blocks)))
            usage = msg.get("usage")
            if type(usage) is dict:
                out = usage.get("output_tokens")
                out = out if type(out) is int else 0
                if out >= item.best_output:
                    item.best_output, item.usage, item.usage_line = out, usage, n
            if type(msg.get("stop_reason")) is str:
                item.stop_reason = msg["stop_reason"]
            return
        if t == "system":
            if obj.get("subtype") == "microcompact_boundary":
                meta = obj.get("microcompactMetadata")
                listed = meta.get("compactedToolIds") if type(meta) is dict else None
                cleared = [x for x in listed if type(x) is str] if type(listed) is list else []
                self.micro_marks.append((n, tuple(cleared), len(self.items)))
            elif obj.get("subtype") == "compact_boundary":
                meta = obj.get("compactMetadata")
                self.pending_boundary = {
                    "line": n,
                    "meta": meta if type(meta) is dict else {},
                    "from": obj.get("logicalParentUuid"),
                    "place": f"line {n}",
                }
                self.segment += 1
                self.new_segment = True
                if self.items:
                    self.items[-1].closed = True
            return
        if t == "user":
            read = _read_message(obj, n, notes)
            if read is None:
                return
            blocks = read[1]
            summary = obj.get("isCompactSummary") is True
        elif t == "attachment":
            a = obj.get("attachment")
            text = _attachment_text(a) if type(a) is dict else None
            if text is None:
                return
            blocks = [TextBlock(text=text)]
            summary = False
        else:
            return
        if not blocks:
            return
        last = self.items[-1] if self.items else None
        if (
            summary
            or last is None
            or last.role != "user"
            or last.closed
            or last.summary
            or last.copy != copy
        ):
            item = _Item(
                role="user",
                blocks=list(blocks),
                places=[(n, k) for k in range(len(blocks))],
                first_line=n,
                copy=copy,
                segment=self.segment,
            )
            item.summary = summary
            self._open(item)
        else:
            last.blocks.extend(blocks)
            last.places.extend((n, k) for k in range(len(blocks)))
        if summary:
            boundary = self.pending_boundary or {"line": n, "meta": {}, "from": None, "place": None}
            self.pending_boundary = None
            if not self.segment_starts or self.segment_starts[-1] != len(self.items) - 1:
                self.segment_starts.append(len(self.items) - 1)
            self.new_segment = False
            self.compactions.append(
                {**boundary, "summary": len(self.items) - 1, "segment": self.segment}
            )
        elif self.prompt_title is None and t == "user" and not obj.get("isMeta"):
            self.prompt_title = _prompt_title(blocks)

    def finish(self, notes: Notes) -> None:
        if self.pending_boundary is not None:
            notes.warn(
                f"line {self.pending_boundary['line']}",
                "compact_boundary has no compact summary after it; prompts restart after it",
            )


def _build(
    recs: list[tuple[int, dict[str, Any]]],
    by_uuid: dict[str, int],
    source: str | None,
    notes: Notes,
) -> Session:
    session = Session(conv=Conversation(format="claude-code", messages=(), requests=()))
    keys = _order_keys(recs, by_uuid)
    chain, root_parent = _main_chain(recs, by_uuid, keys, notes)
    sidechain_file = all(
        obj.get("isSidechain") for _, obj in recs if obj.get("type") in ("user", "assistant")
    )
    included = _included(recs, by_uuid, keys, chain, sidechain_file, notes)
    order = _in_order(recs, by_uuid, keys, chain, included)
    title, names = _session_facts(recs, keys, session)
    built = _Items()
    for i, copy in order:
        built.add(recs[i], copy, session, notes)
    built.finish(notes)
    items = built.items
    messages, requests, request_of_message, models = _messages_and_requests(
        items, built.segment_starts, session, notes
    )
    recorded = _recorded_compactions(built, request_of_message, session, notes)
    micro = _microcompactions(built.micro_marks, messages, requests)

    def locate(i: int, j: int) -> str:
        n, k = items[i].places[j]
        return f"line {n}, message.content[{k}]"

    check_messages(messages, notes, locate)
    if items and items[0].role == "user":
        session.first_prompt = first_text(items[0].blocks)
    session.first_parent = root_parent
    session.resumes = None if sidechain_file else root_parent
    session.conv = replace(
        session.conv,
        messages=tuple(messages),
        requests=tuple(requests),
        # The session's model is the one it started on: a skill or a /model switch may run
        # many requests on another, and each request keeps its own model for pricing.
        model=models[0] if models else None,
        compactions=tuple(recorded),
        microcompactions=micro,
        hidden_prefix=True,
        title=next(
            (names[k][1] for k in ("custom-title", "ai-title") if k in names),
            title if title is not None else built.prompt_title,
        ),
        agent_name=names["agent-name"][1] if "agent-name" in names else None,
        source=source,
        warnings=notes.finish(),
    )
    return session


def _included(
    recs: list[tuple[int, dict[str, Any]]],
    by_uuid: dict[str, int],
    keys: list[tuple[str, int, int]],
    chain: list[tuple[int, bool]],
    sidechain_file: bool,
    notes: Notes,
) -> bytearray:
    """Which records are in the session: the main chain, and the records attached to it (the
    other parts of its responses, the results of its calls, their attachments)."""
    included = bytearray(len(recs))
    for idx, _copy in chain:
        included[idx] = 1

    chain_ids: set[str] = set()
    for i, (_, obj) in enumerate(recs):
        if included[i] and obj.get("type") == "assistant":
            msg = obj.get("message")
            if type(msg) is dict and type(msg.get("id")) is str:
                chain_ids.add(msg["id"])
    chain_tools: set[str] = set()
    all_tools: set[str] = set()  # held by any readable record, on the chain or not
    answered: set[str] = set()
    for i, (_, obj) in enumerate(recs):
        t = obj.get("type")
        msg = obj.get("message")
        if type(msg) is not dict or type(msg.get("content")) is not list:
            continue
        if t == "assistant":
            ids = [
                b["id"]
                for b in msg["content"]
                if type(b) is dict and b.get("type") == "tool_use" and type(b.get("id")) is str
            ]
            all_tools.update(ids)
            if _str(msg.get("id")) in chain_ids:
                chain_tools.update(ids)
        elif t == "user" and included[i]:
            answered.update(_result_ids(msg["content"]))

    attached: set[str] = set()
    abandoned = sidechains = 0
    # in writing order (timestamp, then depth), so that a file's line order does not matter
    by_key = sorted(range(len(recs)), key=keys.__getitem__)
    for i in by_key:
        if included[i]:
            continue
        obj = recs[i][1]
        t = obj.get("type")
        if t == "system" and obj.get("subtype") == "microcompact_boundary":
            parent = by_uuid.get(_str(obj.get("parentUuid")) or "")
            if parent is not None and included[parent]:
                included[i] = 1
            continue
        if t not in ("user", "assistant", "attachment"):
            continue
        if obj.get("isSidechain") and not sidechain_file:
            sidechains += t != "attachment"
            continue
        take = False
        msg = obj.get("message")
        if t == "assistant":
            take = type(msg) is dict and _str(msg.get("id")) in chain_ids
        elif t == "user":
            content = msg.get("content") if type(msg) is dict else None
            ids = _result_ids(content)
            whole = bool(ids) and isinstance(content, list) and len(ids) == len(content)
            if whole and all(r in chain_tools and r not in answered for r in ids):
                answered.update(ids)
                take = True
            elif whole and not any(r in all_tools or r in answered for r in ids):
                # Results of calls that no readable line holds (one on an unreadable line, a
                # parallel call beside the chain's): kept, and the message builder says so.
                answered.update(ids)
                take = True
            elif obj.get("isMeta") and _str(obj.get("parentUuid")) in attached:
                take = True
        else:
            take = _str(obj.get("parentUuid")) in attached
        if take:
            included[i] = 1
            if type(obj.get("uuid")) is str:
                attached.add(obj["uuid"])
        elif t != "attachment":
            abandoned += 1
    if abandoned:
        notes.warn(
            "",
            f"{abandoned} message records sit on abandoned branches (edits or retries) "
            "and are not in the main chain; skipped",
        )
    if sidechains:
        notes.warn(
            "",
            f"{sidechains} sidechain records inside the session file are not in the main chain; "
            "skipped",
        )

    return included


def _session_facts(
    recs: list[tuple[int, dict[str, Any]]], keys: list[tuple[str, int, int]], session: Session
) -> tuple[str | None, dict[str, tuple[tuple[str, int, int], str]]]:
    """What any record says of the whole session (its id, sub-agent links), the first summary
    title, and the newest name of each kind (the user's rename, Claude Code's title, the agent's
    name)."""
    title: str | None = None
    names: dict[str, tuple[tuple[str, int, int], str]] = {}
    for i, (_, obj) in enumerate(recs):
        t = obj.get("type")
        if session.session_id is None and type(obj.get("sessionId")) is str:
            session.session_id = obj["sessionId"]
        if t == "user" and type(obj.get("toolUseResult")) is dict:
            _note_agent_link(obj, session)
        elif t == "progress":
            data = obj.get("data")
            if type(data) is dict and data.get("type") == "agent_progress":
                aid, tid = data.get("agentId"), obj.get("parentToolUseID")
                if type(aid) is str and type(tid) is str:
                    session.agent_links.setdefault(aid, tid)
        elif t == "summary" and title is None and type(obj.get("summary")) is str:
            title = obj["summary"]
        elif type(t) is str and t in _NAME_FIELDS:
            value = obj.get(_NAME_FIELDS[t])
            if type(value) is str and (t not in names or keys[i] > names[t][0]):
                names[t] = (keys[i], value)

    return title, names


def _messages_and_requests(
    items: list[_Item], segment_starts: list[int], session: Session, notes: Notes
) -> tuple[list[Message], list[Request], dict[int, int], list[str]]:
    """The messages, and a request per response (its prompt from the start of its segment):
    also each response's request by message, the models named, and the sub-agent calls."""
    models: list[str] = []
    messages: list[Message] = []
    requests: list[Request] = []
    starts = iter(segment_starts)
    next_start = next(starts, None)
    start = 0
    request_of_message: dict[int, int] = {}
    for i, item in enumerate(items):
        while next_start is not None and next_start <= i:
            start, next_start = next_start, next(starts, None)
        messages.append(
            Message(
                role="user" if item.role == "user" else "assistant",
                content=tuple(item.blocks),
                is_compact_summary=item.summary,
                source=f"line {item.first_line}",
            )
        )
        if item.role != "assistant" or item.model == SYNTHETIC_MODEL or item.copy:
            continue  # a preserved copy repeats a response sent before the compaction
        usage = None
        if item.usage is not None:
            try:
                usage = parse_usage(item.usage, f"line {item.usage_line}, message.usage")
            except TranscriptError as e:
                notes.warn("", f"{e}; this response's usage is ignored")
        if item.model:
            models.append(item.model)
        request_of_message[i] = len(requests)
        requests.append(
            Request(
                index=len(requests),
                prompt_start=start,
                prompt_end=i,
                response=i,
                usage=usage,
                model=item.model,
                stop_reason=item.stop_reason,
                source=f"line {item.first_line}",
                timestamp=item.timestamp,
            )
        )
        for b in item.blocks:
            if isinstance(b, ToolUseBlock) and b.name in AGENT_TOOLS and isinstance(b.input, dict):
                prompt, desc = b.input.get("prompt"), b.input.get("description")
                session.task_calls[b.id] = (
                    prompt if isinstance(prompt, str) else "",
                    desc if isinstance(desc, str) else "",
                )
    return messages, requests, request_of_message, models


def _recorded_compactions(
    built: _Items, request_of_message: dict[int, int], session: Session, notes: Notes
) -> list[RecordedCompaction]:
    """Each compact boundary with its summary, as a recorded compaction of the request after it
    (the messages kept verbatim after the summary are its ``preserved_messages``)."""
    items = built.items
    recorded: list[RecordedCompaction] = []
    for c in built.compactions:
        following = [r for m, r in request_of_message.items() if m > c["summary"]]
        if not following:
            notes.warn(
                f"line {c['line']}",
                "compaction at the end of the session with no request after it; not recorded",
            )
            continue
        meta = c["meta"]
        trigger = meta.get("trigger")
        if type(c["from"]) is str:
            session.boundaries[c["from"]] = (c["line"], len(recorded))
        copies = [
            m
            for m in range(c["summary"] + 1, len(items))
            if items[m].copy and items[m].segment == c["segment"]
        ]
        recorded.append(
            RecordedCompaction(
                kind="claude_code",
                request=min(following),
                summary_message=c["summary"],
                trigger=trigger if isinstance(trigger, str) else None,
                pre_tokens=_int(meta.get("preTokens")),
                post_tokens=_int(meta.get("postTokens")),
                duration_ms=_int(meta.get("durationMs")),
                preserved_messages=(copies[0], copies[-1] + 1) if copies else None,
                boundary_source=c["place"],
            )
        )
    return recorded


def _before_unreadable(recs: list[tuple[int, dict[str, Any]]], idx: int) -> int | None:
    """The message record on the side of ``idx`` (main or sidechain) written last before the
    nearest line above ``idx`` that is not a readable record, if there is one."""
    side = bool(recs[idx][1].get("isSidechain"))
    for j in range(idx - 1, -1, -1):
        if recs[j + 1][0] - recs[j][0] > 1:
            for k in range(j, -1, -1):
                rec = recs[k][1]
                on_side = bool(rec.get("isSidechain")) == side
                if on_side and rec.get("type") in ("user", "assistant"):
                    return k
            return None
    return None


def _order_keys(
    recs: list[tuple[int, dict[str, Any]]], by_uuid: dict[str, int]
) -> list[tuple[str, int, int]]:
    """Each record's place in writing order: its timestamp, then its depth in the parent graph
    (a child written in the same millisecond comes after its parent), then its line. Records
    without a timestamp keep their line order."""
    parent = [-1] * len(recs)
    for i, (_, obj) in enumerate(recs):
        u = obj.get("parentUuid") or obj.get("logicalParentUuid")
        if type(u) is str:
            parent[i] = by_uuid.get(u, -1)
    depth = [-1] * len(recs)  # -1: not yet known; -2: on the path being measured
    for i in range(len(recs)):
        path: list[int] = []
        j = i
        while j >= 0 and depth[j] == -1:
            depth[j] = -2
            path.append(j)
            j = parent[j]
        base = depth[j] if j >= 0 and depth[j] >= 0 else -1  # a root, or a cycle
        for k in reversed(path):
            base += 1
            depth[k] = base
    keys: list[tuple[str, int, int]] = []
    for i, (_, obj) in enumerate(recs):
        ts = obj.get("timestamp")
        keys.append((ts, depth[i], i) if type(ts) is str and ts else ("", 0, i))
    return keys


def _main_chain(
    recs: list[tuple[int, dict[str, Any]]],
    by_uuid: dict[str, int],
    keys: list[tuple[str, int, int]],
    notes: Notes,
) -> tuple[list[tuple[int, bool]], str | None]:
    """The main chain in order, each record with whether it is a preserved copy (a message kept
    verbatim after a compaction summary, met a second time), and the parent uuid the chain's first
    record names when that record is not in the file (a resumed session, a sub-agent).

    The chain ends at the newest message record (by timestamp, then depth, then line), not at the
    file's last line, and is followed back by ``parentUuid``; across a compact boundary by its
    ``logicalParentUuid``, or, when that record was never written, from the main-chain record
    written last before the boundary; from the head of a preserved segment to its anchor.
    """
    messages = [i for i, (_, obj) in enumerate(recs) if obj.get("type") in ("user", "assistant")]
    if not messages:
        raise TranscriptError("not a Claude Code session: no user or assistant records")
    any_main = any(not recs[i][1].get("isSidechain") for i in messages)
    candidates = [
        i
        for i in messages
        if type(recs[i][1].get("uuid")) is str and not (any_main and recs[i][1].get("isSidechain"))
    ]
    if not candidates:
        raise TranscriptError("no user or assistant record has a `uuid`: cannot follow the chain")
    heads: dict[str, tuple[int, dict[str, Any]]] = {}  # preserved head -> (boundary, segment)
    summaries: dict[str, int] = {}  # compact boundary uuid -> the summary written after it
    for i, (_, obj) in enumerate(recs):
        if obj.get("subtype") == "compact_boundary" and type(obj.get("compactMetadata")) is dict:
            seg = obj["compactMetadata"].get("preservedSegment")
            if type(seg) is dict and type(seg.get("headUuid")) is str:
                heads[seg["headUuid"]] = (i, seg)
        elif obj.get("isCompactSummary") is True and type(obj.get("parentUuid")) is str:
            summaries[obj["parentUuid"]] = i

    walk: list[tuple[int, bool]] = []
    seen: set[int] = set()
    again: dict[int, int] = {}  # preserved records that will be met once more, before the boundary
    root_parent: str | None = None
    idx = max(candidates, key=keys.__getitem__)
    while True:
        if idx in seen:
            if not again.get(idx):
                break  # a cycle; stop rather than loop
            again[idx] -= 1
        seen.add(idx)
        walk.append((idx, False))
        obj = recs[idx][1]
        head = heads.get(_str(obj.get("uuid")) or "")
        if head is not None and head[0] not in seen:
            # Met from after the compaction: the segment tail..head is a copy of messages sent
            # before it, and continues from the anchor (the boundary or the summary).
            boundary, seg = head
            tail = by_uuid.get(_str(seg.get("tailUuid")) or "")
            first = len(walk) - 1
            for k in range(len(walk) - 1, -1, -1):
                if walk[k][0] == tail:
                    first = k
                    break
            for k in range(first, len(walk)):
                walk[k] = (walk[k][0], True)
                again[walk[k][0]] = again.get(walk[k][0], 0) + 1
            anchor = by_uuid.get(_str(seg.get("anchorUuid")) or "")
            if anchor is None or anchor in seen or anchor == boundary:
                # kept messages follow the summary when there is one
                anchor = summaries.get(_str(recs[boundary][1].get("uuid")) or "", boundary)
            idx = anchor if anchor not in seen else boundary
            continue
        if obj.get("subtype") == "compact_boundary":
            logical = obj.get("logicalParentUuid") or obj.get("parentUuid")
            nxt = by_uuid.get(logical) if type(logical) is str else None
            if nxt is None:
                nxt = _written_before(recs, keys, idx, seen, any_main)
                if nxt is not None and type(logical) is str:
                    lost = nxt < idx and any(
                        recs[k + 1][0] - recs[k][0] > 1 for k in range(nxt, idx)
                    )
                    notes.warn(
                        f"line {recs[idx][0]}",
                        f"the compact boundary's logical parent {logical} "
                        + (
                            "is not in this file (on an unreadable line?)"
                            if lost
                            else "was never written to the file"
                        )
                        + f"; the chain continues from line {recs[nxt][0]}, the last "
                        "main-chain record written before the boundary",
                    )
            if nxt is not None:
                idx = nxt
                continue
        parent = obj.get("parentUuid") or obj.get("logicalParentUuid")
        if type(parent) is not str:
            break
        nxt = by_uuid.get(parent)
        if nxt is None:
            before = _before_unreadable(recs, idx)
            if before is not None:
                # An unreadable line above probably held the parent: continue from the record
                # before that line rather than drop the whole session up to it.
                notes.warn(
                    f"line {recs[idx][0]}",
                    f"its parent record {parent} is not in this file (on an unreadable line?); "
                    f"the chain continues from line {recs[before][0]}",
                )
                idx = before
                continue
            root_parent = parent
            if not obj.get("isSidechain"):
                notes.warn(
                    f"line {recs[idx][0]}",
                    f"its parent record {parent} is not in this file (a resumed session? put "
                    "the session it resumes beside it, or load their folder or zip, to join "
                    "them); the main chain starts here",
                )
            break
        idx = nxt
    walk.reverse()
    return walk, root_parent


def _written_before(
    recs: list[tuple[int, dict[str, Any]]],
    keys: list[tuple[str, int, int]],
    boundary: int,
    seen: set[int],
    any_main: bool,
) -> int | None:
    """The main-chain message record written last before a compact boundary (by timestamp when
    both have one, else by line), not already on the chain."""
    ts = keys[boundary][0]
    best: int | None = None
    for j, (_, obj) in enumerate(recs):
        if j in seen or obj.get("type") not in ("user", "assistant"):
            continue
        if type(obj.get("uuid")) is not str or (any_main and obj.get("isSidechain")):
            continue
        before = (keys[j][0], j) < (ts, boundary) if ts and keys[j][0] else j < boundary
        if before and (best is None or keys[j] > keys[best]):
            best = j
    return best


def _in_order(
    recs: list[tuple[int, dict[str, Any]]],
    by_uuid: dict[str, int],
    keys: list[tuple[str, int, int]],
    chain: list[tuple[int, bool]],
    included: bytearray,
) -> list[tuple[int, bool]]:
    """The chain with the records attached beside it (other lines of its responses, results of
    parallel calls, meta records), each after its parent and otherwise in writing order: one
    order whatever the order of the file's lines."""
    on_chain = {i: k for k, (i, copy) in enumerate(chain) if not copy}
    beside = [i for i in range(len(recs)) if included[i] and i not in on_chain]
    if not beside:
        return chain
    nodes: list[tuple[int, bool]] = [*chain, *((i, False) for i in beside)]
    node_of = {i: len(chain) + k for k, i in enumerate(beside)}
    node_of.update(on_chain)
    children: list[list[int]] = [[] for _ in nodes]
    waiting = [0] * len(nodes)
    for k in range(1, len(chain)):
        children[k - 1].append(k)
        waiting[k] = 1
    for k, i in enumerate(beside, len(chain)):
        parent = by_uuid.get(_str(recs[i][1].get("parentUuid")) or "")
        if parent is not None and parent in node_of:
            children[node_of[parent]].append(k)
            waiting[k] += 1
    ready = [(keys[nodes[k][0]], k) for k in range(len(nodes)) if not waiting[k]]
    heapq.heapify(ready)
    out: list[tuple[int, bool]] = []
    done = bytearray(len(nodes))
    while ready:
        _, k = heapq.heappop(ready)
        out.append(nodes[k])
        done[k] = 1
        for c in children[k]:
            waiting[c] -= 1
            if not waiting[c]:
                heapq.heappush(ready, (keys[nodes[c][0]], c))
    if len(out) < len(nodes):  # parent links in a cycle: the rest in writing order
        rest = sorted(
            (k for k in range(len(nodes)) if not done[k]), key=lambda k: keys[nodes[k][0]]
        )
        out.extend(nodes[k] for k in rest)
    return out


CLEARED_TOOL_RESULT = "[Old tool result content cleared]"


def _microcompactions(
    marks: list[tuple[int, tuple[str, ...], int]],
    messages: list[Message],
    requests: list[Request],
) -> tuple[RecordedMicrocompaction, ...]:
    """Microcompactions: from ``microcompact_boundary`` records (the next request is the first
    sent with those results cleared), and tool results the file already holds cleared (the first
    request whose prompt holds them)."""
    out: list[RecordedMicrocompaction] = []
    covered: set[str] = set()
    for line, ids, item in marks:
        after = next((r for r in requests if r.response is not None and r.response >= item), None)
        if after is not None:
            out.append(
                RecordedMicrocompaction(
                    request=after.index, tool_use_ids=ids, source=f"line {line}"
                )
            )
            covered.update(ids)
    found: dict[int, tuple[list[str], str]] = {}
    for m, msg in enumerate(messages):
        for b in msg.content:
            if (
                isinstance(b, ToolResultBlock)
                and b.tool_use_id not in covered
                and _cleared(b.content)
            ):
                first = next((r for r in requests if r.prompt_start <= m < r.prompt_end), None)
                if first is not None:
                    found.setdefault(first.index, ([], msg.source))[0].append(b.tool_use_id)
                    covered.add(b.tool_use_id)
    out.extend(
        RecordedMicrocompaction(request=r, tool_use_ids=tuple(ids), source=where)
        for r, (ids, where) in found.items()
    )
    out.sort(key=lambda x: x.request)
    return tuple(out)


def _cleared(content: str | tuple[Block, ...]) -> bool:
    if isinstance(content, str):
        return content.strip() == CLEARED_TOOL_RESULT
    texts = [b.text.strip() for b in content if isinstance(b, TextBlock)]
    return texts == [CLEARED_TOOL_RESULT]


def _int(value: object) -> int | None:
    return value if type(value) is int else None


def _prompt_title(blocks: Sequence[Block]) -> str | None:
    """The first line of a genuine prompt (not a tag-wrapped injection or an interruption)."""
    for b in blocks:
        if isinstance(b, TextBlock):
            text = b.text.strip()
            if text and not text.startswith(("<", "[Request interrupted")):
                return text.splitlines()[0][:80]
    return None


def _str(value: object) -> str | None:
    """A string field, or None when it is anything else (ids must be hashable strings)."""
    return value if type(value) is str else None


def _result_ids(content: object) -> list[str]:
    """The tool_use ids answered by a user record's tool_result blocks."""
    if type(content) is not list:
        return []
    return [
        b["tool_use_id"]
        for b in content
        if type(b) is dict and b.get("type") == "tool_result" and type(b.get("tool_use_id")) is str
    ]


def _note_agent_link(obj: dict[str, Any], session: Session) -> None:
    aid = obj["toolUseResult"].get("agentId")
    if type(aid) is not str:
        return
    msg = obj.get("message")
    ids = _result_ids(msg.get("content")) if type(msg) is dict else []
    if ids:
        session.agent_links.setdefault(aid, ids[0])


def _attachment_text(a: dict[str, Any]) -> str | None:
    """What an attachment record adds to the prompt, as Claude Code sends it (None: nothing)."""
    t = a.get("type")
    if not isinstance(t, str) or t in _SILENT_ATTACHMENTS:
        return None
    name = a.get("hookName") or a.get("hookEvent") or "hook"
    content = a.get("content")
    if t == "hook_success":
        if a.get("hookEvent") not in ("SessionStart", "UserPromptSubmit") or not content:
            return None
        body = f"{name} hook success: {content}"
    elif t == "hook_additional_context":
        if not content:
            return None
        lines = content if isinstance(content, list) else [content]
        body = f"{name} hook additional context: " + "\n".join(str(x) for x in lines)
    elif isinstance(content, str) and content:
        body = content
    elif content:
        body = json.dumps(content, ensure_ascii=False)
    elif isinstance(a.get("text"), str) and a["text"]:
        body = a["text"]  # total_tokens_reminder: "<total_tokens>N tokens left</total_tokens>"
    elif isinstance(a.get("addedLines"), list) and a["addedLines"]:
        body = "\n".join(str(x) for x in a["addedLines"])
    else:
        rest = {k: v for k, v in a.items() if k != "type"}
        if not rest:
            return None
        body = json.dumps(rest, ensure_ascii=False)
    return f"<system-reminder>\n{body}\n</system-reminder>"


# ---- sub-agents ----------------------------------------------------------------------------------


@dataclass(slots=True)
class AgentFile:
    """A sub-agent transcript found beside a session, with its ``.meta.json`` if any."""

    name: str
    session: Session
    meta: dict[str, Any] | None = None


def attach_subagents(parent: Session, agents: Sequence[AgentFile], notes: Notes) -> Conversation:
    """The parent conversation with its sub-agents, linked to the Task/Agent calls that started
    them (by ``agentId`` in the tool result or progress records, else by prompt or description)."""
    by_prompt: dict[str, list[str]] = {}
    by_description: dict[str, list[str]] = {}
    for tid, (prompt, desc) in parent.task_calls.items():
        by_prompt.setdefault(prompt.strip(), []).append(tid)
        by_description.setdefault(desc.strip(), []).append(tid)
    linked: set[str] = set()
    subs: list[tuple[str, str, Conversation]] = []
    for agent in agents:
        s, meta = agent.session, agent.meta or {}
        aid = s.agent_id or _agent_id_from_name(agent.name)
        agent_type = meta.get("agentType") if isinstance(meta.get("agentType"), str) else None
        description = meta.get("description") if isinstance(meta.get("description"), str) else None
        tool_use_id: str | None = None
        if aid.startswith("acompact") or (s.first_parent and s.first_parent in parent.boundaries):
            agent_type = "compact"
            hit = parent.boundaries.get(s.first_parent or "")
            if hit is not None:
                # Its usage is often the streaming placeholder (a single line): summary_tokens
                # is left unknown rather than taken from it.
                description = (
                    description or f"the summary request of the compaction at line {hit[0]}"
                )
        else:
            tool_use_id = parent.agent_links.get(aid)
            if tool_use_id is None:
                tool_use_id = _unique(by_prompt.get(s.first_prompt.strip(), []), linked)
            if tool_use_id is None and description:
                tool_use_id = _unique(by_description.get(description.strip(), []), linked)
            if tool_use_id is None:
                if s.first_prompt.strip() == "Warmup":
                    agent_type = agent_type or "warmup"
                    description = description or "Claude Code's cache warm-up call, not a Task"
                else:
                    notes.warn(
                        agent.name,
                        "sub-agent not linked to a Task/Agent call of the parent "
                        "(no agentId, prompt or description match)",
                    )
            else:
                linked.add(tool_use_id)
                if agent_type is None:
                    agent_type = _subagent_type(parent, tool_use_id)
                if description is None:
                    description = parent.task_calls.get(tool_use_id, ("", ""))[1] or None
        subs.append(
            (
                s.first_timestamp,
                agent.name,
                replace(
                    s.conv,
                    parent_tool_use_id=tool_use_id,
                    agent_type=agent_type,
                    description=description,
                ),
            )
        )
    subs.sort(key=lambda x: (x[0], x[1]))
    return replace(
        parent.conv,
        subagents=tuple(c for _, _, c in subs),
        warnings=[*parent.conv.warnings, *notes.finish()],
    )


def _agent_id_from_name(name: str) -> str:
    stem = name.rsplit("/", 1)[-1]
    stem = stem.removesuffix(".jsonl")
    return stem.removeprefix("agent-")


def _unique(candidates: list[str], taken: set[str]) -> str | None:
    free = [c for c in candidates if c not in taken]
    return free[0] if len(free) == 1 else None


def _subagent_type(parent: Session, tool_use_id: str) -> str | None:
    for m in parent.conv.messages:
        for b in m.content:
            if isinstance(b, ToolUseBlock) and b.id == tool_use_id and isinstance(b.input, dict):
                t = b.input.get("subagent_type")
                return t if isinstance(t, str) else None
    return None
