"""The one place that touches ctok internals (ctok==1.3.0 is pinned): pricing parts of a text.

ctok's pipeline is text -> ``nfc`` -> ``stream_norm`` (the "marked stream") -> ``min_vocab_tile``
(a min-cost tiling) plus ``frame_tail`` for content-final newlines. ``tokens.py`` cuts raw text into
parts whose marked streams concatenate to the whole text's stream, and where the tiling splits
exactly; the functions here price one such part.

Internals relied on (re-check on any ctok upgrade; tests/test_tokens.py does most of it):
``ctok.main._model`` and its TokenizerModel fields (``trie``, ``vocab``, ``frame_bow``,
``allcaps_min``, ``fold_quotes``, ``message_overhead``), ``ctok.normalize.nfc``, ``stream_norm``
and ``classify``, ``ctok.engine.char_cost``, ``frame_tail`` and ``ReverseTrie`` (terminal key
``None``), and ``ctok.constants`` (marker glyphs, ``SEAM_RE``, ``CONTRACTION_SUFFIXES``, ``WORDY``).

Start-up: ctok builds a family's model from its JSON vocabulary (a reverse trie of ~50K pieces),
and the cut needs character classes found by scanning all 65,536 BMP code points (and all 1.1M
for canonical compositions): about a second of CPU together. Both are built once and kept under
``$XDG_CACHE_HOME/ctxviz/ctok/`` (``_disk_cache``), in a folder named for ctok's version and keyed
by ctok's installed files, this module's source, Python's version and its Unicode database; a
missing or corrupt file is built again. The model is kept as its fields (built-in types, read with
``marshal``) and put back together here, so the fields ctok 1.3.0 gives a TokenizerModel are
checked before one is stored (``_model_state``).
"""

from __future__ import annotations

import hashlib
import marshal
import re
import sys
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

import ctok
from ctok.constants import (
    BOW_G,
    CAPS_G,
    CONTRACTION_SUFFIXES,
    EOW_G,
    HARD,
    MARKER_GLYPHS,
    PUNCT,
    SEAM_RE,
    SHIFT_G,
    WORDY,
)
from ctok.engine import ByteFloor, ReverseTrie, char_cost, frame_tail
from ctok.main import TokenizerModel, _model
from ctok.normalize import _marks_like_punct, classify, mark_case, nfc, stream_norm

from ctxviz import _disk_cache

BridgeFamily = Literal["v3", "v4.7", "v5"]

# ctok's own family keys and versions: our "v5" (Opus 5) is ctok's "4.8" family (v4.7 vocabulary,
# six-token frame, no frame ⟨bow⟩).
_CTOK_FAMILY: Final[dict[BridgeFamily, str]] = {"v3": "v3", "v4.7": "v4.7", "v5": "v4.8"}
CTOK_VERSION: Final[dict[BridgeFamily, str]] = {"v3": "3.0", "v4.7": "4.7", "v5": "4.8"}

# A left context standing for "a lowercase ASCII word came just before": its stream is exactly
# ⟨bow⟩a⟨eow⟩ in every family, and ⟨eow⟩ always ends a vocabulary piece.
_WORD_CONTEXT: Final = "a"
_WORD_CONTEXT_STREAM: Final = BOW_G + "a" + EOW_G


@cache
def _model_for(family: BridgeFamily) -> Any:
    """ctok's TokenizerModel for a family: from the disk cache, else built by ctok and stored."""
    path = _cached_file(f"model-{_CTOK_FAMILY[family]}.marshal")
    state = _disk_cache.read(path)
    if _is_model_state(state):
        return _model_from_state(state)  # type: ignore[arg-type]
    model = _model(_CTOK_FAMILY[family])
    state = _model_state(model)
    if state is not None:
        _disk_cache.write(path, state)
    return model


