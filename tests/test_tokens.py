"""ctxviz.tokens: family routing, frames, and exactness of the memoized counter against ctok."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import ctok
import pytest
from ctok.constants import BOW_G, CAPS_G, EOW_G, SHIFT_G
from ctok.engine import min_vocab_tile
from ctok.normalize import nfc, stream_norm
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ctxviz import _ctok_bridge, _disk_cache, tokens
from ctxviz.tokens import (
    FAMILIES,
    MESSAGE_FRAME_TOKENS,
    Family,
    count_text,
    count_text_exact,
    count_text_memo,
    family_for_model,
)

CALIBRATION = Path(__file__).resolve().parents[1].parent / "shared" / "calibration"
needs_calibration = pytest.mark.skipif(
    not CALIBRATION.is_dir(), reason=f"calibration data not found at {CALIBRATION}"
)

# Characters chosen to sit on or next to every rule the cutter and the fast path rely on: ASCII
# classes, whitespace kinds, stripped controls, NUL, curly quotes, NFC-composing pairs, Hangul
# jamo, Thai SARA AM, Greek sigma, İ/ẞ, CJK, emoji with selectors, private use, noncharacters.
SPICY = (
    "aZqK09_.,;:'\"()[]{}<>=+-*/\\|!?#$%&@^`~ \t\n\r\x0b\x0c\x00\x01\x7f\x85"
    "\u00a0\u2003\u3000\u2028\u2018\u2019\u201c\u201d\u201e"
    "éÉçñßüÖ\u0301\u0308\u0327e\u0301"
    "ДжёЁяΣσςΩİıẞ\u03f4"
    "\u1100\u1161\u11a8가\u0e4d\u0e32\u0e33กข"
    "中文。，、日本語ひらがなカタカナー々"
    "١٢٣0123¹½⅓Ⅻⓐ"
    "\u0915\u093f\u094d\u0937\u0710\u0730"
    "😀👍🏽\ufe0f\u200d\u200b\ufeff\ue000\ufdd0\ufdd1\uffff\ud800\udfff"
    "→·•—●✓│«©×…"
)
WORDS = (
    "the",
    " The",
    "THE",
    "it's",
    " don't",
    "x'S",
    "'hello",
    "NASA",
    "GaN",
    "naïve",
    " café",
    "İstanbul",
    "STRASSE",
    "ΟΔΟΣ",
    "Ωmega",
    "def",
    " foo_bar(",
    ")\n",
    "    return x\n",
    '{"key": "value", "n": 12}',
    "\n\n\n",
    "  ",
    " \n",
    "\t\t",
    "1.5e-3",
    "٣٤",
    "中文",
    "こんにちは",
    "한국어",
    "😀",
    "\n    12→  ",
    "1→",
    "a—b",
    "x·y",
)

text_strategy = st.one_of(
    st.text(alphabet=SPICY, max_size=60),
    st.lists(st.sampled_from(WORDS + tuple(SPICY)), max_size=25).map("".join),
    st.text(max_size=40),
)


def ctok_content(text: str, family: Family) -> int:
    """Independent reference: ctok.token_count minus the frame, with v5's free trailing space."""
    version = {"v3": "3.0", "v4.7": "4.7", "v5": "4.8"}[family]
    if family == "v5":
        text = text.rstrip(" \t\n\r\x0b\x0c")
    if not text:
        return 0
    count: int = ctok.token_count(text, version)
    return count - MESSAGE_FRAME_TOKENS[family]


# ---- routing and frames -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "family"),
    [
        (None, "v3"),
        ("", "v3"),
        ("<synthetic>", "v3"),
        ("gpt-4o", "v3"),
        ("claude-3-5-sonnet-20241022", "v3"),
        ("claude-3-opus-20240229", "v3"),
        ("claude-2.1", "v3"),
        ("claude-opus-4-20250514", "v3"),
        ("claude-opus-4-1-20250805", "v3"),
        ("claude-opus-4-5", "v3"),
        ("claude-opus-4-6[1m]", "v3"),
        ("claude-sonnet-4-0", "v3"),
        ("claude-sonnet-4-5-20250929", "v3"),
        ("claude-haiku-4-5", "v3"),
        ("claude-opus-4-7", "v4.7"),
        ("claude-opus-4-7-20260101", "v4.7"),
        ("anthropic.claude-opus-4-7-v1:0", "v4.7"),
        ("claude-opus-4-7@20260101", "v4.7"),
        ("Claude-Opus-4-7", "v4.7"),
        ("claude-opus-4-8", "v5"),
        ("claude-opus-5", "v5"),
        ("claude-sonnet-5", "v5"),
        ("claude-sonnet-5-20270101", "v5"),
        ("claude-haiku-5", "v5"),
    ],
)
def test_family_for_model(model: str | None, family: Family) -> None:
    assert family_for_model(model) == family


