"""pages/7_Inspector.py — transcript text is shown inert (st.code), never through markdown."""

from __future__ import annotations

import base64

import numpy as np
from apptest_helpers import page, run, spec


def test_request_slider_changes_the_composition() -> None:
    at = run(page("7_Inspector.py"))
    assert len(at.get("plotly_chart")) == 2  # the picker and the composition
    before = spec(at, 1)
    at.slider(key="request").set_value(10)
    run(at)
    after = spec(at, 1)
    assert after["data"] != before["data"]
    assert after["layout"]["title"]["text"].startswith("Request 10")
    # The picker highlights the chosen request: a bar of its own over it.
    bars, chosen = spec(at, 0)["data"]
    assert chosen["marker"]["color"] != bars["marker"]["color"]
    x = chosen["x"]  # plotly's typed array: base64 of its bytes
    assert list(np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"])) == [10]


def test_prompt_view_blocks_are_inert_and_marked() -> None:
    at = page("7_Inspector.py")
    at.query_params["source"] = "thinking_chat"
    at.query_params["request"] = "5"
    run(at)
    labels, codes, markdown = [], [], []
    pages = at.slider(key="insp_first")
    for first in range(0, int(pages.max) + 1, int(pages.step)):  # every page of blocks
        at.slider(key="insp_first").set_value(first)
        run(at)
        labels += [e.label for e in at.expander]
        codes += [c.value for c in at.code]
        markdown += [m.value for m in at.markdown]
    assert any("STRIPPED" in label for label in labels)  # earlier turns' thinking
    # Every transcript text is in st.code; no markdown element carries it.
    assert any("rate limit" in c.lower() for c in codes)
    assert not any("rate limit" in m.lower() for m in markdown)


def test_cleared_results_show_the_placeholder() -> None:
    at = page("7_Inspector.py")
    at.query_params["source"] = "agent_tool_loop"
    run(at)
    at.selectbox(key="insp_strategy").select("clear_tools")
    run(at)
    at.slider(key="insp_first").set_value(0)
    run(at)
    assert any("CLEARED" in e.label for e in at.expander)
    assert any("cleared" in c.value.lower() for c in at.code)


def test_another_transcript_opens_at_its_last_request() -> None:
    """The request picked in one transcript is not carried to the next one opened (nor to a
    sub-agent's chain): each opens at its own last request, and the URL forgets the old one."""
    at = run(page("7_Inspector.py"))
    last = int(at.slider(key="request").max)
    at.slider(key="request").set_value(2)
    run(at)
    assert at.query_params["request"] == "2"
    at.selectbox(key="agent").select(0)  # the bundled session's sub-agent
    run(at)
    assert at.slider(key="request").value == int(at.slider(key="request").max) != last
    at.selectbox(key="source").select("agent_tool_loop")
    run(at)
    assert at.slider(key="request").value == int(at.slider(key="request").max)
    assert at.slider(key="request").max not in (2, last)
    assert "request" not in at.query_params
