"""ctxviz._memo: one computation per conversation object, the last few kept."""

from __future__ import annotations

from _sim_builders import conversation, user

from ctxviz import _memo
from ctxviz.model import Conversation


def test_computed_once_per_conversation_object_and_forgotten_after_the_last_few() -> None:
    calls: list[int] = []

    @_memo.per_conversation
    def messages(conv: Conversation) -> int:
        calls.append(id(conv))
        return len(conv.messages)

    first = conversation([user("a")])
    twin = conversation([user("a")])  # equal content, another object: computed on its own
    assert messages(first) == messages(first) == messages(twin) == 1
    assert len(calls) == 2
    for _ in range(_memo.KEPT):
        messages(conversation([user("b")]))
    calls.clear()
    messages(first)  # pushed out by the newer ones
    assert len(calls) == 1
