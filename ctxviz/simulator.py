"""Replay a conversation request by request, as recorded or under context policies it did not use.

``simulate`` owns request order: this module is the one loop. Each policy decides in its own module
(``ctxviz.policies.*``); here they are applied in the order a request goes through them:

1. client side, before sending: Claude Code auto-compaction, then a rolling FIFO window;
2. server side, in the order of ``context_management.edits`` (``clear_thinking_20251015`` first),
   each trigger measured on the prompt the edits before it left; ``compact_20260112`` judged last
   on the cleared prompt (and on-demand compaction at ``compact_at``);
3. the response; then, client side, the SDK's ``compaction_control`` on that response's usage.

Faithfulness (docs/semantics.md#faithful-replay): a request the policies leave as recorded keeps its
recorded numbers to the token. Otherwise ``input_tokens = recorded prompt - scaled estimate of what
the policies removed + what they added`` (placeholders at their estimated size, summaries at
``summary_tokens``). Block sizes come from the counter (``ctxviz.estimates``) and are scaled by one
factor per transcript, ``scale = sum(recorded prompts - hidden prefix) / sum(estimated prompts)``,
so that they agree with the recorded totals; what a policy removes from a request is valued at
that request's own ratio ``(recorded - hidden prefix) / estimate``, so that removing every visible
block leaves exactly the hidden prefix. A transcript without usage is estimated throughout
(scale 1). Claude Code's system prompt and tools are not in the file: the hidden prefix is the
first recorded prompt minus the estimate of its visible messages. A recorded server compaction's
iteration (the whole prompt it read) is one more recorded size for the scale.

The hot path works on per-message and per-tool-use prefix sums (Python lists of ints, built once
with numpy): every prompt is a small descriptor (first message, end, first turn whose thinking is
kept, range of cleared tool uses, summary in front), and its size is a handful of lookups.
"""

from __future__ import annotations

import gc
import json
import math
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, TypeAlias, assert_never

import numpy as np
import numpy.typing as npt

from ctxviz import cost
from ctxviz.categories import CATEGORIES
from ctxviz.estimates import (
    CATEGORY_INDEX,
    IMAGE_TOKENS,
    KIND_COMPACTION,
    KIND_DOCUMENT,
    KIND_REDACTED_THINKING,
    KIND_THINKING,
    ConversationTokens,
    TokenCounter,
    conversation_tokens,
    image_size_known,
)
from ctxviz.model import (
    Block,
    CompactionBlock,
    Conversation,
    DocumentBlock,
    ImageBlock,
    OtherBlock,
    RedactedThinkingBlock,
    Request,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from ctxviz.models import ModelInfo, ModelsArg, ModelTable, as_table
from ctxviz.policies import (
    claude_code,
    clear_thinking,
    clear_tool_uses,
    compact,
    limits,
    rolling,
)
from ctxviz.policies import compaction_control as sdk_compaction
from ctxviz.policies.edits import NO_EDITS, Edits
from ctxviz.policies.edits import parse as parse_edits
from ctxviz.policies.thinking import ThinkingKeep, default_keep
from ctxviz.settings import SimulationSettings
from ctxviz.snippets import validate_compaction_control
from ctxviz.tokens import Family, count_text, family_for_model

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SUMMARY_TOKENS: Final = 3_000
"""Size assumed for a summary a what-if writes when the transcript shows none (seeds: 2–3K)."""

REQUEST_COLUMNS: Final[tuple[str, ...]] = (
    "request",
    "recorded_request",
    "turn",
    "model",
    "stop_reason",
    "source",
    "input_tokens",
    "original_input_tokens",
    "output_tokens",
    "thinking_tokens",
    "context_tokens",
    "uncached_input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "reusable_prefix_tokens",
    "cleared_input_tokens",
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "thinking_carried_tokens",
    "thinking_stripped_tokens",
    "placeholder_tokens",
    "summary_tokens",
    "compaction_input_tokens",
    "compaction_output_tokens",
    "compaction_control_total_tokens",
    "context_window",
    "remaining_tokens",
    "server_tool_extra_input_tokens",
    "over_window",
    "long_context",
    "cost_input_usd",
    "cost_cache_write_usd",
    "cost_cache_read_usd",
    "cost_output_usd",
    "compaction_cost_usd",
    "cost_usd",
    "cumulative_cost_usd",
    "prompt_start_message",
    "prompt_end_message",
)

EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "request",
    "recorded_request",
    "type",
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "cleared_input_tokens",
    "tokens_before",
    "tokens_after",
    "summary_tokens",
    "trigger",
    "detail",
)

_INT_EVENT_COLUMNS: Final = (
    "cleared_tool_uses",
    "cleared_thinking_turns",
    "cleared_input_tokens",
    "tokens_before",
    "tokens_after",
    "summary_tokens",
)

_KIND_NAMES: Final = {"claude_code": "Claude Code", "client": "SDK", "server": "server"}

BlockStatus: TypeAlias = Literal[
    "kept", "cleared", "thinking_stripped", "summarized", "dropped", "summary"
]


# ---- prompt descriptors ------------------------------------------------------------------------


class _Prompt(NamedTuple):
    """One prompt, as a few numbers: messages[start:end] under its thinking and clearing state.

    A NamedTuple rather than a dataclass: the loop builds and compares one or more per request,
    and tuple equality runs in C.
    """

    start: int
    end: int
    kept_from_turn: int
    """Thinking of turns before this one is not in the prompt."""
    clear_lo: int = 0
    clear_hi: int = 0
    """Tool-use ordinals [clear_lo, clear_hi) are cleared (those not excluded)."""
    summary_id: int = 0
    """Which what-if summary is in front (0: none)."""
    summary_tokens: int = 0
    """Real tokens of that summary (not scaled)."""
    extra_estimate: int = 0
    """Estimated tokens of a recorded server compaction summary heading the prompt."""


class _Row(NamedTuple):
    """One row of the replay, before it becomes a DataFrame row (a NamedTuple: the loop makes
    one per request, and a tuple is several times cheaper to build than a frozen dataclass)."""

    recorded_request: int
    prompt: _Prompt
    original: _Prompt
    input_tokens: int
    original_input_tokens: int
    output_tokens: int
    thinking_tokens: int
    stop_reason: str | None
    model: str
    window: int
    recorded: bool = False
    """The prompt is as recorded and the request carries usage: recorded numbers."""
    cleared_tool_uses: int = 0
    cleared_thinking_turns: int = 0
    cleared_input_tokens: int = 0
    """Net saving of the clearing edits applied at this request."""
    compaction_input_tokens: int = 0
    compaction_output_tokens: int = 0
    compaction_usage: tuple[int, int, int] | None = None
    """A recorded compaction iteration's (uncached, cache writes, cache reads) input."""
    sdk_total: int | None = None
    applied_edits: tuple[dict[str, Any], ...] = ()


