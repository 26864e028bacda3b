"""The prompt descriptor's ``thinking_from``: thinking before a message dropped from a prompt
(preserved thinking made invalid by a client-side rewrite, docs/semantics.md#preserved-thinking)."""

from __future__ import annotations

import numpy as np
from _sim_builders import assistant, call, conversation, result, think, user, w, words

from ctxviz.estimates import conversation_tokens
from ctxviz.models import default_table
from ctxviz.policies.step import Prompt
from ctxviz.simulator.engine import Engine


def _engine() -> Engine:
    conv = conversation(
        [
            user(w(10)),
            assistant(think(w(100)), call("t1")),
            user(result("t1", w(20))),
            assistant(think(w(200)), "done"),
            user(w(5)),
        ],
        model="claude-opus-5-5",
    )
    ct = conversation_tokens(conv, family="v5", counter=words)
    return Engine(
        conv,
        ct,
        excluded_messages=frozenset(),
        excluded_blocks=frozenset(),
        clear=None,
        placeholder_tokens=0,
        table=default_table(),
    )


def test_thinking_from_drops_the_thinking_before_it() -> None:
    engine = _engine()
    full = Prompt(0, 5, 0)
    both = engine.estimate(full)
    assert engine.estimate(full._replace(thinking_from=2)) == both - 100
    assert engine.estimate(full._replace(thinking_from=4)) == both - 300
    assert engine.kept_thinking_start(full._replace(thinking_from=2)) == 2
    many = np.asarray([full, full._replace(thinking_from=2)], dtype=np.int64)
    assert engine.estimate_many(many).tolist() == [both, both - 100]


def test_thinking_from_moves_the_first_difference_to_the_dropped_block() -> None:
    engine = _engine()
    a = np.asarray([Prompt(0, 5, 0)], dtype=np.int64)
    b = np.asarray([Prompt(0, 5, 0, thinking_from=4)], dtype=np.int64)
    assert engine.first_difference_many(a, b).tolist() == [1]
    assert engine.first_difference_many(a, a).tolist() == [5]
