"""Claude Code's auto-compaction, and how recorded compactions are replayed or undone.

Decided (docs/semantics.md#auto-compaction) before sending request ``i``: Claude Code estimates the
prompt as the previous response's recorded prompt (input + cache writes + cache reads) plus its
output, plus a rough ``characters / 4`` of what was added since (the new messages) — not the
prompt about to be sent — and compacts when that estimate reaches the threshold::

    threshold = window - min(max output, 20,000) - 13,000      (167,000 on a 200K window)

A 2.1.x response's recorded ``output_tokens`` is often a streaming placeholder (1 token for 8,100
characters written): the output counted is at least ``characters / 4`` of the response's content
(a lower bound: on the spotter sample's manual compaction it falls 243 tokens short of the real
output, where the counter's estimate comes within 9; the bound keeps a rebuilt decision from
firing before Claude Code did, and at a recorded compaction Claude Code's own ``preTokens`` is
used).
Claude Code's own settings change the threshold: ``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` can only lower
it (``min(floor(effective window x pct / 100), threshold)``, the effective window being the window
minus the output reserve: anthropics/claude-code issue 31806); ``autoCompactWindow`` /
``CLAUDE_CODE_AUTO_COMPACT_WINDOW`` (100K-1M) is the window the threshold is computed on (capped
by the model's); ``DISABLE_AUTO_COMPACT`` turns it off.

The summary request (a sub-agent call) reads the history and writes ``summary_tokens``; it is
reported on the event, billed on the request's row (``compaction_*`` columns), and not a row
itself. The request is then sent as the fixed prefix plus the summary. With the recorded
compactions undone, a what-if compaction at a recorded compaction's request is the one the
recording made: its estimate there is Claude Code's own (``preTokens``, plus what follows the
recorded summary) when the replay reaches that point as recorded, and the replay rejoins the
recording (its summary, its ``preservedSegment`` copies, the re-injected context); with another
``summary_tokens``, it writes that summary and keeps the preserved messages verbatim.

Recorded compactions (``conv.compactions``) are replayed as recorded (event
``recorded_compaction``); the context Claude Code re-injects after compacting (re-read files,
todos: the recorded prompt minus the visible summary and messages) is its own category. With
``undo_recorded_compactions=True`` they are undone: the history continues unbroken without the
summary, and the prompt after it is estimated from the last recorded prompt before it, plus that
response and what was added since (never from the post-compaction prompt, which holds the
re-injected context). Microcompact (old tool results replaced by
``[Old tool result content cleared]``) is reported as an event of its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypedDict

from ctxviz.policies.base import ChartLine
from ctxviz.policies.step import At, Fired, Prompt, Replay, event

if TYPE_CHECKING:
    from ctxviz.model import Conversation, RecordedCompaction

TYPE: Final = "claude_code_autocompact"
RECORDED_TYPE: Final = "recorded_compaction"
MICROCOMPACT_TYPE: Final = "claude_code_microcompact"
CLAUDE_CODE_WINDOW_TOKENS: Final = 200_000
"""Claude Code runs a model without a native 1M window on 200K unless the session shows 1M."""
OUTPUT_RESERVE_CAP_TOKENS: Final = 20_000
"""The output reserve below the window: the model's max output, at most this."""
BUFFER_TOKENS: Final = 13_000
"""The auto-compact buffer below the effective window."""
CHARS_PER_TOKEN: Final = 4
"""Claude Code's rough estimate of what was added since the last response."""
MIN_WINDOW_TOKENS: Final = 100_000
MAX_WINDOW_TOKENS: Final = 1_000_000
"""The range ``autoCompactWindow`` / ``CLAUDE_CODE_AUTO_COMPACT_WINDOW`` accepts."""

PCT_OVERRIDE: Final = "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"
WINDOW_SETTING: Final = "autoCompactWindow"
WINDOW_ENV: Final = "CLAUDE_CODE_AUTO_COMPACT_WINDOW"
DISABLE: Final = "DISABLE_AUTO_COMPACT"
RESERVE: Final = "reserve_tokens"
KEYS: Final = (PCT_OVERRIDE, WINDOW_SETTING, WINDOW_ENV, DISABLE, RESERVE)
"""The mapping's keys: Claude Code's own setting and environment names, and ctxviz's
``reserve_tokens`` (the whole reserve below the window, replacing Claude Code's formula)."""


