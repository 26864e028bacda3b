"""The explorer's one boundary with Streamlit: caching, the shared sidebar, URL state, exports.

Navigation: ``app.py`` plus auto-discovered ``pages/*.py`` (no ``st.navigation``). Every page calls
:func:`run_page`, which draws the same sidebar, loads and replays through the caches below, and
turns any exception into an ``st.error`` (never a traceback). This shape is what AppTest can run
page by page (``AppTest.from_file("pages/x.py")``) and what the browser test drives; the
``pages/`` + ``st.navigation`` mix loses entrypoint sidebar widgets under AppTest.

Caching lives only here, keyed by the sha-256 of the transcript's bytes and a frozen
:class:`Scenario`. A transcript is parsed in a worker process with memory and time limits
(``ctxviz_app.isolated``: a hostile upload costs the server nothing but a wait) and kept in a cache
bounded in bytes and age (``LOADED_CACHE_BYTES``, held by ``st.cache_resource``). Replays use
``st.cache_resource`` (bounded by ``max_entries`` and ``ttl``), not ``st.cache_data``:
``cache_data`` unpickles a copy on every hit, and a replay of a 2,000-request transcript pickles
to ~4 MB that takes ~270 ms to unpickle — the whole 300 ms budget of a slider move. The cached
``Conversation`` is frozen and a ``Simulation`` is only read (pages and ``ctxviz.figures`` never
write to its frames; ``tests/test_figures.py`` checks the figures), so sharing one instance
between sessions is safe. There is no module-level mutable state: per-user state is
``st.session_state`` and the URL; shared state is held by ``st.cache_resource``.

URL state: widgets made with the helpers here (:func:`select`, :func:`slider`, …) start from the
URL's query parameter of the same key, keep their value across page switches, and write it back
to the URL when it differs from the default — so a view can be shared by copying the address.
(``bind="query-params"`` was tried: a bound sidebar widget re-created on another page lost its
value and URL parameter in the browser, so the sync is done by hand.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.errors import StreamlitPageNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

import ctxviz
from ctxviz import figures, report, snippets
from ctxviz.errors import TranscriptError
from ctxviz.formats.claude_code import AGENT_TOOLS
from ctxviz.model import Conversation, ToolUseBlock
from ctxviz.models import ModelInfo, ModelTable, default_table, load_model_table
from ctxviz.policies import (
    claude_code,
    clear_thinking,
    clear_tool_uses,
    compact,
    compaction_control,
    rolling,
)
from ctxviz.policies.compact_on_demand import CompactOnDemand
from ctxviz.policies.thinking import thinking_on
from ctxviz.simulator import Simulation
from ctxviz.simulator.prepare import first_model
from ctxviz.tokens import family_for_model, known_counts
from ctxviz_app import isolated

_LOG = logging.getLogger("ctxviz.app")

ROOT: Final = Path(__file__).resolve().parents[1]
SAMPLES_DIR: Final = ROOT / "sample_conversations"

# ---- samples -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """A bundled transcript."""

    id: str
    file: str
    label: str


SAMPLES: Final[tuple[Sample, ...]] = (
    Sample(
        id="claude_code_session",
        file="claude_code_session.zip",
        label="Claude Code session (auto-compaction, sub-agent)",
    ),
    Sample(
        id="agent_tool_loop",
        file="agent_tool_loop.jsonl.xz",
        label="Agent tool loop (API log, prompt to 117K)",
    ),
    Sample(
        id="thinking_chat",
        file="thinking_chat.jsonl",
        label="Chat with extended thinking",
    ),
    Sample(
        id="interleaved_thinking_tools",
        file="interleaved_thinking_tools.json",
        label="Interleaved thinking with tools",
    ),
    Sample(id="openai_tool_calls", file="openai_tool_calls.jsonl", label="OpenAI tool calls"),
    Sample(
        id="request_body",
        file="request_body.json",
        label="One request body (no usage: estimated)",
    ),
    Sample(
        id="web_research_agent",
        file="web_research_agent.jsonl.xz",
        label="Research agent with web search (server-tool pitfall)",
    ),
)
DEFAULT_SAMPLE: Final = "claude_code_session"
UPLOAD: Final = "upload"
"""The source option that stands for the file uploaded in this session."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PageInfo:
    """One page of the explorer, for the sidebar's navigation."""

    path: str
    label: str
    icon: str
    what: str


PAGES: Final[tuple[PageInfo, ...]] = (
    PageInfo(
        path="app.py",
        label="Overview",
        icon=":material/home:",
        what="the transcript at a glance",
    ),
    PageInfo(
        path="pages/1_Timeline.py",
        label="Timeline",
        icon=":material/stacked_line_chart:",
        what="prompt per request by category, events, the window",
    ),
    PageInfo(
        path="pages/2_Thinking.py",
        label="Thinking",
        icon=":material/psychology:",
        what="generated vs carried, stripping, clear_thinking keep N",
    ),
    PageInfo(
        path="pages/3_Context_editing.py",
        label="Context editing",
        icon=":material/content_cut:",
        what="every clear_tool_uses option, applied_edits, the cache",
    ),
    PageInfo(
        path="pages/4_Compaction.py",
        label="Compaction",
        icon=":material/compress:",
        what="server, SDK and Claude Code compaction",
    ),
    PageInfo(
        path="pages/5_Compare.py",
        label="Compare",
        icon=":material/compare_arrows:",
        what="up to four strategies side by side",
    ),
    PageInfo(
        path="pages/6_Cost.py",
        label="Cost",
        icon=":material/payments:",
        what="cumulative $, cache reads and writes, long-context zone",
    ),
    PageInfo(
        path="pages/7_Inspector.py",
        label="Inspector",
        icon=":material/search:",
        what="one request's prompt as the model saw it",
    ),
    PageInfo(
        path="pages/9_Fleet.py",
        label="Fleet",
        icon=":material/table_view:",
        what="every session of a folder or zip: table, charts, policy sweep",
    ),
    PageInfo(
        path="pages/8_Formats_and_help.py",
        label="Formats & help",
        icon=":material/help:",
        what="what files to load, glossary",
    ),
)
"""The pages in order. Streamlit's own navigation is hidden (config.toml) because it would name
the entry page after its file ("app"); the sidebar draws these links instead."""

UPLOAD_TYPES: Final = ("json", "jsonl", "yaml", "yml", "zip", "xz", "gz", "bz2", "txt")

