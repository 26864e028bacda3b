"""Token estimates per block, computed once per conversation (``ctxviz.counting`` answers
``count_tokens`` from them through the simulator).

Every block of a conversation is priced once (``conversation_tokens``) into flat numpy arrays that
the simulator sums with prefix sums; nothing is re-serialised per request. The counter is an
argument (``(text, family) -> tokens``, default ``ctxviz.tokens.count_text``) so that tests can
inject a trivial one and hand-compute every number.

What is counted for each block, and the assumptions where the text does not tell:

- ``text`` / ``thinking``: their text (a thinking ``signature`` is not counted).
- ``thinking`` returned with ``display: "omitted"`` (the default on Opus 4.7 and later,
  ``ModelInfo.thinking_display_default``): the block's text is empty, but the thinking was billed
  as output and, sent back, is read by the model from its signature. Its size is taken from the
  usage of the request that returned it: ``output_tokens`` minus the estimate of the response's
  visible blocks (text, tool calls, non-empty thinking), shared among its empty thinking blocks
  (``omitted_thinking_tokens``). Without recorded usage it stays 0. Either way it is labelled
  estimated (``ConversationTokens.block_estimated``).
- ``compaction`` (a server compaction summary sent back): its text plus
  ``COMPACTION_WRAPPER_TOKENS`` (90), the API's wrapper around it (docs/counting.md: about
  90 tokens more than the summary's text were observed).
- ``tool_use``: as the API renders it (``tool_use_tokens``): the tool name, each parameter's name
  and raw value, and the frames ``TOOL_USE_FRAME_TOKENS`` / ``TOOL_PARAMETER_FRAME_TOKENS``
  (docs/counting.md#tool-calls-and-results); clearing the input (``clear_tool_inputs``) leaves
  the name and the frame. Without a model, or with frames off (``message_frame_tokens=0``): the
  name plus the compact JSON of the input, and clearing leaves the name.
- ``server_tool_use``: the tool name plus the compact JSON of its input.
- ``tool_result``: its text, or the sum of its content blocks; with a model and frames on, plus
  the called tool's name and ``TOOL_RESULT_FRAME_TOKENS``.
- server tool results and unknown blocks: the compact JSON of their content.
- ``redacted_thinking``: the ``data`` is encrypted, so its size is estimated from its length:
  base64 carries 3 bytes per 4 characters and thinking averages about 4 bytes per token, i.e.
  ``len(data) * 3 / 16`` tokens (``REDACTED_THINKING_TOKENS_PER_CHAR``). Always labelled estimated.
- ``image``: with a model and frames on, ``IMAGE_FRAME_TOKENS`` plus the vision page's rule
  (``image_tokens``): the size is read from the header of base64
  PNG / JPEG / GIF / WebP data (only the first bytes are decoded), resized to the largest
  aspect-preserving size within the model's tier (standard: 1,568 px long edge and 1,568 visual
  tokens, the v3 tokenizer's models; high resolution: 2,576 px and 4,784, Claude 4.7 and later),
  then ``ceil(width / 28) * ceil(height / 28)`` tokens. An image whose size cannot be read (a URL,
  a file id, unreadable data) is counted at its tier's maximum: an estimate
  (``image_size_known`` says which).
- ``document``: its text when the source is text or content blocks; a base64 PDF as the PDF page
  prices it (``pdf_tokens``): the text its pages show plus one image per page, each page at its
  resolution tier's largest size for its ``/MediaBox`` (``ctxviz.pdf`` reads both); other base64
  data at ``DOCUMENT_TOKENS_PER_BYTE`` per decoded byte. ``document_is_estimate`` says which
  counts are estimates (no extractable text, or content not in the request).
- Tools (``tools_tokens``): each client definition as the tool-use system prompt lists it
  (``rendered_function``; its compact JSON without a model), the Anthropic-defined bash, text
  editor, computer-use, memory, web search and tool search tools at the model's
  expanded-definition figure (``ModelInfo.hidden_prompt_tokens``; web fetch and code execution,
  which nothing published sizes, as their JSON: ``unsized_tool_types`` names them); and, whenever
  ``tools`` is not empty, the tool-use system prompt the API adds, by ``tool_choice``:
  ``tool_use_auto`` for auto / none (the default), ``tool_use_any`` for any / tool. Without a
  model (``model=None``) nothing hidden is added. A definition sent with ``defer_loading: true``
  costs nothing until a tool search loads it (the ``tool_reference`` that loads it is counted as
  its JSON, not as the definition it expands to). docs/counting.md lists every figure and its
  source.
- A request with ``thinking`` enabled or adaptive adds the model's ``thinking`` figure
  (``thinking_instruction_tokens``) to its system prompt tokens.
- Every message adds ``MESSAGE_MARKER_TOKENS[family]`` (its role marker), and a prompt of at least
  one message adds the rest of ``MESSAGE_FRAME_TOKENS[family]`` (what ``count_tokens`` adds for one
  user text message) once, in its system prompt tokens (``prompt_frame_tokens``).
- A second or later client ``tool_use`` in a message, and likewise a ``tool_result``, adds
  ``PARALLEL_TOOL_FRAME_TOKENS``; a ``json_schema`` structured-output format adds its schema and
  the model's ``structured_output`` figure (``structured_output_tokens``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, assert_never

import numpy as np
import numpy.typing as npt

from ctxviz.categories import CATEGORIES, Category
from ctxviz.model import (
    Block,
    CompactionBlock,
    Conversation,
    DocumentBlock,
    ImageBlock,
    Message,
    OtherBlock,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
    starts_turn,
    turn_indices,
)
from ctxviz.models import ModelInfo, ModelTable
from ctxviz.pdf import PdfText, read_pdf
from ctxviz.tokens import MESSAGE_MARKER_TOKENS, Family, count_text, prompt_frame_tokens

TokenCounter = Callable[[str, Family], int]
"""Tokens of a text alone, without any message frame: ``(text, family) -> int``."""

IMAGE_TOKENS: Final = 1_600
IMAGE_PATCH_PX: Final = 28
IMAGE_LIMITS: Final[Mapping[Family, tuple[int, int]]] = {
    "v3": (1_568, 1_568),
    "v4.7": (2_576, 4_784),
    "v5": (2_576, 4_784),
}
"""(max long edge px, max visual tokens) of each tokenizer family's resolution tier: standard for
the v3 models, high resolution for Claude 4.7 and later (vision page, checked 2026-12-05)."""
IMAGE_FRAME_TOKENS: Final[Mapping[Family, int]] = {"v3": 3, "v4.7": 3, "v5": 3}
"""Tokens an image block in a message adds to its visual tokens: v3 measured on three real
images (50 x 65, 100 x 100, 550 x 368; docs/counting.md#images), v4.7 / v5 an estimate."""
_IMAGE_HEAD_CHARS: Final = 87_384
"""Base64 characters decoded at most to find an image's size (64 KiB; JPEG headers may follow
EXIF data)."""
COMPACTION_WRAPPER_TOKENS: Final = 90
"""Tokens the API adds around a ``compaction`` block sent back (docs/counting.md, observed)."""
TOOL_USE_FRAME_TOKENS: Final[Mapping[Family, int]] = {"v3": 25, "v4.7": 37, "v5": 37}
"""Tokens a client ``tool_use`` block adds to its name and its parameters' names and raw values
(docs/counting.md#tool-calls-and-results): v3 fitted on real Messages API usage, v4.7 / v5
estimated from the same rendering counted with their tokenizers."""
TOOL_PARAMETER_FRAME_TOKENS: Final[Mapping[Family, int]] = {"v3": 7, "v4.7": 12, "v5": 12}
"""Tokens each parameter of a ``tool_use`` after the first adds (its tags; an estimate)."""
TOOL_RESULT_FRAME_TOKENS: Final[Mapping[Family, int]] = {"v3": 29, "v4.7": 29, "v5": 29}
"""Tokens a ``tool_result`` block adds to its content and its tool's name (as above)."""
PARALLEL_TOOL_FRAME_TOKENS: Final[Mapping[Family, int]] = {"v3": 12, "v4.7": 12, "v5": 12}
"""Tokens a client ``tool_use`` adds beyond its frame when it is not its message's first call
(parallel calls), and likewise a ``tool_result`` that is not its message's first result: v3 fitted
on three real bodies with two parallel calls (docs/counting.md#tool-calls-and-results), v4.7 / v5
an estimate (the v3 figure)."""
REDACTED_THINKING_TOKENS_PER_CHAR: Final = 3 / 16
DOCUMENT_TOKENS_PER_BYTE: Final = 1 / 4
"""Base64 documents that are not readable PDFs: about a token per 4 bytes (an estimate)."""
CID_GLYPHS_PER_TOKEN: Final = 2
"""PDF text in two-byte (CID) fonts, counted by glyph: mostly CJK, where a character is about a
token, and Latin, about four a token (an estimate between them, docs/counting.md#pdfs)."""

# Block kinds, as small integers for the simulator's arrays.
KIND_TEXT: Final = 0
KIND_THINKING: Final = 1
KIND_REDACTED_THINKING: Final = 2
KIND_TOOL_USE: Final = 3
KIND_TOOL_RESULT: Final = 4
KIND_SERVER_TOOL_USE: Final = 5
KIND_SERVER_TOOL_RESULT: Final = 6
KIND_IMAGE: Final = 7
KIND_DOCUMENT: Final = 8
KIND_COMPACTION: Final = 9
KIND_OTHER: Final = 10

CATEGORY_INDEX: Final[Mapping[Category, int]] = {c: i for i, c in enumerate(CATEGORIES)}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _base64_bytes(source: Any) -> int | None:
    if isinstance(source, Mapping) and source.get("type") == "base64":
        data = source.get("data")
        if isinstance(data, str):
            return len(data) * 3 // 4
    return None


@functools.lru_cache(maxsize=8)
def _pdf(data: str) -> PdfText | None:
    try:
        raw = base64.b64decode(data[: len(data) - len(data) % 4], validate=False)
    except (ValueError, binascii.Error):
        return None
    return read_pdf(raw)


def pdf_of(block: DocumentBlock) -> PdfText | None:
    """What a base64 PDF document shows (``ctxviz.pdf``); None for any other document."""
    source = block.source
    if isinstance(source, Mapping) and source.get("type") == "base64":
        data = source.get("data")
        if isinstance(data, str):
            return _pdf(data)
    return None


def pdf_page_image_tokens(width_pt: float, height_pt: float, family: Family) -> int:
    """Visual tokens of one PDF page's image: the page, rendered at least as large as the
    family's resolution tier allows, resized by the vision rule (``resized_image_size``)."""
    max_edge = IMAGE_LIMITS[family][0]
    scale = 2 * max_edge / max(width_pt, height_pt)
    w, h = max(1, round(width_pt * scale)), max(1, round(height_pt * scale))
    return _patches(*resized_image_size(w, h, family))


def pdf_tokens(pdf: PdfText, family: Family, counter: TokenCounter) -> int:
    """A PDF as the PDF page prices it: its extracted text plus one image per page; text in
    two-byte fonts at ``CID_GLYPHS_PER_TOKEN`` glyphs a token (an estimate)."""
    pages = sum(pdf_page_image_tokens(w, h, family) for w, h in pdf.page_sizes_pt)
    text = counter(pdf.text, family) if pdf.text else 0
    return pages + text + math.ceil(pdf.glyph_count / CID_GLYPHS_PER_TOKEN)


def document_is_estimate(block: DocumentBlock) -> bool:
    """Whether a document's count is an estimate: a PDF without extractable text (scanned, or in
    two-byte fonts), or a document whose content is not in the request (URL, file, other base64
    data)."""
    source = block.source
    if isinstance(source, Mapping) and source.get("type") in ("text", "content"):
        return False
    pdf = pdf_of(block)
    return pdf is None or not pdf.text or pdf.glyph_count > 0


def block_tokens(block: Block, family: Family, counter: TokenCounter) -> int:
    """Estimated tokens of one block as sent in a prompt (module doc: what is counted)."""
    match block:
        case TextBlock(text=text):
            return counter(text, family)
        case ThinkingBlock(thinking=thinking):
            return counter(thinking, family)
        case RedactedThinkingBlock(data=data):
            return max(1, round(len(data) * REDACTED_THINKING_TOKENS_PER_CHAR))
        case (
            ToolUseBlock(name=name, input=tool_input)
            | ServerToolUseBlock(name=name, input=tool_input)
        ):
            return counter(name, family) + counter(_json(tool_input), family)
        case ToolResultBlock(content=content):
            if isinstance(content, str):
                return counter(content, family)
            return sum(block_tokens(b, family, counter) for b in content)
        case ServerToolResultBlock(content=content):
            return counter(_json(content), family)
        case ImageBlock(source=source):
            return image_tokens(source, family)
        case DocumentBlock(source=source, title=title):
            title_tokens = counter(title, family) if title else 0
            pdf = pdf_of(block)
            if pdf is not None:
                return title_tokens + pdf_tokens(pdf, family, counter)
            decoded = _base64_bytes(source)
            if decoded is not None:
                return title_tokens + max(1, round(decoded * DOCUMENT_TOKENS_PER_BYTE))
            if isinstance(source, Mapping) and isinstance(source.get("data"), str):
                return title_tokens + counter(source["data"], family)
            return title_tokens + counter(_json(source), family)
        case CompactionBlock(content=content):
            return counter(content, family) + COMPACTION_WRAPPER_TOKENS
        case OtherBlock(raw=raw):
            return counter(_json(raw), family)
        case _:
            assert_never(block)


def _head(source: Any) -> bytes | None:
    if not (isinstance(source, Mapping) and source.get("type") == "base64"):
        return None
    data = source.get("data")
    if not isinstance(data, str):
        return None
    chunk = data[:_IMAGE_HEAD_CHARS]
    chunk = chunk[: len(chunk) - len(chunk) % 4]
    try:
        return base64.b64decode(chunk, validate=False)
    except (ValueError, binascii.Error):
        return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(head[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h = int.from_bytes(head[i + 5 : i + 7], "big")
            w = int.from_bytes(head[i + 7 : i + 9], "big")
            return (w, h) if w and h else None
        i += 2 + length
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    kind = head[12:16]
    if kind == b"VP8 " and len(head) >= 30:
        w = int.from_bytes(head[26:28], "little") & 0x3FFF
        h = int.from_bytes(head[28:30], "little") & 0x3FFF
        return (w, h)
    if kind == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X" and len(head) >= 30:
        w = int.from_bytes(head[24:27], "little") + 1
        h = int.from_bytes(head[27:30], "little") + 1
        return (w, h)
    return None


def image_dimensions(source: Any) -> tuple[int, int] | None:
    """(width, height) in pixels read from the header of a base64 PNG / JPEG / GIF / WebP
    image (decoding only its first bytes); None when the source holds no readable header."""
    head = _head(source)
    if head is None:
        return None
    size: tuple[int, int] | None = None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        size = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
    elif head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        size = (int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little"))
    elif head.startswith(b"\xff\xd8"):
        size = _jpeg_size(head)
    elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        size = _webp_size(head)
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def _patches(width: int, height: int) -> int:
    return math.ceil(width / IMAGE_PATCH_PX) * math.ceil(height / IMAGE_PATCH_PX)


def resized_image_size(width: int, height: int, family: Family) -> tuple[int, int]:
    """The size the API resizes an image to before counting it: the largest aspect-preserving
    size whose padded edges fit the tier's long edge and whose patches fit its token budget
    (the vision page's reference rule, binary search on the long edge, half-to-even rounding)."""
    max_edge, max_tokens = IMAGE_LIMITS[family]

    def fits(w: int, h: int) -> bool:
        padded = IMAGE_PATCH_PX
        return (
            math.ceil(w / padded) * padded <= max_edge
            and math.ceil(h / padded) * padded <= max_edge
            and _patches(w, h) <= max_tokens
        )

    if fits(width, height):
        return (width, height)
    if height > width:
        h, w = resized_image_size(height, width, family)
        return (w, h)
    aspect = width / height
    lo, hi = 1, width
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if fits(mid, max(round(mid / aspect), 1)):
            lo = mid
        else:
            hi = mid
    return (lo, max(round(lo / aspect), 1))


def image_size_known(block: ImageBlock) -> bool:
    """Whether the image's pixel size can be read from its data (else its count is estimated)."""
    return image_dimensions(block.source) is not None


def image_tokens(source: Any, family: Family) -> int:
    """Visual tokens of an image (module doc): after resizing, one per 28 x 28 patch; the tier's
    maximum when the size cannot be read."""
    size = image_dimensions(source)
    if size is None:
        return IMAGE_LIMITS[family][1]
    return _patches(*resized_image_size(*size, family))


def block_kind(block: Block) -> int:
    """The block's kind code (``KIND_*``)."""
    match block:
        case TextBlock():
            return KIND_TEXT
        case ThinkingBlock():
            return KIND_THINKING
        case RedactedThinkingBlock():
            return KIND_REDACTED_THINKING
        case ToolUseBlock():
            return KIND_TOOL_USE
        case ToolResultBlock():
            return KIND_TOOL_RESULT
        case ServerToolUseBlock():
            return KIND_SERVER_TOOL_USE
        case ServerToolResultBlock():
            return KIND_SERVER_TOOL_RESULT
        case ImageBlock():
            return KIND_IMAGE
        case DocumentBlock():
            return KIND_DOCUMENT
        case CompactionBlock():
            return KIND_COMPACTION
        case OtherBlock():
            return KIND_OTHER
        case _:
            assert_never(block)


def block_category(block: Block, message: Message) -> Category:
    """The composition category a block's tokens belong to."""
    match block:
        case TextBlock():
            if message.is_compact_summary:
                return "summary"
            if message.role == "system":
                return "system"
            return "user_text" if message.role == "user" else "assistant_text"
        case ThinkingBlock() | RedactedThinkingBlock():
            return "thinking"
        case ToolUseBlock() | ServerToolUseBlock():
            return "tool_inputs"
        case ToolResultBlock() | ServerToolResultBlock():
            return "tool_results"
        case ImageBlock() | DocumentBlock():
            return "media"
        case CompactionBlock():
            return "summary"
        case OtherBlock():
            return "other"
        case _:
            assert_never(block)


# Anthropic-defined tools whose expanded definition has a documented size, by ``type`` prefix:
# the key of ``ModelInfo.hidden_prompt_tokens`` that prices it.
_DEFINED_TOOLS: Final[tuple[tuple[str, str], ...]] = (
    ("bash_", "bash"),
    ("text_editor_", "text_editor"),
    ("computer_2025", "computer"),
    ("memory_", "memory"),
    ("web_search_", "web_search"),
    ("tool_search_tool_", "tool_search"),
)
# Anthropic-defined tools whose expanded definition nothing published sizes: counted as the JSON
# sent, so their prompts are low by that definition (docs/counting.md#anthropic-defined-tools).
_UNSIZED_TOOLS: Final[tuple[str, ...]] = ("web_fetch_", "code_execution_")


def unsized_tool_types(tools: Iterable[ToolDefinition]) -> tuple[str, ...]:
    """The ``type`` of each Anthropic-defined tool in ``tools`` (each once, in order) whose
    expanded definition is not counted, only its JSON: web fetch and code execution, for which
    no figure is published and no real answer was found. Deferred definitions are left out."""
    found: dict[str, None] = {}
    for tool in tools:
        raw = tool.raw if isinstance(tool.raw, Mapping) else {}
        kind = raw.get("type")
        deferred = raw.get("defer_loading") is True
        if isinstance(kind, str) and not deferred and kind.startswith(_UNSIZED_TOOLS):
            found[kind] = None
    return tuple(found)


def tool_definition_tokens(
    tool: ToolDefinition, family: Family, counter: TokenCounter, model: ModelInfo | None = None
) -> int:
    """Estimated tokens of one tool definition: its JSON as sent, or, for an Anthropic-defined
    tool whose expanded definition the docs size for ``model``, that size; 0 for a tool sent
    with ``defer_loading: true`` (not in the model's context until a tool search finds it)."""
    if isinstance(tool.raw, Mapping) and tool.raw.get("defer_loading") is True:
        return 0
    kind = tool.raw.get("type") if isinstance(tool.raw, Mapping) else None
    if model is not None and isinstance(kind, str):
        for prefix, key in _DEFINED_TOOLS:
            if kind.startswith(prefix) and model.hidden_tokens(key):
                return model.hidden_tokens(key)
    if model is not None and kind in (None, "custom") and isinstance(tool.raw, Mapping):
        return counter(rendered_function(tool.raw), family)
    return counter(_json(tool.raw), family)


_NOT_RENDERED: Final = frozenset(
    {"name", "description", "input_schema", "type", "cache_control", "defer_loading", "strict"}
)


def rendered_function(raw: Mapping[str, Any]) -> str:
    """A client tool's definition as the tool-use system prompt lists it
    (docs/counting.md#tool-definitions): ``<function>`` and the JSON of its description, name and
    ``parameters`` (the input schema, plus any other field sent, such as ``input_examples``), keys
    sorted, with ``", "`` / ``": "`` separators, then ``</function>``."""
    shown: dict[str, Any] = {
        "description": raw.get("description", ""),
        "name": raw.get("name", ""),
        "parameters": raw.get("input_schema", {}),
    }
    shown.update((k, v) for k, v in raw.items() if k not in _NOT_RENDERED)
    body = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
    return f"<function>{body}</function>"


def _raw_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def tool_use_tokens(
    name: str, tool_input: Any, family: Family, counter: TokenCounter, *, cleared: bool = False
) -> int:
    """A client ``tool_use`` block as the API renders it
    (docs/counting.md#tool-calls-and-results): its name, each parameter's name and raw value (a
    string as is, anything else as JSON), ``TOOL_USE_FRAME_TOKENS`` and
    ``TOOL_PARAMETER_FRAME_TOKENS`` per parameter after the first. ``cleared``: its input removed
    (``clear_tool_inputs``): the name and the frame."""
    total = counter(name, family) + TOOL_USE_FRAME_TOKENS[family]
    if cleared:
        return total
    if not isinstance(tool_input, Mapping):
        return total + counter(_raw_value(tool_input), family)
    for k, (key, value) in enumerate(tool_input.items()):
        total += counter(str(key), family) + counter(_raw_value(value), family)
        total += TOOL_PARAMETER_FRAME_TOKENS[family] if k else 0
    return total


def tool_use_system_prompt_tokens(model: ModelInfo | None, tool_choice: Any) -> int:
    """The system prompt the API adds when ``tools`` is not empty: the model's figure for
    ``tool_choice`` any / tool, or for auto / none (also when absent)."""
    if model is None:
        return 0
    forced = isinstance(tool_choice, Mapping) and tool_choice.get("type") in ("any", "tool")
    return model.hidden_tokens("tool_use_any" if forced else "tool_use_auto")


def tools_tokens(
    tools: tuple[ToolDefinition, ...],
    family: Family,
    counter: TokenCounter,
    *,
    model: ModelInfo | None = None,
    tool_choice: Any = None,
) -> int:
    """Tokens of a request's ``tools``: every definition plus, when there is at least one, the
    tool-use system prompt (``tool_use_system_prompt_tokens``)."""
    if not tools:
        return 0
    definitions = sum(tool_definition_tokens(t, family, counter, model) for t in tools)
    return definitions + tool_use_system_prompt_tokens(model, tool_choice)


def thinking_instruction_tokens(thinking: Any, model: ModelInfo | None) -> int:
    """The instruction the API adds when ``thinking`` is ``enabled`` or ``adaptive``: the model's
    ``thinking`` figure (docs/counting.md#thinking-instructions); 0 with no thinking, ``disabled``
    or no model."""
    if model is None or not isinstance(thinking, Mapping):
        return 0
    if thinking.get("type") not in ("enabled", "adaptive"):
        return 0
    return model.hidden_tokens("thinking")


def structured_output_tokens(
    output_format: Any, family: Family, counter: TokenCounter, model: ModelInfo | None
) -> int:
    """What a ``json_schema`` structured-output format adds to the prompt: its schema as JSON
    indented by two spaces, plus the model's ``structured_output`` instruction
    (docs/counting.md#structured-output); 0 with no format or no model."""
    if model is None or not isinstance(output_format, Mapping):
        return 0
    schema = output_format.get("schema")
    if output_format.get("type") != "json_schema" or not isinstance(schema, Mapping):
        return 0
    text = json.dumps(schema, ensure_ascii=False, indent=2, default=str)
    return counter(text, family) + model.hidden_tokens("structured_output")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationTokens:
    """Per-block token estimates of one conversation, as flat arrays (computed once)."""

    family: Family
    message_frame_tokens: int
    """Tokens each message adds around its blocks (its role marker)."""
    prompt_frame_tokens: int
    """Tokens a prompt of at least one message adds once (in ``prefix_system_tokens``)."""
    system_tokens: int
    tools_tokens: int
    prefix_system_tokens: npt.NDArray[np.int64]
    """System-prompt tokens of a prompt that starts at message ``m`` (length M+1): the
    conversation's, or, in a log that records one per request, the one its request sent."""
    prefix_tools_tokens: npt.NDArray[np.int64]
    """Tool-definition tokens of a prompt that starts at message ``m`` (length M+1)."""
    prefix_key: npt.NDArray[np.int64]
    """Which system prompt and tools a prompt starting at message ``m`` has (length M+1): two
    prompts with different keys share no cacheable prefix."""
    message_block_start: npt.NDArray[np.int64]
    """``message_block_start[m]`` is the first flat block index of message ``m`` (length M+1)."""
    block_tokens: npt.NDArray[np.int64]
    block_kept_tokens: npt.NDArray[np.int64]
    """Tokens a block keeps when cleared: a tool call's name once its input is cleared, a tool
    result's frame and tool name once its content is replaced by the placeholder."""
    block_kind: npt.NDArray[np.int8]
    block_estimated: npt.NDArray[np.bool_]
    """Blocks whose size the text does not give: ``redacted_thinking`` (from its data's length)
    and thinking returned empty (``display: "omitted"``, from the response's usage)."""
    block_category: npt.NDArray[np.int8]
    block_message: npt.NDArray[np.int64]
    message_category: npt.NDArray[np.int8]
    """Category the message's frame is counted in: that of its first block ("other" if empty)."""
    message_turn: npt.NDArray[np.int64]
    """The 0-based assistant turn of each message (``ctxviz.model.turn_indices``)."""
    message_opens_turn: npt.NDArray[np.bool_]
    """Whether the message is a genuine user message (``ctxviz.model.starts_turn``)."""
    tool_use_block: npt.NDArray[np.int64]
    """Flat block index of every tool call (client and server), in order."""
    tool_use_message: npt.NDArray[np.int64]
    tool_use_name: tuple[str, ...]
    tool_result_block: npt.NDArray[np.int64]
    """Flat block index of each call's result; -1 when the history holds none."""
    tool_result_message: npt.NDArray[np.int64]
    """Message of each call's result; the call's own message when it has none."""

    @property
    def message_count(self) -> int:
        """Number of messages."""
        return int(self.message_block_start.shape[0]) - 1


@dataclass(frozen=True, slots=True)
class Pricing:
    """Which messages ``conversation_tokens`` sizes, the others' blocks counting 0 (frames and
    all): ``whole``: these messages' every block; ``visible``: these messages' blocks but
    thinking. A replay as recorded sizes no more until a view asks for the prompts'
    composition (``ctxviz.simulator.run``)."""

    whole: frozenset[int]
    visible: frozenset[int]


# Memo of per-conversation estimates: the conversation and counter are held (so ids cannot be
# reused while an entry lives) and compared by identity; values are pure, so sharing is safe.
_MEMO_SIZE: Final = 8
_memo: list[
    tuple[
        Conversation,
        TokenCounter,
        Family,
        tuple[int, int],
        ModelInfo | None,
        ModelTable | None,
        Pricing | None,
        ConversationTokens,
    ]
] = []


def conversation_tokens(
    conv: Conversation,
    *,
    family: Family,
    counter: TokenCounter = count_text,
    message_frame_tokens: int | None = None,
    model: ModelInfo | None = None,
    table: ModelTable | None = None,
    pricing: Pricing | None = None,
) -> ConversationTokens:
    """Estimate every block of ``conv`` once (memoized per conversation object and counter).
    ``model``: whose hidden prompt text (``ModelInfo.hidden_prompt_tokens``) the tools carry;
    None adds none. ``table``: where a request that records its own tools and model (a log of
    many conversations) finds that model's figures; None: ``model``'s. ``pricing``: whose text is
    counted (``Pricing``; None: every message's)."""
    # the family's frame: a marker per message plus the rest once per prompt; a frame given is
    # per message only (0 turns every frame off)
    default = message_frame_tokens is None
    frame = MESSAGE_MARKER_TOKENS[family] if default else int(message_frame_tokens or 0)
    frames = (frame, prompt_frame_tokens(family) if default else 0)
    for c, k, f, fr, mo, tb, pr, value in _memo:
        same_model = mo == model and tb is table
        same = f == family and fr == frames and same_model and pr == pricing
        if c is conv and k is counter and same:
            return value
    value = _estimate(
        conv,
        family=family,
        counter=counter,
        frame=frame,
        prompt_frame=frames[1],
        model=model,
        table=table,
        pricing=pricing,
    )
    _memo.append((conv, counter, family, frames, model, table, pricing, value))
    if len(_memo) > _MEMO_SIZE:
        del _memo[0]
    return value


def counted_texts(
    conv: Conversation, *, family: Family, model: ModelInfo | None, table: ModelTable | None
) -> list[str]:
    """The distinct texts ``conversation_tokens`` (default frames, every message) asks its
    counter about, in the order it first asks: what another process can count ahead
    (``tokens.known_counts``). A pass without counting, about 1/15 of a cold estimate's time."""
    seen: dict[str, None] = {}

    def collect(text: str, _family: Family) -> int:
        seen[text] = None
        return 0

    _estimate(
        conv,
        family=family,
        counter=collect,
        frame=MESSAGE_MARKER_TOKENS[family],
        prompt_frame=prompt_frame_tokens(family),
        model=model,
        table=table,
    )
    return list(seen)


def _estimate(
    conv: Conversation,
    *,
    family: Family,
    counter: TokenCounter,
    frame: int,
    prompt_frame: int,
    model: ModelInfo | None,
    table: ModelTable | None,
    pricing: Pricing | None = None,
) -> ConversationTokens:
    starts = [0]
    all_text = counter
    tokens: list[int] = []
    kept: list[int] = []
    kinds: list[int] = []
    cats: list[int] = []
    owners: list[int] = []
    msg_cats: list[int] = []
    other = CATEGORY_INDEX["other"]
    uses: list[tuple[int, int, str, str]] = []  # (flat block, message, id, name)
    results: dict[str, tuple[int, int]] = {}
    # tool calls and results as the API renders them: with a model, unless frames are off
    framed = model is not None and frame != 0
    names: dict[str, str] = {}
    for m, message in enumerate(conv.messages):
        counter = think = all_text
        priced = True
        if pricing is not None and m not in pricing.whole:
            priced = m in pricing.visible
            think = _no_text
        n_calls = n_results = 0  # client tool calls and results so far in this message
        for block in message.content:
            b = len(tokens)
            if not priced:  # left for the whole replay: no size, no serialisation
                tokens.append(0)
                kept.append(0)
            elif framed and isinstance(block, ToolUseBlock):
                extra = PARALLEL_TOOL_FRAME_TOKENS[family] if n_calls else 0
                n_calls += 1
                tokens.append(tool_use_tokens(block.name, block.input, family, counter) + extra)
                kept.append(
                    tool_use_tokens(block.name, None, family, counter, cleared=True) + extra
                )
            elif framed and isinstance(block, ImageBlock):
                tokens.append(block_tokens(block, family, counter) + IMAGE_FRAME_TOKENS[family])
                kept.append(0)
            elif framed and isinstance(block, ToolResultBlock):
                name = names.get(block.tool_use_id, "")
                frame_tokens = TOOL_RESULT_FRAME_TOKENS[family] + counter(name, family)
                frame_tokens += PARALLEL_TOOL_FRAME_TOKENS[family] if n_results else 0
                n_results += 1
                tokens.append(block_tokens(block, family, counter) + frame_tokens)
                kept.append(frame_tokens)  # cleared, the block stays: its content is replaced
            else:
                thinking = isinstance(block, ThinkingBlock)
                tokens.append(block_tokens(block, family, think if thinking else counter))
                kept.append(
                    counter(block.name, family)
                    if isinstance(block, ToolUseBlock | ServerToolUseBlock)
                    else 0
                )
            kind = block_kind(block)
            kinds.append(kind)
            if isinstance(block, ToolUseBlock | ServerToolUseBlock):
                uses.append((b, m, block.id, block.name))
                names[block.id] = block.name
            elif isinstance(block, ToolResultBlock | ServerToolResultBlock):
                results.setdefault(block.tool_use_id, (b, m))
            cats.append(CATEGORY_INDEX[block_category(block, message)])
            owners.append(m)
        msg_cats.append(cats[starts[-1]] if len(cats) > starts[-1] else other)
        starts.append(len(tokens))
    estimated = [
        kinds[b] == KIND_REDACTED_THINKING or _is_omitted_thinking(block)
        for b, block in enumerate(b for m in conv.messages for b in m.content)
    ]
    for m, thinking_tokens in omitted_thinking_tokens(conv, tokens, starts).items():
        empty = [
            starts[m] + i for i, b in enumerate(conv.messages[m].content) if _is_omitted_thinking(b)
        ]
        share, extra = divmod(thinking_tokens, len(empty))
        for n, b in enumerate(empty):
            tokens[b] = share + (1 if n < extra else 0)
    counter = all_text
    found = [results.get(u[2]) for u in uses]
    system_tokens = sum(block_tokens(b, family, counter) for b in conv.system)
    first_choice = conv.requests[0].tool_choice if conv.requests else None
    conv_tools_tokens = tools_tokens(
        conv.tools, family, counter, model=model, tool_choice=first_choice
    )
    prefix_system, prefix_tools, prefix_key = _prefix_tokens(
        conv,
        family,
        counter,
        model,
        table,
        system_tokens=system_tokens,
        conv_tools_tokens=conv_tools_tokens,
        prompt_frame=prompt_frame,
    )
    return ConversationTokens(
        family=family,
        message_frame_tokens=frame,
        prompt_frame_tokens=prompt_frame,
        system_tokens=system_tokens,
        tools_tokens=conv_tools_tokens,
        prefix_system_tokens=prefix_system,
        prefix_tools_tokens=prefix_tools,
        prefix_key=prefix_key,
        message_block_start=np.asarray(starts, dtype=np.int64),
        block_tokens=np.asarray(tokens, dtype=np.int64),
        block_kept_tokens=np.asarray(kept, dtype=np.int64),
        block_kind=np.asarray(kinds, dtype=np.int8),
        block_estimated=np.asarray(estimated, dtype=np.bool_),
        block_category=np.asarray(cats, dtype=np.int8),
        block_message=np.asarray(owners, dtype=np.int64),
        message_category=np.asarray(msg_cats, dtype=np.int8),
        message_turn=np.asarray(turn_indices(conv.messages), dtype=np.int64),
        message_opens_turn=np.asarray([starts_turn(m) for m in conv.messages], dtype=np.bool_),
        tool_use_block=np.asarray([u[0] for u in uses], dtype=np.int64),
        tool_use_message=np.asarray([u[1] for u in uses], dtype=np.int64),
        tool_use_name=tuple(u[3] for u in uses),
        tool_result_block=np.asarray(
            [r[0] if r is not None else -1 for r in found], dtype=np.int64
        ),
        tool_result_message=np.asarray(
            [r[1] if r is not None else u[1] for r, u in zip(found, uses, strict=True)],
            dtype=np.int64,
        ),
    )


def _no_text(text: str, family: Family) -> int:
    """The counter of thinking left unsized (``Pricing.visible``)."""
    return 0


def _is_omitted_thinking(block: Block) -> bool:
    """A thinking block returned with ``display: "omitted"``: no text (its signature carries it)."""
    return isinstance(block, ThinkingBlock) and not block.thinking.strip()


def omitted_thinking_tokens(
    conv: Conversation, block_tokens: list[int], message_block_start: list[int]
) -> dict[int, int]:
    """Per response message holding thinking returned empty (``display: "omitted"``), the tokens
    of that thinking: the recorded ``output_tokens`` of the request that returned it minus the
    estimate of the message's other blocks (never below 0). Messages whose request recorded no
    usage are left out (their thinking's size is unknown). ``block_tokens`` and
    ``message_block_start``: the flat per-block estimates and each message's first block."""
    out: dict[int, int] = {}
    for r in conv.requests:
        m = r.response
        if r.usage is None or m is None or not 0 <= m < len(conv.messages) or m in out:
            continue
        content = conv.messages[m].content
        if not any(_is_omitted_thinking(b) for b in content):
            continue
        first = message_block_start[m]
        visible = sum(
            block_tokens[first + i] for i, b in enumerate(content) if not _is_omitted_thinking(b)
        )
        out[m] = max(0, r.usage.output_tokens - visible)
    return out


def _prefix_tokens(
    conv: Conversation,
    family: Family,
    counter: TokenCounter,
    model: ModelInfo | None,
    table: ModelTable | None,
    *,
    system_tokens: int,
    conv_tools_tokens: int,
    prompt_frame: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per first message of a prompt, the system and tools tokens in front of it and which pair
    of system prompt and tools it is (``ConversationTokens.prefix_key``): each request
    that sent its own claims the messages from its prompt's start to its response (later requests
    overwrite earlier ones), so a log mixing conversations prices each segment with its own."""
    n = len(conv.messages) + 1
    system_at = np.full(n, system_tokens, dtype=np.int64)
    tools_at = np.full(n, conv_tools_tokens, dtype=np.int64)
    key_at = np.zeros(n, dtype=np.int64)
    keys: dict[tuple[int, int], int] = {(id(conv.system), id(conv.tools)): 0}
    # the loader shares one object per distinct value: each is counted once
    systems: dict[int, int] = {id(conv.system): system_tokens}
    first_choice = conv.requests[0].tool_choice if conv.requests else None
    main = model.id if model is not None else None
    thinking_at = np.zeros(n, dtype=np.int64)
    tool_lists: dict[tuple[int, str, str | None], int] = {
        (id(conv.tools), _json(first_choice), main): conv_tools_tokens
    }
    for r in conv.requests:
        lo = r.prompt_start
        hi = max(r.prompt_end, r.response + 1 if r.response is not None else 0)
        if hi >= n - 1:
            hi = n  # the end of the history: the (empty) prompt starting there too
        if r.system is not None:
            if id(r.system) not in systems:
                systems[id(r.system)] = sum(block_tokens(b, family, counter) for b in r.system)
            system_at[lo:hi] = systems[id(r.system)]
        if r.tools is not None:
            own = table.get(r.model) if table is not None and r.model and model else model
            key = (id(r.tools), _json(r.tool_choice), own.id if own is not None else None)
            if key not in tool_lists:
                tool_lists[key] = tools_tokens(
                    r.tools, family, counter, model=own, tool_choice=r.tool_choice
                )
            tools_at[lo:hi] = tool_lists[key]
        if r.system is not None or r.tools is not None:
            system = r.system if r.system is not None else conv.system
            pair = (id(system), id(r.tools if r.tools is not None else conv.tools))
            key_at[lo:hi] = keys.setdefault(pair, len(keys))
        own = table.get(r.model) if table is not None and r.model and model else model
        thinking_at[lo:hi] = thinking_instruction_tokens(
            r.thinking, own
        ) + structured_output_tokens(r.output_format, family, counter, own)
    thinking_at[: n - 1] += prompt_frame  # every prompt but the empty one past the last message
    return system_at + thinking_at, tools_at, key_at