# The fields of ctok 1.3.0's TokenizerModel, ByteFloor and ReverseTrie; the two memos
# (_char_cost_cache, _chunks) start empty.
_MODEL_FIELDS: Final = frozenset(
    {"message_overhead", "fold_quotes", "allcaps_min", "frame_bow", "unit_pieces"}
    | {"bytes", "vocab", "trie", "_char_cost_cache"}
)
_BYTE_FLOOR_FIELDS: Final = frozenset({"tokens", "max_len", "_chunks"})
_STATE_TYPES: Final[tuple[type | tuple[type, ...], ...]] = (
    int,
    bool,
    (int, type(None)),
    bool,
    set,
    set,
    int,
    frozenset,
    dict,
)
ModelState = tuple[
    int, bool, int | None, bool, set[str], set[str], int, frozenset[str], dict[Any, Any]
]


def _model_state(model: Any) -> ModelState | None:
    """A model's fields as built-in values, or None if ctok's model is not shaped as expected."""
    if (
        set(vars(model)) != _MODEL_FIELDS
        or set(vars(model.bytes)) != _BYTE_FLOOR_FIELDS
        or set(vars(model.trie)) != {"root"}
    ):
        return None
    state = (
        *(model.message_overhead, model.fold_quotes, model.allcaps_min, model.frame_bow),
        *(model.unit_pieces, model.bytes.tokens, model.bytes.max_len, model.vocab, model.trie.root),
    )
    return state if _is_model_state(state) else None


def _is_model_state(state: object) -> bool:
    return (
        isinstance(state, tuple)
        and len(state) == len(_STATE_TYPES)
        and all(isinstance(v, t) for v, t in zip(state, _STATE_TYPES, strict=True))
    )


def _model_from_state(state: ModelState) -> Any:
    """A TokenizerModel equal to the one ctok builds, from ``_model_state``'s fields."""
    (
        overhead,
        fold_quotes,
        allcaps_min,
        frame_bow,
        unit_pieces,
        byte_tokens,
        max_len,
        vocab,
        root,
    ) = state
    floor = object.__new__(ByteFloor)
    floor.tokens, floor.max_len, floor._chunks = byte_tokens, max_len, {}
    trie = object.__new__(ReverseTrie)
    trie.root = root
    model = object.__new__(TokenizerModel)
    model.message_overhead, model.fold_quotes = overhead, fold_quotes
    model.allcaps_min, model.frame_bow = allcaps_min, frame_bow
    model.unit_pieces, model.bytes, model.vocab, model.trie = unit_pieces, floor, vocab, trie
    model._char_cost_cache = {}
    return model


def _cached_file(name: str) -> Path | None:
    folder = _cache_dir()
    return None if folder is None else folder / name


