"""The 100 MB string of the issue: one transcript field of about 100 MB, loaded and simulated
within the per-case bound (10 s). Mixed on purpose: plain words, and runs of dashes, newlines and
emoji that ctok prices at up to 40 µs a character when a text is priced whole."""

from __future__ import annotations

import json

import pytest

from tests.fuzz._check import run_case

UNIT = "word " * 20 + "-" * 50 + "\n" * 30 + "😀" * 5 + "<script>x</script>"
TARGET_BYTES = 100_000_000


@pytest.mark.slow
def test_a_100_mb_string_loads_and_simulates_in_bounded_time() -> None:
    text = UNIT * (TARGET_BYTES // len(UNIT.encode()))
    assert len(text.encode()) > 0.99 * TARGET_BYTES
    body = json.dumps(
        {
            "model": "claude-sonnet-4-5",
            "messages": [
                {"role": "user", "content": "read it"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t1", "content": text}],
                },
            ],
        },
        ensure_ascii=False,
    ).encode()
    del text
    outcome = run_case(body, "huge/100 MB tool_result", "huge_string_100mb")
    assert outcome.conv is not None
