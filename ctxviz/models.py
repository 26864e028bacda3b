"""The model table: windows, limits, prices and per-model behaviour, kept as editable data.

The numbers live in ``ctxviz/data/models.json``, each entry with its source page and the date it
was checked; a user file with the same shape overrides or extends entries, merged by ``id``. Every
rate (input, 5-minute and 1-hour cache writes, cache reads, output) is stored per model, never
derived from the input price; prices that changed on a date are kept in ``price_history`` and
``ModelInfo.at(timestamp)`` gives the rates in force then. Lookups
resolve aliases, dated ids, Claude Code's ``[1m]`` suffix and Bedrock / Vertex / router spellings.
An id the table does not know still gets a ``ModelInfo`` — copied from the newest verified model
of the family its name mentions, else from the table's ``fallback`` entry — with ``known=False``
so that callers can warn that its numbers are guesses (``ModelInfo.warning``).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, get_args

from ctxviz.errors import json_value

Provider: TypeAlias = Literal["anthropic", "openai"]
Status: TypeAlias = Literal["active", "legacy", "deprecated", "retired"]
"""The lifecycle terms of Anthropic's model-deprecations page."""
ThinkingMode: TypeAlias = Literal["enabled", "adaptive", "between_tools", "disabled"]
"""``thinking.type`` values a model accepts; a model without ``disabled`` always thinks."""
ThinkingDisplay: TypeAlias = Literal["summarized", "omitted"]
"""``thinking.display`` when the request does not set it: ``summarized`` returns a summary of the
thinking, ``omitted`` returns thinking blocks with empty text (billed all the same; the signature
carries the thinking for later turns)."""
ContextOverflow: TypeAlias = Literal["validation_error", "model_context_window_exceeded"]
"""How a request whose ``input + max_tokens`` exceeds the window ends: refused up front with a
validation error (models before 4.5), or accepted and stopped with
``stop_reason: "model_context_window_exceeded"`` (4.5 and later)."""

FAMILIES: Final[tuple[str, ...]] = ("opus", "sonnet", "haiku", "fable", "mythos", "gpt")
"""Families an unknown id is matched to, by name, to borrow the newest known model's numbers."""


HIDDEN_PROMPT_KEYS: Final[tuple[str, ...]] = (
    "tool_use_auto",
    "tool_use_any",
    "bash",
    "text_editor",
    "computer",
    "memory",
    "web_search",
    "tool_search",
    "thinking",
    "structured_output",
)
"""Keys of ``ModelInfo.hidden_prompt_tokens``: the tool-use system prompt added whenever ``tools``
is not empty, with ``tool_choice`` auto / none (the default) or any / tool; the expanded
definitions of the Anthropic-defined bash, text editor, computer-use, memory, web search and tool
search tools (each replaces the short definition sent); the instruction ``thinking`` (enabled or
adaptive) adds; the instruction a structured-output format adds besides its schema
(docs/counting.md)."""


