"""Token sliders whose top is the window follow the replay window, not the model's.

The bundled Claude Code session runs a model whose own window is 1M, but Claude Code replays it on
200K (``ctxviz.policies.limits.window_tokens``): a trigger slider up to 1M would lie 80% past the
window the replay uses."""

from __future__ import annotations

import pytest
from apptest_helpers import page, run

from ctxviz.policies.claude_code import CLAUDE_CODE_WINDOW_TOKENS

REPLAY_WINDOW = CLAUDE_CODE_WINDOW_TOKENS  # the bundled session's replay window (200,000)


def test_the_sample_replays_on_claude_codes_window_below_the_models() -> None:
    at = run(page("3_Context_editing.py"))
    caption = next(c.value for c in at.sidebar.caption if "replayed on a" in c.value)
    assert f"replayed on a {REPLAY_WINDOW:,}-token window" in caption
    assert f"the model's: {REPLAY_WINDOW:,})" not in caption  # the model's own is larger


def test_context_editing_trigger_slider_stops_at_the_replay_window() -> None:
    at = run(page("3_Context_editing.py"))
    at.toggle(key="ce_tools").set_value(True)
    run(at)
    assert at.slider(key="ce_trigger_tokens").max == REPLAY_WINDOW


@pytest.mark.parametrize(("mode", "key"), [("server", "cp_trigger"), ("sdk", "cp_threshold")])
def test_compaction_trigger_slider_stops_at_the_replay_window(mode: str, key: str) -> None:
    at = run(page("4_Compaction.py"))
    at.radio(key="cp_mode").set_value(mode)
    run(at)
    assert at.slider(key=key).max == REPLAY_WINDOW
