"""Whole-process start-up: a fresh interpreter's first ``count_tokens``, and ``ctxviz summary``.

Each run is a new process, so nothing is warm but what is on disk. Two states of the disk cache
of tokenizer tables and models (``ctxviz/_disk_cache.py``, under ``$XDG_CACHE_HOME``):

* ``empty``: a fresh cache folder per run, as on a first use ever (the process builds and stores);
* ``kept``: the folder a first run filled, as on every later use.

``count_tokens``: a request body of ``--mb`` MB of never-seen text (documents of
../shared/calibration, one message each, alternating roles). The worker times ``import ctxviz``
and the first ``ctxviz.count_tokens(body)`` (which also imports what the replay needs), and the
whole process (interpreter start to exit) is timed from outside: wall, and CPU as user + system
of the child (``os.wait4``). MB/s is the body's UTF-8 text over the time. ``summary``: the whole
command ``ctxviz summary FILE`` on the sessions given.

Prints one JSON line per measurement (medians of ``--repeat`` runs). Never fails on timing.

    python bench/startup.py [--mb 1,5] [--repeat 5] [--session FILE ...]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT.parent / "shared" / "calibration"

_WORKER = """
import json, sys, time
t0 = time.perf_counter()
import ctxviz
t1 = time.perf_counter()
body = json.load(open(sys.argv[1], encoding="utf-8"))
t2 = time.perf_counter()
answer = ctxviz.count_tokens(body)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "count_s": t3 - t2, **answer}))
"""


def make_body(megabytes: float, path: Path) -> int:
    """Write a count_tokens body of about ``megabytes`` MB of text; returns its text's bytes."""
    docs: list[str] = []
    for corpus in ("rosetta", "udhr", "multipl_e"):
        with gzip.open(CALIBRATION / f"{corpus}.jsonl.gz", "rt", encoding="utf-8") as f:
            docs.extend(json.loads(line)["text"] for line in f)
    messages: list[dict[str, str]] = []
    size = 0
    while size < megabytes * 1e6:
        text = docs[len(messages) % len(docs)]
        if len(messages) >= len(docs):  # past one pass, vary it: never-seen text
            text = f"{len(messages)} {text}"
        messages.append(
            {"role": "user" if len(messages) % 2 == 0 else "assistant", "content": text}
        )
        size += len(text.encode("utf-8"))
    if messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": "Go on."})
    body = {"model": "claude-sonnet-4-5", "messages": messages}
    path.write_text(json.dumps(body), encoding="utf-8")
    return size


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one child process run to its end."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{argv} exited {proc.returncode}")
        out.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, out.read().decode()


def runs(argv: list[str], state: str, repeat: int) -> list[tuple[float, float, str]]:
    """``repeat`` runs of argv with the disk cache ``empty`` (fresh each run) or ``kept``."""
    results = []
    with tempfile.TemporaryDirectory() as kept:
        env = {**os.environ, "XDG_CACHE_HOME": kept}
        if state == "kept":
            timed(argv, env)  # fills the cache
        for _ in range(repeat):
            if state == "empty":
                with tempfile.TemporaryDirectory() as fresh:
                    results.append(timed(argv, {**os.environ, "XDG_CACHE_HOME": fresh}))
            else:
                results.append(timed(argv, env))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", default="1,5", help="body sizes in MB of text")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--session", nargs="*", default=[], help="files for ctxviz summary")
    args = parser.parse_args()

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    with tempfile.TemporaryDirectory() as work:
        for mb in args.mb.split(","):
            body = Path(work) / f"body-{mb}.json"
            text_bytes = make_body(float(mb), body)
            argv = [sys.executable, "-c", _WORKER, str(body)]
            for state in ("empty", "kept"):
                done = runs(argv, state, args.repeat)
                inner = [json.loads(out) for _, _, out in done]
                count_s = med([r["count_s"] for r in inner])
                wall_s = med([w for w, _, _ in done])
                cpu_s = med([c for _, c, _ in done])
                row: dict[str, Any] = {
                    "bench": "count_tokens",
                    "cache": state,
                    "text_mb": round(text_bytes / 1e6, 2),
                    "input_tokens": inner[0]["input_tokens"],
                    "import_ctxviz_s": med([r["import_s"] for r in inner]),
                    "first_count_s": count_s,
                    "first_count_mb_per_s": round(text_bytes / 1e6 / count_s, 2),
                    "process_wall_s": wall_s,
                    "process_cpu_s": cpu_s,
                    "process_mb_per_s_wall": round(text_bytes / 1e6 / wall_s, 2),
                    "process_mb_per_s_cpu": round(text_bytes / 1e6 / cpu_s, 2),
                }
                print(json.dumps(row), flush=True)
    ctxviz = [sys.executable, "-m", "ctxviz.cli"]
    for session in args.session:
        for state in ("empty", "kept"):
            done = runs([*ctxviz, "summary", session], state, args.repeat)
            row = {
                "bench": "summary",
                "cache": state,
                "session": session,
                "mb": round(Path(session).stat().st_size / 1e6, 2),
                "process_wall_s": med([w for w, _, _ in done]),
                "process_cpu_s": med([c for _, c, _ in done]),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
