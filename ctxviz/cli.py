"""The ``ctxviz`` command line: summary, simulate (what-if), count and report, from a shell.

Exit status: 0 on success; 2 on bad input (a transcript ctxviz cannot read, a policy the API would
reject, a missing file, a bad option), with ctxviz's message on stderr; 1 for a bug in ctxviz
(one line on stderr, never a traceback). Progress goes to stderr, only when it is a terminal.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import ctxviz
from ctxviz.policies import claude_code, clear_thinking, clear_tool_uses, compact
from ctxviz.policies import compaction_control as sdk_compaction

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.progress import Progress

    from ctxviz.model import Conversation
    from ctxviz.models import ModelTable
    from ctxviz.notebook import SimulationSummary
    from ctxviz.policies.edits import EditParam
    from ctxviz.policies.step import Event
    from ctxviz.simulator import Simulation

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_BUG: Final = 1
EXIT_BAD_INPUT: Final = 2

HEAD_ROWS: Final = 10
TAIL_ROWS: Final = 10
"""A long table shows its first and last rows (``--all`` shows every one)."""

_SAMPLE: Final = "sample_conversations/agent_tool_loop.jsonl.xz"

_EVENT_LABELS: Final[Mapping[str, str]] = {
    "clear_tool_uses_20250919": "clear tools",
    "clear_thinking_20251015": "clear thinking",
    "compact_20260112": "compact",
    "compaction_control": "SDK compact",
    "claude_code_autocompact": "auto-compact",
    "recorded_compaction": "compacted",
    "claude_code_microcompact": "microcompact",
    "rolling_window": "rolled",
    "memory_warning": "memory",
    "context_window_exceeded": "OVER WINDOW",
}
"""Short labels for the requests table's ``events`` column (the events table gives full names)."""


_NO_REQUESTS: Final = (
    "no requests: the transcript holds no assistant turn, so nothing was sent to the model and "
    "there is nothing to replay"
)


class _BadInput(Exception):
    """A problem with what the user gave (exit status 2); the message says what to fix."""


# ---- argument parsing --------------------------------------------------------------------------


_COUNT: Final = re.compile(r"(-?)([0-9]+(?:\.[0-9]+)?)([km]?)")
_FACTORS: Final[Mapping[str, int]] = {"": 1, "k": 1_000, "m": 1_000_000}


def _token_count(text: str) -> int:
    """A whole number of tokens: ``150000``, ``150_000``, ``150,000``, ``150k``, ``1.5m``.

    Written in decimal digits only (no exponent, inf or nan), up to MAX_COUNT, so that every
    option is an exact integer the simulator can use.
    """
    from ctxviz.formats._blocks import MAX_COUNT

    match = _COUNT.fullmatch(text.strip().lower().replace("_", "").replace(",", ""))
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a number of tokens such as 150000, 150,000 or 150k, got {text!r}"
        )
    sign, digits, suffix = match.groups()
    if sign:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    if len(digits) > 20:  # beyond MAX_COUNT whatever the suffix; Decimal need not see it
        raise argparse.ArgumentTypeError(f"expected at most {MAX_COUNT:,} tokens, got {text!r}")
    value = Decimal(digits) * _FACTORS[suffix]
    if value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"expected a whole number of tokens, got {text!r}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_COUNT:,} tokens, got {text!r}")
    return int(value)


def _thinking_keep(text: str) -> str:
    """``--clear-thinking`` KEEP: a number of turns, ``all``, or empty for the API's default."""
    if text in ("all", ""):
        return text
    try:
        return str(_token_count(text))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a number of thinking turns or 'all', got {text!r}"
        ) from None