RATE_FIELDS: Final[tuple[str, ...]] = (
    "input_usd_per_mtok",
    "cache_write_5m_usd_per_mtok",
    "cache_write_1h_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "output_usd_per_mtok",
)
"""The five rates every entry stores ($ per million tokens)."""
_PERIOD_FIELDS: Final[tuple[str, ...]] = (
    *RATE_FIELDS,
    "long_context_threshold_tokens",
    "long_context_input_multiplier",
    "long_context_output_multiplier",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PricePeriod:
    """Prices in force before ``until`` (and after the previous period): the fields it names
    replace the entry's current ones."""

    until: str
    """ISO date (UTC) from which these prices no longer applied."""
    changes: tuple[tuple[str, float | int | None], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelInfo:
    """One model's limits, prices and behaviour; every token count is in tokens, prices in USD."""

    id: str
    """ctxviz's key for the model (e.g. ``claude-sonnet-4-5``)."""
    api_id: str
    """The id to send to the first-party API (``claude-sonnet-4-0`` for ``claude-sonnet-4``)."""
    display_name: str
    provider: Provider
    family: str
    """``opus``, ``sonnet``, ``haiku``, ``gpt`` or ``unknown``."""
    aliases: tuple[str, ...] = ()
    """Other ids resolving to this entry: dated ids, ``-0`` / ``-latest`` aliases."""
    status: Status
    released: str | None = None
    deprecated_on: str | None = None
    retired_on: str | None = None
    """Retirement date (past for a retired model, planned for a deprecated one)."""
    source: str
    """The page(s) the numbers come from."""
    checked: str
    """ISO date the entry was last checked against its source."""
    context_window_tokens: int
    """The window a request's input + output must fit (the 1M window when ``extended_context``)."""
    context_1m_beta: str | None
    """Beta header raising the window to ``extended_context_window_tokens`` (Sonnet 4 / 4.5)."""
    extended_context_window_tokens: int | None
    max_output_tokens: int
    input_usd_per_mtok: float
    cache_write_5m_usd_per_mtok: float
    cache_write_1h_usd_per_mtok: float
    cache_read_usd_per_mtok: float
    output_usd_per_mtok: float
    price_history: tuple[PricePeriod, ...] = ()
    """Earlier prices, oldest first; the fields above are the current ones."""
    min_cacheable_tokens: int
    """Below this many prompt tokens nothing is cached (sources vary: keep it editable)."""
    long_context_threshold_tokens: int | None
    """A request whose whole prompt exceeds this pays long-context rates; None: never."""
    long_context_input_multiplier: float
    """Applied to every input-side price (uncached, cache writes, cache reads) of such a request."""
    long_context_output_multiplier: float
    thinking_modes: tuple[ThinkingMode, ...]
    preserved_thinking: bool
    """Preserved thinking with prefix checks (Fable 5.1 / 5.2, Mythos 5.x, the 5.5 family)."""
    preserves_thinking_by_default: bool
    """Whether earlier turns' thinking stays in context by default (Opus 4.5 and later)."""
    thinking_display_default: ThinkingDisplay = "summarized"
    """What a thinking block returns when the request sets no ``thinking.display``."""
    thinking_readers: tuple[str, ...] | None = None
    """For a model with preserved thinking: the other models that can read its thinking blocks
    (``"*"``: every model); None: the preserved-thinking models released on or after it (the
    preserved-thinking page's rule). ``ctxviz.policies.preserved_thinking.can_read`` applies it."""
    reads_thinking_of: tuple[str, ...] | None = None
    """For a model with preserved thinking: the only other models whose thinking it reads (Haiku
    5.5 reads none); None: any model's it may read by ``thinking_readers``."""
    context_overflow: ContextOverflow
    tokenizer: str
    """``v3`` (to Opus 4.6 / Sonnet 4.x / Haiku 4.5), ``v4.7``, ``v5`` (Opus 4.8, every 5.x model);
    OpenAI: ``o200k_base``."""
    supports_context_editing: bool
    """Accepts ``clear_tool_uses_20250919`` / ``clear_thinking_20251015``."""
    supports_compact_20260112: bool
    supports_compaction_on_demand: bool = False
    """Accepts the top-level ``compaction`` parameter (beta ``compact-2026-09-04``)."""
    context_awareness: bool
    """The model is told its token budget and usage (Sonnet 4.5 / 4.6, Haiku 4.5)."""
    native_1m_since: str | None = None
    """The date (YYYY-MM-DD) from which the 1M ``context_window_tokens`` is the model's standard
    window; before it, 200K was the default and 1M an opt-in at long-context rates (Opus and
    Sonnet 4.6: 2026-03-13). None: native from release."""
    hidden_prompt_tokens: tuple[tuple[str, int], ...] = ()
    """Text the API adds to a prompt and bills as input, by ``HIDDEN_PROMPT_KEYS`` key (e.g. the
    tool-use system prompt for ``tool_choice`` auto / none and any / tool, the expanded
    definition of the bash tool); a key absent: nothing known is added. Sources in ``notes``;
    ``docs/counting.md`` says how ``ctxviz.estimates`` applies each."""
    supports_system_messages: bool = False
    """Accepts ``role: "system"`` messages inside ``messages`` (Opus 4.8 and later); others
    answer 400."""
    verified: bool = True
    """False for entries whose numbers come from unconfirmed sources."""
    known: bool = True
    """False when the id was not in the table and these numbers were borrowed (see module doc)."""
    extended_context: bool = False
    """True when this describes the model with its 1M beta on (``[1m]`` suffix)."""
    notes: tuple[str, ...] = ()
    """Where sources differ, the alternative values; why a field holds what it holds."""

    def hidden_tokens(self, key: str) -> int:
        """The ``hidden_prompt_tokens`` figure for ``key`` (0 when the table gives none)."""
        return dict(self.hidden_prompt_tokens).get(key, 0)

    def _ratio(self, rate: float) -> float:
        return rate / self.input_usd_per_mtok if self.input_usd_per_mtok else 0.0

    @property
    def cache_write_5m_multiplier(self) -> float:
        """The 5-minute write rate over the input rate (for display; the rate is what is stored)."""
        return self._ratio(self.cache_write_5m_usd_per_mtok)

    @property
    def cache_write_1h_multiplier(self) -> float:
        """The 1-hour write rate over the input rate (for display)."""
        return self._ratio(self.cache_write_1h_usd_per_mtok)

    @property
    def cache_read_multiplier(self) -> float:
        """The cache-read rate over the input rate (for display)."""
        return self._ratio(self.cache_read_usd_per_mtok)

    @property
    def current(self) -> bool:
        """Whether the model can still be called (anything but retired)."""
        return self.status != "retired"

    def native_1m_at(self, timestamp: str | None) -> bool:
        """Whether the 1M window is this model's standard window at ``timestamp`` (now when
        unknown)."""
        if self.context_window_tokens <= 200_000:
            return False
        day = _utc_day(timestamp)
        return self.native_1m_since is None or day is None or day >= self.native_1m_since

    def period(self, timestamp: str | None) -> int:
        """Index in ``price_history`` of the prices in force at ``timestamp`` (ISO 8601), or
        ``len(price_history)`` for the current ones (also when the time is unknown)."""
        if not self.price_history:  # one price in all time: no date to read
            return 0
        day = _utc_day(timestamp)
        if day is None:
            return len(self.price_history)
        for i, p in enumerate(self.price_history):
            if day < p.until:
                return i
        return len(self.price_history)

    def at(self, timestamp: str | None) -> ModelInfo:
        """This model with the prices in force at ``timestamp`` (current ones when unknown)."""
        return self.at_period(self.period(timestamp))

    def at_period(self, i: int) -> ModelInfo:
        """This model with the prices of ``price_history[i]`` (``i == len``: unchanged)."""
        if i >= len(self.price_history):
            return self
        changes: dict[str, Any] = dict(self.price_history[i].changes)
        return dataclasses.replace(self, **changes)

    def warning(self) -> str | None:
        """What a user must be told when a transcript uses this model: unknown, retired or
        deprecated; None for a known current model."""
        if not self.known:
            why = self.notes[0] if self.notes else f"'{self.id}' is not in the model table."
            return (
                f"{why} Its cost is a guess: give its prices in your own model table "
                "(CLI --models FILE, Python models=..., the app's sidebar)."
            )
        if self.status == "retired":
            when = f" on {self.retired_on}" if self.retired_on else ""
            return (
                f"{self.display_name} ({self.id}) was retired{when}: the API now refuses it. "
                "Its requests are priced at its last list prices."
            )
        if self.status == "deprecated":
            when = f", retiring on {self.retired_on}" if self.retired_on else ""
            return f"{self.display_name} ({self.id}) is deprecated{when}."
        if not self.verified:
            return (
                f"{self.display_name}: some of its figures come from third parties only, not "
                f"from Anthropic's pages ({self.notes[0] if self.notes else 'see its notes'})"
            )
        return None

    @property
    def thinking_always_on(self) -> bool:
        """Whether the model always thinks (adaptive thinking that cannot be disabled)."""
        return bool(self.thinking_modes) and "disabled" not in self.thinking_modes

    @property
    def has_long_context_premium(self) -> bool:
        """Whether requests above ``long_context_threshold_tokens`` cost more."""
        return self.long_context_threshold_tokens is not None

    def to_json(self) -> dict[str, Any]:
        """The entry in the table file's schema (``load_model_table`` reads it back)."""
        out: dict[str, Any] = {}
        for name in _KIND:
            value = getattr(self, name)
            if name == "price_history":
                value = [{"until": p.until, **dict(p.changes)} for p in value]
            elif name == "hidden_prompt_tokens":
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    def with_1m_context(self) -> ModelInfo:
        """This model with its 1M beta window on; unchanged when it has none or is already 1M."""
        if self.extended_context:
            return self
        if self.extended_context_window_tokens is None:
            if self.context_window_tokens >= 1_000_000:
                return self
            note = f"'[1m]' ignored: {self.display_name} has no 1M window."
            return dataclasses.replace(self, notes=(*self.notes, note))
        return dataclasses.replace(
            self,
            context_window_tokens=self.extended_context_window_tokens,
            extended_context=True,
        )


# ---- the table -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelTable:
    """Every known model, in table order (newest first within a family), plus the fallback."""

    models: tuple[ModelInfo, ...]
    fallback: ModelInfo
    checked: str
    """The date (ISO) the numbers were last checked against their sources."""
    sources: str
    _index: Mapping[str, ModelInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, ModelInfo] = {}
        for m in self.models:
            if m.id in index:
                raise ValueError(f"model table: id '{m.id}' appears twice")
            index[m.id] = m
        alias_owner: dict[str, str] = {}
        for m in self.models:
            for alias in m.aliases:
                if alias in index and index[alias].id == alias:
                    continue  # an entry of its own wins over another entry's alias
                if alias in alias_owner and alias_owner[alias] != m.id:
                    raise ValueError(
                        f"model table: alias '{alias}' belongs to both "
                        f"'{alias_owner[alias]}' and '{m.id}'"
                    )
                alias_owner[alias] = m.id
                index[alias] = m
        object.__setattr__(self, "_index", index)

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and self.resolve(model_id) is not None

    @property
    def ids(self) -> tuple[str, ...]:
        """The entries' ids, in table order."""
        return tuple(m.id for m in self.models)

    def to_json(self) -> dict[str, Any]:
        """The whole table in the file's schema: edit it and pass it back with ``--models``."""
        return {
            "checked": self.checked,
            "sources": self.sources,
            "models": [m.to_json() for m in self.models],
        }

    @property
    def current(self) -> tuple[ModelInfo, ...]:
        """The models that can still be called (not retired), in table order: what to offer."""
        return tuple(m for m in self.models if m.current)

    def resolve(self, model_id: str) -> str | None:
        """The table id that ``model_id`` names (alias, dated id, provider spelling), or None."""
        info = self._lookup(_normalise(model_id)[0])
        return None if info is None else info.id

    def get(self, model_id: str) -> ModelInfo:
        """The model ``model_id`` names; an unknown id gets borrowed numbers and ``known=False``."""
        key, wants_1m = _normalise(model_id)
        info = self._lookup(key)
        if info is None:
            info = self._guess(key or model_id.strip())
        return info.with_1m_context() if wants_1m else info

    def _lookup(self, key: str) -> ModelInfo | None:
        for candidate in _candidates(key):
            info = self._index.get(candidate)
            if info is not None:
                return info
        return None

    def _guess(self, key: str) -> ModelInfo:
        family = _family_of(key)
        base = next(
            (
                m
                for m in self.models
                if family is not None and m.family == family and m.verified and m.current
            ),
            None,
        )
        if base is None:
            base = self.fallback
            why = f"'{key}' is not in the model table (checked {self.checked}); fallback values."
        else:
            why = (
                f"'{key}' is not in the model table (checked {self.checked}); "
                f"values copied from {base.display_name}."
            )
        return dataclasses.replace(
            base,
            id=key,
            api_id=key,
            display_name=f"{key} (unknown model)",
            source=f"a guess: {base.id}'s numbers" if base is not self.fallback else base.source,
            aliases=(),
            known=False,
            verified=False,
            notes=(why, *base.notes),
        )


_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,6}(?:-[a-z]+)?\.)?anthropic\.")
_VERSION_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


