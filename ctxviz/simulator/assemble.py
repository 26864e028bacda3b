"""The loop's rows assembled into a ``Simulation``: composition, prompt caching, dollars,
limits and the recorded events."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ctxviz import cost
from ctxviz.estimates import CATEGORY_INDEX
from ctxviz.model import Request
from ctxviz.models import ModelInfo
from ctxviz.policies import claude_code, clear_tool_uses, limits
from ctxviz.policies.edits import Edits
from ctxviz.policies.step import Event, Prompt, event
from ctxviz.simulator.context import Context
from ctxviz.simulator.engine import Engine
from ctxviz.simulator.recorded import internal_calls_extra
from ctxviz.simulator.result import Simulation
from ctxviz.simulator.row import Row

_KIND_NAMES: Final = {"claude_code": "Claude Code", "client": "SDK", "server": "server"}


def _price_fallbacks(
    engine: Engine,
    rows: Sequence[Row],
    requests: Sequence[Request],
    recorded: npt.NDArray[np.bool_],
    stamps: Sequence[str | None],
    cost_cols: dict[str, npt.NDArray[np.float64]],
    long_context: npt.NDArray[np.bool_],
) -> list[str]:
    """Reprice, in place, each recorded request whose ``usage.iterations[]`` name the model that
    served them (a fallback): the request costs the sum of its ``message`` iterations, each at its
    own model's rates (the request's model where an iteration names none; 5-minute writes, as
    iterations do not split them), and its long_context flag. Returns the models named by
    iterations."""
    at: list[int] = []
    infos: list[ModelInfo] = []
    fields: list[tuple[int, int, int, int]] = []
    named: list[str] = []
    for k in np.flatnonzero(recorded).tolist():
        usage = requests[rows[k].recorded_request].usage
        its = [it for it in usage.iterations if it.type == "message"] if usage else []
        if not any(it.model for it in its):
            continue
        for it in its:
            if it.model:
                named.append(it.model)
            at.append(k)
            infos.append(engine.info(it.model or rows[k].model))
            fields.append(
                (
                    it.input_tokens,
                    it.cache_creation_input_tokens,
                    it.cache_read_input_tokens,
                    it.output_tokens,
                )
            )
    if not at:
        return named
    tokens = np.asarray(fields, dtype=np.int64).reshape(len(at), 4)
    priced = cost.price_columns(
        infos,
        input_tokens=tokens[:, 0],
        cache_creation_input_tokens=tokens[:, 1],
        cache_read_input_tokens=tokens[:, 2],
        output_tokens=tokens[:, 3],
        timestamps=[stamps[k] for k in at],
    )
    where = np.asarray(at, dtype=np.int64)
    for c in cost.COST_COLUMNS:
        col = cost_cols[c]
        col[np.unique(where)] = 0.0
        np.add.at(col, where, priced[c])
    long_context[np.unique(where)] = False
    np.logical_or.at(long_context, where, priced["long_context"])
    return named


def _allocate(
    weights: npt.NDArray[np.float64], totals: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Split each row's total over its columns in proportion to the weights, in whole tokens that
    add up exactly (largest remainder). Rows whose weights are all zero get nothing."""
    n, k = weights.shape
    sums = weights.sum(axis=1)
    safe = np.where(sums > 0, sums, 1.0)
    exact = weights * (totals / safe)[:, None]
    floor = np.floor(exact).astype(np.int64)
    floor[sums <= 0] = 0
    deficit = np.where(sums > 0, totals - floor.sum(axis=1), 0)
    if n and k:
        frac = exact - floor
        order = np.argsort(-frac, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(k)[None, :].repeat(n, axis=0), axis=1)
        floor += (ranks < deficit[:, None]).astype(np.int64)
    return floor


