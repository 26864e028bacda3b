"""Prompt caching and dollars, per request, vectorised over a whole replay.

Cache model (``cache_accounting``) — the assumptions, stated once:

- The client puts a cache breakpoint at the end of every prompt (what Claude Code and most agent
  loops do), so a request that can cache writes its whole prompt, and nothing is left uncached.
- Request ``i`` reads the prefix it shares with request ``i-1``'s prompt
  (``reusable_prefix_tokens[i]``, computed by the simulator from the blocks that are byte-identical
  at the start of both prompts), provided request ``i-1`` was cached and the entry is still alive.
  Only the previous request's entry is considered; this is optimistic after an edit that changes an
  early block: the real API can only read at a block boundary where an entry exists (within 20
  blocks of a breakpoint). A caller that knows better passes a smaller reusable prefix.
- A prompt shorter than ``min_cacheable_tokens`` is neither read from nor written to the cache; a
  shared prefix shorter than that minimum cannot be read either (no entry that short exists).
- Entries never expire unless ``gaps_seconds`` is given: then an entry dies when the time since
  the previous request exceeds the TTL (5 minutes or 1 hour; each use refreshes it).
- All writes use one TTL; a recorded mix of 5m and 1h writes is priced by ``request_costs``.

Prices (``request_costs``) are the model table's own five rates per model (input, 5-minute and
1-hour cache writes, cache reads, output: never derived from the input price), and, where the model
has a long-context tier, every price of a request whose whole prompt (uncached + writes + reads)
exceeds the model's threshold multiplied (Sonnet 4 / 4.5 above 200K: input side x2, output x1.5;
Haiku 5.5 above 100K: x5 on every rate). ``price_rows`` prices rows of several models, each at
the rates in force on its request's timestamp.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import wraps
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, get_args

import numpy as np
import numpy.typing as npt

from ctxviz.models import ModelInfo

if TYPE_CHECKING:
    import pandas as pd

CacheTTL: TypeAlias = Literal["5m", "1h"]

TTL_SECONDS: Final[dict[CacheTTL, float]] = {"5m": 300.0, "1h": 3600.0}

COST_COLUMNS: Final[tuple[str, ...]] = (
    "cost_input_usd",
    "cost_cache_write_usd",
    "cost_cache_read_usd",
    "cost_output_usd",
    "cost_usd",
)

_PER_TOKEN: Final[float] = 1e-6  # prices are per million tokens


def _tokens(name: str, values: npt.ArrayLike, n: int | None = None) -> npt.NDArray[np.int64]:
    """A 1-D array of non-negative whole token counts, or ValueError naming the argument."""
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of token counts, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per request), got {arr.shape[0]}")
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name}: expected numbers, got dtype {arr.dtype}")
    as_float = arr.astype(np.float64)
    if np.isnan(as_float).any():
        raise ValueError(f"{name}[{int(np.flatnonzero(np.isnan(as_float))[0])}]: missing value")
    if (as_float < 0).any():
        i = int(np.flatnonzero(as_float < 0)[0])
        raise ValueError(f"{name}[{i}] = {arr[i]}: token counts cannot be negative")
    if (as_float != np.round(as_float)).any():
        i = int(np.flatnonzero(as_float != np.round(as_float))[0])
        raise ValueError(f"{name}[{i}] = {arr[i]}: token counts are whole numbers")
    return as_float.astype(np.int64)


def _index_of(values: npt.ArrayLike, n: int) -> pd.Index:
    import pandas as pd

    if isinstance(values, pd.Series) and len(values) == n:
        return values.index
    return pd.RangeIndex(n)


def _check_ttl(ttl: str) -> CacheTTL:
    if ttl not in get_args(CacheTTL):
        raise ValueError(f"ttl: expected '5m' or '1h', got {ttl!r}")
    return ttl  # type: ignore[return-value]  # narrowed by the check above


def cache_split(
    prompt_tokens: npt.ArrayLike,
    reusable_prefix_tokens: npt.ArrayLike,
    *,
    min_cacheable_tokens: int,
    ttl: CacheTTL = "5m",
    gaps_seconds: npt.ArrayLike | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Split each prompt into cache reads, cache writes and uncached input (module doc: why)."""
    ttl = _check_ttl(ttl)
    if isinstance(min_cacheable_tokens, bool) or not isinstance(min_cacheable_tokens, int):
        raise ValueError(f"min_cacheable_tokens: expected an int, got {min_cacheable_tokens!r}")
    if min_cacheable_tokens < 0:
        raise ValueError(f"min_cacheable_tokens: expected >= 0, got {min_cacheable_tokens}")
    prompt = _tokens("prompt_tokens", prompt_tokens)
    n = prompt.shape[0]
    shared = _tokens("reusable_prefix_tokens", reusable_prefix_tokens, n)

    previous = np.concatenate(([0], prompt[:-1])) if n else prompt
    # A shared prefix cannot exceed either prompt; larger values (rounding of scaled estimates)
    # are clipped rather than trusted.
    shared = np.minimum(shared, np.minimum(prompt, previous))
    if n:
        shared[0] = 0

    cacheable = prompt >= max(min_cacheable_tokens, 1)
    previous_cached = np.concatenate(([False], cacheable[:-1])) if n else cacheable
    expired = np.zeros(n, dtype=bool)
    if gaps_seconds is not None:
        gaps = np.atleast_1d(np.asarray(gaps_seconds, dtype=np.float64))
        if gaps.shape != (n,):
            raise ValueError(f"gaps_seconds: expected {n} values (one per request)")
        with np.errstate(invalid="ignore"):
            expired = gaps > TTL_SECONDS[ttl]  # NaN (unknown time) never expires
        if n:
            expired[0] = False

    alive = previous_cached & ~expired
    read = np.where(cacheable & alive, shared, 0)
    read = np.where(read >= max(min_cacheable_tokens, 1), read, 0)
    write = np.where(cacheable, prompt - read, 0)
    uncached = prompt - read - write
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_expired": expired & previous_cached,
    }