# ---- views for the Inspector -------------------------------------------------------------------


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
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptView:
    """The prompt of one request: its prefix, then every block of the history up to it."""

    request: int
    input_tokens: int
    blocks: tuple[BlockView, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per block."""
        import pandas as pd

        cols = ("message", "block", "role", "type", "category", "status", "tokens")
        data = {c: [getattr(b, c) for b in self.blocks] for c in (*cols, "original_tokens", "text")}
        return pd.DataFrame(data, columns=[*cols, "original_tokens", "text"])


# ---- the result --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Simulation:
    """A replay's result.

    ``requests`` — one row per model call of the conversation's chain, in order. Columns:

    - ``request``: 0-based row index; ``recorded_request``: the transcript's request it replays
      (an SDK ``compaction_control`` re-issue or a paused compaction adds a row with the same one);
      ``turn``: 0-based assistant turn; ``model``; ``stop_reason``.
    - ``source``: ``"recorded"`` where the numbers come from the transcript's usage and the prompt
      is as recorded, else ``"estimated"``.
    - ``input_tokens``: the whole prompt the model saw after edits (uncached + cache writes +
      cache reads); ``original_input_tokens``: the prompt before context editing and server
      compaction (what the client sent); ``output_tokens`` (thinking included);
      ``thinking_tokens``; ``context_tokens`` = input + output.
    - ``uncached_input_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``: the
      API's split (recorded where as-recorded, else the cache model of ``ctxviz.cost`` with
      ``reusable_prefix_tokens``, the tokens identical to the start of the previous prompt).
    - ``cleared_input_tokens`` (net, all edits), ``cleared_tool_uses``,
      ``cleared_thinking_turns``; ``thinking_carried_tokens`` (thinking in the prompt),
      ``thinking_stripped_tokens`` (thinking of the history not in the prompt);
      ``placeholder_tokens``; ``summary_tokens`` (summary in the prompt).
    - ``compaction_input_tokens`` / ``compaction_output_tokens``: a compaction call billed on this
      request (server compaction iteration, SDK or Claude Code summary request);
      ``compaction_control_total_tokens``: the SDK's total after this response (when configured).
    - ``context_window``, ``remaining_tokens`` (window - input), ``over_window`` (does not fit:
      input + output > window, or input + max_tokens for models that reject up front),
      ``long_context`` (priced at long-context rates). ``server_tool_extra_input_tokens``: what a
      server-tool response's recorded usage adds beyond its largest internal call (the calls'
      prompts are summed); the window is judged without it.
    - ``cost_input_usd``, ``cost_cache_write_usd``, ``cost_cache_read_usd``, ``cost_output_usd``,
      ``compaction_cost_usd``, ``cost_usd`` (all of them), ``cumulative_cost_usd``.
    - ``prompt_start_message`` / ``prompt_end_message``: the prompt is built from
      ``conv.messages[start:end]``.

    ``events`` — one row per event: ``request``, ``recorded_request``, ``type`` (the API's edit
    names, ``compaction_control``, ``claude_code_autocompact``, ``recorded_compaction``,
    ``claude_code_microcompact``,
    ``rolling_window``, ``memory_warning``, ``context_window_exceeded``), ``cleared_tool_uses``,
    ``cleared_thinking_turns``, ``cleared_input_tokens``, ``tokens_before``, ``tokens_after``,
    ``summary_tokens``, ``trigger`` and ``detail`` (a sentence).

    ``composition`` — one row per request, one column per category of
    ``ctxviz.categories.CATEGORIES``; each row adds up to ``input_tokens`` exactly (scaled
    estimates, largest-remainder rounding). ``reinjected``: what Claude Code put back after a
    recorded compaction and the file does not hold (the recorded prompt of the request after it
    minus the hidden prefix and its visible summary and messages), carried by the prompts after.

    Methods: ``applied_edits(i)`` (the API's ``context_management.applied_edits``),
    ``prompt_view(i)`` (every block up to request ``i`` with its status: kept, cleared,
    thinking_stripped, summarized, dropped, summary; ``.to_frame()`` for a table) and
    ``context_awareness(i)`` (the budget lines a context-aware model sees).
    """

    conversation: Conversation
    settings: SimulationSettings
    requests: pd.DataFrame
    events: pd.DataFrame
    composition: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    scale: float = 1.0
    """Recorded prompt tokens per estimated token (1.0 without usage)."""
    hidden_prefix_tokens: int = 0
    _rows: tuple[_Row, ...] = ()
    _ctx: _Context | None = None

    def applied_edits(self, i: int) -> list[dict[str, Any]]:
        """What the API would return as ``context_management.applied_edits`` for request ``i``
        (the recorded list where the request is as recorded and the transcript holds it)."""
        row = self._rows[i]
        recorded = self.conversation.requests[row.recorded_request].applied_edits
        if row.recorded and recorded is not None:
            return [dict(e) for e in recorded]
        return [dict(e) for e in row.applied_edits]

    def prompt_view(self, i: int) -> PromptView:
        """The blocks of request ``i``'s prompt, each with its status and tokens."""
        assert self._ctx is not None
        return _view(self._ctx, self._rows[i], i)

    def __repr__(self) -> str:
        """A one-line summary (the frames and the conversation would print megabytes)."""
        from ctxviz.notebook import policy_description

        windows = self.requests.get("context_window")
        window = self.settings.context_window or (
            int(windows.max()) if windows is not None and len(windows) else None
        )
        return (
            f"Simulation(requests={len(self.requests)}, events={len(self.events)}, "
            f"model={self.settings.model or self.conversation.model!r}, window={window}, "
            f"policy={policy_description(self.settings)!r}, warnings={len(self.warnings)})"
        )

    def _repr_html_(self) -> str:
        """Jupyter's rich display: a compact summary (``ctxviz.notebook.simulation_html``)."""
        from ctxviz.notebook import simulation_html  # the notebook helpers import pandas only

        return simulation_html(self)

    def context_awareness(self, i: int) -> tuple[str, ...]:
        """The budget lines a context-aware model sees at request ``i`` (empty if not aware)."""
        assert self._ctx is not None
        row = self._rows[i]
        if not self._ctx.engine.info(row.model).context_awareness:
            return ()
        lines = [limits.budget_line(row.window)]
        p = row.prompt
        if p.end > p.start and self.conversation.messages[p.end - 1].is_tool_results_only:
            lines.append(limits.usage_line(row.input_tokens, row.window))
        return tuple(lines)


# ---- the engine --------------------------------------------------------------------------------


def _cumsum(values: npt.NDArray[np.int64]) -> list[int]:
    out = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return [int(v) for v in out.tolist()]


class _Replay:
    """Prefix sums over one conversation's blocks, and the size of any prompt descriptor."""

    def __init__(
        self,
        conv: Conversation,
        ct: ConversationTokens,
        *,
        excluded_messages: frozenset[int],
        excluded_blocks: frozenset[int],
        clear: clear_tool_uses.ClearToolUses | None,
        placeholder_tokens: int,
        table: ModelTable,
    ) -> None:
        self.conv = conv
        self.ct = ct
        self.table = table
        self.excluded_messages = excluded_messages
        self._infos: dict[str, ModelInfo] = {}
        m_count = ct.message_count
        self.m_count = m_count
        tokens = ct.block_tokens.copy()
        if excluded_blocks:
            tokens[np.fromiter(excluded_blocks, dtype=np.int64)] = 0
        frames = np.full(m_count, ct.message_frame_tokens, dtype=np.int64)
        if excluded_messages:
            idx = np.fromiter(excluded_messages, dtype=np.int64)
            frames[idx] = 0
            owned = np.isin(ct.block_message, idx)
            tokens[owned] = 0
        self.block_tokens_effective = tokens
        # what undoing recorded compactions removed, per message (frames included), so that the
        # recorded prompts can still be estimated as they were
        removed = np.bincount(
            ct.block_message, weights=ct.block_tokens - tokens, minlength=m_count
        ).astype(np.int64) + (ct.message_frame_tokens - frames)
        self.cum_removed = _cumsum(removed)
        is_thinking = (ct.block_kind == KIND_THINKING) | (ct.block_kind == KIND_REDACTED_THINKING)
        owner = ct.block_message
        think_per_msg = np.bincount(
            owner[is_thinking], weights=tokens[is_thinking], minlength=m_count
        ).astype(np.int64)
        nt_per_msg = (
            np.bincount(
                owner[~is_thinking], weights=tokens[~is_thinking], minlength=m_count
            ).astype(np.int64)
            + frames
        )
        self.cum_nt = _cumsum(nt_per_msg)
        self.cum_nt_arr = np.asarray(self.cum_nt, dtype=np.int64)
        self.cum_th = _cumsum(think_per_msg)
        self.has_thinking = np.bincount(owner[is_thinking], minlength=m_count) > 0
        # per-category sums of non-thinking blocks (+ frames, in the message's first category)
        n_cat = len(CATEGORIES)
        nt_mask = ~is_thinking
        cell = ct.block_category[nt_mask].astype(np.int64) * m_count + owner[nt_mask]
        frame_cell = ct.message_category.astype(np.int64) * m_count + np.arange(m_count)

        def category_sums(
            tokens: npt.NDArray[np.int64], frames: npt.NDArray[np.int64]
        ) -> npt.NDArray[np.int64]:
            per_cat = np.bincount(cell, weights=tokens[nt_mask], minlength=n_cat * m_count)
            # not in place: with no block at all, the first bincount is int64, this one float64
            per_cat = per_cat + np.bincount(frame_cell, weights=frames, minlength=n_cat * m_count)
            out = np.zeros((n_cat, m_count + 1), dtype=np.int64)
            np.cumsum(per_cat.astype(np.int64).reshape(n_cat, m_count), axis=1, out=out[:, 1:])
            return out

        self.cum_cat = category_sums(tokens, frames)
        self.cum_th_arr = np.asarray(self.cum_th, dtype=np.int64)
        # the same with what undoing compactions removed put back: the recorded prompts' content
        self.cum_cat_recorded = self.cum_cat
        self.cum_th_recorded = self.cum_th_arr
        if excluded_messages or excluded_blocks:
            full = ct.block_tokens
            self.cum_cat_recorded = category_sums(
                full, np.full(m_count, ct.message_frame_tokens, dtype=np.int64)
            )
            self.cum_th_recorded = np.asarray(
                _cumsum(
                    np.bincount(
                        owner[is_thinking], weights=full[is_thinking], minlength=m_count
                    ).astype(np.int64)
                ),
                dtype=np.int64,
            )
        # turns: the first message of each turn; the next message with thinking
        turns = ct.message_turn
        self.turn = turns.tolist()
        n_turns = int(turns[-1]) + 1 if m_count else 0
        self.n_turns = n_turns
        first = np.full(n_turns + 1, m_count, dtype=np.int64)
        if m_count:
            opens = np.flatnonzero(np.diff(turns, prepend=-1) > 0)
            first[turns[opens]] = opens
            first = np.minimum.accumulate(first[::-1])[::-1]
        self.first_msg_of_turn = first.tolist()
        self.first_msg_of_turn_arr = first
        positions = np.where(self.has_thinking, np.arange(m_count), m_count)
        nxt = np.minimum.accumulate(np.append(positions, m_count)[::-1])[::-1]
        self.next_thinking = nxt.tolist()
        self.next_thinking_arr = nxt
        thinking_msgs = np.flatnonzero(self.has_thinking)
        opens_think = np.zeros(m_count, dtype=np.int64)
        if thinking_msgs.size:
            t = turns[thinking_msgs]
            opens_think[thinking_msgs[np.diff(t, prepend=-1) > 0]] = 1
        self.cum_think_turns = _cumsum(opens_think)
        self.turn_starts = np.flatnonzero(ct.message_opens_turn).tolist()
        # the system prompt and tools in front of a prompt, by its first message
        self.fixed_arr = ct.prefix_system_tokens + ct.prefix_tools_tokens
        self.fixed: list[int] = self.fixed_arr.tolist()
        self._tools(clear, placeholder_tokens)

    # -- tool uses, in order of their calls -------------------------------------------------------

    def _tools(self, clear: clear_tool_uses.ClearToolUses | None, placeholder: int) -> None:
        ct = self.ct
        tokens = self.block_tokens_effective
        names = ct.tool_use_name
        n = len(names)
        self.use_msg = ct.tool_use_message.tolist()
        self.use_block = ct.tool_use_block.tolist()
        self.use_name = names
        self.res_block = ct.tool_result_block.tolist()
        self.res_msg = ct.tool_result_message.tolist()
        self.res_msg_sorted = np.maximum.accumulate(ct.tool_result_message).tolist() if n else []
        self.placeholder = placeholder
        self.clear_config = clear
        name_arr = np.asarray(names, dtype=object)
        if clear is not None and clear.exclude_tools:
            excluded = np.isin(name_arr, list(clear.exclude_tools))
        else:
            excluded = np.zeros(n, dtype=bool)
        self.excluded_use = excluded.tolist()
        if clear is None or clear.clear_tool_inputs is False:
            inputs = np.zeros(n, dtype=bool)
        elif clear.clear_tool_inputs is True:
            inputs = np.ones(n, dtype=bool)
        else:
            inputs = np.isin(name_arr, list(clear.clear_tool_inputs))
        has_res = (ct.tool_result_block >= 0) & ~excluded
        res_tok = np.where(has_res, tokens[np.maximum(ct.tool_result_block, 0)], 0)
        use_blocks = ct.tool_use_block
        in_tok = np.where(
            inputs & ~excluded,
            np.maximum(tokens[use_blocks] - ct.block_kept_tokens[use_blocks], 0),
            0,
        )
        self.cum_res = _cumsum(res_tok.astype(np.int64))
        self.cum_in = _cumsum(in_tok.astype(np.int64))
        self.cum_cnt = _cumsum((~excluded).astype(np.int64))
        self.cum_has_res = _cumsum(has_res.astype(np.int64))
        self.cum_res_arr = np.asarray(self.cum_res, dtype=np.int64)
        self.cum_in_arr = np.asarray(self.cum_in, dtype=np.int64)
        self.cum_has_res_arr = np.asarray(self.cum_has_res, dtype=np.int64)
        positions = np.where(~excluded, np.arange(n), n)
        next_clearable = np.minimum.accumulate(np.append(positions, n)[::-1])[::-1]
        self.next_clearable = next_clearable.tolist()
        self.next_clearable_arr = next_clearable
        # the message where clearing a tool use first changes the prompt: its call when the
        # input is cleared too, else its result (one extra entry: the end sentinel)
        self.change_msg_arr = np.append(
            np.where(inputs, ct.tool_use_message, ct.tool_result_message), self.m_count
        ).astype(np.int64)
        self.res_msg_sorted_arr = np.asarray(self.res_msg_sorted, dtype=np.int64)

    def cleared_estimate(self, lo: int, hi: int) -> int:
        """Net estimated tokens removed by clearing ordinals [lo, hi)."""
        if hi <= lo:
            return 0
        removed = self.cum_res[hi] - self.cum_res[lo] + self.cum_in[hi] - self.cum_in[lo]
        return removed - self.placeholder * (self.cum_has_res[hi] - self.cum_has_res[lo])

    # -- sizes ------------------------------------------------------------------------------------

    def kept_thinking_start(self, p: _Prompt) -> int:
        """First message whose thinking is in the prompt."""
        t = min(max(p.kept_from_turn, 0), self.n_turns)
        return max(p.start, self.first_msg_of_turn[t])

    def estimate(self, p: _Prompt) -> int:
        """Estimated tokens of a prompt (counter units), without a what-if summary."""
        s, e, t, lo, hi, _, _, extra = p
        value = self.fixed[min(s, self.m_count)] + extra
        if e > s:
            cum_nt = self.cum_nt
            cum_th = self.cum_th
            value += cum_nt[e] - cum_nt[s]
            if t < 0:
                t = 0
            elif t > self.n_turns:
                t = self.n_turns
            ts = self.first_msg_of_turn[t]
            if ts < s:
                ts = s
            if ts < e:
                value += cum_th[e] - cum_th[ts]
            if hi > lo:
                value -= self.cleared_estimate(lo, hi)
        return value

    def estimate_as_recorded(self, p: _Prompt) -> int:
        """Estimate of a recorded prompt, with what undoing compactions removed put back."""
        value = self.estimate(p)
        if p.end > p.start:
            value += self.cum_removed[p.end] - self.cum_removed[p.start]
        return value

    def estimate_as_recorded_many(self, prompts: Sequence[_Prompt]) -> list[int]:
        """``estimate_as_recorded`` of many prompts at once."""
        if not prompts:
            return []
        arr = np.asarray(prompts, dtype=np.int64).reshape(len(prompts), len(_Prompt._fields))
        value = self.estimate_many(arr)
        s, e = arr[:, 0], np.maximum(arr[:, 1], arr[:, 0])
        removed = np.asarray(self.cum_removed, dtype=np.int64)
        return [int(v) for v in (value + removed[e] - removed[s]).tolist()]

    def thinking_turns_stripped(self, p: _Prompt) -> int:
        """Number of turns with thinking in messages[start:end] whose thinking is not kept."""
        s, e = p.start, p.end
        if e <= s:
            return 0
        stop = min(self.kept_thinking_start(p), e)
        if stop <= s:
            return 0
        count = self.cum_think_turns[stop] - self.cum_think_turns[s]
        # a turn that began before ``s`` but has thinking inside the window
        first = self.next_thinking[s]
        if first < stop and self.cum_think_turns[first + 1] - self.cum_think_turns[first] == 0:
            count += 1
        return count

    def info(self, model: str) -> ModelInfo:
        got = self._infos.get(model)
        if got is None:
            got = self._infos[model] = self.table.get(model)
        return got

    # -- many prompts at once (numpy) ------------------------------------------------------------

    def estimate_many(self, prompts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """``estimate`` of every row of an (n, 8) array of prompt descriptors."""
        s, e, t, lo, hi = (prompts[:, k] for k in range(5))
        e = np.maximum(e, s)
        fixed = self.fixed_arr[np.minimum(s, self.m_count)]
        value = fixed + prompts[:, 7] + self.cum_nt_arr[e] - self.cum_nt_arr[s]
        ts = np.maximum(s, self.first_msg_of_turn_arr[np.clip(t, 0, self.n_turns)])
        ts = np.minimum(ts, e)
        value += self.cum_th_arr[e] - self.cum_th_arr[ts]
        hi = np.maximum(hi, lo)
        value -= self.cum_res_arr[hi] - self.cum_res_arr[lo] + self.cum_in_arr[hi]
        value += self.cum_in_arr[lo] + self.placeholder * (
            self.cum_has_res_arr[hi] - self.cum_has_res_arr[lo]
        )
        return value

    def first_difference_many(
        self, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Per pair of prompts (rows of ``a`` and ``b``), the message where ``b`` first differs
        from ``a``: -1 right after the fixed prefix, ``a``'s end when ``a`` is a prefix of ``b``.
        """
        m_count = self.m_count
        head_differs = (a[:, 0] != b[:, 0]) | (a[:, 5] != b[:, 5]) | (a[:, 7] != b[:, 7])
        diff = np.where(b[:, 1] < a[:, 1], b[:, 1], a[:, 1])
        # thinking kept from another turn: the first thinking between the two turns
        ta, tb = a[:, 2], b[:, 2]
        lo_t = np.clip(np.minimum(ta, tb), 0, self.n_turns)
        hi_t = np.clip(np.maximum(ta, tb), 0, self.n_turns)
        lo_m = np.minimum(np.maximum(a[:, 0], self.first_msg_of_turn_arr[lo_t]), m_count)
        m = self.next_thinking_arr[lo_m]
        diff = np.where(
            (ta != tb) & (m < self.first_msg_of_turn_arr[hi_t]), np.minimum(diff, m), diff
        )
        # another range of cleared tool uses: the first tool use cleared in one and not the other
        a_lo, a_hi, b_lo, b_hi = a[:, 3], a[:, 4], b[:, 3], b[:, 4]
        a_none, b_none = a_hi <= a_lo, b_hi <= b_lo
        same = (a_none & b_none) | (~a_none & ~b_none & (a_lo == b_lo) & (a_hi == b_hi))
        lo = np.where(
            a_none,
            b_lo,
            np.where(
                b_none, a_lo, np.where(a_lo == b_lo, np.minimum(a_hi, b_hi), np.minimum(a_lo, b_lo))
            ),
        )
        hi = np.where(
            a_none,
            b_hi,
            np.where(
                b_none, a_hi, np.where(a_lo == b_lo, np.maximum(a_hi, b_hi), np.maximum(a_lo, b_lo))
            ),
        )
        n_uses = len(self.use_msg)
        o = self.next_clearable_arr[np.clip(lo, 0, n_uses)]
        changed = ~same & (o < hi)
        diff = np.where(changed, np.minimum(diff, self.change_msg_arr[np.minimum(o, n_uses)]), diff)
        return np.where(head_differs, -1, diff)


# ---- simulate ----------------------------------------------------------------------------------


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _first_model(conv: Conversation) -> str | None:
    for r in conv.requests:
        if r.model:
            return r.model
    return conv.model


def _recorded_context_management(conv: Conversation) -> Mapping[str, Any] | None:
    for r in conv.requests:
        cm = r.context_management
        if cm is not None and isinstance(cm, Mapping):
            return cm
    return None


def simulate(
    conv: Conversation,
    *,
    model: str | None = None,
    context_window: int | None = None,
    max_tokens: int | None = None,
    context_management: Mapping[str, Any] | None = None,
    compaction_control: Mapping[str, Any] | None = None,
    summary_tokens: int | None = None,
    thinking_preservation: bool | None = None,
    compact_at: Sequence[int] = (),
    claude_code_autocompact: bool | Mapping[str, Any] | None = None,
    undo_recorded_compactions: bool = False,
    rolling_window: bool | int | None = None,
    compaction_control_totals: sdk_compaction.Totals = "sdk",
    prompt_caching: bool | None = None,
    counter: TokenCounter | None = None,
    message_frame_tokens: int | None = None,
    model_table: ModelTable | None = None,
    models: ModelsArg = None,
) -> Simulation:
    """Replay ``conv`` as recorded, or under the given policies (module doc; docs/api.md).

    ``model`` / ``context_window``: replay on another model or window. ``max_tokens``: the
    ``max_tokens`` every request asks for (models before 4.5 refuse input + max_tokens > window).
    ``context_management``:
    the API's ``{"edits": [...]}`` (replaces the recorded one). ``compaction_control``: the SDK's
    dict; ``compaction_control_totals``: ``"sdk"`` (its formula on the usage, inflated by server
    tools) or ``"context"`` (the real context). ``summary_tokens``: size of a what-if summary.
    ``thinking_preservation``: override the model's default (True keeps earlier turns' thinking).
    ``compact_at``: requests compacted on demand. ``claude_code_autocompact``: True or a
    mapping of Claude Code's settings (``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE``, ``autoCompactWindow``,
    ``DISABLE_AUTO_COMPACT``; ``reserve_tokens`` replaces its reserve formula;
    ``ctxviz.policies.claude_code``). ``undo_recorded_compactions``: continue the history through
    recorded compactions (estimated from the last prompt before each). ``rolling_window``: True
    (fit the window) or a prompt budget in tokens.
    ``prompt_caching``: assume the client caches its prompts (default: as the recording shows; on
    for transcripts without usage). ``counter`` / ``message_frame_tokens``: the token counter
    (``(text, family) -> int``) and per-message frame. ``models``: the model table to use (a
    ``ModelTable``, a JSON file's path or its parsed content, merged over the bundled table;
    ``model_table`` is its older name).
    """
    settings, table, warnings = _settings(
        conv,
        model=model,
        context_window=context_window,
        max_tokens=max_tokens,
        context_management=context_management,
        compaction_control=compaction_control,
        summary_tokens=summary_tokens,
        thinking_preservation=thinking_preservation,
        compact_at=compact_at,
        claude_code_autocompact=claude_code_autocompact,
        undo_recorded_compactions=undo_recorded_compactions,
        rolling_window=rolling_window,
        compaction_control_totals=compaction_control_totals,
        prompt_caching=prompt_caching,
        counter=counter,
        message_frame_tokens=message_frame_tokens,
        model_table=model_table,
        models=models,
    )
    with _gc_paused():
        return _assemble(*_replay(conv, settings, table, warnings))


def prompt_tokens(
    conv: Conversation,
    *,
    context_management: Mapping[str, Any] | None = None,
    counter: TokenCounter | None = None,
    message_frame_tokens: int | None = None,
    models: ModelsArg = None,
) -> tuple[int, int]:
    """The last request's ``input_tokens`` and ``original_input_tokens``, replayed exactly as
    ``simulate`` does but without its frames (nor pandas): ``count_tokens``'s answer."""
    settings, table, warnings = _settings(
        conv,
        context_management=context_management,
        counter=counter,
        message_frame_tokens=message_frame_tokens,
        models=models,
    )
    with _gc_paused():
        _, rows, _, _, _ = _replay(conv, settings, table, warnings)
    return rows[-1].input_tokens, rows[-1].original_input_tokens


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The replay allocates rows and prompts by the request and makes no reference cycles; the
    cyclic collector's passes over the whole heap (the conversation's blocks included) would
    otherwise cost up to half of it."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _settings(
    conv: Conversation,
    *,
    model: str | None = None,
    context_window: int | None = None,
    max_tokens: int | None = None,
    context_management: Mapping[str, Any] | None = None,
    compaction_control: Mapping[str, Any] | None = None,
    summary_tokens: int | None = None,
    thinking_preservation: bool | None = None,
    compact_at: Sequence[int] = (),
    claude_code_autocompact: bool | Mapping[str, Any] | None = None,
    undo_recorded_compactions: bool = False,
    rolling_window: bool | int | None = None,
    compaction_control_totals: sdk_compaction.Totals = "sdk",
    prompt_caching: bool | None = None,
    counter: TokenCounter | None = None,
    message_frame_tokens: int | None = None,
    model_table: ModelTable | None = None,
    models: ModelsArg = None,
) -> tuple[SimulationSettings, ModelTable, list[str]]:
    """``simulate``'s arguments checked: the settings, the model table and the warnings so far."""
    table = model_table if model_table is not None else as_table(models)
    warnings: list[str] = []
    named_model = model or _first_model(conv)
    main_info = table.get(named_model or "unknown")
    if named_model and (said := main_info.warning()) is not None:
        warnings.append(said)
    edits: Edits = NO_EDITS
    if context_management is not None:
        edits, found = parse_edits(context_management, main_info)
        warnings.extend(found)
        if edits.clear_thinking is not None and not conv.thinking_enabled:
            raise ValueError(
                "context_management.edits[0]: clear_thinking_20251015 needs extended thinking, "
                "and this conversation has none (the API rejects the request)"
            )
    cc_config = None
    if compaction_control is not None:
        warnings.extend(validate_compaction_control(compaction_control))
        if compaction_control_totals not in ("sdk", "context"):
            raise ValueError(
                "compaction_control_totals: expected 'sdk' or 'context', "
                f"got {compaction_control_totals!r}"
            )
        cc_config = sdk_compaction.from_sdk(compaction_control, totals=compaction_control_totals)
    if summary_tokens is not None and (
        isinstance(summary_tokens, bool)
        or not isinstance(summary_tokens, int)
        or summary_tokens < 0
    ):
        raise ValueError(f"summary_tokens: expected a non-negative integer, got {summary_tokens!r}")
    if context_window is not None and (
        isinstance(context_window, bool)
        or not isinstance(context_window, int)
        or context_window <= 0
    ):
        raise ValueError(f"context_window: expected a positive integer, got {context_window!r}")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0
    ):
        raise ValueError(f"max_tokens: expected a positive integer, got {max_tokens!r}")
    n_requests = len(conv.requests)
    for r in compact_at:
        if not 0 <= r < n_requests:
            raise ValueError(f"compact_at: request {r} is not in 0..{n_requests - 1}")
    if compact_at and not main_info.supports_compact_20260112:
        warnings.append(
            f"compact_at: on-demand compaction is not supported on {main_info.display_name}; "
            "the replay runs it as a what-if"
        )
    settings = SimulationSettings(
        model=model,
        context_window=context_window,
        max_tokens=max_tokens,
        context_management=(
            None if context_management is None else _canonical_json(context_management)
        ),
        edits=edits,
        compaction_control=cc_config,
        summary_tokens=summary_tokens,
        thinking_preservation=thinking_preservation,
        compact_at=tuple(sorted(set(compact_at))),
        claude_code_autocompact=claude_code.from_arg(claude_code_autocompact),
        undo_recorded_compactions=undo_recorded_compactions,
        rolling_window=rolling.from_arg(rolling_window),
        prompt_caching=prompt_caching,
        counter=counter,
        message_frame_tokens=message_frame_tokens,
    )
    return settings, table, warnings


