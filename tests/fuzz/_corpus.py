"""Seed transcripts for the fuzz suite: the bundled samples and the real ones in ../shared.

Seeds are bytes as a user would upload them, plus the decompressed text of compressed files so
that mutations reach the parsers and not only the decompressors. Large logs are cut to a prefix
(whole lines) so that a mutation case stays well under a second; the full files are exercised
unmutated by ``test_seeds_load_and_simulate``.
"""

from __future__ import annotations

import io
import lzma
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "sample_conversations"
SHARED = ROOT.parent / "shared" / "samples"
SHARED_MISSING = (
    f"real sample transcripts not found at {SHARED} (../shared/samples beside the repo)"
)

Kind = Literal["json", "jsonl", "yaml", "binary"]

PREFIX_BYTES = 200_000
"""A mutation seed keeps whole lines up to about this many bytes (the history repeats in logs)."""


@dataclass(frozen=True, slots=True)
class Seed:
    name: str
    data: bytes
    kind: Kind


def _kind(name: str, data: bytes) -> Kind:
    if name.endswith((".xz", ".zip", ".gz")):
        return "binary"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".jsonl"):
        return "jsonl"
    return "json"


def _prefix(data: bytes, kind: Kind) -> bytes:
    """Whole JSONL lines up to PREFIX_BYTES (at least three lines); other kinds are kept whole."""
    if kind != "jsonl" or len(data) <= PREFIX_BYTES:
        return data
    out: list[bytes] = []
    size = 0
    for line in data.splitlines(keepends=True):
        if size + len(line) > PREFIX_BYTES and len(out) >= 3:
            break
        out.append(line)
        size += len(line)
    return b"".join(out)


@cache
def bundled_seeds(*, full: bool = False) -> tuple[Seed, ...]:
    """The bundled samples: each file, and the text inside each compressed one."""
    out: list[Seed] = []
    for p in sorted(BUNDLED.iterdir()):
        if not p.is_file() or p.suffix in (".py", ".md"):
            continue
        raw = p.read_bytes()
        kind = _kind(p.name, raw)
        out.append(Seed(p.name, raw, kind))
        if p.name.endswith(".xz"):
            inner = lzma.decompress(raw)
            name = p.name.removesuffix(".xz")
            out.append(Seed(name, inner if full else _prefix(inner, "jsonl"), "jsonl"))
        elif p.name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                for info in zf.infolist():
                    if info.filename.endswith(".jsonl"):
                        inner = zf.read(info)
                        seed = inner if full else _prefix(inner, "jsonl")
                        out.append(Seed(f"{p.name}/{info.filename}", seed, "jsonl"))
    return tuple(s if full else Seed(s.name, _prefix(s.data, s.kind), s.kind) for s in out)


@cache
def shared_seeds(*, full: bool = False) -> tuple[Seed, ...]:
    """The real samples of ../shared/samples (empty when the folder is absent)."""
    if not SHARED.is_dir():
        return ()
    out: list[Seed] = []
    for p in sorted(SHARED.rglob("*")):
        if not p.is_file() or p.suffix not in (".jsonl", ".yaml", ".json"):
            continue
        raw = p.read_bytes()
        kind = _kind(p.name, raw)
        if p.name.endswith(".meta.json"):
            continue
        name = str(p.relative_to(SHARED))
        out.append(Seed(name, raw if full else _prefix(raw, kind), kind))
    return tuple(out)
