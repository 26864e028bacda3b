"""A chat interface's rolling first-in first-out window: drop the oldest whole messages to fit.

Where it is decided: before each request the client drops the oldest messages until the prompt
plus the response fits the budget (the context window by default, or a given number of prompt
tokens). It only cuts in front of a genuine user message (one that opens a turn), so a
``tool_result`` is never separated from its ``tool_use`` and the prompt still starts with a user
message. The current turn is never dropped: if it alone does not fit, it is sent whole (and the
request is flagged ``over_window``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ctxviz.policies.base import ChartLine
from ctxviz.policies.step import At, Fired, Prompt, Replay, event

TYPE: Final = "rolling_window"


@dataclass(frozen=True, slots=True, kw_only=True)
class RollingWindow:
    """``budget_tokens`` None: the request's prompt + output must fit the context window."""

    budget_tokens: int | None = None

    def prompt_budget(self, *, window_tokens: int, output_tokens: int) -> int:
        """The largest prompt the client sends."""
        if self.budget_tokens is not None:
            return self.budget_tokens
        return window_tokens - output_tokens

    def to_api(self) -> bool | int:
        """``simulate``'s ``rolling_window`` argument: what ``from_arg`` reads back."""
        return True if self.budget_tokens is None else self.budget_tokens

    def chart_line(self) -> ChartLine | None:
        """The prompt budget a chart draws (None: the window's, which the chart marks anyway)."""
        if self.budget_tokens is None:
            return None
        return ChartLine(
            tokens=self.budget_tokens, label=f"Rolling window budget ({self.budget_tokens:,})"
        )

    def bind(self, replay: Replay) -> Step:
        """The step over one replay."""
        return Step(self, replay)


def from_arg(arg: bool | int | RollingWindow | None) -> RollingWindow | None:
    """``True`` (fit the window), an int (prompt budget in tokens), a config, or off."""
    if arg is None or arg is False:
        return None
    if arg is True:
        return RollingWindow()
    if isinstance(arg, RollingWindow):
        return arg
    if isinstance(arg, int) and arg > 0:
        return RollingWindow(budget_tokens=arg)
    raise ValueError(
        f"rolling_window: expected True, False or a positive token budget, got {arg!r}"
    )


def first_kept_message(
    cut_points: Sequence[int], size_from: Callable[[int], int], budget_tokens: int
) -> int | None:
    """The earliest cut (from ``cut_points``, ascending) whose prompt fits; None if none fits.

    ``size_from(cut)`` is the prompt size when the history starts at message ``cut``; it does not
    grow as the cut moves later, so a binary search finds the earliest fitting cut.
    """
    lo, hi = 0, len(cut_points)
    while lo < hi:
        mid = (lo + hi) // 2
        if size_from(cut_points[mid]) <= budget_tokens:
            hi = mid
        else:
            lo = mid + 1
    return cut_points[lo] if lo < len(cut_points) else None


@dataclass(frozen=True, slots=True)
class Step:
    """The rolling window over one replay: before sending, drop the oldest turns that do not fit."""

    config: RollingWindow
    replay: Replay

    def before_sending(self, client: Prompt, at: At) -> Fired | None:
        budget = self.config.prompt_budget(
            window_tokens=at.window_tokens, output_tokens=at.output_tokens
        )
        before = at.size(client)
        if before <= budget:
            return None
        starts = self.replay.turn_starts()
        cuts = starts[bisect_left(starts, client.start + 1) : bisect_left(starts, at.end)]
        unsummarized = client._replace(summary_id=0, summary_tokens=0)

        def size_from(first: int) -> int:
            return at.size(unsummarized._replace(start=first))

        new = first_kept_message(cuts, size_from, budget)
        if new is None and cuts:
            new = cuts[-1]  # the current turn alone: sent whole, flagged over_window
        if new is None:
            return None
        kept = Prompt(new, at.end, at.kept_from_turn)
        return Fired(
            prompt=kept,
            event=event(
                at.row,
                at.request,
                TYPE,
                f"Request {at.request}: messages before #{new} dropped to fit a {budget:,}-token "
                "prompt.",
                tokens_before=before,
                tokens_after=at.size(kept),
                trigger=str(budget),
            ),
        )
