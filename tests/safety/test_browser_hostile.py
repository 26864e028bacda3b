"""A hostile transcript in a real browser: no script runs and no request leaves the machine.

``streamlit run app.py`` headless on a free port; Playwright drives Debian's chromium. The page
records every request (and websocket) it makes; the hostile Claude Code session is uploaded (its
file name hostile too), every page is visited through the sidebar, the Inspector's blocks are
opened, the sub-agent chain is picked, and an unreadable upload shows its error. Then: every
request went to 127.0.0.1, ``window.__pwned`` is unset in every frame, no dialog opened, and the
DOM holds no element the payload would have created — while the payload is visible as text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from tests.safety import _hostile
from tests.safety._browser import ARGS, ARTIFACTS, CHROMIUM, LOCAL, TIMEOUT_MS, ready

pytestmark = pytest.mark.browser

PAGE_LINKS = ("Timeline", "Thinking", "Context editing", "Compaction", "Compare", "Cost",
              "Inspector", "Formats & help", "Overview")  # fmt: skip


def _pwned(page: Any) -> list[str]:
    """Frames where the payload's script ran, and DOM nodes the payload would have created."""
    found = []
    for frame in page.frames:
        try:
            if frame.evaluate("() => window.__pwned !== undefined"):
                found.append(f"window.__pwned set in frame {frame.url}")
            nodes = frame.evaluate(
                """() => [...document.querySelectorAll('img, a, script, style, iframe')]
                    .filter(e => (e.getAttribute('src') || '') === 'x'
                        || (e.getAttribute('src') || '').includes('203.0.113.9')
                        || (e.getAttribute('href') || '').includes('203.0.113.9')
                        || e.hasAttribute('onerror')
                        || (e.textContent || '').includes('__pwned')
                        || (e.textContent || '').includes('203.0.113.9'))
                    .map(e => {
                        const t = e.closest('[data-testid]');
                        const u = t && t.parentElement
                            ? t.parentElement.closest('[data-testid]') : null;
                        return (t ? t.getAttribute('data-testid') : '?') + ' in '
                            + (u ? u.getAttribute('data-testid') : '?') + ' ['
                            + (t ? t.innerText.slice(0, 80) : '') + ']: '
                            + e.outerHTML.slice(0, 100);
                    })"""
            )
            found += [f"element in {urlparse(frame.url).path}: {n}" for n in nodes]
        except Exception as err:  # a frame that went away while we looked
            if "detached" not in str(err) and "destroyed" not in str(err):
                raise
    return found


def test_hostile_transcript_runs_no_script_and_makes_no_outside_request(server: str) -> None:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: requests.append(ws.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(server)
            ready(page)
            upload = page.locator("[data-testid=stSidebar] input[type=file][accept*='.jsonl']")
            hostile_zip = {
                "name": _hostile.FILE_NAME,
                "mimeType": "application/zip",
                "buffer": _hostile.claude_code_zip(),
            }
            upload.set_input_files(hostile_zip)
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=stSidebar] input')]"
                ".some(e => e.value.startsWith('Uploaded: '))",
                timeout=TIMEOUT_MS,
            )
            ready(page)
            visited = 0
            for name in PAGE_LINKS:
                page.locator("[data-testid=stSidebar]").get_by_role("link", name=name).click()
                ready(page)
                assert page.locator("[data-testid=stException]").count() == 0, name
                if name == "Inspector":
                    # open the collapsed blocks (short ones are open already)
                    for details in page.locator("[data-testid=stExpander] details").all()[:12]:
                        if details.get_attribute("open") is None:
                            details.locator("summary").click()
                    ready(page)
                    shown = page.locator("[data-testid=stMain]").inner_text()
                    assert _hostile.SCRIPT in shown and _hostile.LINK in shown  # text, verbatim
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / "safety_hostile_inspector.png"))
                assert _pwned(page) == [], name
                visited += 1
            # The sub-agent chain (its type and description are hostile too).
            page.locator("[data-testid=stSidebar] input[aria-label='Chain']").click()
            page.get_by_role("option").nth(1).click()
            ready(page)
            assert _pwned(page) == []
            # An unreadable upload: its error message quotes the hostile role.
            upload.set_input_files(
                {"name": "broken.json", "mimeType": "application/json", "buffer": _hostile.broken()}
            )
            page.locator("[data-testid=stAlertContentError]").first.wait_for(timeout=TIMEOUT_MS)
            ready(page)
            assert "pwned" in page.locator("[data-testid=stAlertContentError]").first.inner_text()
            assert _pwned(page) == []
            page.wait_for_timeout(1500)  # time for any late image or script fetch
        finally:
            context.close()
            browser.close()
    assert visited == len(PAGE_LINKS)
    assert dialogs == []
    outside = [u for u in requests if urlparse(u).scheme not in ("data", "blob")
               and urlparse(u).hostname not in LOCAL]  # fmt: skip
    assert outside == [], outside
    assert any(urlparse(u).hostname in LOCAL for u in requests)  # the recorder did record
