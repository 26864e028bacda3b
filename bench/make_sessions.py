"""Build Claude Code sessions of about 1, 10, 50, 100 and 200 MB for the benchmarks.

Real session files (the bundled sample and ../shared/samples/0[234]*) are appended one after the
other, in a fixed order, until the target size is reached (cut at a record boundary). Each copy
gets fresh uuids, message ids, request ids and tool-use ids (derived from a hash, so the output is
deterministic), one session id for the whole file, timestamps shifted to follow the previous copy,
and its first root record is linked to the previous copy's last message: the result is one long
main chain, as a very long session would be. Copies must be distinct, or ccusage would count each
(message id, request id) pair once and claude-code-log would merge them.

Each session is written as ``bench/out/sessions/<size>/projects/-bench-<size>/<session>.jsonl`` so
that ``CLAUDE_CONFIG_DIR=bench/out/sessions/<size>`` shows ccusage that one session only. A file is
rebuilt only when missing or built by another version of this script.

The copies repeat their sources' text, which the token counter meets once per process: a session
of ``<size>n`` (written as ``<size>mb-new``) is the same with each copy's words made new to it,
every letter of the assistant's text, thinking and tool results rotated by a shift of its own
per copy (1-25, then again). Its words are gibberish, so the counter's memo cannot reuse them: a
48 MB one holds about 5,700 distinct parts per million characters, between the plain copies'
1,100 and a short real session's 10,000-13,000 (a long real session repeats more of its words).

    python bench/make_sessions.py [--sizes 1,10,100,48n]   # prints one JSON line per session
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import string
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "sessions"
SHARED = ROOT.parent / "shared" / "samples"
VERSION = "1"
"""Bump when the output changes, so that cached sessions are rebuilt."""

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PREFIXED = re.compile(r"(msg|req|toolu|srvtoolu)_[A-Za-z0-9]+")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sources() -> list[Path]:
    """The session files used, in order (sub-agent files are left out)."""
    files = sorted((ROOT / "sample_conversations" / "claude_code_session").glob("*.jsonl"))
    for d in sorted(SHARED.glob("0[234]*")):
        files += sorted(f for f in d.glob("*.jsonl") if not f.name.startswith("agent-"))
    if not files:
        sys.exit("no source sessions found")
    return files


class Copy:
    """Rewrites the records of one copy of a source session with fresh ids."""

    def __init__(self, salt: str, session_id: str, source_session: str | None) -> None:
        self.salt = salt
        self.session_id = session_id
        self.source_session = source_session
        self.ids: dict[str, str] = {}

    def _digest(self, s: str) -> bytes:
        return hashlib.sha256(f"{self.salt}\0{s}".encode()).digest()

    def fresh(self, s: str) -> str:
        out = self.ids.get(s)
        if out is not None:
            return out
        if s == self.source_session:
            out = self.session_id
        elif _UUID.fullmatch(s):
            out = str(uuid.UUID(bytes=self._digest(s)[:16], version=4))
        else:
            prefix, _, rest = s.partition("_")
            n = int.from_bytes(self._digest(s), "big")
            chars = []
            for _ in rest:
                n, r = divmod(n, 62)
                chars.append(_B62[r])
            out = f"{prefix}_{''.join(chars)}"
        self.ids[s] = out
        return out

    def rewrite(self, v: Any) -> Any:
        if isinstance(v, str):
            if _UUID.fullmatch(v) or _PREFIXED.fullmatch(v):
                return self.fresh(v)
            return v
        if isinstance(v, dict):
            return {k: self.rewrite(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.rewrite(x) for x in v]
        return v


def _shift(v: Any, delta: timedelta) -> Any:
    """Every ``timestamp`` field, moved by ``delta`` (in place)."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "timestamp" and isinstance(x, str) and x.endswith("Z"):
                t = datetime.fromisoformat(x[:-1]) + delta
                v[k] = t.isoformat(timespec="milliseconds") + "Z"
            else:
                _shift(x, delta)
    elif isinstance(v, list):
        for x in v:
            _shift(x, delta)
    return v


