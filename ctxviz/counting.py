"""The offline ``count_tokens``: one request body replayed by the simulator.

The imports go one way: ``estimates`` (per-block token estimates) ← ``simulator`` (the replay) ←
``counting`` (this module). The per-block names tests and scripts read here
(``block_tokens``, ``conversation_tokens``…) are ``ctxviz.estimates``'s, re-exported.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from ctxviz.estimates import (
    COMPACTION_WRAPPER_TOKENS,
    TokenCounter,
    block_tokens,
    conversation_tokens,
    image_dimensions,
)
from ctxviz.model import CompactionBlock, Request
from ctxviz.models import ModelsArg
from ctxviz.policies import compact
from ctxviz.simulator import prompt_tokens

__all__ = [
    "COMPACTION_WRAPPER_TOKENS",
    "TokenCounter",
    "block_tokens",
    "conversation_tokens",
    "count_tokens",
    "image_dimensions",
]


def count_tokens(
    body: Mapping[str, Any],
    *,
    counter: TokenCounter | None = None,
    message_frame_tokens: int | None = None,
    models: ModelsArg = None,
) -> dict[str, Any]:
    """Offline ``POST /v1/messages/count_tokens``: same request shape, same answer shape.

    The whole ``messages`` list is one prompt, replayed by ``ctxviz.simulate`` (earlier turns'
    thinking stripped as the API does; the clearing edits of ``context_management`` applied, with
    ``original_input_tokens`` before them). ``compact_20260112`` is not applied: compaction needs
    a model call, which counting does not make. ``models``: the model table (as for
    ``ctxviz.simulate``), which says e.g. whether the model keeps earlier turns' thinking.
    """
    from ctxviz.loading import loads  # the loaders, only when a body is counted

    conv = loads(json.dumps(body), format="anthropic")
    start = 0
    for m, message in enumerate(conv.messages):
        if any(isinstance(b, CompactionBlock) for b in message.content):
            start = m
    first = conv.requests[0] if conv.requests else None
    request = Request(
        index=0,
        prompt_start=start,
        prompt_end=len(conv.messages),
        response=None,
        model=first.model if first else conv.model,
        max_tokens=first.max_tokens if first else None,
        thinking=first.thinking if first else None,
        tool_choice=first.tool_choice if first else None,
        output_format=first.output_format if first else None,
        betas=first.betas if first else (),
    )
    single = dataclasses.replace(conv, requests=(request,))
    cm = body.get("context_management")
    clearing = None
    if isinstance(cm, Mapping):
        edits = [e for e in cm.get("edits", []) if not _is_compact(e)]
        clearing = {**cm, "edits": edits} if edits else None
    input_tokens, original_input_tokens = prompt_tokens(  # simulate's replay, without frames
        single,
        context_management=clearing,
        counter=counter,
        message_frame_tokens=message_frame_tokens,
        models=models,
    )
    answer: dict[str, Any] = {"input_tokens": input_tokens}
    if cm is not None:
        answer["context_management"] = {"original_input_tokens": original_input_tokens}
    return answer


def _is_compact(edit: Any) -> bool:
    return isinstance(edit, Mapping) and edit.get("type") == compact.TYPE
