"""The one loop over requests, in order; it only orders the steps, each policy decides in its own
module (``ctxviz.policies.*``, through ``ctxviz.policies.step``). For each recorded request:

1. a server compaction recorded inside it is replayed as it happened;
2. client side, before sending: ``settings.client_policies`` (Claude Code's auto-compaction, then
   the rolling window), each on the history the one before left;
3. server side: the clearing edits in the API's order, each on the prompt left so far; then
   ``compact_20260112`` (or compaction on demand), judged last on the cleared prompt;
4. the row; then, client side, after the response: the SDK's ``compaction_control``.

The loop keeps the books: the client's history (where it starts, the summary in front), the rows
and the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ctxviz.policies import claude_code, compact, preserved_thinking
from ctxviz.policies.edits import Edits
from ctxviz.policies.step import AppliedEdit, At, ClientStep, Event, Fired, Previous, Prompt, event
from ctxviz.policies.thinking import ThinkingKeep, default_keep
from ctxviz.settings import SimulationSettings
from ctxviz.simulator.context import Context
from ctxviz.simulator.engine import Engine
from ctxviz.simulator.recorded import compaction_iteration, server_tool_excess
from ctxviz.simulator.row import Row


def default_keep_of(engine: Engine, model_id: str, preservation: bool | None) -> ThinkingKeep:
    return default_keep(
        preserves_by_default=engine.info(model_id).preserves_thinking_by_default,
        preservation=preservation,
    )


@dataclass(slots=True)
class _Books:
    """What the loop carries from one request to the next."""

    rows: list[Row] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    history: Prompt = field(default_factory=lambda: Prompt(0, 0, 0))
    """The client's history: where it starts, and the what-if summary in front."""
    summaries: int = 0
    rewrites: list[preserved_thinking.Rewrite] = field(default_factory=list)
    """Client-side rewrites of the history so far (preserved thinking's prefix check)."""
    models: Sequence[str] = ()
    """The model of each request (preserved thinking's model check)."""
    producers: dict[int, int] | None = None
    """The request that returned each response message (built when first needed)."""

    def fired(self, fired: Fired) -> None:
        """A step changed the prompt: the history runs on from its prompt."""
        self.summaries += 1
        self.history = fired.prompt
        self.events.append(fired.event)


def _recorded_server_compaction(ctx: Context, j: int, row: Row, index: int) -> tuple[Row, Event]:
    """A server compaction recorded inside request ``j``: the row as recorded (row ``index``),
    and its event."""
    size = ctx.size(row.prompt, j)
    it = compaction_iteration(ctx.requests[j])
    row = row._replace(
        input_tokens=size,
        original_input_tokens=size,
        recorded=ctx.requests[j].usage is not None,
        compaction_input_tokens=sum(it[:3]) if it else 0,
        compaction_output_tokens=it[3] if it else 0,
        compaction_usage=it[:3] if it else None,
    )
    return row, event(
        index,
        j,
        claude_code.RECORDED_TYPE,
        f"Request {j}: server compaction (compact_20260112) recorded in the transcript; the model "
        f"continued on a {row.input_tokens:,}-token prompt.",
        tokens_before=sum(it[:3]) if it else None,
        tokens_after=row.input_tokens,
        summary_tokens=it[3] if it else None,
        trigger="input_tokens",
    )


