"""PDFs in document blocks: text plus one image per page (docs/counting.md#pdfs)."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from _sim_builders import words

from ctxviz import pdf as pdf_module
from ctxviz.counting import count_tokens
from ctxviz.estimates import document_is_estimate, pdf_page_image_tokens
from ctxviz.loading import loads
from ctxviz.model import DocumentBlock
from ctxviz.pdf import read_pdf
from ctxviz.simulator import simulate


def build_pdf(
    pages: list[bytes], *, media_box: str = "0 0 595 842", compress: bool = True
) -> bytes:
    """A PDF as writers lay it out: catalog, page tree with an inherited /MediaBox, one page
    object and one content stream per page (Flate-compressed unless ``compress`` is False),
    a font, an xref table and a trailer."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for content in pages:
        stream = zlib.compress(content) if compress else content
        filt = b" /Filter /FlateDecode" if compress else b""
        objects.append(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(stream), filt, stream))
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % content_ref
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [%s] >>" % (
        b" ".join(kids),
        len(kids),
        media_box.encode(),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for k, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (k, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PAGE_ONE = b"BT /F1 12 Tf 72 720 Td (Hello world) Tj 0 -14 Td [(Kern)-20(ed)-400(words)] TJ ET"
PAGE_TWO = b"BT /F1 12 Tf 72 720 Td (Second \\(page\\)) Tj T* (last line) ' ET"


def document_body(data: bytes, model: str = "claude-sonnet-4-5") -> dict[str, Any]:
    source = {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(data)}
    block = {"type": "document", "source": {**source, "data": source["data"].decode()}}
    return {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": [block]}]}


def test_pages_sizes_and_shown_text_are_read() -> None:
    got = read_pdf(build_pdf([PAGE_ONE, PAGE_TWO]))
    assert got is not None
    assert got.page_sizes_pt == ((595.0, 842.0), (595.0, 842.0))
    assert got.text == "Hello world\nKerned words\nSecond (page)\nlast line"
    assert got.glyph_count == 0
    assert read_pdf(build_pdf([PAGE_ONE], compress=False)) == read_pdf(build_pdf([PAGE_ONE]))
    assert read_pdf(b"plain text, not a PDF") is None


def test_page_images_follow_the_vision_rule_at_the_tier_maximum() -> None:
    # A4 rendered large and resized into the standard tier (1,568 px, 1,568 tokens) and the
    # high-resolution tier (2,576 px, 4,784 tokens): the patches of the largest fitting size
    # (checked by brute force over every long edge with the page's aspect ratio)
    assert pdf_page_image_tokens(595, 842, "v3") == 1551
    assert pdf_page_image_tokens(595, 842, "v5") == 4756
    assert pdf_page_image_tokens(612, 792, "v3") == 1496


def test_a_pdf_is_its_text_plus_one_image_per_page() -> None:
    b = document_body(build_pdf([PAGE_ONE, PAGE_TWO]))
    got = count_tokens(b, counter=words, message_frame_tokens=0)["input_tokens"]
    # 8 words of text + two A4 page images on the standard tier (Sonnet 4.5)
    assert got == 8 + 2 * 1551
    # the old rule (a token per 4 bytes of the file) said a few hundred
    conv = loads(json.dumps(b))
    block = conv.messages[0].content[0]
    assert isinstance(block, DocumentBlock)
    assert not document_is_estimate(block)


def test_count_tokens_and_simulate_agree_on_a_pdf() -> None:
    b = document_body(build_pdf([PAGE_ONE, PAGE_TWO]), model="claude-opus-5")
    sim = simulate(loads(json.dumps(b)))
    assert count_tokens(b)["input_tokens"] == int(sim.requests["input_tokens"].iat[-1])


def test_a_pdf_without_extractable_text_is_an_estimate_and_says_so() -> None:
    scanned = build_pdf([b"q 595 0 0 842 0 0 cm /Im1 Do Q"])  # a page that only draws an image
    b = document_body(scanned)
    assert count_tokens(b, counter=words, message_frame_tokens=0)["input_tokens"] == 1551
    sim = simulate(loads(json.dumps(b)))
    assert any("1 document(s) are counted as estimates" in w for w in sim.warnings)
    typed = document_body(build_pdf([PAGE_ONE]))
    assert not any("document(s)" in w for w in simulate(loads(json.dumps(typed))).warnings)


def test_two_byte_font_text_is_counted_by_glyph_as_an_estimate() -> None:
    cid = b"BT /F1 12 Tf 72 720 Td <0048004500490049004C> Tj ET"  # five glyph ids
    got = read_pdf(build_pdf([cid]))
    assert got is not None
    assert (got.text, got.glyph_count) == ("", 5)
    b = document_body(build_pdf([cid]))
    # ceil(5 glyphs / 2 a token) + one page image
    assert count_tokens(b, counter=words, message_frame_tokens=0)["input_tokens"] == 3 + 1551


def test_other_base64_documents_keep_the_per_byte_estimate() -> None:
    b = document_body(b"x" * 400)
    assert count_tokens(b, counter=words, message_frame_tokens=0)["input_tokens"] == 100


def test_decompression_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "MAX_INFLATED_BYTES", 1_000)
    bomb = build_pdf([b"BT (" + b"a " * 50_000 + b") Tj ET"])
    got = read_pdf(bomb)
    assert got is not None
    assert len(got.text) <= 1_000


@pytest.mark.parametrize(
    "hostile",
    [
        b"%PDF-1.4\n" + b"stream\n" * 300_000 + b"endstream",
        b"%PDF-1.4\n" + b"/Type /Pages " * 200_000,
        b"%PDF-1.4\nstream\nBT " + b"<" * 300_000 + b" Tj ET\nendstream",
    ],
    ids=["nested stream keywords", "unclosed page trees", "unclosed hex strings"],
)
def test_hostile_pdfs_are_read_in_linear_time(hostile: bytes) -> None:
    import time

    started = time.process_time()
    assert read_pdf(hostile) is not None
    assert time.process_time() - started < 2.0
