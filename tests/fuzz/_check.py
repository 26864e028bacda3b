"""The property every fuzz case checks, and the ledger of how many cases ran per class.

``run_case`` loads the bytes and, when they load, simulates the conversation and each sub-agent.
Loading may only return a Conversation or raise ``TranscriptError`` with a non-empty message;
simulating may only return. Each case must finish within ``CASE_LIMIT_S`` seconds; a watchdog
interrupts a case that runs past ``HARD_LIMIT_S`` so that a hang fails the suite instead of
stalling it.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import math
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctxviz import simulate  # the public API (docs/api.md), whatever module holds it
from ctxviz.errors import TranscriptError
from ctxviz.loading import load, load_all, loads
from ctxviz.model import Conversation

CASE_LIMIT_S = 10.0
"""A case (load + simulate) slower than this fails: the per-file time bound of the issue."""
HARD_LIMIT_S = 60.0

CASES: Counter[str] = Counter()
"""Cases run per class in this test session (printed by tests/fuzz/conftest.py)."""
OUTCOMES: Counter[tuple[str, str]] = Counter()
"""(class, outcome) → cases: outcome is ``loaded`` or ``rejected`` (a TranscriptError)."""


class CaseTimeout(Exception):
    pass


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Interrupt the main thread after ``seconds`` (only where SIGALRM exists and we are main)."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"case still running after {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass(frozen=True, slots=True)
class Outcome:
    conv: Conversation | None
    error: TranscriptError | None
    seconds: float


POLICIES: tuple[dict[str, Any], ...] = (
    {"context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}},
    {"context_management": {"edits": [{"type": "compact_20260112"}]}},
    {"compaction_control": {"enabled": True, "context_token_threshold": 5_000}},
    {"claude_code_autocompact": True, "undo_recorded_compactions": True},
    {"rolling_window": 2_000, "context_window": 4_000},
    {"model": "claude-haiku-4-5", "thinking_preservation": True},
)
"""What-if replays run on some loaded cases (every POLICY_EVERY-th), one policy per case."""
POLICY_EVERY = int(os.environ.get("CTXVIZ_FUZZ_POLICY_EVERY", "3"))
_policy_turn = 0


def _check_simulation(conv: Conversation, case: str) -> None:
    global _policy_turn
    _check_frame(simulate(conv), conv, case)
    _policy_turn += 1
    if POLICY_EVERY and _policy_turn % POLICY_EVERY == 0:
        policy = POLICIES[(_policy_turn // POLICY_EVERY) % len(POLICIES)]
        try:
            sim = simulate(conv, **policy)
        except ValueError as e:  # only what the API would reject for this configuration
            assert not isinstance(e, TranscriptError), f"{case}: {policy}: {e}"
            assert any(
                k in str(e)
                for k in ("context_management", "compaction_control", "thinking", "window")
            ), f"{case}: {policy}: {e}"
            return
        _check_frame(sim, conv, f"{case} under {policy}", recorded=False)


def _check_frame(sim: Any, conv: Conversation, case: str, *, recorded: bool = True) -> None:
    frame = sim.requests
    if recorded:  # a what-if may add requests (a compaction's summary call, a re-issued one)
        assert len(frame) == len(conv.requests), f"{case}: one row per request"
    for col in ("input_tokens", "output_tokens", "context_tokens"):
        values = frame[col].tolist()
        bad = [
            v for v in values if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0)
        ]
        assert not bad, f"{case}: sim.requests[{col!r}] holds {bad[:3]}"
    assert all(isinstance(w, str) for w in sim.warnings), f"{case}: sim.warnings must be str"


def run_case(data: bytes | str, case: str, cls: str) -> Outcome:
    """Load and simulate one input; AssertionError names the case on any contract breach."""
    CASES[cls] += 1
    t0 = time.perf_counter()
    conv: Conversation | None = None
    error: TranscriptError | None = None
    stage = "load"
    try:
        with watchdog(HARD_LIMIT_S):
            try:
                conv = loads(data)
            except TranscriptError as e:
                error = e
            if conv is not None:
                stage = "simulate"
                _check_simulation(conv, case)
                for k, sub in enumerate(conv.subagents):
                    stage = f"simulate sub-agent {k}"
                    _check_simulation(sub, f"{case} sub-agent {k}")
    except AssertionError:
        raise
    except BaseException as e:  # anything else is the finding
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = "".join(traceback.format_exception(e, limit=-6))
        raise AssertionError(f"{case}: {stage} raised {type(e).__name__}: {e!s:.300}\n{tb}") from e
    seconds = time.perf_counter() - t0
    assert seconds < CASE_LIMIT_S, f"{case}: took {seconds:.1f} s (limit {CASE_LIMIT_S:.0f} s)"
    if error is not None:
        assert str(error).strip(), f"{case}: TranscriptError with an empty message"
        OUTCOMES[cls, "rejected"] += 1
    else:
        assert conv is not None
        assert all(isinstance(w, str) and w for w in conv.warnings), f"{case}: bad warnings"
        OUTCOMES[cls, "loaded"] += 1
    return Outcome(conv, error, seconds)


_SCRATCH: list[Path] = []


def _scratch() -> Path:
    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="ctxviz-fuzz-")))
        atexit.register(shutil.rmtree, _SCRATCH[0], True)
    return _SCRATCH[0]


def run_path_case(data: bytes, name: str, case: str, cls: str) -> None:
    """``data`` as a file: ``load(path)`` and ``load_all(path)`` return or raise TranscriptError,
    ``ctxviz summary PATH`` exits 0 or 2 with no traceback, each within the case's time limit."""
    from ctxviz import cli

    CASES[cls] += 1
    path = _scratch() / name
    path.write_bytes(data)
    t0 = time.perf_counter()
    stage = "load(path)"
    try:
        with watchdog(HARD_LIMIT_S):
            try:
                conv = load(path)
            except TranscriptError as e:
                assert str(e).strip(), f"{case}: TranscriptError with an empty message"
                conv = None
            stage = "load_all(path)"
            try:
                convs = load_all(path)
                assert conv is None or conv.messages in [c.messages for c in convs], case
            except TranscriptError as e:
                assert conv is None, f"{case}: load read it, load_all raised {e}"
            stage = "ctxviz summary"
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = cli.main(["summary", str(path)])
    except AssertionError:
        raise
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = "".join(traceback.format_exception(e, limit=-6))
        raise AssertionError(f"{case}: {stage} raised {type(e).__name__}: {e!s:.300}\n{tb}") from e
    finally:
        path.unlink(missing_ok=True)
    assert status == (0 if conv is not None else 2), f"{case}: exit {status}: {err.getvalue()}"
    assert "Traceback" not in err.getvalue() + out.getvalue(), case
    seconds = time.perf_counter() - t0
    assert seconds < 3 * CASE_LIMIT_S, f"{case}: took {seconds:.1f} s"
    OUTCOMES[cls, "loaded" if conv is not None else "rejected"] += 1
