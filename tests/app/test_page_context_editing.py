"""pages/3_Context_editing.py."""

from __future__ import annotations

import json

from apptest_helpers import page, run, spec, trace


def start() -> object:
    at = page("3_Context_editing.py")
    at.query_params["source"] = "agent_tool_loop"
    at.query_params["ce_tools"] = "true"  # the page opens as recorded; the what-if is a click
    return run(at)


def test_trigger_changes_the_after_curve_and_applied_edits() -> None:
    at = start()
    sent = trace(spec(at), "Sent after edits")["y"]
    at.slider(key="ce_trigger_tokens").set_value(40_000)
    run(at)
    assert trace(spec(at), "Sent after edits")["y"] != sent
    applied = json.loads(at.code[0].value)  # applied_edits of the chosen request
    assert applied and applied[0]["type"] == "clear_tool_uses_20250919"
    assert set(applied[0]) == {"type", "cleared_tool_uses", "cleared_input_tokens"}
    cm = json.loads(at.code[1].value)  # the exported context_management
    assert cm["edits"][0]["trigger"] == {"type": "input_tokens", "value": 40_000}


def test_every_option_reaches_the_exported_config() -> None:
    at = start()
    at.slider(key="ce_trigger_tokens").set_value(40_000)
    at.slider(key="ce_keep").set_value(5)
    at.number_input(key="ce_clear_at_least").set_value(20_000)
    at.multiselect(key="ce_exclude").select("Bash")
    at.toggle(key="ce_inputs").set_value(True)
    run(at)
    edit = json.loads(at.code[1].value)["edits"][0]
    assert edit == {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "input_tokens", "value": 40_000},
        "keep": {"type": "tool_uses", "value": 5},
        "clear_at_least": {"type": "input_tokens", "value": 20_000},
        "exclude_tools": ["Bash"],
        "clear_tool_inputs": True,
    }
    at.radio(key="ce_trigger_type").set_value("tool_uses")
    run(at)
    edit = json.loads(at.code[1].value)["edits"][0]
    assert edit["trigger"] == {"type": "tool_uses", "value": 10}


def test_clear_at_least_too_high_applies_nothing() -> None:
    at = start()
    at.slider(key="ce_trigger_tokens").set_value(40_000)
    at.number_input(key="ce_clear_at_least").set_value(10_000_000)
    run(at)
    fig = spec(at)
    assert not any(t.get("name", "").startswith("Tool results cleared") for t in fig["data"])


def test_clear_thinking_is_disabled_without_thinking_and_first_with_it() -> None:
    at = start()
    assert at.toggle(key="ce_thinking").disabled
    at2 = page("3_Context_editing.py")
    at2.query_params["source"] = "interleaved_thinking_tools"
    at2.query_params["ce_tools"] = "true"
    run(at2)
    at2.toggle(key="ce_thinking").set_value(True)
    run(at2)
    edits = json.loads(at2.code[1].value)["edits"]
    assert [e["type"] for e in edits] == ["clear_thinking_20251015", "clear_tool_uses_20250919"]


def test_turning_everything_off_replays_as_recorded() -> None:
    at = start()
    at.toggle(key="ce_tools").set_value(False)
    run(at)
    assert "No context_management" in at.caption[-5].value or any(
        "No context_management" in c.value for c in at.caption
    )


def test_the_request_slider_shows_that_requests_applied_edits() -> None:
    """The applied_edits part is a fragment of its own (a move reruns only it): it still shows
    the chosen request's applied_edits, and the chart is the same."""
    at = start()
    chart = spec(at)
    at.slider(key="ce_request").set_value(0)
    run(at)
    assert json.loads(at.code[0].value) == []  # nothing is cleared at the first request
    last = at.slider(key="ce_request").max
    at.slider(key="ce_request").set_value(last)
    run(at)
    assert json.loads(at.code[0].value)[0]["type"] == "clear_tool_uses_20250919"
    assert spec(at) == chart


def test_only_the_open_export_tab_is_built() -> None:
    """A slider move rebuilds and resends the open export tab only; the others follow a click."""
    at = start()
    codes = [c.value for c in at.code]
    assert len(codes) == 2  # applied_edits, then the context_management JSON (the first tab)
    assert json.loads(codes[1])["edits"][0]["type"] == "clear_tool_uses_20250919"
    assert not any("import anthropic" in c for c in codes)
    at.session_state["editing_tabs"] = "Python SDK call"
    run(at)
    codes = [c.value for c in at.code]
    assert len(codes) == 2 and "import anthropic" in codes[1]
    assert "clear_tool_uses_20250919" in codes[1]
