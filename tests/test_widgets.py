"""ctxviz.explore, headless: set a control from code, and the replay, figure and export follow.

Every replay is compared with ``ctxviz.simulate`` called with the configuration the widget
exports, so the sliders cannot drift from what the exported code would do.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import ctxviz
import ctxviz.figures
from ctxviz.notebook import IMAGE_WIDTH_PX, plotly_fallback, static_bundle

pytest.importorskip("ipywidgets")

SAMPLES = Path(__file__).resolve().parents[1] / "sample_conversations"
TOOL_LOOP = SAMPLES / "agent_tool_loop.jsonl.xz"
SESSION = SAMPLES / "claude_code_session.zip"
PLOTLY = "application/vnd.plotly.v1+json"


def _figure_data(panel: Any) -> list[dict[str, Any]]:
    (shown, *_) = panel.output.outputs
    data: list[dict[str, Any]] = shown["data"][PLOTLY]["data"]
    return data


def _same_replay(panel: Any, **kwargs: Any) -> None:
    expected = ctxviz.simulate(panel.conv, **kwargs)
    assert panel.sim.requests["input_tokens"].tolist() == expected.requests["input_tokens"].tolist()
    assert panel.sim.events["type"].tolist() == expected.events["type"].tolist()


@pytest.fixture(scope="module")
def tool_loop() -> Any:
    return ctxviz.explore(ctxviz.load(TOOL_LOOP))


@pytest.fixture(scope="module")
def session() -> Any:
    return ctxviz.explore(ctxviz.load(SESSION))


def test_explore_is_public_and_shows_two_tabs(tool_loop: Any) -> None:
    assert "explore" in ctxviz.__all__
    assert tool_loop.titles == ("Context editing", "Compaction")
    assert tool_loop.children == (tool_loop.editing.widget, tool_loop.compaction.widget)
    bundle = tool_loop.editing.output.outputs[0]["data"]
    assert bundle[PLOTLY]["data"]
    assert "cdn.plot.ly" in bundle["text/html"]  # a saved notebook with widget state shows it
    assert "image/png" not in bundle  # a slider never waits for an image
    json.dumps(tool_loop.editing.output.outputs)  # what goes to the front end is JSON


def test_a_slider_replays_and_redraws_in_place(tool_loop: Any) -> None:
    editing = tool_loop.editing
    c = editing.controls
    assert c["clear_tools"].value and c["trigger_tokens"].value == 100_000  # the app's defaults
    before_figure = _figure_data(editing)
    before_export = editing.exports["context_management"]
    output = editing.output

    c["trigger_tokens"].value = 30_000
    c["keep"].value = 3
    assert editing.output is output  # the same widget, redrawn
    assert _figure_data(editing) != before_figure
    export = editing.exports["context_management"]
    assert export != before_export
    cm = json.loads(export)
    assert cm["edits"][0]["trigger"] == {"type": "input_tokens", "value": 30_000}
    _same_replay(editing, context_management=cm)
    assert (editing.sim.events["type"] == "clear_tool_uses_20250919").any()
    assert "context-management-2025-06-27" in editing.exports["Python SDK call"]
    # applied_edits follows the replay: the last request where an edit applied
    i = editing.request.value
    assert json.dumps(editing.sim.applied_edits(i), indent=2).splitlines()[0] in (
        editing.applied_edits.value
    )

    c["trigger_type"].value = "tool_uses"
    assert c["trigger_uses"].layout.display is None
    assert c["trigger_tokens"].layout.display == "none"
    cm = json.loads(editing.exports["context_management"])
    assert cm["edits"][0]["trigger"] == {"type": "tool_uses", "value": 10}
    _same_replay(editing, context_management=cm)

    c["clear_tools"].value = False
    assert c["keep"].disabled
    assert editing.exports == {"context_management": "No edit selected: the replay is as recorded."}
    _same_replay(editing)


def test_thinking_edit_only_where_there_is_thinking(tool_loop: Any, session: Any) -> None:
    assert not tool_loop.editing.conv.thinking_enabled
    assert tool_loop.editing.controls["clear_thinking"].disabled
    editing = session.editing
    assert not editing.controls["clear_thinking"].disabled
    editing.controls["clear_thinking"].value = True
    cm = json.loads(editing.exports["context_management"])
    assert [e["type"] for e in cm["edits"]] == [
        "clear_thinking_20251015",
        "clear_tool_uses_20250919",
    ]
    _same_replay(editing, context_management=cm)


def test_compaction_opens_on_the_recording_one_click_from_a_what_if(session: Any) -> None:
    compaction = session.compaction
    c = compaction.controls
    assert c["mode"].value == "recorded"
    assert c["undo"].disabled and c["summary_tokens"].disabled
    assert compaction.exports == {"Policy": "As recorded: no policy to export."}
    _same_replay(compaction)
    recorded_figure = _figure_data(compaction)

    c["mode"].value = "server"
    assert c["trigger"].layout.display is None and c["threshold"].layout.display == "none"
    assert c["undo"].value and not c["undo"].disabled  # the session compacted: undone
    c["trigger"].value = 60_000
    cm = json.loads(compaction.exports["context_management"])
    assert cm == {
        "edits": [
            {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 60_000}}
        ]
    }
    _same_replay(compaction, context_management=cm, undo_recorded_compactions=True)
    assert (compaction.sim.events["type"] == "compact_20260112").any()
    assert _figure_data(compaction) != recorded_figure
    (_, table) = compaction.output.outputs
    assert "compact_20260112" in table["data"]["text/plain"]  # the events table below

    c["mode"].value = "sdk"
    c["threshold"].value = 60_000
    assert compaction.exports["compaction_control"] == (
        '{"enabled": True, "context_token_threshold": 60000}'
    )
    _same_replay(
        compaction,
        compaction_control={"enabled": True, "context_token_threshold": 60_000},
        undo_recorded_compactions=True,
    )

    c["mode"].value = "claude_code"
    assert "client behaviour" in compaction.exports["Policy"]
    # Claude Code's defaults: nothing passed but True, as on the app's page and the CLI
    _same_replay(compaction, claude_code_autocompact=True, undo_recorded_compactions=True)
    assert (compaction.sim.events["type"] == "claude_code_autocompact").any()
    # its own settings, by their names: 50 % of (200K - 20K) = 90K fires earlier
    c["pct"].value = 50
    _same_replay(
        compaction,
        claude_code_autocompact={"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": 50},
        undo_recorded_compactions=True,
    )
    fired = compaction.sim.events[compaction.sim.events["type"] == "claude_code_autocompact"]
    assert int(fired["request"].min()) < 23  # the recorded compaction was at request 23
    c["pct"].value = 100
    c["disable"].value = True
    _same_replay(
        compaction,
        claude_code_autocompact={"DISABLE_AUTO_COMPACT": True},
        undo_recorded_compactions=True,
    )
    assert not (compaction.sim.events["type"] == "claude_code_autocompact").any()


def test_a_policy_the_api_rejects_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    editing = ctxviz.explore(ctxviz.load(TOOL_LOOP)).editing
    last_sim, last_outputs = editing.sim, editing.output.outputs
    rejected = {
        "edits": [{"type": "clear_thinking_20251015"}, {"type": "clear_tool_uses_20250919"}]
    }
    with pytest.raises(ValueError) as raised:
        ctxviz.simulate(editing.conv, context_management=rejected)
    monkeypatch.setattr(editing, "kwargs", lambda: {"context_management": rejected})
    editing.update()
    assert editing.error == str(raised.value)
    assert "The API would reject this" in editing.summary.value
    assert editing.sim is last_sim and editing.output.outputs == last_outputs


def test_static_fallback_only_where_plotly_chose_its_jupyter_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import plotly.io as pio

    monkeypatch.delenv("PLOTLY_RENDERER", raising=False)
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    assert plotly_fallback() == "plotly_mimetype+ctxviz_static"
    assert plotly_fallback() is None  # once is enough
    monkeypatch.setattr(pio.renderers, "default", "browser")
    assert plotly_fallback() is None  # a script or a terminal: not a notebook
    assert pio.renderers.default == "browser"
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    monkeypatch.setenv("PLOTLY_RENDERER", "plotly_mimetype")
    assert plotly_fallback() is None  # the user's choice stands


def _png_width(b64: str) -> int:
    """The width in the header of a base64 PNG (and that it is a PNG at all)."""
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big")


def _static_images() -> bool:
    return importlib.util.find_spec("kaleido") is not None and shutil.which("chromium") is not None


@pytest.mark.slow
def test_a_saved_figure_is_a_png_where_kaleido_finds_a_browser() -> None:
    if not _static_images():
        pytest.skip("kaleido or chromium missing: no PNG can be made here")
    fig = ctxviz.figures.timeline(ctxviz.simulate(ctxviz.load(TOOL_LOOP)))
    bundle = static_bundle(fig.to_dict())
    # only the PNG: readers show HTML before an image, and GitHub's HTML would be blank
    assert set(bundle) == {"image/png"}
    assert _png_width(bundle["image/png"]) == IMAGE_WIDTH_PX


def test_a_saved_figure_is_html_where_no_browser_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from choreographer.browsers.chromium import Chromium

    monkeypatch.setattr(Chromium, "find_browser", classmethod(lambda cls, **kw: None))
    fig = ctxviz.figures.timeline(ctxviz.simulate(ctxviz.load(TOOL_LOOP)))
    bundle = static_bundle(fig.to_dict())
    assert "image/png" not in bundle
    assert "cdn.plot.ly" in bundle["text/html"] and "Plotly.newPlot" in bundle["text/html"]


@pytest.mark.slow
def test_the_explorer_shows_a_png_of_its_figure_where_widgets_are_not_drawn(
    tool_loop: Any,
) -> None:
    if not _static_images():
        pytest.skip("kaleido or chromium missing: no PNG can be made here")
    bundle = tool_loop._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert _png_width(bundle["image/png"]) == IMAGE_WIDTH_PX
