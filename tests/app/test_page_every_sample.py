"""Every page runs on every bundled sample: no exception, no error, at least one chart."""

from __future__ import annotations

import pytest
from apptest_helpers import page, run, spec

from ctxviz_app.ui import SAMPLES

PAGES = [
    "app.py",
    "1_Timeline.py",
    "2_Thinking.py",
    "3_Context_editing.py",
    "4_Compaction.py",
    "5_Compare.py",
    "6_Cost.py",
    "7_Inspector.py",
    "8_Formats_and_help.py",
]


@pytest.mark.parametrize("sample", [s.id for s in SAMPLES])
@pytest.mark.parametrize("name", PAGES)
def test_page_runs_on_sample(name: str, sample: str) -> None:
    at = page(name)
    at.query_params["source"] = sample
    run(at)
    assert at.sidebar.selectbox(key="source").value == sample
    assert spec(at)["data"] is not None