def loop(
    ctx: Context,
    settings: SimulationSettings,
    edits: Edits,
    models: Sequence[str],
    warnings: list[str],
) -> tuple[list[Row], list[Event]]:
    """Every request's row, and the events (module doc: the order in which policies act)."""
    books = _Books(models=models)
    switches = len(set(models)) > 1
    rows, events = books.rows, books.events
    client_steps = [policy.bind(ctx) for policy in settings.client_policies]
    sdk = settings.compaction_control
    compact_at = set(settings.compact_at)
    replay_server = not settings.undo_recorded_compactions
    preserves: dict[str, bool] = {}
    for j, req in enumerate(ctx.requests):
        model_id = models[j]
        preserve = preserves.get(model_id)
        if preserve is None:
            keep = default_keep_of(ctx.engine, model_id, settings.thinking_preservation)
            preserve = preserves[model_id] = keep.turns is None
        fresh = ctx.base_starts[j] > books.history.start
        if fresh:
            # a recorded compaction (or a fresh prompt) starts after anything a what-if cut
            books.history = Prompt(ctx.base_starts[j], 0, 0)
        row = Row(
            recorded_request=j,
            prompt=ctx.rec_desc[j],
            original=ctx.rec_desc[j],
            input_tokens=0,
            original_input_tokens=0,
            output_tokens=ctx.output_tokens[j],
            thinking_tokens=ctx.thinking_tokens[j],
            stop_reason=req.stop_reason,
            model=model_id,
            window=ctx.windows[j],
        )
        if replay_server and j in ctx.server_compaction_at:
            recorded, ev = _recorded_server_compaction(ctx, j, row, len(rows))
            rows.append(recorded)
            events.append(ev)
            books.history = books.history._replace(start=max(books.history.start, req.prompt_end))
            continue
        previous = rows[-1] if client_steps and j and rows and not fresh else None
        at = At(
            request=j,
            row=len(rows),
            start=books.history.start,
            end=req.prompt_end,
            model=model_id,
            window_tokens=row.window,
            output_tokens=row.output_tokens,
            turn=ctx.turns[j],
            # before the edits: every turn's thinking when clear_thinking decides, else the default
            kept_from_turn=0 if edits.clear_thinking is not None or preserve else ctx.turns[j],
            summary_tokens=ctx.summary_size,
            next_summary_id=books.summaries + 1,
            previous=None
            if previous is None
            else Previous(
                input_tokens=previous.input_tokens,
                output_tokens=previous.output_tokens,
                recorded=previous.recorded,
            ),
            size=partial(ctx.size, j=j),
        )
        at = _request(
            ctx,
            client_steps,
            edits,
            books,
            at,
            row,
            j in compact_at,
            settings.thinking_prefix_mismatch,
            switches,
        )
        if sdk is not None and req.response is not None:
            last = rows[-1]
            at = at._replace(row=len(rows) - 1, next_summary_id=books.summaries + 1)
            excess = server_tool_excess(ctx, req, j)
            total, fired = sdk.after_response(
                last.input_tokens, at, server_tool_excess_tokens=excess
            )
            rows[-1] = last._replace(sdk_total=total)
            if fired is not None:
                books.fired(fired)
                after = at.size(fired.prompt)
                rows.append(
                    row._replace(
                        prompt=fired.prompt,
                        original=fired.prompt,
                        input_tokens=after,
                        original_input_tokens=after,
                        compaction_input_tokens=fired.compaction_input_tokens,
                        compaction_output_tokens=fired.compaction_output_tokens,
                        sdk_total=sdk.total(
                            prompt_tokens=after,
                            output_tokens=row.output_tokens,
                            server_tool_excess_tokens=0,
                        ),
                    )
                )
    return rows, events


