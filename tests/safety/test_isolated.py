"""The worker that reads an upload also counts its texts ahead (``ctxviz_app.isolated.Ahead``):
its counts are ``count_text``'s, the replay made with them is the one made without, and a worker
that stops short, lies about its list or sends garbage leaves the server to count the rest."""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Any

import pytest

import ctxviz
from ctxviz import tokens
from ctxviz.model import Conversation
from ctxviz.simulator.prepare import first_model
from ctxviz_app import isolated

SESSION = "02_claude-code_spotter_manualcompact/ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"


def _frames(sim: ctxviz.Simulation) -> tuple[str, str, str]:
    return sim.requests.to_csv(), sim.composition.to_csv(), sim.events.to_csv()


def _family(conv: Conversation) -> tokens.Family:
    return tokens.family_for_model(first_model(conv))


def test_a_worker_that_counted_everything_leaves_the_server_nothing_to_count(
    samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (samples_dir / SESSION).read_bytes()
    parsed = isolated.parse(data, ahead_chars=1)
    assert parsed.ahead is not None
    deadline = time.monotonic() + 60
    while not parsed.ahead._replies.ended and time.monotonic() < deadline:
        time.sleep(0.02)  # the worker counts every text, then exits
    conv = parsed.conversation
    family, texts = isolated.ahead_texts(conv)
    assert len(texts) > 500
    counted_here: list[str] = []
    count_text = tokens.count_text

    def spy(text: str, family: tokens.Family = "v3") -> int:
        counted_here.append(text)
        return count_text(text, family)

    monkeypatch.setattr(tokens, "count_text", spy)
    known = parsed.ahead.known(conv, family)
    monkeypatch.undo()
    assert counted_here == []
    assert known == {text: tokens.count_text(text, family) for text in texts}
    with tokens.known_counts(family, known):
        ahead = ctxviz.simulate(conv, defer_estimates=False)
    tokens.clear_cache()
    assert _frames(ahead) == _frames(ctxviz.simulate(conv, defer_estimates=False))
    assert parsed.ahead.known(conv, family) == {}  # once only


def test_the_server_counts_from_the_last_text_while_the_worker_counts_from_the_first(
    samples_dir: Path,
) -> None:
    conv = ctxviz.load(samples_dir / SESSION)
    family, texts = isolated.ahead_texts(conv)
    half = len(texts) // 2 // isolated.AHEAD_CHUNK * isolated.AHEAD_CHUNK
    theirs = [tokens.count_text(t, family) for t in texts[:half]]
    replies = _FakeReplies(
        [None, ("texts", len(texts))]
        + [
            ("counts", start, theirs[start : start + isolated.AHEAD_CHUNK])
            for start in range(0, half, isolated.AHEAD_CHUNK)
        ]
    )
    ahead = isolated.Ahead(_FakeWorker(), replies, min_chars=1)  # type: ignore[arg-type]
    counted_here: list[str] = []
    known = _known_counting(ahead, conv, family, counted_here)
    assert counted_here == texts[half:][::-1]
    assert known == {text: tokens.count_text(text, family) for text in texts}


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param(lambda n, right, wrong: [None], id="it sent no count"),
        pytest.param(
            lambda n, right, wrong: [None, ("texts", n + 1), ("counts", 0, wrong[:32])],
            id="another list",
        ),
        pytest.param(
            lambda n, right, wrong: [None, ("texts", n), ("counts", 0, right[:10])],
            id="stopped short",
        ),
        pytest.param(
            lambda n, right, wrong: [
                None,
                ("texts", n),
                ("counts", 0, right[:32]),
                ("counts", 0, wrong[:32]),
            ],
            id="out of order",
        ),
        pytest.param(
            lambda n, right, wrong: [
                None,
                ("texts", n),
                ("counts", 0, ["1"] * 32),
                ("counts", 32, wrong[32:64]),
            ],
            id="not numbers",
        ),
        pytest.param(lambda n, right, wrong: [None, ("texts", n), "garbage"], id="garbage"),
    ],
)
def test_a_worker_amiss_leaves_the_server_to_count(samples_dir: Path, replies: Any) -> None:
    """Counts that are well-formed and in place are taken as they are (right ones here); any
    others (wrong ones here: taken, the test fails) are not."""
    conv = ctxviz.load(samples_dir / SESSION)
    family, texts = isolated.ahead_texts(conv)
    right = [tokens.count_text(t, family) for t in texts[:64]]
    wrong = [count + 1 for count in right]
    fake = _FakeReplies(replies(len(texts), right, wrong))
    ahead = isolated.Ahead(_FakeWorker(), fake, min_chars=1)  # type: ignore[arg-type]
    assert ahead.known(conv, family) == {text: tokens.count_text(text, family) for text in texts}


def test_another_family_or_a_small_conversation_is_not_counted_ahead(samples_dir: Path) -> None:
    conv = ctxviz.load(samples_dir / SESSION)
    family, texts = isolated.ahead_texts(conv)
    other = "v5" if family != "v5" else "v3"
    for ahead, asked in [
        (isolated.Ahead(_FakeWorker(), _FakeReplies([None]), min_chars=1), other),  # type: ignore[arg-type]
        (isolated.Ahead(_FakeWorker(), _FakeReplies([None])), family),  # type: ignore[arg-type]
    ]:
        assert sum(map(len, texts)) < isolated.AHEAD_MIN_CHARS
        assert ahead.known(conv, asked) == {}
        assert ahead._worker.killed  # type: ignore[attr-defined]


def test_a_refused_upload_stops_its_worker() -> None:
    with pytest.raises(isolated.Refused, match="not"):
        isolated.parse(b"\x00\x01 this is not a transcript", ahead_chars=1)


def _known_counting(
    ahead: isolated.Ahead, conv: Conversation, family: tokens.Family, counted: list[str]
) -> dict[str, int]:
    count_text = tokens.count_text

    def spy(text: str, fam: tokens.Family = "v3") -> int:
        counted.append(text)
        return count_text(text, fam)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "count_text", spy)
        return ahead.known(conv, family)


class _FakeReplies:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.ended = True


class _FakeWorker:
    killed = False

    def kill(self) -> None:
        self.killed = True

    def wait(self) -> int:
        return 0


def test_the_worker_speaks_pickles_the_reader_understands(tmp_path: Path) -> None:
    """The protocol end to end on a tiny stream: replies read in order, the end seen."""
    stream = tmp_path / "replies"
    with stream.open("wb") as out:
        for item in [("ok", b"x"), ("texts", 2), ("counts", 0, [1, 2])]:
            pickle.dump(item, out)
        out.write(b"\x80truncated")
    with stream.open("rb") as f:
        replies = isolated._Replies(f)
        assert replies.first(10) == ("ok", b"x")
        replies._thread.join(10)
    assert replies.ended and replies.items[1:] == [("texts", 2), ("counts", 0, [1, 2])]
