"""The one loop over requests, in order: each step applied where a request meets it."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ctxviz.policies import (
    claude_code,
    clear_thinking,
    clear_tool_uses,
    compact,
    rolling,
)
from ctxviz.policies import compaction_control as sdk_compaction
from ctxviz.policies.edits import Edits
from ctxviz.policies.thinking import ThinkingKeep, default_keep
from ctxviz.settings import SimulationSettings

if TYPE_CHECKING:
    pass

from ctxviz.policies.step import Prompt, event
from ctxviz.simulator.context import Context
from ctxviz.simulator.engine import Engine
from ctxviz.simulator.recorded import compaction_iteration, preserved_originals, server_tool_excess
from ctxviz.simulator.row import Row


def default_keep_of(engine: Engine, model_id: str, preservation: bool | None) -> ThinkingKeep:
    return default_keep(
        preserves_by_default=engine.info(model_id).preserves_thinking_by_default,
        preservation=preservation,
    )


def _edit_detail(j: int, rep: Mapping[str, Any]) -> str:
    if rep["type"] == clear_tool_uses.TYPE:
        what = f"{rep['cleared_tool_uses']} tool use(s) cleared"
    else:
        what = f"thinking of {rep['cleared_thinking_turns']} earlier turn(s) cleared"
    return f"Request {j}: {what}, {int(rep['cleared_input_tokens']):,} tokens saved."


def loop(
    ctx: Context,
    settings: SimulationSettings,
    edits: Edits,
    models: Sequence[str],
    warnings: list[str],
) -> tuple[list[Row], list[dict[str, Any]]]:
    """The one loop over requests, in order (module doc: the order in which policies act)."""
    engine = ctx.engine
    size = ctx.size
    rows: list[Row] = []
    events: list[dict[str, Any]] = []
    cut = 0  # first message of the client's history (after what-if compactions / drops)
    summary_id = 0
    synth = 0
    n_summaries = 0
    summary_size = ctx.summary_size
    cc_auto = settings.claude_code_autocompact
    roll = settings.rolling_window
    sdk = settings.compaction_control
    compact_cfg = edits.compact
    compact_at = set(settings.compact_at)
    thinking_edit = edits.clear_thinking
    turn_starts = engine.turn_starts
    use_msg = engine.use_msg
    replay_server = not settings.undo_recorded_compactions
    preserves: dict[str, bool] = {}
    # a what-if compaction at a recorded compaction's request rejoins the recording: the prompt
    # the recording sent after it (its summary, preserved messages, re-injected context)
    rejoin = (
        {
            c.request: c
            for c in ctx.conv.compactions
            if c.kind == "claude_code" and 0 <= c.summary_message < engine.m_count
        }
        if settings.undo_recorded_compactions and settings.summary_tokens is None
        else {}
    )
    # with another summary size, the messages a recorded compaction kept verbatim stay
    preserved = preserved_originals(ctx.conv) if settings.undo_recorded_compactions else {}
    # Claude Code's own estimate where a recorded compaction was decided (preTokens), for when
    # the replay reaches that point as recorded
    pre_tokens = {
        c.request: (c.pre_tokens, c.summary_message)
        for c in ctx.conv.compactions
        if c.kind == "claude_code"
        and c.pre_tokens is not None
        and settings.undo_recorded_compactions
    }

    for j, req in enumerate(ctx.requests):
        pe = req.prompt_end
        model_id = models[j]
        window = ctx.windows[j]
        out = ctx.output_tokens[j]
        think = ctx.thinking_tokens[j]
        turn = ctx.turns[j]
        preserve = preserves.get(model_id)
        if preserve is None:
            keep = default_keep_of(engine, model_id, settings.thinking_preservation)
            preserve = preserves[model_id] = keep.turns is None
        # before the edits: every turn's thinking when clear_thinking decides, else the default
        pre_from = 0 if thinking_edit is not None or preserve else turn
        fresh = ctx.base_starts[j] > cut
        if fresh:
            # a recorded compaction (or a fresh prompt) starts after anything a what-if cut
            cut, summary_id, synth = ctx.base_starts[j], 0, 0
        start = cut
        comp_in = 0
        comp_out = 0

        if replay_server and j in ctx.server_compaction_at:
            # a server compaction recorded inside this request, replayed as it happened
            p = ctx.rec_desc[j]
            row_in = size(p, j)
            it = compaction_iteration(req)
            rows.append(
                Row(
                    recorded_request=j,
                    prompt=p,
                    original=p,
                    input_tokens=row_in,
                    original_input_tokens=row_in,
                    output_tokens=out,
                    thinking_tokens=think,
                    stop_reason=req.stop_reason,
                    model=model_id,
                    window=window,
                    recorded=req.usage is not None,
                    compaction_input_tokens=sum(it[:3]) if it else 0,
                    compaction_output_tokens=it[3] if it else 0,
                    compaction_usage=it[:3] if it else None,
                )
            )
            events.append(
                event(
                    len(rows) - 1,
                    j,
                    claude_code.RECORDED_TYPE,
                    f"Request {j}: server compaction (compact_20260112) recorded in the "
                    f"transcript; the model continued on a {row_in:,}-token prompt.",
                    tokens_before=sum(it[:3]) if it else None,
                    tokens_after=row_in,
                    summary_tokens=it[3] if it else None,
                    trigger="input_tokens",
                )
            )
            cut = max(cut, pe)
            continue

        client = Prompt(start, pe, pre_from, 0, 0, summary_id, synth)
        # 1. client side, before sending: Claude Code auto-compaction
        if cc_auto is not None:
            prompt = size(client, j)
            previous = ctx.requests[j - 1].response if j and rows and not fresh else None
            how_estimated = (
                "the previous prompt + its output + about characters / 4 of what was added since"
            )
            if previous is None:
                # nothing answered since the history began: the prompt itself
                estimate = prompt
                how_estimated = "the prompt itself: no response since the history began"
            elif j in pre_tokens and rows[-1].recorded:
                # the replay reached the recorded decision point unchanged: Claude Code's own
                # estimate there, plus what the history holds after the recorded summary
                chars = ctx.cum_chars()
                recorded_pre, summary_at = pre_tokens[j]
                estimate = recorded_pre + claude_code.rough_tokens(
                    chars[pe] - chars[min(max(summary_at + 1, start), pe)]
                )
                how_estimated = (
                    f"preTokens {recorded_pre:,}, Claude Code's own estimate recorded at this "
                    "point, + characters / 4 of what follows the recorded summary"
                )
            else:
                chars = ctx.cum_chars()
                estimate = claude_code.estimate_before_sending(
                    previous_prompt_tokens=rows[-1].input_tokens,
                    previous_output_tokens=rows[-1].output_tokens,
                    response_chars=chars[previous + 1] - chars[previous],
                    added_chars=chars[pe] - chars[max(previous + 1, start)],
                )
            max_output = engine.info(model_id).max_output_tokens
            threshold = cc_auto.threshold(window_tokens=window, max_output_tokens=max_output)
            recorded_compaction = rejoin.get(j)
            if recorded_compaction is not None and not start <= ctx.rec_desc[j].start < pe:
                recorded_compaction = None  # a what-if cut the history past it
            if estimate >= threshold and (prompt > summary_size or recorded_compaction):
                n_summaries += 1
                if recorded_compaction is not None:
                    # the recording compacted here too: it goes on as recorded
                    client = ctx.rec_desc[j]
                    written = ctx.message_size(recorded_compaction.summary_message)
                    summary_id, synth, cut, start = 0, 0, client.start, client.start
                    what = (
                        f"the recorded compaction's {written:,}-token summary, and what the "
                        "recording sent with it"
                    )
                else:
                    kept = min(max(preserved.get(j, pe), start), pe)
                    client = Prompt(kept, pe, pre_from, 0, 0, n_summaries, summary_size)
                    written = summary_size
                    summary_id, synth, cut, start = n_summaries, summary_size, kept, kept
                    what = f"a {written:,}-token summary" + (
                        f" and the messages from #{kept} on, kept verbatim (the recorded "
                        "compaction's preservedSegment)"
                        if kept < pe
                        else ""
                    )
                comp_in, comp_out = prompt, written
                after = size(client, j)
                how = cc_auto.describe(window_tokens=window, max_output_tokens=max_output)
                events.append(
                    event(
                        len(rows),
                        j,
                        claude_code.TYPE,
                        f"Request {j}: Claude Code's estimate before sending ({estimate:,} "
                        f"tokens: {how_estimated}) reached its auto-compact threshold of "
                        f"{threshold:,} ({how}); the prompt about to be sent ({prompt:,} "
                        f"tokens) is replaced by {what}.",
                        tokens_before=estimate,
                        tokens_after=after,
                        summary_tokens=written,
                        trigger=str(threshold),
                    )
                )
        # 2. client side: a rolling first-in first-out window
        if roll is not None:
            budget = roll.prompt_budget(window_tokens=window, output_tokens=out)
            before = size(client, j)
            if before > budget:
                cuts = turn_starts[
                    bisect_left(turn_starts, start + 1) : bisect_left(turn_starts, pe)
                ]
                unsummarized = client._replace(summary_id=0, summary_tokens=0)

                def size_from(first: int, base: Prompt = unsummarized, at: int = j) -> int:
                    return size(base._replace(start=first), at)

                new = rolling.first_kept_message(cuts, size_from, budget)
                if new is None and cuts:
                    new = cuts[-1]  # the current turn alone: sent whole, flagged over_window
                if new is not None:
                    start = cut = new
                    summary_id, synth = 0, 0
                    client = Prompt(start, pe, pre_from, 0, 0, summary_id, synth)
                    events.append(
                        event(
                            len(rows),
                            j,
                            rolling.TYPE,
                            f"Request {j}: messages before #{new} dropped to fit a "
                            f"{budget:,}-token prompt.",
                            tokens_before=before,
                            tokens_after=size(client, j),
                            trigger=str(budget),
                        )
                    )
        original = client
        original_tokens = size(original, j)
        # 3. server side: the edits, in order, each trigger measured on the prompt left so far
        p = original
        running = original_tokens
        applied: list[dict[str, Any]] = []
        cleared_tools = 0
        cleared_turns = 0
        for edit in edits.clearing:
            if isinstance(edit, clear_thinking.ClearThinking):
                kept_from = edit.keep.kept_from_turn(turn)
                if kept_from <= p[2]:
                    continue  # it keeps at least what the prompt holds
                q = Prompt(p[0], p[1], kept_from, p[3], p[4], p[5], p[6], p[7])
                turns = engine.thinking_turns_stripped(q)
                if p[2] > 0:
                    turns -= engine.thinking_turns_stripped(p)
                if turns > 0:
                    after = size(q, j)
                    applied.append(
                        clear_thinking.report(
                            cleared_thinking_turns=turns, cleared_input_tokens=running - after
                        )
                    )
                    cleared_turns += turns
                    p, running = q, after
            else:
                lo, hi_all = bisect_left(use_msg, p[0]), bisect_left(use_msg, p[1])
                if edit.triggered(prompt_tokens=running, tool_uses=hi_all - lo):
                    hi = lo + edit.clearable_count(hi_all - lo)
                    count = engine.cum_cnt[hi] - engine.cum_cnt[lo]
                    if count > 0:
                        q = Prompt(p[0], p[1], p[2], lo, hi, p[5], p[6], p[7])
                        after = size(q, j)
                        if edit.worth_clearing(running - after):
                            applied.append(
                                clear_tool_uses.report(
                                    cleared_tool_uses=count, cleared_input_tokens=running - after
                                )
                            )
                            cleared_tools += count
                            p, running = q, after
        for rep in applied:
            saved = int(rep["cleared_input_tokens"])
            events.append(
                event(
                    len(rows),
                    j,
                    str(rep["type"]),
                    _edit_detail(j, rep),
                    cleared_tool_uses=rep.get("cleared_tool_uses"),
                    cleared_thinking_turns=rep.get("cleared_thinking_turns"),
                    cleared_input_tokens=saved,
                )
            )
        if applied:
            # tokens before / after the clearing edits of this request, on their events
            first_ev = len(events) - len(applied)
            level = original_tokens
            for ev in events[first_ev:]:
                ev["tokens_before"] = level
                level -= int(ev["cleared_input_tokens"])
                ev["tokens_after"] = level
        cleared_tokens = original_tokens - running
        # 3b. server side: compaction, judged last, on the cleared prompt
        fires = compact_cfg is not None and compact_cfg.fires(running)
        if fires or j in compact_at:
            cfg = compact_cfg or compact.Compact()
            n_summaries += 1
            summary_id, synth, cut = n_summaries, summary_size, pe
            summarized = Prompt(
                start=pe, end=pe, kept_from_turn=0, summary_id=summary_id, summary_tokens=synth
            )
            after = size(summarized, j)
            how = (
                f"crossed the {cfg.trigger_tokens:,}-token trigger"
                if fires
                else "was compacted on demand"
            )
            events.append(
                event(
                    len(rows),
                    j,
                    compact.TYPE,
                    f"Request {j}: the prompt ({running:,} tokens) {how}; a compaction iteration "
                    f"wrote a {summary_size:,}-token summary and the model continued on a "
                    f"{after:,}-token prompt.",
                    tokens_before=running,
                    tokens_after=after,
                    summary_tokens=summary_size,
                    trigger=str(cfg.trigger_tokens) if fires else "on_demand",
                )
            )
            if cfg.pause_after_compaction:
                rows.append(
                    Row(
                        recorded_request=j,
                        prompt=p,
                        original=original,
                        input_tokens=running,
                        original_input_tokens=original_tokens,
                        output_tokens=summary_size,
                        thinking_tokens=0,
                        stop_reason="compaction",
                        model=model_id,
                        window=window,
                        cleared_tool_uses=cleared_tools,
                        cleared_thinking_turns=cleared_turns,
                        cleared_input_tokens=cleared_tokens,
                        applied_edits=tuple(applied),
                    )
                )
                applied, cleared_tools, cleared_turns, cleared_tokens = [], 0, 0, 0
                original, original_tokens = summarized, after
            else:
                comp_in, comp_out = comp_in + running, comp_out + summary_size
            p, running = summarized, after
        rows.append(
            Row(
                recorded_request=j,
                prompt=p,
                original=original,
                input_tokens=running,
                original_input_tokens=original_tokens,
                output_tokens=out,
                thinking_tokens=think,
                stop_reason=req.stop_reason,
                model=model_id,
                window=window,
                recorded=req.usage is not None
                and p == ctx.rec_desc[j]
                and j not in ctx.not_recorded,
                cleared_tool_uses=cleared_tools,
                cleared_thinking_turns=cleared_turns,
                cleared_input_tokens=cleared_tokens,
                compaction_input_tokens=comp_in,
                compaction_output_tokens=comp_out,
                applied_edits=tuple(applied),
            )
        )
        # 4. client side, after the response: the SDK's compaction_control
        if sdk is not None and req.response is not None:
            excess = server_tool_excess(ctx, req, j)
            total = sdk.total(
                prompt_tokens=running, output_tokens=out, server_tool_excess_tokens=excess
            )
            rows[-1] = rows[-1]._replace(sdk_total=total)
            if sdk.fires(total):
                n_summaries += 1
                summary_id, synth, cut = n_summaries, summary_size, pe
                again = Prompt(
                    start=pe, end=pe, kept_from_turn=0, summary_id=summary_id, summary_tokens=synth
                )
                after = size(again, j)
                events.append(
                    event(
                        len(rows) - 1,
                        j,
                        sdk_compaction.TYPE,
                        f"After request {j}: input + cache writes + cache reads + output = "
                        f"{total:,} tokens reached the threshold of "
                        f"{sdk.context_token_threshold:,}; the response is discarded (its tool "
                        f"calls never ran), a {summary_size:,}-token summary becomes the history, "
                        "and the model re-issues the response.",
                        tokens_before=total,
                        tokens_after=after,
                        summary_tokens=summary_size,
                        trigger=str(sdk.context_token_threshold),
                    )
                )
                rows.append(
                    Row(
                        recorded_request=j,
                        prompt=again,
                        original=again,
                        input_tokens=after,
                        original_input_tokens=after,
                        output_tokens=out,
                        thinking_tokens=think,
                        stop_reason=req.stop_reason,
                        model=model_id,
                        window=window,
                        compaction_input_tokens=running,
                        compaction_output_tokens=summary_size,
                        sdk_total=sdk.total(
                            prompt_tokens=after, output_tokens=out, server_tool_excess_tokens=0
                        ),
                    )
                )
    return rows, events