@cache
def _cache_dir() -> Path | None:
    """This ctok's folder in the disk cache: named for its version, keyed as the module says."""
    root = _disk_cache.cache_root()
    if root is None:
        return None
    package = Path(ctok.__file__).parent
    versions = sorted(package.parent.glob("ctok-*.dist-info"))
    version = (
        versions[-1].name.removeprefix("ctok-").removesuffix(".dist-info") if versions else "?"
    )
    key = hashlib.sha256(Path(__file__).read_bytes())
    key.update(f"{sys.version}|{unicodedata.unidata_version}|{marshal.version}".encode())
    for path in sorted([*package.glob("*.py"), *package.glob("data/*")]):
        stat = path.stat()
        key.update(f"|{path.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return root / "ctok" / f"{version}-{key.hexdigest()[:16]}"


def exact_content_tokens(text: str, family: BridgeFamily) -> int:
    """ctok.token_count minus the family's message frame: the text's own tokens."""
    count: int = ctok.token_count(text, CTOK_VERSION[family])
    overhead: int = _model_for(family).message_overhead
    return count - overhead


# No vocabulary piece continues past ⟨eow⟩ or holds ⟨bow⟩ or a case marker anywhere but at its
# head (⟨bow⟩ may follow the case marker); a piece with a space, TAB or newline is a run of that
# one character, and a piece with an ASCII digit is a run of digits. So the tiling always splits
# at these points, and a stream is priced one segment at a time. tests/test_tokens.py checks the
# premises on the vocabularies.
_RUN_EDGES: Final = "|".join(
    f"(?<={c})(?!{c})|(?<!{c})(?={c})" for c in (" ", "\\t", "\\n", "[0-9]")
)
_SEGMENT_SPLIT: Final = re.compile(
    f"(?<={EOW_G})|(?=[{SHIFT_G}{CAPS_G}])|(?<![{SHIFT_G}{CAPS_G}])(?={BOW_G})|{_RUN_EDGES}"
)
# Segment costs memoized per model (exact values only; emptied when full, or by clear_segments).
SEGMENT_MEMO_MAX: Final = 100_000
SEGMENT_MAX_CHARS: Final = 256
_segment_memos: dict[int, dict[str, int]] = {}


def clear_segments() -> None:
    """Empty the segment memo of every family."""
    _segment_memos.clear()


def _segment_memo(model: Any) -> dict[str, int]:
    return _segment_memos.setdefault(id(model), {})


def _stream_cost(stream: str, model: Any) -> int:
    """Cost of ctok's min-cost tiling of a marked-stream fragment (no frame tail)."""
    if stream in model.vocab:
        return 1
    memo = _segment_memo(model)
    total = 0
    for segment in _SEGMENT_SPLIT.split(stream):
        cost = memo.get(segment)  # inline: most segments are known
        total += _segment_cost(segment, model, memo) if cost is None else cost
    return total


def _segment_cost(segment: str, model: Any, memo: dict[str, int]) -> int:
    """Tiling cost of one segment, from the segment memo or priced and stored there."""
    cost = memo.get(segment)
    if cost is not None:
        return cost
    cost = 1 if segment in model.vocab else _tile_cost(segment, model)
    if len(segment) <= SEGMENT_MAX_CHARS:
        if len(memo) >= SEGMENT_MEMO_MAX:
            memo.clear()
        memo[segment] = cost
    return cost


def _tile_cost(stream: str, model: Any) -> int:
    """``min_vocab_tile``'s recurrence over ctok's reverse trie, cost only: no spans are kept."""
    if not stream:
        return 0
    root: dict[Any, Any] = model.trie.root
    if ReverseTrie._END is not None:  # the terminal key this loop relies on
        raise AssertionError("ctok's ReverseTrie changed")  # pragma: no cover
    best = [0] * (len(stream) + 1)
    for end, ch in enumerate(stream, 1):
        start = end - 1
        node = root.get(ch)
        if (node is not None and None in node) or ch in MARKER_GLYPHS:
            cost = best[start] + 1
        else:
            cost = best[start] + char_cost(model, ch)
        if node is not None:
            while start:
                start -= 1
                node = node.get(stream[start])
                if node is None:
                    break
                if None in node and best[start] + 1 < cost:
                    cost = best[start] + 1
        best[end] = cost
    return best[-1]


def _tail_cost(normalized: str, model: Any) -> int:
    """What the text's content-final newline run adds beyond the frame (ctok's frame_tail)."""
    n_tail = len(normalized) - len(normalized.rstrip("\n"))
    return len(frame_tail(n_tail, model))


# The ASCII characters after which a word letter starts a part of its own (tokens.py's third cut):
# whitespace, digits and punctuation except the apostrophe, which may glue a contraction suffix.
# A part that ends in one of them, or in a cut symbol (``is_cut_symbol``), is followed by a word
# letter or an ASCII digit (or, unless it is whitespace, by a newline, which reads the same to it):
# it is priced before a stand-in word.
BEFORE_WORD: Final = frozenset(
    "\t\n " + "".join(ch for ch in map(chr, range(0x21, 0x7F)) if not ch.isalpha() and ch != "'")
)


def _priced_before_word(part: str) -> bool:
    last = part[-1:]
    return last in BEFORE_WORD or (last > "\x7f" and _cut_symbol().fullmatch(last) is not None)


@cache
def _cut_symbol() -> re.Pattern[str]:
    return re.compile(f"[{table('cut_symbols')}]")


def middle_costs(parts: list[str], family: BridgeFamily) -> list[int]:
    """``part_cost`` of many middle parts (neither first nor last)."""
    model = _model_for(family)
    memo = _segment_memo(model)
    costs = []
    for part in parts:
        cost = _fast_cost(part, model, memo, first=False, last=False)
        costs.append(part_cost(part, family, first=False, last=False) if cost is None else cost)
    return costs


# ---- cheap estimates, for the parts count_text does not price ---------------------------------
# A gap's runs: punctuation, digit triples, runs of one whitespace character, except the seams
# (a lone space with no whitespace or digit beside it, which the stream drops).
_GAP_RUN: Final = re.compile(
    "[!-/:-@\\[-`{-~]+|[0-9]{1,3}| {2,}|\\t+|\\n+|(?<=[\\t\\n0-9]) | (?=[\\t\\n0-9])"
)
_PIECE_RUN: Final = re.compile(
    "[A-Za-z]+|[!-/:-@\\[-`{-~]+|\\n+| {2,}|\\t+|[0-9]{1,3}|[^\\x00-\\x7f]+"
)


# Least squares on the even-numbered Rosetta and MultiPL-E files and synthetic tool output, per
# vocabulary: a word that is not one piece costs base + per letter + per capital; a gap's run
# count is scaled by the last figure.
_GUESS_FIT: Final[dict[BridgeFamily, tuple[float, float, float, float]]] = {
    "v3": (0.80, 0.25, 0.15, 1.02),
    "v4.7": (0.70, 0.32, 0.45, 1.06),
    "v5": (0.70, 0.32, 0.45, 1.06),
}


def estimates(parts: list[str], family: BridgeFamily) -> list[float]:
    """A cheap guess at the cost of each middle part, about 5x faster than pricing it.

    Exact where exact is cheap (a lone space between words, digit runs, words that are one
    vocabulary piece); otherwise a word costs a fitted amount per letter and capital (_GUESS_FIT),
    an ASCII gap about a token per run of punctuation, digit triple or whitespace character less
    its seams, and anything else the sum of the same over its runs, non-ASCII at 3.5 bytes a
    token. count_text only uses these scaled by the ratio of exact to estimated cost on the parts
    it does price.
    """
    model = _model_for(family)
    caps: int | None = model.allcaps_min
    vocab: frozenset[str] = model.vocab
    is_word = _plain_word().fullmatch
    is_gap = _ASCII_GAP.fullmatch
    base, per_letter, per_capital, gap_scale = _GUESS_FIT[family]

    def word(run: str) -> float:
        if (BOW_G + run + EOW_G if run.islower() else word_stream(run, caps)) in vocab:
            return 1.0
        return base + per_letter * len(run) + per_capital * sum(map(str.isupper, run))

    out: list[float] = []
    for part in parts:
        if part == " ":
            guess = 0.0
        elif part.isdigit() and part.isascii():
            guess = (len(part) + 2) // 3
        elif is_word(part) is not None:
            guess = word(part)
        elif is_gap(part) is not None:
            guess = max(0.5, gap_scale * len(_GAP_RUN.findall(part)))
        else:
            guess = 0.0
            for run in _PIECE_RUN.findall(part):
                if run[0].isascii() and run[0].isalpha():
                    guess += word(run)
                elif run[0].isascii():
                    guess += 1.0
                else:
                    guess += 0.5 + len(run.encode("utf-8", "surrogatepass")) / 3.5
            guess = max(0.5, guess)
        out.append(guess)
    return out


def part_cost(part: str, family: BridgeFamily, *, first: bool, last: bool) -> int:
    """Tokens of one part of a text cut by ``tokens.py``; parts' costs add up to the text's.

    A non-first part starts with a newline (its left neighbour is a character that is neither
    whitespace nor stripped), with an ASCII non-letter right after a word letter (priced behind a
    stand-in word), or with a word letter right after a character of ``BEFORE_WORD`` (nothing
    before a word changes its stream). A non-last part that ends in such a character is followed
    by a word letter or by a newline, which read the same to it, and is priced before a stand-in
    word.
    """
    model = _model_for(family)
    cost = _fast_cost(part, model, _segment_memo(model), first=first, last=last)
    if cost is not None:
        return cost
    plain = _plain_text().fullmatch(part) is not None
    text = part
    head = ""
    if not first and part[:1] != "\n" and not is_nfc_safe_letter(part[:1]):
        text, head = _WORD_CONTEXT + text, _WORD_CONTEXT_STREAM
    tail = not last and _priced_before_word(part)
    if tail:
        text += _WORD_CONTEXT
    if not plain:
        norm = nfc(text, fold_quotes=model.fold_quotes)
        plain = _plain_text().fullmatch(norm) is not None  # e.g. a no-break space became " "
    else:
        norm = text
    raw_head_space = first and part.startswith(" ")
    stream = _stream(norm, model, raw_head_space=raw_head_space, plain=plain)
    if not first and part[:1] == "\n" and model.frame_bow:
        # A message opening with a newline is handed the frame's ⟨bow⟩; mid-text nothing is.
        head = BOW_G
    if not stream.startswith(head):
        raise AssertionError(f"unexpected stream head for {part!r}")
    stream = stream[len(head) :]
    if tail:
        if not stream.endswith(_WORD_CONTEXT_STREAM):
            raise AssertionError(f"unexpected stream tail for {part!r}")
        stream = stream[: -len(_WORD_CONTEXT_STREAM)]
    cost = _stream_cost(stream, model)
    if last:
        cost += _tail_cost(norm, model)
    return cost


def _fast_cost(
    part: str, model: Any, memo: dict[str, int], *, first: bool, last: bool
) -> int | None:
    """``part_cost`` for the common kinds of part, without ctok's normalizer; None for the rest."""
    if not first and not last and part.isdigit() and part.isascii():
        return (len(part) + 2) // 3  # every ASCII number of up to three digits is a piece
    if _plain_word().fullmatch(part) is not None:
        # A whole word of plain letters: one segment, its stream the word alone, wherever it stands.
        return _segment_cost(word_stream(part, model.allcaps_min), model, memo)
    if not first and _ASCII_GAP.fullmatch(part) is not None:
        if not last:
            stream = gap_stream(
                part, after_word=part[0] != "\n", before_word=part[-1] in BEFORE_WORD
            )
            return _segments_cost(stream, model)
        body = part.rstrip("\n")  # the text's final newlines are the frame's (ctok's frame_tail)
        tail = len(frame_tail(len(part) - len(body), model))
        if not body:
            return tail
        stream = gap_stream(body, after_word=part[0] != "\n", before_word=False)
        return _segments_cost(stream, model) + tail
    if (word := any_word_stream(part, model.allcaps_min)) is not None:
        return _segment_cost(word, model, memo)  # one segment, like a plain word
    return None


# ---- the ASCII gap fast path --------------------------------------------------------------------
# A middle part made only of ASCII non-letters (punctuation, digits, whitespace) sits after a word
# (or starts with a newline) and, if it ends in a BEFORE_WORD character, before one. Its stream is
# ctok's rules for such text: a punctuation run takes ⟨bow⟩ after a space and ⟨eow⟩ before a single
# space; digits and whitespace stay bare; a lone space between ⟨eow⟩ and ⟨bow⟩ is the seam. The
# stream then splits at every marker edge and every whitespace edge (whitespace pieces are runs of
# one character), so it is priced per segment. tests/test_tokens.py compares it with ctok.
_ASCII_GAP: Final = re.compile("[\\t\\n -@\\[-`{-~]+")
_GAP_BOW: Final = re.compile("(?<= )(?=[!-/:-@\\[-`{-~])")
_GAP_EOW: Final = re.compile("(?<=[!-/:-@\\[-`{-~])(?= (?! ))")
_GAP_SEGMENT: Final = re.compile(
    f"{BOW_G}?[^ \\t\\n0-9{BOW_G}{EOW_G}]+{EOW_G}?| +|\\t+|\\n+|[0-9]+|.", re.DOTALL
)


def gap_stream(part: str, *, after_word: bool, before_word: bool) -> str:
    """The stream of an ASCII gap part (see above) after a word (else after a newline's left
    neighbour or the text's start) and before a word (else before a newline or the text's end)."""
    if " " not in part:
        return part
    stream = _GAP_EOW.sub(EOW_G, _GAP_BOW.sub(BOW_G, part))
    if (after_word and stream[0] == " ") or (EOW_G + " ") in stream:
        head = "a" + EOW_G if after_word else ""
        tail = BOW_G + "a" + EOW_G if before_word else ""
        seamed = SEAM_RE.sub("\\1" + EOW_G + "\\2" + BOW_G, head + stream + tail)
        stream = seamed[len(head) : len(seamed) - len(tail)]
    return stream


def _segments_cost(stream: str, model: Any) -> int:
    """Cost of a gap stream, one segment at a time."""
    memo = _segment_memo(model)
    try:
        return sum(map(memo.__getitem__, _GAP_SEGMENT.findall(stream)))
    except KeyError:
        return _stream_cost(stream, model)


def _stream(norm: str, model: Any, *, raw_head_space: bool, plain: bool) -> str:
    if plain:
        return plain_stream_norm(norm, model, raw_head_space=raw_head_space)
    stream: str = stream_norm(norm, model, raw_head_space=raw_head_space)
    return stream


# ---- the plain-text fast path -------------------------------------------------------------------
# "Plain" text is printable ASCII, TAB, LF and "plain letters": BMP word letters that NFC leaves
# alone and never merges into a neighbour, either cased with a one-character round trip
# (Lu/Ll) or caseless (Lo), minus the letters ctok special-cases (İ, ẞ, ϴ, Σ, ...). On plain text
# ctok's nfc is the identity and its stream_norm reduces to plain_stream_norm (no hard, stray-mark,
# non-ASCII digit runs; caseless letters only block ⟨caps⟩). tests/test_tokens.py checks both.

_W, _D, _S, _P = 1, 2, 3, 4
_ASCII_PUNCT: Final = "!-/:-@\\[-`{-~"
_SPECIAL_LETTERS: Final = frozenset("\u0130\u1e9e\u03f4\u03a3\u03c2\u0e32\u1c89\u1c8a\ua7cb\u0264")


def _is_plain_letter(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x80:
        return ch.isalpha()
    if ch in _SPECIAL_LETTERS or not is_nfc_safe_letter(ch):
        return False
    category = unicodedata.category(ch)
    if category == "Lu":
        lower = ch.lower()
        return len(lower) == 1 and lower != ch and lower.upper() == ch and lower.islower()
    if category == "Ll":
        return ch.lower() == ch and not ch.isupper()
    if category == "Lo":
        return ch.lower() == ch == ch.upper() and not ch.islower() and not ch.isupper()
    return False


def is_nfc_safe_letter(ch: str) -> bool:
    """A BMP word letter (for ctok) that NFC keeps and can never merge into the character before."""
    cp = ord(ch)
    if (
        cp >= 0x10000
        or 0xD800 <= cp <= 0xDFFF
        or 0x1100 <= cp <= 0x11FF  # Hangul jamo compose algorithmically
        or 0xA960 <= cp <= 0xA97F
        or 0xD7B0 <= cp <= 0xD7FF
        or ch == "\u0e32"  # ctok folds Thai NIKHAHIT + SARA AA into SARA AM
    ):
        return False
    return (
        unicodedata.category(ch)[0] == "L"
        and unicodedata.normalize("NFC", ch) == ch
        and ch not in canonical_second_chars()
        and is_word_letter(ch)
    )


def char_class(predicate: Callable[[str], bool]) -> str:
    """A regex character-class body (escaped ranges) of the BMP characters matching predicate."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x10000):
        if predicate(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )


def _plain_letters() -> str:
    return table("plain_letters")


@cache
def _plain_text() -> re.Pattern[str]:
    return re.compile(f"[\\t\\n -~{_plain_letters()}]*")


@cache
def _plain_word() -> re.Pattern[str]:
    return re.compile(f"[{_plain_letters()}]+")


@cache
def _plain_run() -> re.Pattern[str]:
    return re.compile(f"([{_plain_letters()}]+)|([0-9]+)|([ \\t\\n]+)|([{_ASCII_PUNCT}]+)")


@cache
def _caseless() -> re.Pattern[str]:
    return re.compile(f"[{table('caseless_letters')}]")


def plain_stream_norm(norm: str, model: Any, *, raw_head_space: bool) -> str:
    """ctok's ``stream_norm`` for plain text (see above), without its per-character Unicode work."""
    frame_bow: bool = model.frame_bow
    caps: int | None = model.allcaps_min
    norm = norm.rstrip("\n")
    if frame_bow and raw_head_space and norm[:1] == " " and norm[1:2] != " ":
        norm = norm[1:]
    runs = [(m.lastindex or 0, m.group()) for m in _plain_run().finditer(norm)]
    if not runs:
        return BOW_G if frame_bow else ""
    last = len(runs) - 1
    # space_before[i]: run i-1 is whitespace ending in " " (the frame counts as one);
    # space_after[i]: run i+1 is whitespace starting with exactly one " ".
    space_before = [frame_bow] + [cls == _S and body[-1] == " " for cls, body in runs[:-1]]
    space_after = [cls == _S and body[0] == " " and body[:2] != "  " for cls, body in runs[1:]]
    space_after.append(False)
    first_cls, first_body = runs[0]
    head_quote = first_body == "'" and last > 0 and runs[1][0] == _W
    has_own_bow = not head_quote and (
        first_cls in (_W, _P) or (first_cls == _S and first_body[0] == " ")
    )
    out: list[str] = [] if has_own_bow or not frame_bow else [" " if head_quote else BOW_G]
    for i, (cls, body) in enumerate(runs):
        if cls == _W:
            seam = (
                i > 0
                and body in CONTRACTION_SUFFIXES
                and runs[i - 1] == (_P, "'")
                and (i < 2 or runs[i - 2][0] != _P)
            )
            out.append(word_stream(body, caps, bow=not seam))
        elif cls == _P:
            opens_word = body == "'" and i < last and runs[i + 1][0] == _W
            bow = BOW_G if space_before[i] and not opens_word else ""
            out.append(bow + body + (EOW_G if space_after[i] else ""))
        else:
            out.append(body)
    stream: str = SEAM_RE.sub("\\1" + EOW_G + "\\2" + BOW_G, "".join(out))
    return stream


def word_stream(word: str, caps: int | None, *, bow: bool = True) -> str:
    """The stream of one run of plain letters: case marker, ⟨bow⟩ (unless glued), body, ⟨eow⟩."""
    if caps is not None and len(word) >= caps and word.isupper() and not _caseless().search(word):
        pre, word = CAPS_G, word.lower()
    elif word[0] == word[0].lower():
        pre = ""
    elif word[1:] == word[1:].lower():
        pre, word = SHIFT_G, word.lower()
    else:
        pre = ""
    stream: str = pre + BOW_G + word + EOW_G if bow else pre + word + EOW_G
    return stream


def any_word_stream(part: str, caps: int | None) -> str | None:
    """The stream of a part that is one word of any script (a cut-safe letter, then BMP WORDY
    characters) and that ctok's text normalization leaves alone; None for any other part.

    Such a part is one WORDY run wherever it stands, so its stream is ctok's case marking of it
    between ⟨bow⟩ and ⟨eow⟩."""
    if (
        _any_word().fullmatch(part) is None
        or not unicodedata.is_normalized("NFC", part)
        or "\u0e4d\u0e32" in part
    ):
        return None
    marked: str = mark_case(part, caps)
    body = marked.lstrip(SHIFT_G + CAPS_G)
    stream: str = marked[: len(marked) - len(body)] + BOW_G + body + EOW_G
    return stream


@cache
def _any_word() -> re.Pattern[str]:
    return re.compile(f"[{table('nfc_safe_letters')}][{table('bmp_wordy')}]*")


def _is_bmp_wordy(ch: str) -> bool:
    return ord(ch) < 0x10000 and not 0xD800 <= ord(ch) <= 0xDFFF and is_word_letter(ch)


def ends_word(ch: str) -> bool:
    """A character that closes a word (or stray-mark word) with ⟨eow⟩ before an ASCII non-letter.

    A BMP WORDY character that NFC keeps, never reorders (combining class 0), and can only merge
    into a WORDY character: every canonical pair ending in such a character composes to one
    (tests/test_tokens.py checks); algorithmic Hangul composition and ctok's Thai fold are out.
    """
    cp = ord(ch)
    if (
        cp >= 0x10000
        or 0xD800 <= cp <= 0xDFFF
        or 0x1100 <= cp <= 0x11FF
        or 0xA960 <= cp <= 0xA97F
        or 0xD7B0 <= cp <= 0xD7FF
        or ch == "\u0e32"
    ):
        return False
    return (
        unicodedata.combining(ch) == 0
        and unicodedata.normalize("NFC", ch) == ch
        and is_word_letter(ch)
    )


def is_cut_symbol(ch: str) -> bool:
    """A non-ASCII BMP punctuation mark or symbol that the cut treats as ASCII punctuation other
    than the apostrophe (tokens.py's first, third and fourth cuts): ``→ · • — – ● ✓ │ … ©``.

    ctok's border-marker branch claims it (a marker only beside a space), no vocabulary piece
    joins it to an ASCII digit, past a word's ⟨eow⟩ or into a ⟨bow⟩ or case marker (the premises
    tests/test_tokens.py checks on the vocabularies), and ctok's normalization keeps it and never
    merges it into the character before. Ideographic punctuation (U+3000-U+303F), which ctok
    leaves in the ideograph run it sits in, and the quotes v3 folds are out.
    """
    cp = ord(ch)
    if cp < 0x80 or cp >= 0x10000 or 0xD800 <= cp <= 0xDFFF or 0x3000 <= cp <= 0x303F:
        return False
    return (
        unicodedata.category(ch)[0] in "PS"
        and classify(ch) in (PUNCT, HARD)
        and bool(_marks_like_punct(ch))
        and unicodedata.combining(ch) == 0
        and nfc(ch, fold_quotes=True) == ch == nfc(ch, fold_quotes=False)
        and ch not in canonical_second_chars()
    )


def is_word_letter(ch: str) -> bool:
    """Whether ctok classifies ``ch`` as a word letter (WORDY)."""
    return bool(classify(ch) == WORDY)


@cache
def canonical_second_chars() -> frozenset[str]:
    """Every character that canonical composition may merge into the character before it."""
    stored = _stored_tables()
    if stored is not None:
        return frozenset(stored["canonical_seconds"])
    return scan_canonical_second_chars()


def scan_canonical_second_chars() -> frozenset[str]:
    """``canonical_second_chars`` from Python's Unicode database (all 1.1M code points)."""
    seconds: set[str] = set()
    for cp in range(0x110000):
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            fields = decomposition.split()
            if len(fields) == 2:
                seconds.add(chr(int(fields[1], 16)))
    return frozenset(seconds)


# ---- the character tables, built once (see the module docstring) ------------------------------
TABLES: Final[dict[str, Callable[[str], bool]]] = {
    "plain_letters": _is_plain_letter,
    "caseless_letters": lambda ch: _is_plain_letter(ch) and ch.lower() == ch.upper(),
    "nfc_safe_letters": is_nfc_safe_letter,
    "bmp_wordy": _is_bmp_wordy,
    "word_ends": ends_word,
    "cut_symbols": is_cut_symbol,
}


def table(name: str) -> str:
    """The regex class body (``char_class``) of one of ``TABLES``' predicates."""
    return _tables()[name]


@cache
def _tables() -> dict[str, str]:
    stored = _stored_tables()
    if stored is not None:
        return stored
    built = {"canonical_seconds": "".join(sorted(canonical_second_chars()))}
    built.update((name, char_class(predicate)) for name, predicate in TABLES.items())
    _disk_cache.write(_cached_file("tables.marshal"), built)
    return built


@cache
def _stored_tables() -> dict[str, str] | None:
    stored = _disk_cache.read(_cached_file("tables.marshal"))
    names = {"canonical_seconds", *TABLES}
    if (
        isinstance(stored, dict)
        and set(stored) == names
        and all(isinstance(v, str) for v in stored.values())
    ):
        return stored
    return None
