"""count_tokens against what the real API answered for whole bodies (tests/data/
real_count_answers.json: official examples, public code that printed its calls' usage and VCR
cassettes of other projects' tests, each with its source). The text is counted exactly
(``count_text_memo``), so what is checked is the hidden prompt text and the framing
(docs/counting.md), not the text estimator."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from ctxviz.counting import count_tokens
from ctxviz.tokens import count_text_memo

ANSWERS = json.loads(
    (Path(__file__).parent / "data" / "real_count_answers.json").read_text(encoding="utf-8")
)["examples"]
CLASSES = ("plain", "plain-multi", "tools", "thinking", "structured output", "images", "memory")
# the same forced tool (tool_choice "tool", disable_parallel_tool_use, a $defs schema) on two
# models: 16 tokens (1.8%) low on Sonnet 4.5 and 28 (5.0%) high on Sonnet 4, so the published
# forced-choice figures, not the rendering, are off; one body per model, not fitted
LOOSE = {"mira-so-tool-45": 0.02, "mira-so-tool-40": 0.05}
# the issue's targets, median and p90 of the absolute relative error, per class
TARGETS = {
    "plain": (0.02, 0.06),
    "plain-multi": (0.02, 0.06),
    "tools": (0.03, 0.08),
    "thinking": (0.05, 0.05),
    "structured output": (0.05, 0.05),
    "images": (0.15, 0.15),
    "memory": (0.05, 0.05),
}


def _count(example: dict[str, Any]) -> int:
    body = {"model": example["model"], "max_tokens": 1, **example["body"]}
    return int(count_tokens(body, counter=count_text_memo)["input_tokens"])


@pytest.mark.parametrize("example", ANSWERS, ids=[e["name"] for e in ANSWERS])
def test_count_tokens_matches_the_real_answer(example: dict[str, Any]) -> None:
    got = _count(example)
    real = example["input_tokens"]
    if example["name"] in LOOSE:
        assert abs(got - real) / real <= LOOSE[example["name"]]
    else:
        # within 3 tokens: the tool-use system prompt's published figure leaves 2 unexplained,
        # and a structured-output body with a tool call 3
        assert abs(got - real) <= 3, (got, real)


@pytest.mark.parametrize("cls", CLASSES)
def test_each_class_is_within_the_issue_targets(cls: str) -> None:
    errors = sorted(
        abs(_count(e) - e["input_tokens"]) / e["input_tokens"] for e in ANSWERS if e["class"] == cls
    )
    assert errors, cls
    median, p90 = TARGETS[cls]
    assert statistics.median(errors) <= median
    assert errors[min(len(errors) - 1, round(0.9 * (len(errors) - 1)))] <= p90


def test_every_answer_names_its_source() -> None:
    assert len(ANSWERS) >= 37
    assert all(e["source"] and e["class"] in CLASSES for e in ANSWERS)
