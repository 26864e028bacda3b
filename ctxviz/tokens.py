"""Offline token counts of text per Claude tokenizer family, exact (ctok's model) or fast.

Three counters, all deterministic and all counting the text alone (no message frame):

* ``count_text_exact``: plain ``ctok.token_count`` (ctok==1.3.0, exact on the calibration data)
  minus the frame. The reference; about 0.4 MB/s.
* ``count_text_memo``: exactly the same numbers, memoized per *part* of the text (below): 11-14
  MB/s on text whose parts it has seen, 2.4-9.5 MB/s on text it has never seen.
* ``count_text`` (the default): ``count_text_memo`` for texts of up to ``EXACT_TEXT_PARTS`` parts
  (about 5,000 characters of prose or code: almost every block of a real conversation). Longer
  texts are priced exactly on their first ``EXACT_PARTS`` parts, their last part and every
  ``SAMPLE_STEP``-th part between; every other part gets a cheap guess (``_ctok_bridge.estimates``:
  exact for digit runs, the free space between two words and words that are one vocabulary
  piece, fitted for the rest), and the guesses are scaled by exact over guessed on the priced
  parts, that ratio pulled towards 1 by ``SHRINK`` tokens (a ratio estimate). Past
  ``GUESSED_PARTS`` parts a byte-count proxy replaces the guesses and at most about
  ``LONG_SAMPLES`` parts are priced. Held-out error (bench/tokens.py, 2026-12-05): exact on 99%
  of the Rosetta programs and 90% of the JSON/tool-output texts; on the longer UDHR and
  MultiPL-E documents median 0.8-1.6%, p90 3.1-3.7%. On the 1,153 text blocks of the real Claude
  Code samples: exact on 95.8% of them, p99 3.0%, 0.26% high in total. With exact pricing only up
  to 9 parts (before 2026-12-05) it was 2.0% off at the median, 7.7% at p90 and 1.45% high in
  total there, for the same CPU time. Exact pricing costs on text never seen before: about 3.5
  MB/s for a thousand tiny code files in hundreds of languages, 6-8 for prose and JSON; 10-17
  MB/s on text seen before.

(Figures: ``python bench/tokens.py``, CPU time on one core, best of three passes.) ctok prices
new text in pure Python at about 2 µs a character; the counters get their speed from cutting
text into small, often repeated parts, pricing each distinct part once by its own fast path,
and (``count_text``) pricing only a sample of the parts never seen before.

Before cutting, what ctok's normalization folds anyway is folded (``_fold``): CRLF to LF, NUL and
the other spaces to " " (not a text's first character), and for v3 curly quotes to straight ones.

Parts: the text is cut only where ctok's count splits exactly, so part costs add up to the count:

1. After a character that ends a word (``_ctok_bridge.ends_word``: a letter or mark whose run
   closes with ⟨eow⟩, which NFC cannot reorder or merge into anything else) and before an ASCII
   non-letter or a cut symbol (``hello| world``, ``x|=1``, ``a|—b``). No vocabulary piece
   continues past an ⟨eow⟩, and what follows depends on the word only through "a word came
   before", so it is priced behind a stand-in word ``a``.
2. Before a newline whose left neighbour is neither whitespace nor a stripped control character.
   Whitespace tiles only in runs of one character, a newline hands no boundary marker to either
   side, and the part before keeps its whole whitespace run's head.
3. Before a cut-safe word letter (one NFC cannot merge into its neighbour) after ASCII
   whitespace, a digit, punctuation other than the apostrophe (which may glue a contraction) or
   a cut symbol: a word's stream starts with ⟨bow⟩ (or a case marker) whatever came before, and
   no piece spans into one. A part that ends in such a character is priced before a stand-in word.
4. Between an ASCII digit and ASCII punctuation or a cut symbol, either way round: digit pieces
   are runs of digits, digits take no boundary markers, and punctuation next to a digit takes
   none either.

A *cut symbol* (``_ctok_bridge.is_cut_symbol``) is non-ASCII punctuation or a symbol that ctok
marks as it marks ASCII punctuation (``→ · • — ● ✓ │ …``). Claude Code's file reads number every
line ``    12→``: cut at the arrow, the number and what follows it are each priced once, then read
from the memo down the whole file.

Each part is priced by the cheapest exact route: a whole word (any script) is one segment
between ⟨bow⟩ and ⟨eow⟩; an ASCII gap's stream is built by three regular expressions; a run of
digits costs ceil(n / 3); anything else goes through ctok's normalizer. Streams are then tiled
one *segment* at a time (they split at markers, whitespace and digit edges), each segment
memoized. Exactness is checked, not assumed: ``tests/test_tokens.py`` checks every premise on
the vocabularies and compares ``count_text_memo`` with ctok on thousands of texts; it matches
the real count_tokens answers on all 2,264 calibration documents. Opus 5 ("v5") makes trailing
ASCII whitespace free (ctok's README says so and the calibration counts agree); every counter
here models that.

Memory: the part memo is module-level, shared by all families and threads, and bounded: at most
``MAX_CACHED_PARTS`` parts of at most ``MAX_CACHED_PART_CHARS`` characters and
``MAX_CACHED_CHARS`` characters in all (about 100 bytes a part, so at most about 70 MB; emptied
whenever a bound would be crossed); the guesses and the bridge's segment costs are bounded the
same way. They only hold reproducible values: they never change a result. ``clear_cache()``
empties them; ``cache_size()`` reports the part memo.

Counts made elsewhere: inside ``with known_counts(family, counts):`` (this thread or task only),
``count_text`` answers from ``counts`` for the texts it holds. The app's upload worker counts an
upload's first texts in its own process while the server counts the last ones
(``ctxviz_app/isolated.py``); the counts are this module's, so the results are the same.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from types import MappingProxyType
from typing import Final, Literal, get_args

from ctxviz import _ctok_bridge

Family = Literal["v3", "v4.7", "v5"]
FAMILIES: Final[tuple[Family, ...]] = get_args(Family)

MESSAGE_FRAME_TOKENS: Final[Mapping[Family, int]] = MappingProxyType({"v3": 7, "v4.7": 11, "v5": 6})
"""What ``count_tokens`` adds to one user text message (the calibration data)."""
MESSAGE_MARKER_TOKENS: Final[Mapping[Family, int]] = MappingProxyType({"v3": 3, "v4.7": 3, "v5": 3})
"""What each message adds (its role marker): v3 measured on real multi-message bodies
(docs/counting.md#the-per-message-frame), v4.7 / v5 an estimate. The rest of
``MESSAGE_FRAME_TOKENS`` is added once per prompt (``prompt_frame_tokens``)."""


def prompt_frame_tokens(family: Family) -> int:
    """What a prompt adds once, whatever its number of messages: the single-message frame less
    one message's marker."""
    return MESSAGE_FRAME_TOKENS[family] - MESSAGE_MARKER_TOKENS[family]


# Opus 5 counts trailing ASCII whitespace as free.
_V5_FREE_TRAILING: Final = " \t\n\r\x0b\x0c"

# count_text prices a text of up to EXACT_TEXT_PARTS parts exactly. Past that, it prices the first
# EXACT_PARTS parts and the last one exactly, then every SAMPLE_STEP-th part of the rest; the others
# are guessed, and the guesses scaled (a ratio estimate, see below).
EXACT_TEXT_PARTS: Final = 1024
EXACT_PARTS: Final = 8
SAMPLE_STEP: Final = 13
SHRINK: Final = 10.0
GUESSED_PARTS: Final = 5000
LONG_SAMPLES: Final = 200

# Memo bounds (see the module docstring): longer parts are priced but not stored.
MAX_CACHED_PART_CHARS: Final = 512
MAX_CACHED_CHARS: Final = 6_000_000
MAX_CACHED_PARTS: Final = 400_000


def family_for_model(model: str | None) -> Family:
    """Tokenizer family of a model id; unknown and non-Claude ids (gpt-4o, ...) fall back to v3."""
    if not model:
        return "v3"
    name = model.strip().lower()
    name = re.split(r"[\[@]", name, maxsplit=1)[0]  # "claude-opus-4-6[1m]", Vertex "@2025..."
    name = re.sub(r"-\d{8}$", "", name)  # dated ids: claude-sonnet-4-5-20250929
    name = re.sub(r"^(?:anthropic[./:]|us\.|eu\.|apac\.|global\.)+", "", name)  # gateways
    name = re.sub(r"-v\d+(?::\d+)?$", "", name)  # Bedrock suffixes: -v1:0
    match = re.fullmatch(r"claude-(?:[a-z]+-)?(\d+)(?:[-.](\d+))?(?:-[a-z]+)?(?:-.*)?", name)
    if match is None:
        return "v3"
    major = int(match.group(1))
    minor = int(match.group(2)) if match.group(2) and len(match.group(2)) <= 2 else 0
    tier = re.search(r"(opus|sonnet|haiku|fable)", name)
    if major >= 5:
        return "v5"
    if major == 4 and tier is not None and tier.group(1) == "opus":
        if minor >= 8:
            return "v5"
        if minor == 7:
            return "v4.7"
    return "v3"


def count_text_exact(text: str, family: Family = "v3") -> int:
    """Tokens of ``text`` alone (no frame) by plain ctok: the slow reference; "" counts 0."""
    _check_family(family)
    if family == "v5":
        text = text.rstrip(_V5_FREE_TRAILING)
    if not text:
        return 0
    return _ctok_bridge.exact_content_tokens(text, family)


_KNOWN: Final[ContextVar[tuple[Family, Mapping[str, int]] | None]] = ContextVar(
    "ctxviz_known_counts", default=None
)


@contextmanager
def known_counts(family: Family, counts: Mapping[str, int]) -> Iterator[None]:
    """Inside the block (this thread or task only), ``count_text(text, family)`` answers from
    ``counts`` where it holds the text: counts ``count_text`` made of it elsewhere, in another
    process (the app's reader counts an upload's first texts while the server counts its last)."""
    token = _KNOWN.set((family, counts))
    try:
        yield
    finally:
        _KNOWN.reset(token)


def count_text(text: str, family: Family = "v3") -> int:
    """Tokens of ``text`` alone (no frame): exact up to ``EXACT_TEXT_PARTS`` parts, else sampled."""
    known = _KNOWN.get()
    if known is not None and known[0] == family and (cost := known[1].get(text)) is not None:
        return cost
    memo, text = _prepare(text, family)
    if not text:
        return 0
    if len(text) > LARGE_TEXT_CHARS:
        return _count_large(text, family)
    parts = _part_finder().findall(text)
    if len(parts) <= EXACT_TEXT_PARTS:
        return memo.exact(parts)
    exact = memo.edge(memo.head, parts[0], first=True, last=False)
    exact += memo.edge(memo.tail, parts[-1], first=False, last=True)
    rest = parts[EXACT_PARTS:-1]
    guessed = len(rest) <= GUESSED_PARTS
    sample = rest[:: SAMPLE_STEP if guessed else max(SAMPLE_STEP, len(rest) // LONG_SAMPLES)]
    # One pass prices the head and the sample (one set of misses); the sample alone is then a sum.
    exact += memo.middle(parts[1:EXACT_PARTS] + sample)
    sampled = memo.middle(sample)
    exact -= sampled
    if guessed:
        guesses = memo.guesses_of(rest).__getitem__
        sample_guess = sum(map(guesses, sample))
        rest_guess = sum(map(guesses, rest)) - sample_guess
    else:
        sample_guess = _weight(sample)
        rest_guess = _weight(rest) - sample_guess
    # The unpriced parts' guesses, scaled by exact over guessed on the priced ones, the ratio
    # pulled towards 1 by SHRINK tokens so that a short text's few samples cannot swing it far.
    return exact + sampled + round(rest_guess * (sampled + SHRINK) / (sample_guess + SHRINK))


# A text longer than LARGE_TEXT_CHARS is priced from LARGE_TEXT_WINDOWS evenly spaced windows of
# LARGE_WINDOW_CHARS characters, scaled by length. Splitting 100 MB into parts alone takes 20 s,
# and ctok prices some runs (newlines, dashes) at 10-40 µs a character: without a bound on the
# characters priced, one hostile string holds a replay for minutes (2 MB of newlines: 80 s).
# On the samples' texts (70K-1.5M characters) the estimate is within 1.1% of the exact count.
LARGE_TEXT_CHARS: Final = 65_536
LARGE_TEXT_WINDOWS: Final = 128
LARGE_WINDOW_CHARS: Final = 512


def _count_large(text: str, family: Family) -> int:
    step = len(text) // LARGE_TEXT_WINDOWS
    windows = [text[i * step : i * step + LARGE_WINDOW_CHARS] for i in range(LARGE_TEXT_WINDOWS)]
    sampled = sum(count_text(w, family) for w in windows)
    return round(sampled * len(text) / sum(map(len, windows)))


def count_text_memo(text: str, family: Family = "v3") -> int:
    """Tokens of ``text`` alone (no frame), exactly ``count_text_exact``, memoized per part."""
    memo, text = _prepare(text, family)
    if not text:
        return 0
    total = 0
    for parts, first, last in _windows(text):
        if first and last:
            return memo.exact(parts)
        if first:
            total += memo.edge(memo.head, parts[0], first=True, last=False)
            parts = parts[1:]
        if last:
            total += memo.edge(memo.tail, parts[-1], first=False, last=True)
            parts = parts[:-1]
        total += memo.middle(parts)
    return total


# Texts are split a window of about this many characters at a time, so a huge text never holds
# all of its parts in memory at once.
WINDOW_CHARS: Final = 1 << 20


def _windows(text: str) -> Iterator[tuple[list[str], bool, bool]]:
    """(parts, is first window, is last window) for consecutive windows of ``text``, cut exactly."""
    cutter = _cutter()
    bounds = [0]
    while len(text) - bounds[-1] > WINDOW_CHARS:
        match = cutter.search(text, bounds[-1] + WINDOW_CHARS)
        if match is None:
            break
        bounds.append(match.start())
    bounds.append(len(text))
    last = len(bounds) - 2
    find_parts = _part_finder().findall
    for i in range(last + 1):
        yield find_parts(text, bounds[i], bounds[i + 1]), i == 0, i == last


def _prepare(text: str, family: Family) -> tuple[_Memo, str]:
    memo = _MEMOS.get(family)
    if memo is None:
        raise ValueError(f"unknown tokenizer family {family!r}; expected one of {FAMILIES}")
    if family == "v5":
        text = text.rstrip(_V5_FREE_TRAILING)
    return memo, _fold(text, fold_quotes=family == "v3")


# ctok's normalization maps these to what they become before anything can tell them apart: a
# carriage return before a newline is stripped, NUL and the other spaces read as " " (except a
# text's first character, whose raw form decides whether the frame absorbs a leading space), and
# v3 folds curly quotes. Folding them first lets the cut and the memo see ordinary text.
_SPACE_CHARS: Final = "\x00\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
_QUOTE_FOLD: Final = (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'))
_SPACES: Final = re.compile(f"[{_SPACE_CHARS}]")
_FOLDED: Final = re.compile(f"[\r{_SPACE_CHARS}{''.join(curly for curly, _ in _QUOTE_FOLD)}]")


def _fold(text: str, *, fold_quotes: bool) -> str:
    if _FOLDED.search(text) is None:  # one pass for the common case: nothing to fold
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if "\xa0" in text:  # the usual one, by a plain replace
        text = text[:1] + text[1:].replace("\xa0", " ")
    if _SPACES.search(text, 1) is not None:
        text = text[:1] + _SPACES.sub(" ", text[1:])
    if fold_quotes:
        for curly, straight in _QUOTE_FOLD:
            if curly in text:
                text = text.replace(curly, straight)
    return text


_PUNCT_BYTES: Final = bytes(b for b in range(0x21, 0x7F) if not chr(b).isalnum())
_DIGIT_BYTES: Final = b"0123456789"
_UPPER_BYTES: Final = bytes(range(0x41, 0x5B))
_SPACE_BYTES: Final = b" \t\n"


def _weight(parts: list[str]) -> float:
    """A rough token proxy for sampled extrapolation, from a few byte counts of the parts: a part
    that is a lone space costs nothing (the seam between two words); punctuation, digits, capitals
    and non-ASCII bytes cost more than letters; whitespace runs cost less."""
    joined = "".join(parts)
    data = joined.encode("utf-8", "surrogatepass")
    size = len(data)
    seams = parts.count(" ")
    punct = size - len(data.translate(None, _PUNCT_BYTES))
    digits = size - len(data.translate(None, _DIGIT_BYTES))
    upper = size - len(data.translate(None, _UPPER_BYTES))
    spaces = size - len(data.translate(None, _SPACE_BYTES))
    letters = size - spaces - punct - digits
    return (
        (len(parts) - seams) / 2
        + letters / 5
        + punct * 0.7
        + digits / 3
        + upper / 4
        + (size - len(joined)) / 3
        + (spaces - seams) / 6
    )


def clear_cache() -> None:
    """Empty the part memo of every family (it only ever holds exact, reproducible costs)."""
    global _cached_chars, _cached_parts
    with _STORE_LOCK:
        for memo in _MEMOS.values():
            memo.clear()
        _cached_chars = _cached_parts = 0
        _ctok_bridge.clear_segments()


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown tokenizer family {family!r}; expected one of {FAMILIES}")


class _Memo:
    """Bounded memo of part costs for one family (four key spaces: single, head, middle, tail)."""

    __slots__ = ("family", "guesses", "head", "middle_parts", "single", "tail")

    def __init__(self, family: Family) -> None:
        self.family: Family = family
        self.single: dict[str, int] = {}
        self.head: dict[str, int] = {}
        self.middle_parts: dict[str, int] = {}
        self.tail: dict[str, int] = {}
        self.guesses: dict[str, float] = {}

    def clear(self) -> None:
        self.single.clear()
        self.head.clear()
        self.middle_parts.clear()
        self.tail.clear()
        self.guesses.clear()

    def exact(self, parts: list[str]) -> int:
        if len(parts) == 1:
            return self.edge(self.single, parts[0], first=True, last=True)
        total = self.edge(self.head, parts[0], first=True, last=False)
        total += self.edge(self.tail, parts[-1], first=False, last=True)
        if len(parts) > 2:
            total += self.middle(parts[1:-1])
        return total

    def edge(self, table: dict[str, int], part: str, *, first: bool, last: bool) -> int:
        cost = table.get(part)
        if cost is None:
            cost = _ctok_bridge.part_cost(part, self.family, first=first, last=last)
            _store(table, {part: cost})
        return cost

    def middle(self, parts: list[str]) -> int:
        table = self.middle_parts
        try:
            return sum(map(table.__getitem__, parts))
        except KeyError:
            pass
        distinct = set(parts)
        missing = list(distinct.difference(table))
        fresh = dict(zip(missing, _ctok_bridge.middle_costs(missing, self.family), strict=True))
        _store(table, fresh)
        try:
            return sum(map(table.__getitem__, parts))
        except KeyError:  # a part too long to keep, or another thread emptied the memo
            pass
        local = {part: table.get(part, fresh.get(part)) for part in distinct}
        unknown = [part for part, cost in local.items() if cost is None]
        local.update(zip(unknown, _ctok_bridge.middle_costs(unknown, self.family), strict=True))
        return sum(map(local.__getitem__, parts))  # type: ignore[arg-type]

    def guesses_of(self, parts: list[str]) -> Mapping[str, float]:
        """The cheap estimates of middle parts (see ``_ctok_bridge.estimates``), memoized."""
        table = self.guesses
        missing = list(set(parts).difference(table))
        if not missing:
            return table
        fresh = dict(zip(missing, _ctok_bridge.estimates(missing, self.family), strict=True))
        if len(table) + len(fresh) > MAX_CACHED_PARTS:
            table.clear()
        if len(fresh) <= MAX_CACHED_PARTS and max(map(len, fresh)) <= MAX_CACHED_PART_CHARS:
            table.update(fresh)
            return table
        return {part: fresh[part] if part in fresh else table[part] for part in set(parts)}


_MEMOS: Final[dict[str, _Memo]] = {family: _Memo(family) for family in FAMILIES}
_STORE_LOCK: Final = threading.Lock()
_cached_chars = 0
_cached_parts = 0


def _store(table: dict[str, int], fresh: dict[str, int]) -> None:
    """Add costs to a memo table, emptying every memo first if a bound would be crossed."""
    global _cached_chars, _cached_parts
    keep = fresh
    if fresh and max(map(len, fresh)) > MAX_CACHED_PART_CHARS:
        keep = {part: cost for part, cost in fresh.items() if len(part) <= MAX_CACHED_PART_CHARS}
    if not keep:
        return
    chars = sum(map(len, keep))
    if chars > MAX_CACHED_CHARS or len(keep) > MAX_CACHED_PARTS:
        return
    with _STORE_LOCK:
        if _cached_chars + chars > MAX_CACHED_CHARS or _cached_parts + len(keep) > MAX_CACHED_PARTS:
            for memo in _MEMOS.values():
                memo.clear()
            _cached_chars = _cached_parts = 0
        table.update(keep)
        _cached_chars += chars
        _cached_parts += len(keep)


def cache_size() -> tuple[int, int]:
    """(parts, characters) currently held by the memo."""
    return _cached_parts, _cached_chars


@cache
def _cutter() -> re.Pattern[str]:
    """The regex whose zero-width matches are the exact cut points (see the module docstring)."""
    word_end, letters, ascii_non_letter, before_word, stripped, symbols = _cut_classes()
    # Lookahead first: most positions fail on it at once, before the large classes are tried.
    return re.compile(
        f"(?=[{ascii_non_letter}{symbols}])(?<=[{word_end}])"
        f"|(?=\\n)(?<=[^\\t\\n {stripped}])"
        f"|(?=[{letters}])(?<=[{before_word}{symbols}])"
        f"|(?=[0-9])(?<=[{_ASCII_PUNCT}{symbols}])|(?=[{_ASCII_PUNCT}{symbols}])(?<=[0-9])",
    )


@cache
def _part_finder() -> re.Pattern[str]:
    """The regex whose matches are the parts between ``_cutter``'s cut points, found ~1.5x faster.

    A part is a run of characters each followed by a character it is not cut from, then one more.
    Two whole parts come first, as one class each (about 25% faster on real text, where they are
    two parts in three): an ASCII word before an ASCII non-letter (the first cut), and a lone
    space before an ASCII letter (the third). No cut falls between two ASCII letters.
    """
    word_end, letters, ascii_non_letter, _before_word, stripped, symbols = _cut_classes()
    punct = _ASCII_PUNCT.replace("'", "")
    other = f"[^{word_end}{ascii_non_letter}{stripped}{symbols}]"
    uncut = (
        f"[{word_end}](?=[^{ascii_non_letter}{symbols}])"
        f"|[ \\t\\n](?=[^{letters}])"
        f"|[{punct}{symbols}](?=[^{letters}\\n0-9])"
        f"|[0-9](?=[^{letters}\\n{_ASCII_PUNCT}{symbols}])"
        f"|'(?=[^\\n0-9])"
        f"|{other}(?=[^\\n])"
        f"|[{stripped}](?=.)"
    )
    whole = f"[A-Za-z]++(?=[{ascii_non_letter}])| (?=[A-Za-z])"
    return re.compile(f"{whole}|(?:{uncut})*+.", re.DOTALL)


# ASCII punctuation and symbols, as a character-class body.
_ASCII_PUNCT: Final = "!-/:-@\\[-`{-~"


@cache
def _cut_classes() -> tuple[str, str, str, str, str, str]:
    """Character-class bodies: characters that end a word, cut-safe word letters, ASCII
    non-letters, the ASCII characters after which a word starts a part
    (``_ctok_bridge.BEFORE_WORD``), the characters ctok strips, and the non-ASCII punctuation and
    symbols cut like ASCII punctuation (``_ctok_bridge.is_cut_symbol``)."""
    return (
        _ctok_bridge.table("word_ends"),
        _ctok_bridge.table("nfc_safe_letters"),
        "\\t\\n -@\\[-`{-~",
        re.escape("".join(sorted(_ctok_bridge.BEFORE_WORD))),
        "\\x01-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ue000-\\uf8ff",
        _ctok_bridge.table("cut_symbols"),
    )
