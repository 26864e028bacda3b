"""What one replay's loop and assembly share, and the calibration that anchors
estimates to the recorded prompts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from ctxviz.model import Conversation, Request
from ctxviz.models import ModelInfo
from ctxviz.policies.step import Prompt
from ctxviz.settings import SimulationSettings
from ctxviz.simulator.blocks import message_chars
from ctxviz.simulator.engine import Engine

DEFAULT_SUMMARY_TOKENS: Final = 3_000
"""Size assumed for a summary a what-if writes when the transcript shows none (seeds: 2–3K)."""


@dataclass(slots=True, kw_only=True)
class Context:
    """What one replay's loop and result assembly share (built once per ``simulate`` call)."""

    conv: Conversation
    engine: Engine
    settings: SimulationSettings
    requests: Sequence[Request]
    base_starts: list[int]
    recorded_prompt: list[int | None]
    windows: list[int]
    server_compaction_at: dict[int, int]
    rec_desc: list[Prompt]
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
    extra_points: list[tuple[Prompt, int]] = field(default_factory=list)
    """More (prompt, recorded size) pairs for the scale: what server compaction iterations read."""
    not_recorded: set[int] = field(default_factory=set)
    """Requests whose recorded usage does not describe their replayed row (undone compactions)."""
    reinjected: list[int] = field(default_factory=list)
    """Per request, the context Claude Code re-injected after the recorded compaction its prompt
    follows (0 when none, or when compactions are undone)."""
    rebased: set[int] = field(default_factory=set)
    """Requests whose anchor is the last prompt before an undone compaction."""
    _chars: list[int] | None = None

    def size(self, p: Prompt, j: int) -> int:
        """Tokens of prompt ``p`` at recorded request ``j``: recorded where it is as recorded."""
        rp = self.recorded_prompt[j]
        if rp is not None and p == self.rec_desc[j]:
            return rp
        return self.estimated_size(p, j)

    def estimated_size(self, p: Prompt, j: int) -> int:
        """The recorded prompt minus the scaled estimate of what ``p`` removed, plus what it
        added (estimates at the transcript's scale, a what-if summary at its own size)."""
        delta = self.engine.estimate(p) - self.rec_estimate[j]
        factor = self.removal_scale[j] if delta < 0 else self.scale
        return max(round(self.anchor[j] + factor * delta), 0) + p.summary_tokens

    @property
    def response_scale(self) -> float:
        """Recorded output tokens per estimated token of a response's blocks: 1, since a response
        is exactly what the model wrote (``scale`` measures what a prompt carries beyond the file:
        reminders and re-read files the recording does not hold); an OpenAI log's usage counts
        OpenAI's tokenizer, so there ``scale`` converts units and applies to responses too."""
        return self.scale if self.conv.format == "openai" else 1.0

    # -- what a policy's step may ask (ctxviz.policies.step.Replay) ------------------------------

    @property
    def undoes_recorded_compactions(self) -> bool:
        return self.settings.undo_recorded_compactions

    @property
    def summary_tokens_given(self) -> bool:
        return self.settings.summary_tokens is not None

    def info(self, model: str) -> ModelInfo:
        return self.engine.info(model)

    def turn_starts(self) -> list[int]:
        return self.engine.turn_starts

    def tool_use_messages(self) -> list[int]:
        return self.engine.use_msg

    def clearable_tool_uses(self, lo: int, hi: int) -> int:
        return self.engine.cum_cnt[hi] - self.engine.cum_cnt[lo]

    def thinking_turns_stripped(self, p: Prompt) -> int:
        return self.engine.thinking_turns_stripped(p)

    def cum_chars(self) -> list[int]:
        """Prefix sums of each message's characters (what Claude Code's rough estimate reads)."""
        if self._chars is None:
            conv = self.conv
            excluded = self.engine.excluded_messages
            per = [0 if m in excluded else c for m, c in enumerate(message_chars(conv))]
            self._chars = [0]
            for c in per:
                self._chars.append(self._chars[-1] + c)
        return self._chars

    def reinjected_in(self, p: Prompt, j: int) -> int:
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

    def rebase_undone(self, descriptors: list[Prompt]) -> None:
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

    def fit(self, descriptors: list[Prompt]) -> None:
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
