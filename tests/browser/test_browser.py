"""The explorer in a real browser: ``streamlit run app.py`` headless, Playwright driving Debian's
chromium. Every page renders a chart with no exception; settings follow the user across pages and
live in the URL; an upload (good and bad) works; the HTML report opens with the network cut.

Screenshots of every page, in light and dark themes, go to ``test-artifacts/`` (gitignored).
Run alone with ``pytest -m browser``; skipped with its reason where chromium or Playwright is
missing (CI installs chromium).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctxviz_app.serve import served

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 90_000

# (url path, screenshot name): the auto-discovered pages/ folder names each page after its file.
PAGES = (
    ("", "0_overview"),
    ("Timeline", "1_timeline"),
    ("Thinking", "2_thinking"),
    ("Context_editing", "3_context_editing"),
    ("Compaction", "4_compaction"),
    ("Compare", "5_compare"),
    ("Cost", "6_cost"),
    ("Inspector", "7_inspector"),
    ("Formats_and_help", "8_formats_and_help"),
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The app, served headless on a free port."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (CI does)")
    pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is not installed")
    try:
        with served() as url:
            yield url
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (CI does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _ready(page: Any, *, chart: bool = True) -> None:
    """Wait until the script has finished running and (by default) a chart is drawn."""
    page.wait_for_selector(
        "[data-test-script-state=notRunning]", state="attached", timeout=TIMEOUT_MS
    )
    if chart:
        page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
    page.wait_for_timeout(800)  # let plotly finish its layout before a screenshot
    page.wait_for_selector(
        "[data-test-script-state=notRunning]", state="attached", timeout=TIMEOUT_MS
    )


def _screenshot(page: Any, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport first."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stMainBlockContainer], [data-testid=stSidebarContent]'"
        ")].map(e => e.scrollHeight))"
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12_000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(size)


def _input(page: Any, label: str) -> str:
    """The value shown by a sidebar widget (selectboxes show theirs in a combobox input)."""
    field = page.locator(f'[data-testid=stSidebar] input[aria-label="{label}"]')
    return str(field.first.input_value())


def _upload(page: Any, sample: str) -> Any:
    """Upload a bundled sample through the sidebar and wait until it is in use; the uploader."""
    # the transcript's uploader (the model-table one takes .json only)
    upload = page.locator("[data-testid=stSidebar] input[type=file][accept*='.jsonl']")
    upload.set_input_files(str(ROOT / "sample_conversations" / sample))
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=stSidebar] input')]"
        ".some(e => e.value === 'Uploaded: ' + n)",
        arg=sample,
        timeout=TIMEOUT_MS,
    )
    _ready(page)
    return upload


def _no_errors(page: Any) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    errors = page.locator("[data-testid=stAlertContentError]")
    assert errors.count() == 0, errors.all_inner_texts()


# Every y axis: its tick labels' left edge, and its title's left and right edges (px from the
# chart's left edge; the title is drawn rotated, to the left of the labels).
_LEFT_EDGES = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(el => {
  const left = el.querySelector('.main-svg').getBoundingClientRect().left;
  return Object.keys(el._fullLayout).filter(k => /^yaxis[0-9]*$/.test(k)).map(k => {
    const id = el._fullLayout[k]._id;
    const labels = [...el.querySelectorAll('.' + id + 'tick text')].map(
      t => t.getBoundingClientRect().left - left);
    const title = el.querySelector('.g-' + id + 'title text');
    const box = title ? title.getBoundingClientRect() : null;
    return [id, Math.min(...labels), box ? box.left - left : null, box ? box.right - left : null];
  });
})"""


def _labels_inside(page: Any, where: str) -> None:
    """No y tick label or axis title is cut off by the chart's left edge, and no title overlaps
    its labels (the left margin of token axes is set from their labels' widths, not measured by
    plotly: figures/_traces.py)."""
    edges = page.evaluate(_LEFT_EDGES)
    assert edges, where
    for axis, labels, title_left, title_right in edges:
        assert labels >= 0, (where, axis, edges)
        if title_left is not None:
            assert title_left >= 0 and title_right <= labels, (where, axis, edges)


