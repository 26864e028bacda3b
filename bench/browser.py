"""What a user waits for, in a real browser: upload → first chart, slider → chart redrawn.

The app is served headless (``ctxviz_app.serve.served``) and driven by Playwright through
Debian's /usr/bin/chromium (``--headless --no-sandbox --disable-gpu
--disable-background-networking``). Sessions come from ``bench/make_sessions.py`` (real Claude Code
sessions appended into one chain; ``--sizes`` in MB, 4 MB is ~200 requests, 48 MB ~3,000; 48n
the same with every copy's words new to the token counter, as a real session's mostly are).

For each session, on each page of ``PAGES`` (the page opened with its URL settings, then the
session uploaded):

* upload → first chart (on the first page, Context editing): from handing the file to the
  sidebar's uploader until the script is idle (``[data-test-script-state=notRunning]``) and
  plotly has stopped changing the charts (no DOM change inside any ``.js-plotly-plot`` for
  ``--quiet-ms``); the time is that of the last change.
* slider → redrawn: the page's slider is moved one step (keyboard, as a user would by arrow key,
  always the same way: every value is new, so the replay cache misses) ``--moves`` times; each
  move is timed the same way. Bytes per move: the sizes of the websocket frames received from the
  server (Playwright's ``page.on("websocket")``) during the move. The Context editing trigger is
  the figure of record (a what-if replay per move); the other pages' sliders are shown beside it.
* where a move's time goes, as CPU time (which a loaded machine inflates much less than wall
  time): the server's (the Streamlit process, from /proc) and the page's main thread in Chromium
  (CDP ``Performance.getMetrics``: its tasks, of which scripts — Streamlit's React and plotly.js —
  and layout with style), medians of the moves.

The machine is shared: medians are quoted, and every run's figures are printed. One JSON line per
(session, measure). Never fails on timing.

    python bench/browser.py [--sizes 4,48,48n] [--moves 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ctxviz_app.serve import server_process  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 300_000
# (page, URL settings, slider label, key): each page's main slider, its what-if switched on in the
# URL (a move that changes no chart is counted apart, see measure). The first page is the figure
# of record: the upload opens as recorded (what a user first sees), then clearing is switched on
# (its slider is disabled until then).
TOGGLE = "[data-testid=stCheckbox] label:has-text('Clear old tool results')"
PAGES = (
    ("Context_editing", "", "trigger.value (input tokens)", "ArrowRight"),
    ("Timeline", "", "Requests shown — start", "ArrowRight"),
    ("Thinking", "?th_edit=turns", "keep: thinking_turns", "ArrowRight"),
    ("Compaction", "?cp_mode=server", "trigger (input tokens)", "ArrowRight"),
    ("Inspector", "", "Request", "ArrowLeft"),
)

# Records the time of the last DOM change inside any plotly chart (window.__lastPlot).
_OBSERVER = """() => {
  window.__lastPlot = performance.now();
  const obs = new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest && el.closest('.js-plotly-plot')) {
        window.__lastPlot = performance.now();
        return;
      }
    }
  });
  obs.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def sessions(sizes: list[str]) -> list[Path]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_sessions.py"), "--sizes", ",".join(sizes)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [ROOT / json.loads(line)["path"] for line in out.splitlines() if line.strip()]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MainThread:
    """Cumulative busy time of the page's main thread in Chromium (CDP Performance metrics)."""

    NAMES = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")

    def read(self) -> dict[str, float]:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in metrics if m["name"] in self.NAMES}


class Frames:
    """Bytes of websocket frames received from the server, in total."""

    def __init__(self, page: Any) -> None:
        self.received = 0
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        ws.on("framereceived", self._add)

    def _add(self, payload: Any) -> None:
        self.received += len(payload) if payload is not None else 0


def settle(page: Any, t0: float, quiet_ms: int) -> float:
    """Wait for the script to go idle and the charts to stop changing; seconds since t0 (page
    clock) to the last chart change."""
    # first the rerun starts (or a chart changes), then it ends
    page.wait_for_function(
        f"() => window.__lastPlot > {t0}"
        " || document.querySelector('[data-test-script-state=running]')",
        timeout=TIMEOUT_MS,
        polling=10,
    )
    page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
    page.wait_for_function(
        f"() => performance.now() - window.__lastPlot > {quiet_ms}"
        " && document.querySelector('[data-test-script-state=notRunning]')",
        timeout=TIMEOUT_MS,
        polling=25,
    )
    last: float = page.evaluate("() => window.__lastPlot")
    return max(0.0, (last - t0) / 1000)


