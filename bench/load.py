"""Load throughput: ctxviz.load on ~1/10/100 MB Claude Code sessions, beside two peers.

For each session built by ``bench/make_sessions.py``:

* ctxviz, in a fresh subprocess per run: the time of ``ctxviz.load(path)`` alone (wall and CPU,
  best of ``--repeat``), the peak RSS growth during it (``ru_maxrss`` after − RSS before), and in
  one more subprocess under ``tracemalloc`` the peak and retained Python allocations; plus the wall
  time of the whole command (interpreter start, ``import ctxviz``, load), to compare with the peers.
  The loader's modules (``ctxviz.loading``, every format reader) are imported before the load is
  measured and their import's time and RSS recorded apart (``loader_import_*``): a fixed cost of
  the program, the same for every file, which the whole command includes.
* claude-code-log (PyPI) converting the session to HTML:
  ``claude-code-log FILE -o X.html --no-cache``.
* ccusage (npm) computing the session's totals, with ``CLAUDE_CONFIG_DIR`` holding only that
  session: ccusage 20 (``ccusage claude session --json --offline``, a native binary behind a Node
  launcher) and ccusage 18 (``ccusage session --json --offline``, plain Node: the peer issue 17
  names), each installed in a folder of its own.

Peers are installed by ``bench/run`` into bench/out/ (never project dependencies). Each
tool's start-up cost is measured apart: the same command on a tiny session (10 records).
CPU time is user + system of the process and the children it waited for (``os.wait4``).

Prints one JSON line per measurement. Never fails on timing.

    python bench/load.py [--sizes 1mb,10mb,100mb] [--repeat 3] [--no-peers]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SESSIONS = OUT / "sessions"
CCL = OUT / "peers-venv" / "bin" / "claude-code-log"
CCUSAGE = OUT / "npm" / "node_modules" / ".bin" / "ccusage"
CCUSAGE_18 = OUT / "npm18" / "node_modules" / ".bin" / "ccusage"
CCUSAGES = {
    "ccusage": (CCUSAGE, ["claude", "session", "--json", "--offline"]),
    "ccusage-18": (CCUSAGE_18, ["session", "--json", "--offline"]),
}
"""Tool name in the records → (executable, arguments): ``ccusage`` is ccusage 20."""


# ---- the worker: runs in a fresh interpreter ---------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _import_loader() -> None:
    import importlib
    import pkgutil

    import ctxviz.formats
    import ctxviz.loading

    for module in pkgutil.iter_modules(ctxviz.formats.__path__):
        importlib.import_module(f"ctxviz.formats.{module.name}")


def worker(path: str, mode: str) -> None:
    """Load ``path`` once in this process and print what was measured as one JSON line."""
    import gc
    import resource

    t = time.perf_counter()
    import ctxviz

    import_s = time.perf_counter() - t
    # The loader's own modules (every format reader) are imported before the load is measured:
    # a fixed cost of the program, not of the file, recorded on its own.
    gc.collect()
    rss_before_import, t = _rss(), time.perf_counter()
    _import_loader()
    gc.collect()
    out: dict[str, Any] = {
        "import_s": import_s,
        "loader_import_s": time.perf_counter() - t,
        "loader_import_rss_bytes": _rss() - rss_before_import,
    }
    if mode == "memory":
        import tracemalloc

        tracemalloc.start()
        conv = ctxviz.load(path)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out |= {"tracemalloc_peak_bytes": peak, "retained_bytes": current}
    else:
        rss0 = _rss()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        conv = ctxviz.load(path)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out |= {
            "wall_s": wall,
            "cpu_s": cpu,
            "rss_before_bytes": rss0,
            "peak_rss_growth_bytes": max(0, maxrss - rss0),
            "rss_after_bytes": _rss(),
        }
    usage = [r.usage for r in conv.requests if r.usage is not None]
    out |= {
        "requests": len(conv.requests),
        "messages": len(conv.messages),
        "input_tokens": sum(u.input_tokens for u in usage),
        "cache_read_input_tokens": sum(u.cache_read_input_tokens for u in usage),
        "cache_creation_input_tokens": sum(u.cache_creation_input_tokens for u in usage),
        "output_tokens": sum(u.output_tokens for u in usage),
    }
    print(json.dumps(out))


# ---- the driver --------------------------------------------------------------------------------


def run(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> dict[str, Any]:
    """Run a command to the end: its wall time, CPU time (with waited-for children), peak RSS."""
    t = time.perf_counter()
    p = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, text=True
    )
    stdout, stderr = p.communicate()
    wall = time.perf_counter() - t
    # communicate() has reaped the child; its rusage is read from the children's totals instead.
    return {"wall_s": wall, "returncode": p.returncode, "stdout": stdout, "stderr": stderr}


def run_rusage(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Like ``run`` but with the child's own rusage from ``os.wait4`` (output to a temp file)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall_s": wall,
            "cpu_s": ru.ru_utime + ru.ru_stime,
            "max_rss_bytes": ru.ru_maxrss * 1024,
            "returncode": p.returncode,
            "stdout": out.read(),
            "stderr": err.read()[-2000:],
        }


def session(name: str) -> Path:
    files = sorted((SESSIONS / name / "projects").glob("*/*.jsonl"))
    if not files:
        sys.exit(f"no session {name}: run bench/make_sessions.py first")
    return files[0]


def tiny_session(src: Path) -> Path:
    """The first 10 records of a session, in a config dir of its own (for start-up costs)."""
    d = SESSIONS / "tiny" / "projects" / "-bench-tiny"
    d.mkdir(parents=True, exist_ok=True)
    path = d / src.name
    with src.open() as f:
        lines = [next(f) for _ in range(10)]
    path.write_text("".join(lines))
    return path


def emit(rec: dict[str, Any]) -> None:
    print(json.dumps(rec), flush=True)


def bench_ctxviz(name: str, path: Path, repeat: int) -> None:
    size = path.stat().st_size
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(path)]
    runs = []
    for _ in range(repeat):
        r = run_rusage([*cmd, "time"])
        if r["returncode"] != 0:
            emit({"bench": "load", "tool": "ctxviz", "size": name, "error": r["stderr"]})
            return
        runs.append((json.loads(r["stdout"]), r))
    best, proc = min(runs, key=lambda x: x[0]["wall_s"])
    best_cpu = min(x[0]["cpu_s"] for x in runs)
    mem = run_rusage([*cmd, "memory"])
    m = json.loads(mem["stdout"]) if mem["returncode"] == 0 else {}
    emit(
        {
            "bench": "load",
            "tool": "ctxviz",
            "size": name,
            "bytes": size,
            "runs": repeat,
            "load_wall_s": best["wall_s"],
            "load_cpu_s": best_cpu,
            "mb_per_s_wall": size / 1e6 / best["wall_s"],
            "mb_per_s_cpu": size / 1e6 / best_cpu,
            "peak_rss_growth_bytes": min(x[0]["peak_rss_growth_bytes"] for x in runs),
            "peak_rss_growth_x_file": min(x[0]["peak_rss_growth_bytes"] for x in runs) / size,
            "tracemalloc_peak_bytes": m.get("tracemalloc_peak_bytes"),
            "tracemalloc_peak_x_file": (m.get("tracemalloc_peak_bytes") or 0) / size,
            "retained_bytes": m.get("retained_bytes"),
            "import_s": min(x[0]["import_s"] for x in runs),
            "loader_import_s": min(x[0]["loader_import_s"] for x in runs),
            "loader_import_rss_bytes": min(x[0]["loader_import_rss_bytes"] for x in runs),
            "command_wall_s": min(x[1]["wall_s"] for x in runs),
            "command_cpu_s": min(x[1]["cpu_s"] for x in runs),
            "command_max_rss_bytes": proc["max_rss_bytes"],
            **{
                k: best[k]
                for k in (
                    "requests",
                    "messages",
                    "input_tokens",
                    "cache_read_input_tokens",
                    "cache_creation_input_tokens",
                    "output_tokens",
                )
            },
        }
    )


def peer_env(home: Path, config_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE")}
    env |= {"HOME": str(home), "NO_COLOR": "1", "CI": "1"}
    if config_dir is not None:
        env["CLAUDE_CONFIG_DIR"] = str(config_dir)
    return env


def bench_ccl(name: str, path: Path, repeat: int, scratch: Path) -> None:
    if not CCL.exists():
        emit({"bench": "load", "tool": "claude-code-log", "size": name, "error": "not installed"})
        return
    runs = []
    for i in range(repeat):
        html = scratch / f"ccl-{name}-{i}.html"
        r = run_rusage([str(CCL), str(path), "-o", str(html), "--no-cache"], env=peer_env(scratch))
        if r["returncode"] != 0 or not html.is_file():
            emit({"bench": "load", "tool": "claude-code-log", "size": name, "error": r["stderr"]})
            return
        r["output_bytes"] = html.stat().st_size
        html.unlink()
        runs.append(r)
    emit(
        {
            "bench": "load",
            "tool": "claude-code-log",
            "size": name,
            "bytes": path.stat().st_size,
            "runs": repeat,
            "command": "claude-code-log FILE -o OUT.html --no-cache",
            "command_wall_s": min(r["wall_s"] for r in runs),
            "command_cpu_s": min(r["cpu_s"] for r in runs),
            "command_max_rss_bytes": min(r["max_rss_bytes"] for r in runs),
            "output_bytes": runs[0]["output_bytes"],
        }
    )


def bench_ccusage(tool: str, name: str, path: Path, repeat: int, scratch: Path) -> None:
    exe, argv = CCUSAGES[tool]
    if not exe.exists():
        emit({"bench": "load", "tool": tool, "size": name, "error": "not installed"})
        return
    config = path.parent.parent.parent  # <config>/projects/<project>/<session>.jsonl
    runs = []
    for _ in range(repeat):
        r = run_rusage([str(exe), *argv], env=peer_env(scratch, config))
        if r["returncode"] != 0:
            emit({"bench": "load", "tool": tool, "size": name, "error": r["stderr"]})
            return
        runs.append(r)
    totals = json.loads(runs[0]["stdout"]).get("totals", {})
    emit(
        {
            "bench": "load",
            "tool": tool,
            "size": name,
            "bytes": path.stat().st_size,
            "runs": repeat,
            "command": f"CLAUDE_CONFIG_DIR=DIR ccusage {' '.join(argv)}",
            "command_wall_s": min(r["wall_s"] for r in runs),
            "command_cpu_s": min(r["cpu_s"] for r in runs),
            "command_max_rss_bytes": min(r["max_rss_bytes"] for r in runs),
            "input_tokens": totals.get("inputTokens"),
            "cache_read_input_tokens": totals.get("cacheReadTokens"),
            "cache_creation_input_tokens": totals.get("cacheCreationTokens"),
            "output_tokens": totals.get("outputTokens"),
        }
    )


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"claude-code-log": None, **dict.fromkeys(CCUSAGES)}
    for tool, exe in (("claude-code-log", CCL), *((t, e) for t, (e, _) in CCUSAGES.items())):
        if exe.exists():
            r = run([str(exe), "--version"])
            out[tool] = r["stdout"].strip().split()[-1] if r["returncode"] == 0 else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1mb,10mb,100mb")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--peer-repeat-100mb", type=int, default=1, help="peer runs at 100 MB")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--worker", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    names = args.sizes.split(",")
    emit({"bench": "load-setup", **versions()})
    scratch = Path(tempfile.mkdtemp(prefix="peers-", dir=OUT))
    try:
        tiny = tiny_session(session(names[0]))
        bench_ctxviz("tiny", tiny, args.repeat)
        if not args.no_peers:
            bench_ccl("tiny", tiny, args.repeat, scratch)
            for tool in CCUSAGES:
                bench_ccusage(tool, "tiny", tiny, args.repeat, scratch)
        for name in names:
            path = session(name)
            bench_ctxviz(name, path, args.repeat)
            if not args.no_peers:
                n = args.peer_repeat_100mb if path.stat().st_size > 50e6 else args.repeat
                bench_ccl(name, path, n, scratch)
                for tool in CCUSAGES:
                    bench_ccusage(tool, name, path, n, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