def _add_file(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("file", metavar="FILE", help=what)
    parser.add_argument(
        "--format",
        choices=("anthropic", "claude-code", "openai", "claude-ai", "claude-trace"),
        help="force the input format (default: detected from the content)",
    )
    parser.add_argument(
        "--conversation",
        metavar="N|ID",
        help="which conversation of a file holding several (claude.ai export, zip of sessions): "
        "its 0-based index, id or name (default: the first with messages)",
    )


def _add_policy(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "what-if policy",
        "Replay under settings the recording did not use. --edits takes the API's "
        'context_management object ({"edits": [...]}) or just its list of edits; the convenience '
        "flags build the same object (clear_thinking first, as the API requires). Token counts "
        "accept 150000, 150_000, 150,000 or 150k.",
    )
    g.add_argument("--model", metavar="M", help="replay on this model (default: the transcript's)")
    g.add_argument(
        "--window",
        metavar="N",
        type=_token_count,
        help="context window in tokens (default: the model's)",
    )
    src = g.add_mutually_exclusive_group()
    src.add_argument("--edits", metavar="JSON", help="context_management as JSON text")
    src.add_argument("--edits-file", metavar="PATH", help="context_management from a JSON file")
    g.add_argument(
        "--clear-thinking",
        metavar="KEEP",
        nargs="?",
        const="",
        type=_thinking_keep,
        help="add clear_thinking_20251015, keeping KEEP thinking turns (a number or 'all'; "
        "bare: the API's default)",
    )
    g.add_argument(
        "--clear-tool-uses",
        action="store_true",
        help="add clear_tool_uses_20250919 with the API's defaults (implied by the flags below)",
    )
    g.add_argument(
        "--clear-tool-uses-trigger",
        metavar="N",
        type=_token_count,
        help="clear_tool_uses_20250919 trigger: input_tokens above N",
    )
    g.add_argument(
        "--keep", metavar="N", type=_token_count, help="clear_tool_uses_20250919: keep N tool uses"
    )
    g.add_argument(
        "--clear-at-least",
        metavar="N",
        type=_token_count,
        help="clear_tool_uses_20250919: clear at least N input tokens",
    )
    g.add_argument(
        "--exclude-tools",
        metavar="NAME",
        action="append",
        help="clear_tool_uses_20250919: never clear these tools (repeat, or comma-separated)",
    )
    g.add_argument(
        "--clear-tool-inputs",
        action="store_true",
        help="clear_tool_uses_20250919: clear the tool calls' inputs too",
    )
    g.add_argument(
        "--compact-trigger",
        metavar="N",
        type=_token_count,
        help="add server compaction compact_20260112, triggered above N input tokens (>= 50,000)",
    )
    g.add_argument(
        "--compaction-threshold",
        metavar="N",
        type=_token_count,
        help="the SDK's compaction_control: compact when a response's total reaches N tokens",
    )
    g.add_argument(
        "--claude-code-autocompact",
        action="store_true",
        help="Claude Code's auto-compact: before each request, compact when the previous "
        "response's prompt + output + characters/4 of what was added reach window - min(max "
        "output, 20k) - 13k (implied by the two options below)",
    )
    g.add_argument(
        "--autocompact-pct-override",
        metavar="PCT",
        type=float,
        help="Claude Code's CLAUDE_AUTOCOMPACT_PCT_OVERRIDE: compact at PCT%% of the window "
        "minus the output reserve (it can only lower the threshold)",
    )
    g.add_argument(
        "--auto-compact-window",
        metavar="N",
        type=_token_count,
        help="Claude Code's autoCompactWindow / CLAUDE_CODE_AUTO_COMPACT_WINDOW: the window "
        "(100k-1M) the threshold is computed on",
    )
    g.add_argument(
        "--on-demand-at",
        metavar="REQ",
        action="append",
        help="compaction on demand (top-level compaction, beta compact-2026-09-04): send a "
        "compaction request before these requests (repeat, or comma-separated)",
    )
    g.add_argument(
        "--on-demand-every",
        metavar="N",
        type=_token_count,
        help="compaction on demand every N requests since the last one",
    )
    g.add_argument(
        "--on-demand-user-turns",
        action="store_true",
        help="compaction on demand before each request that opens a user turn",
    )
    g.add_argument(
        "--on-demand-past",
        metavar="N",
        type=_token_count,
        help="compaction on demand once the previous prompt + its output exceed N tokens",
    )
    g.add_argument(
        "--on-demand-keep-turns",
        metavar="K",
        type=_token_count,
        help="compaction on demand: send the last K turns verbatim after the block",
    )
    g.add_argument(
        "--on-demand-background",
        metavar="N",
        nargs="?",
        const=1,
        type=_token_count,
        help="compaction on demand in the background: the block is swapped in N requests later "
        "(bare: 1)",
    )
    g.add_argument(
        "--thinking-prefix-mismatch",
        choices=("reject", "drop"),
        help="preserved thinking made invalid by a client-side rewrite: the API's 400 (reject, "
        "the default) or drop_block (drop)",
    )
    g.add_argument(
        "--undo-recorded-compactions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="replay as if the compactions in the transcript had not happened (default: on "
        "with a what-if compaction, as on the app's Compaction page)",
    )
    g.add_argument(
        "--summary-tokens",
        metavar="N",
        type=_token_count,
        help="size assumed for a summary that a what-if compaction writes",
    )


_MAIN_EPILOG: Final = f"""\
examples:
  ctxviz summary {_SAMPLE}
  ctxviz simulate {_SAMPLE} --clear-tool-uses-trigger 30k --keep 3
  ctxviz count sample_conversations/request_body.json
  ctxviz report {_SAMPLE} -o report.html
  ctxviz fleet ~/.claude/projects --sweep clear-tool-uses-trigger=30k..150k/30k
  ctxviz models

Run 'ctxviz COMMAND --help' for a command's options. Exit status: 0 success,
2 bad input (message on stderr), 1 a bug in ctxviz.
"""

_SUMMARY_EPILOG: Final = f"""\
example:
  ctxviz summary {_SAMPLE}
  ctxviz summary sample_conversations/claude_code_session.zip --all

Replays the transcript as recorded and prints its requests (first and last
{HEAD_ROWS} unless --all), the peak prompt, events, cost, which numbers are
recorded and which estimated, warnings, and the sub-agents.
"""

_SIMULATE_EPILOG: Final = f"""\
examples:
  ctxviz simulate {_SAMPLE} --clear-tool-uses-trigger 30k --keep 3
  ctxviz simulate {_SAMPLE} \\
      --edits '{{"edits": [{{"type": "clear_tool_uses_20250919", "clear_tool_inputs": true}}]}}'
  ctxviz simulate {_SAMPLE} --compaction-threshold 60000 --summary-tokens 2000 --json
  ctxviz simulate {_SAMPLE} --model claude-opus-5-5 --on-demand-past 60k --on-demand-keep-turns 2

--json prints {{"requests", "events", "applied_edits", "warnings", ...}} to
stdout; applied_edits[i] is what the API would return as
context_management.applied_edits for request i.
"""

_COUNT_EPILOG: Final = """\
example:
  ctxviz count sample_conversations/request_body.json
  ctxviz count body.json --model claude-opus-4-6 --edits '[{"type": "clear_tool_uses_20250919"}]'
  ctxviz count body.json --exact

Prints what POST /v1/messages/count_tokens would answer, computed offline:
{"input_tokens": N}, plus context_management.original_input_tokens with edits.
"""

_REPORT_EPILOG: Final = f"""\
example:
  ctxviz report {_SAMPLE} -o report.html
  ctxviz report {_SAMPLE} --clear-tool-uses-trigger 30k -o what-if.html

Writes one HTML file that opens offline (plotly.js is inlined).
"""


_FLEET_EPILOG: Final = """\
examples:
  ctxviz fleet                                   # every session under ~/.claude/projects
  ctxviz fleet ~/work/sessions team.zip --json > sessions.json
  ctxviz fleet --sweep clear-tool-uses-trigger=30k..150k/30k
  ctxviz fleet DIR --policy '{"compaction_control": {"enabled": true,
      "context_token_threshold": 100000}}' --parquet sessions.parquet

One row per session (a Claude Code session with its sub-agents; each conversation of a zip,
export or log, in any format ctxviz reads): requests, peak prompt, compactions, clearings, window
hits, cost, with the names and values `ctxviz simulate FILE --json` prints under "summary". A
file that cannot be read, or takes longer than --timeout, is a row with its error; a .json or
.yaml that is not a transcript is skipped and listed. Results are kept in a DuckDB index (tables
files, sessions, requests, sweeps; docs/fleet.md): a file whose size, time and bytes are
unchanged (and priced with the same --models table) is not read again.
"""

_SWEEPABLE: Final = (
    "clear-tool-uses-trigger",
    "keep",
    "clear-at-least",
    "compact-trigger",
    "compaction-threshold",
    "auto-compact-window",
    "window",
    "summary-tokens",
)
"""The what-if options ``ctxviz fleet --sweep`` takes a grid of (each a number of tokens)."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):  # NaN too
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number of processes (1 or more), got {text!r}"
        )
    return value


_MODELS_EPILOG: Final = """\
example:
  ctxviz models
  ctxviz models --json > my-models.json      # edit it, then: --models my-models.json
  ctxviz summary session.jsonl --models my-models.json

Prints the model table: status, window, output limit, the five rates ($ per million tokens:
input, 5-minute and 1-hour cache writes, cache reads, output), long-context tiers, dated price
changes, and where each entry comes from. A --models FILE (same JSON schema; entries merge over
the bundled ones by id) adds or corrects models for every command that prices requests.
"""


def _add_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        metavar="FILE",
        help="your model table (JSON, the schema of `ctxviz models --json`), merged over the "
        "bundled one by id: add models, correct prices",
    )


def _table(args: argparse.Namespace) -> ModelTable:
    from ctxviz.models import default_table, load_model_table

    path: str | None = getattr(args, "models", None)
    if path is None:
        return default_table()
    if not os.path.isfile(path):
        raise _BadInput(f"{path}: no such file (--models takes a JSON model table)")
    return load_model_table(path)


def build_parser() -> argparse.ArgumentParser:
    """The ``ctxviz`` argument parser, with one sub-command per task."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="ctxviz",
        description="Explore and replay how Claude's context window behaves.",
        epilog=_MAIN_EPILOG,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"ctxviz {ctxviz.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "summary",
        help="requests, peak prompt, events, cost of a transcript as recorded",
        description="Summarise a transcript replayed as recorded.",
        epilog=_SUMMARY_EPILOG,
        formatter_class=fmt,
    )
    _add_file(p, "a transcript: Claude Code session (.jsonl, folder or .zip), API log, ...")
    p.add_argument("--all", action="store_true", help="show every request, not head and tail")
    _add_models(p)

    p = sub.add_parser(
        "simulate",
        help="replay a transcript under a context policy (what-if)",
        description="Replay a transcript under context-management policies it did not use.",
        epilog=_SIMULATE_EPILOG,
        formatter_class=fmt,
    )
    _add_file(p, "a transcript")
    _add_policy(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON to stdout")
    p.add_argument("--all", action="store_true", help="show every request, not head and tail")
    _add_models(p)

    p = sub.add_parser(
        "count",
        help="offline count_tokens of a request body",
        description="Count a request body's input tokens offline, as count_tokens would.",
        epilog=_COUNT_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("file", metavar="FILE", help="a Messages API request body (JSON)")
    p.add_argument("--model", metavar="M", help="count for this model (default: the body's)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--edits", metavar="JSON", help="context_management as JSON text")
    src.add_argument("--edits-file", metavar="PATH", help="context_management from a JSON file")
    p.add_argument(
        "--exact",
        action="store_true",
        help="count text exactly (ctok's reconstruction on every part; slower on long bodies) "
        "instead of the default estimator, which is exact on short text only",
    )
    _add_models(p)

    p = sub.add_parser(
        "report",
        help="a standalone HTML report that opens offline",
        description="Write a standalone HTML report of a transcript (as recorded or a what-if).",
        epilog=_REPORT_EPILOG,
        formatter_class=fmt,
    )
    _add_file(p, "a transcript")
    _add_policy(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write the HTML (default: FILE's name with .html, in this folder)",
    )
    _add_models(p)

    p = sub.add_parser(
        "fleet",
        help="every session under folders, zips or globs: a row each, a policy sweep, an index",
        description="Replay every session under PATHs as recorded (and under what-if policies), "
        "in parallel, and keep the results in a DuckDB index queryable with SQL.",
        epilog=_FLEET_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="folders (searched recursively for transcripts of every format: .jsonl, .json, "
        ".yaml, .yml, compressed or not, and zips), files, globs (default: ~/.claude/projects)",
    )
    p.add_argument(
        "--index",
        metavar="FILE",
        help="the DuckDB index (default: $XDG_CACHE_HOME/ctxviz/fleet.duckdb)",
    )
    p.add_argument("--json", action="store_true", help='print {"sessions": [...]} as JSON')
    p.add_argument("--parquet", metavar="FILE", help="also write the session rows to FILE")
    p.add_argument(
        "--policy",
        metavar="JSON",
        action="append",
        help="a what-if to sweep (repeatable): simulate's settings as `simulate --json` prints "
        'them ({"context_management": ..., "compaction_control": ...}), or a context_management '
        "object / list of edits as --edits takes; the what-if flags below make one more",
    )
    p.add_argument(
        "--sweep",
        metavar="OPTION=VALUES",
        help="a grid over one what-if option, over the other flags: e.g. "
        "clear-tool-uses-trigger=30k..150k/30k or compaction-threshold=60k,100k; options: "
        + ", ".join(_SWEEPABLE),
    )
    p.add_argument(
        "--jobs", metavar="N", type=_jobs, help="worker processes (default: one per core)"
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on the Ray cluster at ADDRESS ('local': start one here; needs ctxviz[fleet-ray])",
    )
    p.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=None,
        help="wall time a file may take to be read and replayed, and as much again per policy; "
        "past it the file is a row saying so (default: 120)",
    )
    p.add_argument("--all", action="store_true", help="show every session, not head and tail")
    _add_policy(p)
    _add_models(p)

    p = sub.add_parser(
        "models",
        help="the model table: windows, prices, status (and --models FILE merged in)",
        description="Print the model table ctxviz prices requests with.",
        epilog=_MODELS_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("--json", action="store_true", help="print the table as JSON (its file schema)")
    _add_models(p)
    return parser


# ---- policy from options -----------------------------------------------------------------------


def _json_arg(text: str, what: str) -> Any:
    from ctxviz.errors import json_value

    try:
        return json_value(text)
    except json.JSONDecodeError as e:
        raise _BadInput(
            f"{what}: not valid JSON (line {e.lineno} column {e.colno}: {e.msg})"
        ) from None
    except ValueError as e:  # nested too deeply, an integer too long to convert
        raise _BadInput(f"{what}: not valid JSON ({e})") from None


def _edits_from(args: argparse.Namespace) -> Any:
    """The ``--edits`` / ``--edits-file`` value as given (None when neither is)."""
    if args.edits is not None:
        value = _json_arg(args.edits, "--edits")
    elif args.edits_file is not None:
        from ctxviz.loading import read_text

        value = _json_arg(read_text(args.edits_file), args.edits_file)
    else:
        return None
    if isinstance(value, list):
        return {"edits": value}  # just the list of edits
    if not isinstance(value, dict):
        raise _BadInput(
            'context_management: expected an object {"edits": [...]} or a list of edits, '
            f"got {json.dumps(value)}"
        )
    return value


def context_management_from(args: argparse.Namespace) -> dict[str, Any] | None:
    """The API's ``context_management`` the options describe (None: keep the recorded one)."""
    given = _edits_from(args)
    tool_flags = {
        "--clear-tool-uses-trigger": args.clear_tool_uses_trigger,
        "--keep": args.keep,
        "--clear-at-least": args.clear_at_least,
        "--exclude-tools": args.exclude_tools,
        "--clear-tool-inputs": args.clear_tool_inputs or None,
        "--clear-tool-uses": args.clear_tool_uses or None,
        "--clear-thinking": args.clear_thinking,
        "--compact-trigger": args.compact_trigger,
    }
    used = [flag for flag, value in tool_flags.items() if value is not None]
    if given is not None:
        if used:
            raise _BadInput(
                f"{'--edits' if args.edits is not None else '--edits-file'} cannot be combined "
                f"with {', '.join(used)}: put every edit in the JSON"
            )
        return dict(given)
    if not used:
        return None
    edits: list[EditParam] = []
    if args.clear_thinking is not None:
        keep = args.clear_thinking
        thinking = clear_thinking.ClearThinking(
            keep_turns="all" if keep == "all" else int(keep) if keep else None
        )
        edits.append(thinking.to_api())
    if any(
        v is not None
        for k, v in tool_flags.items()
        if k not in ("--clear-thinking", "--compact-trigger")
    ):
        trigger = args.clear_tool_uses_trigger
        names = [n.strip() for arg in args.exclude_tools or () for n in arg.split(",") if n.strip()]
        tools = clear_tool_uses.ClearToolUses(
            trigger=None if trigger is None else clear_tool_uses.Trigger(value=trigger),
            keep=args.keep,
            clear_at_least_tokens=args.clear_at_least,
            exclude_tools=tuple(names),
            clear_tool_inputs=bool(args.clear_tool_inputs),
        )
        edits.append(tools.to_api())
    if args.compact_trigger is not None:
        edits.append(compact.Compact(trigger=args.compact_trigger).to_api())
    return {"edits": edits}


def _on_demand_from(args: argparse.Namespace) -> dict[str, Any] | None:
    """The compaction-on-demand options as ``simulate(compaction=...)``'s fields, or None."""
    fields: dict[str, Any] = {}
    if args.on_demand_at:
        try:
            fields["at_requests"] = sorted(
                {int(x) for item in args.on_demand_at for x in item.split(",") if x.strip()}
            )
        except ValueError:
            raise _BadInput(
                f"--on-demand-at: expected request numbers, got {', '.join(args.on_demand_at)}"
            ) from None
    if args.on_demand_every is not None:
        fields["every_requests"] = args.on_demand_every
    if args.on_demand_user_turns:
        fields["at_user_turns"] = True
    if args.on_demand_past is not None:
        fields["at_prompt_tokens"] = args.on_demand_past
    options: dict[str, Any] = {}
    if args.on_demand_keep_turns is not None:
        options["keep_recent_turns"] = args.on_demand_keep_turns
    if args.on_demand_background is not None:
        options["background"] = True
        options["swap_after_requests"] = args.on_demand_background
    if not fields:
        if options:
            raise _BadInput(
                "--on-demand-keep-turns / --on-demand-background: say when to compact "
                "(--on-demand-at, --on-demand-every, --on-demand-user-turns or --on-demand-past)"
            )
        return None
    return {**fields, **options}


def simulate_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``ctxviz.simulate`` from the policy options."""
    kwargs: dict[str, Any] = {}
    if args.model:
        kwargs["model"] = args.model
    if args.window is not None:
        kwargs["context_window"] = args.window
    cm = context_management_from(args)
    if cm is not None:
        kwargs["context_management"] = cm
    if args.compaction_threshold is not None:
        config = sdk_compaction.CompactionControl(threshold_tokens=args.compaction_threshold)
        kwargs["compaction_control"] = config.to_sdk()
    autocompact = claude_code.to_settings(
        claude_code.ClaudeCodeAutocompact(
            pct_override=args.autocompact_pct_override, window_tokens=args.auto_compact_window
        )
    )
    if args.claude_code_autocompact or autocompact:
        try:
            claude_code.from_arg(autocompact)
        except ValueError as e:
            raise _BadInput(str(e)) from None
        kwargs["claude_code_autocompact"] = autocompact or True
    if args.summary_tokens is not None:
        kwargs["summary_tokens"] = args.summary_tokens
    on_demand = _on_demand_from(args)
    if on_demand is not None:
        kwargs["compaction"] = on_demand
    if args.thinking_prefix_mismatch is not None:
        kwargs["thinking_prefix_mismatch"] = args.thinking_prefix_mismatch
    # as on the app's Compaction page: a what-if compaction replaces the recorded ones
    edits = (cm or {}).get("edits") or []
    compacting = (
        "claude_code_autocompact" in kwargs
        or "compaction_control" in kwargs
        or "compaction" in kwargs
        or any(isinstance(e, Mapping) and e.get("type") == compact.TYPE for e in edits)
    )
    undo = compacting if args.undo_recorded_compactions is None else args.undo_recorded_compactions
    if undo:
        kwargs["undo_recorded_compactions"] = True
    return kwargs


# ---- progress ----------------------------------------------------------------------------------


class _Steps:
    """Rich progress on stderr for the slow steps, shown only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._progress: Progress | None = None
        if stream.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(file=stream),
                transient=True,
            )

    def __enter__(self) -> _Steps:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def counter(self, description: str) -> Iterator[Callable[[int, int, str], None]]:
        """A task shown while the block runs; the callable sets it to ``done`` of ``total``."""
        progress = self._progress
        if progress is None:
            yield lambda done, total, what: None
            return
        from rich.markup import escape

        task = progress.add_task(escape(_shown(description, terminal=True)), total=None)
        try:
            yield lambda done, total, what: progress.update(task, completed=done, total=total)
        finally:
            progress.remove_task(task)

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator[Callable[[], None]]:
        """A task shown while the block runs; the callable advances it by one of ``total``."""
        progress = self._progress
        if progress is None:
            yield lambda: None
            return
        from rich.markup import escape

        task = progress.add_task(escape(_shown(description, terminal=True)), total=total)
        try:
            yield lambda: progress.advance(task)
        finally:
            progress.remove_task(task)


# ---- loading and simulating --------------------------------------------------------------------


def _in_file(path: str, error: Exception) -> _BadInput:
    """A problem in the file as one message that names it first."""
    message = str(error)
    return _BadInput(message if message.startswith(path) else f"{path}: {message}")


def _load(args: argparse.Namespace, steps: _Steps) -> Conversation:
    from ctxviz.errors import TOO_DEEP, TranscriptError
    from ctxviz.loading import load

    path: str = args.file
    if not os.path.exists(path):
        raise _BadInput(f"{path}: no such file or folder")
    which: str | None = args.conversation
    number = which is not None and re.fullmatch(r"-?[0-9]{1,18}", which)
    selector: int | str | None = int(which) if which and number else which
    with steps.step(f"Loading {path}"):
        try:
            return load(path, format=args.format, conversation=selector)
        except TranscriptError as e:
            raise _in_file(path, e) from None
        except RecursionError:  # a check that parses JSON without json_value's guard
            raise _BadInput(f"{path}: not valid JSON ({TOO_DEEP})") from None


def _simulate(conv: Conversation, steps: _Steps, what: str, **kwargs: Any) -> Simulation:
    from ctxviz.simulator import simulate

    with steps.step(f"Replaying {what} ({len(conv.requests):,} requests)"):
        return simulate(conv, **kwargs)


# ---- terminal rendering ------------------------------------------------------------------------


_CONTROL: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
"""Characters a terminal acts on (escape sequences, bell, carriage return…) or that break or
reorder a line (line separators, bidi controls)."""
_BREAKS: Final = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def _shown(text: object, terminal: bool) -> str:
    """Text from a transcript (or a file name) as printed: its control characters escaped
    visibly on a terminal (``\\x1b``), removed elsewhere (a line break becomes a space), so
    that it can neither drive the terminal nor forge lines."""
    return _CONTROL.sub(
        (lambda m: m[0].encode("unicode_escape").decode("ascii"))
        if terminal
        else (lambda m: " " if m[0] in _BREAKS else ""),
        str(text),
    )


class _StripLines(io.TextIOBase):
    """Writes whole lines without the trailing spaces rich pads them with (piped output), and
    without a control character that reached it all the same."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            self._stream.write(_shown(line.rstrip(), terminal=False) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(_shown(self._pending.rstrip(), terminal=False))
            self._pending = ""
        self._stream.flush()


def _console(stream: TextIO) -> Console:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich would exit with status 1
            raise BrokenPipeError

    if stream.isatty():
        return _Console(file=stream, highlight=False)
    # Piped output keeps a readable width (rich would otherwise fall back to 80 columns), no
    # trailing spaces and no escape sequences (FORCE_COLOR and TTY_COMPATIBLE do not apply).
    width = None if "COLUMNS" in os.environ else 110
    return _Console(
        file=_StripLines(stream),  # type: ignore[arg-type]
        width=width,
        highlight=False,
        force_terminal=False,
    )


def _n(value: Any) -> str:
    """A whole number with thousands separators, or a dash when unknown."""
    try:
        if value is None or value != value:  # NaN; pandas' NA raises TypeError (no pandas here)
            return "—"
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "—"


def _usd(value: Any) -> str:
    try:
        if value is None or value != value:  # NaN
            return "—"
        return f"{float(value):,.4f}"
    except (TypeError, ValueError):
        return "—"


def _share(part: Any, whole: Any) -> str:
    """``part / whole`` as a percentage, or a dash when either is unknown."""
    try:
        p, w = float(part), float(whole)
    except (TypeError, ValueError):
        return "—"
    return f"{p / w:.0%}" if w > 0 and p == p else "—"


def _flag(value: Any) -> bool:
    """A boolean cell: missing (None, NaN) is False."""
    return value is not None and value == value and bool(value)


def _abridged(n: int, show_all: bool) -> tuple[list[int], int]:
    """Row positions to show, and after which position a "… N more …" line goes (-1: none)."""
    if show_all or n <= HEAD_ROWS + TAIL_ROWS + 1:
        return list(range(n)), -1
    return [*range(HEAD_ROWS), *range(n - TAIL_ROWS, n)], HEAD_ROWS - 1


def _events_by_request(events: Sequence[Event], terminal: bool) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for e in events:
        kind = e["type"]
        label = _EVENT_LABELS.get(str(kind)) or _shown(kind, terminal)
        labels = out.setdefault(int(e["request"]), [])
        if label not in labels:
            labels.append(label)
    return out


_DROP_WHEN_NARROW: Final = ("context", "thinking", "% window", "before edits", "$")
"""Columns left out, in this order, when the terminal is too narrow for the whole table."""


_TABLE_COLUMNS: Final = (
    "request",
    "source",
    "input_tokens",
    "original_input_tokens",
    "output_tokens",
    "thinking_tokens",
    "context_tokens",
    "context_window",
    "cost_usd",
    "over_window",
)
"""The request columns the table reads (none made of the prompts' estimates: a replay as
recorded makes those only when asked)."""


def _requests_table(sim: Simulation, *, show_all: bool, width: int, terminal: bool) -> Any:
    """The requests, one row each (``sim`` has at least one)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    req = sim.request_columns
    n = len(req["request"])
    cleared = bool((req["original_input_tokens"] != req["input_tokens"]).any())
    by_request = _events_by_request(sim.event_records, terminal)
    positions, gap_after = _abridged(n, show_all)
    rows: list[tuple[dict[str, str], str | None]] = []
    for pos in positions:
        row = {name: req[name][pos] for name in _TABLE_COLUMNS}
        number = int(row["request"])
        source = str(row["source"])
        cells = {
            "request": str(number),
            "prompt": _n(row.get("input_tokens")),
            "before edits": _n(row.get("original_input_tokens")),
            "output": _n(row.get("output_tokens")),
            "thinking": _n(row.get("thinking_tokens")),
            "context": _n(row.get("context_tokens")),
            "% window": _share(row.get("context_tokens"), row.get("context_window")),
            "$": _usd(row.get("cost_usd")),
            "source": _shown(source, terminal),
            "events": ", ".join(by_request.get(number, [])),
        }
        rows.append((cells, "over" if _flag(row.get("over_window")) else None))
        if pos == gap_after:
            rows.append(({name: "…" for name in cells}, "gap"))
    names = [n for n in cells if n != "before edits" or cleared]

    def needed(columns: list[str]) -> int:
        fixed = [c for c in columns if c != "events"]
        cells_width = sum(max(len(c), *(len(r[c]) for r, _ in rows)) for c in fixed)
        return cells_width + 2 * (len(columns) - 1) + 11  # gaps, and room for the events

    for name in _DROP_WHEN_NARROW:  # numbers are never cut: whole columns go instead
        if needed(names) <= width:
            break
        if name in names:
            names.remove(name)

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), caption_justify="left")
    for name in names:
        if name == "events":
            table.add_column(name, min_width=11)
        else:
            justify = "left" if name == "source" else "right"
            table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for cells, mark in rows:
        line: list[Any] = []
        for name in names:
            value = cells[name]
            if name == "% window" and mark == "over":
                line.append(Text(value, style="bold red"))
            elif name == "source" and value != "recorded" and mark != "gap":
                line.append(Text(value, style="italic"))
            else:
                line.append(Text(value))
        estimated = cells["source"] not in ("recorded", "…")
        table.add_row(*line, style="dim" if estimated else None)
    if gap_after >= 0:
        first, last = HEAD_ROWS, n - TAIL_ROWS - 1
        table.caption = f"requests {first}–{last} not shown (--all shows every request)"
    dropped = [n for n in _DROP_WHEN_NARROW if n not in names and (n != "before edits" or cleared)]
    if dropped:
        note = f"columns left out to fit {width} characters: {', '.join(dropped)}"
        table.caption = f"{table.caption}; {note}" if table.caption else note
    return table


def _events_table(sim: Simulation, *, show_all: bool, terminal: bool) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    ev = sim.event_records
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), caption_justify="left")
    for name, justify in (
        ("request", "right"),
        ("type", "left"),
        ("tokens before", "right"),
        ("after", "right"),
        ("cleared", "right"),
        ("detail", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    positions, gap_after = _abridged(len(ev), show_all)
    for pos in positions:
        row = ev[pos]
        table.add_row(
            _n(row["request"]),
            Text(_shown(row["type"], terminal)),
            _n(row["tokens_before"]),
            _n(row["tokens_after"]),
            _n(row["cleared_input_tokens"]),
            Text("" if row["detail"] is None else _shown(row["detail"], terminal)),
        )
        if pos == gap_after:
            table.add_row(*["…"] * len(table.columns))
    if gap_after >= 0:
        table.caption = f"{len(ev) - HEAD_ROWS - TAIL_ROWS:,} events not shown (--all shows them)"
    return table


def _headline(console: Console, summary: SimulationSummary, sim: Simulation) -> None:
    from rich.table import Table
    from rich.text import Text

    from ctxviz.notebook import source_sentence

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    if summary.peak_input_tokens is not None:
        peak = f"{summary.peak_input_tokens:,} tokens at request {summary.peak_request}"
        if summary.peak_window_fraction is not None and summary.context_window:
            peak += (
                f" ({summary.peak_window_fraction:.1%} of the "
                f"{summary.context_window:,}-token window)"
            )
        grid.add_row("Peak prompt", Text(peak))
    if summary.first_over_window is not None:
        grid.add_row(
            "Over the window",
            Text(
                f"{summary.over_window_requests:,} requests, first at request "
                f"{summary.first_over_window}",
                style="bold red",
            ),
        )
    if summary.events:
        grid.add_row(
            "Events",
            Text(
                "; ".join(
                    f"{c.count:,} × {c.type}"
                    + (
                        f" (first at request {c.first_request})"
                        if c.first_request is not None
                        else ""
                    )
                    for c in summary.events
                )
            ),
        )
    else:
        grid.add_row("Events", "none")
    if summary.cleared_input_tokens:
        grid.add_row(
            "Cleared",
            f"{summary.cleared_input_tokens:,} input tokens not sent, summed over all requests",
        )
    if summary.total_cost_usd is not None:
        cost = f"${summary.total_cost_usd:,.4f}"
        if summary.recorded_requests and summary.estimated_requests:
            cost += f" (of which ${summary.estimated_cost_usd or 0:,.4f} on estimated requests)"
        grid.add_row("Cost", cost + ", at list prices with prompt caching")
    grid.add_row("Numbers", Text(_shown(source_sentence(summary), console.is_terminal)))
    hidden = int(getattr(sim, "hidden_prefix_tokens", 0) or 0)
    if sim.conversation.hidden_prefix and hidden:
        grid.add_row(
            "Hidden prefix",
            f"{hidden:,} tokens of system prompt and tools sent but not in the file "
            "(estimated: the first recorded prompt minus its visible messages)",
        )
    console.print(grid)


def _warnings_of(conv: Conversation, sim: Simulation) -> list[str]:
    """The transcript's warnings then the replay's, each once; a note when nothing was sent."""
    warnings = list(dict.fromkeys([*conv.warnings, *sim.warnings]))
    if not len(sim.request_columns["request"]):
        warnings.insert(0, _NO_REQUESTS)
    return warnings


def _warnings(console: Console, warnings: Sequence[str]) -> None:
    from rich.text import Text

    if not warnings:
        return
    console.print(Text(f"Warnings ({len(warnings)}):", style="bold yellow"))
    for w in warnings:
        console.print(Text(f"  - {_shown(w, console.is_terminal)}"), soft_wrap=True)


def _conversation_line(
    console: Console, path: str, conv: Conversation, summary: SimulationSummary
) -> None:
    from rich.text import Text

    terminal = console.is_terminal
    parts = [conv.format, summary.model or conv.model or "model unknown"]
    parts.append(f"{len(conv.messages):,} messages")
    parts.append(f"{summary.requests:,} requests")
    if conv.subagents:
        parts.append(f"{len(conv.subagents):,} sub-agents")
    line = Text(_shown(path, terminal), style="bold")
    line.append("  " + _shown(" · ".join(parts), terminal))
    if conv.title:
        line.append("\n" + _shown(conv.title, terminal), style="italic")
    console.print(line, soft_wrap=True)


def _subagents_table(
    subs: Sequence[tuple[Conversation, SimulationSummary | str]], terminal: bool
) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("#", justify="right")
    table.add_column("agent")
    table.add_column("description", overflow="fold")
    table.add_column("requests", justify="right")
    table.add_column("peak prompt", justify="right")
    table.add_column("$", justify="right")
    table.add_column("source")
    for i, (conv, s) in enumerate(subs):
        agent = Text(_shown(conv.agent_type or "sub-agent", terminal))
        description = Text(_shown(conv.description or conv.title or "", terminal))
        if isinstance(s, str):
            cells = (_n(len(conv.requests)), "—", "—", Text(_shown(s, terminal)))
            table.add_row(str(i), agent, description, *cells)
            continue
        source = (
            "recorded"
            if s.estimated_requests == 0
            else "estimated"
            if s.recorded_requests == 0
            else f"{s.recorded_requests} recorded, {s.estimated_requests} estimated"
        )
        table.add_row(
            str(i),
            agent,
            description,
            _n(s.requests),
            _n(s.peak_input_tokens),
            _usd(s.total_cost_usd),
            source,
        )
    return table


# ---- commands ----------------------------------------------------------------------------------


# Each command imports what it needs (the notebook helpers import pandas): ``ctxviz count`` and
# ``ctxviz models`` start without it.


def _cmd_summary(args: argparse.Namespace, out: TextIO, steps: _Steps) -> int:
    from ctxviz.summary import summarize

    table = _table(args)
    conv = _load(args, steps)
    sim = _simulate(conv, steps, "as recorded", models=table)
    subs: list[tuple[Conversation, SimulationSummary | str]] = []
    if conv.subagents:
        with steps.step("Replaying sub-agents", total=len(conv.subagents)) as advance:
            from ctxviz.simulator import simulate

            for sub in conv.subagents:
                try:
                    subs.append((sub, summarize(simulate(sub, models=table))))
                except ValueError as e:  # one unreadable sub-agent does not hide the others
                    subs.append((sub, f"not replayed: {e}"))
                advance()
    console = _console(out)
    summary = summarize(sim)
    _conversation_line(console, args.file, conv, summary)
    _print_requests(console, sim, show_all=args.all)
    _headline(console, summary, sim)
    _print_events(console, sim, show_all=args.all)
    if subs:
        console.print()
        console.print(f"[bold]Sub-agents ({len(subs)})[/bold], each replayed on its own:")
        console.print(_subagents_table(subs, console.is_terminal))
        console.print(_with_subagents(summary, subs))
        console.print()
    _warnings(console, _warnings_of(conv, sim))
    return EXIT_OK


def _with_subagents(
    summary: SimulationSummary, subs: Sequence[tuple[Conversation, SimulationSummary | str]]
) -> str:
    """The session's spend with its sub-agents' (the headline's cost is its own requests')."""
    from ctxviz.summary import summed_cost_usd

    agents = summed_cost_usd(None if isinstance(s, str) else s.total_cost_usd for _, s in subs)
    if summary.total_cost_usd is None or agents is None:
        return "Sub-agents' cost: not every sub-agent could be priced, so no total is given."
    return (
        f"Sub-agents cost ${agents:,.4f}; with the session's own requests, "
        f"${summary.total_cost_usd + agents:,.4f} in all."
    )


def _print_requests(console: Console, sim: Simulation, *, show_all: bool) -> None:
    if len(sim.request_columns["request"]):
        width, terminal = console.width, console.is_terminal
        console.print(_requests_table(sim, show_all=show_all, width=width, terminal=terminal))
    else:
        console.print("No requests.")


def _print_events(console: Console, sim: Simulation, *, show_all: bool) -> None:
    if sim.event_records:
        console.print()
        console.print("[bold]Events[/bold]")
        console.print(_events_table(sim, show_all=show_all, terminal=console.is_terminal))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (NaN → null, numpy numbers → Python numbers)."""
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


def simulation_json(
    sim: Simulation, conv: Conversation, *, path: str, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The machine-readable result of ``ctxviz simulate --json``."""
    from ctxviz.summary import summarize, summary_json

    summary = summarize(sim)
    return {
        "file": path,
        "format": conv.format,
        "model": summary.model,
        "settings": {
            "model": kwargs.get("model"),
            "context_window": kwargs.get("context_window"),
            "context_management": kwargs.get("context_management"),
            "compaction_control": kwargs.get("compaction_control"),
            "summary_tokens": kwargs.get("summary_tokens"),
            "compaction": kwargs.get("compaction"),
            "thinking_prefix_mismatch": kwargs.get("thinking_prefix_mismatch"),
            "claude_code_autocompact": kwargs.get("claude_code_autocompact"),
            "undo_recorded_compactions": kwargs.get("undo_recorded_compactions", False),
        },
        "summary": summary_json(summary),
        "requests": _records(sim.requests),
        "events": _records(sim.events),
        "applied_edits": [sim.applied_edits(i) for i in range(len(sim.requests))],
        "warnings": _warnings_of(conv, sim),
    }


def _cmd_simulate(args: argparse.Namespace, out: TextIO, steps: _Steps) -> int:
    from ctxviz.notebook import policy_description, summarize

    kwargs = simulate_kwargs(args)  # bad options fail before a long load
    table = _table(args)
    conv = _load(args, steps)
    # --json prints the frames: their estimates are made at once (one pass)
    sim = _simulate(
        conv, steps, "the what-if", models=table, defer_estimates=not args.json, **kwargs
    )
    if args.json:
        data = simulation_json(sim, conv, path=args.file, kwargs=kwargs)
        out.write(_json_text(data) + "\n")
        return EXIT_OK
    recorded = _simulate(conv, steps, "as recorded", models=table) if kwargs else sim
    console = _console(out)
    summary = summarize(sim)
    before = summarize(recorded)
    _conversation_line(console, args.file, conv, summary)
    console.print(f"[bold]Policy:[/bold] {_escape(policy_description(sim.settings), console)}")
    for name in ("context_management", "compaction_control"):
        if name in kwargs:
            text = _json_text(kwargs[name], indent=None)
            console.print(f"  {name} = {_escape(text, console)}", soft_wrap=True)
    _print_requests(console, sim, show_all=args.all)
    _headline(console, summary, sim)
    if kwargs:
        console.print(
            "[bold]As recorded:[/bold] "
            + _escape(
                f"peak prompt {_n(before.peak_input_tokens)} tokens"
                + (f", ${before.total_cost_usd:,.4f}" if before.total_cost_usd is not None else "")
                + f", {sum(c.count for c in before.events):,} events",
                console,
            )
        )
    _print_events(console, sim, show_all=args.all)
    if conv.subagents:
        console.print(
            f"{len(conv.subagents)} sub-agents are conversations of their own: "
            "this replays the main chain only."
        )
    _warnings(console, _warnings_of(conv, sim))
    return EXIT_OK


def _sweep_values(text: str) -> list[int]:
    """``30k..150k/30k`` (a range, both ends in, by a step), ``30k,60k`` or ``30k``."""
    if ".." in text:
        span, _, step_text = text.partition("/")
        low_text, _, high_text = span.partition("..")
        try:
            low, high = _token_count(low_text), _token_count(high_text)
            step = _token_count(step_text) if step_text else 0
        except argparse.ArgumentTypeError as e:
            raise _BadInput(f"--sweep: {e}") from None
        if not step or high < low:
            raise _BadInput(
                f"--sweep: {text!r}: expected LOW..HIGH/STEP with LOW <= HIGH and STEP > 0 "
                "(e.g. 30k..150k/30k)"
            )
        if (high - low) // step >= 100:
            raise _BadInput(f"--sweep: {text!r} makes more than 100 policies")
        return list(range(low, high + 1, step))
    try:
        return [_token_count(v) for v in text.split(",")]
    except argparse.ArgumentTypeError as e:
        raise _BadInput(f"--sweep: {e}") from None


def fleet_policies(args: argparse.Namespace) -> list[Any]:
    """The policies ``ctxviz fleet`` sweeps: each ``--policy``, the what-if flags as one more
    (or, with ``--sweep``, one per value of the grid over them)."""
    from ctxviz import fleet

    policies = [
        fleet.policy_from_json(text, name=" ".join(text.split())) for text in args.policy or ()
    ]
    if args.sweep is not None:
        option, sep, values = args.sweep.partition("=")
        option = option.strip().removeprefix("--")
        if not sep or option not in _SWEEPABLE:
            raise _BadInput(
                f"--sweep: expected OPTION=VALUES with OPTION one of {', '.join(_SWEEPABLE)}, "
                f"got {args.sweep!r}"
            )
        dest = option.replace("-", "_")
        for value in _sweep_values(values):
            grid = argparse.Namespace(**{**vars(args), dest: value})
            policies.append(fleet.checked_policy(simulate_kwargs(grid), name=f"{option}={value:,}"))
    else:
        kwargs = simulate_kwargs(args)
        if kwargs:
            policies.append(fleet.checked_policy(kwargs))
    unique = {p.settings_json: p for p in policies}
    return list(unique.values())


def policies_from_argv(argv: Sequence[str]) -> list[Any]:
    """The policies ``ctxviz fleet`` would sweep with these options (``--policy``, the what-if
    flags, ``--sweep``): the app's Fleet page builds its sweep with the same parsing.
    ``ValueError`` names a bad option."""
    try:
        args = build_parser().parse_args(["fleet", *argv])
    except SystemExit:
        raise ValueError(f"not valid options for ctxviz fleet: {' '.join(argv)}") from None
    try:
        return fleet_policies(args)
    except _BadInput as e:
        raise ValueError(str(e)) from None


def _fleet_table(rows: Sequence[Any], *, show_all: bool, terminal: bool) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), caption_justify="left")
    texts = (("project", 16), ("session", 14), ("started", 10), ("model", 16))
    numbers = ("requests", "peak", "compact", "clear", "over", "$", "agents")
    positions, gap_after = _abridged(len(rows), show_all)
    lines: list[list[Any]] = []
    for pos in positions:
        r = rows[pos]
        name = _stem(r.path) + (f" #{r.conversation}" if r.conversation else "")
        project = r.project or ""  # its end names it best (~/.claude/projects/-Users-me-repo)
        project = project if len(project) <= 16 else "…" + project[-15:]
        cells: list[Any] = [Text(_shown(project, terminal)), Text(_shown(name, terminal))]
        if r.error is not None:
            cells += ["", Text("not read", style="red")] + ["—"] * len(numbers)
        else:
            cells += [
                Text(_shown((r.started or "")[:10], terminal)),
                Text(_shown((r.model or "—").removeprefix("claude-"), terminal)),
                _n(r.requests),
                _n(r.peak_input_tokens),
                _n(r.compactions),
                _n(r.clearings),
                Text(
                    _n(r.over_window_requests), style="bold red" if r.over_window_requests else ""
                ),
                _usd(r.total_cost_usd),
                _agents(r.subagents, r.subagents_cost_usd),
            ]
        lines.append(cells)
        if pos == gap_after:
            lines.append(["…"] * (len(texts) + len(numbers)))
    for name, width in texts:
        table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=width)
    for k, name in enumerate(numbers, start=len(texts)):
        widest = max(len(str(line[k])) for line in lines)  # numbers are never cut
        table.add_column(name, justify="right", no_wrap=True, min_width=max(widest, len(name)))
    for line in lines:
        table.add_row(*line)
    if gap_after >= 0:
        table.caption = (
            f"{len(rows) - HEAD_ROWS - TAIL_ROWS:,} sessions not shown (--all shows them)"
        )
    table.caption = (
        (f"{table.caption}; " if table.caption else "")
        + "peak: the largest prompt (tokens); compact, clear: compactions and context-editing "
        "events; over: requests over the window; $: the session's own requests; agents: its "
        "sub-agents · what they cost"
    )
    return table