def test_message_frames_match_ctok() -> None:
    assert dict(MESSAGE_FRAME_TOKENS) == {"v3": 7, "v4.7": 11, "v5": 6}
    for family in FAMILIES:
        model = _ctok_bridge._model_for(family)
        assert model.message_overhead == MESSAGE_FRAME_TOKENS[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_empty_and_small_texts(family: Family) -> None:
    for counter in (count_text, count_text_memo, count_text_exact):
        assert counter("", family) == 0
        assert counter("hello", family) == ctok_content("hello", family) > 0


def test_unknown_family_is_rejected() -> None:
    for counter in (count_text, count_text_memo, count_text_exact):
        with pytest.raises(ValueError, match="unknown tokenizer family"):
            counter("x", "v9")  # type: ignore[arg-type]


def test_v5_trailing_ascii_whitespace_is_free() -> None:
    assert count_text("hello world", "v5") == count_text("hello world \t\n\n", "v5")
    assert count_text("hello world", "v3") < count_text("hello world   \t", "v3")
    assert count_text("   \n", "v5") == 0


def test_core_does_not_import_streamlit() -> None:
    code = "import sys, ctxviz.tokens, ctxviz.remote_count; sys.exit('streamlit' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


# ---- the premises of the exact cut, checked on the vocabularies ---------------------------------


@pytest.mark.parametrize("family", ["v3", "v4.7"])
def test_vocabulary_never_spans_a_cut(family: Family) -> None:
    """No piece continues past ⟨eow⟩, holds a case marker or ⟨bow⟩ mid-piece, mixes whitespace
    with anything else, or mixes ASCII digits with anything else."""
    vocab = _ctok_bridge._model_for(family).vocab
    for piece in vocab:
        assert EOW_G not in piece[:-1], piece
        body = piece.lstrip(SHIFT_G + CAPS_G)
        assert SHIFT_G not in body and CAPS_G not in body, piece
        assert BOW_G not in body[1:], piece
        spaces = set(piece) & set(" \t\n")
        if spaces:
            assert len(set(piece)) == 1, piece
        if any("0" <= ch <= "9" for ch in piece):
            assert piece.isascii() and piece.isdigit(), piece
    numbers = {f"{n:0{width}d}" for width in (1, 2, 3) for n in range(10**width)}
    assert numbers <= vocab  # so a run of n ASCII digits costs ceil(n / 3)


# ---- exactness ----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_strategy)
def test_memo_counter_equals_ctok(family: Family, text: str) -> None:
    expected = ctok_content(text, family)
    assert count_text_memo(text, family) == expected
    assert count_text_exact(text, family) == expected


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=300, deadline=None)
@given(text=text_strategy)
@example(text="0:0:0:0\u201c0AXA0")  # more parts once v3 folds the curly quote
def test_default_counter_is_exact_on_short_texts(family: Family, text: str) -> None:
    """Exact up to EXACT_TEXT_PARTS parts, counted as count_text counts them: after folding."""
    folded = tokens._prepare(text, family)[1]
    if len(tokens._cutter().split(folded)) <= tokens.EXACT_TEXT_PARTS:
        assert count_text(text, family) == ctok_content(text, family)


@settings(max_examples=400, deadline=None)
@given(
    text=st.lists(st.sampled_from(WORDS + tuple("aZ09 \t\n.,'(") + ("é", "Ж", "ω")), max_size=30)
    .map("".join)
    .filter(lambda t: _ctok_bridge._plain_text().fullmatch(t) is not None),
    head_space=st.booleans(),
    family=st.sampled_from(FAMILIES),
)
def test_plain_stream_equals_ctok_stream(text: str, head_space: bool, family: Family) -> None:
    model = _ctok_bridge._model_for(family)
    fast = _ctok_bridge.plain_stream_norm(text, model, raw_head_space=head_space)
    assert fast == stream_norm(text, model, raw_head_space=head_space)


