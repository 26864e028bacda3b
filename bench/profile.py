"""What dominates a cost: sample a benchmark step with py-spy and print the top functions.

py-spy (installed by ``bench/run`` into bench/out/peers-venv, never a project dependency) samples a
fresh interpreter running one step; only samples inside ``--within`` (a function name) count. For
each function it prints its self share (time on top of the stack) and, for the ``--inclusive``
names, their inclusive share (time anywhere in the stack).

    python bench/profile.py --what load-100mb --within load \\
        -- python -c "import ctxviz; ctxviz.load('x.jsonl')"
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY_SPY = ROOT / "bench" / "out" / "peers-venv" / "bin" / "py-spy"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``parse (ctxviz/formats/claude_code.py:123)`` → ``claude_code.py:parse``."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"].rsplit("/", 1)[-1]
    return f"{file}:{m['func']}"


def summarise(raw: str, within: str, inclusive: list[str], top: int) -> dict[str, object]:
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        funcs = [f.rsplit(":", 1)[-1] for f in frames]
        if within not in funcs:
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            if name.rsplit(":", 1)[-1] in inclusive:
                incl[name] += n
    return {
        "samples": total,
        "top_self": [[f, round(c / total, 3)] for f, c in own.most_common(top)] if total else [],
        "inclusive": [[f, round(c / total, 3)] for f, c in incl.most_common()] if total else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", required=True)
    parser.add_argument("--within", required=True, help="count samples under this function")
    parser.add_argument("--inclusive", default="", help="comma-separated function names")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not PY_SPY.exists():
        print(json.dumps({"bench": "profile", "what": args.what, "error": "py-spy not installed"}))
        return
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        r = subprocess.run(
            [
                str(PY_SPY),
                "record",
                "-r",
                str(args.rate),
                "--format",
                "raw",
                "-o",
                out.name,
                "--",
                *command,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        raw = Path(out.name).read_text()
    if r.returncode != 0 and not raw:
        err = {"bench": "profile", "what": args.what, "error": r.stderr[-1500:]}
        print(json.dumps(err))
        sys.exit(0)
    inclusive = [s for s in args.inclusive.split(",") if s]
    print(
        json.dumps(
            {
                "bench": "profile",
                "what": args.what,
                "within": args.within,
                **summarise(raw, args.within, inclusive, args.top),
            }
        )
    )


if __name__ == "__main__":
    main()