def _agents(count: int, cost_usd: float | None) -> str:
    """A fleet row's sub-agents and their cost: ``6 · $3.41``."""
    if not count:
        return "0"
    return f"{count} · " + ("—" if cost_usd is None else f"${cost_usd:,.2f}")


def _sweep_table(totals: Sequence[Any], terminal: bool) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("policy", overflow="fold")
    for name in ("sessions", "tokens saved", "$ saved", "compactions ±", "over window"):
        table.add_column(name, justify="right")
    for t in totals:
        sessions = f"{t.sessions:,}" + (f" ({t.failed:,} failed)" if t.failed else "")
        table.add_row(
            Text(_shown(t.policy, terminal)),
            sessions,
            f"{t.tokens_saved:,}",
            f"{t.usd_saved:,.4f}",
            f"{t.compactions_added:+,}",
            f"{t.recorded_over_window_requests:,} → {t.over_window_requests:,}",
        )
    return table


def _cmd_fleet(args: argparse.Namespace, out: TextIO, steps: _Steps) -> int:
    from rich.text import Text

    from ctxviz import fleet

    policies = fleet_policies(args)  # bad options fail before a long run
    table = _table(args)
    if args.parquet is not None:
        parent = Path(args.parquet).parent
        if not parent.is_dir():
            raise _BadInput(f"{parent}: no such folder for --parquet")
    given = args.paths or fleet.default_paths()
    with steps.step("Finding sessions"):
        paths = fleet.discover(given)
    index_path = args.index or fleet.default_index_path()
    with fleet.Index(index_path) as index:
        with steps.counter(f"Reading {len(paths):,} files") as progress:
            result = fleet.scan(
                paths,
                index=index,
                policies=policies,
                jobs=args.jobs,
                ray_address=args.ray,
                progress=progress,
                timeout_s=args.timeout or fleet.TIMEOUT_S,
                models=table,
            )
        if args.parquet is not None:
            index.export_parquet(paths, args.parquet)
    if args.json:
        data: dict[str, Any] = {"sessions": [r.to_json() for r in result.sessions]}
        data["skipped"] = [{"path": path, "reason": why} for path, why in result.skipped]
        if policies:
            data["sweep"] = [
                {
                    "policy": p.name,
                    "settings": p.settings,
                    "total": total.to_json(),
                    "sessions": [r.to_json() for r in result.sweeps if r.policy == p.settings_json],
                }
                for p, total in zip(policies, result.totals, strict=True)
            ]
        out.write(_json_text(data) + "\n")
        return EXIT_OK
    console = _console(out)
    rows = result.sessions
    skipped = (
        f"{len(result.skipped):,} file{'s' if len(result.skipped) != 1 else ''} skipped, "
        "not transcripts: "
        + "; ".join(f"{os.path.basename(path)} ({why})" for path, why in result.skipped[:5])
        + (f"; … ({len(result.skipped) - 5:,} more)" if len(result.skipped) > 5 else "")
    )
    if not rows:
        console.print(_escape(f"No sessions found under {', '.join(given)}.", console))
        if result.skipped:
            console.print(_escape(skipped, console), soft_wrap=True)
        return EXIT_OK
    console.width = max(console.width, 132)  # 11 columns: wrap the terminal, never the cells
    console.print(_fleet_table(rows, show_all=args.all, terminal=console.is_terminal))
    ok = [r for r in rows if r.error is None]
    cost = sum(r.total_cost_usd or 0.0 for r in ok)
    agents = sum(r.subagents_cost_usd or 0.0 for r in ok)
    line = (
        f"{len(ok):,} sessions, {sum(r.requests or 0 for r in ok):,} requests, "
        f"${cost + agents:,.2f} (sub-agents ${agents:,.2f}); "
        f"{sum(1 for r in ok if r.compactions):,} with a compaction, "
        f"{sum(1 for r in ok if r.over_window_requests):,} over the window"
    )
    failed = len(rows) - len(ok)
    if failed:
        line += f"; {failed:,} not read"
    console.print(line)
    if failed:
        console.print(Text(f"Not read ({failed:,}):", style="bold yellow"))
        for r in rows:
            if r.error is not None:
                text = _shown(f"  - {r.path}: {r.error}", console.is_terminal)
                console.print(Text(text), soft_wrap=True)
    if result.skipped:
        console.print(_escape(skipped, console), soft_wrap=True)
    where = f"Index: {index_path} ({result.read_files:,} files read now, the rest from the index)"
    console.print(_escape(where, console), soft_wrap=True)
    if result.totals:
        console.print()
        console.print("[bold]Policy sweep[/bold] (saved: as recorded minus the policy)")
        console.print(_sweep_table(result.totals, console.is_terminal))
    return EXIT_OK


