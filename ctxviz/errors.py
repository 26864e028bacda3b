"""The one exception bad input raises."""

from __future__ import annotations


class TranscriptError(ValueError):
    """A transcript ctxviz cannot read; the message names the problem and where it is.

    ``location`` is a 1-based ``line N`` for JSONL, a JSON path such as ``messages[3].content[1]``
    for JSON, or a file name inside a zip; empty when the problem is the whole input.
    """

    def __init__(self, problem: str, location: str = "") -> None:
        self.problem = problem
        self.location = location
        super().__init__(f"{location}: {problem}" if location else problem)
