"""Replay speed: synthetic transcripts of 1K / 10K / 100K requests, as recorded and per policy.

Prints seconds per replay (best of 3, wall clock and CPU; block estimates already cached: they
are computed once per conversation) and the one-off estimation time; then, in a fresh process
(nothing of the conversation cached, nor any text the counter met), its first replay beside the
warm ones (issue 17: the first ≤ 3× a warm one), as recorded and for a what-if. Not a test: it
never fails on timing.

    python bench/simulate.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from ctxviz.counting import conversation_tokens
from ctxviz.model import (
    Conversation,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    requests_from_messages,
)
from ctxviz.simulator import simulate
from ctxviz.tokens import count_text

MODEL = "claude-sonnet-4-5"


def synthetic(n_requests: int) -> Conversation:
    """A tool-use session: every 10th request a new user turn; 5 blocks per request on average."""
    messages: list[Message] = [Message(role="user", content=(TextBlock(text="start the task"),))]
    k = 0
    while k < n_requests:  # one assistant message per pass (counting them was quadratic)
        tid = f"t{k}"
        messages.append(
            Message(
                role="assistant",
                content=(
                    ThinkingBlock(thinking=f"thinking about step {k} " * 8, signature="s"),
                    TextBlock(text=f"step {k}"),
                    ToolUseBlock(id=tid, name="read" if k % 3 else "grep", input={"path": f"f{k}"}),
                ),
            )
        )
        body = f"line {k} of the file\n" * (20 + k % 50)
        if k % 10 == 9:
            messages.append(
                Message(
                    role="user",
                    content=(
                        ToolResultBlock(tool_use_id=tid, content=body),
                        TextBlock(text=f"now do part {k}"),
                    ),
                )
            )
        else:
            messages.append(
                Message(role="user", content=(ToolResultBlock(tool_use_id=tid, content=body),))
            )
        k += 1
    requests = requests_from_messages(tuple(messages))
    prompt = 2_000
    with_usage = []
    for r in requests:
        prompt += 300 + (r.index % 50) * 10
        with_usage.append(
            r.__class__(
                index=r.index,
                prompt_start=r.prompt_start,
                prompt_end=r.prompt_end,
                response=r.response,
                model=MODEL,
                usage=Usage(
                    input_tokens=10,
                    cache_read_input_tokens=prompt - 310,
                    cache_creation_input_tokens=300,
                    output_tokens=120,
                ),
            )
        )
    return Conversation(
        format="anthropic", messages=tuple(messages), requests=tuple(with_usage), model=MODEL
    )


POLICIES: dict[str, dict[str, Any]] = {
    "as recorded": {},
    "thinking preserved": {"thinking_preservation": True},
    "clear_tool_uses": {
        "context_management": {
            "edits": [
                {
                    "type": "clear_tool_uses_20250919",
                    "trigger": {"type": "input_tokens", "value": 50000},
                }
            ]
        }
    },
    "clear_thinking keep 2": {
        "context_management": {
            "edits": [
                {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 2}}
            ]
        }
    },
    "compact_20260112": {
        "context_management": {
            "edits": [
                {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 60000}}
            ]
        }
    },
    "compaction_control": {
        "compaction_control": {"enabled": True, "context_token_threshold": 60000}
    },
    "claude_code_autocompact": {"claude_code_autocompact": True},
    "rolling_window": {"rolling_window": 50000},
}


FIRST_REPLAY = ("as recorded", "as recorded, frames read", "clear_tool_uses")
"""Policies whose first replay of a fresh conversation is timed apart. As recorded, a replay
makes the prompts' estimates only when they are read (``Simulation.deferred``): "as recorded"
reads the columns the recording gives (what ``ctxviz summary`` and the fleet read), "frames
read" makes them at once and builds the three frames (what the app's charts read:
``defer_estimates=False``, as the app asks)."""


def _replay(conv: Conversation, policy: str) -> Callable[[], object]:
    if policy == "as recorded, frames read":

        def with_frames() -> object:
            sim = simulate(conv, defer_estimates=False)
            return sim.requests, sim.events, sim.composition

        return with_frames
    kwargs = POLICIES[policy]
    return lambda: simulate(conv, **kwargs)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best(fn: Callable[[], object], repeat: int = 3) -> tuple[float, float]:
    """Best wall-clock and CPU seconds of ``repeat`` runs (CPU time is steadier on a busy host)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--json", action="store_true", help="one JSON line per figure (bench/run)")
    parser.add_argument("--first-replay-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_replay_worker:
        first_replay_worker(int(args.first_replay_worker[0]), args.first_replay_worker[1])
        return
    for n in (int(s) for s in args.sizes.split(",")):
        conv = synthetic(n)
        blocks = sum(len(m.content) for m in conv.messages)
        t = time.perf_counter()
        conversation_tokens(conv, family="v3", counter=count_text)
        estimate = time.perf_counter() - t
        if args.json:
            row = {"bench": "simulate", "requests": n, "blocks": blocks}
            print(json.dumps({**row, "policy": "(block estimates, once)", "seconds": estimate}))
        else:
            print(f"\n{n:,} requests, {blocks:,} blocks; block estimates (once): {estimate:.2f} s")
        for name, kwargs in POLICIES.items():
            repeat = 1 if n > 20000 else 3
            seconds, cpu = best(lambda c=conv, k=kwargs: simulate(c, **k), repeat)
            if args.json:
                print(
                    json.dumps({**row, "policy": name, "seconds": seconds, "cpu_seconds": cpu}),
                    flush=True,
                )
            else:
                print(f"  {name:<26} {seconds:7.3f} s wall  {cpu:7.3f} s cpu")
        for name in FIRST_REPLAY:
            first = _first_replay(n, name)
            policy = f"(first replay: {name})"
            if args.json:
                print(json.dumps({**row, "policy": policy, **first}), flush=True)
            else:
                print(
                    f"  {policy:<26} {first['seconds']:7.3f} s wall  "
                    f"{first['cpu_seconds']:7.3f} s cpu, "
                    f"{first['cpu_seconds'] / first['warm_cpu_seconds']:.1f}x a warm one"
                )


def _first_replay(n: int, policy: str) -> dict[str, float]:
    """A fresh process's first replay of a conversation and its warm replays: nothing of the
    conversation is cached, nor any text the counter met (its tables are read from disk)."""
    out = subprocess.run(
        [sys.executable, __file__, "--first-replay-worker", str(n), policy],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def first_replay_worker(n: int, policy: str) -> None:
    conv = synthetic(n)
    _replay(synthetic(2), policy)()  # imports, pandas, and the counter's tables
    first, first_cpu = timed(_replay(conv, policy))
    warm, warm_cpu = best(_replay(conv, policy), 1 if n > 20000 else 3)
    print(
        json.dumps(
            {
                "seconds": first,
                "cpu_seconds": first_cpu,
                "warm_seconds": warm,
                "warm_cpu_seconds": warm_cpu,
            }
        )
    )


if __name__ == "__main__":
    main()