def _reusable_prefix(
    ctx: Context,
    prompts: npt.NDArray[np.int64],
    inputs: npt.NDArray[np.int64],
    rec_req: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Per row, tokens identical to the start of the previous row's prompt: all of it when the
    new prompt extends it, else the previous prompt up to the first message that changed."""
    n = prompts.shape[0]
    out = np.zeros(n, dtype=np.int64)
    if n < 2:
        return out
    engine = ctx.engine
    a, b = prompts[:-1], prompts[1:]
    diff = engine.first_difference_many(a, b)
    cut = a.copy()
    cut[:, 1] = np.where(diff < 0, cut[:, 0], np.minimum(np.maximum(diff, cut[:, 0]), cut[:, 1]))
    # a prefix cut before message ``diff`` keeps the clearing of results before it
    before = np.searchsorted(engine.res_msg_sorted_arr, cut[:, 1], side="left")
    cut[:, 4] = np.maximum(cut[:, 3], np.minimum(cut[:, 4], before))
    fixed_only = diff < 0
    cut[fixed_only, 1] = cut[fixed_only, 0]
    cut[fixed_only, 6] = 0  # the summary changed too
    j = rec_req[:-1]
    delta = engine.estimate_many(cut) - np.asarray(ctx.rec_estimate, dtype=np.int64)[j]
    factor = np.where(delta < 0, np.asarray(ctx.removal_scale)[j], ctx.scale)
    partial = np.maximum(np.round(np.asarray(ctx.anchor)[j] + factor * delta), 0).astype(np.int64)
    partial += cut[:, 6]
    reuse = np.where(diff >= a[:, 1], inputs[:-1], partial)
    # another system prompt or other tools in front (another conversation of a log): no reuse
    keys = engine.ct.prefix_key
    m_count = engine.m_count
    reuse = np.where(
        keys[np.minimum(a[:, 0], m_count)] != keys[np.minimum(b[:, 0], m_count)], 0, reuse
    )
    out[1:] = np.minimum(np.minimum(np.maximum(reuse, 0), inputs[:-1]), inputs[1:])
    return out


@dataclass(frozen=True, slots=True)
class _Columns:
    """The loop's rows as columns."""

    n: int
    table: npt.NDArray[np.int64]
    input_tokens: npt.NDArray[np.int64]
    original_input_tokens: npt.NDArray[np.int64]
    output_tokens: npt.NDArray[np.int64]
    recorded: npt.NDArray[np.bool_]
    recorded_request: npt.NDArray[np.int64]
    prompts: npt.NDArray[np.int64]
    models: list[str]

    @classmethod
    def of(cls, rows: Sequence[Row]) -> _Columns:
        n = len(rows)
        fields = attrgetter(
            "input_tokens",
            "original_input_tokens",
            "output_tokens",
            "thinking_tokens",
            "recorded",
            "recorded_request",
            "cleared_tool_uses",
            "cleared_thinking_turns",
            "compaction_input_tokens",
            "compaction_output_tokens",
            "window",
            "cleared_input_tokens",
        )
        table = np.asarray([fields(r) for r in rows], dtype=np.int64).reshape(n, 12)
        return cls(
            n=n,
            table=table,
            input_tokens=table[:, 0],
            original_input_tokens=table[:, 1],
            output_tokens=table[:, 2],
            recorded=table[:, 4].astype(bool),
            recorded_request=table[:, 5],
            prompts=np.asarray([r.prompt for r in rows], dtype=np.int64).reshape(
                n, len(Prompt._fields)
            ),
            models=[r.model for r in rows],
        )


@dataclass(frozen=True, slots=True)
class _Cache:
    """Each row's prompt split as the API bills it."""

    uncached: npt.NDArray[np.int64]
    writes: npt.NDArray[np.int64]
    reads: npt.NDArray[np.int64]
    writes_1h: npt.NDArray[np.int64]
    reusable: npt.NDArray[np.int64]


def assemble(
    ctx: Context,
    rows: list[Row],
    events: list[Event],
    warnings: list[str],
    edits: Edits,
) -> Simulation:
    """The ``Simulation``: composition, caching, dollars, limits and recorded events, as
    arrays (its frames are built when first read)."""
    c = _Columns.of(rows)
    composition, th_stripped = _composition(ctx, c)
    cache = _caching(ctx, rows, c)
    cost_cols, long_context, comp_cost = _dollars(ctx, rows, c, cache, warnings)
    seen, extra, over = _windows(ctx, rows, c, events, warnings)
    _memory_warning(ctx, rows, c, edits, events)
    if not ctx.settings.undo_recorded_compactions:
        _recorded_events(ctx, rows, c, events)
    return Simulation(
        conversation=ctx.conv,
        settings=ctx.settings,
        request_columns=_request_columns(
            ctx,
            rows,
            c,
            composition,
            th_stripped,
            cache,
            cost_cols,
            long_context,
            comp_cost,
            seen,
            extra,
            over,
        ),
        event_records=tuple(events),
        _composition=composition,
        warnings=warnings,
        _scale=ctx.scale,
        hidden_prefix_tokens=ctx.hidden,
        _rows=tuple(rows),
        _ctx=ctx,
    )


def _composition(ctx: Context, c: _Columns) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Estimated categories of each prompt, scaled to its input_tokens; and the thinking of the
    history each prompt leaves out (counter units)."""
    conv = ctx.conv
    engine = ctx.engine
    settings = ctx.settings
    n = c.n
    inp = c.input_tokens
    rec_req, prompts = c.recorded_request, c.prompts
    ct = engine.ct
    starts, ends, kept_turn, lo = prompts[:, 0], prompts[:, 1], prompts[:, 2], prompts[:, 3]
    hi = np.maximum(prompts[:, 4], lo)
    synth, extra = prompts[:, 6], prompts[:, 7]
    valid = ends > starts
    ends_v = np.where(valid, ends, starts)
    cat_idx = CATEGORY_INDEX
    # a row whose prompt is the recorded one holds what undoing compactions removed (a what-if
    # compaction at a recorded compaction's request rejoins the recording)
    as_recorded = (
        np.all(
            prompts
            == np.asarray(ctx.rec_desc, dtype=np.int64).reshape(-1, prompts.shape[1])[rec_req],
            axis=1,
        )
        if n
        else np.zeros(0, dtype=bool)
    )
    weights = (engine.cum_cat[:, ends_v] - engine.cum_cat[:, starts]).T.astype(np.float64)
    if engine.cum_cat_recorded is not engine.cum_cat and as_recorded.any():
        full = engine.cum_cat_recorded
        weights[as_recorded] = (full[:, ends_v] - full[:, starts]).T[as_recorded]
    first_of_turn = np.asarray(engine.first_msg_of_turn, dtype=np.int64)
    ts = np.maximum(starts, first_of_turn[np.clip(kept_turn, 0, engine.n_turns)])
    ts = np.minimum(np.maximum(ts, prompts[:, 8]), ends_v)
    cum_th = engine.cum_th_arr
    th_kept = cum_th[ends_v] - cum_th[ts]
    th_kept[as_recorded] = (engine.cum_th_recorded[ends_v] - engine.cum_th_recorded[ts])[
        as_recorded
    ]
    th_stripped = (cum_th[ends_v] - cum_th[starts]) - th_kept
    weights[:, cat_idx["thinking"]] += th_kept
    res_tok = engine.cum_res_arr[hi] - engine.cum_res_arr[lo]
    res_cnt = engine.cum_has_res_arr[hi] - engine.cum_has_res_arr[lo]
    in_tok = engine.cum_in_arr[hi] - engine.cum_in_arr[lo]
    weights[:, cat_idx["tool_results"]] -= res_tok
    weights[:, cat_idx["tool_inputs"]] -= in_tok
    placeholders = res_cnt * engine.placeholder
    weights[:, cat_idx["cleared_placeholders"]] += placeholders
    weights[:, cat_idx["summary"]] += extra
    prefix_at = np.minimum(starts, engine.m_count)
    # the prompt's own frame (once per prompt, in its system prefix) is no system prompt text
    prompt_frame = np.where(prefix_at < engine.m_count, ct.prompt_frame_tokens, 0)
    weights[:, cat_idx["system"]] += ct.prefix_system_tokens[prefix_at] - prompt_frame
    weights[:, cat_idx["other"]] += prompt_frame
    weights[:, cat_idx["tools"]] += ct.prefix_tools_tokens[prefix_at]
    np.clip(weights, 0, None, out=weights)
    room = np.maximum(inp - synth, 0)
    hidden = np.minimum(ctx.hidden, room) if conv.hidden_prefix else np.zeros(n, dtype=np.int64)
    reinjected = np.zeros(n, dtype=np.int64)
    if ctx.reinjected:
        level = np.asarray(ctx.reinjected, dtype=np.int64)[rec_req]
        if settings.undo_recorded_compactions:
            level = np.where(as_recorded, level, 0)  # undone elsewhere
        reinjected = np.minimum(level, room - hidden)
    visible = room - hidden - reinjected
    composition = _allocate(weights, visible)
    empty = weights.sum(axis=1) <= 0
    spill = cat_idx["hidden_prefix"] if conv.hidden_prefix else cat_idx["other"]
    composition[:, spill] += np.where(empty, visible, 0)
    composition[:, cat_idx["hidden_prefix"]] += hidden
    composition[:, cat_idx["reinjected"]] += reinjected
    composition[:, cat_idx["summary"]] += np.minimum(synth, inp)
    return composition, th_stripped


def _caching(ctx: Context, rows: Sequence[Row], c: _Columns) -> _Cache:
    """Prompt caching: recorded where the row is as recorded, else the cache model of
    ``ctxviz.cost`` on the tokens each prompt shares with the one before."""
    engine = ctx.engine
    settings = ctx.settings
    requests = ctx.requests
    n = c.n
    inp = c.input_tokens
    recorded, rec_req, prompts = c.recorded, c.recorded_request, c.prompts
    caching = settings.prompt_caching
    recorded_usages = [r.usage for r in requests if r.usage is not None]
    if caching is None:
        caching = (
            any(
                u.cache_read_input_tokens
                or u.cache_creation_input_tokens
                or any(
                    it.cache_read_input_tokens or it.cache_creation_input_tokens
                    for it in u.iterations
                )
                for u in recorded_usages
            )
            if recorded_usages
            else True
        )
    one_hour = sum(u.ephemeral_1h_input_tokens or 0 for u in recorded_usages)
    ttl: cost.CacheTTL = (
        "1h" if one_hour * 2 > sum(u.cache_creation_input_tokens for u in recorded_usages) else "5m"
    )
    main_info = engine.info(rows[0].model if rows else (settings.model or "unknown"))
    reusable = _reusable_prefix(ctx, prompts, inp, rec_req)
    if caching:
        acc = cost.cache_split(
            inp, reusable, min_cacheable_tokens=main_info.min_cacheable_tokens, ttl=ttl
        )
        uncached = acc["input_tokens"].astype(np.int64)
        writes = acc["cache_creation_input_tokens"].astype(np.int64)
        reads = acc["cache_read_input_tokens"].astype(np.int64)
    else:
        uncached, writes, reads = inp.copy(), np.zeros(n, np.int64), np.zeros(n, np.int64)
    writes_1h = writes.copy() if ttl == "1h" else np.zeros(n, dtype=np.int64)
    for k in np.flatnonzero(recorded).tolist():
        usage = requests[rows[k].recorded_request].usage
        assert usage is not None
        uncached[k] = usage.input_tokens
        writes[k] = usage.cache_creation_input_tokens
        reads[k] = usage.cache_read_input_tokens
        writes_1h[k] = min(usage.ephemeral_1h_input_tokens or 0, usage.cache_creation_input_tokens)
    return _Cache(uncached, writes, reads, writes_1h, reusable)


def _dollars(
    ctx: Context, rows: Sequence[Row], c: _Columns, cache: _Cache, warnings: list[str]
) -> tuple[dict[str, npt.NDArray[np.float64]], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Dollars per row at each model's rates on the request's date (fallbacks priced by the
    model that served them), and the compaction calls' cost."""
    engine = ctx.engine
    requests = ctx.requests
    n = c.n
    out = c.output_tokens
    recorded, rec_req, table = c.recorded, c.recorded_request, c.table
    uncached, writes, reads, writes_1h = cache.uncached, cache.writes, cache.reads, cache.writes_1h
    model_col = c.models
    cost_cols: dict[str, npt.NDArray[np.float64]] = {}
    comp_in, comp_out = table[:, 8], table[:, 9]
    comp_split = np.zeros((n, 3), dtype=np.int64)
    comp_split[:, 0] = comp_in
    for k, r in enumerate(rows):
        if r.compaction_usage is not None:
            comp_split[k] = r.compaction_usage
    infos = [engine.info(m) for m in model_col]
    stamps = [requests[j].timestamp for j in rec_req.tolist()]
    priced = cost.price_columns(
        infos,
        input_tokens=uncached,
        cache_creation_input_tokens=writes,
        cache_read_input_tokens=reads,
        output_tokens=out,
        cache_creation_1h_input_tokens=writes_1h,
        timestamps=stamps,
    )
    for col in cost.COST_COLUMNS:
        cost_cols[col] = priced[col].astype(np.float64)
    long_context = priced["long_context"].astype(bool)
    comp_cost = cost.price_columns(
        infos,
        input_tokens=comp_split[:, 0],
        cache_creation_input_tokens=comp_split[:, 1],
        cache_read_input_tokens=comp_split[:, 2],
        output_tokens=comp_out,
        timestamps=stamps,
    )["cost_usd"].astype(np.float64)
    served = _price_fallbacks(engine, rows, requests, recorded, stamps, cost_cols, long_context)
    for said in dict.fromkeys(engine.info(m).warning() for m in (*model_col, *served)):
        if said is not None and said not in warnings:
            warnings.append(said)
    return cost_cols, long_context, comp_cost


def _windows(
    ctx: Context,
    rows: Sequence[Row],
    c: _Columns,
    events: list[Event],
    warnings: list[str],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The window each row is judged on: what the model saw (``seen``), what server tools
    added beyond it (``extra``), which rows do not fit; the first one's event."""
    engine = ctx.engine
    settings = ctx.settings
    requests = ctx.requests
    n = c.n
    inp, out = c.input_tokens, c.output_tokens
    rec_req, table = c.recorded_request, c.table
    model_col = c.models
    windows = table[:, 10]
    max_tokens = np.asarray(
        [settings.max_tokens or requests[j].max_tokens or -1 for j in rec_req.tolist()],
        dtype=np.int64,
    ).reshape(n)
    rejects = {m: engine.info(m).context_overflow == "validation_error" for m in set(model_col)}
    upfront = np.asarray([rejects[m] for m in model_col], dtype=bool).reshape(n)
    # A server-tool response's recorded usage sums the prompts of its internal calls; the window
    # is judged on the largest call (docs/semantics.md#server-tool-pitfall); input_tokens as is.
    extra = np.asarray(
        [internal_calls_extra(requests[j]) for j in rec_req.tolist()], dtype=np.int64
    ).reshape(n)
    seen = np.maximum(inp - extra, 0)
    over_max = upfront & (max_tokens >= 0) & (seen + max_tokens > windows)
    over = over_max | (seen + out > windows)
    if extra.any():
        k = int(np.argmax(extra))
        warnings.append(
            f"{int(np.count_nonzero(extra))} requests used server tools: their recorded usage "
            "sums the prompts of several internal model calls (e.g. request "
            f"{k}: {int(inp[k]):,} recorded, the largest call saw {int(seen[k]):,}). input_tokens "
            "keeps the recorded sum (what is billed, and what the SDK's compaction_control "
            "counts); the window check uses the largest call (column "
            "server_tool_extra_input_tokens)."
        )
    hits = np.flatnonzero(over)
    if hits.size:
        k = int(hits[0])
        r = rows[k]
        info = engine.info(r.model)
        kind: limits.Overflow = "input+max_tokens" if over_max[k] else "input+output"
        other = int(max_tokens[k]) if over_max[k] else int(out[k])
        events.append(
            event(
                k,
                r.recorded_request,
                limits.TYPE,
                limits.overflow_detail(
                    kind=kind,
                    request=k,
                    input_tokens=int(seen[k]),
                    other_tokens=other,
                    window=r.window,
                    behaviour=info.context_overflow,
                    model=info.display_name,
                ),
                tokens_before=int(seen[k]) + other,
                tokens_after=r.window,
                trigger=kind,
            )
        )
    return seen, extra, over


def _memory_warning(
    ctx: Context, rows: Sequence[Row], c: _Columns, edits: Edits, events: list[Event]
) -> None:
    """The memory tool's warning before clearing (assumption: 80% of the trigger)."""
    conv = ctx.conv
    orig = c.original_input_tokens
    tool_edit = next(
        (e for e in edits.clearing if isinstance(e, clear_tool_uses.ClearToolUses)), None
    )
    has_memory = any(
        isinstance(t.raw, Mapping) and t.raw.get("type") == limits.MEMORY_TOOL_TYPE
        for t in conv.tools
    )
    if has_memory and tool_edit is not None and tool_edit.trigger_type == "input_tokens":
        point = math.ceil(limits.MEMORY_WARNING_FRACTION * tool_edit.trigger_value)
        hits = np.flatnonzero(orig >= point)
        if hits.size:
            k = int(hits[0])
            events.append(
                event(
                    k,
                    rows[k].recorded_request,
                    limits.MEMORY_WARNING_TYPE,
                    f"Request {k}: the prompt ({int(orig[k]):,} tokens) approaches the clearing "
                    f"trigger ({tool_edit.trigger_value:,}); the model is warned to save what "
                    "matters to memory (assumed at 80% of the trigger).",
                    tokens_before=int(orig[k]),
                    trigger=str(point),
                )
            )


def _recorded_events(ctx: Context, rows: Sequence[Row], c: _Columns, events: list[Event]) -> None:
    """Compactions found in the transcript (Claude Code, SDK) and microcompacts, replayed as
    recorded."""
    conv = ctx.conv
    inp, out = c.input_tokens, c.output_tokens
    first_row: dict[int, int] = {}
    for k, r in enumerate(rows):
        first_row.setdefault(r.recorded_request, k)
    for rc in conv.compactions:
        if rc.kind == "server" or rc.request not in first_row:
            continue
        k = first_row[rc.request]
        before = rc.pre_tokens
        if before is None and k > 0:
            before = int(inp[k - 1] + out[k - 1])
        events.append(
            event(
                k,
                rc.request,
                claude_code.RECORDED_TYPE,
                f"Request {rc.request}: {_KIND_NAMES[rc.kind]} compaction recorded in the "
                f"transcript ({rc.trigger or 'unknown trigger'}); the prompt after it is "
                f"{int(inp[k]):,} tokens.",
                tokens_before=before,
                tokens_after=int(inp[k]),
                summary_tokens=rc.summary_tokens,
                trigger=rc.trigger,
            )
        )

    for mc in conv.microcompactions:
        if mc.request not in first_row:
            continue
        k = first_row[mc.request]
        events.append(
            event(
                k,
                mc.request,
                claude_code.MICROCOMPACT_TYPE,
                f"Request {mc.request}: Claude Code microcompact replaced "
                f"{len(mc.tool_use_ids):,} old tool result(s) by '[Old tool result content "
                f"cleared]' ({mc.source}).",
                cleared_tool_uses=len(mc.tool_use_ids),
                tokens_after=int(inp[k]),
                trigger="microcompact",
            )
        )


def _request_columns(
    ctx: Context,
    rows: Sequence[Row],
    c: _Columns,
    composition: npt.NDArray[np.int64],
    th_stripped: npt.NDArray[np.int64],
    cache: _Cache,
    cost_cols: dict[str, npt.NDArray[np.float64]],
    long_context: npt.NDArray[np.bool_],
    comp_cost: npt.NDArray[np.float64],
    seen: npt.NDArray[np.int64],
    extra: npt.NDArray[np.int64],
    over: npt.NDArray[np.bool_],
) -> dict[str, npt.NDArray[Any]]:
    """``Simulation.requests``' columns: one value per model call."""
    n = c.n
    inp, orig, out = c.input_tokens, c.original_input_tokens, c.output_tokens
    recorded, rec_req, prompts, table = c.recorded, c.recorded_request, c.prompts, c.table
    think = table[:, 3]
    uncached, writes, reads, reusable = cache.uncached, cache.writes, cache.reads, cache.reusable
    model_col = c.models
    windows = table[:, 10]
    starts, ends = prompts[:, 0], prompts[:, 1]
    comp_in, comp_out = table[:, 8], table[:, 9]
    total_cost = cost_cols["cost_usd"] + comp_cost
    cat_idx = CATEGORY_INDEX
    source = np.where(recorded, "recorded", "estimated")
    turn = np.asarray(ctx.turns, dtype=np.int64)[rec_req] if n else np.zeros(0, dtype=np.int64)
    return {
        "request": np.arange(n, dtype=np.int64),
        "recorded_request": rec_req,
        "turn": turn,
        "model": _objects(model_col),
        "stop_reason": _objects([r.stop_reason for r in rows]),
        "source": _objects(source.tolist()),
        "input_tokens": inp,
        "original_input_tokens": orig,
        "output_tokens": out,
        "thinking_tokens": think,
        "context_tokens": inp + out,
        "uncached_input_tokens": uncached,
        "cache_creation_input_tokens": writes,
        "cache_read_input_tokens": reads,
        "reusable_prefix_tokens": reusable,
        "cleared_input_tokens": table[:, 11],
        "cleared_tool_uses": table[:, 6],
        "cleared_thinking_turns": table[:, 7],
        "thinking_carried_tokens": composition[:, cat_idx["thinking"]],
        "thinking_stripped_tokens": np.round(ctx.scale * th_stripped).astype(np.int64),
        "placeholder_tokens": composition[:, cat_idx["cleared_placeholders"]],
        "summary_tokens": composition[:, cat_idx["summary"]],
        "compaction_input_tokens": comp_in,
        "compaction_output_tokens": comp_out,
        "compaction_control_total_tokens": _objects([r.sdk_total for r in rows]),
        "context_window": windows,
        "remaining_tokens": windows - seen,
        "server_tool_extra_input_tokens": extra,
        "over_window": over,
        "long_context": long_context,
        **cost_cols,
        "compaction_cost_usd": comp_cost,
        "cost_usd": total_cost,
        "cumulative_cost_usd": np.cumsum(total_cost),
        "prompt_start_message": starts,
        "prompt_end_message": ends,
    }


def _objects(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    """A column of Python objects (text, or ints and Nones), one per row."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