class Settings(TypedDict, total=False):
    """The settings mapping as ``to_settings`` writes it (``from_arg`` also takes numbers and
    flags as the environment's strings)."""

    CLAUDE_AUTOCOMPACT_PCT_OVERRIDE: float
    autoCompactWindow: int
    CLAUDE_CODE_AUTO_COMPACT_WINDOW: int
    DISABLE_AUTO_COMPACT: bool
    reserve_tokens: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaudeCodeAutocompact:
    """Claude Code's auto-compact settings (None: Claude Code's default)."""

    pct_override: float | None = None
    """``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE``: percent of the effective window (0 < pct <= 100)."""
    window_tokens: int | None = None
    """``autoCompactWindow``: the window the threshold is computed on (capped by the model's)."""
    reserve_tokens: int | None = None
    """The whole reserve below the window (None: min(max output, 20K) + 13K)."""

    def window_on(self, window_tokens: int) -> int:
        """The window the threshold is computed on: ``autoCompactWindow``, capped by the model's."""
        return (
            window_tokens if self.window_tokens is None else min(window_tokens, self.window_tokens)
        )

    def threshold(self, *, window_tokens: int, max_output_tokens: int) -> int:
        """The estimated prompt at which it compacts, on a request of this window and model."""
        window = self.window_on(window_tokens)
        if self.reserve_tokens is not None:
            return window - self.reserve_tokens
        effective = window - min(max_output_tokens, OUTPUT_RESERVE_CAP_TOKENS)
        default = effective - BUFFER_TOKENS
        if self.pct_override is None:
            return default
        return min(math.floor(effective * self.pct_override / 100), default)

    def bind(self, replay: Replay) -> Step:
        """The step over one replay."""
        return Step.of(self, replay)

    def describe(self, *, window_tokens: int, max_output_tokens: int) -> str:
        """How the threshold is made, for an event's detail."""
        window = self.window_on(window_tokens)
        if self.reserve_tokens is not None:
            return f"window {window:,} - reserve {self.reserve_tokens:,}"
        out = min(max_output_tokens, OUTPUT_RESERVE_CAP_TOKENS)
        text = f"window {window:,} - output reserve {out:,} - buffer {BUFFER_TOKENS:,}"
        if self.pct_override is not None:
            text = f"the lower of {text} and {self.pct_override:g}% of {window - out:,}"
        return text


def threshold_line(
    config: ClaudeCodeAutocompact, *, window_tokens: int, max_output_tokens: int | None
) -> tuple[int, str]:
    """The threshold a chart draws on this window, and how it is made. ``max_output_tokens``
    None (the model is not known): the reserve's cap, ``OUTPUT_RESERVE_CAP_TOKENS``."""
    out = OUTPUT_RESERVE_CAP_TOKENS if max_output_tokens is None else max_output_tokens
    return (
        config.threshold(window_tokens=window_tokens, max_output_tokens=out),
        config.describe(window_tokens=window_tokens, max_output_tokens=out),
    )


def chart_line(
    config: ClaudeCodeAutocompact, *, window_tokens: int, max_output_tokens: int | None
) -> ChartLine:
    """The threshold a chart draws on this window, labelled with how it is made."""
    value, how = threshold_line(
        config, window_tokens=window_tokens, max_output_tokens=max_output_tokens
    )
    return ChartLine(tokens=value, label=f"Claude Code auto-compact ({value:,} = {how})")


def rough_tokens(chars: int) -> int:
    """Claude Code's rough token estimate of ``chars`` characters."""
    return round(chars / CHARS_PER_TOKEN)


def estimate_before_sending(
    *,
    previous_prompt_tokens: int,
    previous_output_tokens: int,
    response_chars: int,
    added_chars: int,
) -> int:
    """What Claude Code compares to the threshold before sending a request: the previous
    response's prompt + its output + ``chars / 4`` of the messages added since.

    Claude Code knows the real output; a 2.1.x file often records a streaming placeholder, so the
    output counted is at least ``chars / 4`` of what the response wrote."""
    output = max(previous_output_tokens, rough_tokens(response_chars))
    return previous_prompt_tokens + output + rough_tokens(added_chars)


