"""Streamlit's "magic" writes any bare expression of a page script to the page: a string after an
assignment, meant as the attribute's docstring, shows up as text above the page's title."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py")])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_page_script_has_no_bare_expression_but_its_docstring(script: Path) -> None:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
    bare = [
        f"line {node.lineno}"
        for node in body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    ]
    assert not bare, f"{script.name}: Streamlit would write these to the page: {bare}"