def _normalise(model_id: str) -> tuple[str, bool]:
    """Lower-case, strip ``[1m]``, router / ARN paths, Bedrock and Vertex decorations."""
    s = model_id.strip().lower()
    wants_1m = s.endswith("[1m]")
    if wants_1m:
        s = s[: -len("[1m]")]
    if "/" in s:
        s = s.rsplit("/", 1)[1]  # anthropic/claude-…, openai/gpt-…, Bedrock ARNs
    s = _BEDROCK_PREFIX.sub("", s)
    s = _VERSION_SUFFIX.sub("", s)
    s = s.split(":", 1)[0]  # router variants such as ':thinking'
    s = s.replace("@", "-")  # Vertex: claude-opus-4-1@20250805
    return s, wants_1m


def _candidates(key: str) -> Iterator[str]:
    yield key
    if key.startswith("claude") and "." in key:
        key = key.replace(".", "-")  # claude-sonnet-4.5 → claude-sonnet-4-5
        yield key
    undated = _DATE_SUFFIX.sub("", key)
    if undated != key:
        yield undated


def _day(timestamp: str | None) -> str | None:
    """The ISO date (``YYYY-MM-DD``) a timestamp starts with, or None when it has none."""
    if not timestamp or not isinstance(timestamp, str):
        return None
    day = timestamp.strip()[:10]
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        return None
    return day


