"""ctxviz.remote_count against a mocked HTTP transport: caching, routing, errors, key hygiene."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ctxviz.remote_count import (
    COMPACT_BETA,
    CONTEXT_MANAGEMENT_BETA,
    ApiTokenCounter,
    RemoteCountError,
    request_key,
)

# The SDK's own HTTP library (httpx, or httpx2 in newer SDKs): take it from its client class.
httpx: Any = importlib.import_module(
    anthropic.DefaultHttpxClient.__mro__[1].__module__.split(".")[0]
)

KEY = "sk-test-very-secret-0123456789"
REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "Hello, world"}],
    "max_tokens": 1024,  # not counted: dropped from the call and from the cache key
}

Handler = Callable[[Any], Any]


def make_counter(handler: Handler, cache_dir: Path) -> tuple[ApiTokenCounter, list[Any]]:
    """A counter whose client talks to ``handler``; returns it and the list of requests seen."""
    seen: list[Any] = []

    def recording(request: Any) -> Any:
        seen.append(request)
        return handler(request)

    client = anthropic.Anthropic(
        api_key=KEY,
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(recording)),
    )
    return ApiTokenCounter(client, cache_dir), seen


def ok(answer: dict[str, Any]) -> Handler:
    return lambda request: httpx.Response(200, json=answer)


def all_text(directory: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in directory.rglob("*") if p.is_file())


def test_count_then_cache_hit_avoids_second_call(tmp_path: Path) -> None:
    counter, seen = make_counter(ok({"input_tokens": 42}), tmp_path)
    assert counter.count(REQUEST) == {"input_tokens": 42}
    assert counter.input_tokens(dict(REQUEST, max_tokens=5)) == 42  # same counted fields
    assert len(seen) == 1 and counter.calls == 1
    sent = seen[0]
    assert sent.url.path == "/v1/messages/count_tokens"
    assert json.loads(sent.content) == {k: v for k, v in REQUEST.items() if k != "max_tokens"}
    # The SDK did authenticate the call (x-api-key, or a bearer token in newer SDKs).
    assert KEY in sent.headers.get("x-api-key", "") + sent.headers.get("authorization", "")

    # A fresh counter (new process, say) over the same directory reads the disk cache.
    again, seen_again = make_counter(ok({"input_tokens": 999}), tmp_path)
    assert again.count(REQUEST) == {"input_tokens": 42}
    assert seen_again == []


def test_different_requests_are_different_cache_entries(tmp_path: Path) -> None:
    answers = iter([{"input_tokens": 10}, {"input_tokens": 11}])
    counter, seen = make_counter(lambda request: httpx.Response(200, json=next(answers)), tmp_path)
    other = dict(REQUEST, messages=[{"role": "user", "content": "Hello, world!"}])
    assert counter.input_tokens(REQUEST) == 10
    assert counter.input_tokens(other) == 11
    assert len(seen) == 2
    assert request_key(REQUEST) != request_key(other)
    assert request_key(REQUEST) == request_key(dict(reversed(list(REQUEST.items()))))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{request_key(r)}.json" for r in (REQUEST, other)
    )


def test_context_management_goes_to_the_beta_endpoint(tmp_path: Path) -> None:
    answer = {"input_tokens": 100, "context_management": {"original_input_tokens": 250}}
    counter, seen = make_counter(ok(answer), tmp_path)
    edits = [{"type": "clear_tool_uses_20250919"}, {"type": "compact_20260112"}]
    request = dict(REQUEST, context_management={"edits": edits})
    assert counter.count(request) == answer
    counter.count(REQUEST)
    beta, plain = seen
    assert beta.url.path == plain.url.path == "/v1/messages/count_tokens"
    assert {CONTEXT_MANAGEMENT_BETA, COMPACT_BETA} <= set(beta.headers["anthropic-beta"].split(","))
    assert CONTEXT_MANAGEMENT_BETA not in plain.headers.get("anthropic-beta", "")
    assert json.loads(beta.content)["context_management"] == {"edits": edits}
    assert "context_management" not in json.loads(plain.content)
    assert request_key(request) != request_key(REQUEST)


def test_key_never_written_to_cache(tmp_path: Path) -> None:
    counter, _ = make_counter(ok({"input_tokens": 7}), tmp_path)
    counter.count(REQUEST)
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    stored = json.loads(files[0].read_text(encoding="utf-8"))
    assert stored == {"request_sha256": request_key(REQUEST), "response": {"input_tokens": 7}}
    assert KEY not in all_text(tmp_path)
    assert KEY not in repr(counter)


def test_rejected_key_raises_clear_error_without_the_key(tmp_path: Path) -> None:
    def unauthorized(request: Any) -> Any:
        body = {
            "type": "error",
            "error": {"type": "authentication_error", "message": f"invalid x-api-key {KEY}"},
        }
        return httpx.Response(401, json=body)

    counter, _ = make_counter(unauthorized, tmp_path)
    with pytest.raises(RemoteCountError) as info:
        counter.count(REQUEST)
    message = str(info.value)
    assert "401" in message and "API key was rejected" in message
    assert KEY not in message and KEY not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert not list(tmp_path.iterdir())  # failures are not cached


def test_server_error_names_the_status(tmp_path: Path) -> None:
    counter, _ = make_counter(
        lambda r: httpx.Response(
            400,
            json={"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}},
        ),
        tmp_path,
    )
    with pytest.raises(RemoteCountError, match=r"HTTP 400 \(invalid_request_error: bad\)"):
        counter.count(REQUEST)


def test_network_error_raises_clear_error_without_the_key(tmp_path: Path) -> None:
    def down(request: Any) -> Any:
        raise httpx.ConnectError(f"connection refused while sending {KEY}", request=request)

    counter, _ = make_counter(down, tmp_path)
    with pytest.raises(RemoteCountError, match="could not reach the Anthropic API") as info:
        counter.count(REQUEST)
    assert KEY not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(RemoteCountError, match="ANTHROPIC_API_KEY"):
        ApiTokenCounter(cache_dir=tmp_path)


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    counter = ApiTokenCounter(cache_dir=tmp_path)
    assert KEY not in repr(counter)
    assert counter.cache_dir == tmp_path


def test_request_without_messages_is_rejected_before_any_call(tmp_path: Path) -> None:
    counter, seen = make_counter(ok({"input_tokens": 1}), tmp_path)
    with pytest.raises(RemoteCountError, match="messages"):
        counter.count({"model": "claude-opus-4-7"})
    assert seen == []
