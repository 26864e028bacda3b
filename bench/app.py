"""App responsiveness: time of a Streamlit rerun after a slider change, at 200 / 2,000 / 20,000
requests, with the app's real pages under AppTest.

The transcripts are synthetic Claude Code sessions written by :func:`session_bytes` (deterministic:
a tool-use loop, a new user turn every 10 requests, thinking on every 5th response, recorded usage,
an auto-compaction whenever the prompt passes 160K tokens). Each is uploaded through the sidebar's
file uploader after a first run on the default sample. The first view (load,
token estimates, replay, figures) is timed once; then the slider is moved to ``--moves`` new values
in turn and each rerun is timed (every value is new, so the replay cache misses, as for a user
dragging it). Each page runs in a fresh process.

Prints one JSON line per (page, slider, size). Never fails on timing.

    python bench/app.py [--sizes 200,2000,20000] [--moves 5]
    python bench/app.py --write 2000 out.jsonl   # just write a transcript
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # ctxviz_app, as the pages import it

# (page, slider key, what it is)
SLIDERS: tuple[tuple[str, str, str], ...] = (
    ("pages/3_Context_editing.py", "ce_trigger_tokens", "what-if: clear_tool_uses trigger"),
    ("pages/4_Compaction.py", "cp_trigger", "what-if: compaction trigger"),
    ("pages/1_Timeline.py", "tl_range", "zoom: requests shown (no replay)"),
)
WHAT_IF: dict[str, tuple[str, str, object]] = {
    "ce_trigger_tokens": ("toggle", "ce_tools", True),
    "cp_trigger": ("radio", "cp_mode", "server"),
}
"""Every page opens on the recording: the widget (kind, key, value) that turns the what-if on,
so that its slider is enabled (or shown) before it is moved."""
MODEL = "claude-sonnet-4-5-20250929"
SESSION = "5e55a7f0-0000-4000-8000-000000000b3c"


# ---- the synthetic transcript ------------------------------------------------------------------


def _id(kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"ctxviz-bench-{kind}-{n}"))


def session_bytes(n_requests: int) -> bytes:
    """A Claude Code session JSONL of ``n_requests`` API requests on the main chain."""
    lines: list[str] = []
    t0 = 1_767_600_000.0  # 2026-01-05
    seq = 0
    parent: str | None = None

    def record(kind: str, body: dict[str, Any], **extra: Any) -> None:
        nonlocal seq, parent
        seq += 1
        u = _id("rec", seq)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + seq * 3)) + ".000Z"
        rec = {
            "parentUuid": parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": "/work/bench",
            "sessionId": SESSION,
            "version": "2.1.39",
            "gitBranch": "main",
            "type": kind,
            **body,
            "uuid": u,
            "timestamp": stamp,
            **extra,
        }
        lines.append(json.dumps(rec, separators=(",", ":")))
        parent = u

    prompt = 18_000  # system prompt + tools, as Claude Code sends them
    record("user", {"message": {"role": "user", "content": "Refactor the parser module, step 0."}})
    for r in range(n_requests):
        mid, req = f"msg_bench{r:07d}", f"req_bench{r:07d}"
        tool = f"toolu_bench{r:07d}"
        output = 150 + (r * 37) % 400
        usage = {
            "input_tokens": 3,
            "cache_creation_input_tokens": 600 + (r * 13) % 900,
            "cache_read_input_tokens": prompt,
            "output_tokens": output,
        }
        common = {"requestId": req}
        if r % 5 == 0:
            think = f"Step {r}: the next file to read is src/mod_{r % 97}.py; check its imports. "
            record(
                "assistant",
                {
                    "message": {
                        "model": MODEL,
                        "id": mid,
                        "type": "message",
                        "role": "assistant",
                        "content": [
                            {"type": "thinking", "thinking": think * 6, "signature": "c2ln" * 20}
                        ],
                        "stop_reason": None,
                        "usage": {**usage, "output_tokens": 1},
                    }
                },
                **common,
            )
        record(
            "assistant",
            {
                "message": {
                    "model": MODEL,
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": f"Reading module {r % 97} (step {r})."},
                        {
                            "type": "tool_use",
                            "id": tool,
                            "name": "Read" if r % 3 else "Grep",
                            "input": {"file_path": f"/work/bench/src/mod_{r % 97}.py"},
                        },
                    ],
                    "stop_reason": "tool_use",
                    "usage": usage,
                }
            },
            **common,
        )
        body = "".join(
            f"{i:>5}\tdef f_{r}_{i}(x):  return helper_{i % 7}(x) + {i}\n"
            for i in range(10 + r % 30)
        )
        record(
            "user",
            {
                "message": {
                    "role": "user",
                    "content": [{"tool_use_id": tool, "type": "tool_result", "content": body}],
                }
            },
            toolUseResult={"type": "text", "file": {"numLines": 10 + r % 30}},
        )
        prompt += usage["cache_creation_input_tokens"] + output + len(body) // 4
        if prompt > 160_000 and r + 1 < n_requests:
            boundary = _id("boundary", r)
            lines.append(
                json.dumps(
                    {
                        "parentUuid": None,
                        "logicalParentUuid": parent,
                        "isSidechain": False,
                        "type": "system",
                        "subtype": "compact_boundary",
                        "content": "Conversation compacted",
                        "sessionId": SESSION,
                        "compactMetadata": {"trigger": "auto", "preTokens": prompt},
                        "uuid": boundary,
                        "timestamp": time.strftime(
                            "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t0 + seq * 3 + 1)
                        ),
                    },
                    separators=(",", ":"),
                )
            )
            parent = boundary
            summary = f"This session is being continued from a previous conversation. {r} " * 40
            record("user", {"message": {"role": "user", "content": summary}}, isCompactSummary=True)
            prompt = 18_000 + 4_000
        if r % 10 == 9 and r + 1 < n_requests:
            text = f"Good. Now step {r + 1}: refactor the next module."
            record("user", {"message": {"role": "user", "content": text}})
    return ("\n".join(lines) + "\n").encode()


# ---- the measurement (one page in a fresh process) ---------------------------------------------


def _slider_values(lo: int, hi: int, step: int, current: int, moves: int) -> list[int]:
    """``moves`` distinct values across the range, none equal to the current one."""
    out: list[int] = []
    for i in range(moves):
        v = lo + (hi - lo) * (i + 1) // (moves + 1)
        v = lo + round((v - lo) / step) * step
        if v != current and v not in out and lo <= v <= hi:
            out.append(v)
    return out


def open_page(page: str, n: int, data: bytes, key: str = "") -> tuple[Any, float]:
    """A page under AppTest with the transcript uploaded in its sidebar; the upload's run time.
    Then the what-if that ``key``'s slider belongs to is turned on (``WHAT_IF``)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=600)
    at.run()  # the default sample first, as a user arrives
    at.file_uploader(key="upload").set_value((f"bench-{n}.jsonl", data, "application/jsonl"))
    t = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t
    if key in WHAT_IF:
        kind, widget, value = WHAT_IF[key]
        getattr(at, kind)(key=widget).set_value(value)
        at.run()
    return at, elapsed