@dataclass(slots=True, kw_only=True)
class _Context:
    """What one replay's loop and result assembly share (built once per ``simulate`` call)."""

    conv: Conversation
    engine: _Replay
    settings: SimulationSettings
    requests: Sequence[Request]
    base_starts: list[int]
    recorded_prompt: list[int | None]
    windows: list[int]
    server_compaction_at: dict[int, int]
    rec_desc: list[_Prompt]
    turns: list[int] = field(default_factory=list)
    """The turn of each recorded request (that of its prompt's last message)."""
    output_tokens: list[int] = field(default_factory=list)
    thinking_tokens: list[int] = field(default_factory=list)
    scale: float = 1.0
    """Recorded prompt tokens per estimated token, over the whole transcript."""
    hidden: int = 0
    summary_size: int = DEFAULT_SUMMARY_TOKENS
    anchor: list[float] = field(default_factory=list)
    """The as-recorded prompt of each request: recorded, else hidden + scale x estimate."""
    rec_estimate: list[int] = field(default_factory=list)
    removal_scale: list[float] = field(default_factory=list)
    extra_points: list[tuple[_Prompt, int]] = field(default_factory=list)
    """More (prompt, recorded size) pairs for the scale: what server compaction iterations read."""
    not_recorded: set[int] = field(default_factory=set)
    """Requests whose recorded usage does not describe their replayed row (undone compactions)."""
    reinjected: list[int] = field(default_factory=list)
    """Per request, the context Claude Code re-injected after the recorded compaction its prompt
    follows (0 when none, or when compactions are undone)."""
    rebased: set[int] = field(default_factory=set)
    """Requests whose anchor is the last prompt before an undone compaction."""
    _chars: list[int] | None = None

    def size(self, p: _Prompt, j: int) -> int:
        """Tokens of prompt ``p`` at recorded request ``j``: recorded where it is as recorded."""
        rp = self.recorded_prompt[j]
        if rp is not None and p == self.rec_desc[j]:
            return rp
        return self.estimated_size(p, j)

    def estimated_size(self, p: _Prompt, j: int) -> int:
        """The recorded prompt minus the scaled estimate of what ``p`` removed, plus what it
        added (estimates at the transcript's scale, a what-if summary at its own size)."""
        delta = self.engine.estimate(p) - self.rec_estimate[j]
        factor = self.removal_scale[j] if delta < 0 else self.scale
        return max(round(self.anchor[j] + factor * delta), 0) + p.summary_tokens

    def cum_chars(self) -> list[int]:
        """Prefix sums of each message's characters (what Claude Code's rough estimate reads)."""
        if self._chars is None:
            conv = self.conv
            excluded = self.engine.excluded_messages
            per = [
                0 if m in excluded else sum(_block_chars(b) for b in msg.content)
                for m, msg in enumerate(conv.messages)
            ]
            self._chars = [0]
            for c in per:
                self._chars.append(self._chars[-1] + c)
        return self._chars

    def reinjected_in(self, p: _Prompt, j: int) -> int:
        """What Claude Code re-injected that prompt ``p`` of request ``j`` holds: none where
        compactions are undone, unless ``p`` is the recorded prompt (rejoined)."""
        if not self.reinjected or (j in self.rebased and p != self.rec_desc[j]):
            return 0
        return self.reinjected[j]

    def message_size(self, m: int) -> int:
        """The scaled estimate of message ``m`` as written (what undoing it removed too)."""
        ct = self.engine.ct
        first, last = int(ct.message_block_start[m]), int(ct.message_block_start[m + 1])
        return round(
            self.scale * (int(ct.block_tokens[first:last].sum()) + ct.message_frame_tokens)
        )

    def rebase_undone(self, descriptors: list[_Prompt]) -> None:
        """Undone compactions: the prompt of each request after one is estimated from the last
        prompt before the compaction (recorded, or itself rebased), plus what its history adds
        beyond it, never from the recorded post-compaction prompt, which holds the summary and
        the context Claude Code re-injected."""
        firsts = sorted({c.request for c in self.conv.compactions if c.kind != "server"})
        ref = -1
        for j, req in enumerate(self.requests):
            if firsts and j >= firsts[0]:
                while len(firsts) > 1 and j >= firsts[1]:
                    firsts.pop(0)
                ref = firsts[0] - 1
            if ref < 0 or self.base_starts[j] >= req.prompt_start:
                continue
            undone = descriptors[j]._replace(start=self.base_starts[j])
            est = self.engine.estimate(undone)
            self.rebased.add(j)
            self.anchor[j] = self.anchor[ref] + self.scale * (est - self.rec_estimate[ref])
            self.rec_estimate[j] = est
            self.removal_scale[j] = self.removal_scale[ref]

    def residual(self, j: int) -> float:
        """Recorded prompt tokens the estimate does not explain (beyond the hidden prefix and
        what Claude Code re-injected)."""
        level = 0 if j in self.rebased or not self.reinjected else self.reinjected[j]
        return self.anchor[j] - self.hidden - level - self.scale * self.rec_estimate[j]

    def fit(self, descriptors: list[_Prompt]) -> None:
        """Hidden prefix, scales and anchors from the as-recorded descriptors."""
        self.rec_desc = descriptors
        est = self.engine.estimate_as_recorded_many(descriptors)
        hidden = 0
        if self.conv.hidden_prefix:
            for j, rp in enumerate(self.recorded_prompt):
                if rp is not None:
                    hidden = max(0, rp - est[j])
                    break
        # Claude Code re-injects context after compacting (re-read files, todos) that is not in
        # the file: the scale is fit on the prompts before the first compaction when there are
        # some, and each compaction's re-injected tokens are set apart from what follows it.
        compacted_at = sorted({c.request for c in self.conv.compactions if c.kind == "claude_code"})
        before_all = compacted_at[0] if compacted_at else len(self.recorded_prompt)
        if all(rp is None for rp in self.recorded_prompt[:before_all]):
            before_all = len(self.recorded_prompt)
        num = 0.0
        den = 0.0
        for j, rp in enumerate(self.recorded_prompt[:before_all]):
            if rp is not None:
                num += rp - hidden
                den += est[j]
        for p, size in self.extra_points:
            num += size - hidden
            den += self.engine.estimate_as_recorded(p)
        scale = num / den if den > 0 and num > 0 else 1.0
        self.hidden = hidden
        self.scale = scale
        self.rec_estimate = est
        self.anchor = []
        self.removal_scale = []
        self.reinjected = []
        level = 0
        at = set(compacted_at)
        for j, rp in enumerate(self.recorded_prompt):
            if j in at:
                level = max(0, round(rp - hidden - scale * est[j])) if rp is not None else 0
            elif j and self.requests[j].prompt_start != self.requests[j - 1].prompt_start:
                level = 0  # a fresh prompt that no compaction explains
            self.reinjected.append(level)
            if rp is None:
                self.anchor.append(hidden + level + scale * est[j])
                self.removal_scale.append(scale)
            else:
                self.anchor.append(float(rp))
                seen = rp - hidden - level
                own = seen / est[j] if est[j] > 0 and seen > 0 else scale
                self.removal_scale.append(min(max(own, scale / 4), scale * 4))