def _number(key: str, value: object) -> float:
    """A number, or a numeric string as an environment variable holds it."""
    if isinstance(value, str):
        try:
            value = float(value.strip().replace("_", "").replace(",", ""))
        except ValueError:
            raise ValueError(
                f"claude_code_autocompact.{key}: expected a number, got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"claude_code_autocompact.{key}: expected a number, got {value!r}")
    return float(value)


def _flag(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in (
        "1",
        "true",
        "yes",
        "0",
        "false",
        "no",
        "",
    ):
        return value.strip().lower() in ("1", "true", "yes")
    raise ValueError(f"claude_code_autocompact.{key}: expected true or false, got {value!r}")


def from_arg(
    arg: bool | Mapping[str, object] | ClaudeCodeAutocompact | None,
) -> ClaudeCodeAutocompact | None:
    """``True`` (Claude Code's defaults), a mapping of Claude Code's settings
    (``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE``, ``autoCompactWindow`` or
    ``CLAUDE_CODE_AUTO_COMPACT_WINDOW``, ``DISABLE_AUTO_COMPACT``; and ``reserve_tokens``), a
    config, or None/False (off). ``DISABLE_AUTO_COMPACT`` true is off too."""
    if arg is None or arg is False:
        return None
    if arg is True:
        return ClaudeCodeAutocompact()
    if isinstance(arg, ClaudeCodeAutocompact):
        return arg
    unknown = [k for k in arg if k not in KEYS]
    if unknown:
        raise ValueError(
            f"claude_code_autocompact: unknown key '{unknown[0]}' (expected one of "
            + ", ".join(f"'{k}'" for k in KEYS)
            + ")"
        )
    if DISABLE in arg and _flag(DISABLE, arg[DISABLE]):
        return None
    pct: float | None = None
    if arg.get(PCT_OVERRIDE) is not None:
        pct = _number(PCT_OVERRIDE, arg[PCT_OVERRIDE])
        if not 0 < pct <= 100:
            raise ValueError(
                f"claude_code_autocompact.{PCT_OVERRIDE}: expected 0 < pct <= 100, got {pct:g}"
            )
    windows: list[int] = []
    for key in (WINDOW_SETTING, WINDOW_ENV):
        if arg.get(key) is None:
            continue
        value = _number(key, arg[key])
        if not value.is_integer() or not MIN_WINDOW_TOKENS <= value <= MAX_WINDOW_TOKENS:
            raise ValueError(
                f"claude_code_autocompact.{key}: expected a whole number of tokens from "
                f"{MIN_WINDOW_TOKENS:,} to {MAX_WINDOW_TOKENS:,}, got {arg[key]!r}"
            )
        windows.append(int(value))
    reserve = arg.get(RESERVE)
    if reserve is not None and (
        isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0
    ):
        raise ValueError(
            f"claude_code_autocompact.{RESERVE}: expected a non-negative integer, got {reserve!r}"
        )
    return ClaudeCodeAutocompact(
        pct_override=pct,
        window_tokens=min(windows) if windows else None,  # both given: Claude Code takes the lower
        reserve_tokens=reserve,
    )


def to_settings(config: ClaudeCodeAutocompact) -> Settings:
    """The mapping ``from_arg`` reads back into ``config`` (Claude Code's names)."""
    out: Settings = {}
    if config.pct_override is not None:
        out[PCT_OVERRIDE] = config.pct_override
    if config.window_tokens is not None:
        out[WINDOW_SETTING] = config.window_tokens
    if config.reserve_tokens is not None:
        out[RESERVE] = config.reserve_tokens
    return out


# ---- the step: before sending each request ------------------------------------------------------


def preserved_originals(conv: Conversation) -> dict[int, int]:
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


@dataclass(frozen=True, slots=True)
class Step:
    """Claude Code's auto-compaction over one replay, with what the recording says of it."""

    config: ClaudeCodeAutocompact
    replay: Replay
    rejoin: Mapping[int, RecordedCompaction]
    """With recorded compactions undone and the recorded summary size: a what-if compaction at
    a recorded compaction's request rejoins the recording (the prompt it sent after it)."""
    preserved: Mapping[int, int]
    """With another summary size: the messages a recorded compaction kept verbatim stay."""
    pre_tokens: Mapping[int, tuple[int, int]]
    """Claude Code's own estimate where a recorded compaction was decided (``preTokens``) and its
    summary message, for when the replay reaches that point as recorded."""

    @classmethod
    def of(cls, config: ClaudeCodeAutocompact, replay: Replay) -> Step:
        conv = replay.conv
        undo = replay.undoes_recorded_compactions
        recorded = [c for c in conv.compactions if c.kind == "claude_code"]
        n_messages = len(conv.messages)
        return cls(
            config,
            replay,
            rejoin={c.request: c for c in recorded if 0 <= c.summary_message < n_messages}
            if undo and not replay.summary_tokens_given
            else {},
            preserved=preserved_originals(conv) if undo else {},
            pre_tokens={
                c.request: (c.pre_tokens, c.summary_message)
                for c in recorded
                if c.pre_tokens is not None
            }
            if undo
            else {},
        )

    def _estimate(self, prompt_tokens: int, at: At) -> tuple[int, str]:
        """Claude Code's estimate before sending, and how it was made."""
        previous = self.replay.requests[at.request - 1].response if at.previous else None
        if previous is None or at.previous is None:
            return prompt_tokens, "the prompt itself: no response since the history began"
        chars = self.replay.cum_chars()
        recorded = self.pre_tokens.get(at.request)
        if recorded is not None and at.previous.recorded:
            # the replay reached the recorded decision point unchanged: Claude Code's own
            # estimate there, plus what the history holds after the recorded summary
            recorded_pre, summary_at = recorded
            after = chars[at.end] - chars[min(max(summary_at + 1, at.start), at.end)]
            return recorded_pre + rough_tokens(after), (
                f"preTokens {recorded_pre:,}, Claude Code's own estimate recorded at this "
                "point, + characters / 4 of what follows the recorded summary"
            )
        estimate = estimate_before_sending(
            previous_prompt_tokens=at.previous.input_tokens,
            previous_output_tokens=at.previous.output_tokens,
            response_chars=chars[previous + 1] - chars[previous],
            added_chars=chars[at.end] - chars[max(previous + 1, at.start)],
        )
        return estimate, (
            "the previous prompt + its output + about characters / 4 of what was added since"
        )

    def before_sending(self, client: Prompt, at: At) -> Fired | None:
        """Compact when the estimate reaches the threshold (and the prompt holds more than a
        summary would, or the recording compacted here too)."""
        prompt = at.size(client)
        estimate, how_estimated = self._estimate(prompt, at)
        max_output = self.replay.info(at.model).max_output_tokens
        threshold = self.config.threshold(
            window_tokens=at.window_tokens, max_output_tokens=max_output
        )
        recorded = self.rejoin.get(at.request)
        if recorded is not None and not at.start <= self.replay.rec_desc[at.request].start < at.end:
            recorded = None  # a what-if cut the history past it
        if estimate < threshold or (prompt <= at.summary_tokens and recorded is None):
            return None
        if recorded is not None:
            # the recording compacted here too: it goes on as recorded
            after_prompt = self.replay.rec_desc[at.request]
            written = self.replay.message_size(recorded.summary_message)
            what = (
                f"the recorded compaction's {written:,}-token summary, and what the recording "
                "sent with it"
            )
        else:
            kept = min(max(self.preserved.get(at.request, at.end), at.start), at.end)
            after_prompt = at.summary(first_kept=kept, kept_from_turn=at.kept_from_turn)
            written = at.summary_tokens
            what = f"a {written:,}-token summary" + (
                f" and the messages from #{kept} on, kept verbatim (the recorded compaction's "
                "preservedSegment)"
                if kept < at.end
                else ""
            )
        after = at.size(after_prompt)
        how = self.config.describe(window_tokens=at.window_tokens, max_output_tokens=max_output)
        return Fired(
            prompt=after_prompt,
            event=event(
                at.row,
                at.request,
                TYPE,
                f"Request {at.request}: Claude Code's estimate before sending ({estimate:,} "
                f"tokens: {how_estimated}) reached its auto-compact threshold of {threshold:,} "
                f"({how}); the prompt about to be sent ({prompt:,} tokens) is replaced by {what}.",
                tokens_before=estimate,
                tokens_after=after,
                summary_tokens=written,
                trigger=str(threshold),
            ),
            compaction_input_tokens=prompt,
            compaction_output_tokens=written,
            # the preserved-thinking pages: nothing changes when Claude Code builds the requests
            # (it sends no thinking that its own compaction made invalid)
            keeps_thinking_valid=True,
        )
