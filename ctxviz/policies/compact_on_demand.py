"""Compaction on demand: the top-level ``compaction`` parameter (beta ``compact-2026-09-04``).

A feature of its own, not a ``context_management`` edit (docs/semantics.md#compaction-on-demand):
the client sends a separate compaction request, ``compaction: {type: "summarize",
instructions?}``, with the conversation as it stands; the response holds only a signed
``compaction`` block (``stop_reason: "compaction"``, top-level usage 0, the call billed as a
``compaction`` entry of ``usage.iterations``); later requests send the block first in
``messages`` in place of the messages it summarized. It cannot be combined with
``context_management`` on one request.

The API has no trigger: the client's loop decides when. This module holds that decision
(``CompactOnDemand.fires``), which turns stay verbatim after the summary (``keep_from``) and, for
the background variant, when the block is swapped in (``swap_request``):

- **when**: before chosen requests (``at_requests``; ``simulate(compact_at=...)`` is the older
  form that summarizes a chosen request's whole prompt inside it), every N requests since the
  last compaction (``every_requests``), before each request that opens a user turn
  (``at_user_turns``), or when the conversation reaches X tokens (``at_prompt_tokens``): as in
  the documented loop, the previous request's prompt plus its output (what the next request
  sends again) ``>`` X. A compaction before a request that opens a turn carries the history
  before its new user message, which follows the block; inside a tool loop it carries the tool
  results too (the API refuses an unanswered tool call).
- **cost and cache**: the compaction request is billed on the row of the request it precedes
  (``compaction_input_tokens``: the history it carried; ``compaction_output_tokens``: the
  summary), like a compaction iteration; after the block the prompt shares only the system
  prompt and tools with the one before, so the rest is a cache miss.
- **keep recent turns**: no API parameter; the client leaves the last K turns out of the
  compaction request and sends them after the block, word for word. The cut falls between a reply
  and the next genuine user message, so no tool call is left open and the kept thinking stays
  valid on models with preserved thinking.
- **background**: the compaction request runs while the conversation continues on its full
  history; the block replaces exactly the messages the request held, on the first request after
  it arrives. A replay has no clock for the summary call, so the swap comes ``swap_after_requests``
  requests after the compaction request was sent (default 1: in the documented loop the request
  is checked for completion before each next turn, and it was sent just before the first of
  them, so that one still runs on the full history). No second compaction starts while one is
  pending.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from ctxviz.policies.base import ChartLine
from ctxviz.policies.step import At, Fired, Prompt, Replay, event

if TYPE_CHECKING:
    from anthropic.types.beta import BetaCompactionConfigParam as CompactionParam

TYPE: Final = "summarize"
"""``compaction.type``: the only type."""
BETA: Final = "compact-2026-09-04"
"""Beta header of the compaction request and of every request that carries its block."""
EVENT: Final = "compaction_on_demand"
"""The event of a block put in front of the history (at once, or swapped in later)."""
SENT_EVENT: Final = "compaction_on_demand_sent"
"""The event of a background compaction request sent (the history is not replaced yet)."""
MAX_INSTRUCTIONS_CHARS: Final = 16_384
"""The API's limit on ``compaction.instructions``."""
DEFAULT_SWAP_AFTER_REQUESTS: Final = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactOnDemand:
    """When the client asks for a summary, what it keeps, and whether it waits for it."""

    at_requests: tuple[int, ...] = ()
    """Recorded requests before which a compaction request is sent."""
    every_requests: int | None = None
    """Compact before every N-th request since the start or the last compaction."""
    at_user_turns: bool = False
    """Compact before each request that opens a user turn (not the first)."""
    at_prompt_tokens: int | None = None
    """Compact when the previous request's prompt plus its output exceeds this (tokens)."""
    keep_recent_turns: int = 0
    """Turns left out of the compaction request and sent verbatim after the block."""
    background: bool = False
    """The conversation continues on its full history until the block arrives."""
    swap_after_requests: int = DEFAULT_SWAP_AFTER_REQUESTS
    """Background only: requests sent on the full history before the block is swapped in."""
    instructions: str | None = None
    """Replaces the API's summarization prompt."""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def scheduled(self) -> bool:
        """Whether any ``when`` is set (otherwise it never fires)."""
        return bool(
            self.at_requests
            or self.every_requests is not None
            or self.at_user_turns
            or self.at_prompt_tokens is not None
        )

    def fires(
        self,
        *,
        request: int,
        requests_since: int,
        opens_turn: bool,
        conversation_tokens: int | None,
    ) -> bool:
        """Whether a compaction request is sent before ``request``. ``requests_since``: requests
        sent since the last compaction (or since the start); ``opens_turn``: the request's prompt
        ends with a genuine user message; ``conversation_tokens``: the previous request's prompt
        plus its output (None for the first request)."""
        if request in self.at_requests:
            return True
        if request == 0:
            return False
        if self.every_requests is not None and requests_since >= self.every_requests:
            return True
        if self.at_user_turns and opens_turn:
            return True
        return (
            self.at_prompt_tokens is not None
            and conversation_tokens is not None
            and conversation_tokens > self.at_prompt_tokens
        )

    def bind(self, replay: Replay) -> Step:
        """The client's loop over one replay (a ``ctxviz.policies.step.ClientPolicy``)."""
        return Step(self, replay)

    def swap_request(self, sent_before: int) -> int:
        """The request that first sends the block, when the compaction request was sent before
        request ``sent_before``."""
        return sent_before + self.swap_after_requests if self.background else sent_before

    def to_api(self) -> CompactionParam:
        """The top-level ``compaction`` parameter of the compaction request (``from_api``'s
        inverse; the ``when`` is the client's, not the API's)."""
        out: CompactionParam = {"type": TYPE}
        if self.instructions is not None:
            out["instructions"] = self.instructions
        return out

    def chart_line(self) -> ChartLine | None:
        """The threshold a chart draws, when the client compacts past a number of tokens (it
        measures the previous prompt plus its output)."""
        if self.at_prompt_tokens is None:
            return None
        return ChartLine(
            tokens=self.at_prompt_tokens,
            label=f"compaction on demand past {self.at_prompt_tokens:,} (prompt + output)",
        )

    def describe(self) -> str:
        """One line for a legend or an event."""
        when: list[str] = []
        if self.at_requests:
            when.append("before request(s) " + ", ".join(str(r) for r in self.at_requests))
        if self.every_requests is not None:
            when.append(f"every {self.every_requests} requests")
        if self.at_user_turns:
            when.append("at each user turn")
        if self.at_prompt_tokens is not None:
            when.append(f"past {self.at_prompt_tokens:,} tokens")
        text = "compaction on demand " + (" or ".join(when) if when else "never")
        if self.keep_recent_turns:
            text += f", keeping the last {self.keep_recent_turns} turn(s)"
        if self.background:
            text += f", in the background (swapped in {self.swap_after_requests} request(s) later)"
        return text


