"""The one exception bad input raises, and the one way JSON from outside is parsed."""

from __future__ import annotations

import json
from typing import Any

TOO_DEEP = "nested too deeply: arrays and objects more than about 1,000 levels deep"


def json_value(text: str | bytes) -> Any:
    """``json.loads`` for text from outside, failing only with ValueError (json has no depth
    limit of its own: the interpreter's RecursionError becomes a ValueError naming TOO_DEEP)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


class TranscriptError(ValueError):
    """A transcript ctxviz cannot read; the message names the problem and where it is.

    ``location`` is a 1-based ``line N`` for JSONL, a JSON path such as ``messages[3].content[1]``
    for JSON, or a file name inside a zip; empty when the problem is the whole input.
    """

    def __init__(self, problem: str, location: str = "") -> None:
        self.problem = problem
        self.location = location
        super().__init__(f"{location}: {problem}" if location else problem)
