"""The conversation model every input format is read into, and every policy replays.

Blocks are immutable values tagged by their class (dispatch with ``match``); a ``Message`` is a
role and a tuple of blocks; a ``Request`` is one recorded ``POST /v1/messages`` call, located in
the flat message history by the slice of messages its prompt held; a ``Conversation`` ties them
together with what the file told us about the model, tools and recorded usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

JSON: TypeAlias = Any
"""A JSON value as parsed from the transcript (dict, list, str, int, float, bool, None)."""

Role: TypeAlias = Literal["user", "assistant", "system"]
"""``system``: a system message inside ``messages`` (Opus 4.8 and later accept it after a user
turn); it is part of the prompt from where it stands, like the messages around it."""


# ---- blocks ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TextBlock:
    """Plain text, from the user or the assistant."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingBlock:
    """Extended thinking; ``signature`` is None when the file lost it (the API would reject it)."""

    thinking: str
    signature: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RedactedThinkingBlock:
    """Encrypted thinking: its token size is unknown from the text and is always estimated."""

    data: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolUseBlock:
    """A client tool call; ``input`` is the JSON arguments object."""

    id: str
    name: str
    input: JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResultBlock:
    """A client tool's result, sent back in a user message; ``content`` is text or blocks."""

    tool_use_id: str
    content: str | tuple[Block, ...]
    is_error: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerToolUseBlock:
    """A server tool call (web search, web fetch, code execution…) made by the API itself."""

    id: str
    name: str
    input: JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerToolResultBlock:
    """A server tool's result, e.g. ``web_search_tool_result``; ``type`` is the API's own tag."""

    type: str
    tool_use_id: str
    content: JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBlock:
    """An image; ``source`` as sent (base64 data, url or file id). Sizes are estimated."""

    source: JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentBlock:
    """A document (PDF, plain text, content blocks); ``source`` as sent."""

    source: JSON
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactionBlock:
    """A server compaction summary (``compact_20260112``): the API drops everything before it."""

    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherBlock:
    """A block type ctxviz does not know: kept whole and counted as "other", never dropped."""

    type: str
    raw: JSON


Block: TypeAlias = (
    TextBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ToolUseBlock
    | ToolResultBlock
    | ServerToolUseBlock
    | ServerToolResultBlock
    | ImageBlock
    | DocumentBlock
    | CompactionBlock
    | OtherBlock
)


# ---- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One message of the history as the client keeps it."""

    role: Role
    content: tuple[Block, ...]
    is_compact_summary: bool = False
    """A Claude Code compact summary (``isCompactSummary``) or an SDK compaction summary."""
    source: str = ""
    """Where the message came from in the file: ``line 12`` or ``messages[3]``."""

    @property
    def is_tool_results_only(self) -> bool:
        """A user message made only of tool results continues the assistant's turn."""
        return bool(self.content) and all(isinstance(b, ToolResultBlock) for b in self.content)


def starts_turn(message: Message) -> bool:
    """Whether a message is a genuine user message, which ends the assistant's turn."""
    return message.role == "user" and not message.is_tool_results_only


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolDefinition:
    """A tool definition as sent in the request's ``tools`` (client or server tool)."""

    name: str
    raw: JSON
    """The whole definition object, counted as sent."""


# ---- usage -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Iteration:
    """One internal model call of a request (``usage.iterations[]``): message or compaction."""

    type: str
    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None
    """The model that served this call, when it differs from the request's (a fallback)."""

    @property
    def prompt_tokens(self) -> int:
        """The whole prompt this iteration saw, in tokens."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """A response's recorded ``usage``, with every field the format carried (tokens)."""

    input_tokens: int
    """Uncached input tokens only (the API's field, not the whole prompt)."""
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    """Generated tokens, thinking included."""
    ephemeral_5m_input_tokens: int | None = None
    ephemeral_1h_input_tokens: int | None = None
    thinking_tokens: int | None = None
    """``output_tokens_details.thinking_tokens`` (OpenAI: ``reasoning_tokens``) if recorded."""
    server_tool_use: Mapping[str, int] | None = None
    iterations: tuple[Iteration, ...] = ()
    service_tier: str | None = None

    @property
    def prompt_tokens(self) -> int:
        """The whole prompt: uncached + cache writes + cache reads."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


# ---- requests and compactions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One API call found in the transcript: its prompt is ``messages[prompt_start:prompt_end]``."""

    index: int
    prompt_start: int
    prompt_end: int
    response: int | None
    """Index in ``messages`` of the assistant message it returned; None if not yet sent."""
    usage: Usage | None = None
    model: str | None = None
    max_tokens: int | None = None
    thinking: JSON = None
    """The request's ``thinking`` parameter as sent, when the format records it."""
    context_management: JSON = None
    """The request's ``context_management`` as sent, when the format records it."""
    tool_choice: JSON = None
    """The request's ``tool_choice`` as sent, when the format records it (None: ``auto``)."""
    output_format: JSON = None
    """The request's structured-output format (``output_config.format``, or the beta's
    ``output_format``) as sent, when the format records it."""
    betas: tuple[str, ...] = ()
    stop_reason: str | None = None
    applied_edits: tuple[JSON, ...] | None = None
    """The response's ``context_management.applied_edits``, when recorded."""
    source: str = ""
    system: tuple[Block, ...] | None = None
    """The system prompt this request sent, when a log records it per request (a log mixing
    conversations); None: the conversation's ``system``."""
    tools: tuple[ToolDefinition, ...] | None = None
    """The tool definitions this request sent, when a log records them per request; None: the
    conversation's ``tools``."""
    timestamp: str | None = None
    """When the request was made (ISO 8601), when the format records it: prices change by date."""


