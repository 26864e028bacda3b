"""Jupyter: the HTML summary of a simulation, and examples/explore.ipynb executed end to end."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

import ctxviz
from ctxviz.notebook import IMAGE_WIDTH_PX, policy_description, simulation_html, summarize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOK = EXAMPLES / "explore.ipynb"
SAMPLES = ROOT / "sample_conversations"
TOOL_LOOP = SAMPLES / "agent_tool_loop.jsonl.xz"
BODY = SAMPLES / "request_body.json"
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"

CLEAR_TOOLS = {
    "edits": [
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 30_000},
            "keep": {"type": "tool_uses", "value": 3},
        }
    ]
}


@dataclass
class FakeSimulation:
    """Hand-made frames with the documented columns, for edge cases the samples do not reach."""

    requests: pd.DataFrame
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["request", "type"]))
    warnings: list[str] = field(default_factory=list)
    settings: Any = None


def _text(fragment: str) -> str:
    """What the HTML says, with tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


# ---- the HTML summary --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clearing() -> Any:
    return ctxviz.simulate(ctxviz.load(TOOL_LOOP), context_management=CLEAR_TOOLS)


def test_html_summary_states_the_simulations_numbers(clearing: Any) -> None:
    req = clearing.requests
    page = simulation_html(clearing)
    text = " ".join(_text(page).split())
    n = len(req)
    recorded = int((req["source"] == "recorded").sum())
    assert 0 < recorded < n  # the policy changed some requests and not others
    assert f"requests {n} ({recorded} recorded, {n - recorded} estimated)" in text
    peak = int(req["input_tokens"].max())
    at = int(req["request"].iloc[int(req["input_tokens"].to_numpy().argmax())])
    assert f"peak prompt {peak:,} tokens at request {at}" in text
    window = int(req["context_window"].iloc[at])
    assert f"({peak / window:.1%} of the {window:,}-token window)" in text
    n_clear = int((clearing.events["type"] == "clear_tool_uses_20250919").sum())
    first = int(clearing.events["request"].min())
    assert f"{n_clear} × clear_tool_uses_20250919 (first at request {first})" in text
    assert f"cost ${req['cost_usd'].sum():,.4f}" in text
    estimated_cost = req.loc[req["source"] != "recorded", "cost_usd"].sum()
    assert f"of which ${estimated_cost:,.4f} on estimated requests" in text
    assert "policy context_management: clear_tool_uses_20250919" in text
    assert "<svg" in page and "<script" not in page


def test_summarize_agrees_with_the_frames(clearing: Any) -> None:
    s = summarize(clearing)
    req = clearing.requests
    assert s.requests == len(req)
    assert s.peak_input_tokens == int(req["input_tokens"].max())
    assert s.total_cost_usd == pytest.approx(float(req["cost_usd"].sum()))
    assert s.cleared_input_tokens == int(req["cleared_input_tokens"].sum())
    assert {c.type: c.count for c in s.events} == clearing.events["type"].value_counts().to_dict()
    assert s.model == "claude-sonnet-4-5-20250929"


def test_window_exceeded_is_reported() -> None:
    sim = ctxviz.simulate(ctxviz.load(TOOL_LOOP), context_window=50_000)
    over = sim.events[sim.events["type"] == "context_window_exceeded"]
    assert len(over)
    s = summarize(sim)
    assert s.first_over_window == int(over["request"].min())
    assert s.over_window_requests == int(sim.requests["over_window"].sum())
    text = " ".join(_text(simulation_html(sim)).split())
    assert f"first at request {s.first_over_window}" in text
    assert "window 50,000" in text  # the policy line names the what-if window


def test_transcript_text_is_escaped() -> None:
    body = json.loads(BODY.read_text(encoding="utf-8"))
    body["model"] = "<script>alert('model')</script>"
    sim = ctxviz.simulate(ctxviz.loads(json.dumps(body)))
    assert summarize(sim).model == body["model"]  # shown in the summary, as the file says
    page = simulation_html(sim)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;model&#x27;)&lt;/script&gt;" in page

    fake = FakeSimulation(
        requests=pd.DataFrame(
            {"request": [0], "input_tokens": [10], "source": ["recorded"], "model": ["<b>m</b>"]}
        ),
        events=pd.DataFrame({"request": [0], "type": ["<img src=x onerror=alert(1)>"]}),
        warnings=["<iframe src='https://example.com'></iframe>"],
        settings={"context_management": '{"edits": [{"type": "<i>x</i>"}]}'},
    )
    page = simulation_html(fake)
    for tag in ("<b>", "<img", "<iframe", "<i>"):
        assert tag not in page, tag
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_empty_simulation_still_renders() -> None:
    fake = FakeSimulation(requests=pd.DataFrame(columns=["request", "input_tokens", "source"]))
    page = simulation_html(fake)
    text = " ".join(_text(page).split())
    assert "requests 0 (0 recorded, 0 estimated)" in text
    assert "events none" in text
    assert "No requests." in text
    assert "<svg" not in page
    s = summarize(fake)
    assert s.peak_input_tokens is None and s.total_cost_usd is None