@functools.lru_cache(maxsize=1 << 16)
def _utc_day(timestamp: str | None) -> str | None:
    """The UTC date of an ISO 8601 timestamp (an offset is honoured; none means UTC). Memoized:
    every replay prices each request at its date again."""
    day = _day(timestamp)
    if day is None or timestamp is None or len(timestamp.strip()) <= 10:
        return day
    try:
        when = datetime.datetime.fromisoformat(timestamp.strip())
    except ValueError:
        return day
    if when.tzinfo is not None:
        when = when.astimezone(datetime.UTC)
    return when.date().isoformat()


def _family_of(key: str) -> str | None:
    for family in ("opus", "sonnet", "haiku", "fable", "mythos"):
        if family in key:
            return family
    if re.match(r"^(?:gpt-|chatgpt|o\d)", key):
        return "gpt"
    return None


# ---- loading ---------------------------------------------------------------------------------

_KIND: Final[dict[str, str]] = {
    "id": "str",
    "api_id": "str",
    "display_name": "str",
    "provider": "provider",
    "family": "str",
    "aliases": "str_list",
    "status": "status",
    "released": "opt_date",
    "deprecated_on": "opt_date",
    "retired_on": "opt_date",
    "source": "str",
    "checked": "date",
    "context_window_tokens": "pos_int",
    "context_1m_beta": "opt_str",
    "extended_context_window_tokens": "opt_pos_int",
    "max_output_tokens": "pos_int",
    "input_usd_per_mtok": "price",
    "cache_write_5m_usd_per_mtok": "price",
    "cache_write_1h_usd_per_mtok": "price",
    "cache_read_usd_per_mtok": "price",
    "output_usd_per_mtok": "price",
    "price_history": "history",
    "min_cacheable_tokens": "int",
    "long_context_threshold_tokens": "opt_pos_int",
    "long_context_input_multiplier": "price",
    "long_context_output_multiplier": "price",
    "thinking_modes": "thinking",
    "preserved_thinking": "bool",
    "preserves_thinking_by_default": "bool",
    "thinking_display_default": "display",
    "thinking_readers": "opt_str_list",
    "reads_thinking_of": "opt_str_list",
    "context_overflow": "overflow",
    "tokenizer": "str",
    "supports_context_editing": "bool",
    "supports_compact_20260112": "bool",
    "supports_compaction_on_demand": "bool",
    "context_awareness": "bool",
    "supports_system_messages": "bool",
    "hidden_prompt_tokens": "token_map",
    "native_1m_since": "opt_date",
    "verified": "bool",
    "notes": "str_list",
}
"""The JSON fields of an entry and how each is checked (``known`` / ``extended_context`` are
computed, never read)."""

