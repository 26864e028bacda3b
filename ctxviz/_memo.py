"""A memo of what a function computes from one conversation, for the replays of it that follow
(a slider's): the conversation is held and compared by identity, so its id cannot be reused while
an entry lives; the last few conversations are kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps

from ctxviz.model import Conversation

KEPT = 8
"""Conversations remembered per function."""


def per_conversation[T](fn: Callable[[Conversation], T]) -> Callable[[Conversation], T]:
    """``fn(conv)``, computed once per conversation object (its value must not be mutated)."""
    entries: list[tuple[Conversation, T]] = []
    lock = threading.Lock()

    @wraps(fn)
    def memoized(conv: Conversation) -> T:
        with lock:
            for c, value in entries:
                if c is conv:
                    return value
        value = fn(conv)
        with lock:
            entries.append((conv, value))
            if len(entries) > KEPT:
                del entries[0]
        return value

    return memoized
