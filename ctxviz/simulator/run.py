"""``simulate`` and ``prompt_tokens``: the replay's two entry points."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from ctxviz.estimates import Pricing, TokenCounter
from ctxviz.model import Conversation
from ctxviz.models import ModelsArg, ModelTable
from ctxviz.policies import compaction_control as sdk_compaction
from ctxviz.policies.compact_on_demand import CompactOnDemand
from ctxviz.settings import SimulationSettings
from ctxviz.simulator.arguments import arguments
from ctxviz.simulator.assemble import assemble
from ctxviz.simulator.blocks import thinking_responses
from ctxviz.simulator.prepare import prepare, recorded_context_management
from ctxviz.simulator.result import Simulation


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
    compaction: CompactOnDemand | Mapping[str, Any] | None = None,
    thinking_prefix_mismatch: str | None = None,
    claude_code_autocompact: bool | Mapping[str, Any] | None = None,
    undo_recorded_compactions: bool = False,
    rolling_window: bool | int | None = None,
    compaction_control_totals: sdk_compaction.Totals = "sdk",
    prompt_caching: bool | None = None,
    counter: TokenCounter | None = None,
    message_frame_tokens: int | None = None,
    model_table: ModelTable | None = None,
    models: ModelsArg = None,
    defer_estimates: bool = True,
) -> Simulation:
    """Replay ``conv`` as recorded, or under the given policies (module doc; docs/api.md).

    ``model`` / ``context_window``: replay on another model or window. ``max_tokens``: the
    ``max_tokens`` every request asks for (models before 4.5 refuse input + max_tokens > window).
    ``context_management``:
    the API's ``{"edits": [...]}`` (replaces the recorded one). ``compaction_control``: the SDK's
    dict; ``compaction_control_totals``: ``"sdk"`` (its formula on the usage, inflated by server
    tools) or ``"context"`` (the real context). ``summary_tokens``: size of a what-if summary.
    ``thinking_preservation``: override the model's default (True keeps earlier turns' thinking).
    ``compact_at``: requests whose whole prompt is summarized on demand inside the request (the
    older shorthand). ``compaction``: compaction on demand as the client's loop
    (``ctxviz.policies.compact_on_demand.CompactOnDemand`` or a mapping of its fields: when,
    kept turns, background). ``thinking_prefix_mismatch``: ``"reject"`` (the API's 400, the
    default) or ``"drop"``, for preserved thinking that a client-side rewrite made invalid
    (``ctxviz.policies.preserved_thinking``). ``claude_code_autocompact``: True or a
    mapping of Claude Code's settings (``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE``, ``autoCompactWindow``,
    ``DISABLE_AUTO_COMPACT``; ``reserve_tokens`` replaces its reserve formula;
    ``ctxviz.policies.claude_code``). ``undo_recorded_compactions``: continue the history through
    recorded compactions (estimated from the last prompt before each). ``rolling_window``: True
    (fit the window) or a prompt budget in tokens.
    ``prompt_caching``: assume the client caches its prompts (default: as the recording shows; on
    for transcripts without usage). ``counter`` / ``message_frame_tokens``: the token counter
    (``(text, family) -> int``) and per-message frame. ``models``: the model table to use (a
    ``ModelTable``, a JSON file's path or its parsed content, merged over the bundled table;
    ``model_table`` is its older name). ``defer_estimates``: a replay as recorded whose every
    request is recorded makes the prompts' estimates when they are first read
    (``Simulation.deferred``); False makes them now (a caller that reads the frames at once).
    """
    settings, table, warnings = arguments(
        conv,
        model=model,
        context_window=context_window,
        max_tokens=max_tokens,
        context_management=context_management,
        compaction_control=compaction_control,
        summary_tokens=summary_tokens,
        thinking_preservation=thinking_preservation,
        compact_at=compact_at,
        compaction=compaction,
        thinking_prefix_mismatch=thinking_prefix_mismatch,
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
        if defer_estimates and not settings.what_if and _recorded_throughout(conv):
            sim = _responses_first(conv, settings, table, warnings)
            if sim is not None:
                return sim
        return assemble(*prepare(conv, settings, table, warnings))


def _recorded_throughout(conv: Conversation) -> bool:
    """Whether every request records its usage, in Claude's tokens, without context editing:
    replayed as recorded, its rows read nothing but the recording and the responses."""
    return (
        bool(conv.requests)
        and conv.format != "openai"  # OpenAI's usage counts OpenAI's tokens: the scale converts
        and recorded_context_management(conv) is None
        and all(r.usage is not None for r in conv.requests)
    )


def _responses_first(
    conv: Conversation, settings: SimulationSettings, table: ModelTable, warnings: list[str]
) -> Simulation | None:
    """The replay as recorded with only the text of the responses that think (and the first
    prompt's, for the hidden prefix) counted; the prompts' estimates — the composition, the
    scale and the columns made of them — are made by the whole replay, run when one of them is
    first read. None when a row turns out not to be as recorded."""
    first = conv.requests[0]
    pricing = Pricing(
        whole=frozenset(range(first.prompt_start, first.prompt_end)),
        visible=thinking_responses(conv),
    )
    sim = assemble(*prepare(conv, settings, table, list(warnings), pricing=pricing))
    sources = sim.request_columns["source"]
    if len(sources) != len(conv.requests) or any(s != "recorded" for s in sources):
        return None
    return replace(sim, _whole_replay=_WholeReplay(conv, settings, table, warnings))


class _WholeReplay:
    """``assemble(prepare(...))`` with every message counted, run once, on first need (several
    threads may ask at once: the app's pages)."""

    __slots__ = ("_args", "_lock", "_sim")

    def __init__(
        self,
        conv: Conversation,
        settings: SimulationSettings,
        table: ModelTable,
        warnings: list[str],
    ) -> None:
        self._args: tuple[Conversation, SimulationSettings, ModelTable, list[str]] | None = (
            conv,
            settings,
            table,
            warnings,
        )
        self._lock = threading.Lock()
        self._sim: Simulation | None = None

    @property
    def done(self) -> bool:
        return self._sim is not None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled, a replay is whole (a lock cannot be pickled, nor should the work be)."""
        return {"sim": self.simulation()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._args = None
        self._lock = threading.Lock()
        self._sim = state["sim"]

    def simulation(self) -> Simulation:
        with self._lock:
            if self._sim is None:
                assert self._args is not None
                with _gc_paused():
                    self._sim = assemble(*prepare(*self._args))
                self._args = None
            return self._sim


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
    settings, table, warnings = arguments(
        conv,
        context_management=context_management,
        counter=counter,
        message_frame_tokens=message_frame_tokens,
        models=models,
    )
    with _gc_paused():
        _, rows, _, _, _ = prepare(conv, settings, table, warnings)
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
