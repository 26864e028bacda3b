"""The one place that touches ctok internals (pinned ctok==1.3.0): pieces of the count, not the count.

ctok's pipeline is text -> ``nfc`` -> ``stream_norm`` (the "marked stream") -> ``min_vocab_tile``
(a min-cost tiling) plus ``frame_tail`` for content-final newlines. ``tokens.py`` cuts raw text into
parts whose marked streams concatenate to the whole text's stream, and where the tiling splits
exactly; the functions here price one such part. ``tokens.py`` explains why each rule is exact.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any, Final, Literal

import ctok
from ctok.constants import BOW_G, EOW_G, MARKER_GLYPHS, WORDY
from ctok.engine import char_cost, frame_tail, min_vocab_tile, tile
from ctok.main import _model
from ctok.normalize import classify, nfc, stream_norm

BridgeFamily = Literal["v3", "v4.7", "v5"]

# ctok's own family keys and versions: our "v5" (Opus 5) is ctok's "4.8" family (v4.7 vocabulary,
# six-token frame, no frame ⟨bow⟩).
_CTOK_FAMILY: Final[dict[BridgeFamily, str]] = {"v3": "v3", "v4.7": "v4.7", "v5": "v4.8"}
CTOK_VERSION: Final[dict[BridgeFamily, str]] = {"v3": "3.0", "v4.7": "4.7", "v5": "4.8"}

# A left context standing for "a lowercase ASCII word came just before": its stream is exactly
# ⟨bow⟩a⟨eow⟩ in every family, and ⟨eow⟩ always ends a vocabulary piece.
_WORD_CONTEXT: Final = "a"
_WORD_CONTEXT_STREAM: Final = BOW_G + "a" + EOW_G


def _model_for(family: BridgeFamily) -> Any:
    """ctok's loaded TokenizerModel for a family (cached by ctok)."""
    return _model(_CTOK_FAMILY[family])


def exact_content_tokens(text: str, family: BridgeFamily) -> int:
    """ctok.token_count minus the family's message frame: the text's own tokens."""
    count: int = ctok.token_count(text, CTOK_VERSION[family])
    overhead: int = _model_for(family).message_overhead
    return count - overhead


def _stream_cost(stream: str, model: Any) -> int:
    """Min-cost tiling of a marked-stream fragment (no frame tail)."""
    if not stream:
        return 0

    def unit_floor(j: int) -> int:
        ch = stream[j]
        if ch in MARKER_GLYPHS:
            return 1
        cost: int = char_cost(model, ch)
        return cost

    total, _spans = min_vocab_tile(stream, model.trie, unit_floor)
    return int(total)


def _tail_cost(normalized: str, model: Any) -> int:
    """What the text's content-final newline run adds beyond the frame (ctok's frame_tail)."""
    n_tail = len(normalized) - len(normalized.rstrip("\n"))
    return len(frame_tail(n_tail, model))


def part_cost(part: str, family: BridgeFamily, *, first: bool, last: bool) -> int:
    """Tokens of one part of a text cut by ``tokens.py``; parts' costs add up to the text's.

    A non-first part starts either with a newline (its left neighbour ends in a character that is
    neither a newline nor stripped) or with an ASCII non-letter right after a word letter.
    """
    model = _model_for(family)
    if first and last:
        whole: int = tile(part, model)[0]
        return whole
    if first:
        norm = nfc(part, fold_quotes=model.fold_quotes)
        stream = stream_norm(norm, model, raw_head_space=part.startswith(" "))
    elif part[:1] == "\n":
        norm = nfc(part, fold_quotes=model.fold_quotes)
        stream = stream_norm(norm, model, raw_head_space=False)
        # A message opening with a newline is handed the frame's ⟨bow⟩; mid-text nothing is.
        if model.frame_bow:
            if stream[:1] != BOW_G:
                raise AssertionError(f"unexpected stream head for {part!r}")
            stream = stream[1:]
    else:
        norm = nfc(_WORD_CONTEXT + part, fold_quotes=model.fold_quotes)
        stream = stream_norm(norm, model, raw_head_space=False)
        if not stream.startswith(_WORD_CONTEXT_STREAM):
            raise AssertionError(f"unexpected stream head for {part!r}")
        stream = stream[len(_WORD_CONTEXT_STREAM) :]
    cost = _stream_cost(stream, model)
    if last:
        cost += _tail_cost(norm, model)
    return cost


def is_word_letter(ch: str) -> bool:
    """Whether ctok classifies ``ch`` as a word letter (WORDY)."""
    return bool(classify(ch) == WORDY)


@cache
def canonical_second_chars() -> frozenset[str]:
    """Every character that canonical composition may merge into the character before it."""
    seconds: set[str] = set()
    for cp in range(0x110000):
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            fields = decomposition.split()
            if len(fields) == 2:
                seconds.add(chr(int(fields[1], 16)))
    return frozenset(seconds)
