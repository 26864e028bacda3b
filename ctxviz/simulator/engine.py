"""Prefix sums over one conversation's blocks: any prompt descriptor's size in a few
lookups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ctxviz.categories import CATEGORIES
from ctxviz.estimates import KIND_REDACTED_THINKING, KIND_THINKING, ConversationTokens
from ctxviz.model import Conversation
from ctxviz.models import ModelInfo, ModelTable
from ctxviz.policies import clear_tool_uses
from ctxviz.policies.step import Prompt


def _cumsum(values: npt.NDArray[np.int64]) -> list[int]:
    out = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return [int(v) for v in out.tolist()]


class Engine:
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
        self.turn_starts: list[int] = np.flatnonzero(ct.message_opens_turn).tolist()
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
        self.use_msg: list[int] = ct.tool_use_message.tolist()
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
        res_blocks = np.maximum(ct.tool_result_block, 0)
        # a cleared result keeps its block (its frame and tool name): only the content goes
        res_tok = np.where(
            has_res, np.maximum(tokens[res_blocks] - ct.block_kept_tokens[res_blocks], 0), 0
        )
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

    def kept_thinking_start(self, p: Prompt) -> int:
        """First message whose thinking is in the prompt."""
        t = min(max(p.kept_from_turn, 0), self.n_turns)
        return max(p.start, self.first_msg_of_turn[t], p.thinking_from)

    def estimate(self, p: Prompt) -> int:
        """Estimated tokens of a prompt (counter units), without a what-if summary."""
        s, e, t, lo, hi, _, _, extra, thinking_from = p
        value = self.fixed[min(s, self.m_count)] + extra
        if e > s:
            cum_nt = self.cum_nt
            cum_th = self.cum_th
            value += cum_nt[e] - cum_nt[s]
            if t < 0:
                t = 0
            elif t > self.n_turns:
                t = self.n_turns
            ts = max(self.first_msg_of_turn[t], s, thinking_from)
            if ts < e:
                value += cum_th[e] - cum_th[ts]
            if hi > lo:
                value -= self.cleared_estimate(lo, hi)
        return value

    def estimate_as_recorded(self, p: Prompt) -> int:
        """Estimate of a recorded prompt, with what undoing compactions removed put back."""
        value = self.estimate(p)
        if p.end > p.start:
            value += self.cum_removed[p.end] - self.cum_removed[p.start]
        return value

    def estimate_as_recorded_many(self, prompts: Sequence[Prompt]) -> list[int]:
        """``estimate_as_recorded`` of many prompts at once."""
        if not prompts:
            return []
        arr = np.asarray(prompts, dtype=np.int64).reshape(len(prompts), len(Prompt._fields))
        value = self.estimate_many(arr)
        s, e = arr[:, 0], np.maximum(arr[:, 1], arr[:, 0])
        removed = np.asarray(self.cum_removed, dtype=np.int64)
        return [int(v) for v in (value + removed[e] - removed[s]).tolist()]

    def thinking_turns_stripped(self, p: Prompt) -> int:
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
        """``estimate`` of every row of an (n, 9) array of prompt descriptors."""
        s, e, t, lo, hi = (prompts[:, k] for k in range(5))
        e = np.maximum(e, s)
        fixed = self.fixed_arr[np.minimum(s, self.m_count)]
        value = fixed + prompts[:, 7] + self.cum_nt_arr[e] - self.cum_nt_arr[s]
        ts = np.maximum(s, self.first_msg_of_turn_arr[np.clip(t, 0, self.n_turns)])
        ts = np.minimum(np.maximum(ts, prompts[:, 8]), e)
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
        # thinking dropped up to another message: the first thinking between the two points
        fa, fb = a[:, 8], b[:, 8]
        lo_f = np.minimum(np.maximum(np.minimum(fa, fb), a[:, 0]), m_count)
        m = self.next_thinking_arr[lo_f]
        diff = np.where((fa != fb) & (m < np.maximum(fa, fb)), np.minimum(diff, m), diff)
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