def _replay(
    conv: Conversation, settings: SimulationSettings, table: ModelTable, warnings: list[str]
) -> tuple[_Context, list[_Row], list[dict[str, Any]], list[str], Edits]:
    """The replay itself, on arrays: every request's row and the events (``_assemble`` adds the
    frames, costs and limit events)."""
    model_id = settings.model or _first_model(conv)
    family: Family = family_for_model(model_id)
    counter = settings.counter or count_text
    ct = conversation_tokens(
        conv,
        family=family,
        counter=counter,
        message_frame_tokens=settings.message_frame_tokens,
        model=table.get(model_id) if model_id else None,
        table=table,
    )
    placeholder = counter(clear_tool_uses.PLACEHOLDER, family)
    requests = conv.requests
    recorded_edits = NO_EDITS
    recorded_cm = _recorded_context_management(conv)
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

    # recorded compactions: replayed as recorded, or undone
    undo = settings.undo_recorded_compactions
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

    engine = _Replay(
        conv,
        ct,
        excluded_messages=frozenset(excluded_messages),
        excluded_blocks=frozenset(excluded_blocks),
        clear=tool_edits[0] if tool_edits else recorded_tool_edit,
        placeholder_tokens=placeholder,
        table=table,
    )
    recorded_prompt = [r.usage.prompt_tokens if r.usage is not None else None for r in requests]
    models = [settings.model or r.model or conv.model or "unknown" for r in requests]
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
                override=settings.context_window,
            )
        windows.append(window_of[key])
    ctx = _Context(
        conv=conv,
        engine=engine,
        settings=settings,
        requests=requests,
        base_starts=base_starts,
        recorded_prompt=recorded_prompt,
        windows=windows,
        server_compaction_at=server_compaction_at,
        rec_desc=[],
    )

    # the as-recorded prompts: the recorded models' thinking defaults, recorded compactions
    ctx.turns = [_turn_of(engine, r.prompt_end) for r in requests]
    preserves: dict[str, bool] = {}
    plain: list[_Prompt] = []
    pre_tokens = {c.request: c.pre_tokens for c in conv.compactions if c.kind == "server"}
    for j, r in enumerate(requests):
        end = r.prompt_end
        recorded_model = r.model or conv.model or "unknown"
        preserve = preserves.get(recorded_model)
        if preserve is None:
            info = engine.info(recorded_model)
            preserve = preserves[recorded_model] = info.preserves_thinking_by_default
        full = _Prompt(r.prompt_start, end, 0 if preserve else ctx.turns[j])
        if j in server_compaction_at:
            # the compaction iteration read the whole prompt: a second recorded size
            iteration = _compaction_iteration(r)
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
            plain.append(_Prompt(end, end, 0, extra_estimate=int(ct.block_tokens[blk])))
            continue
        plain.append(full)
    ctx.fit(plain)
    if recorded_edits.clearing:
        # the recording used context editing: its prompts were the edited ones
        ctx.output_tokens, ctx.thinking_tokens = _responses(ctx, [])
        baseline = SimulationSettings(counter=settings.counter)
        rec_models = [r.model or conv.model or "unknown" for r in requests]
        rows, _ = _loop(ctx, baseline, replace(recorded_edits, compact=None), rec_models, [])
        edited = list(plain)
        for row in rows:
            edited[row.recorded_request] = row.prompt
        ctx.fit(edited)

    if undo:
        ctx.rebase_undone(plain)
    ctx.summary_size = _summary_size(ctx)
    warnings.extend(_estimate_notes(ctx, settings))
    ctx.output_tokens, ctx.thinking_tokens = _responses(ctx, warnings)
    rows, events = _loop(ctx, settings, edits, models, warnings)
    return ctx, rows, events, warnings, edits


