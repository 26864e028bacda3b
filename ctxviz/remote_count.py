"""Optional exact counts from the real ``POST /v1/messages/count_tokens``, cached on disk.

The API key comes from the ``api_key`` argument or ``ANTHROPIC_API_KEY`` (or lives inside a client
that is passed in). It is never written anywhere by this module: the disk cache holds only a hash of
the request and the API's answer, and errors are re-raised as ``RemoteCountError`` without the SDK
exception attached (which carries the request and so its headers), with the key redacted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import anthropic

# Request fields that change a count; the rest of a Messages request (max_tokens, stream,
# temperature, metadata, ...) is dropped before the call and from the cache key.
COUNTED_FIELDS: Final = (
    "model",
    "system",
    "tools",
    "messages",
    "context_management",
    "tool_choice",
    "thinking",
    "mcp_servers",
    "output_config",
    "cache_control",
    "compaction",
)
# Fields that only the beta endpoint accepts.
_BETA_FIELDS: Final = ("context_management", "mcp_servers", "compaction")
CONTEXT_MANAGEMENT_BETA: Final = "context-management-2025-06-27"
COMPACT_BETA: Final = "compact-2026-01-12"
ON_DEMAND_COMPACT_BETA: Final = "compact-2026-09-04"


class RemoteCountError(RuntimeError):
    """count_tokens could not be answered (no key, rejected key, bad request, network)."""


def default_cache_dir() -> Path:
    """Where counts are cached when no cache_dir is given: $XDG_CACHE_HOME/ctxviz/count_tokens."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ctxviz" / "count_tokens"


def request_key(request: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the counted fields of a request (and its betas)."""
    body = _counted_body(request)
    betas = _betas(request, body)
    canonical = json.dumps(
        {"body": body, "betas": betas},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ApiTokenCounter:
    """Counts a request body with the real API, once per distinct request (disk-cached)."""

    def __init__(
        self,
        client: anthropic.Anthropic | None = None,
        cache_dir: Path | None = None,
        *,
        api_key: str | None = None,
    ) -> None:
        if client is None:
            key = api_key or os.environ.get("ANTHROPIC_API_KEY")
            if not key:
                raise RemoteCountError(
                    "no Anthropic API key: set ANTHROPIC_API_KEY or pass api_key= or client="
                )
            client = anthropic.Anthropic(api_key=key)
        self._client = client
        self._secret = api_key or getattr(client, "api_key", None) or ""
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.calls = 0  # requests actually sent to the API

    def __repr__(self) -> str:
        return f"ApiTokenCounter(cache_dir={str(self.cache_dir)!r}, calls={self.calls})"

    def count(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The API's answer for ``request``: {"input_tokens": n[, "context_management": {...}]}."""
        key = request_key(request)
        path = self.cache_dir / f"{key}.json"
        cached = _read(path)
        if cached is not None:
            return cached
        answer = self._call(request)
        _write(path, {"request_sha256": key, "response": answer})
        return answer

    def input_tokens(self, request: Mapping[str, Any]) -> int:
        """Just the ``input_tokens`` of :meth:`count`."""
        tokens: int = self.count(request)["input_tokens"]
        return tokens

    def _call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        body = _counted_body(request)
        betas = _betas(request, body)
        self.calls += 1
        try:
            if betas or any(field in body for field in _BETA_FIELDS):
                beta_result = self._client.beta.messages.count_tokens(**body, betas=betas)
                return beta_result.model_dump(mode="json", exclude_none=True)
            result = self._client.messages.count_tokens(**body)
            return result.model_dump(mode="json", exclude_none=True)
        except anthropic.APIStatusError as err:
            problem = _describe_status(err)
        except anthropic.APIConnectionError as err:
            kind = "timed out" if isinstance(err, anthropic.APITimeoutError) else "network error"
            problem = f"count_tokens could not reach the Anthropic API ({kind}: {err.message})"
        except anthropic.AnthropicError as err:
            problem = f"count_tokens failed: {type(err).__name__}: {err}"
        # Raised outside the except blocks so the SDK exception, which holds the request and its
        # headers, is not chained onto ours.
        raise RemoteCountError(self._redact(problem))

    def _redact(self, message: str) -> str:
        return message.replace(self._secret, "[redacted]") if self._secret else message


def _counted_body(request: Mapping[str, Any]) -> dict[str, Any]:
    missing = [field for field in ("model", "messages") if field not in request]
    if missing:
        raise RemoteCountError(f"count_tokens request lacks {', '.join(missing)}")
    return {field: request[field] for field in COUNTED_FIELDS if request.get(field) is not None}


def _betas(request: Mapping[str, Any], body: Mapping[str, Any]) -> list[str]:
    """Betas the request asks for, plus those its fields need; empty means the plain endpoint."""
    betas = list(request.get("betas") or ())
    needed: list[str] = []
    if "context_management" in body:
        needed.append(CONTEXT_MANAGEMENT_BETA)
        edits = body["context_management"].get("edits") or ()
        if any(str(edit.get("type", "")).startswith("compact_") for edit in edits):
            needed.append(COMPACT_BETA)
    if "compaction" in body:
        needed.append(ON_DEMAND_COMPACT_BETA)
    return betas + [beta for beta in needed if beta not in betas]


def _describe_status(err: anthropic.APIStatusError) -> str:
    detail = ""
    body = err.body
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            detail = f"{error.get('type', '')}: {error.get('message', '')}".strip(": ")
    detail = detail or err.message
    if err.status_code == 401:
        return (
            f"count_tokens was refused: the Anthropic API key was rejected (HTTP 401, {detail}); "
            "check ANTHROPIC_API_KEY"
        )
    return f"count_tokens failed with HTTP {err.status_code} ({detail})"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    response = stored.get("response") if isinstance(stored, dict) else None
    if isinstance(response, dict) and isinstance(response.get("input_tokens"), int):
        return response
    return None


def _write(path: Path, payload: Mapping[str, Any]) -> None:
    """Write atomically, so a concurrent reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
