"""The standalone HTML report: offline (plotly.js inlined, no CDN), escaped, every figure in it."""

from __future__ import annotations

import re
from pathlib import Path

from plotly.offline import get_plotlyjs
from test_figures import empty_sim, make_sim

from ctxviz import report


def test_report_is_standalone_and_offline() -> None:
    page = report.render(make_sim(), title="Session")
    assert page.startswith("<!DOCTYPE html>")
    assert get_plotlyjs()[:2000] in page  # the library itself is inside
    assert page.count(get_plotlyjs()[:200]) == 1  # once, not per figure
    # No script, stylesheet or font is fetched from anywhere.
    assert not re.search(r"<script[^>]+src=", page)
    # Outside the library (whose defaults mention a topojson CDN used only by geo maps), nothing
    # points to a CDN.
    rest = page.replace(get_plotlyjs(), "")
    assert "cdn.plot.ly" not in rest and "https://" not in rest and "<link" not in rest
    assert page.count('class="plotly-graph-div"') >= 5


def test_report_escapes_transcript_text() -> None:
    sim = make_sim()
    sim.events.loc[0, "detail"] = "<img src=x onerror=alert(1)>"
    page = report.render(sim, title="<b>t</b>", warnings=["<script>alert(2)</script>"])
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page


def test_report_with_comparison_and_empty_simulation(tmp_path: Path) -> None:
    out = report.write(tmp_path / "r.html", make_sim(), compare={"Other": make_sim(settings={})})
    text = out.read_text(encoding="utf-8")
    assert "Strategies compared" in text and "Other" in text
    empty = report.render(empty_sim())
    assert "No requests." in empty