def test_missing_values_and_long_warning_lists() -> None:
    fake = FakeSimulation(
        requests=pd.DataFrame(
            {
                "request": [0, 1, 2],
                "input_tokens": [100.0, float("nan"), 300.0],
                "source": ["recorded", "estimated", "estimated"],
                "cost_usd": [0.5, float("nan"), 0.25],
            }
        ),
        warnings=[f"warning {i}" for i in range(45)],
    )
    s = summarize(fake)
    assert (s.peak_input_tokens, s.peak_request) == (300, 2)
    assert s.total_cost_usd == pytest.approx(0.75)
    assert s.estimated_cost_usd == pytest.approx(0.25)
    page = simulation_html(fake)
    assert "45 warnings" in page
    assert "warning 19<" in page and "warning 20<" not in page
    assert "… and 25 more" in page


def test_policy_description() -> None:
    assert policy_description(None) == "as recorded"
    assert policy_description({}) == "as recorded"
    described = policy_description(
        {
            "model": "claude-haiku-4-5",
            "context_window": 100_000,
            "context_management": json.dumps(CLEAR_TOOLS),
            "compaction_control": {"enabled": True, "context_token_threshold": 60_000},
            "summary_tokens": 2_000,
        }
    )
    assert described == (
        "model claude-haiku-4-5; window 100,000; context_management: clear_tool_uses_20250919; "
        "compaction_control at 60,000 tokens; summaries of 2,000 tokens"
    )
    sim = ctxviz.simulate(
        ctxviz.load(TOOL_LOOP),
        compaction_control={"enabled": True, "context_token_threshold": 60_000},
    )
    assert policy_description(sim.settings) == "compaction_control at 60,000 tokens"


def test_simulation_repr_html_is_wired_to_simulation_html(clearing: Any) -> None:
    assert clearing._repr_html_() == simulation_html(clearing)


def test_reprs_are_one_short_line() -> None:
    """repr(Simulation) was the whole dataclass: 1.3 MB on the bundled session."""
    conv = ctxviz.load(SAMPLES / "claude_code_session.zip")
    assert repr(conv) == (
        "Conversation(format='claude-code', messages=59, requests=29, model='claude-opus-4-6', "
        f"subagents=1, source={conv.source!r}, warnings=0)"
    )
    sim = ctxviz.simulate(conv, context_window=100_000, context_management=CLEAR_TOOLS)
    n_events, n_warnings = len(sim.events), len(sim.warnings)
    assert n_events > 1
    assert repr(sim) == (
        f"Simulation(requests=29, events={n_events}, model='claude-opus-4-6', window=100000, "
        "policy='window 100,000; context_management: clear_tool_uses_20250919', "
        f"warnings={n_warnings})"
    )
    assert "window=200000, policy='as recorded'" in repr(ctxviz.simulate(conv))


# ---- the example notebook ----------------------------------------------------------------------


FIGURE_OUTPUTS = (PLOTLY, WIDGET)
"""An output holding either is a figure: a reader that draws neither must find a PNG beside it."""


def _png_width(b64: str) -> int:
    """The width in the header of a base64 PNG (and that it is a PNG at all)."""
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big")