def _problems(c: CompactOnDemand) -> list[str]:
    problems: list[str] = []
    if any(not _is_count(r, minimum=0) for r in c.at_requests):
        problems.append(f"at_requests: expected request indices >= 0, got {c.at_requests!r}")
    if c.every_requests is not None and not _is_count(c.every_requests, minimum=1):
        problems.append(f"every_requests: expected an integer >= 1, got {c.every_requests!r}")
    if c.at_prompt_tokens is not None and not _is_count(c.at_prompt_tokens, minimum=1):
        problems.append(f"at_prompt_tokens: expected an integer >= 1, got {c.at_prompt_tokens!r}")
    if not _is_count(c.keep_recent_turns, minimum=0):
        problems.append(f"keep_recent_turns: expected an integer >= 0, got {c.keep_recent_turns!r}")
    if not _is_count(c.swap_after_requests, minimum=1):
        problems.append(
            f"swap_after_requests: expected an integer >= 1, got {c.swap_after_requests!r}"
        )
    if c.instructions is not None:
        if not isinstance(c.instructions, str):
            problems.append(f"instructions: expected a string, got {c.instructions!r}")
        elif len(c.instructions) > MAX_INSTRUCTIONS_CHARS:
            problems.append(
                f"instructions: {len(c.instructions):,} characters; the API takes at most "
                f"{MAX_INSTRUCTIONS_CHARS:,}"
            )
    return problems