@settings(max_examples=300, deadline=None)
@given(text=text_strategy, family=st.sampled_from(FAMILIES))
def test_stream_cost_equals_ctok_tiling(text: str, family: Family) -> None:
    model = _ctok_bridge._model_for(family)
    stream = stream_norm(nfc(text, fold_quotes=model.fold_quotes), model)
    expected, _spans = min_vocab_tile(
        stream,
        model.trie,
        lambda j: 1 if stream[j] in ctok.constants.MARKER_GLYPHS else _char(model, stream[j]),
    )
    assert _ctok_bridge._stream_cost(stream, model) == expected


def _char(model: object, ch: str) -> int:
    cost: int = ctok.engine.char_cost(model, ch)
    return cost


def test_memo_bound_holds_and_never_changes_results(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"line {i}: value_{i * 7} = f(x{i}, 'y')\n" * 3 for i in range(200)]
    expected = [count_text_memo(t) for t in texts]
    tokens.clear_cache()
    monkeypatch.setattr(tokens, "MAX_CACHED_PARTS", 50)
    monkeypatch.setattr(tokens, "MAX_CACHED_CHARS", 400)
    for text, count in zip(texts, expected, strict=True):
        assert count_text_memo(text) == count
        parts, chars = tokens.cache_size()
        assert parts <= 50 and chars <= 400
    tokens.clear_cache()
    assert tokens.cache_size() == (0, 0)