def request_cost_columns(
    model: ModelInfo,
    *,
    input_tokens: npt.ArrayLike,
    cache_creation_input_tokens: npt.ArrayLike,
    cache_read_input_tokens: npt.ArrayLike,
    output_tokens: npt.ArrayLike,
    ttl: CacheTTL = "5m",
    cache_creation_1h_input_tokens: npt.ArrayLike | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Dollars per request from API-shaped usage, with the model's cache and long-context rates."""
    ttl = _check_ttl(ttl)
    uncached = _tokens("input_tokens", input_tokens)
    n = uncached.shape[0]
    write = _tokens("cache_creation_input_tokens", cache_creation_input_tokens, n)
    read = _tokens("cache_read_input_tokens", cache_read_input_tokens, n)
    output = _tokens("output_tokens", output_tokens, n)
    if cache_creation_1h_input_tokens is None:
        write_1h = write if ttl == "1h" else np.zeros(n, dtype=np.int64)
    else:
        # Usage reports all writes in cache_creation_input_tokens and the 1h part of them apart.
        write_1h = _tokens("cache_creation_1h_input_tokens", cache_creation_1h_input_tokens, n)
        if (write_1h > write).any():
            i = int(np.flatnonzero(write_1h > write)[0])
            raise ValueError(
                f"cache_creation_1h_input_tokens[{i}] = {write_1h[i]} exceeds "
                f"cache_creation_input_tokens[{i}] = {write[i]} (the 1h writes are part of it)"
            )
    write_5m = write - write_1h

    prompt = uncached + write + read
    threshold = model.long_context_threshold_tokens
    long_context = (
        prompt > threshold if threshold is not None else np.zeros(n, dtype=bool)
    )  # "more than 200K input tokens" / "prompts over 100,000 tokens": the whole prompt counted
    input_factor = np.where(long_context, model.long_context_input_multiplier, 1.0)
    output_factor = np.where(long_context, model.long_context_output_multiplier, 1.0)

    per_token = _PER_TOKEN * input_factor
    cost_input = uncached * model.input_usd_per_mtok * per_token
    cost_write = (
        write_5m * model.cache_write_5m_usd_per_mtok + write_1h * model.cache_write_1h_usd_per_mtok
    ) * per_token
    cost_read = read * model.cache_read_usd_per_mtok * per_token
    cost_output = output * model.output_usd_per_mtok * _PER_TOKEN * output_factor
    return {
        "cost_input_usd": cost_input,
        "cost_cache_write_usd": cost_write,
        "cost_cache_read_usd": cost_read,
        "cost_output_usd": cost_output,
        "cost_usd": cost_input + cost_write + cost_read + cost_output,
        "long_context": long_context,
    }


def price_columns(
    models: Sequence[ModelInfo],
    *,
    input_tokens: npt.ArrayLike,
    cache_creation_input_tokens: npt.ArrayLike,
    cache_read_input_tokens: npt.ArrayLike,
    output_tokens: npt.ArrayLike,
    cache_creation_1h_input_tokens: npt.ArrayLike | None = None,
    timestamps: Sequence[str | None] | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """``request_costs`` of rows served by several models: row ``i`` at ``models[i]``'s rates in
    force at ``timestamps[i]`` (its current rates when the time is unknown)."""
    n = len(models)
    if timestamps is not None and len(timestamps) != n:
        raise ValueError(f"timestamps: expected {n} values (one per row), got {len(timestamps)}")
    columns = {
        "input_tokens": _tokens("input_tokens", input_tokens, n),
        "cache_creation_input_tokens": _tokens(
            "cache_creation_input_tokens", cache_creation_input_tokens, n
        ),
        "cache_read_input_tokens": _tokens("cache_read_input_tokens", cache_read_input_tokens, n),
        "output_tokens": _tokens("output_tokens", output_tokens, n),
        "cache_creation_1h_input_tokens": (
            np.zeros(n, dtype=np.int64)
            if cache_creation_1h_input_tokens is None
            else _tokens("cache_creation_1h_input_tokens", cache_creation_1h_input_tokens, n)
        ),
    }
    groups: dict[tuple[int, int], list[int]] = {}
    infos: dict[int, ModelInfo] = {}
    for i, info in enumerate(models):
        period = info.period(timestamps[i] if timestamps is not None else None)
        infos[id(info)] = info
        groups.setdefault((id(info), period), []).append(i)
    out = {c: np.zeros(n) for c in COST_COLUMNS}
    long_context = np.zeros(n, dtype=bool)
    for (key, period), rows in groups.items():
        at = np.asarray(rows, dtype=np.int64)
        priced = request_cost_columns(
            infos[key].at_period(period),
            input_tokens=columns["input_tokens"][at],
            cache_creation_input_tokens=columns["cache_creation_input_tokens"][at],
            cache_read_input_tokens=columns["cache_read_input_tokens"][at],
            output_tokens=columns["output_tokens"][at],
            cache_creation_1h_input_tokens=columns["cache_creation_1h_input_tokens"][at],
        )
        for c in COST_COLUMNS:
            out[c][at] = priced[c]
        long_context[at] = priced["long_context"]
    return {**out, "long_context": long_context}


def _framed[**P](
    columns: Callable[P, dict[str, npt.NDArray[Any]]], name: str, index_from: str
) -> Callable[P, pd.DataFrame]:
    """``columns`` as a frame, indexed like its ``index_from`` argument when that is a Series:
    the public forms (the replay reads the arrays)."""
    signature = inspect.signature(columns)

    @wraps(columns)
    def framed(*args: P.args, **kwargs: P.kwargs) -> pd.DataFrame:
        import pandas as pd

        data = columns(*args, **kwargs)
        like = signature.bind(*args, **kwargs).arguments[index_from]
        return pd.DataFrame(data, index=_index_of(like, len(next(iter(data.values())))))

    framed.__name__ = framed.__qualname__ = name
    framed.__doc__ = f"{columns.__doc__} As a frame (``{columns.__name__}``: as arrays)."
    return framed


cache_accounting = _framed(cache_split, "cache_accounting", "prompt_tokens")
request_costs = _framed(request_cost_columns, "request_costs", "input_tokens")
price_rows = _framed(price_columns, "price_rows", "input_tokens")