_OPTIONAL: Final[frozenset[str]] = frozenset(
    {
        "api_id",
        "aliases",
        "verified",
        "notes",
        "price_history",
        "released",
        "deprecated_on",
        "retired_on",
        "supports_system_messages",
        "hidden_prompt_tokens",
        "native_1m_since",
        "thinking_display_default",
        "thinking_readers",
        "reads_thinking_of",
        "supports_compaction_on_demand",
    }
)
_TOP_LEVEL: Final[frozenset[str]] = frozenset(
    {"checked", "sources", "defaults", "fallback", "models"}
)
_OLD_FIELDS: Final[dict[str, str]] = {
    "cache_write_5m_multiplier": "cache_write_5m_usd_per_mtok",
    "cache_write_1h_multiplier": "cache_write_1h_usd_per_mtok",
    "cache_read_multiplier": "cache_read_usd_per_mtok",
}
"""Fields of the earlier schema (rates derived from the input price) and what replaced them."""


def _check_value(name: str, kind: str, value: Any, where: str) -> Any:
    def bad(expected: str) -> ValueError:
        return ValueError(f"{where}.{name}: expected {expected}, got {value!r}")

    match kind:
        case "str":
            if not isinstance(value, str) or not value:
                raise bad("a non-empty string")
            return value
        case "opt_str":
            if value is not None and (not isinstance(value, str) or not value):
                raise bad("a non-empty string or null")
            return value
        case "date" | "opt_date":
            if value is None and kind == "opt_date":
                return None
            if not isinstance(value, str) or _day(value) != value:
                raise bad("an ISO date (YYYY-MM-DD)" + (" or null" if kind == "opt_date" else ""))
            return value
        case "int" | "pos_int" | "opt_pos_int":
            if value is None and kind == "opt_pos_int":
                return None
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad("an integer")
            if value < (1 if kind != "int" else 0):
                raise bad("a positive integer" if kind != "int" else "an integer >= 0")
            return value
        case "price":
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise bad("a number >= 0")
            return float(value)
        case "bool":
            if not isinstance(value, bool):
                raise bad("true or false")
            return value
        case "opt_str_list":
            if value is None:
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad("a list of strings or null")
            return tuple(value)
        case "str_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad("a list of strings")
            return tuple(value)
        case "thinking":
            modes = get_args(ThinkingMode)
            if not isinstance(value, list) or not value or not all(v in modes for v in value):
                raise bad("a non-empty list of " + ", ".join(repr(m) for m in modes))
            return tuple(value)
        case "history":
            return _history(value, f"{where}.{name}")
        case "token_map":
            if not isinstance(value, dict):
                raise bad("an object of token counts by key")
            for key, tokens in value.items():
                if key not in HIDDEN_PROMPT_KEYS:
                    raise ValueError(
                        f"{where}.{name}.{key}: unknown key (expected one of "
                        f"{', '.join(HIDDEN_PROMPT_KEYS)})"
                    )
                if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
                    raise ValueError(
                        f"{where}.{name}.{key}: expected an integer >= 0, got {tokens!r}"
                    )
            return tuple(value.items())
        case "provider" | "overflow" | "status" | "display":
            allowed = get_args(
                {
                    "provider": Provider,
                    "overflow": ContextOverflow,
                    "status": Status,
                    "display": ThinkingDisplay,
                }[kind]
            )
            if value not in allowed:
                raise bad(" or ".join(repr(p) for p in allowed))
            return value
    raise AssertionError(kind)  # pragma: no cover - _KIND is closed