def _estimate_notes(ctx: _Context, settings: SimulationSettings) -> list[str]:
    """What the user should know about the estimates of this replay."""
    notes: list[str] = []
    kinds = ctx.engine.ct.block_kind
    unsized = sum(
        1
        for m in ctx.conv.messages
        for b in m.content
        for i in (b.content if isinstance(b, ToolResultBlock) else (b,))
        if isinstance(i, ImageBlock) and not image_size_known(i)
    )
    if unsized:
        notes.append(
            f"{unsized:,} image(s) (URL, file or unreadable data) are counted at their resolution "
            "tier's maximum (1,568 or 4,784 tokens): their pixel size is not in the data, so "
            "their count is an estimate."
        )
    if (kinds == KIND_DOCUMENT).any():
        notes.append(
            "Base64 documents are counted by their size: their real token counts are not read "
            "from the data."
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


def _default_keep(engine: _Replay, model_id: str, preservation: bool | None) -> ThinkingKeep:
    return default_keep(
        preserves_by_default=engine.info(model_id).preserves_thinking_by_default,
        preservation=preservation,
    )


def _turn_of(engine: _Replay, end: int) -> int:
    """The turn of a request whose prompt ends before message ``end``."""
    return engine.turn[end - 1] if end > 0 else 0


def _summary_size(ctx: _Context) -> int:
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


# ---- the loop ----------------------------------------------------------------------------------


def _event(
    request: int,
    recorded_request: int,
    kind: str,
    detail: str,
    *,
    cleared_tool_uses: int | None = None,
    cleared_thinking_turns: int | None = None,
    cleared_input_tokens: int | None = None,
    tokens_before: int | None = None,
    tokens_after: int | None = None,
    summary_tokens: int | None = None,
    trigger: str | None = None,
) -> dict[str, Any]:
    return {
        "request": request,
        "recorded_request": recorded_request,
        "type": kind,
        "cleared_tool_uses": cleared_tool_uses,
        "cleared_thinking_turns": cleared_thinking_turns,
        "cleared_input_tokens": cleared_input_tokens,
        "tokens_before": tokens_before,
        "tokens_after": tokens_after,
        "summary_tokens": summary_tokens,
        "trigger": trigger,
        "detail": detail,
    }


def _loop(
    ctx: _Context,
    settings: SimulationSettings,
    edits: Edits,
    models: Sequence[str],
    warnings: list[str],
) -> tuple[list[_Row], list[dict[str, Any]]]:
    """The one loop over requests, in order (module doc: the order in which policies act)."""
    engine = ctx.engine
    size = ctx.size
    rows: list[_Row] = []
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
    preserved = _preserved_originals(ctx.conv) if settings.undo_recorded_compactions else {}
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
            keep = _default_keep(engine, model_id, settings.thinking_preservation)
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
            it = _compaction_iteration(req)
            rows.append(
                _Row(
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
                _event(
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

        client = _Prompt(start, pe, pre_from, 0, 0, summary_id, synth)
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
                    client = _Prompt(kept, pe, pre_from, 0, 0, n_summaries, summary_size)
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
                    _event(
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

                def size_from(first: int, base: _Prompt = unsummarized, at: int = j) -> int:
                    return size(base._replace(start=first), at)

                new = rolling.first_kept_message(cuts, size_from, budget)
                if new is None and cuts:
                    new = cuts[-1]  # the current turn alone: sent whole, flagged over_window
                if new is not None:
                    start = cut = new
                    summary_id, synth = 0, 0
                    client = _Prompt(start, pe, pre_from, 0, 0, summary_id, synth)
                    events.append(
                        _event(
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
                q = _Prompt(p[0], p[1], kept_from, p[3], p[4], p[5], p[6], p[7])
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
                        q = _Prompt(p[0], p[1], p[2], lo, hi, p[5], p[6], p[7])
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
                _event(
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
            summarized = _Prompt(
                start=pe, end=pe, kept_from_turn=0, summary_id=summary_id, summary_tokens=synth
            )
            after = size(summarized, j)
            how = (
                f"crossed the {cfg.trigger_tokens:,}-token trigger"
                if fires
                else "was compacted on demand"
            )
            events.append(
                _event(
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
                    _Row(
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
            _Row(
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
            excess = _server_tool_excess(ctx, req, j)
            total = sdk.total(
                prompt_tokens=running, output_tokens=out, server_tool_excess_tokens=excess
            )
            rows[-1] = rows[-1]._replace(sdk_total=total)
            if sdk.fires(total):
                n_summaries += 1
                summary_id, synth, cut = n_summaries, summary_size, pe
                again = _Prompt(
                    start=pe, end=pe, kept_from_turn=0, summary_id=summary_id, summary_tokens=synth
                )
                after = size(again, j)
                events.append(
                    _event(
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
                    _Row(
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


def _preserved_originals(conv: Conversation) -> dict[int, int]:
    """Per recorded compaction request, where its ``preservedSegment`` starts in the history
    before the summary: a what-if compaction of another summary size at that request keeps the
    messages from there on (the summary and the copies after it are undone). The loader places
    the copies after the summary; the originals are the same records, met earlier in the chain.
    """
    out: dict[int, int] = {}
    for c in conv.compactions:
        if c.kind != "claude_code" or c.preserved_messages is None:
            continue
        first = conv.messages[c.preserved_messages[0]]
        for k in range(min(c.summary_message, len(conv.messages)) - 1, -1, -1):
            m = conv.messages[k]
            if m.source == first.source and m == first:
                out[c.request] = k
                break
    return out


def _edit_detail(j: int, rep: Mapping[str, Any]) -> str:
    if rep["type"] == clear_tool_uses.TYPE:
        what = f"{rep['cleared_tool_uses']} tool use(s) cleared"
    else:
        what = f"thinking of {rep['cleared_thinking_turns']} earlier turn(s) cleared"
    return f"Request {j}: {what}, {int(rep['cleared_input_tokens']):,} tokens saved."


def _compaction_iteration(req: Request) -> tuple[int, int, int, int] | None:
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


def _price_fallbacks(
    engine: _Replay,
    rows: Sequence[_Row],
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
    priced = cost.price_rows(
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
        np.add.at(col, where, priced[c].to_numpy())
    long_context[np.unique(where)] = False
    np.logical_or.at(long_context, where, priced["long_context"].to_numpy(dtype=bool))
    return named


def _beyond_message_calls(req: Request, pick: Callable[[list[int]], int]) -> int | None:
    """Recorded prompt tokens beyond the ``pick``-ed one of a response's internal ``message``
    calls (their prompts, in order); None unless ``usage.iterations`` records several."""
    usage = req.usage
    if usage is None:
        return None
    calls = [it.prompt_tokens for it in usage.iterations if it.type == "message"]
    return max(0, usage.prompt_tokens - pick(calls)) if len(calls) > 1 else None


def _internal_calls_extra(req: Request) -> int:
    """Recorded prompt tokens beyond the largest of a response's internal ``message`` calls."""
    return _beyond_message_calls(req, max) or 0


def _server_tool_excess(ctx: _Context, req: Request, j: int) -> int:
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


def _responses(ctx: _Context, warnings: list[str]) -> tuple[list[int], list[int]]:
    """Per recorded request: output tokens (recorded, else the response's estimate) and thinking
    tokens — recorded ``thinking_tokens``, else output minus the visible non-thinking blocks
    (Claude 4 returns summarized thinking, so its text undercounts), else the thinking text's
    estimate."""
    ct = ctx.engine.ct
    m_count = ctx.engine.m_count
    is_th = (ct.block_kind == KIND_THINKING) | (ct.block_kind == KIND_REDACTED_THINKING)
    owner = ct.block_message
    th = np.bincount(owner[is_th], weights=ct.block_tokens[is_th], minlength=m_count).tolist()
    nt = np.bincount(owner[~is_th], weights=ct.block_tokens[~is_th], minlength=m_count).tolist()
    has_th = (np.bincount(owner[is_th], minlength=m_count) > 0).tolist()
    redacted = ct.block_kind == KIND_REDACTED_THINKING
    has_redacted = (np.bincount(owner[redacted], minlength=m_count) > 0).tolist()
    scale = ctx.scale
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
    return outs, thinks


# ---- assembling the result ---------------------------------------------------------------------


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
    ctx: _Context,
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


def _assemble(
    ctx: _Context,
    rows: list[_Row],
    events: list[dict[str, Any]],
    warnings: list[str],
    edits: Edits,
) -> Simulation:
    conv = ctx.conv
    engine = ctx.engine
    ct = engine.ct
    settings = ctx.settings
    n = len(rows)
    requests = ctx.requests

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
    inp, orig, out, think = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
    recorded = table[:, 4].astype(bool)
    rec_req = table[:, 5]
    prompts = np.asarray([r.prompt for r in rows], dtype=np.int64).reshape(n, len(_Prompt._fields))

    # composition: estimated categories of each prompt, scaled to its input_tokens
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
    ts = np.minimum(ts, ends_v)
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
    weights[:, cat_idx["system"]] += ct.prefix_system_tokens[prefix_at]
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
    import pandas as pd  # here, not at the top: counting tokens needs no frames

    comp_df = pd.DataFrame(composition, columns=list(CATEGORIES))
    comp_df.index.name = "request"

    # prompt caching
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
        acc = cost.cache_accounting(
            inp, reusable, min_cacheable_tokens=main_info.min_cacheable_tokens, ttl=ttl
        )
        uncached = acc["input_tokens"].to_numpy(dtype=np.int64, copy=True)
        writes = acc["cache_creation_input_tokens"].to_numpy(dtype=np.int64, copy=True)
        reads = acc["cache_read_input_tokens"].to_numpy(dtype=np.int64, copy=True)
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

    # dollars, per model
    model_col = [r.model for r in rows]
    cost_cols = {c: np.zeros(n) for c in cost.COST_COLUMNS}
    long_context = np.zeros(n, dtype=bool)
    comp_cost = np.zeros(n)
    comp_in, comp_out = table[:, 8], table[:, 9]
    comp_split = np.zeros((n, 3), dtype=np.int64)
    comp_split[:, 0] = comp_in
    for k, r in enumerate(rows):
        if r.compaction_usage is not None:
            comp_split[k] = r.compaction_usage
    infos = [engine.info(m) for m in model_col]
    stamps = [requests[j].timestamp for j in rec_req.tolist()]
    priced = cost.price_rows(
        infos,
        input_tokens=uncached,
        cache_creation_input_tokens=writes,
        cache_read_input_tokens=reads,
        output_tokens=out,
        cache_creation_1h_input_tokens=writes_1h,
        timestamps=stamps,
    )
    for c in cost.COST_COLUMNS:
        cost_cols[c] = priced[c].to_numpy(copy=True)
    long_context = priced["long_context"].to_numpy(dtype=bool, copy=True)
    comp_cost = cost.price_rows(
        infos,
        input_tokens=comp_split[:, 0],
        cache_creation_input_tokens=comp_split[:, 1],
        cache_read_input_tokens=comp_split[:, 2],
        output_tokens=comp_out,
        timestamps=stamps,
    )["cost_usd"].to_numpy()
    served = _price_fallbacks(engine, rows, requests, recorded, stamps, cost_cols, long_context)
    for said in dict.fromkeys(engine.info(m).warning() for m in (*model_col, *served)):
        if said is not None and said not in warnings:
            warnings.append(said)
    total_cost = cost_cols["cost_usd"] + comp_cost

    # limits: windows, the first request that does not fit
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
        [_internal_calls_extra(requests[j]) for j in rec_req.tolist()], dtype=np.int64
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
            _event(
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

    # the memory tool's warning before clearing (assumption: 80% of the trigger)
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
                _event(
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

    # compactions found in the transcript (Claude Code, SDK), replayed as recorded
    if not settings.undo_recorded_compactions:
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
                _event(
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
                _event(
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

    source = np.where(recorded, "recorded", "estimated")
    turn = np.asarray(ctx.turns, dtype=np.int64)[rec_req] if n else np.zeros(0, dtype=np.int64)
    frame = pd.DataFrame(
        {
            "request": np.arange(n, dtype=np.int64),
            "recorded_request": rec_req,
            "turn": turn,
            "model": pd.Series(model_col, dtype=object),
            "stop_reason": pd.Series([r.stop_reason for r in rows], dtype=object),
            "source": pd.Series(source, dtype=object),
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
            "compaction_control_total_tokens": pd.arrays.IntegerArray(
                np.asarray([r.sdk_total or 0 for r in rows], dtype=np.int64).reshape(n),
                np.asarray([r.sdk_total is None for r in rows], dtype=bool).reshape(n),
            ),
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
        },
        columns=list(REQUEST_COLUMNS),
    )
    return Simulation(
        conversation=conv,
        settings=settings,
        requests=frame,
        events=_events_frame(events),
        composition=comp_df,
        warnings=warnings,
        scale=ctx.scale,
        hidden_prefix_tokens=ctx.hidden,
        _rows=tuple(rows),
        _ctx=ctx,
    )


def _events_frame(events: list[dict[str, Any]]) -> pd.DataFrame:
    """Events as a frame, column by column (nullable integers), in request order."""
    import pandas as pd

    events = sorted(events, key=itemgetter("request"))
    data: dict[str, Any] = {}
    for c in EVENT_COLUMNS:
        values = [e[c] for e in events]
        if c in ("type", "trigger", "detail"):
            data[c] = pd.Series(values, dtype=object)
        else:
            mask = np.asarray([v is None for v in values], dtype=bool)
            ints = np.asarray([0 if v is None else v for v in values], dtype=np.int64)
            data[c] = pd.arrays.IntegerArray(ints, mask)
    return pd.DataFrame(data, columns=list(EVENT_COLUMNS))


# ---- the Inspector's view of one prompt --------------------------------------------------------


def _block_type(block: Block) -> str:
    match block:
        case TextBlock():
            return "text"
        case ThinkingBlock():
            return "thinking"
        case RedactedThinkingBlock():
            return "redacted_thinking"
        case ToolUseBlock():
            return "tool_use"
        case ToolResultBlock():
            return "tool_result"
        case ServerToolUseBlock():
            return "server_tool_use"
        case ServerToolResultBlock(type=kind):
            return kind
        case ImageBlock():
            return "image"
        case DocumentBlock():
            return "document"
        case CompactionBlock():
            return "compaction"
        case OtherBlock(type=kind):
            return kind
        case _:
            assert_never(block)


def _block_chars(block: Block) -> int:
    """Characters of a block as Claude Code's rough estimate reads them (an image: its tokens)."""
    match block:
        case ImageBlock():
            return IMAGE_TOKENS * claude_code.CHARS_PER_TOKEN
        case RedactedThinkingBlock(data=data):
            return len(data)
        case _:
            return len(_block_text(block))


def _block_text(block: Block) -> str:
    match block:
        case TextBlock(text=text) | ThinkingBlock(thinking=text) | CompactionBlock(content=text):
            return text
        case RedactedThinkingBlock():
            return "[redacted thinking]"
        case ToolUseBlock(name=name, input=args) | ServerToolUseBlock(name=name, input=args):
            return f"{name}({json.dumps(args, ensure_ascii=False, default=str)})"
        case ToolResultBlock(content=content):
            if isinstance(content, str):
                return content
            return "\n".join(_block_text(b) for b in content)
        case ServerToolResultBlock(content=content):
            return json.dumps(content, ensure_ascii=False, default=str)
        case ImageBlock():
            return "[image]"
        case DocumentBlock(title=title):
            return f"[document{': ' + title if title else ''}]"
        case OtherBlock(raw=raw):
            return json.dumps(raw, ensure_ascii=False, default=str)
        case _:
            assert_never(block)


def _view(ctx: _Context, row: _Row, i: int) -> PromptView:
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
        ("system", scaled(int(ct.prefix_system_tokens[min(p.start, engine.m_count)]))),
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
                    text="",
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
            text = _block_text(block)
            if not in_prompt:
                status = "summarized" if summarized_before and m < p.start else "dropped"
                shown = 0
            elif int(ct.block_kind[b]) in (KIND_THINKING, KIND_REDACTED_THINKING) and m < kept_from:
                status, shown = "thinking_stripped", 0
            elif b in cleared_results:
                status, shown, text = (
                    "cleared",
                    scaled(engine.placeholder),
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
                    type=_block_type(block),
                    category=CATEGORIES[int(ct.block_category[b])],
                    status=status,
                    tokens=shown,
                    original_tokens=size,
                    text=text,
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
                    text=f"[what-if summary of the history before message {p.start}]",
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
                text=_block_text(block),
            )
        )
    input_tokens = row.input_tokens
    return PromptView(request=i, input_tokens=input_tokens, blocks=tuple(views))