def measure(
    url: str,
    server_pid: int,
    browser: Any,
    session: Path,
    moves: int,
    quiet_ms: int,
    where: tuple[str, str, str, str],
) -> dict[str, Any]:
    name, query, label, key = where
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    frames = Frames(page)
    main_thread = MainThread(page)
    try:
        page.goto(f"{url}/{name}{query}")
        page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
        page.wait_for_selector(
            "[data-test-script-state=notRunning]", state="attached", timeout=TIMEOUT_MS
        )
        page.evaluate(_OBSERVER)
        upload = page.locator(
            "[data-testid=stSidebar] [data-testid=stFileUploader]:has-text('Upload a transcript')"
            " input[type=file]"
        )
        t0 = page.evaluate("() => performance.now()")
        start_bytes = frames.received
        upload.set_input_files(str(session))
        first_chart_s = settle(page, t0, quiet_ms)
        upload_bytes = frames.received - start_bytes
        errors = page.locator("[data-testid=stException], [data-testid=stAlertContentError]")
        if errors.count():
            raise RuntimeError(f"the app showed an error: {errors.all_inner_texts()}")
        if name == PAGES[0][0]:
            t0 = page.evaluate("() => performance.now()")
            page.locator(TOGGLE).first.click()
            settle(page, t0, quiet_ms)
        slider = page.locator(f'[data-testid=stMain] input[type=range][aria-label="{label}"]').first
        if slider.is_disabled():
            raise RuntimeError(f"{name}: the slider {label!r} is disabled")
        redraw_s: list[float] = []
        move_bytes: list[int] = []
        cpu: dict[str, list[float]] = {"server": [], **{n: [] for n in MainThread.NAMES}}
        for _ in range(moves):
            slider.focus()
            start_bytes = frames.received
            server0, browser0 = cpu_s(server_pid), main_thread.read()
            t0 = page.evaluate("() => performance.now()")
            page.keyboard.press(key)
            redraw_s.append(settle(page, t0, quiet_ms))
            move_bytes.append(frames.received - start_bytes)
            cpu["server"].append(cpu_s(server_pid) - server0)
            for metric, value in main_thread.read().items():
                cpu[metric].append(value - browser0[metric])
        layout_style = [
            a + b for a, b in zip(cpu["LayoutDuration"], cpu["RecalcStyleDuration"], strict=True)
        ]
        return {
            "page": name,
            "slider": label,
            "upload_first_chart_s": round(first_chart_s, 3),
            "upload_bytes_received": upload_bytes,
            "slider_redrawn_s": [round(s, 3) for s in redraw_s],
            # a move that changed no chart (settle's 0) is left out of the median, and counted
            "slider_redrawn_median_s": round(
                statistics.median([s for s in redraw_s if s] or [0]), 3
            ),
            "moves_without_redraw": sum(1 for s in redraw_s if not s),
            "bytes_per_move": move_bytes,
            "bytes_per_move_median": int(statistics.median(move_bytes)),
            # CPU per move (medians): the server process, the page's main thread in Chromium
            "server_cpu_per_move_s": round(statistics.median(cpu["server"]), 3),
            "browser_main_thread_per_move_s": round(statistics.median(cpu["TaskDuration"]), 3),
            "browser_scripts_per_move_s": round(statistics.median(cpu["ScriptDuration"]), 3),
            "browser_layout_style_per_move_s": round(statistics.median(layout_style), 3),
        }
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="4,48,48n", help="session sizes in MB (make_sessions; 48n: new text)"
    )
    parser.add_argument("--moves", type=int, default=7)
    parser.add_argument("--quiet-ms", type=int, default=300)
    parser.add_argument(
        "--pages", default=",".join(p[0] for p in PAGES), help="pages measured (of PAGES)"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    import ctxviz

    paths = sessions(args.sizes.split(","))
    with server_process() as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            wanted = args.pages.split(",")
            for path in paths:
                requests = len(ctxviz.load(path).requests)
                for where in (p for p in PAGES if p[0] in wanted):
                    t = time.perf_counter()
                    row = measure(url, server.pid, browser, path, args.moves, args.quiet_ms, where)
                    row = {
                        "bench": "browser",
                        "session": path.parent.parent.parent.name,
                        "mb": round(path.stat().st_size / 1e6, 1),
                        "requests": requests,
                        **row,
                        "wall_s": round(time.perf_counter() - t, 1),
                    }
                    print(json.dumps(row), flush=True)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