def test_windows_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long texts are split a window at a time; the window size must not change any count."""
    rng = random.Random(3)
    pieces = ["alpha", " beta", "\n  x", "(y)", "é", "中文", "\n\n", " ", "İ", "'s"]
    text = "".join(rng.choice(pieces) for _ in range(6000))
    whole = count_text_memo(text), count_text(text)
    monkeypatch.setattr(tokens, "WINDOW_CHARS", 700)
    assert len(list(tokens._windows(text))) > 10
    assert (count_text_memo(text), count_text(text)) == whole
    assert whole[0] == count_text_exact(text)


def test_default_counter_is_deterministic_and_close_on_long_text() -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "x", "(", ")", "=", "1234", "\n    ", "é", "Zeta"]
    text = " ".join(rng.choice(words) for _ in range(5000))
    first = count_text(text, "v3")
    tokens.clear_cache()
    assert count_text(text, "v3") == first
    exact = count_text_exact(text, "v3")
    assert abs(first - exact) / exact < 0.05


# ---- calibration: real count_tokens answers ---------------------------------------------------


def _calibration() -> Iterator[tuple[str, str, str, dict[Family, int]]]:
    """(corpus, doc id, text, {family: content tokens}) for every calibration document."""
    for corpus in ("multipl_e", "rosetta", "udhr"):
        counts = json.loads((CALIBRATION / f"{corpus}_counts.json").read_text(encoding="utf-8"))
        with gzip.open(CALIBRATION / f"{corpus}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                doc_id = doc.get("id") or doc.get("f") or doc.get("lang")
                real = {
                    fam: counts[fam]["counts"][doc_id] - MESSAGE_FRAME_TOKENS[fam]
                    for fam in FAMILIES
                }
                yield corpus, doc_id, doc["text"], real


@needs_calibration
def test_memo_counter_matches_real_counts_on_calibration_sample() -> None:
    docs = list(_calibration())
    rng = random.Random(2024)
    sample = [d for d in docs if d[0] == "multipl_e"] + rng.sample(docs, 180)
    for corpus, doc_id, text, real in sample:
        for family in FAMILIES:
            assert count_text_memo(text, family) == real[family], (corpus, doc_id, family)


@needs_calibration
def test_memo_counter_equals_ctok_on_calibration_slices() -> None:
    """Slices cut anywhere (mid-word, mid-cluster) stress the cut rules on multilingual text."""
    docs = [d[2] for d in _calibration()]
    rng = random.Random(11)
    for _ in range(600):
        doc = rng.choice(docs)
        start = rng.randrange(len(doc))
        text = doc[start : start + rng.randrange(1, 300)]
        family: Family = rng.choice(FAMILIES)
        assert count_text_memo(text, family) == ctok_content(text, family), (text, family)


@needs_calibration
@pytest.mark.slow
def test_default_counter_accuracy_on_calibration() -> None:
    """Median and p90 absolute % error of count_text per family within the stated targets."""
    docs = list(_calibration())[1::2]  # odd documents; the estimator's settings are not fitted
    for family in FAMILIES:
        errors = sorted(
            abs(count_text(text, family) - real[family]) / max(real[family], 1) * 100
            for _corpus, _id, text, real in docs
        )
        median = statistics.median(errors)
        p90 = errors[int(0.9 * len(errors))]
        assert median <= 5 and p90 <= 15, (family, median, p90)


# ---- the cut and its fast paths ---------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(text=text_strategy)
def test_part_finder_finds_the_cutters_parts(text: str) -> None:
    if text:
        assert tokens._part_finder().findall(text) == tokens._cutter().split(text)


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            (
                "a",
                "Zed",
                " ",
                "  ",
                "'",
                "x'",
                "\n",
                "\t",
                "7",
                "42",
                ".",
                "_",
                "é",
                "e\u0301",
                "→",
                "\x01",
                "日本",
            )
        ),
        max_size=30,
    ).map("".join)
)
def test_part_finder_whole_ascii_parts_are_the_cutters(text: str) -> None:
    """Words and lone spaces of ASCII, which the finder matches whole, beside everything else."""
    if text:
        assert tokens._part_finder().findall(text) == tokens._cutter().split(text)


GAPS = st.text(alphabet=" \t\n.,;:'\"()[]{}=+-*/<>!?#$%&@^`~|\\_0123456789", min_size=1, max_size=8)


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.tuples(st.sampled_from((*WORDS, "x", "Foo", "BAR", "naïve")), GAPS)))
def test_words_and_ascii_gaps_equal_ctok(family: Family, pieces: list[tuple[str, str]]) -> None:
    text = "".join(word + gap for word, gap in pieces) + "end"
    assert count_text_memo(text, family) == ctok_content(text, family)


def test_word_ends_only_compose_into_word_characters() -> None:
    """ends_word's premise: a canonical pair ending in a character that ends a word composes to a
    BMP WORDY character, so NFC never turns a word's last character into anything else."""
    for cp in range(0x110000):
        decomposition = unicodedata.decomposition(chr(cp))
        if not decomposition or decomposition.startswith("<") or len(decomposition.split()) != 2:
            continue
        second = chr(int(decomposition.split()[1], 16))
        if _ctok_bridge.ends_word(second):
            assert cp < 0x10000 and _ctok_bridge.is_word_letter(chr(cp)), hex(cp)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "text",
    [
        "\xa0x y",  # a leading no-break space is not the frame's absorbed space
        " x\xa0y",
        "\x00x\x00 y\x00",
        "a\r\nb\r\n\r\n",
        "\r\u0301x",  # a stripped CR still blocks composition: nothing to fold here
        "\u2018quoted\u2019 \u201cdouble\u201d it\u2019s",
        "x\u2003\u2028y\u205f z",
    ],
)
def test_folding_before_the_cut_changes_no_count(family: Family, text: str) -> None:
    assert count_text_memo(text, family) == ctok_content(text, family)
    assert count_text(text, family) == ctok_content(text, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_estimates_are_exact_where_exact_is_cheap(family: Family) -> None:
    parts = [" ", "7", "1234567", "the", "function", "return"]
    guesses = _ctok_bridge.estimates(parts, family)
    costs = _ctok_bridge.middle_costs(parts, family)
    assert guesses == [float(cost) for cost in costs]
    assert guesses[:3] == [0.0, 1.0, 3.0]


def test_sampled_counts_are_deterministic_and_close_on_mid_length_code() -> None:
    """Texts between EXACT_TEXT_PARTS and GUESSED_PARTS parts: guessed, sampled and scaled."""
    rng = random.Random(5)
    lines = ["def f(x):", "    return x * 2", "y = [f(i) for i in range(10)]", "print(y)  # done"]
    texts = ["\n".join(rng.choice(lines) for _ in range(rng.randint(150, 400))) for _ in range(20)]
    assert all(
        tokens.EXACT_TEXT_PARTS < len(tokens._part_finder().findall(t)) <= tokens.GUESSED_PARTS
        for t in texts
    )
    for family in FAMILIES:
        first = [count_text(t, family) for t in texts]
        tokens.clear_cache()
        assert [count_text(t, family) for t in reversed(texts)] == first[::-1]
        errors = [
            abs(c - count_text_exact(t, family)) / count_text_exact(t, family)
            for c, t in zip(first, texts, strict=True)
        ]
        assert statistics.median(errors) < 0.05 and max(errors) < 0.2


# ---- tables and models kept on disk between processes -------------------------------------------


def test_cached_tables_equal_a_fresh_scan() -> None:
    assert _ctok_bridge.canonical_second_chars() == _ctok_bridge.scan_canonical_second_chars()
    for name, predicate in _ctok_bridge.TABLES.items():
        assert _ctok_bridge.table(name) == _ctok_bridge.char_class(predicate), name


@pytest.mark.parametrize("ctok_family", ["v3", "v4.7", "v4.8"])
def test_model_rebuilt_from_its_state_equals_ctoks(ctok_family: str) -> None:
    built = ctok.main._model(ctok_family)
    state = _ctok_bridge._model_state(built)
    assert state is not None
    rebuilt = _ctok_bridge._model_from_state(state)
    assert type(rebuilt) is type(built)

    def fields(model: object) -> dict[str, object]:
        # the memos (_char_cost_cache, _chunks) start empty and fill up as text is priced
        out = {k: v for k, v in vars(model).items() if k != "_char_cost_cache"}
        out["bytes"] = {k: v for k, v in vars(out["bytes"]).items() if k != "_chunks"}
        out["trie"] = dict(vars(out["trie"]))
        return out

    assert fields(rebuilt) == fields(built)
    assert rebuilt._char_cost_cache == rebuilt.bytes._chunks == {}


def test_disk_cache_reads_back_and_rejects_damaged_files(tmp_path: Path) -> None:
    path = tmp_path / "a" / "t.marshal"
    value = {"x": "abc", "y": (1, None, frozenset({"z"}))}
    assert _disk_cache.read(path) is None
    assert _disk_cache.write(path, value)
    assert _disk_cache.read(path) == value
    good = path.read_bytes()
    flipped = bytearray(good)
    flipped[-3] ^= 1
    for damaged in (bytes(flipped), good[:-5], good[:10], b"", b"not a table\n" + good[12:]):
        path.write_bytes(damaged)
        assert _disk_cache.read(path) is None
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    (tmp_path / "file").write_text("")
    assert not _disk_cache.write(tmp_path / "file" / "t.marshal", value)  # parent is a file


_CACHE_TEXTS = [SPICY, "Hello wörld, 'tis naïve: x1=2;\n\tdef f(): return 42\n", " ΩMEGA 中文 가"]
_COUNT_ALL = f"""
import json
from ctxviz import tokens
texts = {_CACHE_TEXTS!r}
print(json.dumps([tokens.count_text_memo(t, f) for t in texts for f in tokens.FAMILIES]))
"""
# Makes any table scan or model build fail: only the disk cache can answer.
_NO_BUILDS = """
import ctok.main, unicodedata
from ctxviz import _ctok_bridge
def _boom(*args, **kwargs):
    raise AssertionError("built instead of read from the disk cache")
_ctok_bridge.char_class = _boom
_ctok_bridge.scan_canonical_second_chars = _boom
ctok.main.TokenizerModel.__init__ = _boom
"""


def test_a_fresh_process_reads_tables_and_models_from_the_disk_cache(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}

    def run(code: str) -> list[int]:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        counts: list[int] = json.loads(done.stdout)
        return counts

    expected = run(_COUNT_ALL)  # builds and stores
    assert expected == [ctok_content(t, f) for t in _CACHE_TEXTS for f in FAMILIES]
    stored = sorted(p.name for p in tmp_path.glob("ctxviz/ctok/*/*"))
    models = [f"model-{family}.marshal" for family in ("v3", "v4.7", "v4.8")]
    assert stored == [*models, "tables.marshal"]
    assert run(_NO_BUILDS + _COUNT_ALL) == expected
    for path in tmp_path.glob("ctxviz/ctok/*/*"):  # damaged files are built again, and rewritten
        path.write_bytes(path.read_bytes()[:-100])
    assert run(_COUNT_ALL) == expected
    assert all(_disk_cache.read(p) is not None for p in tmp_path.glob("ctxviz/ctok/*/*"))
    assert run(_NO_BUILDS + _COUNT_ALL) == expected


def test_default_counter_is_exact_on_the_blocks_of_a_real_session() -> None:
    """Every text block of the bundled Claude Code session (real text, 10 to 1,024 parts included)
    is counted exactly: the default counter samples only texts longer than EXACT_TEXT_PARTS."""
    from ctxviz import load

    conversation = load(
        Path(__file__).resolve().parents[1] / "sample_conversations" / "claude_code_session"
    )
    texts = [
        text
        for message in conversation.messages
        for block in message.content
        for text in (getattr(block, "text", None), getattr(block, "thinking", None))
        if isinstance(text, str)
    ]
    sizes = [len(tokens._part_finder().findall(tokens._prepare(t, "v3")[1])) for t in texts]
    assert sum(10 <= n <= tokens.EXACT_TEXT_PARTS for n in sizes) >= 20  # sampled before
    for text, size in zip(texts, sizes, strict=True):
        if size <= tokens.EXACT_TEXT_PARTS:
            assert count_text(text, "v3") == count_text_memo(text, "v3")


# Claude Code's Read tool numbers every line of a file: "    12→" (the arrow, U+2192).
SYMBOLS = "→·•—–●✓│«»€©°±×…⇒✗"
SYMBOLS_AND_NEIGHBOURS = (
    *SYMBOLS,
    *"aZ09 '\".,(-\n\t\u0301\ufe0f٣\u00a0\u2019",
    *("the", "It", "NASA", "s", "ll", "é", "Ж", "中文", "😀", "\n    ", "  93"),
)


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(SYMBOLS_AND_NEIGHBOURS),
        max_size=20,
    ).map("".join)
)
def test_symbols_cut_like_ascii_punctuation_equal_ctok(family: Family, text: str) -> None:
    """The cut treats non-ASCII punctuation and symbols (is_cut_symbol) as ASCII punctuation."""
    assert count_text_memo(text, family) == ctok_content(text, family)
    if text:
        assert tokens._part_finder().findall(text) == tokens._cutter().split(text)


