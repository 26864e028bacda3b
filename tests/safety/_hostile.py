"""Hostile transcripts, generated here (not stored): markup in every place a transcript can hold
text that the app may show — prompts, answers, thinking, tool names and inputs, tool results, the
model id, the title, a block type, a sub-agent's type and description, the file name, and an
error message that quotes the input.

Each payload carries the token ``pwned`` so that any trace of it can be found; ``RAW`` lists what
must never reach a markdown or HTML renderer unescaped.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
IMG_OUTSIDE = '<img src="http://203.0.113.9/pwned.png">'
LINK = "[pwned link](http://203.0.113.9/pwned)"
MD_IMAGE = "![pwned image](http://203.0.113.9/pwned.gif)"
COMMENT = "<!-- pwned comment -->"
LATEX = "$$\\frac{pwned}{1}$$ and $pwned^2$"
ANCHOR = '<a href="http://203.0.113.9/pwned">pwned anchor</a>'
STYLE = '<style>body{background:url("http://203.0.113.9/pwned.css")}</style>'
BARE = "bare http://203.0.113.9/pwned-bare www.pwned.example mail@pwned.example"
PAYLOAD = " ".join([SCRIPT, IMG, IMG_OUTSIDE, LINK, MD_IMAGE, COMMENT, LATEX, ANCHOR, STYLE, BARE])

RAW = (
    "<script>window.__pwned",
    "<img src=x onerror",
    '<img src="http://203.0.113.9',
    "](http://203.0.113.9/pwned)",
    "![pwned image]",
    "<!-- pwned",
    "$$\\frac{pwned}",
    "$pwned^2$",
    '<a href="http://203.0.113.9',
    "<style>body",
)
"""Substrings of PAYLOAD that only appear if it was not escaped (escaping inserts ``\\`` or
``&lt;``)."""

AUTOLINK = re.compile(r"(?i)(?:https?://|www\.)[^\s\u200b]*|[\w.+-]+@[\w-]+\.[\w.-]+")
"""What Streamlit's markdown turns into a link on its own (GFM autolink literals), backslash
escapes or not: a bare URL, a www. address, an e-mail address."""

FILE_NAME = '<img src=x onerror="window.__pwned=1">[x](http://203.0.113.9) $x$.zip'
SESSION = "5e55-hostile"


def _record(n: int, kind: str, parent: str | None, message: dict[str, Any], **extra: Any) -> str:
    rec = {
        "type": kind,
        "uuid": f"r{n}",
        "parentUuid": parent,
        "sessionId": SESSION,
        "timestamp": f"2026-01-01T00:00:{n:02d}Z",
        "message": message,
        **extra,
    }
    return json.dumps(rec)


def claude_code_zip() -> bytes:
    """A Claude Code session (with a sub-agent and its meta.json), every text field hostile."""
    model = f"claude-opus-4-6{IMG}"
    usage = {"input_tokens": 12, "cache_read_input_tokens": 3000, "output_tokens": 40}
    tool = {"type": "tool_use", "id": "toolu_h1", "name": f"Task{SCRIPT}",
            "input": {"prompt": f"sub {PAYLOAD}", "description": f"d {LINK}",
                      "subagent_type": f"Explore{IMG}"}}  # fmt: skip
    lines = [
        _record(1, "user", None, {"role": "user", "content": f"{PAYLOAD} title"}),
        _record(2, "assistant", "r1", {"id": "m1", "role": "assistant", "model": model,
                "content": [{"type": "thinking", "thinking": PAYLOAD, "signature": "s"},
                            {"type": "text", "text": PAYLOAD}, tool,
                            {"type": IMG, "data": PAYLOAD}],
                "usage": usage}),
        _record(3, "user", "r2", {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_h1", "content": PAYLOAD}]},
            toolUseResult={"agentId": "a1"}),
        _record(4, "assistant", "r3", {"id": "m2", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": f"done {PAYLOAD}"}], "usage": usage}),
    ]  # fmt: skip
    sub = [
        _record(1, "user", None, {"role": "user", "content": f"sub {PAYLOAD}"},
                isSidechain=True, agentId="a1"),
        _record(2, "assistant", "r1", {"id": "s1", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": PAYLOAD}], "usage": usage},
                isSidechain=True, agentId="a1"),
    ]  # fmt: skip
    meta = {"agentType": f"Explore{SCRIPT}{LINK}", "description": f"desc {PAYLOAD}"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{SESSION}.jsonl", "\n".join(lines) + "\n")
        zf.writestr(f"{SESSION}/subagents/agent-a1.jsonl", "\n".join(sub) + "\n")
        zf.writestr(f"{SESSION}/subagents/agent-a1.meta.json", json.dumps(meta))
    return buf.getvalue()


def anthropic_body() -> bytes:
    """A request body: hostile system prompt, tool definition, model id and messages."""
    body = {
        "model": f"claude-sonnet-4-5{SCRIPT}",
        "system": PAYLOAD,
        "tools": [{"name": f"t{IMG}", "description": PAYLOAD, "input_schema": {}}],
        "messages": [
            {"role": "user", "content": PAYLOAD},
            {"role": "assistant", "content": [
                {"type": "text", "text": PAYLOAD},
                {"type": "tool_use", "id": "toolu_1", "name": f"t{IMG}", "input": {"q": PAYLOAD}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": PAYLOAD},
                {"type": "tool_result", "tool_use_id": f"orphan{SCRIPT}", "content": "x"}]},
        ],
    }  # fmt: skip
    return json.dumps(body).encode()


def broken() -> bytes:
    """Unreadable on purpose: the error message quotes the hostile role."""
    return json.dumps({"messages": [{"role": PAYLOAD, "content": "x"}]}).encode()
