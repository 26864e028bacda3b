"""One PNG of the run's figures (docs/benchmarks.png), drawn from bench/out/*.out.

Runs in bench/out/peers-venv, where ``bench/run`` installs matplotlib (not a project dependency).

    bench/out/peers-venv/bin/python bench/plot.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import PLOT, ROOT, TARGET_RERUN_2000_S, records, simulate_results

SIZES = ("1mb", "10mb", "100mb")


def main() -> None:
    load = records("load")
    app = records("app")
    sim, _ = simulate_results()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), dpi=110)

    ax = axes[0]
    for tool, key, style in (
        ("ctxviz", "load_wall_s", "o-"),
        ("ctxviz", "command_wall_s", "o--"),
        ("claude-code-log", "command_wall_s", "s-"),
        ("ccusage", "command_wall_s", "^-"),
    ):
        pts = sorted(
            (r["bytes"] / 1e6, r[key])
            for r in load
            if r.get("tool") == tool and r.get("size") in SIZES and key in r
        )
        if pts:
            label = f"{tool} ({'load()' if key == 'load_wall_s' else 'whole command'})"
            ax.plot(*zip(*pts, strict=True), style, label=label)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="session file (MB)",
        ylabel="wall time (s)",
        title="Loading a Claude Code session",
    )
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)

    ax = axes[1]
    by_policy: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in sim:
        if not r["policy"].startswith("("):
            t = r.get("cpu_seconds", r["seconds"])  # CPU: wall carries the machine's contention
            by_policy[r["policy"]].append((r["requests"], t / r["requests"] * 1e6))
    for policy, pts in by_policy.items():
        ax.plot(*zip(*sorted(pts), strict=True), "o-", label=policy)
    ax.set(
        xscale="log",
        xlabel="requests in the conversation",
        ylabel="CPU µs per request",
        title="Replay: CPU time per request (flat = linear)",
    )
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)

    ax = axes[2]
    by_key: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in app:
        if r.get("rerun_median_s") is not None:
            by_key[f"{r['key']}"].append((r["requests"], r["rerun_median_s"] * 1000))
    for key, pts in by_key.items():
        ax.plot(*zip(*sorted(pts), strict=True), "o-", label=key)
    ax.axhline(TARGET_RERUN_2000_S * 1000, color="red", ls=":", label="target at 2,000")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="requests in the transcript",
        ylabel="rerun after a slider move (ms, median)",
        title="App (AppTest)",
    )
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)

    fig.tight_layout()
    out = ROOT / PLOT
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f'{{"bench": "plot", "path": "{PLOT}"}}')


if __name__ == "__main__":
    main()
