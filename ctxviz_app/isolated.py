"""Parse a transcript where it can neither exhaust the server nor outlive its time limit.

:func:`parse` reads the bytes in a worker process (``python -m ctxviz_app.isolated``, the bytes on
its stdin) that caps itself at ``MEMORY_BYTES`` of address space and ``CPU_SECONDS`` of CPU before
reading them; the server waits at most ``WALL_SECONDS`` and kills a worker past it. The parsed
``Conversation`` comes back pickled on its stdout. Whatever goes wrong — a TranscriptError, the
memory cap, the time limit, the worker dying — comes back as one sentence (:class:`Refused`),
never a traceback.

The server thread only waits on pipes meanwhile (the GIL free), so the server still answers other
users and stops on SIGTERM during a hostile parse. A fresh interpreter, not multiprocessing: no
re-import of the server's ``__main__``, no fork of a threaded server.

Its conversation sent, a worker counts the tokens of its texts ahead, on the other core: the
first replay as recorded needs every text counted (``ctxviz.estimates.counted_texts``), and on a
large upload that counting is most of what the user waits for. :class:`Ahead` reads its counts as
they come while the server counts from the last text back; they meet about half way, and the
worker is stopped. Counts are ``count_text``'s, made by the same code, so the replay is the same
with or without them (only its time differs); anything amiss with the worker's counts and the
server counts those texts itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from ctxviz.model import Conversation
from ctxviz.tokens import Family

ROOT: Final = Path(__file__).resolve().parents[1]
MEMORY_BYTES: Final = 3 << 30
"""Address space of a worker (3 GiB: the interpreter and ctxviz take ~0.4 GiB of it; the load's
own budget keeps a hostile file under 2 GB)."""
CPU_SECONDS: Final = 120
WALL_SECONDS: Final = 120.0
AHEAD_MIN_CHARS: Final = 1 << 20
"""A conversation whose texts are shorter is counted by the server alone (a second core saves
less than a few tens of milliseconds there)."""
AHEAD_CHUNK: Final = 32
"""Texts per message of counts."""


class Refused(Exception):
    """The transcript was not read; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class Parsed:
    conversation: Conversation
    pickled_bytes: int
    """The size of the pickled conversation: what the caches weigh it by."""
    ahead: Ahead | None = None
    """The worker counting the conversation's texts ahead, if it does."""


def ahead_texts(conv: Conversation) -> tuple[Family, list[str]]:
    """The tokenizer family and texts of ``conv``'s first replay as recorded on the bundled
    model table: what a worker counts ahead."""
    from ctxviz.estimates import counted_texts
    from ctxviz.models import default_table
    from ctxviz.simulator.prepare import first_model
    from ctxviz.tokens import family_for_model

    table = default_table()
    model_id = first_model(conv)
    family = family_for_model(model_id)
    model = table.get(model_id) if model_id else None
    return family, counted_texts(conv, family=family, model=model, table=table)


def _worth_counting_ahead(texts: list[str], min_chars: int) -> bool:
    """The one rule both sides apply: texts this long are counted by the worker too."""
    return sum(map(len, texts)) >= min_chars


class _Replies:
    """A worker's replies (pickles on its stdout), read by a thread of their own as they come."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.items: list[Any] = []
        self.ended = False
        self.changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            while True:
                item = pickle.load(stream)
                with self.changed:
                    self.items.append(item)
                    self.changed.notify_all()
        except Exception:  # the end of the stream, or a worker that died mid-reply
            pass
        finally:
            with self.changed:
                self.ended = True
                self.changed.notify_all()

    def first(self, timeout: float) -> Any:
        """The first reply; None if the stream ended without one; TimeoutError past timeout."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.items or self.ended, timeout):
                raise TimeoutError
            return self.items[0] if self.items else None


class Ahead:
    """A worker's counts of its conversation's texts (``ahead_texts``), from the first on."""

    def __init__(
        self, worker: subprocess.Popen[bytes], replies: _Replies, min_chars: int = AHEAD_MIN_CHARS
    ) -> None:
        self._worker = worker
        self._replies = replies
        self._min_chars = min_chars
        self._lock = threading.Lock()
        self._spent = False

    def known(self, conv: Conversation, family: Family) -> dict[str, int]:
        """Every text's count: the worker's from the first on, this thread's from the last
        back, until they meet; then the worker is stopped. Once only (then, or for another
        family: empty)."""
        with self._lock:
            spent, self._spent = self._spent, True
        if spent:
            return {}
        counted_family, texts = ahead_texts(conv)
        if counted_family != family or not _worth_counting_ahead(texts, self._min_chars):
            self.close()
            return {}
        from ctxviz.tokens import count_text

        counts: dict[str, int] = {}
        j = len(texts)
        while j > self._counted(len(texts)):
            j -= 1
            counts[texts[j]] = count_text(texts[j], family)
        theirs = self._counts(len(texts))[:j]
        self.close()
        counts.update(zip(texts, theirs, strict=False))
        for text in texts[len(theirs) : j]:  # what a worker that stopped short left
            counts[text] = count_text(text, family)
        return counts

    def _counted(self, n: int) -> int:
        """About how many of the first texts the worker has counted (0 if its list is not
        ours); read as the reader thread appends (reading a list's length is atomic)."""
        items = self._replies.items
        if len(items) < 2 or items[1] != ("texts", n):
            return 0
        return min(n, (len(items) - 2) * AHEAD_CHUNK)

    def _counts(self, n: int) -> list[int]:
        """The worker's counts of the first texts, as far as its replies run well-formed."""
        items = self._replies.items[:]
        out: list[int] = []
        if len(items) < 2 or items[1] != ("texts", n):
            return out
        for item in items[2:]:
            well_formed = (
                isinstance(item, tuple)
                and len(item) == 3
                and item[:2] == ("counts", len(out))
                and isinstance(item[2], list)
                and all(type(value) is int and value >= 0 for value in item[2])
            )
            if not well_formed:
                break
            out.extend(item[2])
        return out

    def close(self) -> None:
        """Stop the worker (it may still be counting)."""
        with contextlib.suppress(OSError):
            self._worker.kill()
        self._worker.wait()


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    """Cap this worker; on Linux it also dies with the server that started it."""
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    try:
        import resource
    except ImportError:  # not on POSIX: the wall-time limit still holds
        return
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