# Every key of a URL-synced widget, on any page. Their values are re-assigned to session_state at
# the start of each run so that Streamlit does not drop them when their page is not shown
# (its documented way to keep widget values across pages).
PERSISTENT_KEYS: Final[frozenset[str]] = frozenset(
    {
        # sidebar
        "source",
        "agent",
        "model",
        "window",
        "max_tokens",
        "models_text",
        "full_window",
        # timeline
        "tl_events",
        "tl_range",
        # thinking
        "th_edit",
        "th_keep",
        "th_preserve",
        # context editing
        "ce_tools",
        "ce_trigger_type",
        "ce_trigger_tokens",
        "ce_trigger_uses",
        "ce_keep",
        "ce_clear_at_least",
        "ce_exclude",
        "ce_inputs",
        "ce_thinking",
        "ce_thinking_keep",
        "ce_request",
        # compaction
        "cp_mode",
        "cp_trigger",
        "cp_pause",
        "cp_threshold",
        "cp_totals",
        "cp_pct",
        "cp_window",
        "cp_disable",
        "cp_summary",
        "cp_undo",
        # compare, cost, inspector
        "cmp",
        "cost",
        "request",
        "insp_strategy",
        "insp_first",
    }
)
_UPLOAD_STATE: Final = "_ctxviz_upload"
_LINK_WITHOUT_FILE: Final = "_ctxviz_link_without_file"
_OPEN_OVERVIEW: Final = "_ctxviz_open_overview"
"""Set by :func:`open_transcript`: the next run goes to the Overview page."""


# ---- markdown safety ---------------------------------------------------------------------------

_MD_SPECIAL: Final = set("\\`*_{}[]()#+-.!|<>~$:")


# Streamlit's markdown turns bare URLs, www. addresses and e-mail addresses into links after the
# escapes are resolved: a zero-width space after the scheme's letters, "www" or "@" keeps them text.
_AUTOLINK: Final = re.compile(r"(?i)(?<=[a-z])(?=\\:)|(?<=\bwww)(?=\\\.)|(?<=@)")


def md(text: object) -> str:
    """Escape a dynamic string for Streamlit markdown (st.error, st.caption, labels…), so that a
    file name or an error message quoting a transcript is shown as text: no links, images, LaTeX.
    """
    escaped = "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text)).replace("\n", " ")
    return _AUTOLINK.sub("\u200b", escaped)


# ---- scenario: the frozen cache key ------------------------------------------------------------


