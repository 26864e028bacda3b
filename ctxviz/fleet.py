"""Every session at once: find them, replay each as recorded (and under what-if policies) in
parallel, and keep the results in a DuckDB index (docs/fleet.md).

:func:`discover` lists the sessions under folders (recursively), zips, globs and files;
:func:`index_file` reads one file in a worker — every conversation it holds, each a
:class:`SessionRow` with the numbers ``ctxviz simulate FILE --json`` prints under ``summary``
(``ctxviz.summary.summary_json``), its per-request rows and its :class:`SweepRow` per policy; a file
that cannot be read is a row with its ``error``, with the per-file load limits of ``ctxviz.load``.
:func:`scan` runs it (:func:`run_task`: under a wall-time limit per file) over a process pool
(one file per task) or a Ray cluster and writes into the :class:`Index`, reading the index
instead for files whose size and modification time (or, failing those, content hash) and model
table are unchanged. Every format ctxviz reads is a candidate; a ``.json``/``.yaml`` file that
is not a transcript is skipped (``Scan.skipped``), not a row.

A Claude Code session's sub-agent transcripts (``<session>/subagents/agent-*.jsonl``, flat
``agent-*.jsonl`` beside it) are read with it, as ``ctxviz.load`` does: they are its sub-agents,
not sessions of their own.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import multiprocessing
import os
import signal
import socket
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import ctxviz
from ctxviz.budget import Limits, OverBudget
from ctxviz.errors import TranscriptError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkServerContext, SpawnContext

    import duckdb
    import pandas as pd

    from ctxviz.model import Conversation
    from ctxviz.models import ModelTable
    from ctxviz.simulator import Simulation
    from ctxviz.summary import SimulationSummary

__all__ = [
    "FileResult",
    "FileTask",
    "FleetError",
    "Index",
    "Policy",
    "SessionRow",
    "SweepRow",
    "SweepTotal",
    "default_index_path",
    "default_paths",
    "discover",
    "index_file",
    "models_key",
    "policy_from_json",
    "run_task",
    "scan",
    "session_bundle",
    "sweep_totals",
    "time_limit_s",
]

MEMORY_BYTES: Final = 3 << 30
"""Address space of a pool worker (3 GiB, as the app's isolated parser; the load's own budget
keeps a hostile file under 2 GB)."""

TIMEOUT_S: Final = 120.0
"""Default wall time a file may take to be read and replayed as recorded (and as much again per
policy): ``--timeout``. The largest real sessions take a few seconds."""

GRACE_S: Final = 30.0
"""How long past a task's time limit the parent waits before it ends the worker (its own alarm
answers at the limit, unless it is stuck where a signal does not reach)."""

RAY_CONNECT_S: Final = 3.0
"""How long ``--ray ADDRESS`` tries to reach the cluster before it fails."""

SCHEMA_VERSION: Final = 5
"""Bumped when the tables change, or the numbers in them (5: a response's thinking is its output
minus its visible blocks unscaled): an index of another version (or ctxviz version) is rebuilt."""

COMPRESSION_SUFFIXES: Final = ("", ".gz", ".xz", ".bz2")
SESSION_SUFFIXES: Final = tuple(".jsonl" + c for c in COMPRESSION_SUFFIXES)
"""Claude Code sessions (and other JSON Lines logs): a folder's file of these names is always a
row, with its error when it cannot be read."""

OTHER_SUFFIXES: Final = tuple(
    ext + c for ext in (".json", ".yaml", ".yml") for c in COMPRESSION_SUFFIXES
)
"""API logs, request bodies, VCR cassettes, claude.ai's ``conversations.json``: a folder's file of
these names is read when its content is a transcript, and skipped (counted, with why) when it is
not — a folder of logs also holds configs and other JSON."""

REQUEST_COLUMNS: Final = (
    "request",
    "turn",
    "model",
    "source",
    "input_tokens",
    "output_tokens",
    "thinking_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "cleared_input_tokens",
    "context_window",
    "over_window",
    "cost_usd",
)
"""The columns of ``Simulation.requests`` kept per request in the ``requests`` table."""


class FleetError(ValueError):
    """Bad input for a fleet run (a path that does not exist, a policy the API would reject)."""


ProgressCallback = Callable[[int, int, str], None]
"""``(files done, files in all, the file just done)``."""


# ---- what a run produces -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRow:
    """One session (one conversation of a file) as recorded: where it is, and the summary that
    ``ctxviz simulate FILE --json`` prints (same names, same values)."""

    path: str
    """The file, absolute."""
    conversation: int = 0
    """Which conversation of the file (``--conversation N``); 0 for a session file."""
    project: str | None = None
    """The folder the file is in (Claude Code: the project's folder under ~/.claude/projects)."""
    started: str | None = None
    """The first request's timestamp (ISO 8601), when recorded."""
    format: str | None = None
    model: str | None = None
    """The model most requests used (``summary.model``)."""
    models: tuple[str, ...] = ()
    """Every model the session and its sub-agents used, most used first."""
    subagents: int = 0
    subagents_cost_usd: float | None = None
    """What the session's sub-agents cost, each replayed as recorded and priced with the same
    model table (``total_cost_usd`` is the main conversation's alone, as ``ctxviz simulate FILE
    --json`` prints it); None when one of them could not be replayed."""
    resumes: tuple[str, ...] = ()
    """The session files this one continues (``claude --resume``), read with it as
    ``ctxviz.load`` joins them: their own rows are left out of the listing."""
    requests: int | None = None
    recorded_requests: int | None = None
    estimated_requests: int | None = None
    peak_input_tokens: int | None = None
    peak_request: int | None = None
    context_window: int | None = None
    first_over_window: int | None = None
    over_window_requests: int | None = None
    """Window hits: requests whose prompt and output exceed the window."""
    compactions: int | None = None
    clearings: int | None = None
    cleared_input_tokens: int | None = None
    total_cost_usd: float | None = None
    events: Mapping[str, int] = field(default_factory=dict)
    size_bytes: int = 0
    content_hash: str = ""
    error: str | None = None
    """Why the file could not be read or replayed (the other numbers are then None)."""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["models"] = list(self.models)
        out["resumes"] = list(self.resumes)
        out["events"] = dict(self.events)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A what-if: ``ctxviz.simulate``'s keyword arguments, as ``ctxviz simulate --json`` prints
    them under ``settings``; ``name`` is how tables show it."""

    name: str
    settings_json: str
    """The keyword arguments as canonical JSON (sorted keys): hashable, the index's key."""

    @property
    def settings(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.settings_json)
        return value

    @classmethod
    def of(cls, settings: Mapping[str, Any], name: str | None = None) -> Policy:
        text = json.dumps(dict(settings), sort_keys=True, separators=(",", ":"))
        return cls(name=name or text, settings_json=text)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepRow:
    """One session replayed under one policy, beside its replay as recorded."""

    policy: str
    """The policy's ``settings_json``."""
    path: str
    conversation: int = 0
    input_tokens: int | None = None
    """Prompt tokens sent, summed over the requests."""
    total_cost_usd: float | None = None
    compactions: int | None = None
    over_window_requests: int | None = None
    peak_input_tokens: int | None = None
    recorded_input_tokens: int | None = None
    recorded_cost_usd: float | None = None
    recorded_compactions: int | None = None
    recorded_over_window_requests: int | None = None
    error: str | None = None

    @property
    def tokens_saved(self) -> int | None:
        if self.input_tokens is None or self.recorded_input_tokens is None:
            return None
        return self.recorded_input_tokens - self.input_tokens

    @property
    def usd_saved(self) -> float | None:
        if self.total_cost_usd is None or self.recorded_cost_usd is None:
            return None
        return self.recorded_cost_usd - self.total_cost_usd

    @property
    def compactions_added(self) -> int | None:
        """Compactions under the policy minus as recorded (negative: avoided)."""
        if self.compactions is None or self.recorded_compactions is None:
            return None
        return self.compactions - self.recorded_compactions

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["tokens_saved"] = self.tokens_saved
        out["usd_saved"] = self.usd_saved
        out["compactions_added"] = self.compactions_added
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepTotal:
    """A policy over every session it could replay (sessions with an error are counted apart)."""

    policy: str
    sessions: int
    failed: int
    tokens_saved: int
    usd_saved: float
    compactions_added: int
    """Negative: compactions avoided."""
    over_window_requests: int
    recorded_over_window_requests: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sweep_totals(rows: Iterable[SweepRow], policies: Sequence[Policy]) -> tuple[SweepTotal, ...]:
    """Each policy's rows added up (in the order of ``policies``)."""
    by_policy: dict[str, list[SweepRow]] = {p.settings_json: [] for p in policies}
    for row in rows:
        by_policy.setdefault(row.policy, []).append(row)
    out = []
    for policy in policies:
        rows_of = by_policy[policy.settings_json]
        ok = [r for r in rows_of if r.error is None]
        out.append(
            SweepTotal(
                policy=policy.name,
                sessions=len(ok),
                failed=len(rows_of) - len(ok),
                tokens_saved=sum(r.tokens_saved or 0 for r in ok),
                usd_saved=math.fsum(r.usd_saved or 0.0 for r in ok),
                compactions_added=sum(r.compactions_added or 0 for r in ok),
                over_window_requests=sum(r.over_window_requests or 0 for r in ok),
                recorded_over_window_requests=sum(r.recorded_over_window_requests or 0 for r in ok),
            )
        )
    return tuple(out)


# ---- policies ------------------------------------------------------------------------------------

_SETTINGS_KEYS: Final = (
    "model",
    "context_window",
    "context_management",
    "compaction_control",
    "summary_tokens",
    "claude_code_autocompact",
    "undo_recorded_compactions",
)
"""The keys of ``ctxviz simulate --json``'s ``settings``: what a policy may set."""


def policy_from_json(text: str, *, name: str | None = None) -> Policy:
    """A policy from JSON: an object of ``ctxviz simulate --json``'s ``settings`` (null values
    left out), or just ``context_management`` (``{"edits": [...]}`` or the list of edits, as
    ``--edits`` takes). A policy the simulator would refuse raises :class:`FleetError`."""
    from ctxviz.errors import json_value

    try:
        value = json_value(text)
    except ValueError as e:
        raise FleetError(f"policy {text!r}: not valid JSON ({e})") from None
    if isinstance(value, list) or (isinstance(value, dict) and set(value) == {"edits"}):
        value = {"context_management": {"edits": value} if isinstance(value, list) else value}
    if not isinstance(value, dict):
        raise FleetError(
            f"policy {text!r}: expected an object of simulate's settings "
            f"({', '.join(_SETTINGS_KEYS)}) or a list of edits"
        )
    unknown = sorted(set(value) - set(_SETTINGS_KEYS))
    if unknown:
        raise FleetError(
            f"policy {text!r}: unknown setting {', '.join(map(repr, unknown))} "
            f"(expected {', '.join(_SETTINGS_KEYS)})"
        )
    settings = {k: v for k, v in value.items() if v is not None and v is not False}
    return checked_policy(settings, name=name)


def checked_policy(settings: Mapping[str, Any], *, name: str | None = None) -> Policy:
    """A policy of ``ctxviz.simulate``'s keyword arguments, checked by the simulator on an empty
    conversation (:class:`FleetError` with its message when it would refuse them)."""
    from ctxviz.model import Conversation
    from ctxviz.simulator import simulate

    try:
        simulate(Conversation(format="anthropic", messages=(), requests=()), **settings)
    except TypeError as e:
        raise FleetError(f"policy: {e}") from None
    except ValueError as e:
        raise FleetError(f"policy: {e}") from None
    if name is None:
        from ctxviz.notebook import policy_description

        name = policy_description(settings)
    return Policy.of(settings, name)


# ---- finding sessions ----------------------------------------------------------------------------


def default_paths() -> list[str]:
    """Where Claude Code keeps its sessions: ``~/.claude/projects`` (``$CLAUDE_CONFIG_DIR``)."""
    root = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    return [os.path.join(root, "projects")]


def default_index_path() -> str:
    """``$XDG_CACHE_HOME/ctxviz/fleet.duckdb`` (``~/.cache`` when unset)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "ctxviz", "fleet.duckdb")


def _is_session_file(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(SESSION_SUFFIXES) and not lower.startswith("agent-")


def _is_candidate(name: str) -> bool:
    """A file a folder search reads: a session, a zip, or a log/cassette/export by its name (not
    a sub-agent's transcript or ``.meta.json``, which are read with their session)."""
    lower = name.lower()
    if lower.startswith("agent-") or lower.endswith(".meta.json"):
        return False
    return lower.endswith((*SESSION_SUFFIXES, *OTHER_SUFFIXES, ".zip"))


def _optional(path: str) -> bool:
    """Found by a folder search under a name that may hold anything (not a session's ``.jsonl``,
    not a zip): skipped when its content is not a transcript."""
    return Path(path).name.lower().endswith(OTHER_SUFFIXES)


def _subagent_file(path: str) -> bool:
    parts = Path(path).parts
    return parts[-1].startswith("agent-") or "subagents" in parts[:-1]


def _in_folder(root: str) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        # a session's own folder (<session>/subagents, <session>/tool-results) holds what is read
        # with it: never sessions
        sessions = {name.split(".jsonl")[0] for name in files if _is_session_file(name)}
        dirs[:] = sorted(d for d in dirs if d != "subagents" and d not in sessions)
        for name in sorted(files):
            path = os.path.join(folder, name)
            if _is_candidate(name) and os.path.isfile(path):  # not a FIFO, a socket, a device
                yield path


def discover(paths: Sequence[str]) -> list[str]:
    """The files to read, absolute, each once, in order: under a folder, recursively, every
    regular file named ``*.jsonl``, ``*.json``, ``*.yaml``, ``*.yml`` (each compressed or not)
    or ``*.zip``, except sub-agent transcripts (``agent-*``, ``*.meta.json``) and a session's own
    folder (``<session>/``, beside ``<session>.jsonl``); a file as given (any format ctxviz
    reads); a glob's matches. :class:`FleetError` for a path that does not exist or a glob that
    matches nothing. A folder's ``.json``/``.yaml``/``.yml`` file that is not a transcript is
    skipped when read (``Scan.skipped``)."""
    out: dict[str, None] = {}
    for given in paths:
        expanded = os.path.expanduser(given)
        if glob.has_magic(expanded):
            matches = sorted(glob.glob(expanded, recursive=True))
            if not matches:
                raise FleetError(f"{given}: no file matches")
        else:
            matches = [expanded]
        for path in matches:
            if os.path.isdir(path):
                found = list(_in_folder(path))
            elif os.path.isfile(path):
                found = [path]
            elif os.path.exists(path):
                raise FleetError(f"{path}: not a file or folder")
            else:
                raise FleetError(f"{path}: no such file or folder")
            for f in found:
                if path is not given and _subagent_file(f):
                    continue  # a glob's sub-agent file: read with its session
                out.setdefault(os.path.abspath(f), None)
    return list(out)


def session_bundle(path: str) -> tuple[str, bytes]:
    """A session as one upload for the explorer: a Claude Code session file zipped with its
    sub-agent files (``<session>/subagents/``, flat ``agent-*.jsonl`` beside it that name the
    session), else the file's bytes as they are. Returns (file name, bytes)."""
    import io
    import zipfile

    p = Path(path)
    data = p.read_bytes()
    if not _is_session_file(p.name):
        return p.name, data
    stem = p.name.split(".jsonl")[0]
    agents = sorted((p.parent / stem / "subagents").glob("*")) if stem else []
    agents = [a for a in agents if a.is_file()]
    flat = [
        a
        for a in sorted(p.parent.glob("agent-*.jsonl"))
        if a.is_file() and stem.encode() in a.read_bytes()
    ]
    if not agents and not flat:
        return p.name, data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(p.name, data)
        for a in agents:
            z.write(a, f"{stem}/subagents/{a.name}")
        for a in flat:
            z.write(a, a.name)
    return f"{stem}.zip", buffer.getvalue()


# ---- one file ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FileTask:
    """One file to read in a worker; ``known_hash``: its content hash in the index (when its size
    or time changed: the worker returns ``unchanged`` if the bytes are the same)."""

    path: str
    size_bytes: int
    mtime_ns: int
    known_hash: str | None = None
    policies: tuple[Policy, ...] = ()
    limits: Limits | None = None
    sweep_only: bool = False
    """The index holds the file as it is: only replay it under ``policies``."""
    timeout_s: float | None = None
    """Wall time the file may take to be read and replayed as recorded, and again for each
    policy (:func:`run_task`); None: no limit."""
    models: ModelTable | None = None
    """The model table to price with (None: the bundled one)."""
    models_key: str = ""
    """:func:`models_key` of that table, stored with the file's rows."""
    optional: bool = False
    """A file that is not a transcript is skipped, not a row (:func:`_optional`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileResult:
    path: str
    size_bytes: int
    mtime_ns: int
    content_hash: str
    unchanged: bool = False
    """The bytes are those the index holds: nothing was read but the hash."""
    sessions: tuple[SessionRow, ...] = ()
    requests: pd.DataFrame | None = None
    """``REQUEST_COLUMNS`` plus ``path``, ``conversation`` and ``timestamp``."""
    sweeps: tuple[SweepRow, ...] = ()
    models_key: str = ""
    skipped: str | None = None
    """Why the file is not a transcript (an optional file: no rows)."""


def content_hash(path: str) -> str:
    """SHA-256 of the file's bytes, first 128 bits in hex (SHA-256: hardware-accelerated on most
    CPUs, about 2.5x blake2b's speed)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()[:32]


def models_key(table: ModelTable | None) -> str:
    """A model table's fingerprint (SHA-256 of its canonical JSON, 64 bits in hex): rows priced
    with another table are not reused."""
    from ctxviz.models import default_table

    text = json.dumps((table or default_table()).to_json(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _error_text(e: BaseException, path: str) -> str:
    if isinstance(e, MemoryError):
        return f"reading it needs more than {MEMORY_BYTES / 2**30:.0f} GiB"
    if isinstance(e, RecursionError):
        return "nested too deeply to read"
    if isinstance(e, OSError):
        return e.strerror or str(e)
    if isinstance(e, ValueError):
        message = " ".join(str(e).split())
        return message.removeprefix(path + ": ").removeprefix(path + ", ")
    return f"internal error ({type(e).__name__}: {' '.join(str(e).split())[:200]})"


def _project(path: str) -> str:
    return os.path.basename(os.path.dirname(path))


def _models(conv: Conversation, sim: Simulation) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for name in sim.request_columns["model"]:
        if name is not None:
            counts[str(name)] = counts.get(str(name), 0) + 1
    for sub in conv.subagents:
        for r in sub.requests:
            if r.model:
                counts[r.model] = counts.get(r.model, 0) + 1
    return tuple(sorted(counts, key=lambda m: (-counts[m], m)))


def _subagents_cost(conv: Conversation, models: ModelTable | None) -> float | None:
    """The sub-agents' cost, each replayed as recorded (as ``ctxviz summary`` lists them)."""
    from ctxviz.simulator import simulate
    from ctxviz.summary import summarize, summed_cost_usd

    def cost(sub: Conversation) -> float | None:
        try:
            return summarize(simulate(sub, models=models)).total_cost_usd
        except ValueError:
            return None

    return summed_cost_usd(map(cost, conv.subagents))


def _resumed_files(conv: Conversation, path: str) -> tuple[str, ...]:
    """The files whose records a joined session starts with: its messages' sources name them
    (``line 3 of first.jsonl``, beside ``path``); its own lines are just ``line N``."""
    if conv.format != "claude-code":
        return ()
    folder = os.path.dirname(path)
    names = {m.source.split(" of ", 1)[1] for m in conv.messages if " of " in (m.source or "")}
    return tuple(sorted(os.path.join(folder, name) for name in names))


def _started(conv: Conversation) -> str | None:
    return next((r.timestamp for r in conv.requests if r.timestamp), None)


def _request_rows(path: str, number: int, conv: Conversation, sim: Simulation) -> pd.DataFrame:
    import pandas as pd

    from ctxviz.simulator.result import requests_frame

    # the kept columns, not the whole frame: a replay as recorded makes the prompts' estimates
    # (which no kept column needs) only when they are read
    req = sim.request_columns
    stamps = [r.timestamp for r in conv.requests]
    frame = requests_frame(req, REQUEST_COLUMNS)
    frame.insert(0, "path", path)
    frame.insert(1, "conversation", number)
    frame["timestamp"] = pd.Series(
        [stamps[i] if 0 <= i < len(stamps) else None for i in req["recorded_request"].tolist()],
        dtype="object",
    )
    return frame


def _total_input(sim: Simulation) -> int:
    return int(sim.request_columns["input_tokens"].sum())


def _sweep_row(
    policy: Policy,
    path: str,
    number: int,
    conv: Conversation,
    recorded: Mapping[str, Any],
    models: ModelTable | None,
) -> SweepRow:
    """The conversation under ``policy``, beside its ``recorded`` numbers (:func:`_recorded`;
    empty: the index fills them in from its ``sessions`` and ``requests`` rows)."""
    from ctxviz.simulator import simulate
    from ctxviz.summary import summarize

    base = SweepRow(policy=policy.settings_json, path=path, conversation=number, **recorded)
    try:
        sim = simulate(conv, models=models, **policy.settings)
    except (ValueError, RecursionError, MemoryError) as e:
        return _replace(base, error=_error_text(e, path))
    after = summarize(sim)
    return _replace(
        base,
        input_tokens=_total_input(sim),
        total_cost_usd=after.total_cost_usd,
        compactions=after.compactions,
        over_window_requests=after.over_window_requests,
        peak_input_tokens=after.peak_input_tokens,
    )


def _recorded(sim: Simulation, summary: SimulationSummary) -> dict[str, Any]:
    """A sweep row's numbers as recorded."""
    return {
        "recorded_input_tokens": _total_input(sim),
        "recorded_cost_usd": summary.total_cost_usd,
        "recorded_compactions": summary.compactions,
        "recorded_over_window_requests": summary.over_window_requests,
    }


def _replace[T](row: T, **changes: Any) -> T:
    import dataclasses

    return dataclasses.replace(row, **changes)  # type: ignore[type-var]


def _conversations(path: str, limits: Limits | None) -> list[Conversation]:
    from ctxviz.loading import load_all

    convs = load_all(path, limits=limits)
    if len(convs) > 1:
        return convs
    if not convs or not convs[0].messages:
        raise TranscriptError("the input holds no conversation with messages", path)
    return convs


def _sweep_only(task: FileTask) -> FileResult:
    """The policies' rows of a file the index holds as it is (its replay as recorded is there)."""
    head: dict[str, Any] = {"path": task.path, "size_bytes": task.size_bytes}
    head |= {"mtime_ns": task.mtime_ns, "content_hash": task.known_hash or "", "unchanged": True}
    head["models_key"] = task.models_key
    try:
        convs = _conversations(task.path, task.limits)
    except Exception as e:  # it was read before: say why not now, in each policy's row
        error = _error_text(e, task.path)
        rows = [
            SweepRow(policy=p.settings_json, path=task.path, error=error) for p in task.policies
        ]
        return FileResult(**head, sweeps=tuple(rows))
    sweeps = [
        _sweep_row(p, task.path, number, conv, {}, task.models)
        for number, conv in enumerate(convs)
        if conv.messages
        for p in task.policies
    ]
    return FileResult(**head, sweeps=tuple(sweeps))


def index_file(task: FileTask) -> FileResult:
    """Read one file: its conversations as recorded (a row each, its requests) and under each
    policy. Never raises for the file's content: a file that cannot be read is one row with its
    ``error``; a conversation that cannot be replayed is a row with its error."""
    import pandas as pd

    from ctxviz.simulator import simulate
    from ctxviz.summary import summarize, summary_json

    path = task.path
    if task.sweep_only:
        return _sweep_only(task)
    try:
        digest = content_hash(path)
    except OSError as e:
        digest = ""
        error: str | None = _error_text(e, path)
    else:
        error = None
    head: dict[str, Any] = {"path": path, "size_bytes": task.size_bytes, "mtime_ns": task.mtime_ns}
    head["models_key"] = task.models_key
    if digest and digest == task.known_hash:
        return FileResult(**head, content_hash=digest, unchanged=True)
    where: dict[str, Any] = {"path": path, "project": _project(path), "size_bytes": task.size_bytes}
    where["content_hash"] = digest
    if error is None:
        try:
            convs = _conversations(path, task.limits)
        except TranscriptError as e:
            if task.optional and not isinstance(e, OverBudget):  # a config, not a transcript
                return FileResult(**head, content_hash=digest, skipped=_error_text(e, path))
            error = _error_text(e, path)
        except Exception as e:  # OSError, RecursionError, MemoryError; a bug in ctxviz: a row
            error = _error_text(e, path)
    if error is not None:
        return FileResult(**head, content_hash=digest, sessions=(SessionRow(**where, error=error),))
    rows: list[SessionRow] = []
    frames: list[pd.DataFrame] = []
    sweeps: list[SweepRow] = []
    for number, conv in enumerate(convs):
        if not conv.messages:
            continue  # an empty conversation of an export: nothing was sent
        info: dict[str, Any] = {
            **where,
            "project": _project(conv.source or path),  # a zip's: the member's folder
            "conversation": number,
            "started": _started(conv),
            "format": conv.format,
            "subagents": len(conv.subagents),
            "resumes": _resumed_files(conv, path),
        }
        try:
            sim = simulate(conv, models=task.models)
            summary = summarize(sim)
        except Exception as e:  # one conversation that cannot be replayed: its row says why
            rows.append(SessionRow(**info, error=_error_text(e, path)))
            continue
        numbers = summary_json(summary)
        models = _models(conv, sim)
        rows.append(
            SessionRow(
                **info,
                model=summary.model,
                models=models,
                subagents_cost_usd=_subagents_cost(conv, task.models),
                **numbers,
            )
        )
        frames.append(_request_rows(path, number, conv, sim))
        if task.policies:
            recorded = _recorded(sim, summary)
            sweeps.extend(
                _sweep_row(p, path, number, conv, recorded, task.models) for p in task.policies
            )
    requests = pd.concat(frames, ignore_index=True) if frames else None
    return FileResult(
        **head,
        content_hash=digest,
        sessions=tuple(rows),
        requests=requests,
        sweeps=tuple(sweeps),
    )


# ---- running many --------------------------------------------------------------------------------


def _limit_worker(memory_bytes: int) -> None:
    """A pool worker caps its address space (a hostile file fails there, not the machine)."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _failed(task: FileTask, error: str) -> FileResult:
    """A task that gave no result of its own (timed out, its worker died): a row with ``error``
    (or, for a sweep of an indexed file, a sweep row per policy). Its content hash is left
    empty, so the next run reads the file again."""
    head: dict[str, Any] = {"path": task.path, "size_bytes": task.size_bytes}
    head |= {"mtime_ns": task.mtime_ns, "models_key": task.models_key}
    if task.sweep_only:
        rows = [
            SweepRow(policy=p.settings_json, path=task.path, error=error) for p in task.policies
        ]
        # its rows as recorded stay; the empty hash: read it all again next time
        return FileResult(**head, content_hash="", unchanged=True, sweeps=tuple(rows))
    row = SessionRow(
        path=task.path, project=_project(task.path), size_bytes=task.size_bytes, error=error
    )
    return FileResult(**head, content_hash="", sessions=(row,))


def _died(task: FileTask, why: str) -> FileResult:
    return _failed(task, f"the worker reading it died ({why})")


def time_limit_s(task: FileTask) -> float | None:
    """The wall time ``task`` may take: ``timeout_s`` for reading and replaying the file as
    recorded, and as much again for each policy."""
    if task.timeout_s is None:
        return None
    return task.timeout_s * (1 + len(task.policies))


def _timed_out(task: FileTask) -> FileResult:
    limit = time_limit_s(task) or 0.0
    per = f" ({task.timeout_s:g} s, and as much per policy)" if task.policies else ""
    return _failed(task, f"timed out after {limit:g} s{per}: the --timeout limit per file")


class _TimedOut(BaseException):
    """Raised in a worker by its alarm: a BaseException, so no ``except Exception`` of the
    loading or replay code turns it into a row of its own."""


def _alarm(signum: int, frame: object) -> None:
    raise _TimedOut


def run_task(task: FileTask) -> FileResult:
    """:func:`index_file` under the task's time limit (``SIGALRM`` in the worker's main thread:
    a slow replay or a blocked read stops at the limit and is a row saying so)."""
    limit = time_limit_s(task)
    if (
        limit is None
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        return index_file(task)
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, limit)
            return index_file(task)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _TimedOut:
        return _timed_out(task)
    finally:
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """While workers start, ``__main__`` is a bare module: a worker needs nothing of it (what it
    runs lives in ``ctxviz.fleet``), and multiprocessing would otherwise run the main script again
    in each worker (``__mp_main__``). Under Streamlit that script is the page itself: every
    worker ran the Fleet page, in bare mode, before reading its file."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _pool_context() -> ForkServerContext | SpawnContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # imported once in the server process the workers fork from, not in each worker
    context.set_forkserver_preload(
        ["ctxviz.fleet", "ctxviz.simulator", "ctxviz.loading", "ctxviz.summary", "pandas"]
    )
    return context


def _pool(jobs: int) -> ProcessPoolExecutor:
    context = _pool_context()
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_limit_worker,
        initargs=(MEMORY_BYTES,),
    )


def _alone_worker(task: FileTask, conn: Connection) -> None:
    _limit_worker(MEMORY_BYTES)
    conn.send(run_task(task))
    conn.close()


def _hard_limit_s(tasks: Iterable[FileTask]) -> float | None:
    """How long the parent waits for an answer before it ends a worker: the longest time limit,
    plus ``GRACE_S`` (a worker's own alarm should have answered by then)."""
    limits = [time_limit_s(t) for t in tasks]
    if not limits or any(limit is None for limit in limits):
        return None
    return max(limit for limit in limits if limit is not None) + GRACE_S


def _alone(task: FileTask) -> FileResult:
    """A task whose pool worker died, run again in a worker of its own: its result, or a row
    saying how that worker ended (a signal, an exit status, killed past its time limit)."""
    context = _pool_context()
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_alone_worker, args=(task, send), daemon=True)
    with _main_hidden():
        worker.start()
    send.close()
    result: FileResult | None = None
    try:
        if not receive.poll(_hard_limit_s([task])):  # stuck where its alarm does not reach
            worker.kill()
            worker.join()
            return _timed_out(task)
        result = receive.recv()
    except EOFError:
        pass  # the worker ended without an answer: how it ended is the row's error
    except Exception as e:
        worker.join()
        return _died(task, f"{type(e).__name__}: {e}")
    finally:
        receive.close()
    worker.join()
    if result is not None:
        return result
    code = worker.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        why = f"killed by {name}" + (", out of memory?" if name == "SIGKILL" else "")
    else:
        why = f"exited with status {code}"
    return _died(task, why)


def run_pool(
    tasks: Sequence[FileTask], jobs: int, progress: ProgressCallback | None = None
) -> Iterator[FileResult]:
    """:func:`run_task` over a process pool, one file per task, results as they finish. A task
    whose worker dies is retried alone; dying again, it is a row saying so. When no task answers
    within the time limit and ``GRACE_S`` (a worker stuck where its alarm does not reach), the
    workers are ended and their tasks retried alone, each under the same limit."""
    if not tasks:
        return
    done = 0
    retry: list[FileTask] = []
    hard = _hard_limit_s(tasks)
    with _pool(max(1, min(jobs, len(tasks)))) as pool:
        with _main_hidden():  # the workers start at the first submit
            futures: dict[Future[FileResult], FileTask] = {
                pool.submit(run_task, t): t for t in tasks
            }
        pending: set[Future[FileResult]] = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=hard, return_when=FIRST_COMPLETED)
            if not finished:  # the futures fail with BrokenProcessPool: retried alone
                workers: Mapping[int, Any] = getattr(pool, "_processes", None) or {}
                for worker in list(workers.values()):
                    worker.kill()
                continue
            for future in finished:
                task = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    retry.append(task)
                    continue
                except Exception as e:
                    result = _died(task, f"{type(e).__name__}: {e}")
                done += 1
                if progress is not None:
                    progress(done, len(tasks), task.path)
                yield result
    for task in retry:
        result = _alone(task)
        done += 1
        if progress is not None:
            progress(done, len(tasks), task.path)
        yield result


