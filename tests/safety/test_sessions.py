"""Several users of one server never see each other's data.

1. No module-level mutable state in the app (app.py, pages/, ctxviz_app/): no module-level list,
   dict, set or other container that any code mutates, and no ``global`` statement.
2. Two sessions in one process (as on one server, sharing its caches) upload different
   transcripts at the same moment and walk the pages concurrently: each sees only its own upload
   (file name, request count, the blocks' text), on every page and every round.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.safety._apptest import PAGES, ROOT, elements, page

APP_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")),
             *sorted((ROOT / "ctxviz_app").glob("*.py"))]  # fmt: skip
MUTABLE_CALLS = frozenset(
    {"list", "dict", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque"}
)
MUTATING_METHODS = frozenset(
    {"append", "extend", "insert", "update", "add", "setdefault", "pop", "popitem", "clear",
     "remove", "discard", "__setitem__", "appendleft", "sort", "reverse"}
)  # fmt: skip


def _module_containers(tree: ast.Module) -> dict[str, int]:
    """Names bound at module level to a mutable container, with their line."""
    out: dict[str, int] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        mutable = isinstance(
            value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp
        ) or (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name | ast.Attribute)
            and (value.func.id if isinstance(value.func, ast.Name) else value.func.attr)
            in MUTABLE_CALLS
        )
        if mutable:
            out.update({t.id: node.lineno for t in targets if isinstance(t, ast.Name)})
    return out


def _mutations(tree: ast.Module, names: dict[str, int]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if (
                isinstance(base, ast.Name)
                and base.id in names
                and node.func.attr in MUTATING_METHODS
            ):
                found.append(f"line {node.lineno}: {base.id}.{node.func.attr}(...)")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript | ast.Attribute) and isinstance(t.value, ast.Name):
                    if t.value.id in names:
                        found.append(f"line {node.lineno}: {t.value.id}[...] changed")
                elif isinstance(node, ast.AugAssign) and isinstance(t, ast.Name) and t.id in names:
                    found.append(f"line {node.lineno}: {t.id} += ...")
    return found


def test_no_module_level_mutable_state_in_the_app() -> None:
    problems = []
    checked = 0
    for path in APP_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _module_containers(tree)
        checked += len(names)
        problems += [f"{path.relative_to(ROOT)} {p}" for p in _mutations(tree, names)]
    assert not problems, problems


def test_the_state_check_catches_shared_state() -> None:
    bad = ast.parse("SEEN = []\ncache = {}\ndef f(x):\n    SEEN.append(x)\n    cache[x] = 1\n")
    names = _module_containers(bad)
    assert set(names) == {"SEEN", "cache"}
    assert len(_mutations(bad, names)) == 2


# ---- two concurrent sessions -------------------------------------------------------------------

SAMPLES = ROOT / "sample_conversations"
USERS = {
    "alice": ("alice_chat.jsonl", SAMPLES / "thinking_chat.jsonl"),
    "bob": ("bob_tools.jsonl", SAMPLES / "openai_tool_calls.jsonl"),
}


def _fingerprint(path: Path) -> tuple[int, str]:
    """The transcript's request count and a text only it holds (from the first user prompt, which
    the Inspector's first page of blocks shows; plain letters, as protobuf's text format escapes
    quotes and non-ASCII)."""
    import ctxviz

    conv = ctxviz.load(path)
    user = next(m for m in conv.messages if m.role == "user" and not m.is_tool_results_only)
    last = next(b for b in user.content if getattr(b, "text", ""))
    return len(conv.requests), re.findall(r"[A-Za-z0-9 ]{20,}", last.text)[0][:40]  # type: ignore[attr-defined]


class _Session:
    """One user's AppTest session: its upload, and what it must (not) see."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.name, self.path = USERS[user]
        self.other = next(n for u, (n, _) in USERS.items() if u != user)
        self.requests, self.own_text = _fingerprint(self.path)
        self.other_text = _fingerprint(next(p for u, (_, p) in USERS.items() if u != user))[1]
        self.at = page("app.py")
        self.at.run()
        self.pages_checked = 0

    def upload(self) -> None:
        self.at.file_uploader[0].set_value((self.name, self.path.read_bytes(), "application/json"))

    def check(self, target: str) -> None:
        at, who = self.at, (self.user, target)
        assert not at.exception, (who, [e.value for e in at.exception])
        text = "\n".join(str(p) for _, p in elements(at))
        source = at.sidebar.selectbox(key="source")
        assert source.value == "upload", (who, source.value)
        assert f"Uploaded: {self.name}" in source.options, (who, source.options)
        assert f"Uploaded: {self.other}" not in source.options, (who, "sees the other's file")
        assert self.other not in text and self.other_text not in text, (who, "sees other data")
        if target == "app.py":
            assert at.metric[0].value == f"{self.requests:,}", (who, at.metric[0].value)
        if target == "7_Inspector.py":
            at.slider(key="insp_first").set_value(0).run()  # the first page of blocks
            assert not at.exception, (who, [e.value for e in at.exception])
            text = "\n".join(str(p) for _, p in elements(at))
            assert self.own_text in text, (who, "its own prompt is shown")
        self.pages_checked += 1


@pytest.mark.slow
def test_two_concurrent_sessions_see_only_their_own_upload() -> None:
    """Both sessions live at once in one process (sharing the server's caches), their steps
    interleaved: upload, upload, then every page in turn, twice. (AppTest swaps process-wide
    singletons during a run, so runs cannot overlap in threads; the browser test below runs two
    sessions truly in parallel on one server.)"""
    sessions = [_Session(u) for u in USERS]
    for s in sessions:
        s.upload()
    for _ in range(2):
        for target in PAGES:
            for s in sessions:
                s.at.switch_page(target if target == "app.py" else f"pages/{target}")
                s.at.run()
                s.check(target)
    assert [s.pages_checked for s in sessions] == [2 * len(PAGES)] * len(sessions)
