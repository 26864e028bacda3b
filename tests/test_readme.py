"""README's examples are run, and what they print is compared with what README shows.

Each ```console block is a list of ``$ ctxviz …`` commands, each followed by the output README
shows: an excerpt, where a line that is only "…" stands for lines left out. Every other line
README shows must be printed by the command, in the same order (trailing spaces aside), so a
figure that drifts fails here. The ``--json`` example abbreviates its JSON: every
``"key": value`` README shows must be in the printed JSON with that value. The Python block runs
as written (the figure is built, not shown).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

Example = tuple[str, list[str]]
"""A command line and the output lines README shows for it."""


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def console_examples() -> list[Example]:
    examples: list[Example] = []
    for block in _blocks("console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                examples.append((line[2:], []))
            else:
                assert examples, f"README: a console block starts without a command: {line!r}"
                examples[-1][1].append(line)
    return examples


EXAMPLES = console_examples()


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "ctxviz", command
    # README's tables are 100 columns wide; the sample paths resolve through a link in cwd, so
    # `-o report.html` writes into the test's own folder.
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "ctxviz", *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _scalars(value: Any, key: str | None = None) -> Iterator[tuple[str, Any]]:
    """Every (key, scalar) pair of a JSON value, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _scalars(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _scalars(v, key)
    elif key is not None:
        yield key, value


def _check_json(shown: list[str], printed: str) -> None:
    answer = json.loads(printed)
    text = "\n".join(shown)
    top = {k: v for k, v in answer.items() if not isinstance(v, dict | list)}
    where = {
        "top": set(top.items()),
        "summary": set(_scalars(answer["summary"])),
        "first event": set(_scalars(answer["events"][0])) if answer["events"] else set(),
    }
    pairs = re.findall(r'"(\w+)": ("[^"]*"|-?\d[\d.]*|true|false|null)(?=[,}\n])', text)
    assert pairs, "README's JSON example shows no values"
    found = set().union(*where.values())
    for key, raw in pairs:
        assert (key, json.loads(raw)) in found, f"README shows {key}: {raw}; not in {where}"
    rows = re.search(r'"requests": \[… (\d+) rows …\]', text)
    assert rows, "README names the number of request rows"
    assert len(answer["requests"]) == int(rows.group(1))


def _check_lines(shown: list[str], printed: str) -> None:
    lines = [line.rstrip() for line in printed.splitlines()]
    at = 0
    for want in shown:
        want = want.rstrip()
        if not want.strip() or want.strip() == "…":  # a blank, or lines left out
            continue
        try:
            at = lines.index(want, at) + 1
        except ValueError:
            near = [line for line in lines if want.split()[0] in line][:5]
            pytest.fail(f"README shows {want!r}, which is not printed (in order); near: {near}")


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "sample_conversations").symlink_to(ROOT / "sample_conversations")
    return tmp_path


def test_readme_has_the_examples() -> None:
    commands = [c for c, _ in EXAMPLES]
    assert len(commands) >= 7, commands
    for name in ("summary", "simulate", "count", "report"):
        assert any(c.startswith(f"ctxviz {name} ") for c in commands), name


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
@pytest.mark.slow
def test_readme_console_example(command: str, shown: list[str], workdir: Path) -> None:
    result = _run(command, workdir)
    if any(line.startswith("ctxviz: error: ") for line in shown):
        assert result.returncode == 2, result.stderr
        _check_lines(shown, result.stderr)
        return
    assert result.returncode == 0, result.stderr
    if "--json" in shlex.split(command):
        _check_json(shown, result.stdout)
    else:
        _check_lines(shown, result.stdout)


@pytest.mark.slow
def test_readme_python_example(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import plotly.graph_objects as go

    shown: list[go.Figure] = []
    monkeypatch.setattr(go.Figure, "show", lambda self, *a, **k: shown.append(self))
    monkeypatch.chdir(ROOT)
    (block,) = _blocks("python")
    exec(compile(block, "README.md", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert "original_input_tokens" in printed and "recorded" in printed
    assert len(shown) == 1 and shown[0].data
