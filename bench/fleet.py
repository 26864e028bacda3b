"""The fleet targets of issue 19, on generated Claude Code sessions:

- indexing: ``ctxviz fleet`` over ``--gb`` of sessions (a cold index, both cores), against the raw
  ``json.loads`` throughput of the same lines on one core (target: at least a third of it);
- reopening ``--sessions`` sessions from the index (target: 1,000 in 2 s or less), in-process and
  as a fresh ``ctxviz fleet --json`` process;
- a one-policy sweep over those sessions (target: 1,000 in 60 s or less).

Sessions are copies of real sessions (the ones ``bench/make_sessions.py`` starts from; for
indexing, its long sessions of about 2 MB), each with its own session id, so every file has its
own bytes and hash.

    python bench/fleet.py [--gb 1] [--sessions 1000] [--session-kb 40] [--jobs 2]

Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import make_sessions  # noqa: E402

from ctxviz import fleet  # noqa: E402

OUT = ROOT / "bench" / "out" / "fleet"
TEMPLATES = 8


def _templates(kb: int | None) -> list[tuple[str, bytes]]:
    """(session id, bytes) of the sessions copied: ``make_sessions``' sessions of about ``kb``
    KB, or (None) the real sessions it starts from, as they are (0.3 to 2.7 MB, 17 to 217
    requests)."""
    out = []
    if kb is None:
        for path in make_sessions.sources():
            data = path.read_bytes()
            match = re.search(rb'"sessionId":"([0-9a-f-]{36})"', data)
            if match:
                out.append((match.group(1).decode(), data))
        return out
    for t in range(TEMPLATES):
        path = make_sessions.build(kb * 1000 + t * 997, f"fleet-{kb}kb-{t}")
        out.append((path.stem, path.read_bytes()))
    return out


def make_fleet(name: str, count: int, kb: int | None) -> tuple[Path, int]:
    """``count`` sessions in 20 project folders under ``OUT/name`` (reused when present)."""
    root = OUT / name
    stamp = root / "built.json"
    want = {"count": count, "kb": kb, "version": make_sessions.VERSION}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return root, sum(f.stat().st_size for f in root.rglob("*.jsonl"))
    shutil.rmtree(root, ignore_errors=True)
    templates = _templates(kb)
    total = 0
    for i in range(count):
        sid, data = templates[i % len(templates)]
        new = str(uuid.UUID(bytes=hashlib.sha256(f"{name}:{i}".encode()).digest()[:16], version=4))
        folder = root / f"-bench-project-{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = data.replace(sid.encode(), new.encode())
        (folder / f"{new}.jsonl").write_bytes(body)
        total += len(body)
    stamp.write_text(json.dumps(want))
    return root, total


def raw_parse_mb_s(root: Path) -> float:
    """``json.loads`` of every line of every session, one core: MB per second."""
    files = sorted(root.rglob("*.jsonl"))
    size = 0
    t0 = time.perf_counter()
    for f in files:
        data = f.read_bytes()
        size += len(data)
        for line in data.splitlines():
            if line.strip():
                json.loads(line)
    return size / 1e6 / (time.perf_counter() - t0)


def _emit(**fields: object) -> None:
    print(json.dumps({"bench": "fleet", **fields}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of the indexing fleet")
    parser.add_argument("--sessions", type=int, default=1000, help="sessions to reopen / sweep")
    parser.add_argument(
        "--session-kb",
        type=int,
        default=None,
        help="size of those sessions (default: copies of the real sample sessions)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-index", action="store_true", help="only reopen and sweep")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    # 1. indexing throughput against raw json.loads
    if not args.skip_index:
        big_kb = 2000
        count = max(1, round(args.gb * 1e6 / big_kb))
        root, size = make_fleet(f"index-{args.gb:g}gb", count, big_kb)
        raw = raw_parse_mb_s(root)
        index = OUT / f"index-{args.gb:g}gb.duckdb"
        index.unlink(missing_ok=True)
        paths = fleet.discover([str(root)])
        t0 = time.perf_counter()
        with fleet.Index(str(index)) as ix:
            result = fleet.scan(paths, index=ix, jobs=args.jobs)
        seconds = time.perf_counter() - t0
        indexed = size / 1e6 / seconds
        _emit(
            what="index",
            sessions=len(result.sessions),
            mb=round(size / 1e6, 1),
            seconds=round(seconds, 2),
            mb_s=round(indexed, 2),
            raw_json_mb_s=round(raw, 2),
            fraction_of_raw=round(indexed / raw, 3),
            target_fraction=1 / 3,
            jobs=args.jobs,
            errors=sum(r.error is not None for r in result.sessions),
        )

    # 2. reopen N sessions from the index; 3. a one-policy sweep over them
    name = f"many-{args.sessions}-{args.session_kb or 'real'}"
    root, size = make_fleet(name, args.sessions, args.session_kb)
    index = OUT / f"{name}.duckdb"
    index.unlink(missing_ok=True)
    paths = fleet.discover([str(root)])
    t0 = time.perf_counter()
    with fleet.Index(str(index)) as ix:
        fleet.scan(paths, index=ix, jobs=args.jobs)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    with fleet.Index(str(index)) as ix:
        again = fleet.scan(fleet.discover([str(root)]), index=ix, jobs=args.jobs)
    reopen = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ctxviz", "fleet", str(root), "--index", str(index), "--json"],
        capture_output=True,
        check=True,
    )
    process = time.perf_counter() - t0
    assert len(json.loads(done.stdout)["sessions"]) == args.sessions
    _emit(
        what="reopen",
        sessions=len(again.sessions),
        read_files=again.read_files,
        mb=round(size / 1e6, 1),
        cold_seconds=round(cold, 2),
        seconds=round(reopen, 3),
        process_seconds=round(process, 3),
        target_seconds=2.0 * args.sessions / 1000,
    )
    policy = fleet.policy_from_json(
        '{"edits": [{"type": "clear_tool_uses_20250919", '
        '"trigger": {"type": "input_tokens", "value": 30000}}]}'
    )
    t0 = time.perf_counter()
    with fleet.Index(str(index)) as ix:
        swept = fleet.scan(paths, index=ix, policies=[policy], jobs=args.jobs)
    sweep = time.perf_counter() - t0
    (total,) = swept.totals
    _emit(
        what="sweep",
        sessions=total.sessions,
        failed=total.failed,
        seconds=round(sweep, 2),
        target_seconds=60.0 * args.sessions / 1000,
        tokens_saved=total.tokens_saved,
        usd_saved=round(total.usd_saved, 2),
    )


if __name__ == "__main__":
    main()
