"""Formats & help: which files ctxviz reads, how to get them, and a glossary of the API's terms."""

from __future__ import annotations

import streamlit as st

from ctxviz import figures
from ctxviz_app import ui

FORMATS: tuple[tuple[str, str], ...] = (
    (
        "**Claude Code**",
        "`~/.claude/projects/<project>/<session>.jsonl` (the folder is named after the project's "
        "path). Sub-agents live in `<session>/subagents/agent-*.jsonl` (Claude Code 2.1) or in "
        "`agent-*.jsonl` files beside the session (2.0): upload a **.zip** of the session file "
        "with them to see the sub-agents too.",
    ),
    (
        "**Anthropic Messages API**",
        "A request body, a bare `messages` list, or a **log of request/response pairs** (a JSON "
        'list or JSONL of `{"request": …, "response": …}`), or a VCR-style **YAML cassette**. '
        "Responses carry `usage`, which makes every number *recorded*.",
    ),
    (
        "**claude-trace** captures",
        "`.claude-trace/log-*.jsonl`, written when Claude Code runs under `claude-trace`: every "
        "API call it made, its streamed responses reassembled with their usage. Side calls "
        "(titles, sub-agents) are kept, each with its own model, system prompt and tools; "
        "`count_tokens` and telemetry calls are skipped.",
    ),
    (
        "**The Python SDK** (`tool_runner`, `compaction_control`)",
        "Log each call the same way (below); ctxviz replays the SDK's compaction exactly.",
    ),
    (
        "**OpenAI chat completions**",
        "Messages, request bodies, request/response logs or cassettes.",
    ),
    (
        "**claude.ai**",
        "The data export (`conversations.json`, or the export .zip): Settings → Privacy → "
        "Export data.",
    ),
)

FORMATS_NOTE = (
    "Compressed files (`.gz`, `.xz`, `.bz2`) are read as they are; the format is detected from "
    "the content. A JSONL file with unreadable lines loads the rest and lists what it skipped. "
    "Uploads are limited to 200 MB (`.streamlit/config.toml`); compress larger logs — they "
    "shrink tenfold or more."
)

LOGGING = """import json
import anthropic

client = anthropic.Anthropic()
messages = [{"role": "user", "content": "Hello, Claude"}]  # your conversation so far
request = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "messages": messages}
response = client.messages.create(**request)
with open("calls.jsonl", "a", encoding="utf-8") as log:
    log.write(json.dumps({"request": request, "response": response.model_dump()}) + "\\n")
"""

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "**Request**",
        "One call to `POST /v1/messages`: its input is the system prompt, the tool definitions "
        "and the whole `messages` list; its output is one assistant response.",
    ),
    (
        "**Turn**",
        "The assistant's work between two genuine user messages. A tool-use loop (tool_use → "
        "tool_result → …) is one turn spanning several requests.",
    ),
    (
        "**Context window**",
        "What a request's input + output must fit (200K or 1M tokens, by model).",
    ),
    (
        "`input_tokens`",
        "In the API's usage: the **uncached** part of the prompt only. The whole prompt is "
        "`input_tokens + cache_creation_input_tokens + cache_read_input_tokens`, which ctxviz's "
        "tables call a request's input tokens.",
    ),
    (
        "`cache_creation_input_tokens` / `cache_read_input_tokens`",
        "Prompt tokens written to / read from the prompt cache (writes cost ×1.25 for the "
        "5-minute cache, reads ×0.1 of the input price).",
    ),
    ("`output_tokens`", "Generated tokens, thinking included."),
    (
        "**Extended thinking**",
        "Thinking blocks, billed as output. The API strips earlier turns' thinking from the "
        "prompt (Opus 4.5 and later keep it by default), except within a tool-use loop, where "
        "the current turn's thinking must be sent back and counts.",
    ),
    (
        "**Context editing**",
        "Server-side clearing before the model sees the prompt (beta "
        "`context-management-2025-06-27`); the client keeps its whole history.",
    ),
    (
        "`clear_tool_uses_20250919`",
        "Clears old tool results once the prompt exceeds `trigger` (default 100K input tokens), "
        "keeping the last `keep` tool uses (default 3); options `clear_at_least`, "
        "`exclude_tools`, `clear_tool_inputs`.",
    ),
    (
        "`clear_thinking_20251015`",
        'Keeps the thinking of the last N turns, or `"all"`; must be first in `edits`.',
    ),
    ("`applied_edits`", "What the response's `context_management` says each edit cleared."),
    (
        "`compact_20260112`",
        "Server-side compaction: past `trigger` (default 150K), the request summarises the "
        "history and the client sends the summary back instead of it.",
    ),
    (
        "`compaction_control`",
        "The Python SDK's client-side compaction (tool runner): after a response whose total "
        "reaches the threshold (default 100K), the history becomes one summary message.",
    ),
    (
        "**Auto-compact**",
        "Claude Code decides before sending each request: the previous response's prompt + "
        "output + about characters / 4 of what was added since, against window − min(max "
        "output, 20K) − 13K (167K on 200K). CLAUDE_AUTOCOMPACT_PCT_OVERRIDE can only lower it; "
        "autoCompactWindow sets the window it is computed on. Models with a native 1M window "
        "(4.6 and later) run on 1M unless a recorded auto-compaction below 200K shows 200K.",
    ),
    (
        "**Re-injected after compaction**",
        "What Claude Code puts back after compacting (re-read files, todos) and the file does "
        "not hold: the recorded prompt after the compaction minus its visible summary and "
        "messages. Undoing a compaction estimates the prompt from the last one before it.",
    ),
    (
        "**Hidden prefix**",
        "Claude Code's system prompt and tools: sent, but not in the session file; sized from "
        "the first recorded prompt.",
    ),
    (
        "**Recorded / estimated**",
        "Recorded numbers come from the transcript's usage; estimated ones are counted offline "
        "(a what-if, or a file without usage). Every figure hatches estimated requests or "
        "draws them with open markers.",
    ),
    (
        "**Long-context pricing**",
        "Where the model table says so, a request whose prompt passes the model's threshold is "
        "billed at higher rates for the whole request (Sonnet 4 / 4.5 on a 1M window above "
        "200K; Haiku 5.5 above 100K, at 5× every rate). Each model's five rates, status and "
        "source: `ctxviz models`, or the sidebar's Model table, where you can correct them.",
    ),
)


def _table(header: tuple[str, str], rows: tuple[tuple[str, str], ...]) -> str:
    """A markdown table of our own text (no transcript text goes through markdown)."""
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def body(app: ui.App) -> None:
    st.subheader("What you can load")
    st.markdown(_table(("You have", "Give ctxviz"), FORMATS))
    st.caption(FORMATS_NOTE)
    st.subheader("Logging API calls (Python)")
    st.code(LOGGING, language="python")
    st.subheader("Anatomy of a request")
    sim = app.simulate()
    last = max(len(sim.requests) - 1, 0)
    ui.chart(
        figures.composition(
            sim, last, title=f"The last request of the loaded transcript (request {last})"
        ),
        key="help_anatomy",
    )
    st.caption(
        "Each category has the same colour on every page (a colour-blind-safe palette); the "
        "frame up to the right edge is the context window, and what is left is free space."
    )
    st.subheader("Glossary")
    st.markdown(_table(("Term", "Meaning"), GLOSSARY))


ui.run_page(
    "Formats & help",
    body,
    icon=":material/help:",
    intro="Which files ctxviz reads and how to get them; the API's terms in one table.",
)
