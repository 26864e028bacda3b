"""Two users of one real server, truly at the same time: two browser contexts (two sessions,
two websockets) upload different transcripts in the same instant and walk the pages in lockstep,
each click sent before either page is awaited, so both scripts run on the server concurrently.
Each sees only its own file name, request count and prompt text, on every page.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.safety._browser import ARGS, CHROMIUM, ROOT, TIMEOUT_MS, ready

pytestmark = pytest.mark.browser

SAMPLES = ROOT / "sample_conversations"
USERS = {
    "alice": ("alice_chat.jsonl", SAMPLES / "thinking_chat.jsonl"),
    "bob": ("bob_tools.jsonl", SAMPLES / "openai_tool_calls.jsonl"),
}
LINKS = ("Timeline", "Inspector", "Cost", "Overview")


def _own_text(user: str) -> str:
    import re

    import ctxviz

    conv = ctxviz.load(USERS[user][1])
    # the first prompt: the Inspector shows it on its first page of blocks
    prompt = next(m for m in conv.messages if m.role == "user" and not m.is_tool_results_only)
    text = next(b.text for b in prompt.content if getattr(b, "text", ""))  # type: ignore[attr-defined]
    return str(re.findall(r"[A-Za-z0-9 ,.]{25,}", text)[0][:40])


def test_two_sessions_on_one_server_see_only_their_own_upload(server: str) -> None:
    from playwright.sync_api import sync_playwright

    texts = {u: _own_text(u) for u in USERS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pages: dict[str, Any] = {}
        try:
            for user in USERS:
                ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
                pages[user] = ctx.new_page()
                pages[user].goto(server)
            for page in pages.values():
                ready(page)
            for user, page in pages.items():  # both uploads sent before either is awaited
                name, path = USERS[user]
                page.locator(
                    "[data-testid=stSidebar] input[type=file][accept*='.jsonl']"
                ).set_input_files(
                    {"name": name, "mimeType": "application/json", "buffer": path.read_bytes()}
                )
            for user, page in pages.items():
                page.wait_for_function(
                    "n => [...document.querySelectorAll('[data-testid=stSidebar] input')]"
                    ".some(e => e.value === 'Uploaded: ' + n)",
                    arg=USERS[user][0],
                    timeout=TIMEOUT_MS,
                )
            for link in (*LINKS, *LINKS):
                for page in pages.values():  # both clicks sent before either page is awaited
                    page.locator("[data-testid=stSidebar]").get_by_role("link", name=link).click()
                for user, page in pages.items():
                    # the new page's address first: the script may not have started yet
                    page.wait_for_url(lambda url, link=link: _on(url, link), timeout=TIMEOUT_MS)
                    ready(page)
                    other = next(u for u in USERS if u != user)
                    body = page.locator("body").inner_text()
                    assert page.locator("[data-testid=stException]").count() == 0, (user, link)
                    assert f"Uploaded: {USERS[user][0]}" in _sidebar_value(page), (user, link)
                    assert USERS[other][0] not in body and texts[other] not in body, (user, link)
                    if link == "Inspector":  # its first page of blocks
                        blocks = page.locator('input[type=range][aria-label="Blocks from"]')
                        blocks.first.focus()
                        page.keyboard.press("Home")
                        page.wait_for_function(
                            "t => document.body.innerText.includes(t)",
                            arg=texts[user],
                            timeout=TIMEOUT_MS,
                        )
                        assert texts[other] not in page.locator("body").inner_text(), user
        finally:
            browser.close()


def _on(url: str, link: str) -> bool:
    """Whether ``url`` is the page the sidebar link ``link`` opens (Overview: the app's root)."""
    from urllib.parse import urlparse

    path = urlparse(url).path.rstrip("/")
    return path == "" if link == "Overview" else path.endswith("/" + link)


def _sidebar_value(page: Any) -> str:
    field = page.locator('[data-testid=stSidebar] input[aria-label="Bundled sample or your file"]')
    return str(field.first.input_value())
