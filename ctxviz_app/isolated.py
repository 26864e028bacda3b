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
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ctxviz.model import Conversation

ROOT: Final = Path(__file__).resolve().parents[1]
MEMORY_BYTES: Final = 3 << 30
"""Address space of a worker (3 GiB: the interpreter and ctxviz take ~0.4 GiB of it; the load's
own budget keeps a hostile file under 2 GB)."""
CPU_SECONDS: Final = 120
WALL_SECONDS: Final = 120.0


class Refused(Exception):
    """The transcript was not read; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class Parsed:
    conversation: Conversation
    pickled_bytes: int
    """The size of the pickled conversation: what the caches weigh it by."""


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


def _work(memory_bytes: int, cpu_seconds: int) -> tuple[str, Any]:
    """The worker: load stdin; ``("ok", pickled conversation)`` or ``("refused", why)``."""
    _limit(memory_bytes, cpu_seconds)
    from ctxviz.errors import TranscriptError
    from ctxviz.loading import loads

    try:
        conv = loads(sys.stdin.buffer.read())
        return ("ok", pickle.dumps(conv, protocol=pickle.HIGHEST_PROTOCOL))
    except TranscriptError as e:
        return ("refused", str(e))
    except MemoryError:
        return ("refused", f"reading it needs more than {memory_bytes / 2**30:.0f} GiB")
    except RecursionError:
        return ("refused", "nested too deeply to read")
    except Exception as e:  # a bug in ctxviz: one sentence for the user, not a traceback
        return ("refused", f"an internal error ({type(e).__name__}: {e!s:.200})")


def parse(
    data: bytes,
    *,
    memory_bytes: int = MEMORY_BYTES,
    cpu_seconds: int = CPU_SECONDS,
    wall_seconds: float = WALL_SECONDS,
) -> Parsed:
    """The conversation ``data`` holds, read in a worker process; :class:`Refused` if not."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "ctxviz_app.isolated", str(memory_bytes), str(cpu_seconds)]
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    ) as worker:
        try:
            out, _ = worker.communicate(data, timeout=wall_seconds)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            raise Refused(f"reading it took longer than {wall_seconds:g} s; stopped") from None
    try:
        status, payload = pickle.loads(out)
    except Exception:
        raise Refused(_death(worker.returncode, memory_bytes)) from None
    if status != "ok":
        raise Refused(str(payload))
    return Parsed(conversation=pickle.loads(payload), pickled_bytes=len(payload))


def _death(exitcode: int | None, memory_bytes: int) -> str:
    if exitcode is not None and exitcode < 0 and -exitcode == getattr(signal, "SIGXCPU", -1):
        return "reading it took too much CPU time; stopped"
    return (
        f"the reader stopped (exit code {exitcode}): the file probably needs more than "
        f"{memory_bytes / 2**30:.0f} GiB to read"
    )


if __name__ == "__main__":
    reply = _work(int(sys.argv[1]), int(sys.argv[2]))
    sys.stdout.buffer.write(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
