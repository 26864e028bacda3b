"""Print how many fuzz cases ran per class, and how they ended, after the test session."""

from __future__ import annotations

import pytest

from tests.fuzz._check import CASES, OUTCOMES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CASES:
        return
    tr = terminalreporter
    tr.section("fuzz cases")
    for cls in sorted(CASES):
        loaded, rejected = OUTCOMES[cls, "loaded"], OUTCOMES[cls, "rejected"]
        tr.write_line(
            f"{cls:22} {CASES[cls]:6} cases  ({loaded} loaded and simulated, "
            f"{rejected} rejected with TranscriptError)"
        )
    tr.write_line(f"{'total':22} {sum(CASES.values()):6} cases")