# Pairs (chart, legend entry, label) where a legend's entry overlaps an x tick label or x title.
_LEGEND_OVERLAPS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((el, i) => {
  const box = t => t.getBoundingClientRect();
  const entries = [...el.querySelectorAll('.legend .legendtext')].map(box);
  const labels = [...el.querySelectorAll('.xaxislayer-above text, [class^=g-x] text')]
    .filter(t => t.textContent).map(t => [t.textContent, box(t)]);
  const meet = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  return entries.flatMap(
    (e, j) => labels.filter(([, r]) => meet(e, r)).map(([text]) => [i, j, text]));
})"""


# Charts whose margins plotly pushed (set, drawn) on some side: a push is made again at every
# redraw and costs a second layout (figures/_traces.py sets every margin to what it needs).
_PUSHED = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(el => {
  const set = el._fullLayout.margin, drawn = el._fullLayout._size;
  return ['t', 'b', 'l', 'r'].filter(k => drawn[k] !== set[k]).map(
    k => [el.layout.title.text.slice(0, 40), k, set[k], drawn[k]]);
})"""


def _legends_clear(page: Any, where: str) -> None:
    """No legend entry lies on an x tick label or an x axis title."""
    assert not page.evaluate(_LEGEND_OVERLAPS), where


@pytest.mark.parametrize("width", [900, 1200])
def test_a_legend_never_covers_the_scale(server: str, browser: Any, width: int) -> None:
    """On narrower pages legends wrap onto more rows, which shrinks the plot they are placed
    under (in fractions of its height); 1440 px is checked with every page's chart."""
    page = browser.new_page(viewport={"width": width, "height": 1400})
    page.set_default_timeout(TIMEOUT_MS)
    try:
        for path, name in PAGES:
            page.goto(f"{server}/{path}")
            _ready(page)
            _legends_clear(page, f"{name} at {width} px")
    finally:
        page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_renders_a_chart(server: str, browser: Any, scheme: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)  # goto included: CI may be loaded
    try:
        for path, name in PAGES:
            page.goto(f"{server}/{path}")
            _ready(page)
            _no_errors(page)
            assert page.locator(".js-plotly-plot").count() >= 1
            _labels_inside(page, name)
            _legends_clear(page, name)
            assert not page.evaluate(_PUSHED), name
            _screenshot(page, f"{name}_{scheme}")
    finally:
        context.close()


def test_labels_fit_on_token_axes_up_to_a_million(server: str, browser: Any) -> None:
    """Token axes drawn up to the 1M window ("1,000,000" labels) keep their labels and titles
    inside the chart."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    millions = 0
    try:
        for path, name in PAGES[:7]:
            page.goto(f"{server}/{path}?window=1000000&full_window=true")
            _ready(page)
            _no_errors(page)
            _labels_inside(page, name)
            millions += page.locator(".ytick text:has-text('1,000,000')").count()
        assert millions, "no 1,000,000 label drawn"
    finally:
        page.close()


def test_settings_follow_the_user_and_live_in_the_url(server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)  # goto included: CI may be loaded
    try:
        page.goto(f"{server}/?source=agent_tool_loop&window=150000")
        _ready(page)
        assert _input(page, "Bundled sample or your file").startswith("Agent tool loop")
        assert _input(page, "Context window (tokens)") == "150000"
        # Follow the sidebar's page link: the transcript and window stay, and the URL says so.
        page.locator("[data-testid=stSidebar]").get_by_role("link", name="Compaction").click()
        page.wait_for_url("**/Compaction**", timeout=TIMEOUT_MS)
        _ready(page)
        assert _input(page, "Bundled sample or your file").startswith("Agent tool loop")
        assert _input(page, "Context window (tokens)") == "150000"
        page.wait_for_function(
            "() => location.search.includes('source=agent_tool_loop')"
            " && location.search.includes('window=150000')",
            timeout=TIMEOUT_MS,
        )
        # A shared link restores a page's own setting too.
        page.goto(f"{server}/Compaction?source=agent_tool_loop&cp_mode=sdk&cp_threshold=60000")
        _ready(page)
        assert "context_token_threshold" in page.locator("[data-testid=stMain]").inner_text()
        _no_errors(page)
    finally:
        page.close()


def test_upload_good_and_bad_files(server: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)  # goto included: CI may be loaded
    try:
        page.goto(f"{server}/Timeline")
        _ready(page)
        upload = _upload(page, "thinking_chat.jsonl")
        _no_errors(page)
        bad = tmp_path / "broken.jsonl"
        bad.write_text('{"type": "user"}\n{not json\n', encoding="utf-8")
        upload.set_input_files(str(bad))
        error = page.locator("[data-testid=stAlertContentError]")
        error.wait_for(timeout=TIMEOUT_MS)
        text = error.first.inner_text()
        assert "broken.jsonl" in text and "line" in text
        assert page.locator("[data-testid=stException]").count() == 0
        _screenshot(page, "9_bad_upload")
    finally:
        page.close()


def test_a_slider_move_then_another_page_keeps_the_upload(server: str, browser: Any) -> None:
    """A page body is a fragment: after a move reruns it alone, the next page opened still has
    the upload and the settings (Streamlit dropped the sidebar widgets' state at the end of a
    fragment's rerun, and the next page fell back to the bundled sample)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)

    def source() -> str:
        return _input(page, "Bundled sample or your file")

    try:
        page.goto(f"{server}/Timeline")
        _ready(page)
        _upload(page, "thinking_chat.jsonl")
        for link, slider in (("Timeline", "Requests shown — start"), ("Inspector", "Request")):
            page.locator("[data-testid=stSidebar]").get_by_role("link", name=link).click()
            _ready(page)
            moved = page.locator(f'[data-testid=stMain] input[type=range][aria-label="{slider}"]')
            before = moved.first.input_value()
            moved.first.focus()
            page.keyboard.press("ArrowLeft" if link == "Inspector" else "ArrowRight")
            page.wait_for_function(
                "([s, v]) => document.querySelector(`input[type=range][aria-label='${s}']`)"
                ".value !== v",
                arg=[slider, before],
            )
            _ready(page)
            page.locator("[data-testid=stSidebar]").get_by_role("link", name="Cost").click()
            _ready(page)
            _no_errors(page)
            assert source() == "Uploaded: thinking_chat.jsonl", (link, source())
    finally:
        page.close()


def test_report_opens_offline(browser: Any, tmp_path: Path) -> None:
    import ctxviz
    from ctxviz import report

    conv = ctxviz.load(ROOT / "sample_conversations" / "agent_tool_loop.jsonl.xz")
    out = report.write(tmp_path / "report.html", ctxviz.simulate(conv), title="offline")
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)  # goto included: CI may be loaded
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    try:
        page.goto(out.as_uri())
        page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
        assert page.locator(".js-plotly-plot").count() >= 4
        assert all(u.startswith(("file:", "data:", "blob:")) for u in requested), requested
    finally:
        context.close()