def _request(
    ctx: Context,
    client_steps: Sequence[ClientStep],
    edits: Edits,
    books: _Books,
    at: At,
    row: Row,
    on_demand: bool,
    mismatch: preserved_thinking.MismatchBehaviour,
    switches: bool,
) -> At:
    """One request from the client's history to its row(s): client steps, the thinking they made
    invalid, clearing edits, compaction. Returns ``at`` as the last step left it."""
    history = books.history
    client = Prompt(history.start, at.end, at.kept_from_turn, 0, 0, *history[5:7])
    compaction_in = compaction_out = 0
    for step in client_steps:
        fired = step.before_sending(client, at)
        if fired is not None:
            books.fired(fired)
            client = fired.prompt
            compaction_in += fired.compaction_input_tokens
            compaction_out += fired.compaction_output_tokens
            at = at._replace(start=client.start, next_summary_id=books.summaries + 1)
            if not fired.keeps_thinking_valid:
                books.rewrites.append(
                    preserved_thinking.Rewrite(request=at.request, change_at=client.start)
                )
    if books.rewrites and ctx.engine.info(at.model).preserved_thinking:
        client = _invalid_thinking(ctx, books, client, at, mismatch)
    original, original_tokens = client, at.size(client)
    p, tokens = original, original_tokens
    applied: list[AppliedEdit] = []
    for edit in edits.clearing:
        done = edit.apply(p, tokens, at, ctx)
        if done is None:
            continue
        rep = done.report
        applied.append(rep)
        books.events.append(
            event(
                at.row,
                at.request,
                rep["type"],
                done.detail,
                cleared_tool_uses=rep.get("cleared_tool_uses"),
                cleared_thinking_turns=rep.get("cleared_thinking_turns"),
                cleared_input_tokens=rep["cleared_input_tokens"],
                tokens_before=tokens,
                tokens_after=done.tokens,
            )
        )
        p, tokens = done.prompt, done.tokens
    cleared = original_tokens - tokens
    fired = compact.step(edits.compact, on_demand=on_demand, tokens=tokens, at=at)
    if fired is not None:
        books.fired(fired)
        after = at.size(fired.prompt)
        if (edits.compact or compact.Compact()).pause_after_compaction:
            # the request stops after the summary: a row of its own, then the request again
            paused = {
                "output_tokens": fired.compaction_output_tokens,
                "thinking_tokens": 0,
                "stop_reason": "compaction",
            }
            books.rows.append(
                _row(row, p, original, tokens, original_tokens, cleared, applied, paused)
            )
            applied, cleared, original, original_tokens = [], 0, fired.prompt, after
        else:
            compaction_in += fired.compaction_input_tokens
            compaction_out += fired.compaction_output_tokens
        p, tokens = fired.prompt, after
    # a request replayed as recorded keeps its usage: what the API dropped is already out of it
    # (a prompt the model check changes drops thinking, so it is never the recorded one)
    recorded = ctx.requests[at.request].usage is not None and p == ctx.rec_desc[at.request]
    if switches and not recorded:
        checked = _unreadable_thinking(ctx, books, p, at)
        if checked != p:
            p, tokens = checked, at.size(checked)
    sent = {
        "recorded": recorded and at.request not in ctx.not_recorded,
        "compaction_input_tokens": compaction_in,
        "compaction_output_tokens": compaction_out,
    }
    books.rows.append(_row(row, p, original, tokens, original_tokens, cleared, applied, sent))
    return at


def _invalid_thinking(
    ctx: Context,
    books: _Books,
    client: Prompt,
    at: At,
    mismatch: preserved_thinking.MismatchBehaviour,
) -> Prompt:
    """Preserved thinking's prefix check on the prompt about to be sent: the thinking blocks a
    client-side rewrite kept are invalid (``preserved_thinking.invalid_blocks``). ``reject``: the
    API answers 400 (an event), and the replay goes on as the docs advise, resending with
    ``drop_block``; ``drop``: the blocks are dropped. Either way they leave the prompt, unbilled,
    and the cache restarts at the first of them."""
    blocks = _thinking_in(ctx, books, client, at)
    bad = preserved_thinking.invalid_blocks(blocks, books.rewrites, request=at.request)
    if not bad:
        return client
    dropped, before, after = _without_thinking_through(client, bad[-1], at)
    where = ", ".join(f"#{m}" for m in bad)
    if mismatch == "reject":
        kind = preserved_thinking.REJECTED_TYPE
        detail = (
            f"Request {at.request}: the thinking in message(s) {where} was produced before a "
            "client-side rewrite of the history and fails the prefix check: the API answers "
            '400 (prefix_mismatch_behavior "error"). Replayed as resent with "drop_block": '
            f"{before - after:,} tokens of thinking leave the prompt."
        )
    else:
        kind = preserved_thinking.DROPPED_TYPE
        detail = (
            f"Request {at.request}: the thinking in message(s) {where} fails the prefix check "
            f'after a client-side rewrite and is dropped ("drop_block"): {before - after:,} '
            "tokens, unbilled; the cache restarts at the first of them."
        )
    books.events.append(
        event(
            at.row,
            at.request,
            kind,
            detail,
            cleared_input_tokens=before - after,
            tokens_before=before,
            tokens_after=after,
            trigger=preserved_thinking.API_VALUE[mismatch],
        )
    )
    return dropped