def test_the_saved_example_notebook_shows_every_figure_as_a_png() -> None:
    """GitHub's preview runs no JavaScript and draws no widget: the committed notebook carries
    its outputs (``scripts/execute_notebook.py``), each figure with a PNG and no HTML (a reader
    shows HTML before an image, and that HTML is blank without JavaScript)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run top to bottom"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    figures = [
        (c, o)
        for c in code
        for o in c.outputs
        if any(k in o.get("data", {}) for k in FIGURE_OUTPUTS)
    ]
    sources = [c.source.splitlines()[0] for c, _ in figures]
    assert sources == [
        "ctxviz.figures.timeline(recorded)",
        "ctxviz.figures.compare(sims)",
        "explorer = ctxviz.explore(conv)",
    ]
    for cell, out in figures:
        assert _png_width(out.data["image/png"]) == IMAGE_WIDTH_PX, cell.source[:40]
        assert "text/html" not in out.data, cell.source[:40]


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    """explore.ipynb run top to bottom in a kernel of this interpreter, as
    ``scripts/execute_notebook.py`` runs it before it is committed."""
    from scripts.execute_notebook import execute

    return execute(NOTEBOOK)


def _outputs(cell: nbformat.NotebookNode) -> str:
    parts: list[str] = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.extend(str(v) for v in out.data.values())
    return "\n".join(parts)


def _cell(nb: nbformat.NotebookNode, startswith: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(startswith))


@pytest.mark.slow
def test_example_notebook_runs(executed: nbformat.NotebookNode) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert (
        _cell(executed, "from pathlib")
        .outputs[0]
        .text.startswith("anthropic log, model claude-sonnet-4-5-20250929")
    )
    table = _cell(executed, "sims = ")
    assert "text/html" in table.outputs[0].data
    for strategy in ("as recorded", "clear tool uses", "SDK compaction"):
        assert strategy in table.outputs[0].data["text/plain"]
    snippet = _outputs(_cell(executed, "print(ctxviz.python_sdk_call"))
    assert "context-management-2025-06-27" in snippet
    assert "clear_tool_uses_20250919" in snippet
    for source in ("ctxviz.figures.timeline", "ctxviz.figures.compare"):
        (shown,) = [o for o in _cell(executed, source).outputs if PLOTLY in o.get("data", {})]
        assert shown.data[PLOTLY]["data"], source  # traces were drawn
        # what readers of a saved notebook show: a PNG where kaleido finds a browser, else HTML
        if shutil.which("chromium"):
            assert _png_width(shown.data["image/png"]) == IMAGE_WIDTH_PX, source
        else:
            fallback = shown.data["text/html"]
            assert "cdn.plot.ly" in fallback and "Plotly.newPlot" in fallback, source


def _text_outputs(nb: nbformat.NotebookNode) -> list[list[str]]:
    """Each code cell's printed text and plain-text values (what cannot differ between runs)."""
    return [
        [
            out.text if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")
            for out in cell.outputs
        ]
        for cell in nb.cells
        if cell.cell_type == "code"
    ]


@pytest.mark.slow
def test_the_saved_example_notebook_is_what_it_prints_today(
    executed: nbformat.NotebookNode,
) -> None:
    """The committed outputs are not stale: re-run scripts/execute_notebook.py when this fails."""
    saved = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in saved.cells] == [c.source for c in executed.cells]
    assert _text_outputs(saved) == _text_outputs(executed)


@pytest.mark.slow
def test_example_notebook_shows_the_sliders(executed: nbformat.NotebookNode) -> None:
    (widget,) = [o for o in _cell(executed, "explorer = ").outputs if "data" in o]
    assert WIDGET in widget.data
    assert widget.data["text/plain"].startswith("Explorer(")
    exported = json.loads(_outputs(_cell(executed, "# The controls are ordinary")))
    (edit,) = exported["edits"]
    assert edit["trigger"] == {"type": "input_tokens", "value": 40_000}


@pytest.mark.slow
def test_executed_example_notebook_stays_small(executed: nbformat.NotebookNode) -> None:
    """It was 3.1 MB for 6.5 KB of source: repr(Simulation) printed every frame."""
    size = len(nbformat.writes(executed).encode())
    source = sum(len(c.source) for c in executed.cells)
    assert size < 600_000, (size, source)
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert len(out.get("data", {}).get("text/plain", "")) < 5_000, cell.source[:60]


@pytest.mark.slow
def test_example_notebook_shows_simulations_as_html(executed: nbformat.NotebookNode) -> None:
    if not hasattr(ctxviz.simulate(ctxviz.load(BODY)), "_repr_html_"):
        pytest.skip("Simulation._repr_html_ is not wired yet")
    shown = _cell(executed, "recorded = ctxviz.simulate(conv)")
    assert 'class="ctxviz-simulation"' in shown.outputs[0].data["text/html"]


def test_policy_description_names_compaction_on_demand_and_the_mismatch() -> None:
    from ctxviz.notebook import policy_description
    from ctxviz.policies.compact_on_demand import CompactOnDemand
    from ctxviz.settings import SimulationSettings

    settings = SimulationSettings(
        compaction_on_demand=CompactOnDemand(every_requests=5, keep_recent_turns=2),
        thinking_prefix_mismatch="drop",
    )
    text = policy_description(settings)
    assert "compaction on demand every 5 requests, keeping the last 2 turn(s)" in text
    assert "invalid preserved thinking: drop" in text
    assert policy_description({"compaction": {"at_user_turns": True}}).startswith(
        "compaction on demand at each user turn"
    )