def _is_count(value: object, *, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def from_api(
    compaction: Mapping[str, object], when: CompactOnDemand | None = None
) -> CompactOnDemand:
    """The top-level ``compaction`` parameter as the API takes it, on the client's ``when``
    (``CompactOnDemand``'s other fields; default: none yet). A ``ValueError`` names what the API
    rejects."""
    if not isinstance(compaction, Mapping):
        raise ValueError(f"compaction: expected an object, got {compaction!r}")
    unknown = sorted(set(compaction) - {"type", "instructions"})
    if unknown:
        raise ValueError(f"compaction: unknown field(s) {', '.join(unknown)}")
    if compaction.get("type") != TYPE:
        raise ValueError(f"compaction.type: expected 'summarize', got {compaction.get('type')!r}")
    instructions = compaction.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise ValueError(f"compaction.instructions: expected a string, got {instructions!r}")
    if isinstance(instructions, str) and not instructions.strip():
        instructions = None  # the API treats a blank value as absent
    return replace(when or CompactOnDemand(), instructions=instructions)


def keep_from(
    turn_starts: Sequence[int], *, start: int, end: int, keep_recent_turns: int
) -> int | None:
    """The first message kept verbatim after the block when the history is ``[start, end)`` and
    turns open at ``turn_starts`` (ascending message indices of genuine user messages): ``end``
    (keep nothing) for 0, else the start of the ``keep_recent_turns``-th last turn opened inside
    ``(start, end)``. None when the history has no more turns than that: the older part would be
    empty, and the documented loop does not compact then."""
    if keep_recent_turns <= 0:
        return end
    inside = [t for t in turn_starts if start < t < end]
    if len(inside) < keep_recent_turns:
        return None
    return inside[-keep_recent_turns]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A compaction request sent before request ``request``: it carries messages
    ``[start, keep_from)`` (with the system prompt and tools); from request ``swap_at`` on, the
    block stands first in their place, followed by messages ``keep_from`` onwards."""

    request: int
    start: int
    keep_from: int
    swap_at: int


def decide(
    cfg: CompactOnDemand,
    *,
    request: int,
    requests_since: int,
    start: int,
    prompt_end: int,
    turn_starts: Sequence[int],
    conversation_tokens: int | None,
    pending: bool,
) -> Decision | None:
    """Whether the client sends a compaction request before ``request`` (whose history as sent
    would be messages ``[start, prompt_end)``), and what it carries. ``turn_starts``: ascending
    indices of the genuine user messages. None when the policy does not fire, when a background
    compaction is still pending (the docs: never two at once), or when nothing older than the
    kept turns is left to summarize.

    A request whose prompt ends with a genuine user message is a turn boundary: the compaction
    request carries the history before that message, which follows the block. Inside a tool
    loop, it carries the tool results too (the API refuses a compaction request whose last
    assistant turn has an unanswered tool call)."""
    if pending or prompt_end <= start:
        return None
    last = prompt_end - 1
    i = bisect_left(turn_starts, last)
    opens_turn = i < len(turn_starts) and turn_starts[i] == last
    if not cfg.fires(
        request=request,
        requests_since=requests_since,
        opens_turn=opens_turn,
        conversation_tokens=conversation_tokens,
    ):
        return None
    history_end = last if opens_turn else prompt_end
    kept = keep_from(
        turn_starts, start=start, end=history_end, keep_recent_turns=cfg.keep_recent_turns
    )
    if kept is None or kept <= start:
        return None
    return Decision(request=request, start=start, keep_from=kept, swap_at=cfg.swap_request(request))


class Step:
    """Compaction on demand over one replay: before each request, the client may send a
    compaction request (billed on that request's row, like a compaction iteration) and put the
    block in front, at once or ``swap_after_requests`` later in the background.

    Where the cut is, the cache restarts: the prompt after the swap shares nothing with the one
    before but the system prompt and tools. The thinking in kept turns stays valid on models with
    preserved thinking (the API wrote the summary)."""

    __slots__ = ("config", "pending", "replay", "since")

    def __init__(self, config: CompactOnDemand, replay: Replay) -> None:
        self.config = config
        self.replay = replay
        self.since = 0
        """Requests sent since the start or the last compaction request."""
        self.pending: Decision | None = None
        """A background compaction request whose block has not been swapped in yet."""

    def before_sending(self, client: Prompt, at: At) -> Fired | None:
        """Swap in a block that arrived, or send a compaction request when the policy says so."""
        if self.pending is not None and at.request >= self.pending.swap_at:
            swapped = self._swap(self.pending, client, at)
            self.pending = None
            self.since += 1
            return swapped
        previous = at.previous
        decision = decide(
            self.config,
            request=at.request,
            requests_since=self.since,
            start=client.start,
            prompt_end=at.end,
            turn_starts=self.replay.turn_starts(),
            conversation_tokens=(
                None if previous is None else previous.input_tokens + previous.output_tokens
            ),
            pending=self.pending is not None,
        )
        if decision is None:
            self.since += 1
            return None
        self.since = 1
        sent = client._replace(end=decision.keep_from)
        read, before = at.size(sent), at.size(client)
        if decision.swap_at > at.request:
            self.pending = decision
            return Fired(
                prompt=client,
                event=event(
                    at.row,
                    at.request,
                    SENT_EVENT,
                    f"Before request {at.request}: a compaction request ({read:,} tokens, "
                    f"messages #{decision.start}-#{decision.keep_from - 1}) runs in the "
                    f"background; the conversation continues on its full history until its "
                    f"{at.summary_tokens:,}-token block is swapped in at request "
                    f"{decision.swap_at}.",
                    tokens_before=before,
                    tokens_after=before,
                    summary_tokens=at.summary_tokens,
                    trigger="background",
                ),
                compaction_input_tokens=read,
                compaction_output_tokens=at.summary_tokens,
                keeps_thinking_valid=True,
            )
        after_prompt = at.summary(first_kept=decision.keep_from, kept_from_turn=client[2])
        after = at.size(after_prompt)
        kept = (
            f", then the messages from #{decision.keep_from} on, verbatim"
            if decision.keep_from < at.end
            else ""
        )
        return Fired(
            prompt=after_prompt,
            event=event(
                at.row,
                at.request,
                EVENT,
                f"Before request {at.request}: a compaction request read {read:,} tokens "
                f"(messages #{decision.start}-#{decision.keep_from - 1}) and wrote a "
                f"{at.summary_tokens:,}-token block; the request sends the block first{kept} "
                f"({after:,} tokens instead of {before:,}).",
                tokens_before=before,
                tokens_after=after,
                summary_tokens=at.summary_tokens,
                trigger="on_demand",
            ),
            compaction_input_tokens=read,
            compaction_output_tokens=at.summary_tokens,
            keeps_thinking_valid=True,
        )

    def _swap(self, decision: Decision, client: Prompt, at: At) -> Fired | None:
        """The block of a background compaction request replaces exactly the messages it
        carried; what the history gained since stays after it. None when the history changed in
        front meanwhile (another policy cut it): the block no longer fits and is discarded."""
        if client.start != decision.start or not decision.keep_from <= at.end:
            return None
        after_prompt = at.summary(first_kept=decision.keep_from, kept_from_turn=client[2])
        before, after = at.size(client), at.size(after_prompt)
        return Fired(
            prompt=after_prompt,
            event=event(
                at.row,
                at.request,
                EVENT,
                f"Request {at.request}: the block of the compaction request sent before request "
                f"{decision.request} arrived and replaces messages #{decision.start}-"
                f"#{decision.keep_from - 1}; the {at.request - decision.request} request(s) "
                f"since ran on the full history ({after:,} tokens instead of {before:,}).",
                tokens_before=before,
                tokens_after=after,
                summary_tokens=at.summary_tokens,
                trigger="swap",
            ),
            keeps_thinking_valid=True,
        )