def _without_thinking_through(client: Prompt, last: int, at: At) -> tuple[Prompt, int, int]:
    """``client`` with the thinking of messages up to ``last`` left out (the descriptor drops
    thinking up to a message), and its tokens before and after."""
    dropped = client._replace(thinking_from=max(client.thinking_from, last + 1))
    return dropped, at.size(client), at.size(dropped)


def _thinking_in(ctx: Context, books: _Books, client: Prompt, at: At) -> list[tuple[int, int]]:
    """(message, request that produced it) of each message with thinking in the prompt; -1 for
    a message no request of the transcript returned."""
    if books.producers is None:
        books.producers = {
            r.response: j for j, r in enumerate(ctx.requests) if r.response is not None
        }
    engine, producers = ctx.engine, books.producers
    return [
        (m, producers.get(m, -1))
        for m in range(engine.kept_thinking_start(client), min(at.end, engine.m_count))
        if engine.has_thinking[m]
    ]


def _unreadable_thinking(ctx: Context, books: _Books, client: Prompt, at: At) -> Prompt:
    """Preserved thinking's model check, when requests run on different models: the thinking the
    current model cannot read is dropped without an error, unbilled
    (``preserved_thinking.can_read``). The prompt descriptor drops thinking up to a message, so
    every thinking block before the last unreadable one leaves the prompt with it."""
    engine = ctx.engine
    reader = engine.info(at.model)
    blocks = [
        (m, engine.info(books.models[r]))
        for m, r in _thinking_in(ctx, books, client, at)
        if 0 <= r < len(books.models) and books.models[r] != at.model
    ]
    bad = preserved_thinking.unreadable_blocks(blocks, reader)
    if not bad:
        return client
    dropped, before, after = _without_thinking_through(client, bad[-1], at)
    books.events.append(
        event(
            at.row,
            at.request,
            preserved_thinking.UNREADABLE_TYPE,
            f"Request {at.request}: {reader.display_name} cannot read the thinking in message(s) "
            f"{', '.join(f'#{m}' for m in bad)} (another model wrote it): the API drops it "
            f"without an error (model_binding_mismatch), {before - after:,} tokens unbilled.",
            cleared_input_tokens=before - after,
            tokens_before=before,
            tokens_after=after,
        )
    )
    return dropped


def _row(
    row: Row,
    p: Prompt,
    original: Prompt,
    tokens: int,
    original_tokens: int,
    cleared_tokens: int,
    applied: list[AppliedEdit],
    more: dict[str, Any],
) -> Row:
    """The request's row for prompt ``p`` (``original`` before the edits ``applied``), with the
    fields in ``more`` (one ``_replace``: the loop makes a row per request)."""
    if applied:
        more["cleared_tool_uses"] = sum(r.get("cleared_tool_uses", 0) for r in applied)
        more["cleared_thinking_turns"] = sum(r.get("cleared_thinking_turns", 0) for r in applied)
        more["applied_edits"] = tuple(applied)
    return row._replace(
        prompt=p,
        original=original,
        input_tokens=tokens,
        original_input_tokens=original_tokens,
        cleared_input_tokens=cleared_tokens,
        **more,
    )