def _times(records: list[dict[str, Any]]) -> tuple[datetime, datetime]:
    ts = [
        datetime.fromisoformat(r["timestamp"][:-1])
        for r in records
        if isinstance(r.get("timestamp"), str) and r["timestamp"].endswith("Z")
    ]
    return min(ts), max(ts)


_LOW, _UP = string.ascii_lowercase, string.ascii_uppercase
_ROTATIONS = [str.maketrans(_LOW + _UP, _LOW[k:] + _LOW[:k] + _UP[k:] + _UP[:k]) for k in range(26)]


def _rotate(record: dict[str, Any], table: dict[int, int]) -> dict[str, Any]:
    """The record with its assistant text, thinking and tool results' text letter-rotated."""
    message = record.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return record
    for block in message["content"]:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and message.get("role") == "assistant":
            block["text"] = _rotated(block.get("text"), table)
        elif kind == "thinking":
            block["thinking"] = _rotated(block.get("thinking"), table)
        elif kind == "tool_result":
            content = block.get("content")
            if isinstance(content, list):
                for item in content:
                    if isinstance(item, dict) and item.get("type") == "text":
                        item["text"] = _rotated(item.get("text"), table)
            else:
                block["content"] = _rotated(content, table)
    return record


def _rotated(value: Any, table: dict[int, int]) -> Any:
    return value.translate(table) if isinstance(value, str) else value


def build(target_bytes: int, name: str, *, new_text: bool = False) -> Path:
    """Write one session of at least ``target_bytes`` (unless cached) and return its path;
    ``new_text``: each copy's words rotated (the module doc)."""
    session_id = str(
        uuid.UUID(bytes=hashlib.sha256(f"ctxviz-bench-{name}".encode()).digest()[:16], version=4)
    )
    folder = OUT / name / "projects" / f"-bench-{name}"
    path = folder / f"{session_id}.jsonl"
    stamp = folder / "built.json"
    if (
        path.is_file()
        and stamp.is_file()
        and json.loads(stamp.read_text()).get("version") == VERSION
    ):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jsonl"):
        old.unlink()
    parsed = []
    for f in sources():
        records = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        sid = next((r["sessionId"] for r in records if isinstance(r.get("sessionId"), str)), None)
        parsed.append((f, records, sid, *_times(records)))
    clock = datetime(2026, 1, 5, 9, 0, 0)
    written = 0
    prev_leaf: str | None = None
    copies = 0
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        while written < target_bytes:
            f, records, sid, first, last = parsed[copies % len(parsed)]
            copy = Copy(f"{name}:{copies}", session_id, sid)
            delta = clock - first
            linked = False
            leaf = prev_leaf
            for r in records:
                r = _shift(copy.rewrite(r), delta)
                if new_text:
                    r = _rotate(r, _ROTATIONS[copies % 25 + 1])
                if (
                    not linked
                    and "parentUuid" in r
                    and r["parentUuid"] is None
                    and not r.get("logicalParentUuid")
                ):
                    r["parentUuid"] = prev_leaf
                    linked = True
                if (
                    r.get("type") in ("user", "assistant")
                    and not r.get("isSidechain")
                    and isinstance(r.get("uuid"), str)
                ):
                    leaf = r["uuid"]
                line = json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                out.write(line)
                written += len(line.encode())
                if written >= target_bytes:
                    break
            prev_leaf = leaf
            clock += (last - first) + timedelta(minutes=30)
            copies += 1
    tmp.replace(path)
    stamp.write_text(json.dumps({"version": VERSION, "bytes": written, "copies": copies}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1,10,100", help="target sizes in MB (10^6 bytes); 48n: new text"
    )
    args = parser.parse_args()
    for size in args.sizes.split(","):
        new_text = size.endswith("n")
        mb = size.removesuffix("n")
        name = f"{mb}mb-new" if new_text else f"{mb}mb"
        path = build(int(float(mb) * 1_000_000), name, new_text=new_text)
        print(
            json.dumps(
                {
                    "bench": "session",
                    "name": name,
                    "path": str(path.relative_to(ROOT)),
                    "bytes": path.stat().st_size,
                    "lines": sum(1 for _ in path.open("rb")),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
