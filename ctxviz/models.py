"""The model table: windows, limits, prices and per-model behaviour, kept as editable data.

The numbers live in ``ctxviz/data/models.json`` (with the date they were checked and their
sources); a user file with the same shape overrides or extends entries, merged by ``id``. Lookups
resolve aliases, dated ids, Claude Code's ``[1m]`` suffix and Bedrock / Vertex / router spellings.
An id the table does not know still gets a ``ModelInfo`` — copied from the newest verified model
of the family its name mentions, else from the table's ``fallback`` entry — with ``known=False``
so that callers can warn that its numbers are guesses.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, get_args

Provider: TypeAlias = Literal["anthropic", "openai"]
ContextOverflow: TypeAlias = Literal["validation_error", "model_context_window_exceeded"]
"""How a request whose ``input + max_tokens`` exceeds the window ends: refused up front with a
validation error (models before 4.5), or accepted and stopped with
``stop_reason: "model_context_window_exceeded"`` (4.5 and later)."""

FAMILIES: Final[tuple[str, ...]] = ("opus", "sonnet", "haiku", "gpt")
"""Families an unknown id is matched to, by name, to borrow the newest known model's numbers."""


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
    context_window_tokens: int
    """The window a request's input + output must fit (the 1M window when ``extended_context``)."""
    context_1m_beta: str | None
    """Beta header raising the window to ``extended_context_window_tokens`` (Sonnet 4 / 4.5)."""
    extended_context_window_tokens: int | None
    max_output_tokens: int
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    cache_write_5m_multiplier: float
    """Price of a 5-minute cache write, as a multiple of the input price."""
    cache_write_1h_multiplier: float
    cache_read_multiplier: float
    min_cacheable_tokens: int
    """Below this many prompt tokens nothing is cached (sources vary: keep it editable)."""
    long_context_threshold_tokens: int | None
    """A request whose whole prompt exceeds this pays long-context rates; None: never."""
    long_context_input_multiplier: float
    """Applied to every input-side price (uncached, cache writes, cache reads) of such a request."""
    long_context_output_multiplier: float
    preserves_thinking_by_default: bool
    """Whether earlier turns' thinking stays in context by default (Opus 4.5 and later)."""
    context_overflow: ContextOverflow
    tokenizer: str
    """``v3`` (to Opus 4.6 / Sonnet 4.x / Haiku 4.5), ``v4.7``, ``v5``; OpenAI: ``o200k_base``."""
    supports_context_editing: bool
    """Accepts ``clear_tool_uses_20250919`` / ``clear_thinking_20251015``."""
    supports_compact_20260112: bool
    context_awareness: bool
    """The model is told its token budget and usage (Sonnet 4.5 / 4.6, Haiku 4.5)."""
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

    @property
    def cache_write_5m_usd_per_mtok(self) -> float:
        """Price of a 5-minute cache write ($ per million tokens)."""
        return self.input_usd_per_mtok * self.cache_write_5m_multiplier

    @property
    def cache_write_1h_usd_per_mtok(self) -> float:
        """Price of a 1-hour cache write ($ per million tokens)."""
        return self.input_usd_per_mtok * self.cache_write_1h_multiplier

    @property
    def cache_read_usd_per_mtok(self) -> float:
        """Price of a cache read ($ per million tokens)."""
        return self.input_usd_per_mtok * self.cache_read_multiplier

    @property
    def has_long_context_premium(self) -> bool:
        """Whether requests above ``long_context_threshold_tokens`` cost more."""
        return self.long_context_threshold_tokens is not None

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
            (m for m in self.models if family is not None and m.family == family and m.verified),
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


def _family_of(key: str) -> str | None:
    for family in ("opus", "sonnet", "haiku"):
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
    "context_window_tokens": "pos_int",
    "context_1m_beta": "opt_str",
    "extended_context_window_tokens": "opt_pos_int",
    "max_output_tokens": "pos_int",
    "input_usd_per_mtok": "price",
    "output_usd_per_mtok": "price",
    "cache_write_5m_multiplier": "price",
    "cache_write_1h_multiplier": "price",
    "cache_read_multiplier": "price",
    "min_cacheable_tokens": "int",
    "long_context_threshold_tokens": "opt_pos_int",
    "long_context_input_multiplier": "price",
    "long_context_output_multiplier": "price",
    "preserves_thinking_by_default": "bool",
    "context_overflow": "overflow",
    "tokenizer": "str",
    "supports_context_editing": "bool",
    "supports_compact_20260112": "bool",
    "context_awareness": "bool",
    "supports_system_messages": "bool",
    "verified": "bool",
    "notes": "str_list",
}
"""The JSON fields of an entry and how each is checked (``known`` / ``extended_context`` are
computed, never read)."""

_OPTIONAL: Final[frozenset[str]] = frozenset(
    {"api_id", "aliases", "verified", "notes", "supports_system_messages"}
)
_TOP_LEVEL: Final[frozenset[str]] = frozenset(
    {"checked", "sources", "defaults", "fallback", "models"}
)


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
        case "str_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad("a list of strings")
            return tuple(value)
        case "provider":
            if value not in get_args(Provider):
                raise bad(" or ".join(repr(p) for p in get_args(Provider)))
            return value
        case "overflow":
            if value not in get_args(ContextOverflow):
                raise bad(" or ".join(repr(p) for p in get_args(ContextOverflow)))
            return value
    raise AssertionError(kind)  # pragma: no cover - _KIND is closed


def _info_from_dict(entry: Mapping[str, Any], where: str) -> ModelInfo:
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
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not valid JSON ({e.msg}, line {e.lineno})") from e
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


def load_model_table(path: str | os.PathLike[str] | None = None) -> ModelTable:
    """The bundled model table, with the entries of the JSON file at ``path`` merged in by id."""
    data = _read_json(None)
    where = "ctxviz/data/models.json"
    if path is not None:
        data = _merge(data, _read_json(Path(path)))
        where = f"{where} + {os.fspath(path)}"
    return _build(data, where)


@functools.cache
def default_table() -> ModelTable:
    """The bundled model table, read once (it is immutable, so sharing it is safe)."""
    return load_model_table()