def measure(page: str, key: str, sizes: list[int], moves: int) -> None:
    """Run in a worker process: one AppTest per size on one page, print JSON lines."""
    for n in sizes:
        data = session_bytes(n)
        at, first_view = open_page(page, n, data, key)
        errors = [e.value for e in at.exception] + [e.value for e in at.error]
        slider = next((s for s in at.slider if s.key == key), None)
        if slider is None or errors:
            problem = f"errors: {errors[:2]}" if errors else f"no slider {key!r} on the page"
            print(json.dumps({"page": page, "key": key, "requests": n, "error": problem}))
            continue
        lo, hi, step = slider.min, slider.max, slider.step or 1
        times: list[float] = []
        cpu: list[float] = []  # process CPU time: the script thread's and AppTest's
        if isinstance(slider.value, tuple | list):  # a range slider: move its upper end
            a, b = slider.value
            for v in _slider_values(a + 1, hi, step, b, moves):
                slider.set_value((a, v))
                t, c = time.perf_counter(), time.process_time()
                at.run()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                slider = next(s for s in at.slider if s.key == key)
        else:
            for v in _slider_values(lo, hi, step, slider.value, moves):
                slider.set_value(v)
                t, c = time.perf_counter(), time.process_time()
                at.run()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                slider = next(s for s in at.slider if s.key == key)
        errors = [e.value for e in at.exception] + [e.value for e in at.error]
        print(
            json.dumps(
                {
                    "page": page,
                    "key": key,
                    "requests": n,
                    "transcript_bytes": len(data),
                    "first_view_s": first_view,
                    "rerun_s": times,
                    "rerun_median_s": statistics.median(times) if times else None,
                    "rerun_min_s": min(times) if times else None,
                    "rerun_cpu_s": cpu,
                    "rerun_cpu_median_s": statistics.median(cpu) if cpu else None,
                    "errors": errors[:2],
                }
            ),
            flush=True,
        )


def profile_reruns(page: str, key: str, n: int, moves: int) -> None:
    """Set up one page at ``n`` requests, print READY, wait for a line, then move the slider
    ``moves`` times (for ``bench/hotspots.py --attach``: only the reruns are sampled)."""
    at, _ = open_page(page, n, session_bytes(n), key)
    slider = next(s for s in at.slider if s.key == key)
    values = _slider_values(slider.min, slider.max, slider.step or 1, slider.value, moves)
    print("READY", flush=True)
    sys.stdin.readline()
    for v in values:
        slider.set_value(v)
        at.run()
        slider = next(s for s in at.slider if s.key == key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,2000,20000")
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--pages", default="", help="comma-separated slider keys (default: all)")
    parser.add_argument("--write", nargs=2, metavar=("N", "PATH"), help="write one transcript")
    parser.add_argument("--worker", nargs=2, metavar=("PAGE", "KEY"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile-reruns", nargs=3, metavar=("PAGE", "KEY", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.profile_reruns:
        page, key, n = args.profile_reruns
        profile_reruns(page, key, int(n), max(args.moves, 10))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.write:
        Path(args.write[1]).write_bytes(session_bytes(int(args.write[0])))
        return
    if args.worker:
        measure(*args.worker, sizes, args.moves)
        return
    wanted = set(filter(None, args.pages.split(",")))
    for page, key, what in SLIDERS:
        if wanted and key not in wanted:
            continue
        if not (ROOT / page).is_file():
            print(json.dumps({"bench": "app", "page": page, "key": key, "error": "no such page"}))
            continue
        r = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                page,
                key,
                "--sizes",
                args.sizes,
                "--moves",
                str(args.moves),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                print(json.dumps({"bench": "app", "what": what, **json.loads(line)}), flush=True)
        if r.returncode != 0:
            print(json.dumps({"bench": "app", "page": page, "key": key, "error": r.stderr[-1500:]}))


if __name__ == "__main__":
    main()