def _reachable(address: str) -> None:
    """Fail fast when nothing listens at a Ray address (``ray.init`` would wait minutes): a TCP
    connection to its host and port, within ``RAY_CONNECT_S``. ``local`` and ``auto`` (and an
    address without a port) are left to Ray."""
    if address in ("local", "auto"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    host = host.strip("[]") or "127.0.0.1"
    try:
        socket.create_connection((host, int(port)), timeout=RAY_CONNECT_S).close()
    except OSError as e:
        why = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise FleetError(
            f"--ray {address}: no Ray cluster answers there ({why}, tried for "
            f"{RAY_CONNECT_S:g} s); start one with `ray start --head`, or use --ray local"
        ) from None


def run_ray(
    tasks: Sequence[FileTask], address: str, progress: ProgressCallback | None = None
) -> Iterator[FileResult]:
    """:func:`run_task` as Ray tasks on the cluster at ``address`` (``"local"`` starts one here;
    an already initialised Ray is used as it is), results as they finish. The time limit is
    each task's own alarm (Ray runs a task in its worker's main thread)."""
    if not tasks:
        return
    try:
        import ray
    except ImportError:
        raise FleetError(
            "--ray needs Ray: pip install 'ctxviz[fleet-ray]' (or pip install ray)"
        ) from None
    if not ray.is_initialized():
        _reachable(address)
        try:
            ray.init(address=None if address == "local" else address, log_to_driver=False)
        except Exception as e:  # ConnectionError, a bad address (ValueError), no cluster there
            raise FleetError(f"--ray {address}: cannot start or reach Ray ({e})") from None
    remote = ray.remote(max_retries=0)(run_task)
    pending = {remote.remote(t): t for t in tasks}
    done = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            task = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as e:  # the task's worker died (RayTaskError, WorkerCrashedError)
                result = _died(task, type(e).__name__)
            done += 1
            if progress is not None:
                progress(done, len(tasks), task.path)
            yield result


# ---- the index -----------------------------------------------------------------------------------

_SESSION_SQL: Final = {
    "path": "VARCHAR NOT NULL",
    "conversation": "INTEGER NOT NULL",
    "project": "VARCHAR",
    "started": "VARCHAR",
    "format": "VARCHAR",
    "model": "VARCHAR",
    "models": "VARCHAR[]",
    "subagents": "INTEGER",
    "subagents_cost_usd": "DOUBLE",
    "resumes": "VARCHAR[]",
    "requests": "INTEGER",
    "recorded_requests": "INTEGER",
    "estimated_requests": "INTEGER",
    "peak_input_tokens": "BIGINT",
    "peak_request": "INTEGER",
    "context_window": "BIGINT",
    "first_over_window": "INTEGER",
    "over_window_requests": "INTEGER",
    "compactions": "INTEGER",
    "clearings": "INTEGER",
    "cleared_input_tokens": "BIGINT",
    "total_cost_usd": "DOUBLE",
    "events": "JSON",
    "size_bytes": "BIGINT",
    "content_hash": "VARCHAR",
    "error": "VARCHAR",
}
_REQUEST_SQL: Final = {
    "path": "VARCHAR NOT NULL",
    "conversation": "INTEGER NOT NULL",
    "request": "INTEGER",
    "turn": "INTEGER",
    "model": "VARCHAR",
    "source": "VARCHAR",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "thinking_tokens": "BIGINT",
    "cache_creation_input_tokens": "BIGINT",
    "cache_read_input_tokens": "BIGINT",
    "cleared_input_tokens": "BIGINT",
    "context_window": "BIGINT",
    "over_window": "BOOLEAN",
    "cost_usd": "DOUBLE",
    "timestamp": "VARCHAR",
}
_SWEEP_SQL: Final = {
    "policy": "VARCHAR NOT NULL",
    "path": "VARCHAR NOT NULL",
    "conversation": "INTEGER NOT NULL",
    "input_tokens": "BIGINT",
    "total_cost_usd": "DOUBLE",
    "compactions": "INTEGER",
    "over_window_requests": "INTEGER",
    "peak_input_tokens": "BIGINT",
    "recorded_input_tokens": "BIGINT",
    "recorded_cost_usd": "DOUBLE",
    "recorded_compactions": "INTEGER",
    "recorded_over_window_requests": "INTEGER",
    "error": "VARCHAR",
}
assert tuple(_SESSION_SQL) == tuple(f.name for f in fields(SessionRow))
assert tuple(_SWEEP_SQL) == tuple(f.name for f in fields(SweepRow))


_IN_LIST: Final = "path IN (SELECT unnest(?::VARCHAR[]))"
_WANTED: Final = (
    "WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS path, unnest(range(?)) AS position)"
)
"""The files asked for, in their order (the parameters: the paths and how many)."""


_RECORDED_SQL: Final = """
UPDATE sweeps SET recorded_input_tokens = b.tokens, recorded_cost_usd = b.usd,
    recorded_compactions = b.compactions, recorded_over_window_requests = b.over_window
FROM (
    SELECT s.path, s.conversation, s.total_cost_usd AS usd, s.compactions,
        s.over_window_requests AS over_window, coalesce(sum(r.input_tokens), 0) AS tokens
    FROM sessions s LEFT JOIN requests r USING (path, conversation)
    WHERE s.error IS NULL
    GROUP BY ALL
) b
WHERE sweeps.path = b.path AND sweeps.conversation = b.conversation
    AND sweeps.recorded_compactions IS NULL
"""
"""A sweep row's numbers as recorded, from the index (for rows swept after the file was read)."""


def _create(columns: Mapping[str, str]) -> str:
    return ", ".join(f'"{name}" {kind}' for name, kind in columns.items())


_FILES_SQL: Final = {
    "path": "VARCHAR PRIMARY KEY",
    "size_bytes": "BIGINT",
    "mtime_ns": "BIGINT",
    "content_hash": "VARCHAR",
    "models": "VARCHAR",
    "skipped": "VARCHAR",
}


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Mapping[str, str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Rows into a table in one statement: each column a typed list parameter, unnested side by
    side (``executemany`` runs a statement per row: 10 to 40 times slower)."""
    if not rows:
        return
    kinds = [kind.split()[0].replace("JSON", "VARCHAR") for kind in columns.values()]
    select = ", ".join(f"unnest(?::{kind}[])" for kind in kinds)
    con.execute(
        f"INSERT INTO {table} SELECT {select}",
        [[row[i] for row in rows] for i in range(len(kinds))],
    )


class Index:
    """The DuckDB file of a fleet: ``files`` (path, size, mtime, content hash: what was read),
    ``sessions`` (a :class:`SessionRow` each), ``requests`` (a row per request of each session
    replayed as recorded) and ``sweeps`` (a :class:`SweepRow` per session and policy). A file
    of another schema or ctxviz version is rebuilt. Use as a context manager."""

    def __init__(self, path: str) -> None:
        try:
            import duckdb
        except ImportError:  # pragma: no cover - a declared dependency
            raise FleetError("the fleet index needs DuckDB: pip install duckdb") from None
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        try:
            self.con: duckdb.DuckDBPyConnection = duckdb.connect(path)
        except duckdb.Error as e:
            raise FleetError(f"{path}: cannot open it as a DuckDB index ({e})") from None
        self._prepare()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def _prepare(self) -> None:
        con = self.con
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        stored = dict(con.execute("SELECT key, value FROM meta").fetchall())
        want = {"schema": str(SCHEMA_VERSION), "ctxviz": ctxviz.__version__}
        if stored != want:
            for table in ("files", "sessions", "requests", "sweeps"):
                con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute("DELETE FROM meta")
            con.executemany("INSERT INTO meta VALUES (?, ?)", list(want.items()))
        con.execute(f"CREATE TABLE IF NOT EXISTS files ({_create(_FILES_SQL)})")
        con.execute(f"CREATE TABLE IF NOT EXISTS sessions ({_create(_SESSION_SQL)})")
        con.execute(f"CREATE TABLE IF NOT EXISTS requests ({_create(_REQUEST_SQL)})")
        con.execute(f"CREATE TABLE IF NOT EXISTS sweeps ({_create(_SWEEP_SQL)})")

    def files(self) -> dict[str, tuple[int, int, str, str]]:
        """Every file indexed: its size, mtime (ns), content hash and model table's key."""
        rows = self.con.execute(
            "SELECT path, size_bytes, mtime_ns, content_hash, models FROM files"
        )
        return {p: (s, m, h, k) for p, s, m, h, k in rows.fetchall()}

    def skipped(self, paths: Sequence[str]) -> list[tuple[str, str]]:
        """The files of ``paths`` skipped as not transcripts, in their order, with why."""
        rows = self.con.execute(
            f"{_WANTED} SELECT f.path, f.skipped FROM files f JOIN wanted w USING (path) "
            "WHERE f.skipped IS NOT NULL ORDER BY w.position",
            [list(paths), len(paths)],
        )
        return [(p, why) for p, why in rows.fetchall()]

    def swept(self, policy: Policy) -> set[str]:
        """The files the index holds this policy's rows for (or that hold nothing to replay)."""
        rows = self.con.execute(
            "SELECT DISTINCT path FROM sweeps WHERE policy = ? UNION "
            "SELECT path FROM sessions GROUP BY path HAVING bool_and(error IS NOT NULL) UNION "
            "SELECT path FROM files WHERE skipped IS NOT NULL",
            [policy.settings_json],
        )
        return {p for (p,) in rows.fetchall()}

    def write(self, results: Sequence[FileResult]) -> None:
        """Store what the workers returned (a file's old rows replaced; an unchanged file keeps
        its rows, with its new size and time)."""
        if not results:
            return
        import pandas as pd

        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            before = self.files()
            con.execute(f"DELETE FROM files WHERE {_IN_LIST}", [[r.path for r in results]])
            changed = [r.path for r in results if not r.unchanged]
            for table in ("sessions", "requests"):
                con.execute(f"DELETE FROM {table} WHERE {_IN_LIST}", [changed])
            other = [  # new bytes or prices: the policies' old rows no longer hold
                r.path
                for r in results
                if not r.unchanged
                and before.get(r.path, (0, 0, r.content_hash, r.models_key))[2:]
                != (r.content_hash, r.models_key)
            ]
            con.execute(f"DELETE FROM sweeps WHERE {_IN_LIST}", [other])
            files = [
                [r.path, r.size_bytes, r.mtime_ns, r.content_hash, r.models_key, r.skipped]
                for r in results
            ]
            _insert(con, "files", _FILES_SQL, files)
            sessions = [_session_values(s) for r in results for s in r.sessions]
            _insert(con, "sessions", _SESSION_SQL, sessions)
            frames = [r.requests for r in results if r.requests is not None and len(r.requests)]
            if frames:
                frame = pd.concat(frames, ignore_index=True)
                con.register("new_requests", frame)
                names = ", ".join(f'"{c}"' for c in _REQUEST_SQL)
                con.execute(f"INSERT INTO requests ({names}) SELECT {names} FROM new_requests")
                con.unregister("new_requests")
            self._insert_sweeps([s for r in results for s in r.sweeps])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _insert_sweeps(self, rows: Sequence[SweepRow]) -> None:
        if not rows:
            return
        by_policy: dict[str, set[str]] = {}
        for row in rows:
            by_policy.setdefault(row.policy, set()).add(row.path)
        for policy, paths in by_policy.items():  # a file swept again: its old rows go
            self.con.execute(
                f"DELETE FROM sweeps WHERE policy = ? AND {_IN_LIST}", [policy, sorted(paths)]
            )
        values = [[getattr(row, name) for name in _SWEEP_SQL] for row in rows]
        _insert(self.con, "sweeps", _SWEEP_SQL, values)
        self.con.execute(_RECORDED_SQL)

    def sessions(self, paths: Sequence[str]) -> list[SessionRow]:
        """The rows of these files, in their order (then by conversation)."""
        names = ", ".join(f's."{c}"' for c in _SESSION_SQL)
        result = self.con.execute(
            f"{_WANTED} SELECT {names} FROM sessions s JOIN wanted w USING (path) "
            "ORDER BY w.position, s.conversation",
            [list(paths), len(paths)],
        ).fetchall()
        return [_session_row(values) for values in result]

    def sweep_rows(self, paths: Sequence[str], policies: Sequence[Policy]) -> list[SweepRow]:
        """The sweep rows of these files under these policies (policy, then file order)."""
        names = ", ".join(f's."{c}"' for c in _SWEEP_SQL)
        result = self.con.execute(
            f"{_WANTED}, wanted_policies AS (SELECT unnest(?::VARCHAR[]) AS policy, "
            f"unnest(range(?)) AS rank) SELECT {names} FROM sweeps s JOIN wanted w USING (path) "
            "JOIN wanted_policies p USING (policy) ORDER BY p.rank, w.position, s.conversation",
            [list(paths), len(paths), [p.settings_json for p in policies], len(policies)],
        ).fetchall()
        return [SweepRow(**dict(zip(_SWEEP_SQL, values, strict=True))) for values in result]

    def export_parquet(self, paths: Sequence[str], target: str) -> None:
        """Write these files' session rows to a Parquet file (DuckDB's ``COPY``)."""
        names = ", ".join(f's."{c}"' for c in _SESSION_SQL)
        quoted = target.replace("'", "''")
        try:
            self.con.execute(
                f"COPY ({_WANTED} SELECT {names} FROM sessions s JOIN wanted w USING (path) "
                f"ORDER BY w.position, s.conversation) TO '{quoted}' (FORMAT parquet)",
                [list(paths), len(paths)],
            )
        except Exception as e:  # duckdb.IOException: the file cannot be written
            raise FleetError(f"{target}: cannot write the Parquet file ({e})") from None


def _session_values(row: SessionRow) -> list[Any]:
    values = [getattr(row, name) for name in _SESSION_SQL]
    values[list(_SESSION_SQL).index("models")] = list(row.models)
    values[list(_SESSION_SQL).index("resumes")] = list(row.resumes)
    values[list(_SESSION_SQL).index("events")] = json.dumps(dict(row.events))
    return values


def _session_row(values: Sequence[Any]) -> SessionRow:
    data = dict(zip(_SESSION_SQL, values, strict=True))
    data["models"] = tuple(data["models"] or ())
    data["resumes"] = tuple(data["resumes"] or ())
    data["events"] = json.loads(data["events"]) if data["events"] else {}
    return SessionRow(**data)


# ---- a whole run ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """What :func:`scan` found: a row per session, the sweep's rows and totals."""

    sessions: tuple[SessionRow, ...]
    sweeps: tuple[SweepRow, ...]
    totals: tuple[SweepTotal, ...]
    read_files: int
    """Files parsed this time (the others came from the index)."""
    skipped: tuple[tuple[str, str], ...] = ()
    """Files that are not transcripts (a ``.json``/``.yaml`` found beside them), with why."""


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def scan(
    paths: Sequence[str],
    *,
    index: Index,
    policies: Sequence[Policy] = (),
    jobs: int | None = None,
    ray_address: str | None = None,
    progress: ProgressCallback | None = None,
    limits: Limits | None = None,
    timeout_s: float | None = TIMEOUT_S,
    models: ModelTable | None = None,
) -> Scan:
    """Index the files (``discover``'s list) that the index does not hold as they are now (or
    holds priced with another model table), then read every row back from it: the sessions,
    the files skipped as not transcripts, and each policy's sweep rows and totals.
    ``timeout_s``: the wall time each file may take (:func:`time_limit_s`; None: no limit);
    ``models``: the table to price with (None: the bundled one)."""
    known = index.files()
    swept = {p.settings_json: index.swept(p) for p in policies}
    from ctxviz.models import default_table

    models = None if models is default_table() else models  # the workers have it already
    key = models_key(models)
    common: dict[str, Any] = {"limits": limits, "timeout_s": timeout_s}
    common |= {"models": models, "models_key": key}
    tasks: list[FileTask] = []
    for path in paths:
        stat = _stat(path)
        size, mtime = stat if stat is not None else (0, 0)
        where: dict[str, Any] = {"path": path, "size_bytes": size, "mtime_ns": mtime}
        where["optional"] = _optional(path)
        stored = known.get(path)
        missing = tuple(p for p in policies if path not in swept[p.settings_json])
        # an empty hash: the file could not be read, or its task gave no answer: read it again
        same = stored is not None and stored[3] == key and stored[2] != ""
        if stored is not None and same and stored[:2] == (size, mtime):
            if missing:
                tasks.append(
                    FileTask(
                        **where, **common, known_hash=stored[2], policies=missing, sweep_only=True
                    )
                )
            continue
        known_hash = stored[2] if stored is not None and same and not missing else None
        tasks.append(FileTask(**where, **common, known_hash=known_hash, policies=tuple(policies)))
    workers = jobs or os.cpu_count() or 1
    results = (
        run_ray(tasks, ray_address, progress)
        if ray_address is not None
        else run_pool(tasks, workers, progress)
    )
    batch: list[FileResult] = []
    for result in results:
        batch.append(result)
        if len(batch) >= 64:
            index.write(batch)
            batch = []
    index.write(batch)
    sessions = index.sessions(paths)
    joined = {f for row in sessions for f in row.resumes}  # listed with the session resuming it
    sessions = [r for r in sessions if r.path not in joined]
    sweep_rows = index.sweep_rows(paths, policies) if policies else []
    sweeps = [r for r in sweep_rows if r.path not in joined]
    return Scan(
        sessions=tuple(sessions),
        sweeps=tuple(sweeps),
        totals=sweep_totals(sweeps, policies),
        read_files=len(tasks),
        skipped=tuple(index.skipped(paths)),
    )
