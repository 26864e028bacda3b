"""Built tables kept on disk between processes: written atomically, checked on every read.

A value is stored with ``marshal`` (built-in types only: nothing is executed on load) behind a
magic line and the SHA-256 of the payload. A file that is absent, truncated, of another format or
corrupt reads as None, and the caller builds the value again; a directory that cannot be written
only costs the next process the same build. Nothing here ever changes a result.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from pathlib import Path
from typing import Any, Final

_MAGIC: Final = b"ctxviz-table 1\n"
_DIGEST_BYTES: Final = 32


def cache_root() -> Path | None:
    """$XDG_CACHE_HOME/ctxviz (~/.cache/ctxviz by default), as for the count_tokens cache; None
    when there is no home directory to put it in."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "ctxviz"


def read(path: Path | None) -> object | None:
    """The value stored at ``path``; None if it is missing or does not check out."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST_BYTES
    if not data.startswith(_MAGIC) or len(data) < head:
        return None
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).digest() != data[len(_MAGIC) : head]:
        return None
    try:
        value: object = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    return value


def write(path: Path | None, value: Any) -> bool:
    """Store ``value`` at ``path`` atomically (a temporary file renamed over it); False if there is
    no cache or its directory cannot be written."""
    if path is None:
        return False
    payload = marshal.dumps(value)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_MAGIC + hashlib.sha256(payload).digest())
                f.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True
