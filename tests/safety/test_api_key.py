"""An API key in the environment never leaks: not into a cache file on disk, an exception (its
message, repr, traceback or chained causes), a log record (ctxviz's, the SDK's or httpx's, at
DEBUG), the app's URL or page, or an export (CSV, HTML report, JSON, SDK snippet, CLI output).

The key is a fresh ``sk-ant-test-<random>`` in ``ANTHROPIC_API_KEY``. The optional exact counter
(``ctxviz.remote_count``) reads it from there and talks to a local fake API that echoes every
request header back in its error bodies, as a careless proxy might. HOME and XDG_CACHE_HOME
point into the test's folder, which is searched whole at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import secrets
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import ctxviz
from ctxviz import report, snippets
from ctxviz.remote_count import ApiTokenCounter, RemoteCountError

ROOT = Path(__file__).resolve().parents[2]
REQUEST = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    secret = f"sk-ant-test-{secrets.token_hex(20)}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    monkeypatch.setenv("ANTHROPIC_LOG", "debug")  # the SDK's own debug logging, on
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield secret
    leaks = [
        str(p) for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()
    ]
    assert leaks == [], f"the key was written to {leaks}"


class _FakeApi(BaseHTTPRequestHandler):
    mode = "ok"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        echoed = "; ".join(f"{k}: {v}" for k, v in self.headers.items())  # the key among them
        if _FakeApi.mode == "ok":
            code, body = 200, {"input_tokens": 7}
        elif _FakeApi.mode == "401":
            error = {"type": "authentication_error", "message": f"invalid key ({echoed})"}
            code, body = 401, {"type": "error", "error": error}
        else:
            code, body = 400, {"type": "error", "error": {"type": "bad", "message": echoed}}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_FakeApi]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    try:
        yield _FakeApi
    finally:
        server.shutdown()
        server.server_close()
        _FakeApi.mode = "ok"


def _exception_text(err: BaseException) -> str:
    parts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    seen = err.__cause__ or err.__context__
    while seen is not None:
        parts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@contextlib.contextmanager
def _all_logs() -> Iterator[io.StringIO]:
    """Every log record of every logger at DEBUG, formatted with its arguments and exc_info."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def test_exact_counter_keeps_the_key_out_of_cache_errors_and_logs(
    key: str, fake_api: type[_FakeApi]
) -> None:
    with _all_logs() as logs:
        counter = ApiTokenCounter()  # the key from the environment, the default disk cache
        assert counter.count(REQUEST) == {"input_tokens": 7}
        assert counter.count(REQUEST) == {"input_tokens": 7}  # from the disk cache
        assert counter.calls == 1
        cached = list((Path.home().parent / "cache").rglob("*.json"))
        assert cached, "the count was cached on disk (the key must not be in it)"
        errors: list[str] = []
        for mode in ("401", "400"):
            fake_api.mode = mode
            with pytest.raises(RemoteCountError) as info:
                counter.count({**REQUEST, "messages": [{"role": "user", "content": mode}]})
            errors.append(_exception_text(info.value))
        assert "rejected (HTTP 401" in errors[0] and "HTTP 400" in errors[1]
        assert "[redacted]" in errors[0]  # the fake API did echo the key; it was redacted
    text = logs.getvalue()
    assert "count_tokens" in text or "HTTP" in text, "the SDK's debug logging was captured"
    for where, value in [("error", e) for e in errors] + [("log", text), ("repr", repr(counter))]:
        assert key not in value, f"the key is in the {where}"


def test_no_key_and_unreachable_api_errors_do_not_carry_the_key(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # discard port: refused
    import anthropic

    counter = ApiTokenCounter(anthropic.Anthropic(max_retries=0))
    with _all_logs() as logs, pytest.raises(RemoteCountError) as info:
        counter.count(REQUEST)
    assert key not in _exception_text(info.value) and key not in logs.getvalue()
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(RemoteCountError, match="no Anthropic API key") as missing:
        ApiTokenCounter()
    assert key not in _exception_text(missing.value)


def test_exports_and_command_line_never_hold_the_key(
    key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = ctxviz.load(ROOT / "sample_conversations" / "thinking_chat.jsonl")
    cm = {
        "edits": [
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 1}}
        ]
    }
    sim = ctxviz.simulate(conv, context_management=cm)
    exports = {
        "requests.csv": sim.requests.to_csv(index=False),
        "events.csv": sim.events.to_csv(index=False),
        "report.html": report.render(sim, title="t"),
        "context_management.json": snippets.context_management_json(cm),
        "call.py": snippets.python_sdk_call(
            conv.model or "claude-sonnet-4-5", context_management=cm
        ),
    }
    from ctxviz.cli import main

    sample = str(ROOT / "sample_conversations" / "thinking_chat.jsonl")
    for argv in (["summary", sample], ["simulate", sample, "--json"], ["count", sample]):
        main(argv)
    out = capsys.readouterr()
    exports["cli"] = out.out + out.err
    for name, text in exports.items():
        assert key not in text, f"the key is in {name}"
    assert "ANTHROPIC_API_KEY" not in exports["call.py"] or key not in exports["call.py"]


@pytest.mark.slow
def test_the_app_never_shows_the_key_in_its_url_or_page(key: str) -> None:
    """Every page, in AppTest: the URL's query parameters and every element's text."""
    from tests.safety._apptest import PAGES, page, page_text, query_string

    for name in PAGES:
        at = page(name)
        at.query_params["source"] = "thinking_chat"
        at.query_params["model"] = "claude-opus-4-6"
        at.run()
        assert not at.exception, (name, [e.value for e in at.exception])
        text = page_text(at)
        assert "Hello" in text or "thinking" in text.lower(), f"{name}: the page was read"
        assert key not in query_string(at), f"{name}: the key is in the URL"
        assert key not in text, f"{name}: the key is on the page"
