"""What dominates a cost: sample a benchmark step with py-spy and print the top functions.

py-spy (installed by ``bench/run`` into bench/out/peers-venv, never a project dependency) samples a
fresh interpreter running one step; only samples inside ``--within`` (a function name) count. For
each function it prints its self share (time on top of the stack) and, for the ``--inclusive``
names, their inclusive share (time anywhere in the stack).

    python bench/hotspots.py --what load-100mb --within load \\
        -- python -c "import ctxviz; ctxviz.load('x.jsonl')"
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
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


def _is(frame: str, func: str) -> bool:
    """Whether ``file:Class.func`` names ``func`` (a bare or qualified function name)."""
    name = frame.rsplit(":", 1)[-1]
    return name == func or name.endswith("." + func)


def summarise(raw: str, within: str, inclusive: list[str], top: int) -> dict[str, object]:
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        if not any(_is(f, within) for f in frames):
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            if any(_is(name, i) for i in inclusive):
                incl[name] += n
    return {
        "samples": total,
        "top_self": [[f, round(c / total, 3)] for f, c in own.most_common(top)] if total else [],
        "inclusive": [[f, round(c / total, 3)] for f, c in incl.most_common()] if total else [],
    }


def attach(spy: list[str], command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command``; once it prints READY, attach py-spy to it and let it go on."""
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdin is not None and proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "READY":
            break
    else:
        proc.wait()
        return subprocess.CompletedProcess(command, 1, "", "the command never printed READY")
    sampler = subprocess.Popen(
        [*spy, "--pid", str(proc.pid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.0)  # let py-spy attach before the work starts
    proc.stdin.write("go\n")
    proc.stdin.flush()
    proc.stdout.read()
    proc.wait()
    stdout, stderr = sampler.communicate(timeout=60)
    return subprocess.CompletedProcess(sampler.args, sampler.returncode, stdout, stderr)


def replay_worker(n: int) -> None:
    """Replays for ``--attach``: bench/simulate.py's synthetic conversation of ``n`` requests,
    its block estimates and a first replay done before READY, then every policy once."""
    sys.path.insert(0, str(ROOT / "bench"))
    from simulate import POLICIES, synthetic  # bench/simulate.py

    from ctxviz.simulator import simulate

    conv = synthetic(n)
    simulate(conv)
    print("READY", flush=True)
    sys.stdin.readline()
    for kwargs in POLICIES.values():
        simulate(conv, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", default="")
    parser.add_argument("--within", default="", help="count samples under this function")
    parser.add_argument("--inclusive", default="", help="comma-separated function names")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument(
        "--attach",
        action="store_true",
        help="start sampling only when the command prints READY (it then waits for a line on "
        "its standard input): its set-up is left out",
    )
    parser.add_argument("--replay-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.replay_worker:
        replay_worker(args.replay_worker)
        return
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not PY_SPY.exists():
        print(json.dumps({"bench": "profile", "what": args.what, "error": "py-spy not installed"}))
        return
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        spy = [str(PY_SPY), "record", "-r", str(args.rate), "--format", "raw", "-o", out.name]
        if args.attach:
            r = attach(spy, command)
        else:
            r = subprocess.run([*spy, "--", *command], capture_output=True, text=True, cwd=ROOT)
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
