"""Preserved thinking: which earlier thinking blocks a model with preserved thinking can still use.

docs/semantics.md#preserved-thinking. Starting with Fable 5.1, every ``thinking`` /
``redacted_thinking`` block sent back is checked twice:

- **Model check** (every account): the current model must be able to read the block's producer
  (``can_read``, from the model table's ``thinking_readers`` / ``reads_thinking_of``). A block it
  cannot read is dropped without an error, is not billed and does not count toward
  ``input_tokens``.
- **Prefix check** (models with ``preserved_thinking``): ``system``, ``tools`` and every message
  before the block must be what was sent when the block was produced. A client-side rewrite of
  the history (the SDK's ``compaction_control``, a rolling window, a client summary that keeps
  recent turns, trimming) changes the prefix of the blocks it keeps: those blocks are invalid
  (``invalid_blocks``). Thinking before the change point and thinking produced after the rewrite
  stay valid. Server-side context editing (``clear_tool_uses``, ``clear_thinking``,
  ``compact_20260112``) and compaction on demand (the API writes and signs the summary) do not
  break it; nor, by the pages' word, does Claude Code, which builds its own requests.

What the API does with an invalid block is the request's choice
(``thinking.block_binding.prefix_mismatch_behavior``, beta
``thinking-binding-controls-2026-08-01``): ``"error"`` (the default where the check is
enforced) answers 400 naming the first failing block; ``"drop_block"`` drops each failing block
and every later thinking block, unbilled, and the prompt cache restarts there. ctxviz calls
these ``reject`` and ``drop`` (``MISMATCH_BEHAVIOURS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, get_args

from ctxviz.models import ModelInfo

MismatchBehaviour: TypeAlias = Literal["reject", "drop"]
MISMATCH_BEHAVIOURS: Final[tuple[str, ...]] = get_args(MismatchBehaviour)
DEFAULT_BEHAVIOUR: Final[MismatchBehaviour] = "reject"
"""The API's default (``prefix_mismatch_behavior: "error"``)."""
API_VALUE: Final[dict[str, str]] = {"reject": "error", "drop": "drop_block"}
"""ctxviz's name of each behaviour → the API's ``prefix_mismatch_behavior``."""
BETA: Final = "thinking-binding-controls-2026-08-01"

REJECTED_TYPE: Final = "thinking_prefix_rejected"
"""Event: the request the API would answer with a 400 (``reject``)."""
DROPPED_TYPE: Final = "thinking_prefix_dropped"
"""Event: invalid blocks dropped from the prompt (``drop``)."""
UNREADABLE_TYPE: Final = "thinking_model_dropped"
"""Event: blocks the current model cannot read, dropped (``model_binding_mismatch``)."""


def from_arg(value: str | None) -> MismatchBehaviour:
    """``simulate(thinking_prefix_mismatch=...)``: ``reject`` (default) or ``drop``; the API's
    own spellings (``error`` / ``drop_block``) are accepted too."""
    if value is None:
        return DEFAULT_BEHAVIOUR
    spelled = {"error": "reject", "drop_block": "drop"}.get(value, value)
    if spelled == "reject":
        return "reject"
    if spelled == "drop":
        return "drop"
    raise ValueError(
        f"thinking_prefix_mismatch: expected 'reject' or 'drop' (the API's 'error' / "
        f"'drop_block'), got {value!r}"
    )


def can_read(reader: ModelInfo, producer: ModelInfo) -> bool:
    """Whether ``reader`` can use a thinking block ``producer`` wrote (the model check)."""
    if reader.id == producer.id:
        return True
    only = reader.reads_thinking_of if reader.preserved_thinking else None
    if only is not None and producer.id not in only:
        return False
    if producer.preserved_thinking:
        readers = producer.thinking_readers
        if readers is None:
            # the page's rule: a model reads its own blocks and those of earlier models
            return (
                reader.preserved_thinking
                and reader.released is not None
                and producer.released is not None
                and reader.released >= producer.released
            )
        return "*" in readers or reader.id in readers
    return True  # no model check before Fable 5.1's blocks


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewrite:
    """A client-side change of the history: before ``request`` was sent, the messages before
    ``change_at`` were replaced (summarized, dropped) and those from ``change_at`` on kept."""

    request: int
    change_at: int
    """First kept message whose prefix changed (the first message after the summary or cut)."""


def invalid_blocks(
    blocks: Iterable[tuple[int, int]], rewrites: Sequence[Rewrite], *, request: int
) -> tuple[int, ...]:
    """The thinking blocks invalid at ``request``, by message index, ascending. ``blocks``:
    (message index, request that produced it) of each thinking block in the prompt. A block is
    invalid when a rewrite sent at or before ``request`` came after it was produced and kept it
    (it sits at or after the rewrite's ``change_at``): the change invalidates the thinking that
    already followed it; thinking produced after the rewrite is valid (prefix-checks page)."""
    return tuple(
        sorted(
            message
            for message, produced_by in blocks
            if any(
                produced_by < rw.request <= request and message >= rw.change_at for rw in rewrites
            )
        )
    )


def unreadable_blocks(
    blocks: Iterable[tuple[int, ModelInfo]], reader: ModelInfo
) -> tuple[int, ...]:
    """The thinking blocks, by message index, that ``reader`` cannot read (``can_read``):
    ``blocks`` holds (message index, the model that produced it)."""
    return tuple(sorted(m for m, producer in blocks if not can_read(reader, producer)))


def block_binding(behaviour: MismatchBehaviour) -> dict[str, str]:
    """``thinking.block_binding`` as the API takes it, for this behaviour."""
    return {"prefix_mismatch_behavior": API_VALUE[behaviour]}
