"""pages/8_Formats_and_help.py."""

from __future__ import annotations

from apptest_helpers import page, run, spec


def test_help_page_formats_glossary_and_anatomy() -> None:
    at = run(page("8_Formats_and_help.py"))
    text = " ".join(m.value for m in at.markdown)
    assert "~/.claude/projects/<project>/<session>.jsonl" in text
    assert "subagents" in text
    for term in ("clear_tool_uses_20250919", "compact_20260112", "compaction_control"):
        assert term in text
    assert spec(at)["layout"]["title"]["text"].startswith("The last request")
