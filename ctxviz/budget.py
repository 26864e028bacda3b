"""What one load may use: one budget of bytes, records and blocks, charged while reading.

A load (``ctxviz.load``, ``loads``, ``load_all``…) draws on a single :class:`Budget` built from
:class:`Limits`: every byte read or decompressed at every layer (a file, each gzip / xz / bzip2
layer, each zip member), every record (a JSON object or a line of text, counted from the bytes
before they are parsed: an upper bound), and every content block the parser builds. The first
charge past a limit raises ``TranscriptError`` naming the limit, so a bomb stops while it is read,
before it is held.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ctxviz.errors import TranscriptError

__all__ = ["Budget", "Limits", "OverBudget", "charge_blocks", "current"]


class OverBudget(TranscriptError):
    """A load went past one of its limits: the whole load stops (nothing is skipped past it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """The most one load may read. The defaults hold a long real session (hundreds of MB of
    Claude Code JSONL) and keep a hostile file under about 2 GB of memory."""

    max_bytes: int = 512 << 20
    """Bytes read and decompressed, summed over every layer and zip member (512 MiB)."""
    max_records: int = 2_000_000
    """JSON objects plus lines of text plus array items / 16 (counted as ``{``, newline and comma
    bytes before parsing), and YAML nodes."""
    max_blocks: int = 2_000_000
    """Content blocks read into the conversation."""


class Budget:
    """The part of its limits a load has used; charges raise ``TranscriptError`` past a limit."""

    __slots__ = ("blocks", "bytes", "limits", "records", "where")

    def __init__(self, limits: Limits | None = None, where: str = "") -> None:
        self.limits = limits or Limits()
        self.where = where
        """The input being read (a file name), named by the error."""
        self.bytes = self.records = self.blocks = 0

    def read(self, n: int, what: str = "the input") -> None:
        """``n`` more bytes read or decompressed (``what``: ``gzip data``, ``the input``…)."""
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise OverBudget(
                f"{what} expands beyond {self.limits.max_bytes:,} bytes (the limit of bytes read "
                "and decompressed per load); refused",
                self.where,
            )

    def text(self, data: bytes | bytearray | str) -> None:
        """The records of text about to be parsed: its JSON objects and lines, and a record per
        16 commas (array items: a list of a million numbers costs as much as many objects). An
        upper bound: a brace or comma inside a string counts too."""
        if isinstance(data, str):
            n = data.count("{") + data.count("\n") + data.count(",") // 16
        else:
            n = data.count(b"{") + data.count(b"\n") + data.count(b",") // 16
        self.record(n)

    def record(self, n: int) -> None:
        """``n`` more records (JSON objects, lines of text, YAML nodes)."""
        self.records += n
        if self.records <= self.limits.max_records:
            return
        raise OverBudget(
            f"holds more than {self.limits.max_records:,} records (JSON objects, lines or YAML "
            "nodes, the limit per load); refused",
            self.where,
        )

    def block(self, n: int) -> None:
        self.blocks += n
        if self.blocks > self.limits.max_blocks:
            raise OverBudget(
                f"holds more than {self.limits.max_blocks:,} content blocks (the limit per load); "
                "refused",
                self.where,
            )


_ACTIVE: ContextVar[Budget | None] = ContextVar("ctxviz_budget", default=None)


@contextmanager
def active(budget: Budget) -> Iterator[Budget]:
    """Make ``budget`` the one the parsers charge blocks to, for the duration of a load."""
    token = _ACTIVE.set(budget)
    try:
        yield budget
    finally:
        _ACTIVE.reset(token)


def current() -> Budget:
    """The budget of the load under way, else a fresh one with the default limits."""
    return _ACTIVE.get() or Budget()


def charge_blocks(n: int) -> None:
    """``n`` content blocks about to be built (nothing outside a load)."""
    budget = _ACTIVE.get()
    if budget is not None:
        budget.block(n)
