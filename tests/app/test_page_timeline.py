"""pages/1_Timeline.py."""

from __future__ import annotations

from apptest_helpers import page, run, spec


def names(fig: dict) -> list[str]:
    return [t.get("name", "") for t in fig["data"]]


def test_timeline_runs_and_has_events_and_window() -> None:
    at = run(page("1_Timeline.py"))
    fig = spec(at)
    assert "Compaction in the recording" in names(fig)
    assert "Context window (200,000)" in names(fig)
    assert any(n.startswith("Hidden prefix") for n in names(fig))
    assert len(at.dataframe) == 1  # the events table


def test_events_toggle_and_zoom_change_the_chart() -> None:
    at = run(page("1_Timeline.py"))
    at.toggle(key="tl_events").set_value(False)
    run(at)
    assert "Compaction in the recording" not in names(spec(at))
    at.slider(key="tl_range").set_value((5, 10))
    run(at)
    assert spec(at)["layout"]["xaxis"]["range"] == [4.5, 10.5]
    assert at.query_params["tl_range"] == ["5", "10"]


def test_another_transcript_shows_its_whole_range() -> None:
    at = run(page("1_Timeline.py"))
    at.slider(key="tl_range").set_value((5, 10))
    run(at)
    at.selectbox(key="source").select("agent_tool_loop")
    run(at)
    lo, hi = at.slider(key="tl_range").value
    assert (lo, hi) == (0, int(at.slider(key="tl_range").max)) and hi > 10
    assert "tl_range" not in at.query_params