CompactionKind: TypeAlias = Literal["claude_code", "server", "client"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedCompaction:
    """A compaction that happened in the recording."""

    kind: CompactionKind
    request: int
    """The first request whose recorded prompt reflects the compaction (for server compaction,
    the request inside which it happened)."""
    summary_message: int
    """Index in ``messages`` of the message holding the summary."""
    trigger: str | None = None
    """``auto`` / ``manual`` (Claude Code), ``input_tokens`` (server), ``threshold`` (SDK)."""
    pre_tokens: int | None = None
    """The prompt size the recording reports before compacting (Claude Code ``preTokens``)."""
    summary_tokens: int | None = None
    """The summary's size as recorded: output tokens of the call that wrote it, when known."""
    post_tokens: int | None = None
    """The prompt size the recording reports right after compacting (Claude Code ``postTokens``)."""
    duration_ms: int | None = None
    """How long the compaction took, as recorded (Claude Code ``durationMs``)."""
    preserved_messages: tuple[int, int] | None = None
    """Half-open range of indices in ``messages`` kept verbatim after the summary (Claude Code
    ``preservedSegment``), when recorded and found."""
    boundary_source: str | None = None
    """The place of the record marking the compaction (file and line), when there is one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedMicrocompaction:
    """Old tool results whose content the client replaced by a placeholder (Claude Code
    microcompact: ``[Old tool result content cleared]``)."""

    request: int
    """The first request whose prompt shows those tool results cleared."""
    tool_use_ids: tuple[str, ...]
    """The ids of the tool results cleared at that request."""
    source: str
    """The place (file and line) where the cleared results are first seen."""


# ---- the conversation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """A whole transcript: history, recorded requests, compactions, sub-agents, and warnings."""

    format: str
    """``anthropic``, ``claude-code``, ``openai``, ``claude-ai`` or ``claude-trace``."""
    messages: tuple[Message, ...]
    requests: tuple[Request, ...]
    model: str | None = None
    system: tuple[Block, ...] = ()
    tools: tuple[ToolDefinition, ...] = ()
    compactions: tuple[RecordedCompaction, ...] = ()
    microcompactions: tuple[RecordedMicrocompaction, ...] = ()
    subagents: tuple[Conversation, ...] = ()
    hidden_prefix: bool = False
    """True when the system prompt and tool definitions were sent but are not in the file."""
    title: str | None = None
    source: str | None = None
    """The file it was read from, when known."""
    parent_tool_use_id: str | None = None
    """For a sub-agent: the ``tool_use`` id of the Task call in the parent that started it."""
    agent_type: str | None = None
    agent_name: str | None = None
    """The name the session was given (Claude Code ``agent-name`` record), when recorded."""
    description: str | None = None
    warnings: list[str] = field(default_factory=list)
    """What could not be read, or was read with assumptions: one sentence each, with its place."""

    def __repr__(self) -> str:
        """A one-line summary (the messages would print the whole transcript)."""
        return (
            f"Conversation(format={self.format!r}, messages={len(self.messages)}, "
            f"requests={len(self.requests)}, model={self.model!r}, "
            f"subagents={len(self.subagents)}, source={self.source!r}, "
            f"warnings={len(self.warnings)})"
        )

    @property
    def recorded(self) -> bool:
        """Whether any request carries recorded usage."""
        return any(r.usage is not None for r in self.requests)

    @property
    def thinking_enabled(self) -> bool:
        """Thinking is on when a request says so (``enabled``, ``adaptive`` or Sonnet 5.5's
        ``between_tools``) or, lacking parameters, when thinking appears. A model that always
        thinks is on whatever the file says: ``ctxviz.policies.thinking.thinking_on``."""
        if any(
            isinstance(r.thinking, Mapping)
            and r.thinking.get("type") in ("enabled", "adaptive", "between_tools")
            for r in self.requests
        ):
            return True
        return any(
            isinstance(b, ThinkingBlock | RedactedThinkingBlock)
            for m in self.messages
            if m.role == "assistant"
            for b in m.content
        )

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Names of the tools defined or called, in first-seen order."""
        seen: dict[str, None] = {t.name: None for t in self.tools}
        for m in self.messages:
            for b in m.content:
                if isinstance(b, ToolUseBlock | ServerToolUseBlock):
                    seen.setdefault(b.name, None)
        return tuple(seen)


def turn_indices(messages: tuple[Message, ...]) -> tuple[int, ...]:
    """The 0-based assistant turn each message belongs to: a genuine user message opens a turn."""
    turns: list[int] = []
    turn = -1
    for m in messages:
        if starts_turn(m) or turn < 0:
            turn += 1
        turns.append(turn)
    return tuple(turns)


def requests_from_messages(
    messages: tuple[Message, ...], *, source: str = ""
) -> tuple[Request, ...]:
    """Requests implied by a history with no recorded calls: one per assistant message, plus the
    request about to be sent when the history ends with a user (or system) message.

    A server ``compaction`` block starts the prompt of the requests after it, as the API drops
    everything before it.
    """
    out: list[Request] = []
    start = 0
    for i, m in enumerate(messages):
        if m.role == "assistant":
            out.append(
                Request(
                    index=len(out),
                    prompt_start=start,
                    prompt_end=i,
                    response=i,
                    source=m.source or source,
                )
            )
            if any(isinstance(b, CompactionBlock) for b in m.content):
                start = i
    if messages and messages[-1].role != "assistant":
        out.append(
            Request(
                index=len(out),
                prompt_start=start,
                prompt_end=len(messages),
                response=None,
                source=source,
            )
        )
    return tuple(out)