def _escape(text: str, console: Console) -> str:
    """Text for rich markup: no markup of its own, control characters as ``_shown`` prints."""
    from rich.markup import escape

    return escape(_shown(text, console.is_terminal))


def _json_text(value: Any, indent: int | None = 1) -> str:
    """JSON as printed: non-ASCII text kept, every character ``_shown`` would touch escaped
    (``\\u001b``, ``\\u2028``); JSON's own line breaks are layout."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _CONTROL.sub(lambda m: m[0] if m[0] == "\n" else f"\\u{ord(m[0]):04x}", text)


def _read_body(path: str) -> Any:
    from ctxviz.loading import read_text

    if not os.path.exists(path):
        raise _BadInput(f"{path}: no such file")
    text = read_text(path)
    if not text.strip():
        raise _BadInput(f"{path}: empty file: no request body")
    return _json_arg(text, path)


def _cmd_count(args: argparse.Namespace, out: TextIO, steps: _Steps) -> int:
    from ctxviz.counting import count_tokens
    from ctxviz.errors import TranscriptError
    from ctxviz.tokens import count_text_memo

    takes = (
        "count expected a request body (one JSON object with 'messages'); "
        f"for a whole transcript, run: ctxviz summary {args.file}"
    )
    try:
        body = _read_body(args.file)
    except _BadInput as e:
        if "Extra data" not in str(e):  # several JSON values: a JSONL log or session
            raise
        raise _BadInput(
            f"{args.file}: several JSON values (a JSONL transcript?): {takes}"
        ) from None
    if not isinstance(body, dict) or "messages" not in body:
        got = f"a JSON {type(body).__name__}" if not isinstance(body, dict) else "no 'messages'"
        raise _BadInput(f"{args.file}: {got}: {takes}")
    if args.model:
        body["model"] = args.model
    edits = _edits_from(args)
    if edits is not None:
        body["context_management"] = edits
    table = _table(args)
    with steps.step(f"Counting {args.file}"):
        try:
            counter = count_text_memo if args.exact else None
            answer = count_tokens(body, models=table, counter=counter)
        except TranscriptError as e:
            raise _in_file(args.file, e) from None
    json.dump(answer, out, indent=2)
    out.write("\n")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace, out: TextIO, steps: _Steps) -> int:
    from ctxviz import report
    from ctxviz.notebook import policy_description, summarize

    kwargs = simulate_kwargs(args)
    table = _table(args)
    output = Path(args.output) if args.output else Path(_stem(args.file) + ".html")
    if output.is_dir():
        raise _BadInput(f"{output}: is a folder; give a file name with -o")
    if not output.parent.is_dir():  # fail before a long load and replay
        raise _BadInput(f"{output.parent}: no such folder for the report")
    conv = _load(args, steps)
    what = "the what-if" if kwargs else "as recorded"
    sim = _simulate(conv, steps, what, models=table, defer_estimates=False, **kwargs)
    compare = (
        {"As recorded": _simulate(conv, steps, "as recorded", models=table, defer_estimates=False)}
        if kwargs
        else None
    )
    model = summarize(sim).model
    threshold = table.get(model).long_context_threshold_tokens if model else None
    title = f"ctxviz report: {Path(args.file).name} ({policy_description(sim.settings)})"
    with steps.step("Writing the report"):
        page = report.render(
            sim,
            title=title,
            compare=compare,
            premium_threshold_tokens=threshold,
            warnings=[w for w in _warnings_of(conv, sim) if w not in sim.warnings],
        )
        output.write_text(page, encoding="utf-8")
    size = output.stat().st_size
    shown = _shown(output, out.isatty())
    print(f"wrote {shown} ({size / 1e6:.1f} MB), opens offline", file=out)
    return EXIT_OK


def _k(tokens: int) -> str:
    """1000000 → 1M, 128000 → 128K, 8192 → 8,192."""
    if tokens % 1_000_000 == 0:
        return f"{tokens // 1_000_000}M"
    return f"{tokens // 1000}K" if tokens % 1000 == 0 else f"{tokens:,}"


def _rate(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _cmd_models(args: argparse.Namespace, out: TextIO, steps: _Steps) -> int:
    from rich import box
    from rich.table import Table

    from ctxviz.models import RATE_FIELDS

    table = _table(args)
    if args.json:
        out.write(_json_text(table.to_json(), indent=2) + "\n")
        return EXIT_OK
    console = _console(out)
    terminal = console.is_terminal
    console.width = max(console.width, 140)  # 14 columns: wrap the terminal, never the cells
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), caption_justify="left")
    grid.add_column("model", no_wrap=True)
    grid.add_column("status", no_wrap=True)
    for name in ("window", "out", "input", "5m wr", "1h wr", "read", "output"):
        grid.add_column(name, justify="right", no_wrap=True)
    grid.add_column("long ctx", no_wrap=True)
    grid.add_column("min", justify="right", no_wrap=True)
    grid.add_column("tok", no_wrap=True)
    for m in table:
        tier = "—"
        if m.long_context_threshold_tokens is not None:
            tier = (
                f">{_k(m.long_context_threshold_tokens)} ×{m.long_context_input_multiplier:g}"
                f"/×{m.long_context_output_multiplier:g}"
            )
        grid.add_row(
            _escape(m.id + ("" if m.verified else " ?"), console),
            _escape(m.status, console),
            _k(m.context_window_tokens),
            _k(m.max_output_tokens),
            *(_rate(getattr(m, f)) for f in RATE_FIELDS),
            tier,
            _n(m.min_cacheable_tokens),
            _escape(m.tokenizer, console),
        )
    grid.caption = (
        f"$ per million tokens; '?': figures from third parties only. "
        f"Checked {_shown(table.checked, terminal)}. "
        "Sources, dates, thinking modes and notes: --json."
    )
    console.print(grid)
    for m in table:
        for p in m.price_history:
            what = ", ".join(f"{k} {v}" for k, v in p.changes)
            console.print(_escape(f"{m.id}, requests before {p.until}: {what}", console))
    return EXIT_OK


def _stem(path: str) -> str:
    name = Path(path.rstrip("/\\")).name or "report"
    for suffix in (".gz", ".xz", ".bz2", ".zip", ".jsonl", ".json", ".yaml", ".yml"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "report"


_COMMANDS: Final[Mapping[str, Callable[[argparse.Namespace, TextIO, _Steps], int]]] = {
    "summary": _cmd_summary,
    "simulate": _cmd_simulate,
    "count": _cmd_count,
    "report": _cmd_report,
    "fleet": _cmd_fleet,
    "models": _cmd_models,
}


# ---- entry point -------------------------------------------------------------------------------


def _fail(error: Exception | str, status: int) -> int:
    """One line on stderr (a policy's problems: one line each), whatever the message quotes."""
    terminal = sys.stderr.isatty()
    lines = [str(p) for p in getattr(error, "problems", ())] or [str(error).strip()]
    print(f"ctxviz: error: {_shown(lines[0] or '(no message)', terminal)}", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {_shown(line, terminal)}", file=sys.stderr)
    return status


def _os_message(e: OSError) -> str:
    name = e.filename if e.filename is not None else ""
    match e:
        case FileNotFoundError():
            what = "no such file or folder"
        case IsADirectoryError():
            what = "is a folder, not a file"
        case NotADirectoryError():
            what = "not a folder"
        case PermissionError():
            what = "permission denied"
        case _:
            what = e.strerror or str(e)
    return f"{name}: {what}" if name else what


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ctxviz`` command line; returns the exit status (0, 1 or 2)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version (0) and usage errors (2) print their own text
        return e.code if isinstance(e.code, int) else EXIT_BAD_INPUT
    out = sys.stdout
    try:
        with _Steps(sys.stderr) as steps:
            status = _COMMANDS[args.command](args, out, steps)
        out.flush()  # a reader gone early is seen here, not at exit
        return status
    except (_BadInput, ValueError) as e:  # TranscriptError, a policy the API would reject…
        return _fail(e, EXIT_BAD_INPUT)
    except BrokenPipeError:
        # The reader went away (`ctxviz summary x | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:
        return _fail(_os_message(e), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("ctxviz: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in ctxviz: one line, never a traceback
        where = ""
        tb = e.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        what = _shown(" ".join(str(e).split()), sys.stderr.isatty())
        print(
            f"ctxviz: internal error: {type(e).__name__}: {what}{where} "
            "(a bug in ctxviz; please report it with the command you ran)",
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
