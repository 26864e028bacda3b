"""Regenerate the README's screenshots by driving the real app in a browser.

    python scripts/screenshots.py                 # docs/screenshots/*.png, light theme
    python scripts/screenshots.py --theme dark --out /tmp/shots

Starts ``streamlit run app.py`` headless on a free port, opens each view below in Debian's
chromium through Playwright (``playwright install`` is not needed: ``--chromium`` points at the
system browser), waits until the script has finished and the chart is drawn, and saves each
page from its top to the bottom of its main chart. Every view is a URL, so each picture shows
settings a reader can reproduce by opening the same address.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: ctxviz_app lives at the root

from ctxviz_app.serve import served  # noqa: E402

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# (file name, URL path and query): what each README picture shows.
VIEWS: tuple[tuple[str, str], ...] = (
    ("overview.png", "/"),
    ("timeline.png", "/Timeline"),
    ("thinking.png", "/Thinking?source=interleaved_thinking_tools"),
    (
        "context_editing.png",
        "/Context_editing?source=agent_tool_loop&ce_tools=true&ce_trigger_tokens=60000"
        "&ce_clear_at_least=20000",
    ),
    ("compaction.png", "/Compaction?cp_mode=server"),
    ("compare.png", "/Compare"),
    ("cost.png", "/Cost?source=agent_tool_loop"),
    ("inspector.png", "/Inspector?source=agent_tool_loop&insp_strategy=clear_tools&request=20"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        raise SystemExit(f"{args.chromium} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with served() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=BROWSER_ARGS)
        context = browser.new_context(
            viewport={"width": args.width, "height": 1000},
            color_scheme=args.theme,
            device_scale_factor=1,
        )
        page = context.new_page()
        for name, path in VIEWS:
            page.set_viewport_size({"width": args.width, "height": 1000})
            page.goto(f"{url}{path}")
            page.wait_for_selector(
                "[data-test-script-state=notRunning]", state="attached", timeout=120_000
            )
            page.wait_for_selector(".js-plotly-plot", timeout=120_000)
            page.wait_for_timeout(1_000)
            if page.locator("[data-testid=stException], [data-testid=stAlertContentError]").count():
                raise SystemExit(f"{path}: the page shows an error")
            # Grow the viewport to the page (Streamlit scrolls inside its own container),
            # then keep the top of the page down to the bottom of its main chart.
            height = page.evaluate(
                "() => document.querySelector('[data-testid=stMain]').scrollHeight"
            )
            page.set_viewport_size({"width": args.width, "height": int(height) + 40})
            page.wait_for_timeout(600)
            bottom = page.evaluate(
                "() => document.querySelectorAll('.js-plotly-plot')"
                "[document.querySelectorAll('.js-plotly-plot').length > 1 ? 1 : 0]"
                ".getBoundingClientRect().bottom"
            )
            clip_height = min(int(bottom) + 24, int(height) + 40)
            target = args.out / name
            page.screenshot(
                path=str(target),
                clip={"x": 0, "y": 0, "width": args.width, "height": clip_height},
            )
            print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
