"""What the recording says of a request beyond its prompt: compaction iterations,
internal calls, responses."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Final

import numpy as np

from ctxviz.estimates import KIND_REDACTED_THINKING, KIND_THINKING
from ctxviz.model import Request
from ctxviz.simulator.context import Context


def compaction_iteration(req: Request) -> tuple[int, int, int, int] | None:
    """A recorded compaction iteration: (uncached, cache writes, cache reads, output)."""
    if req.usage is None:
        return None
    for it in req.usage.iterations:
        if it.type == "compaction":
            return (
                it.input_tokens,
                it.cache_creation_input_tokens,
                it.cache_read_input_tokens,
                it.output_tokens,
            )
    return None


def _beyond_message_calls(req: Request, pick: Callable[[list[int]], int]) -> int | None:
    """Recorded prompt tokens beyond the ``pick``-ed one of a response's internal ``message``
    calls (their prompts, in order); None unless ``usage.iterations`` records several."""
    usage = req.usage
    if usage is None:
        return None
    calls = [it.prompt_tokens for it in usage.iterations if it.type == "message"]
    return max(0, usage.prompt_tokens - pick(calls)) if len(calls) > 1 else None


def internal_calls_extra(req: Request) -> int:
    """Recorded prompt tokens beyond the largest of a response's internal ``message`` calls."""
    return _beyond_message_calls(req, max) or 0


def server_tool_excess(ctx: Context, req: Request, j: int) -> int:
    """Cache reads of internal server-tool calls counted in one response's usage (the pitfall):
    the recorded prompt minus the last ``message`` iteration's, else minus the estimate."""
    excess = _beyond_message_calls(req, itemgetter(-1))
    if excess is not None:
        return excess
    usage = req.usage
    if usage is not None and usage.server_tool_use and any(usage.server_tool_use.values()):
        return max(0, round(ctx.residual(j)))
    return 0


_REDACTED_NOTE: Final = (
    "redacted_thinking blocks are encrypted: their size is estimated from the length of their data "
    "(about 3 tokens per 16 characters)."
)


def responses(ctx: Context, warnings: list[str]) -> tuple[list[int], list[int]]:
    """Per recorded request: output tokens (recorded, else the response's estimate) and thinking
    tokens — recorded ``thinking_tokens``, else output minus the visible non-thinking blocks
    (Claude 4 returns summarized thinking, so its text undercounts), else the thinking text's
    estimate. A response's blocks are valued at ``Context.response_scale``, not at the prompts'
    ``scale``."""
    ct = ctx.engine.ct
    m_count = ctx.engine.m_count
    is_th = (ct.block_kind == KIND_THINKING) | (ct.block_kind == KIND_REDACTED_THINKING)
    owner = ct.block_message
    th = np.bincount(owner[is_th], weights=ct.block_tokens[is_th], minlength=m_count).tolist()
    nt = np.bincount(owner[~is_th], weights=ct.block_tokens[~is_th], minlength=m_count).tolist()
    has_th = (np.bincount(owner[is_th], minlength=m_count) > 0).tolist()
    redacted = ct.block_kind == KIND_REDACTED_THINKING
    has_redacted = (np.bincount(owner[redacted], minlength=m_count) > 0).tolist()
    scale = ctx.response_scale
    outs: list[int] = []
    thinks: list[int] = []
    note = False
    for req in ctx.requests:
        m = req.response
        usage = req.usage
        if m is None or not 0 <= m < m_count:
            outs.append(usage.output_tokens if usage is not None else 0)
            thinks.append(usage.thinking_tokens or 0 if usage is not None else 0)
            continue
        note = note or has_redacted[m]
        out = usage.output_tokens if usage is not None else round(scale * (nt[m] + th[m]))
        outs.append(out)
        if usage is not None and usage.thinking_tokens is not None:
            thinks.append(usage.thinking_tokens)
        elif not has_th[m]:
            thinks.append(0)
        elif usage is not None:
            thinks.append(max(0, out - round(scale * nt[m])))
        else:
            thinks.append(round(scale * th[m]))
    if note and _REDACTED_NOTE not in warnings:
        warnings.append(_REDACTED_NOTE)
    omitted = int((ct.block_estimated & (ct.block_kind == KIND_THINKING)).sum())
    if omitted:
        warnings.append(
            f'{omitted} thinking block(s) came back empty (thinking.display "omitted", the '
            "default on Opus 4.7 and later): the thinking was billed all the same, so its size "
            "is estimated from each response's output_tokens minus its visible blocks (0 where "
            "the request recorded no usage)."
        )
    return outs, thinks
