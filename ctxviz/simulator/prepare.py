"""The replay set up: the engine, recorded compactions, windows and calibration; then the loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ctxviz._memo import per_conversation
from ctxviz.estimates import (
    ConversationTokens,
    Pricing,
    conversation_tokens,
    document_is_estimate,
    image_size_known,
    unsized_tool_types,
)
from ctxviz.model import (
    CompactionBlock,
    Conversation,
    DocumentBlock,
    ImageBlock,
    ToolResultBlock,
)
from ctxviz.models import ModelTable
from ctxviz.policies import claude_code, clear_tool_uses, limits
from ctxviz.policies.edits import NO_EDITS, Edits
from ctxviz.policies.edits import parse as parse_edits
from ctxviz.policies.step import Event, Prompt
from ctxviz.settings import SimulationSettings
from ctxviz.simulator.context import DEFAULT_SUMMARY_TOKENS, Context
from ctxviz.simulator.engine import Engine
from ctxviz.simulator.loop import loop
from ctxviz.simulator.recorded import compaction_iteration, responses
from ctxviz.simulator.row import Row
from ctxviz.tokens import Family, count_text, family_for_model


def first_model(conv: Conversation) -> str | None:
    for r in conv.requests:
        if r.model:
            return r.model
    return conv.model


def recorded_context_management(conv: Conversation) -> Mapping[str, Any] | None:
    for r in conv.requests:
        cm = r.context_management
        if cm is not None and isinstance(cm, Mapping):
            return cm
    return None


def prepare(
    conv: Conversation,
    settings: SimulationSettings,
    table: ModelTable,
    warnings: list[str],
    *,
    pricing: Pricing | None = None,
) -> tuple[Context, list[Row], list[Event], list[str], Edits]:
    """The replay itself, on arrays: every request's row and the events (``assemble`` adds the
    frames, costs and limit events). ``pricing``: whose text is counted (every message's when
    None; ``ctxviz.estimates.Pricing``)."""
    model_id = settings.model or first_model(conv)
    family: Family = family_for_model(model_id)
    counter = settings.counter or count_text
    ct = conversation_tokens(
        conv,
        family=family,
        counter=counter,
        message_frame_tokens=settings.message_frame_tokens,
        model=table.get(model_id) if model_id else None,
        table=table,
        pricing=pricing,
    )
    requests = conv.requests
    edits, recorded_edits, tool_edit = _edits(conv, settings, warnings)
    undo = settings.undo_recorded_compactions
    excluded_messages, excluded_blocks, server_compaction_at = _recorded_compactions(conv, ct, undo)
    engine = Engine(
        conv,
        ct,
        excluded_messages=frozenset(excluded_messages),
        excluded_blocks=frozenset(excluded_blocks),
        clear=tool_edit,
        placeholder_tokens=counter(clear_tool_uses.PLACEHOLDER, family),
        table=table,
    )
    models = [settings.model or r.model or conv.model or "unknown" for r in requests]
    recorded_prompt = [r.usage.prompt_tokens if r.usage is not None else None for r in requests]
    ctx = Context(
        conv=conv,
        engine=engine,
        settings=settings,
        requests=requests,
        base_starts=_base_starts(conv, undo),
        recorded_prompt=recorded_prompt,
        windows=_windows(conv, engine, models, recorded_prompt, settings.context_window),
        server_compaction_at=server_compaction_at,
        rec_desc=[],
    )
    ctx.turns = [turn_of(engine, r.prompt_end) for r in requests]
    plain = _as_recorded(ctx, undo)
    ctx.fit(plain)
    if recorded_edits.clearing:
        # the recording used context editing: its prompts were the edited ones
        ctx.output_tokens, ctx.thinking_tokens = responses(ctx, [])
        baseline = SimulationSettings(counter=settings.counter)
        rec_models = [r.model or conv.model or "unknown" for r in requests]
        rows, _ = loop(ctx, baseline, replace(recorded_edits, compact=None), rec_models, [])
        edited = list(plain)
        for row in rows:
            edited[row.recorded_request] = row.prompt
        ctx.fit(edited)

    if undo:
        ctx.rebase_undone(plain)
    ctx.summary_size = summary_size_of(ctx)
    warnings.extend(estimate_notes(ctx, settings))
    ctx.output_tokens, ctx.thinking_tokens = responses(ctx, warnings)
    rows, events = loop(ctx, settings, edits, models, warnings)
    return ctx, rows, events, warnings, edits


def _edits(
    conv: Conversation, settings: SimulationSettings, warnings: list[str]
) -> tuple[Edits, Edits, clear_tool_uses.ClearToolUses | None]:
    """The edits to replay, the recorded ones (the as-recorded baseline) and the
    ``clear_tool_uses`` configuration whose placeholders the engine counts."""
    recorded_edits = NO_EDITS
    recorded_cm = recorded_context_management(conv)
    if recorded_cm is not None:
        try:
            recorded_edits, _ = parse_edits(recorded_cm, None)
        except ValueError as exc:
            warnings.append(f"The recorded context_management is not valid and is ignored: {exc}")
    # As recorded, the recorded clearing edits are applied again (the client kept its full
    # history), but not a recorded compaction: its effect is in the transcript.
    edits = (
        settings.edits
        if settings.context_management is not None
        else replace(recorded_edits, compact=None)
    )
    tool_edits = [e for e in edits.clearing if isinstance(e, clear_tool_uses.ClearToolUses)]
    if len(tool_edits) > 1:
        raise ValueError("context_management.edits: clear_tool_uses_20250919 is given twice")
    recorded_tool_edit = next(
        (e for e in recorded_edits.clearing if isinstance(e, clear_tool_uses.ClearToolUses)), None
    )
    if tool_edits and recorded_tool_edit is not None and tool_edits[0] != recorded_tool_edit:
        recorded_edits = replace(
            recorded_edits,
            clearing=tuple(
                e
                for e in recorded_edits.clearing
                if not isinstance(e, clear_tool_uses.ClearToolUses)
            ),
        )
        warnings.append(
            "The recording used another clear_tool_uses_20250919 configuration; its clearing is "
            "not reconstructed in the as-recorded baseline."
        )

    return edits, recorded_edits, tool_edits[0] if tool_edits else recorded_tool_edit


def _recorded_compactions(
    conv: Conversation, ct: ConversationTokens, undo: bool
) -> tuple[set[int], set[int], dict[int, int]]:
    """Recorded compactions, replayed as recorded or undone: the messages and blocks undoing
    them takes out, and the compaction block of each recorded server compaction by request."""
    excluded_messages: set[int] = set()
    excluded_blocks: set[int] = set()
    server_compaction_at: dict[int, int] = {}
    block_start = ct.message_block_start
    for c in conv.compactions:
        if not 0 <= c.summary_message < len(conv.messages):
            continue
        msg = conv.messages[c.summary_message]
        if c.kind == "server":
            blocks = [
                int(block_start[c.summary_message]) + k
                for k, b in enumerate(msg.content)
                if isinstance(b, CompactionBlock)
            ]
            if blocks:
                server_compaction_at[c.request] = blocks[0]
            if undo:
                excluded_blocks.update(blocks)
        elif undo:
            excluded_messages.add(c.summary_message)
            if c.preserved_messages is not None:
                # the copies, after the summary, of messages the history already holds
                excluded_messages.update(range(*c.preserved_messages))
    return excluded_messages, excluded_blocks, server_compaction_at


def _base_starts(conv: Conversation, undo: bool) -> list[int]:
    """Per request, the first message of the history it runs on (recorded compactions undone:
    the history before them)."""
    requests = conv.requests
    # the first request whose recorded prompt starts after each compaction (for server
    # compaction, the one after the request inside which it happened)
    compaction_requests = {c.request + (c.kind == "server") for c in conv.compactions}
    base_starts: list[int] = []
    for j, r in enumerate(requests):
        chained = j in compaction_requests or r.prompt_start == requests[j - 1].prompt_start
        if j and undo and chained:
            base_starts.append(base_starts[-1])
        else:
            base_starts.append(r.prompt_start)

    return base_starts


def _windows(
    conv: Conversation,
    engine: Engine,
    models: Sequence[str],
    recorded_prompt: Sequence[int | None],
    override: int | None,
) -> list[int]:
    """The context window of each request (``ctxviz.policies.limits.window_tokens``)."""
    requests = conv.requests
    shows_1m = any(
        p is not None and p > claude_code.CLAUDE_CODE_WINDOW_TOKENS for p in recorded_prompt
    ) or any("[1m]" in (r.model or conv.model or "") for r in requests)
    # an auto-compaction recorded below 200K shows that Claude Code ran the session on 200K
    shows_200k = any(
        c.kind == "claude_code"
        and c.trigger == "auto"
        and c.pre_tokens is not None
        and c.pre_tokens < claude_code.CLAUDE_CODE_WINDOW_TOKENS
        for c in conv.compactions
    )
    started = next((r.timestamp for r in requests if r.timestamp), None)
    window_of: dict[tuple[str, tuple[str, ...]], int] = {}
    windows: list[int] = []
    for m, r in zip(models, requests, strict=True):
        key = (m, r.betas)
        if key not in window_of:
            window_of[key] = limits.window_tokens(
                engine.info(m),
                betas=r.betas,
                claude_code=conv.format == "claude-code",
                shows_1m=shows_1m,
                shows_200k=shows_200k,
                started=started,
                override=override,
            )
        windows.append(window_of[key])
    return windows


def _as_recorded(ctx: Context, undo: bool) -> list[Prompt]:
    """The as-recorded prompts: the recorded models' thinking defaults, recorded compactions
    (a server compaction's iteration is a second recorded size for the scale)."""
    conv, engine, requests = ctx.conv, ctx.engine, ctx.requests
    ct, server_compaction_at, recorded_prompt = (
        engine.ct,
        ctx.server_compaction_at,
        ctx.recorded_prompt,
    )
    preserves: dict[str, bool] = {}
    plain: list[Prompt] = []
    pre_tokens = {c.request: c.pre_tokens for c in conv.compactions if c.kind == "server"}
    for j, r in enumerate(requests):
        end = r.prompt_end
        recorded_model = r.model or conv.model or "unknown"
        preserve = preserves.get(recorded_model)
        if preserve is None:
            info = engine.info(recorded_model)
            preserve = preserves[recorded_model] = info.preserves_thinking_by_default
        full = Prompt(r.prompt_start, end, 0 if preserve else ctx.turns[j])
        if j in server_compaction_at:
            # the compaction iteration read the whole prompt: a second recorded size
            iteration = compaction_iteration(r)
            before = pre_tokens.get(j) or (sum(iteration[:3]) if iteration else None)
            if undo:
                # the request as if it had not compacted: its prompt is what the iteration read
                recorded_prompt[j] = before
                ctx.not_recorded.add(j)
                plain.append(full)
                continue
            if before is not None:
                ctx.extra_points.append((full, before))
            blk = server_compaction_at[j]
            plain.append(Prompt(end, end, 0, extra_estimate=int(ct.block_tokens[blk])))
            continue
        plain.append(full)
    return plain


@per_conversation
def _estimated_media(conv: Conversation) -> tuple[int, int]:
    """(images of unknown size, documents counted as estimates) among every block, a tool
    result's own blocks included (never its text: one step a character)."""
    blocks = [
        i
        for m in conv.messages
        for b in m.content
        for i in (
            b.content if isinstance(b, ToolResultBlock) and isinstance(b.content, tuple) else (b,)
        )
    ]
    unsized = sum(1 for i in blocks if isinstance(i, ImageBlock) and not image_size_known(i))
    rough = sum(1 for i in blocks if isinstance(i, DocumentBlock) and document_is_estimate(i))
    return unsized, rough


def estimate_notes(ctx: Context, settings: SimulationSettings) -> list[str]:
    """What the user should know about the estimates of this replay."""
    notes: list[str] = []
    unsized, rough = _estimated_media(ctx.conv)
    if unsized:
        notes.append(
            f"{unsized:,} image(s) (URL, file or unreadable data) are counted at their resolution "
            "tier's maximum (1,568 or 4,784 tokens): their pixel size is not in the data, so "
            "their count is an estimate."
        )
    if rough:
        notes.append(
            f"{rough:,} document(s) are counted as estimates: a PDF without extractable text "
            "(scanned, or in two-byte fonts), or a document whose content is not in the request "
            "(URL, file, base64 data other than a PDF)."
        )
    tools = [*ctx.conv.tools, *(t for r in ctx.conv.requests if r.tools for t in r.tools)]
    unsized_tools = unsized_tool_types(tools)
    if unsized_tools:
        notes.append(
            f"Tools {', '.join(unsized_tools)}: the API expands these into a definition whose "
            "size is not published, so estimated prompts count only the JSON sent for them (too "
            "low; recorded prompts are not affected)."
        )
    inflated = [
        r.index
        for r in ctx.requests
        if r.usage is not None and r.usage.server_tool_use and any(r.usage.server_tool_use.values())
    ]
    cc = settings.compaction_control
    if inflated and cc is not None and cc.totals == "sdk":
        notes.append(
            f"{len(inflated)} request(s) used server tools: their cache_read_input_tokens add up "
            "the reads of several internal calls, so compaction_control's total is inflated and "
            "it compacts early (pass compaction_control_totals='context' to compare)."
        )
    if ctx.conv.hidden_prefix and ctx.hidden:
        notes.append(
            f"The system prompt and tools are not in the file: a hidden prefix of "
            f"{ctx.hidden:,} tokens (first prompt minus its visible messages) is assumed."
        )
    return notes


def turn_of(engine: Engine, end: int) -> int:
    """The turn of a request whose prompt ends before message ``end``."""
    return engine.turn[end - 1] if end > 0 else 0


def summary_size_of(ctx: Context) -> int:
    """``summary_tokens`` argument, else the recorded summaries' mean size, else the default."""
    if ctx.settings.summary_tokens is not None:
        return ctx.settings.summary_tokens
    compactions = ctx.conv.compactions
    observed = [c.summary_tokens for c in compactions if c.summary_tokens]
    if observed:
        return round(sum(observed) / len(observed))
    ct = ctx.engine.ct
    starts = ct.message_block_start
    sizes = [
        round(
            ctx.scale
            * (
                int(
                    ct.block_tokens[starts[c.summary_message] : starts[c.summary_message + 1]].sum()
                )
                + ct.message_frame_tokens
            )
        )
        for c in compactions
        if c.kind != "server" and 0 <= c.summary_message < ct.message_count
    ]
    sizes = [x for x in sizes if x > 0]
    return round(sum(sizes) / len(sizes)) if sizes else DEFAULT_SUMMARY_TOKENS