def _work(memory_bytes: int, cpu_seconds: int, ahead_chars: int, out: IO[bytes]) -> None:
    """The worker: load stdin; reply ``("ok", pickled conversation)`` or ``("refused", why)``;
    then, if its texts have ``ahead_chars`` characters or more, ``("texts", n)`` and their
    counts, ``AHEAD_CHUNK`` at a time: ``("counts", first text's index, counts)``."""
    _limit(memory_bytes, cpu_seconds)
    from ctxviz.errors import TranscriptError
    from ctxviz.loading import loads

    reply: tuple[str, Any]
    try:
        conv = loads(sys.stdin.buffer.read())
        reply = ("ok", pickle.dumps(conv, protocol=pickle.HIGHEST_PROTOCOL))
    except TranscriptError as e:
        reply = ("refused", str(e))
    except MemoryError:
        reply = ("refused", f"reading it needs more than {memory_bytes / 2**30:.0f} GiB")
    except RecursionError:
        reply = ("refused", "nested too deeply to read")
    except Exception as e:  # a bug in ctxviz: one sentence for the user, not a traceback
        reply = ("refused", f"an internal error ({type(e).__name__}: {e!s:.200})")
    _send(out, reply)
    if reply[0] == "ok":
        _count_ahead(conv, ahead_chars, out)


def _count_ahead(conv: Conversation, min_chars: int, out: IO[bytes]) -> None:
    from ctxviz.tokens import count_text

    family, texts = ahead_texts(conv)
    if not _worth_counting_ahead(texts, min_chars):
        return
    _send(out, ("texts", len(texts)))
    for start in range(0, len(texts), AHEAD_CHUNK):
        chunk = texts[start : start + AHEAD_CHUNK]
        _send(out, ("counts", start, [count_text(text, family) for text in chunk]))


def _send(out: IO[bytes], item: object) -> None:
    pickle.dump(item, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def parse(
    data: bytes,
    *,
    memory_bytes: int = MEMORY_BYTES,
    cpu_seconds: int = CPU_SECONDS,
    wall_seconds: float = WALL_SECONDS,
    ahead_chars: int = AHEAD_MIN_CHARS,
) -> Parsed:
    """The conversation ``data`` holds, read in a worker process; :class:`Refused` if not.
    ``ahead_chars``: the fewest characters of text the worker counts ahead."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    limits = (memory_bytes, cpu_seconds, ahead_chars)
    command = [sys.executable, "-m", "ctxviz_app.isolated", *map(str, limits)]
    worker = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    assert worker.stdin is not None and worker.stdout is not None
    replies = _Replies(worker.stdout)
    threading.Thread(target=_feed, args=(worker.stdin, data), daemon=True).start()
    try:
        reply = replies.first(wall_seconds)
    except TimeoutError:
        worker.kill()
        worker.wait()
        raise Refused(f"reading it took longer than {wall_seconds:g} s; stopped") from None
    try:
        status, payload = reply
        conversation = pickle.loads(payload) if status == "ok" else None
    except Exception:
        worker.kill()
        raise Refused(_death(worker.wait(), memory_bytes)) from None
    if conversation is None:
        worker.kill()
        worker.wait()
        raise Refused(str(payload))
    replies.items[0] = None  # the pickled conversation: not kept while the worker counts
    ahead = Ahead(worker, replies, ahead_chars)
    return Parsed(conversation=conversation, pickled_bytes=len(payload), ahead=ahead)


def _feed(stdin: IO[bytes], data: bytes) -> None:
    """Write the bytes to a worker (a thread of its own: the worker may die before reading)."""
    with contextlib.suppress(OSError):
        stdin.write(data)
    with contextlib.suppress(OSError):
        stdin.close()


def _death(exitcode: int | None, memory_bytes: int) -> str:
    if exitcode is not None and exitcode < 0 and -exitcode == getattr(signal, "SIGXCPU", -1):
        return "reading it took too much CPU time; stopped"
    return (
        f"the reader stopped (exit code {exitcode}): the file probably needs more than "
        f"{memory_bytes / 2**30:.0f} GiB to read"
    )


if __name__ == "__main__":
    _work(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.stdout.buffer)
