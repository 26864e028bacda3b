"""Memory per decompressed MB: what ``ctxviz.load`` costs for each kind of input.

Inputs, built into bench/out/memory/ from ``bench/make_sessions.py``'s 30 MB session:

* ``session.jsonl``: a typical Claude Code session (30 MB), and the same as ``.xz`` and in a
  ``.zip``;
* ``log.jsonl``: the same conversation as an Anthropic request/response log would hold it (each
  line one request with its whole history) — cut to ~30 MB;
* ``tiny.jsonl``: 30 MB of tiny Claude Code records (the worst case per byte).

Each is loaded in a fresh subprocess (``ctxviz.load`` only): the peak RSS growth during the load
(``ru_maxrss`` after − RSS before) and, in a second subprocess, tracemalloc's peak; both divided
by the decompressed size. ``--tree DIR`` loads another checkout's ctxviz (for before/after).

    python bench/memory.py [--tree DIR]   # one JSON line per input
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "memory"


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(path: str, mode: str) -> None:
    import gc
    import resource

    import ctxviz

    gc.collect()
    if mode == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        ctxviz.load(path)
        print(json.dumps({"tracemalloc_peak_bytes": tracemalloc.get_traced_memory()[1]}))
        return
    rss0 = _rss()
    conv = ctxviz.load(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_rss_growth_bytes": peak - rss0, "requests": len(conv.requests)}))


def build() -> dict[str, tuple[Path, int]]:
    """Each input and its decompressed size."""
    OUT.mkdir(parents=True, exist_ok=True)
    sessions = sorted((ROOT / "bench" / "out" / "sessions" / "30mb").rglob("*.jsonl"))
    if not sessions:
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_sessions.py"), "--sizes", "30"],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        sessions = sorted((ROOT / "bench" / "out" / "sessions" / "30mb").rglob("*.jsonl"))
    raw = sessions[0].read_bytes()
    out: dict[str, tuple[Path, int]] = {}
    plain = OUT / "session.jsonl"
    if not plain.exists():
        plain.write_bytes(raw)
    out["session.jsonl"] = (plain, len(raw))
    packed = OUT / "session.jsonl.xz"
    if not packed.exists():
        packed.write_bytes(lzma.compress(raw, preset=1))
    out["session.jsonl.xz"] = (packed, len(raw))
    zipped = OUT / "session.zip"
    if not zipped.exists():
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("s.jsonl", raw)
    out["session.zip"] = (zipped, len(raw))
    tiny = OUT / "tiny.jsonl"
    if not tiny.exists():
        rec = '{"type":"progress","uuid":"p%d","parentUuid":null,"sessionId":"s"}\n'
        lines = [
            '{"type":"user","uuid":"u","parentUuid":null,"sessionId":"s",'
            '"message":{"role":"user","content":"hi"}}\n'
        ]
        size, i = 0, 0
        while size < len(raw):
            line = rec % i
            lines.append(line)
            size += len(line)
            i += 1
        tiny.write_text("".join(lines))
    out["tiny.jsonl"] = (tiny, tiny.stat().st_size)
    return out


def measure(path: Path, tree: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    result: dict[str, Any] = {}
    for mode in ("rss", "tracemalloc"):
        p = subprocess.run(
            [sys.executable, __file__, "--worker", str(path), mode],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1:]}
        result |= json.loads(p.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="load the ctxviz package of this checkout")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    for name, (path, size) in build().items():
        m = measure(path, args.tree)
        rec: dict[str, Any] = {"bench": "memory", "input": name, "decompressed_bytes": size, **m}
        if "error" not in m:
            rec["rss_x_decompressed"] = round(m["peak_rss_growth_bytes"] / size, 2)
            rec["tracemalloc_x_decompressed"] = round(m["tracemalloc_peak_bytes"] / size, 2)
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
