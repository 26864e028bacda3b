"""The Inspector's view of one prompt: every block of the history with what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

from ctxviz.categories import CATEGORIES
from ctxviz.estimates import (
    KIND_COMPACTION,
    KIND_REDACTED_THINKING,
    KIND_THINKING,
    ConversationTokens,
)
from ctxviz.model import Block
from ctxviz.policies import clear_tool_uses
from ctxviz.simulator.blocks import block_text, block_type
from ctxviz.simulator.context import Context
from ctxviz.simulator.row import Row

if TYPE_CHECKING:
    import pandas as pd


BlockStatus: TypeAlias = Literal[
    "kept", "cleared", "thinking_stripped", "summarized", "dropped", "summary"
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockView:
    """One block of a prompt as the model saw it."""

    message: int
    """Index in ``conv.messages`` (-1 for a what-if summary or the fixed prefix)."""
    block: int
    role: str
    type: str
    category: str
    status: BlockStatus
    tokens: int
    """Tokens in this prompt (scaled estimate): 0 when stripped, dropped or summarized."""
    original_tokens: int
    """Tokens of the block as written (scaled estimate)."""
    content: Block | str = field(repr=False)
    """The block as written, or the text shown for it (a placeholder, a what-if summary)."""

    @property
    def text(self) -> str:
        """The block's text as the Inspector shows it, made on first read: a prompt of 10,000
        blocks is shown ten at a time, and its tool calls' inputs are JSON to write."""
        content = self.content
        return content if isinstance(content, str) else block_text(content)


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptView:
    """The prompt of one request: its prefix, then every block of the history up to it."""

    request: int
    input_tokens: int
    blocks: tuple[BlockView, ...]

    def to_frame(self, *, text: bool = True) -> pd.DataFrame:
        """One row per block (``text=False``: without the blocks' text, which is made per block
        on first read)."""
        import pandas as pd

        cols = ("message", "block", "role", "type", "category", "status", "tokens")
        columns = [*cols, "original_tokens", *(("text",) if text else ())]
        data = {c: [getattr(b, c) for b in self.blocks] for c in columns}
        return pd.DataFrame(data, columns=columns)


def view(ctx: Context, row: Row, i: int) -> PromptView:
    """Every block of the history up to request ``i``, with what became of it in the prompt."""
    engine = ctx.engine
    ct = engine.ct
    conv = ctx.conv
    p = row.prompt
    scale = ctx.scale
    tokens = engine.block_tokens_effective
    kept_from = engine.kept_thinking_start(p)
    cleared_results: set[int] = set()
    cleared_inputs: set[int] = set()
    cfg = engine.clear_config
    for o in range(p.clear_lo, p.clear_hi):
        if engine.excluded_use[o]:
            continue
        if engine.res_block[o] >= 0:
            cleared_results.add(engine.res_block[o])
        if cfg is not None and cfg.clears_input_of(engine.use_name[o]):
            cleared_inputs.add(engine.use_block[o])
    views: list[BlockView] = []

    def scaled(value: int) -> int:
        return round(scale * value)

    fixed = (
        ("hidden_prefix", ctx.hidden if conv.hidden_prefix else 0),
        ("system", scaled(_system_tokens(ct, p.start, engine.m_count))),
        ("tools", scaled(int(ct.prefix_tools_tokens[min(p.start, engine.m_count)]))),
        ("reinjected", ctx.reinjected_in(row.prompt, row.recorded_request)),
    )
    for name, value in fixed:
        if value:
            views.append(
                BlockView(
                    message=-1,
                    block=-1,
                    role="system",
                    type=name,
                    category=name,
                    status="kept",
                    tokens=value,
                    original_tokens=value,
                    content="",
                )
            )
    summarized_before = p.summary_id != 0 or p.extra_estimate != 0
    end = max(p.end, row.original.end)
    for m in range(min(end, len(conv.messages))):
        message = conv.messages[m]
        first = int(ct.message_block_start[m])
        in_prompt = p.start <= m < p.end
        for k, block in enumerate(message.content):
            b = first + k
            size = scaled(int(tokens[b]))
            status: BlockStatus = "kept"
            shown = size
            content: Block | str = block
            if not in_prompt:
                status = "summarized" if summarized_before and m < p.start else "dropped"
                shown = 0
            elif int(ct.block_kind[b]) in (KIND_THINKING, KIND_REDACTED_THINKING) and m < kept_from:
                status, shown = "thinking_stripped", 0
            elif b in cleared_results:
                status, shown, content = (
                    "cleared",
                    scaled(engine.placeholder + int(ct.block_kept_tokens[b])),
                    clear_tool_uses.PLACEHOLDER,
                )
            elif b in cleared_inputs:
                status, shown = "cleared", scaled(int(ct.block_kept_tokens[b]))
            elif int(ct.block_kind[b]) == KIND_COMPACTION:
                status = "summary"
            views.append(
                BlockView(
                    message=m,
                    block=k,
                    role=message.role,
                    type=block_type(block),
                    category=CATEGORIES[int(ct.block_category[b])],
                    status=status,
                    tokens=shown,
                    original_tokens=size,
                    content=content,
                )
            )
        if m + 1 == p.start and p.summary_tokens:
            views.append(
                BlockView(
                    message=-1,
                    block=-1,
                    role="user",
                    type="summary",
                    category="summary",
                    status="summary",
                    tokens=p.summary_tokens,
                    original_tokens=p.summary_tokens,
                    content=f"[what-if summary of the history before message {p.start}]",
                )
            )
    if p.extra_estimate and ctx.server_compaction_at.get(row.recorded_request) is not None:
        blk = ctx.server_compaction_at[row.recorded_request]
        msg = int(ct.block_message[blk])
        block = conv.messages[msg].content[blk - int(ct.message_block_start[msg])]
        views.append(
            BlockView(
                message=msg,
                block=blk - int(ct.message_block_start[msg]),
                role="assistant",
                type="compaction",
                category="summary",
                status="summary",
                tokens=scaled(p.extra_estimate),
                original_tokens=scaled(p.extra_estimate),
                content=block,
            )
        )
    input_tokens = row.input_tokens
    return PromptView(request=i, input_tokens=input_tokens, blocks=tuple(views))


def _system_tokens(ct: ConversationTokens, start: int, m_count: int) -> int:
    """The system prompt in front of a prompt starting at message ``start``: its text and what
    the API adds to it (thinking, output format), not the prompt's own frame (``other``)."""
    at = min(start, m_count)
    return int(ct.prefix_system_tokens[at]) - (ct.prompt_frame_tokens if at < m_count else 0)