def test_clicking_a_bar_selects_the_request(server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)  # goto included: CI may be loaded
    try:
        page.goto(f"{server}/Inspector?source=agent_tool_loop")
        _ready(page)
        picker = page.locator(".js-plotly-plot").first
        bar = picker.locator(".barlayer .point").nth(5)
        bar.click(force=True)
        page.get_by_text("Request 5: the prompt as the model saw it").wait_for(timeout=TIMEOUT_MS)
        _ready(page)
        _no_errors(page)
        assert "request=5" in page.evaluate("() => location.search")
    finally:
        page.close()


def test_a_slider_move_reruns_the_page_body_only(server: str, browser: Any) -> None:
    """The Context editing page's body is a fragment: moving its trigger slider redraws the chart
    and updates the URL, and the server sends nothing of the sidebar again."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)  # goto included: CI may be loaded
    frames: list[bytes] = []

    def keep(payload: Any) -> None:
        frames.append(payload.encode() if isinstance(payload, str) else bytes(payload))

    page.on("websocket", lambda ws: ws.on("framereceived", keep))
    try:
        page.goto(f"{server}/Context_editing?source=agent_tool_loop&ce_tools=true")
        _ready(page)
        legend = page.locator(".js-plotly-plot .legendtext")
        assert any("trigger (100,000)" in t for t in legend.all_text_contents())
        frames.clear()
        page.locator('input[type=range][aria-label="trigger.value (input tokens)"]').focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot .legendtext')]"
            ".some(e => e.textContent.includes('trigger (105,000)'))",
            timeout=TIMEOUT_MS,
        )
        _ready(page)
        _no_errors(page)
        assert "ce_trigger_tokens=105000" in page.evaluate("() => location.search")
        sent = b"".join(frames)
        assert b"105,000" in sent  # the chart was sent again
        assert b"Bundled sample or your file" not in sent  # the sidebar was not
        assert page.locator("[data-testid=stSidebar] [data-testid=stFileUploader]").count() >= 1
        # the export tabs are built when opened: a click shows the SDK call with the new value
        assert "import anthropic" not in page.locator("[data-testid=stMain]").inner_text()
        page.get_by_role("tab", name="Python SDK call").click()
        page.get_by_text("import anthropic").first.wait_for(timeout=TIMEOUT_MS)
        _ready(page)
        _no_errors(page)
        program = page.locator("[data-testid=stCode]", has_text="import anthropic").first
        assert '"value": 105000' in program.inner_text()
    finally:
        page.close()
