"""What a PDF sent in a ``document`` block holds, for pricing it: its pages, their sizes, and the
text its pages show.

The PDF page (docs/counting.md#pdfs) prices a PDF as the text extracted from it plus one image per
page. This module reads only what that needs, with no PDF library: page objects and ``/MediaBox``
sizes from the file and its Flate-compressed streams (object streams included), and the strings
shown by the text operators (``Tj``, ``TJ``, ``'``, ``"``) of its content streams. Text in
two-byte (CID) fonts cannot be mapped back to characters without the font's tables, so it is
counted by glyph (``PdfText.glyph_count``) and the result is an estimate.

Decompression is bounded (``MAX_INFLATED_BYTES`` in all), so a hostile file cannot make it
unbounded; what is not read is not counted.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Final

MAX_INFLATED_BYTES: Final = 64 * 1024 * 1024
"""Decompressed bytes read at most from one PDF's streams, all streams together."""
LETTER_PT: Final = (612.0, 792.0)
"""US Letter in points: the page size used when a PDF names none."""

_STREAM = re.compile(rb"stream\r?\n")
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_PAGES_COUNT = re.compile(
    rb"/Type\s*/Pages\b[^>]{0,256}?/Count\s+(\d+)|/Count\s+(\d+)[^>]{0,256}?/Type\s*/Pages\b"
)
"""A page tree's ``/Count`` (within one dictionary, bounded so a hostile file stays linear)."""
_MEDIABOX = re.compile(rb"/MediaBox\s*\[\s*(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*\]")
_BT = re.compile(rb"(?<![A-Za-z])BT(?![A-Za-z])")
_SHOW = re.compile(rb"(?<![A-Za-z])T[jJ](?![A-Za-z])")
_TEXT_OPS: Final = frozenset({b"Tj", b"TJ", b"'", b'"'})
_LINE_OPS: Final = frozenset({b"T*", b"Td", b"TD", b"Tm", b"ET", b"'", b'"'})
_WORD_GAP: Final = -200
"""A ``TJ`` adjustment at least this negative (thousandths of an em) separates two words."""
_ESCAPES: Final = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
_DELIMITERS: Final = b"()<>[]{}/%"


@dataclass(frozen=True, slots=True, kw_only=True)
class PdfText:
    """What one PDF shows: its pages, their sizes in points, and its text."""

    page_sizes_pt: tuple[tuple[float, float], ...]
    text: str
    """The text of the strings its single-byte fonts show, in order."""
    glyph_count: int
    """Glyphs shown in two-byte (CID) fonts: text that could not be decoded."""


def _streams(data: bytes) -> list[bytes]:
    """Every stream's bytes, inflated when they inflate, within ``MAX_INFLATED_BYTES``."""
    out: list[bytes] = []
    budget = MAX_INFLATED_BYTES
    pos = 0
    while (match := _STREAM.search(data, pos)) is not None:
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            break
        pos = end + len(b"endstream")  # never rescan a stream's bytes: linear in the file
        raw = data[start:end]
        try:
            inflater = zlib.decompressobj()
            body = inflater.decompress(raw, budget)
        except zlib.error:
            body = raw
        budget -= len(body)
        out.append(body)
        if budget <= 0:
            break
    return out


def _literal(content: bytes, i: int) -> tuple[bytes, int]:
    """The literal string opening at ``content[i] == '('`` and the index after it."""
    out = bytearray()
    depth = 1
    i += 1
    n = len(content)
    while i < n:
        c = content[i]
        if c == 0x5C and i + 1 < n:  # backslash
            nxt = content[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif 0x30 <= nxt <= 0x37:
                j = i + 1
                while j < min(i + 4, n) and 0x30 <= content[j] <= 0x37:
                    j += 1
                out.append(int(content[i + 1 : j], 8) & 0xFF)
                i = j
            elif nxt in (0x0A, 0x0D):
                i += 2
            else:
                out.append(nxt)
                i += 2
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1
    return bytes(out), n


def _show(content: bytes) -> tuple[str, int]:
    """Text and undecodable glyphs shown by the text operators of one content stream."""
    parts: list[str] = []
    glyphs = 0
    pending: list[str] = []
    pending_glyphs = 0
    i = 0
    n = len(content)
    while i < n:
        c = content[i]
        if c == 0x28:  # (
            s, i = _literal(content, i)
            pending.append(s.decode("latin-1"))
            continue
        if c == 0x3C and content[i + 1 : i + 2] != b"<":  # <hex>
            end = content.find(b">", i)
            end = n if end < 0 else end
            hexed = re.sub(rb"[^0-9A-Fa-f]", b"", content[i + 1 : end])
            raw = bytes.fromhex((hexed + b"0" * (len(hexed) % 2)).decode("ascii"))
            if len(raw) >= 2 and raw[::2].count(0) * 2 >= len(raw) // 2:
                pending_glyphs += len(raw) // 2  # two-byte glyph ids: no characters to read
            else:
                pending.append(raw.decode("latin-1"))
            i = end + 1
            continue
        if c in b"-+.0123456789":
            j = i + 1
            while j < n and content[j] in b"0123456789.":
                j += 1
            try:
                if pending and float(content[i:j]) <= _WORD_GAP:
                    pending.append(" ")
            except ValueError:
                pass
            i = j
            continue
        if c in b" \t\r\n\x00\x0c[]" or c in _DELIMITERS:
            i += 1
            continue
        j = i
        while j < n and content[j] not in b" \t\r\n\x00\x0c" and content[j] not in _DELIMITERS:
            j += 1
        op = content[i:j]
        if op in _TEXT_OPS:
            parts.append("".join(pending))
            glyphs += pending_glyphs
        if op in _LINE_OPS and parts and not parts[-1].endswith("\n"):
            parts.append("\n")
        if op.isalpha() or op in _TEXT_OPS:
            pending = []
            pending_glyphs = 0
        i = max(j, i + 1)
    return "".join(parts), glyphs


def read_pdf(data: bytes) -> PdfText | None:
    """Pages, page sizes and shown text of a PDF's bytes; None when they are not a PDF."""
    if data[:1024].lstrip()[:5] != b"%PDF-":
        return None
    streams = _streams(data)
    spaces = [data, *streams]
    counts = [int(a or b) for space in spaces for a, b in _PAGES_COUNT.findall(space) if (a or b)]
    found = sum(len(_PAGE.findall(space)) for space in spaces)
    pages = max(counts) if counts else found
    boxes = [
        (abs(float(x1) - float(x0)), abs(float(y1) - float(y0)))
        for space in spaces
        for x0, y0, x1, y1 in _MEDIABOX.findall(space)
    ]
    boxes = [b for b in boxes if b[0] > 0 and b[1] > 0] or [LETTER_PT]
    sizes = tuple(boxes[k] if k < len(boxes) else boxes[0] for k in range(max(pages, 1)))
    texts: list[str] = []
    glyphs = 0
    for body in streams:
        if not (_BT.search(body) and _SHOW.search(body)):
            continue
        text, g = _show(body)
        texts.append(text)
        glyphs += g
    return PdfText(page_sizes_pt=sizes, text="".join(texts).strip(), glyph_count=glyphs)