def _history(value: Any, where: str) -> tuple[PricePeriod, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of {{'until': date, <rates>}} objects")
    periods: list[PricePeriod] = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{here}: expected an object with 'until' and the rates it changes")
        unknown = sorted(set(item) - {"until", *_PERIOD_FIELDS})
        if unknown:
            raise ValueError(
                f"{here}: unknown field(s) {', '.join(unknown)} "
                f"(a period holds 'until' and any of {', '.join(_PERIOD_FIELDS)})"
            )
        until = _check_value("until", "date", item.get("until"), here)
        if periods and until <= periods[-1].until:
            raise ValueError(f"{here}.until: periods must be in date order (oldest first)")
        changes = tuple(
            (k, _check_value(k, _KIND[k], v, here)) for k, v in item.items() if k != "until"
        )
        if not changes:
            raise ValueError(f"{here}: names no price that differed before {until}")
        periods.append(PricePeriod(until=until, changes=changes))
    return tuple(periods)


def _info_from_dict(entry: Mapping[str, Any], where: str) -> ModelInfo:
    old = sorted(set(entry) & set(_OLD_FIELDS))
    if old:
        raise ValueError(
            f"{where}: {', '.join(old)} no longer exist(s): give each rate in $ per million "
            f"tokens ({', '.join(_OLD_FIELDS[k] for k in old)})"
        )
    unknown = sorted(set(entry) - set(_KIND))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = sorted(set(_KIND) - _OPTIONAL - set(entry))
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    kwargs = {name: _check_value(name, _KIND[name], entry[name], where) for name in entry}
    kwargs.setdefault("api_id", kwargs["id"])
    return ModelInfo(**kwargs)


def _read_json(path: Path | None) -> dict[str, Any]:
    if path is None:
        text = resources.files("ctxviz").joinpath("data/models.json").read_text(encoding="utf-8")
        where = "ctxviz/data/models.json"
    else:
        text = path.read_text(encoding="utf-8")
        where = str(path)
    try:
        data = json_value(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not valid JSON ({e.msg}, line {e.lineno})") from e
    except ValueError as e:  # nested too deeply
        raise ValueError(f"{where}: not valid JSON ({e})") from None
    return _check_top(data, where)


def _check_top(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object with 'models'")
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise ValueError(f"{where}: unknown top-level key(s) {', '.join(unknown)}")
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise ValueError(f"{where}: 'models' must be a list of objects")
    for i, m in enumerate(models):
        if not isinstance(m.get("id"), str):
            raise ValueError(f"{where}: models[{i}] has no string 'id'")
    for key in ("defaults", "fallback"):
        if not isinstance(data.get(key, {}), dict):
            raise ValueError(f"{where}: '{key}' must be an object")
    shared = sorted(set(data.get("defaults", {})) & set(RATE_FIELDS))
    if shared:
        raise ValueError(
            f"{where}: defaults.{shared[0]}: rates cannot be defaults; each model states its own"
        )
    return data


def _merge(base: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """User entries overlay bundled ones field by field (same ``id``); new ids come first."""
    merged = dict(base)
    for key in ("checked", "sources"):
        if key in user:
            merged[key] = user[key]
    for key in ("defaults", "fallback"):
        merged[key] = {**base.get(key, {}), **user.get(key, {})}
    by_id = {m["id"]: dict(m) for m in base.get("models", [])}
    new: list[dict[str, Any]] = []
    for m in user.get("models", []):
        if m["id"] in by_id:
            by_id[m["id"]].update(m)
        else:
            new.append(dict(m))
    merged["models"] = [*new, *by_id.values()]
    return merged


def _build(data: dict[str, Any], where: str) -> ModelTable:
    defaults = data.get("defaults", {})
    models = tuple(
        _info_from_dict({**defaults, **m}, f"{where}: models[{i}] ({m['id']})")
        for i, m in enumerate(data.get("models", []))
    )
    fallback = _info_from_dict({**defaults, **data.get("fallback", {})}, f"{where}: fallback")
    checked = data.get("checked", "")
    sources = data.get("sources", "")
    if not isinstance(checked, str) or not isinstance(sources, str):
        raise ValueError(f"{where}: 'checked' and 'sources' must be strings")
    return ModelTable(
        models=models,
        fallback=dataclasses.replace(fallback, known=False),
        checked=checked,
        sources=sources,
    )


def load_model_table(
    path: str | os.PathLike[str] | None = None, *, data: Mapping[str, Any] | None = None
) -> ModelTable:
    """The bundled model table, with the entries of the JSON file at ``path`` (or of ``data``,
    the same JSON already parsed) merged in by id."""
    merged = _read_json(None)
    where = "ctxviz/data/models.json"
    if path is not None:
        merged = _merge(merged, _read_json(Path(path)))
        where = f"{where} + {os.fspath(path)}"
    if data is not None:
        merged = _merge(merged, _check_top(dict(data), "models"))
        where = f"{where} + your models"
    return _build(merged, where)


ModelsArg: TypeAlias = ModelTable | str | os.PathLike[str] | Mapping[str, Any] | None
"""What a ``models=`` argument accepts: a table, a JSON file's path, or its parsed content."""


def as_table(models: ModelsArg) -> ModelTable:
    """The model table a ``models=`` argument names (None: the bundled one)."""
    if models is None:
        return default_table()
    if isinstance(models, ModelTable):
        return models
    if isinstance(models, Mapping):
        return load_model_table(data=models)
    if isinstance(models, str | os.PathLike):
        return load_model_table(models)
    raise ValueError(
        f"models: expected a ModelTable, a JSON file's path or its content, got {type(models)}"
    )


@functools.cache
def default_table() -> ModelTable:
    """The bundled model table, read once (it is immutable, so sharing it is safe)."""
    return load_model_table()