def _canonical(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """Everything a replay depends on besides the transcript: hashable, the cache key.

    Policy objects are kept as canonical JSON text so that equal policies hash equal.
    """

    model: str | None = None
    context_window: int | None = None
    max_tokens: int | None = None
    context_management: str | None = None
    compaction_control: str | None = None
    compaction_control_totals: str = "sdk"
    summary_tokens: int | None = None
    thinking_preservation: bool | None = None
    claude_code_autocompact: str | None = None
    """Claude Code's auto-compact settings as canonical JSON (``{}``: its defaults)."""
    undo_recorded_compactions: bool = False
    rolling_window: bool | int | None = None
    models: str | None = None
    """The user's model table (JSON text, merged over the bundled one), if they gave one."""
    compaction: str | None = None
    """Compaction on demand (``CompactOnDemand``'s fields as canonical JSON), if any."""
    thinking_prefix_mismatch: str | None = None
    """``reject`` or ``drop``: preserved thinking a client-side rewrite made invalid."""

    @property
    def compaction_config(self) -> CompactOnDemand | None:
        """Compaction on demand, if this scenario uses it."""
        if self.compaction is None:
            return None
        fields = json.loads(self.compaction)
        if "at_requests" in fields:
            fields["at_requests"] = tuple(fields["at_requests"])
        return CompactOnDemand(**fields)

    @property
    def context_management_dict(self) -> dict[str, Any] | None:
        """The ``context_management`` object as the API takes it."""
        return None if self.context_management is None else json.loads(self.context_management)

    @property
    def compaction_control_dict(self) -> dict[str, Any] | None:
        """The SDK's ``compaction_control`` dict."""
        return None if self.compaction_control is None else json.loads(self.compaction_control)

    def kwargs(self) -> dict[str, Any]:
        """``ctxviz.simulate``'s keyword arguments."""
        kw: dict[str, Any] = {
            "model": self.model,
            "context_window": self.context_window,
            "max_tokens": self.max_tokens,
            "context_management": self.context_management_dict,
            "compaction_control": self.compaction_control_dict,
            "summary_tokens": self.summary_tokens,
            "thinking_preservation": self.thinking_preservation,
            "undo_recorded_compactions": self.undo_recorded_compactions,
            "rolling_window": self.rolling_window,
        }
        if self.compaction_control is not None:
            kw["compaction_control_totals"] = self.compaction_control_totals
        if self.claude_code_autocompact is not None:
            # as the command line passes it: True for Claude Code's defaults, else its settings
            kw["claude_code_autocompact"] = json.loads(self.claude_code_autocompact) or True
        if self.models is not None:
            kw["models"] = _user_table(self.models)
        if self.compaction is not None:
            kw["compaction"] = json.loads(self.compaction)
        if self.thinking_prefix_mismatch is not None:
            kw["thinking_prefix_mismatch"] = self.thinking_prefix_mismatch
        return kw

    def with_policy(
        self,
        *,
        context_management: Mapping[str, Any] | None = None,
        compaction_control: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> Scenario:
        """This scenario (its model and window) under another policy."""
        return dataclasses.replace(
            self,
            context_management=_canonical(context_management),
            compaction_control=_canonical(compaction_control),
            **changes,
        )


# ---- caches ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Loaded:
    """A load's outcome, cached whole so that a bad file is not parsed again on every rerun."""

    conversation: Conversation | None
    error: str | None = None
    ahead: isolated.Ahead | None = None
    """The reader counting the conversation's texts ahead (``_simulate``'s first replay)."""


LOADED_CACHE_BYTES: Final = 256 << 20
"""What the parsed transcripts kept for every session may weigh, pickled (~3× that in memory)."""
LOADED_TTL_S: Final = 2 * 3600.0


class _ByteCache:
    """Parsed transcripts by digest, least recently used first out, bounded by their pickled size
    and their age; shared by every session (held by ``st.cache_resource``), so locked."""

    def __init__(self, max_bytes: int, ttl_s: float) -> None:
        self.max_bytes, self.ttl_s = max_bytes, ttl_s
        self._items: OrderedDict[str, tuple[Loaded, int, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Loaded | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if time.monotonic() - item[2] > self.ttl_s:
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, value: Loaded, size: int) -> None:
        with self._lock:
            if key in self._items:
                self._drop(key)
            if size > self.max_bytes:
                return  # used once by its session, never kept
            self._items[key] = (value, size, time.monotonic())
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        self._bytes -= self._items.pop(key)[1]


PARSE_WORKERS: Final = 2
"""Transcripts parsed at once on the server (each in a worker capped at
``isolated.MEMORY_BYTES``); more uploads wait their turn."""


@st.cache_resource(show_spinner=False)
def _loaded_cache() -> _ByteCache:
    return _ByteCache(LOADED_CACHE_BYTES, LOADED_TTL_S)


@st.cache_resource(show_spinner=False)
def _parse_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(PARSE_WORKERS)


def _load(digest: str, name: str, data: bytes) -> Loaded:
    """Parse a transcript in a worker process with memory and time limits (``isolated``), keyed
    by its bytes' hash in a cache bounded in bytes."""
    cache = _loaded_cache()
    loaded = cache.get(digest)
    if loaded is None:
        with st.spinner("Reading the transcript…"), _parse_slots():
            try:
                parsed = isolated.parse(data)
                loaded = Loaded(conversation=parsed.conversation, ahead=parsed.ahead)
                size = parsed.pickled_bytes
            except isolated.Refused as err:
                loaded, size = Loaded(conversation=None, error=str(err)), 0
        cache.put(digest, loaded, size)
    return loaded


@st.cache_resource(max_entries=64, ttl="2h", show_spinner="Replaying the transcript…")
def _simulate(digest: str, name: str, agent: int, scenario: Scenario, _data: bytes) -> Simulation:
    """Replay one chain of a transcript under a scenario."""
    loaded = _load(digest, name, _data)
    conv = loaded.conversation
    assert conv is not None, "only called after a successful load"
    if agent >= 0:
        conv = conv.subagents[agent]
    known: dict[str, int] = {}
    family = family_for_model(scenario.model or first_model(conv))
    if loaded.ahead is not None and agent < 0:  # the first replay: the reader counted ahead
        known = loaded.ahead.known(conv, family)
    # every page draws from the frames at once: the estimates are made now, in one pass
    with known_counts(family, known):
        return ctxviz.simulate(conv, **scenario.kwargs(), defer_estimates=False)


@st.cache_resource(max_entries=2, show_spinner=False)
def _read_sample(file: str) -> bytes:
    """A bundled sample's bytes (read once per server)."""
    return (SAMPLES_DIR / file).read_bytes()


_MODELS_STATE: Final = "user_models"
"""Session key of the user's model table: its JSON text, once it has been read without error."""


@st.cache_resource(max_entries=8, show_spinner=False)
def _user_table(text: str) -> ModelTable:
    """The bundled table with the user's entries (JSON text) merged in; ValueError if bad."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    if isinstance(data, list):  # a bare list of entries
        data = {"models": data}
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with 'models' (or a list of entries)")
    return load_model_table(data=data)


def model_table() -> ModelTable:
    """The session's model table: the bundled one, with the user's entries merged in."""
    text = st.session_state.get(_MODELS_STATE)
    return default_table() if text is None else _user_table(text)


_MODEL_EXAMPLE: Final = """{"models": [
  {"id": "claude-opus-5-5", "cache_read_usd_per_mtok": 0.2},
  {"id": "my-model", "display_name": "My model", "family": "opus",
   "status": "active", "source": "my contract", "checked": "2026-12-05",
   "context_window_tokens": 1000000, "max_output_tokens": 128000,
   "input_usd_per_mtok": 4, "cache_write_5m_usd_per_mtok": 5,
   "cache_write_1h_usd_per_mtok": 8, "cache_read_usd_per_mtok": 0.2,
   "output_usd_per_mtok": 20, "min_cacheable_tokens": 1024, "tokenizer": "v5",
   "thinking_modes": ["adaptive"], "preserved_thinking": true,
   "preserves_thinking_by_default": true,
   "context_overflow": "model_context_window_exceeded",
   "supports_context_editing": true, "supports_compact_20260112": true,
   "context_awareness": false}
]}"""


def _on_models_upload() -> None:
    """An uploaded model table goes into the editor (where it can be changed, and survives a
    page switch, which the uploader itself does not)."""
    uploaded = st.session_state.get("models_file")
    if uploaded is not None:
        st.session_state["models_text"] = uploaded.getvalue().decode("utf-8", "replace")


def _models_editor(bar: DeltaGenerator) -> None:
    """The sidebar's model-table file and editor: entries merged over the bundled table by id
    (correct a price, add a model the table lacks). A bad table is refused with its reason."""
    with bar.expander("Model table (prices, windows)", expanded=False):
        st.caption(
            "Add a model or correct a price without touching code: upload or type JSON in the "
            "schema of the bundled table (download it below); entries merge over it by id. "
            "Every rate is $ per million tokens."
        )
        st.file_uploader(
            "Your model table (JSON)",
            type=["json"],
            key="models_file",
            on_change=_on_models_upload,
        )
        given = st.text_area(
            "Your entries (JSON; an uploaded file lands here)",
            key="models_text",
            height=160,
            placeholder=_MODEL_EXAMPLE,
        )
        if given.strip():
            try:
                _user_table(given)
            except ValueError as err:
                st.error(f"Model table not used: {md(err)}")
                st.session_state.pop(_MODELS_STATE, None)
            else:
                st.session_state[_MODELS_STATE] = given
                st.success("Your entries are merged over the bundled table.")
        else:
            st.session_state.pop(_MODELS_STATE, None)
        table = model_table()
        st.download_button(
            "Download the current table (JSON)",
            lambda: json.dumps(table.to_json(), indent=2),  # built when clicked, not every rerun
            file_name="ctxviz_models.json",
            mime="application/json",
            key="models_dl",
            on_click="ignore",
        )


# ---- URL-synced widgets ------------------------------------------------------------------------


# Places within one transcript (a request, a page of blocks, a range of requests): another
# transcript, or another chain of this one, opens at their defaults (the last request, the
# whole range), not at the number the previous one was left at.
PER_TRANSCRIPT_KEYS: Final = ("request", "insp_first", "tl_range", "ce_request")
_TRANSCRIPT_SHOWN: Final = "_transcript_shown"


def _forget_positions(transcript: tuple[str, int]) -> None:
    """Drop the places of ``PER_TRANSCRIPT_KEYS`` (session and URL) when the transcript shown
    (its digest, the chain) is not the one this session showed last; a first run keeps the
    URL's, which a shared link gives for its own transcript."""
    ss = st.session_state
    shown = ss.get(_TRANSCRIPT_SHOWN)
    ss[_TRANSCRIPT_SHOWN] = transcript
    if shown is None or shown == transcript:
        return
    for key in PER_TRANSCRIPT_KEYS:
        ss.pop(key, None)
        if key in st.query_params:
            del st.query_params[key]


def _keep_state() -> None:
    """Re-assign every synced widget's value so Streamlit keeps it while its page is not shown."""
    ss = st.session_state
    for key in PERSISTENT_KEYS:
        if key in ss:
            ss[key] = ss[key]


def _target(where: DeltaGenerator | None) -> DeltaGenerator:
    """Where a widget goes: ``where``, else the current container (what ``st.<widget>`` uses:
    Streamlit's own functions are this DeltaGenerator's methods)."""
    return where if where is not None else st._main


def _seed(
    key: str, default: Any, parse: Callable[[Any], Any], valid: Callable[[Any], bool]
) -> None:
    """Give the widget its value before it is created: kept, else from the URL, else default."""
    ss = st.session_state
    if key in ss:
        if valid(ss[key]):
            return
        ss[key] = default
        return
    value = default
    if key in st.query_params:
        try:
            candidate = parse(st.query_params.get_all(key))
        except (TypeError, ValueError, KeyError, IndexError):
            candidate = None
        if candidate is not None and valid(candidate):
            value = candidate
    ss[key] = value


def _publish(key: str, value: Any, default: Any) -> None:
    """Write the value to the URL, or remove it there when it is the default."""
    if value is None or value == default:
        if key in st.query_params:
            del st.query_params[key]
        return
    if isinstance(value, list | tuple):
        st.query_params[key] = [_url_str(v) for v in value]
    else:
        st.query_params[key] = _url_str(value)


def _url_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_bool(raw: list[str]) -> bool:
    text = raw[0].lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(text)


def select[T](
    label: str,
    options: Sequence[T],
    *,
    key: str,
    default: T,
    where: DeltaGenerator | None = None,
    radio: bool = False,
    format_func: Callable[[T], str] = str,
    help: str | None = None,
    disabled: bool = False,
) -> T:
    """A selectbox (or horizontal radio) whose value lives in the URL under ``key``."""
    by_text = {_url_str(o): o for o in options}
    _seed(key, default, lambda raw: by_text[raw[0]], lambda v: v in options)
    dg = _target(where)
    if radio:
        value = dg.radio(
            label,
            options,
            key=key,
            format_func=format_func,
            help=help,
            horizontal=True,
            disabled=disabled,
        )
    else:
        value = dg.selectbox(
            label, options, key=key, format_func=format_func, help=help, disabled=disabled
        )
    _publish(key, value, default)
    return value


def slider(
    label: str,
    *,
    key: str,
    default: int,
    min_value: int,
    max_value: int,
    step: int = 1,
    where: DeltaGenerator | None = None,
    help: str | None = None,
    format: str | None = None,
    disabled: bool = False,
) -> int:
    """An integer slider whose value lives in the URL under ``key`` (disabled on an empty range)."""
    if max_value <= min_value:
        # Streamlit needs min < max: a one-value range shows a disabled slider.
        max_value, disabled = min_value + step, True
    default = min(max(default, min_value), max_value)
    _seed(
        key,
        default,
        lambda raw: int(raw[0]),
        lambda v: isinstance(v, int) and min_value <= v <= max_value,
    )
    dg = _target(where)
    value = dg.slider(
        label,
        min_value=min_value,
        max_value=max_value,
        step=step,
        key=key,
        help=help,
        format=format,
        disabled=disabled,
    )
    _publish(key, value, default)
    return int(value)


def range_slider(
    label: str,
    *,
    key: str,
    min_value: int,
    max_value: int,
    where: DeltaGenerator | None = None,
    help: str | None = None,
) -> tuple[int, int]:
    """A range slider (default: the whole range) whose value lives in the URL under ``key``."""
    default = (min_value, max(max_value, min_value + 1))

    def valid(v: Any) -> bool:
        return isinstance(v, tuple) and len(v) == 2 and min_value <= v[0] <= v[1] <= default[1]

    _seed(key, default, lambda raw: (int(raw[0]), int(raw[1])), valid)
    dg = _target(where)
    # A range slider because _seed put a (low, high) tuple under its key; streamlit's overloads
    # read a range only from ``value=``, which would clash with that session state.
    value = cast(
        tuple[int, int],
        dg.slider(label, min_value=min_value, max_value=default[1], key=key, help=help),
    )
    _publish(key, tuple(value), default)
    return int(value[0]), int(value[1])


def number(
    label: str,
    *,
    key: str,
    default: int | None,
    min_value: int,
    max_value: int | None = None,
    step: int = 1,
    where: DeltaGenerator | None = None,
    help: str | None = None,
    placeholder: str | None = None,
    disabled: bool = False,
) -> int | None:
    """An integer input (None allowed when ``default`` is None) synced with the URL."""

    def valid(v: Any) -> bool:
        if v is None:
            return default is None
        return isinstance(v, int) and v >= min_value and (max_value is None or v <= max_value)

    _seed(key, default, lambda raw: int(raw[0]), valid)
    dg = _target(where)
    value = dg.number_input(
        label,
        min_value=min_value,
        max_value=max_value,
        step=step,
        key=key,
        help=help,
        placeholder=placeholder,
        disabled=disabled,
    )
    _publish(key, value, default)
    return None if value is None else int(value)


def toggle(
    label: str,
    *,
    key: str,
    default: bool,
    where: DeltaGenerator | None = None,
    help: str | None = None,
    disabled: bool = False,
) -> bool:
    """A toggle synced with the URL."""
    _seed(key, default, _parse_bool, lambda v: isinstance(v, bool))
    dg = _target(where)
    value = dg.toggle(label, key=key, help=help, disabled=disabled)
    _publish(key, value, default)
    return bool(value)


def multiselect(
    label: str,
    options: Sequence[str],
    *,
    key: str,
    default: Sequence[str] = (),
    max_selections: int | None = None,
    format_func: Callable[[str], str] = str,
    where: DeltaGenerator | None = None,
    help: str | None = None,
) -> list[str]:
    """A multiselect synced with the URL (one repeated parameter per value)."""
    default_list = [o for o in default if o in options][: max_selections or None]

    def valid(v: Any) -> bool:
        return (
            isinstance(v, list)
            and all(o in options for o in v)
            and (max_selections is None or len(v) <= max_selections)
        )

    _seed(key, default_list, lambda raw: [r for r in raw if r], valid)
    dg = _target(where)
    value = dg.multiselect(
        label,
        options,
        key=key,
        max_selections=max_selections,
        format_func=format_func,
        help=help,
    )
    _publish(key, list(value), default_list)
    return list(value)


# ---- the loaded app ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    """What a page body works with: the chosen chain, its source, and the sidebar's settings."""

    conversation: Conversation
    """The chain being replayed (the main chain, or a sub-agent)."""
    root: Conversation
    """The whole transcript as loaded."""
    source_name: str
    digest: str
    data: bytes = field(repr=False)
    agent: int
    """-1 for the main chain, else the index in ``root.subagents``."""
    base: Scenario
    """The sidebar's model and window, no policy."""
    max_tokens: int | None
    model_id: str
    """The model the replay uses (the override, else the transcript's)."""
    model_info: ModelInfo
    replay_window_tokens: int
    """The window the replay runs on (the as-recorded replay's ``context_window``, which
    ``ctxviz.policies.limits.window_tokens`` decides): the top of every token slider."""
    full_window: bool = False
    """Draw token axes up to the whole window (default: fit the data, the window marked)."""

    def simulate(self, scenario: Scenario | None = None) -> Simulation:
        """Replay this chain (cached) under ``scenario`` (default: as recorded)."""
        return _simulate(
            self.digest, self.source_name, self.agent, scenario or self.base, self.data
        )

    def simulate_subagent(self, index: int) -> Simulation:
        """Replay the transcript's sub-agent ``index`` (cached) under the sidebar's scenario."""
        return _simulate(self.digest, self.source_name, index, self.base, self.data)

    def policy(
        self,
        *,
        context_management: Mapping[str, Any] | None = None,
        compaction_control: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> Scenario:
        """The sidebar's scenario under a policy."""
        return self.base.with_policy(
            context_management=context_management,
            compaction_control=compaction_control,
            **changes,
        )

    @property
    def thinking_param(self) -> dict[str, Any] | None:
        """The ``thinking`` parameter the transcript's requests recorded, if any."""
        for r in self.conversation.requests:
            if isinstance(r.thinking, Mapping):
                return dict(r.thinking)
        return None


def _on_upload(key: str = "upload") -> None:
    """Keep the uploaded bytes for the session (the uploader is re-created on every page)."""
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    data = uploaded.getvalue()
    st.session_state[_UPLOAD_STATE] = (uploaded.name, hashlib.sha256(data).hexdigest(), data)
    st.session_state["source"] = UPLOAD
    st.session_state.pop(_LINK_WITHOUT_FILE, None)


def open_transcript(read: Callable[[], tuple[str, bytes]]) -> None:
    """A button's ``on_click``: make the transcript ``read()`` returns (file name, bytes) this
    session's upload, and show it on the Overview page in the run that follows. (A callback runs
    before the sidebar's selector is drawn: only there may its value change.)"""
    name, data = read()
    st.session_state[_UPLOAD_STATE] = (name, hashlib.sha256(data).hexdigest(), data)
    st.session_state["source"] = UPLOAD
    st.session_state.pop(_LINK_WITHOUT_FILE, None)
    st.session_state.pop("agent", None)  # the main chain of the new transcript
    st.session_state[_OPEN_OVERVIEW] = True


def _link_without_file() -> None:
    """A shared link made with an uploaded file opens where that file is not: say so (the
    bundled sample is shown meanwhile) and offer the upload, until a file or a sample is chosen."""
    ss = st.session_state
    if _UPLOAD_STATE in ss:
        return
    if "source" not in ss and st.query_params.get("source") == UPLOAD:
        ss[_LINK_WITHOUT_FILE] = True
    if not ss.get(_LINK_WITHOUT_FILE):
        return
    if ss.get("source", DEFAULT_SAMPLE) != DEFAULT_SAMPLE:
        ss.pop(_LINK_WITHOUT_FILE, None)
        return
    st.warning(
        "This link was made with an uploaded transcript, and uploads stay in the browser "
        "session that made them: the file is not here. Its settings are kept; the bundled "
        "sample is shown until you upload the file.",
        icon=":material/link_off:",
    )
    st.file_uploader(
        "Upload the link's transcript",
        type=list(UPLOAD_TYPES),
        key="upload_link",
        on_change=_on_upload,
        args=("upload_link",),
    )


def _missing_subagents(conv: Conversation) -> bool:
    """A Claude Code session that started sub-agents (Task/Agent calls) without their files."""
    if conv.format != "claude-code" or conv.subagents:
        return False
    return any(
        isinstance(b, ToolUseBlock) and b.name in AGENT_TOOLS
        for m in conv.messages
        if m.role == "assistant"
        for b in m.content
    )


def page_links(where: DeltaGenerator | None = None, *, describe: bool = False) -> None:
    """Links to every page. A page run on its own (AppTest runs each page file as its own
    entrypoint) cannot resolve the others: the links are then left out."""
    for info in PAGES:
        label = f"{info.label} — {info.what}" if describe else info.label
        try:
            _target(where).page_link(info.path, label=label, icon=info.icon)
        except StreamlitPageNotFoundError:
            return


def sidebar() -> App | None:
    """Draw the shared sidebar, load and pick the chain; None (with an st.error) if unreadable."""
    bar = st.sidebar
    with bar.container(key="nav"):
        page_links()
    bar.divider()
    bar.header("Transcript")
    _link_without_file()
    labels = {s.id: s.label for s in SAMPLES}
    if _UPLOAD_STATE in st.session_state:
        labels[UPLOAD] = f"Uploaded: {st.session_state[_UPLOAD_STATE][0]}"
    source = select(
        "Bundled sample or your file",
        list(labels),
        key="source",
        default=DEFAULT_SAMPLE,
        where=bar,
        format_func=labels.__getitem__,  # a pure lookup: AppTest calls it outside a run
    )
    bar.file_uploader(
        "Upload a transcript",
        type=list(UPLOAD_TYPES),
        key="upload",
        on_change=_on_upload,
        help="Claude Code session JSONL (or a .zip of it with its subagents folder), Anthropic "
        "or OpenAI request/response logs (JSON, JSONL, YAML cassette), claude.ai export; "
        ".gz / .xz / .bz2 compressed files are read as they are. See Formats & help.",
    )
    if source == UPLOAD:
        name, digest, data = st.session_state[_UPLOAD_STATE]
        # The uploader is empty on every page but the one the file was dropped on: say which
        # file is in use, so the box and the selector above agree.
        bar.caption(
            f"In use: your upload **{md(name)}** ({len(data) / 1024:,.1f} KB), kept for this "
            "session. Drop another file above to replace it."
        )
    else:
        sample = next(s for s in SAMPLES if s.id == source)
        name, data = sample.file, _read_sample(sample.file)
        digest = hashlib.sha256(data).hexdigest()
    loaded = _load(digest, name, data)
    if loaded.conversation is None:
        st.error(f"Could not read {md(name)}: {md(loaded.error)}")
        st.caption("Pick a bundled sample or upload another file in the sidebar.")
        return None
    root = loaded.conversation
    if _missing_subagents(root):
        bar.info(
            f"{md(name)} started sub-agents (Task/Agent calls) but their transcripts did not come "
            "with it: upload the session's folder as a .zip (the .jsonl with its "
            "<session>/subagents/ folder) to replay them too.",
            icon=":material/account_tree:",
        )
    if root.warnings:
        bar.warning(f"{len(root.warnings)} part(s) of {md(name)} were skipped or read with care.")
        with bar.expander("What was skipped"):
            for w in root.warnings:
                st.text(w)

    agent = -1
    if root.subagents:
        agent = select(
            "Chain",
            [-1, *range(len(root.subagents))],
            key="agent",
            default=-1,
            where=bar,
            format_func=lambda i: (
                "Main chain"
                if i < 0
                else f"Sub-agent {i + 1}: {root.subagents[i].agent_type or 'agent'}"
            ),
            help="Sub-agents are conversations of their own: only their final result enters the "
            "main chain's context, so each is replayed separately.",
        )
    conv = root if agent < 0 else root.subagents[agent]
    _forget_positions((digest, agent))

    bar.header("Replay settings")
    _models_editor(bar)
    table = model_table()
    recorded_model = conv.model or "unknown"
    model = select(
        "Model",
        ["recorded", *(m.id for m in table.current)],  # retired models: only as recorded
        key="model",
        default="recorded",
        where=bar,
        format_func=lambda m: (
            f"As recorded ({recorded_model})" if m == "recorded" else table.get(m).display_name
        ),
        help="Replay on another model: its window, prices and thinking behaviour. Retired models "
        "are not offered (a transcript that used one is still priced, with a warning).",
    )
    model_id = recorded_model if model == "recorded" else model
    info = table.get(model_id)
    if (said := info.warning()) is not None:
        bar.warning(md(said))  # it quotes the transcript's model id
    window = number(
        "Context window (tokens)",
        key="window",
        default=None,
        min_value=1_000,
        max_value=10_000_000,
        step=1_000,
        where=bar,
        placeholder="the model's window",
        help="Empty: the model's own window (Claude Code sessions: 200K unless they show 1M).",
    )
    max_tokens = number(
        "max_tokens",
        key="max_tokens",
        default=None,
        min_value=1,
        max_value=1_000_000,
        step=1_000,
        where=bar,
        placeholder="as recorded",
        help="Every request's max_tokens, in the replay and the exported SDK call. Empty: each "
        "request's recorded value. Models before 4.5 refuse a request whose input + max_tokens "
        "exceeds the window.",
    )
    base = Scenario(
        model=None if model == "recorded" else model,
        context_window=window,
        max_tokens=max_tokens,
        models=st.session_state.get(_MODELS_STATE),
    )
    replay_window = (
        figures.window_tokens(_simulate(digest, name, agent, base, data))
        or info.context_window_tokens
    )
    bar.caption(
        f"{md(info.display_name)}: replayed on a {replay_window:,}-token window (the model's: "
        f"{info.context_window_tokens:,}); max output {info.max_output_tokens:,}; "
        f"\\${info.input_usd_per_mtok:g} / \\${info.output_usd_per_mtok:g} per MTok in / out; "
        "earlier turns' thinking "
        + ("kept by default." if info.preserves_thinking_by_default else "stripped by default.")
        + f" Source: {md(info.source)} (checked {info.checked})."
    )
    full_window = toggle(
        "Token axes up to the whole window",
        key="full_window",
        default=False,
        where=bar,
        help="Off: charts fit the data, the window marked (an arrow says where it is when far "
        "above). On: every token axis goes up to the context window.",
    )
    bar.caption(
        "Recorded numbers come from the transcript's usage; estimated ones (a what-if, or a "
        "file without usage) are hatched or drawn with open markers."
    )
    return App(
        conversation=conv,
        root=root,
        source_name=name,
        digest=digest,
        data=data,
        agent=agent,
        base=base,
        max_tokens=max_tokens,
        model_id=model_id,
        model_info=info,
        replay_window_tokens=replay_window,
        full_window=full_window,
    )


# ---- page runner -------------------------------------------------------------------------------


@contextmanager
def guard(what: str = "", *, source: str | None = None) -> Iterator[None]:
    """Turn any exception into an st.error with ctxviz's message (no traceback); ``source``: the
    transcript's file name, said in the message."""
    try:
        yield
    except TranscriptError as err:
        st.error(f"Could not read {md(source) if source else 'the transcript'}: {md(err)}")
    except ValueError as err:
        # ctxviz raises ValueError (PolicyError) naming what the API would reject.
        prefix = f"{md(what)}: " if what else ""
        st.error(f"{prefix}this configuration is not valid — {md(err)}")
    except Exception as err:  # the last line of defence: a clear message, never a traceback
        _LOG.exception("ctxviz app error")
        on = f" with {md(source)}" if source else ""
        st.error(
            f"Something went wrong{on} ({md(type(err).__name__)}): {md(err)}. "
            "Please report it with the transcript if you can."
        )


def run_page(
    title: str,
    body: Callable[[App], None],
    *,
    icon: str = ":material/timeline:",
    intro: str | None = None,
    fragment: bool = False,
) -> None:
    """The frame of every page: config, kept state, title, sidebar, then the body, all guarded.

    ``fragment``: the body is a fragment (``st.fragment``), so that a widget of the body reruns
    the body alone: the title and the sidebar are neither run nor sent again, nor redrawn by the
    browser (a slider move on the Context editing page sent 90 websocket messages, now 57). Only
    for a body that changes nothing outside itself (a sidebar widget still reruns the page)."""
    # The browser fetches a material-icon favicon from fonts.gstatic.com; an emoji favicon is
    # drawn locally (a data: URL), so no page makes a request off the server.
    favicon = "📈" if icon.startswith(":material/") else icon
    st.set_page_config(page_title=f"{title} · ctxviz", page_icon=favicon, layout="wide")
    _keep_state()
    if st.session_state.pop(_OPEN_OVERVIEW, False):
        with contextlib.suppress(StreamlitPageNotFoundError):  # a page run alone (AppTest)
            st.switch_page("app.py")
    st.title(title)
    if intro:
        st.caption(intro)
    app: App | None = None
    with guard():
        app = sidebar()
    if app is not None:
        if fragment:
            _body_fragment(body, app)
        else:
            with guard(source=app.source_name):
                body(app)


@st.fragment
def _body_fragment(body: Callable[[App], None], app: App) -> None:
    """A page's body as a fragment; guarded inside, since a fragment's own rerun starts here.
    The synced widgets' values are re-assigned here too: at the end of a fragment's rerun,
    Streamlit drops the state of widgets it did not draw (the sidebar's), and the next page
    opened would lose the upload and every setting."""
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:  # in a full run they are drawn: kept
        _keep_state()
    with guard(source=app.source_name):
        body(app)


def chart(fig: Any, *, key: str, **kwargs: Any) -> Any:
    """Every chart: keyed, full width."""
    return st.plotly_chart(fig, key=key, width="stretch", **kwargs)


def table(frame: pd.DataFrame, *, key: str, column_config: Mapping[str, Any] | None = None) -> None:
    """Every table: counts with thousands separators (as the metrics print them), request
    numbers plain, a ``detail`` column as wide as its text, and "—" where a value is missing."""
    config: dict[str, Any] = {}
    for name in frame.columns:
        if name == "request":
            config[name] = st.column_config.NumberColumn(format="%d")
        elif str(name).endswith("$"):
            config[name] = st.column_config.NumberColumn(format="$%.4f")
        elif pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(
            frame[name]
        ):
            config[name] = st.column_config.NumberColumn(format="localized")
        elif name == "detail":
            # as wide as its longest sentence (about 7 px a character): the grid neither wraps
            # nor shows a clipped cell's end, and it scrolls sideways when wider than the page
            longest = int(frame[name].fillna("").astype(str).str.len().max() or 0)
            config[name] = st.column_config.TextColumn(width=max(7 * min(longest, 300) + 24, 400))
    config |= column_config or {}
    st.dataframe(
        frame,
        key=key,
        hide_index=True,
        column_config=config,
        placeholder="—",
    )


def warnings(sim: Simulation, *, key: str) -> None:
    """The replay's warnings (what the API would not accept, estimates), as inert text."""
    items = [*sim.warnings]
    if not items:
        return
    with st.expander(f"{len(items)} note(s) on this replay", expanded=False, key=key):
        for w in items:
            st.text(w)


# ---- strategies (Compare, Cost, Inspector) -----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Strategy:
    """A named policy to compare."""

    id: str
    label: str
    scenario: Scenario


def strategies(app: App) -> dict[str, Strategy]:
    """The strategies that apply to this transcript, as recorded first, then the user's own
    policies from the Context editing and Compaction pages when set."""
    conv = app.conversation
    undo = bool(conv.compactions)
    out: list[Strategy] = [Strategy(id="recorded", label="As recorded", scenario=app.base)]
    if undo:
        out.append(
            Strategy(
                id="no_compaction",
                label="No compaction (recorded ones undone)",
                scenario=app.policy(undo_recorded_compactions=True),
            )
        )
    # the strategies the compaction overview recommends, named as the docs name them
    out.append(
        Strategy(
            id="on_demand",
            label=f"Compaction on demand (past {compact.DEFAULT_TRIGGER_TOKENS // 1_000}K)",
            scenario=dataclasses.replace(
                app.policy(undo_recorded_compactions=undo),
                compaction=_canonical({"at_prompt_tokens": compact.DEFAULT_TRIGGER_TOKENS}),
            ),
        )
    )
    if thinking_on(conv, app.model_info):
        out.append(
            Strategy(
                id="context_editing",
                label="Context editing (clear_thinking + clear_tool_uses, API defaults)",
                scenario=app.policy(
                    context_management={
                        "edits": [{"type": clear_thinking.TYPE}, {"type": clear_tool_uses.TYPE}]
                    },
                    undo_recorded_compactions=undo,
                ),
            )
        )
    out.append(
        Strategy(
            id="clear_tools",
            label="clear_tool_uses (API defaults)",
            scenario=app.policy(
                context_management={"edits": [clear_tool_uses.ClearToolUses().to_api()]},
                undo_recorded_compactions=undo,
            ),
        )
    )
    if conv.thinking_enabled:
        out.append(
            Strategy(
                id="keep_thinking",
                label="clear_thinking keep all",
                scenario=app.policy(
                    context_management={
                        "edits": [clear_thinking.ClearThinking(keep_turns="all").to_api()]
                    },
                    undo_recorded_compactions=undo,
                ),
            )
        )
    out += [
        Strategy(
            id="server_compaction",
            label="Compaction at a token threshold "
            f"({compact.TYPE}, {compact.DEFAULT_TRIGGER_TOKENS // 1_000}K default)",
            scenario=app.policy(
                context_management={"edits": [compact.Compact().to_api()]},
                undo_recorded_compactions=undo,
            ),
        ),
        Strategy(
            id="sdk_compaction",
            label=f"SDK {compaction_control.TYPE} "
            f"({compaction_control.DEFAULT_THRESHOLD_TOKENS // 1_000}K default)",
            scenario=app.policy(
                compaction_control=compaction_control.CompactionControl().to_sdk(),
                undo_recorded_compactions=undo,
            ),
        ),
        Strategy(
            id="claude_code",
            label="Claude Code auto-compact (its default threshold)",
            scenario=app.policy(
                claude_code_autocompact=json.dumps(
                    claude_code.to_settings(claude_code.ClaudeCodeAutocompact())
                ),
                undo_recorded_compactions=True,
            ),
        ),
        Strategy(
            id="rolling",
            label="Rolling window (chat apps)",
            scenario=app.policy(
                rolling_window=rolling.RollingWindow().to_api(), undo_recorded_compactions=undo
            ),
        ),
    ]
    for state_key, sid, label in (
        ("_ctxviz_policy_editing", "my_editing", "Your context-editing policy"),
        ("_ctxviz_policy_compaction", "my_compaction", "Your compaction policy"),
    ):
        mine = st.session_state.get(state_key)
        if isinstance(mine, Scenario):
            # Keep the user's policy, on the sidebar's current model and window.
            scenario = dataclasses.replace(
                mine,
                model=app.base.model,
                context_window=app.base.context_window,
                max_tokens=app.base.max_tokens,
            )
            out.append(Strategy(id=sid, label=label, scenario=scenario))
    return {s.id: s for s in out}


def remember_policy(kind: str, scenario: Scenario) -> None:
    """Offer the policy set on a page to Compare, Cost and Inspector ("Your … policy")."""
    st.session_state[f"_ctxviz_policy_{kind}"] = scenario


def run_strategies(app: App, chosen: Sequence[Strategy]) -> dict[str, Simulation]:
    """Replay each chosen strategy; one that the API would reject is reported and left out."""
    sims: dict[str, Simulation] = {}
    for s in chosen:
        try:
            sims[s.label] = app.simulate(s.scenario)
        except ValueError as err:
            st.warning(f"{md(s.label)} left out: {md(err)}")
    return sims


# ---- exports -----------------------------------------------------------------------------------


_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""How a spreadsheet cell that it would run as a formula begins (OWASP, CSV injection)."""


def csv_text(frame: pd.DataFrame) -> str:
    """A table as CSV for a spreadsheet: a text cell from a transcript (a model id, an event's
    detail) that would start a formula is kept as text, behind a leading ``'``."""

    def inert(value: object) -> object:
        if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
            return "'" + value
        return value

    text_columns = frame.select_dtypes(include=["object", "string"]).columns
    safe = frame.copy()
    for name in text_columns:
        safe[name] = safe[name].map(inert)
    return str(safe.to_csv(index=False))


def _policy_words(scenario: Scenario) -> str:
    """What a scenario's policy is, in words (for the export tabs that do not apply to it)."""
    if scenario.compaction is not None:
        return "is compaction on demand: the client's loop (see the Python SDK call)"
    if scenario.context_management is not None:
        return "uses context_management (see its tab)"
    if scenario.compaction_control is not None:
        return "uses the SDK's compaction_control (see its tab)"
    if scenario.claude_code_autocompact is not None:
        return "is Claude Code's auto-compact, a client behaviour, not an API setting"
    if scenario.rolling_window:
        return "is a rolling window, which a chat client does, not an API setting"
    if scenario.undo_recorded_compactions:
        return "replays without the recorded compactions, no policy"
    return "is as recorded, no policy"


def _csv(frame: pd.DataFrame) -> Callable[[], str]:
    return lambda: csv_text(frame)


def exports(
    app: App,
    sim: Simulation,
    *,
    key: str,
    scenario: Scenario | None = None,
    compare: Mapping[str, Simulation] | None = None,
    label: str | None = None,
) -> None:
    """Copy or download the policy (context_management JSON, Python SDK call, compaction_control
    dict), the replay's requests and events as CSV, and the standalone HTML report; ``label``
    names the strategy exported when the page has several."""
    scenario = scenario or app.base
    cm = scenario.context_management_dict
    cc = scenario.compaction_control_dict
    st.subheader("Export")
    whose = f"the first strategy, {md(label)}," if label else "this page's replay"
    if label:
        st.caption(f"Exports of the first strategy chosen: {md(label)}.")
    # Only the open tab is built and sent (choosing another reruns the page): the five tabs'
    # code blocks and buttons were a fifth of the browser's work on every slider move.
    tabs = st.tabs(list(EXPORT_TABS), key=f"{key}_tabs", on_change="rerun")
    opened = next((i for i, tab in enumerate(tabs) if tab.open), 0)
    with tabs[opened]:
        if opened == 0:
            _export_context_management(scenario, cm, whose=whose, key=key)
        elif opened == 1:
            _export_sdk_call(app, scenario, cm, cc, key=key)
        elif opened == 2:
            _export_compaction_control(scenario, cc, whose=whose, key=key)
        elif opened == 3:
            _export_csv(sim, key=key)
        else:
            _export_report(app, sim, compare=compare, key=key)


EXPORT_TABS: Final = (
    "context_management JSON",
    "Python SDK call",
    "compaction_control",
    "CSV",
    "HTML report",
)
"""The export tabs, in order (a tab's label is its value in ``st.session_state[f"{key}_tabs"]``)."""


def _code_and_download(
    text: str, language: str, file_name: str, mime: str, *, key: str, label: str | None = None
) -> None:
    """An export shown as code, with a button that downloads it (``label``: the name the button
    says, when not the file's)."""
    st.code(text, language=language)
    st.download_button(
        f"Download {label or file_name}",
        text,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
    )


def _export_context_management(
    scenario: Scenario, cm: dict[str, Any] | None, *, whose: str, key: str
) -> None:
    if cm is None:
        st.caption(f"No context_management: {whose} {_policy_words(scenario)}.")
    else:
        _code_and_download(
            snippets.context_management_json(cm),
            "json",
            "context_management.json",
            "application/json",
            key=f"{key}_dl_cm",
        )


def _export_sdk_call(
    app: App,
    scenario: Scenario,
    cm: dict[str, Any] | None,
    cc: dict[str, Any] | None,
    *,
    key: str,
) -> None:
    try:
        program = snippets.python_sdk_call(
            app.model_id,
            context_management=cm,
            compaction_control=cc,
            max_tokens=app.max_tokens,
            thinking=app.thinking_param,
            table=model_table(),
            compaction=scenario.compaction_config,
            thinking_prefix_mismatch=scenario.thinking_prefix_mismatch,
        )
    except ValueError as err:
        st.info(f"No SDK call for this policy: {md(err)}")
    else:
        _code_and_download(
            program,
            "python",
            "ctxviz_call.py",
            "text/x-python",
            key=f"{key}_dl_py",
            label="call.py",
        )


def _export_compaction_control(
    scenario: Scenario, cc: dict[str, Any] | None, *, whose: str, key: str
) -> None:
    if cc is None:
        st.caption(f"No compaction_control: {whose} {_policy_words(scenario)}.")
    else:
        _code_and_download(
            snippets.compaction_control_dict(cc),
            "python",
            "compaction_control.py",
            "text/x-python",
            key=f"{key}_dl_cc",
        )


def _export_csv(sim: Simulation, *, key: str) -> None:
    st.caption("One row per request and per event; `source` says recorded or estimated.")
    left, right = st.columns(2)
    left.download_button(
        "Requests (CSV)",
        _csv(sim.requests),
        file_name="ctxviz_requests.csv",
        mime="text/csv",
        key=f"{key}_dl_req",
        on_click="ignore",
    )
    right.download_button(
        "Events (CSV)",
        _csv(sim.events),
        file_name="ctxviz_events.csv",
        mime="text/csv",
        key=f"{key}_dl_ev",
        on_click="ignore",
    )


def _export_report(
    app: App, sim: Simulation, *, compare: Mapping[str, Simulation] | None, key: str
) -> None:
    st.caption(
        "One HTML file with every figure that opens offline (plotly.js inside, about 5 MB); "
        "built when you click."
    )
    title = f"ctxviz — {app.source_name}"
    threshold = app.model_info.long_context_threshold_tokens
    st.download_button(
        "Download the HTML report",
        lambda: report.render(
            sim,
            title=title,
            # The other strategies: this one is the report's own replay already.
            compare={k: v for k, v in compare.items() if v is not sim} if compare else None,
            premium_threshold_tokens=threshold,
        ),
        file_name="ctxviz_report.html",
        mime="text/html",
        key=f"{key}_dl_html",
        on_click="ignore",
    )
