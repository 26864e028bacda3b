"""The specification lives in docs/: code cites it there, and the docs' links resolve.

Comments and docstrings once cited ``../shared/SEMANTICS.md``, ``API.md`` and ``STYLE.md``,
files outside the repository. They now cite ``docs/semantics.md``, ``docs/api.md`` or
``docs/counting.md`` (with a ``#section``); this keeps it so. Paths to the real sample data
(``../shared/samples``, ``../shared/calibration``) that tests and benchmarks read are data, not
citations, and stay allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CODE = ("ctxviz", "ctxviz_app", "pages", "app.py", "bench", "scripts", "tests", "docs", "README.md")
SPEC_CITATION = re.compile(r"SEMANTICS|\bAPI\.md|STYLE\.md|shared/(?!samples|calibration)|§\s?\d")
"""A citation of the spec documents outside the repository, or of their numbered sections."""
DOC_CITATION = re.compile(r"docs/([\w-]+\.md)(?:#([\w-]+))?")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".txt", ".sh", ".cfg", ".yaml", ".yml"}


def _code_files() -> Iterator[Path]:
    for name in CODE:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            text = file.is_file() and file.suffix in TEXT_SUFFIXES
            if text and file != Path(__file__) and not _generated(file):
                yield file


def _generated(file: Path) -> bool:
    """What a run leaves behind, not the project's text: bench/out/ (the peers' installs and
    their output), caches."""
    parts = file.relative_to(ROOT).parts
    return parts[:2] == ("bench", "out") or any(
        p in ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache") for p in parts
    )


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else re.match(r"#{1,6} (.+)", line)
        if match:
            slug = _slug(match.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(markdown: Path) -> Iterator[str]:
    fenced = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced:
            for match in LINK.finditer(line):
                yield match.group(1) or match.group(2)


def _unresolved(base: Path, target: str) -> str | None:
    """Why ``target`` (a relative link or path, maybe with ``#anchor``) does not resolve from
    the folder ``base``, or None when it does."""
    path_part, _, anchor = target.partition("#")
    file = (base / path_part).resolve() if path_part else base
    if path_part and not file.exists():
        return f"{path_part} does not exist"
    if anchor and file.suffix == ".md" and anchor not in _anchors(file):
        return f"{file.name} has no section #{anchor}"
    return None


def test_code_cites_no_spec_outside_the_repository() -> None:
    found = [
        f"{file.relative_to(ROOT)}:{n}: {line.strip()}"
        for file in _code_files()
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        if SPEC_CITATION.search(line)
    ]
    assert not found, "cite docs/semantics.md or docs/api.md instead:\n" + "\n".join(found)


def test_code_citations_of_docs_resolve() -> None:
    bad = [
        f"{file.relative_to(ROOT)}:{n}: docs/{m.group(0)[5:]}: {why}"
        for file in _code_files()
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        for m in DOC_CITATION.finditer(line)
        if (why := _unresolved(DOCS, m.group(1) + (f"#{m.group(2)}" if m.group(2) else "")))
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "markdown", [*sorted(DOCS.glob("*.md")), ROOT / "README.md"], ids=lambda p: p.name
)
def test_relative_links_resolve(markdown: Path) -> None:
    bad = [
        f"{target}: {why}"
        for target in _links(markdown)
        if not re.match(r"[a-z][a-z+.-]*:", target)  # http:, https:, mailto: …
        and (why := _unresolved(markdown.parent, target))
    ]
    assert not bad, f"{markdown.name}: " + "; ".join(bad)


def test_docs_name_the_contract() -> None:
    """The pages the README points to for the rules and the API are there and say what they are."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("docs/semantics.md", "docs/api.md"):
        assert f"]({page})" in readme, f"README does not link {page}"
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    for name in ("models=", "limits=", "claude-trace", "claude_code_microcompact", "reinjected"):
        assert name in api, f"docs/api.md does not document {name}"
    assert "ctxviz.explore" in api


def test_slug_follows_github() -> None:
    assert _slug("Compaction block sent back (`COMPACTION_WRAPPER_TOKENS` = 90)") == (
        "compaction-block-sent-back-compaction_wrapper_tokens--90"
    )
    assert _slug("Client-side compaction (compaction_control)") == (
        "client-side-compaction-compaction_control"
    )