def test_cut_symbols_are_the_punctuation_ctok_marks_at_spaces_only() -> None:
    cut = tokens._cut_classes()[5]
    for ch in "→·•—–●✓│…©×":
        assert re.fullmatch(f"[{cut}]", ch), ch
    # not: ASCII, the curly quotes v3 folds, ideographic punctuation, marks, letters, emoji
    for ch in "-'\u2019\u201c。、\u0301\u200dé😀":
        assert not re.fullmatch(f"[{cut}]", ch), ch


def test_read_tool_line_numbers_are_parts_of_their_own(samples_dir: Path) -> None:
    """In a real session's file reads, the line number (ASCII digits, after the newline and its
    padding) and what follows the arrow are separate parts, so each is priced once and then
    found in the memo: no part holds a digit and the arrow after it. Counts stay exact."""
    from ctxviz import load

    conversation = load(samples_dir / "02_claude-code_spotter_manualcompact")
    reads = [
        text
        for message in conversation.messages
        for block in message.content
        for text in _texts(block)
        if re.search("\n +[0-9]+→", text)
    ]
    assert len(reads) >= 10
    parts = [part for text in reads for part in tokens._part_finder().findall(text)]
    arrows = [part for part in parts if "→" in part]
    assert len(arrows) >= 1000
    assert not [part for part in arrows if re.search("[0-9]→", part)]
    assert len(set(arrows)) < len(arrows) / 3  # "→  " and its kind repeat down a file
    for text in reads[:10]:
        assert count_text_memo(text, "v3") == ctok_content(text, "v3")


def _texts(block: object) -> Iterator[str]:
    content = getattr(block, "content", None)
    if isinstance(content, str):
        yield content
    elif isinstance(content, tuple | list):
        for inner in content:
            yield from _texts(inner)
    text = getattr(block, "text", None)
    if isinstance(text, str):
        yield text


def test_known_counts_answer_count_text_for_their_family_inside_the_block_only() -> None:
    text = "a text whose count was made elsewhere"
    real = count_text(text, "v3")
    with tokens.known_counts("v3", {text: real + 7}):
        assert count_text(text, "v3") == real + 7
        assert count_text(text, "v5") == count_text_memo(text, "v5")  # another family
        assert count_text("another text", "v3") == count_text_memo("another text", "v3")
    assert count_text(text, "v3") == real
