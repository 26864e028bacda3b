"""Generate ctxviz's bundled sample conversations, deterministically.

Run from the repository root:

    python sample_conversations/generate.py            # (re)write the files next to this script
    python sample_conversations/generate.py --out DIR  # write them somewhere else
    python sample_conversations/generate.py --check    # regenerate into a temp dir, compare, exit 1
                                                       # if anything differs

Every conversation here is synthetic and written by this project: the code, logs, prompts and
answers are produced by the seeded generators below (standard library only, no clock, no uuid4).
Usage numbers are computed from a fixed token estimate of the text so that each recorded prompt is
consistent with its own history. See README.md in this folder for what each file shows.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import io
import json
import lzma
import re
import shutil
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from random import Random
from typing import Any

HERE = Path(__file__).resolve().parent

# One constant seed; each sample derives its own stream so that editing one leaves the others alone.
SEED = 20251002

OUTPUT_FILES = (
    "agent_tool_loop.jsonl.xz",
    "thinking_chat.jsonl",
    "interleaved_thinking_tools.json",
    "claude_code_session",
    "claude_code_session.zip",
    "openai_tool_calls.jsonl",
    "request_body.json",
    "web_research_agent.jsonl.xz",
)

Json = dict[str, Any]


def rng_for(offset: int) -> Random:
    """A private random stream for one sample."""
    return Random(SEED + offset)


def unwrap(text: str) -> str:
    """Join hard-wrapped prose into paragraphs, keeping code fences, lists, tables and headings."""
    out: list[str] = []
    in_fence = False
    joinable = False
    for raw in dedent(text).strip("\n").split("\n"):
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            out.append(line)
            in_fence = not in_fence
            joinable = False
        elif in_fence:
            out.append(line)
        elif not line.strip():
            out.append("")
            joinable = False
        elif joinable and not re.match(r"^\s*(- |\* |\d+\. |\||#)", line):
            out[-1] += " " + line.strip()
        else:
            out.append(line)
            joinable = not line.lstrip().startswith(("|", "#"))
    return "\n".join(out)


def dedent(text: str) -> str:
    """Remove the first line's indent from every line (less where a line has less)."""
    # A block that starts right after its opening quotes has an unindented first line: take the
    # indent from the next line then.
    lines = text.strip("\n").split("\n")
    probe = lines if text.startswith("\n") else lines[1:]
    first = next((ln for ln in probe if ln.strip()), "")
    indent = len(first) - len(first.lstrip())
    out = []
    for ln in lines:
        lead = len(ln) - len(ln.lstrip(" "))
        out.append(ln[min(indent, lead) :])
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Deterministic ids
# --------------------------------------------------------------------------------------------

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class Ids:
    """Ids shaped like the real ones, drawn from a seeded stream."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng

    def _chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def msg(self) -> str:
        return "msg_01" + self._chars(B62, 22)

    def toolu(self) -> str:
        return "toolu_01" + self._chars(B62, 22)

    def req(self) -> str:
        return "req_011C" + self._chars(B58, 20)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def signature(self) -> str:
        """An opaque base64 string the size of a real thinking signature."""
        n = self.rng.randrange(180, 420)
        return base64.b64encode(b"\x12" + self.rng.randbytes(n)).decode()

    def srvtoolu(self) -> str:
        return "srvtoolu_01" + self._chars(B62, 22)

    def openai_call(self) -> str:
        return "call_" + self._chars(B62, 24)

    def chatcmpl(self) -> str:
        return "chatcmpl-" + self._chars(B62, 29)


# --------------------------------------------------------------------------------------------
# Token estimate: the one fixed rule every recorded usage number is derived from
# --------------------------------------------------------------------------------------------

MESSAGE_OVERHEAD_TOKENS = 4
TOOLS_PREAMBLE_TOKENS = 346  # the tool-use system prompt the API adds when tools are present


def text_tokens(text: str) -> int:
    """About one token per 3.6 characters (English and code), rounded up."""
    return -(-len(text) * 10 // 36)


def json_tokens(obj: Any) -> int:
    return text_tokens(json.dumps(obj, ensure_ascii=False, sort_keys=True))


def content_tokens(content: str | list[Json]) -> int:
    if isinstance(content, str):
        return text_tokens(content) + 2
    return sum(block_tokens(b) for b in content)


def block_tokens(block: Json) -> int:
    """Prompt tokens of one content block as it sits in a request."""
    kind = block["type"]
    if kind == "text":
        return text_tokens(block["text"]) + 2
    if kind == "thinking":
        return text_tokens(block["thinking"]) + 4
    if kind == "redacted_thinking":
        return len(block["data"]) * 3 // 16 + 4
    if kind == "tool_use":
        return text_tokens(block["name"]) + json_tokens(block["input"]) + 8
    if kind == "tool_result":
        return content_tokens(block.get("content", "")) + 6
    if kind == "server_tool_use":
        return text_tokens(block["name"]) + json_tokens(block["input"]) + 8
    if kind == "web_search_tool_result":
        return json_tokens(block["content"]) + 6
    raise ValueError(f"no estimate for block type {kind!r}")


def system_tokens(system: str | list[Json] | None) -> int:
    if not system:
        return 0
    if isinstance(system, str):
        return text_tokens(system) + 3
    return sum(text_tokens(b["text"]) + 3 for b in system)


def tools_tokens(tools: list[Json] | None) -> int:
    if not tools:
        return 0
    return TOOLS_PREAMBLE_TOKENS + sum(json_tokens(t) + 4 for t in tools)


def is_genuine_user(message: Json) -> bool:
    """A user message that is not only tool results starts a new turn."""
    if message["role"] != "user":
        return False
    content = message["content"]
    if isinstance(content, str):
        return True
    return any(b.get("type") != "tool_result" for b in content)


def output_tokens_of(content: list[Json], thinking_factor: float, redacted_tokens: int) -> int:
    """Tokens a response generated: visible blocks, plus thinking at its full (unsummarised) size.

    Claude 4 models return a summary of their thinking, so the billed thinking is larger than the
    visible text: `thinking_factor` scales it.
    """
    total = 0
    for b in content:
        if b["type"] == "thinking":
            total += int(text_tokens(b["thinking"]) * thinking_factor) + 4
        elif b["type"] == "redacted_thinking":
            total += redacted_tokens
        else:
            total += block_tokens(b)
    return total


# --------------------------------------------------------------------------------------------
# Fake source code, logs and tool output
# --------------------------------------------------------------------------------------------


def plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


DOUBLED = {"commit", "emit", "split", "map", "ship", "drop", "plan"}


def gerund(verb: str) -> str:
    if verb in DOUBLED:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


def article(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def camel(*words: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words)


def lower_camel(*words: str) -> str:
    c = camel(*words)
    return c[:1].lower() + c[1:]


def words(text: str) -> list[str]:
    return text.split()


class Vocab:
    def __init__(
        self, nouns: list[str], verbs: list[str], adjectives: list[str], keys: list[str]
    ) -> None:
        self.nouns = nouns
        self.verbs = verbs
        self.adjectives = adjectives
        self.keys = keys


LEDGER_VOCAB = Vocab(
    nouns=words(
        "shard lease batch record export ledger cursor window bucket job retry checkpoint "
        "manifest partition snapshot watermark segment payload schedule worker account "
        "entry journal offset digest backoff attempt row chunk"
    ),
    verbs=words(
        "load build resolve flush compute merge validate acquire release encode decode "
        "collect schedule apply render split normalize reconcile emit drain refresh prune "
        "claim commit rotate stage"
    ),
    adjectives=words("pending stale active expired partial dirty local remote cached primary"),
    keys=words(
        "shard_id lease_id batch_no attempt next_run_at account_id row_count checksum "
        "export_date cursor deadline owner status window_start window_end region"
    ),
)

WEBHOOK_VOCAB = Vocab(
    nouns=words(
        "event webhook delivery invoice subscription customer payment endpoint signature "
        "topic consumer producer envelope attempt receipt refund plan charge handler "
        "queue payload tenant ledger cursor batch"
    ),
    verbs=words(
        "publish dispatch deliver verify parse handle enqueue ack retry record resolve "
        "build sign load persist emit schedule cancel refund sync map reconcile"
    ),
    adjectives=words("pending failed settled active overdue trial paused retried stale primary"),
    keys=words(
        "eventId tenantId invoiceId subscriptionId customerId attempt deliveredAt topic "
        "signature amountCents currency status idempotencyKey createdAt"
    ),
)

PY_ERRORS = ["ValueError", "KeyError", "LookupError", "RuntimeError", "TimeoutError"]
PY_IMPORTS = [
    "import logging",
    "import time",
    "import json",
    "import threading",
    "import itertools",
    "from collections import defaultdict",
    "from dataclasses import dataclass, field",
    "from datetime import datetime, timedelta, timezone",
    "from typing import Any, Iterable, Iterator, Mapping",
]


class _CodeGen:
    """Source-looking text drawn from a vocabulary: the word pickers both languages share."""

    def __init__(self, rng: Random, vocab: Vocab) -> None:
        self.rng = rng
        self.v = vocab

    def noun(self) -> str:
        return self.rng.choice(self.v.nouns)

    def verb(self) -> str:
        return self.rng.choice(self.v.verbs)

    def key(self) -> str:
        return self.rng.choice(self.v.keys)


class PyGen(_CodeGen):
    """Python-looking modules built from a vocabulary (plausible, not meant to run)."""

    def __init__(self, rng: Random, vocab: Vocab, package: str) -> None:
        super().__init__(rng, vocab)
        self.package = package

    def func_name(self) -> str:
        r = self.rng.random()
        if r < 0.6:
            return f"{self.verb()}_{self.noun()}"
        if r < 0.8:
            return f"{self.verb()}_{self.rng.choice(self.v.adjectives)}_{plural(self.noun())}"
        return f"{self.verb()}_{self.noun()}_{self.noun()}"

    def class_name(self) -> str:
        suffix = self.rng.choice(
            ["Manager", "Store", "Scheduler", "Planner", "Registry", "Writer", "Reader", "Tracker"]
        )
        return camel(self.noun(), suffix)

    def _stmts(self, names: list[str], depth: int, count: int, method: bool) -> list[str]:
        rng = self.rng
        lines: list[str] = []
        pad = "    " * depth
        for _ in range(count):
            kind = rng.choice(
                ["get", "get", "guard", "log", "call", "call", "loop", "dict", "try", "with"]
            )
            if depth > 2 and kind in ("loop", "try", "with"):
                kind = "call"
            src = rng.choice(names)
            if kind == "get":
                new = self.noun()
                lines.append(f'{pad}{new} = {src}.get("{self.key()}")')
                names.append(new)
            elif kind == "guard":
                err = rng.choice(PY_ERRORS)
                lines.append(f"{pad}if {src} is None:")
                lines.append(f'{pad}    raise {err}("{self.noun()} {self.key()} is required")')
            elif kind == "log":
                lvl = rng.choice(["debug", "debug", "info", "warning"])
                lines.append(
                    f'{pad}logger.{lvl}("{self.verb()} %s {self.noun()}(s) for %s", '
                    f"len({src}), {rng.choice(names)})"
                )
            elif kind == "call":
                new = rng.choice([self.noun(), f"{self.noun()}_{self.noun()}", "result"])
                target = f"self._{self.func_name()}" if method else self.func_name()
                args = ", ".join(rng.sample(names, k=min(len(names), rng.randint(1, 2))))
                if rng.random() < 0.4:
                    args += f", {self.key()}={rng.choice(['None', 'True', 'False', '0', '3'])}"
                lines.append(f"{pad}{new} = {target}({args})")
                names.append(new)
            elif kind == "loop":
                item = self.noun()
                coll = f"{src}.{plural(self.noun())}" if rng.random() < 0.5 else src
                lines.append(f"{pad}for {item} in {coll}:")
                lines.append(f"{pad}    if not {item}.{self.key()}:")
                lines.append(f"{pad}        continue")
                lines += self._stmts([*names, item], depth + 1, rng.randint(1, 3), method)
            elif kind == "dict":
                new = f"{self.noun()}_info"
                lines.append(f"{pad}{new} = {{")
                for k in rng.sample(self.v.keys, k=rng.randint(2, 4)):
                    lines.append(f'{pad}    "{k}": {rng.choice(names)},')
                lines.append(f"{pad}}}")
                names.append(new)
            elif kind == "try":
                err = rng.choice(PY_ERRORS)
                lines.append(f"{pad}try:")
                lines += self._stmts(list(names), depth + 1, rng.randint(1, 2), method)
                lines.append(f"{pad}except {err} as exc:")
                lines.append(
                    f'{pad}    logger.warning("could not {self.verb()} {self.noun()}: %s", exc)'
                )
                lines.append(f"{pad}    raise")
            elif kind == "with":
                lines.append(f"{pad}with self._lock:" if method else f"{pad}with {src}.lock():")
                lines += self._stmts(list(names), depth + 1, rng.randint(1, 2), method)
        return lines

    def function(self, name: str, *, method: bool, indent: int) -> list[str]:
        rng = self.rng
        params = list(dict.fromkeys(self.noun() for _ in range(rng.randint(1, 3))))
        typed = [
            f"{p}: {rng.choice(['Mapping[str, Any]', camel(p), 'list[' + camel(p) + ']'])}"
            for p in params
        ]
        if method:
            typed = ["self", *typed]
        ret = rng.choice(["None", "bool", "int", camel(self.noun()), f"list[{camel(self.noun())}]"])
        pad = "    " * indent
        doc = f"{self.verb().capitalize()} the {rng.choice(self.v.adjectives)} "
        doc += f"{plural(self.noun())} of {article(self.noun())}"
        doc += f" {rng.choice(['before', 'after', 'while'])} "
        doc += f"{gerund(self.verb())} them."
        lines = [f"{pad}def {name}({', '.join(typed)}) -> {ret}:", f'{pad}    """{doc}"""']
        lines += self._stmts(list(params), indent + 1, rng.randint(3, 9), method)
        lines.append(f"{pad}    return {rng.choice([*params, 'result', 'None', 'True', '0'])}")
        return lines

    def klass(self, name: str, extra: list[str] | None = None) -> list[str]:
        rng = self.rng
        doc = f"Keeps {plural(self.noun())} and their {plural(self.noun())}."
        lines = [f"class {name}:", f'    """{doc}"""', ""]
        lines.append("    def __init__(self, config: Mapping[str, Any]) -> None:")
        lines.append("        self._config = config")
        lines.append("        self._lock = threading.RLock()")
        for _ in range(rng.randint(2, 4)):
            lines.append(f"        self._{plural(self.noun())}: dict[str, Any] = {{}}")
        lines.append("")
        for _ in range(rng.randint(3, 6)):
            lines += self.function(
                self.func_name() if rng.random() < 0.7 else "_" + self.func_name(),
                method=True,
                indent=1,
            )
            lines.append("")
        if extra:
            lines += [*extra, ""]
        return lines

    def module(self, doc: str, target_chars: int, snippets: list[list[str]] = ()) -> str:
        """A module of about `target_chars`, with handwritten `snippets` spliced in."""
        rng = self.rng
        lines = [f'"""{doc}"""', "", "from __future__ import annotations", ""]
        chosen = rng.sample(PY_IMPORTS, k=5)
        lines += sorted(i for i in chosen if i.startswith("import "))
        lines += sorted(i for i in chosen if i.startswith("from "))
        lines += ["", f"from {self.package} import errors, metrics", ""]
        lines += ["logger = logging.getLogger(__name__)", ""]
        for _ in range(rng.randint(2, 4)):
            lines.append(f"{self.key().upper()}_{self.noun().upper()} = {rng.randint(2, 900)}")
        lines += ["", ""]
        pending = list(snippets)
        while sum(len(ln) + 1 for ln in lines) < target_chars:
            if pending and rng.random() < 0.35:
                lines += [*pending.pop(0), "", ""]
            elif rng.random() < 0.35:
                lines += [*self.klass(self.class_name()), ""]
            else:
                lines += [*self.function(self.func_name(), method=False, indent=0), "", ""]
        for snip in pending:
            lines += [*snip, "", ""]
        return "\n".join(lines).rstrip() + "\n"


class TsGen(_CodeGen):
    """TypeScript-looking modules built from a vocabulary."""

    def func_name(self) -> str:
        if self.rng.random() < 0.7:
            return lower_camel(self.verb(), self.noun())
        return lower_camel(self.verb(), self.rng.choice(self.v.adjectives), plural(self.noun()))

    def _stmts(
        self, names: list[str], depth: int, count: int, method: bool, is_async: bool
    ) -> list[str]:
        rng = self.rng
        pad = "  " * depth
        log = "this.log" if method else "log"
        lines: list[str] = []
        for _ in range(count):
            kind = rng.choice(["get", "guard", "log", "call", "call", "loop", "obj", "try"])
            if depth > 3 and kind in ("loop", "try"):
                kind = "call"
            src = rng.choice(names)
            if kind == "get":
                new = self.noun()
                lines.append(f"{pad}const {new} = {src}.{self.key()};")
                names.append(new)
            elif kind == "guard":
                err = rng.choice(["NotFoundError", "ValidationError", "ConflictError"])
                lines.append(f"{pad}if (!{src}) {{")
                lines.append(f"{pad}  throw new {err}(`{self.noun()} ${{{rng.choice(names)}}}`);")
                lines.append(f"{pad}}}")
            elif kind == "log":
                lines.append(
                    f"{pad}{log}.{rng.choice(['debug', 'info', 'warn'])}("
                    f"{{ {self.key()}: {src} }}, '{self.verb()} {self.noun()}');"
                )
            elif kind == "call":
                new = self.noun() + rng.choice(["", "s", "Result", "Id"])
                target = f"this.{self.func_name()}" if method else self.func_name()
                args = ", ".join(rng.sample(names, k=min(len(names), rng.randint(1, 2))))
                wait = "await " if is_async and rng.random() < 0.6 else ""
                lines.append(f"{pad}const {new} = {wait}{target}({args});")
                names.append(new)
            elif kind == "loop":
                item = self.noun()
                lines.append(f"{pad}for (const {item} of {src}.{plural(self.noun())}) {{")
                lines.append(f"{pad}  if ({item}.status === '{rng.choice(self.v.adjectives)}') {{")
                lines.append(f"{pad}    continue;")
                lines.append(f"{pad}  }}")
                lines += self._stmts([*names, item], depth + 1, rng.randint(1, 3), method, is_async)
                lines.append(f"{pad}}}")
            elif kind == "obj":
                new = lower_camel(self.noun(), "input")
                lines.append(f"{pad}const {new} = {{")
                for k in rng.sample(self.v.keys, k=rng.randint(2, 4)):
                    lines.append(f"{pad}  {k}: {rng.choice(names)},")
                lines.append(f"{pad}}};")
                names.append(new)
            elif kind == "try":
                lines.append(f"{pad}try {{")
                lines += self._stmts(list(names), depth + 1, rng.randint(1, 2), method, is_async)
                lines.append(f"{pad}}} catch (err) {{")
                lines.append(f"{pad}  {log}.error({{ err }}, 'failed to {self.verb()}');")
                lines.append(f"{pad}  throw err;")
                lines.append(f"{pad}}}")
        return lines

    def function(self, name: str, *, method: bool, depth: int) -> list[str]:
        rng = self.rng
        params = list(dict.fromkeys(self.noun() for _ in range(rng.randint(1, 3))))
        sig = ", ".join(f"{p}: {camel(p)}" for p in params)
        ret = rng.choice(["void", "boolean", camel(self.noun()), camel(self.noun()) + "[]"])
        pad = "  " * depth
        head = "async " if rng.random() < 0.6 else ""
        ret = f"Promise<{ret}>" if head else ret
        doc = f"{self.verb().capitalize()} {plural(self.noun())} for {article(self.noun())}."
        lines = [f"{pad}/** {doc} */"]
        if method:
            lines.append(f"{pad}{head}{name}({sig}): {ret} {{")
        else:
            lines.append(f"{pad}export {head}function {name}({sig}): {ret} {{")
        lines += self._stmts(list(params), depth + 1, rng.randint(3, 8), method, bool(head))
        lines.append(f"{pad}  return {rng.choice(params)};")
        lines.append(f"{pad}}}")
        return lines

    def interface(self) -> list[str]:
        name = camel(self.noun(), self.rng.choice(["Record", "Input", "Options", "Event"]))
        lines = [f"export interface {name} {{"]
        for k in self.rng.sample(self.v.keys, k=self.rng.randint(3, 6)):
            lines.append(f"  {k}: {self.rng.choice(['string', 'number', 'Date', 'boolean'])};")
        return [*lines, "}"]

    def klass(self) -> list[str]:
        name = camel(self.noun(), self.rng.choice(["Service", "Repository", "Client", "Worker"]))
        lines = [f"export class {name} {{", "  constructor("]
        for dep in dict.fromkeys(self.noun() for _ in range(self.rng.randint(2, 3))):
            lines.append(f"    private readonly {dep}: {camel(dep)}Port,")
        lines += ["    private readonly log: Logger,", "  ) {}", ""]
        for _ in range(self.rng.randint(3, 6)):
            lines += [*self.function(self.func_name(), method=True, depth=1), ""]
        return [*lines[:-1], "}"]

    def module(self, imports: list[str], target_chars: int, snippets: list[list[str]] = ()) -> str:
        rng = self.rng
        lines = [*list(imports), ""]
        pending = list(snippets)
        while sum(len(ln) + 1 for ln in lines) < target_chars:
            r = rng.random()
            if pending and r < 0.3:
                lines += [*pending.pop(0), ""]
            elif r < 0.45:
                lines += [*self.interface(), ""]
            elif r < 0.7:
                lines += [*self.klass(), ""]
            else:
                lines += [*self.function(self.func_name(), method=False, depth=0), ""]
        for snip in pending:
            lines += [*snip, ""]
        return "\n".join(lines).rstrip() + "\n"


def numbered(text: str, start: int = 1, arrow: bool = False) -> str:
    """`cat -n` style listing (Claude Code's Read uses an arrow instead of a tab)."""
    sep = "\u2192" if arrow else "\t"
    lines = text.rstrip("\n").split("\n")
    return "\n".join(f"{i:>6}{sep}{ln}" for i, ln in enumerate(lines, start))


def grep(files: dict[str, str], pattern: str, under: str = "", limit: int = 250) -> str:
    """Real regex search over the fake repository: `path:line:text` lines."""
    rx = re.compile(pattern)
    hits: list[str] = []
    for path in sorted(files):
        if not path.startswith(under):
            continue
        for n, line in enumerate(files[path].split("\n"), 1):
            if rx.search(line):
                hits.append(f"{path}:{n}:{line}")
    if len(hits) > limit:
        hits = [*hits[:limit], f"[... {len(hits) - limit} more matches truncated]"]
    return "\n".join(hits) if hits else "No matches found"


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


PEOPLE = ["Priya Natarajan", "Tomasz Wrona", "Ama Boateng", "Lucas Ferreira", "Mei Lin Ong"]


def git_log(rng: Random, ids: Ids, subjects: list[str], start: dt.datetime) -> str:
    out = []
    t = start
    for subject in subjects:
        who = rng.choice(PEOPLE)
        email = who.split()[0].lower() + "@example.org"
        out.append(f"commit {ids.hex(40)}")
        out.append(f"Author: {who} <{email}>")
        out.append(f"Date:   {t.strftime('%a %b %d %H:%M:%S %Y')} +0000")
        out.append("")
        out.append(f"    {subject}")
        out.append("")
        t -= dt.timedelta(hours=rng.randint(2, 30), minutes=rng.randint(0, 59))
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# Anthropic Messages API call log
# --------------------------------------------------------------------------------------------

THINKING_TYPES = ("thinking", "redacted_thinking")


class AnthropicLog:
    """A client that resends its whole history on every call, recorded as request/response pairs.

    Usage is derived from the estimate above as the API would report it: thinking of previous
    turns is stripped before counting (for models that strip it), and prompt caching reads the
    longest prefix that an earlier request wrote at one of its cache breakpoints.
    """

    def __init__(
        self,
        ids: Ids,
        rng: Random,
        *,
        model: str,
        max_tokens: int,
        system: str,
        tools: list[Json] | None = None,
        thinking: Json | None = None,
        strips_thinking: bool = True,
        caching: bool = True,
        min_cacheable_tokens: int = 1024,
        pair_extra: Json | None = None,
    ) -> None:
        self.ids = ids
        self.rng = rng
        self.model = model
        self.max_tokens = max_tokens
        self.system = system
        self.tools = tools
        self.thinking = thinking
        self.strips_thinking = strips_thinking
        self.caching = caching
        self.min_cacheable_tokens = min_cacheable_tokens
        self.pair_extra = pair_extra or {}
        self.messages: list[Json] = []
        self.pairs: list[Json] = []
        self._written: list[tuple[list[str], list[int], list[int]]] = []

    def user(self, content: str | list[Json]) -> None:
        self.messages.append({"role": "user", "content": content})

    def prompt_sequence(self) -> tuple[list[str], list[int]]:
        """Keys and token counts of the prompt blocks the model actually sees, in order."""
        keys = ["tools", "system"]
        counts = [tools_tokens(self.tools), system_tokens(self.system)]
        genuine = [i for i, m in enumerate(self.messages) if is_genuine_user(m)]
        last_genuine = genuine[-1] if genuine else 0
        for i, m in enumerate(self.messages):
            keys.append(f"m{i}:{m['role']}")
            counts.append(MESSAGE_OVERHEAD_TOKENS)
            content = m["content"]
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            for j, b in enumerate(content):
                stale = m["role"] == "assistant" and i < last_genuine
                if self.strips_thinking and stale and b["type"] in THINKING_TYPES:
                    continue
                keys.append(f"{i}:{j}:" + json.dumps(b, sort_keys=True))
                counts.append(block_tokens(b))
        return keys, counts

    def prompt_tokens(self) -> int:
        return sum(self.prompt_sequence()[1])

    def _usage(self, output_tokens: int) -> Json:
        keys, counts = self.prompt_sequence()
        prompt = sum(counts)
        prefix = [0]
        for c in counts:
            prefix.append(prefix[-1] + c)
        if not self.caching:
            read, input_tokens = 0, prompt
        else:
            read = 0
            for old_keys, old_prefix, breakpoints in self._written:
                common = 0
                for a, b in zip(old_keys, keys, strict=False):
                    if a != b:
                        break
                    common += 1
                for bp in breakpoints:
                    if bp <= common and old_prefix[bp] >= self.min_cacheable_tokens:
                        read = max(read, old_prefix[bp])
            # This request writes the cache at the end of the system prompt and of the messages;
            # a prefix shorter than the model's minimum is not cached at all.
            self._written.append((keys, prefix, [2, len(keys)]))
            if prompt >= self.min_cacheable_tokens:
                input_tokens = 3 if is_genuine_user(self.messages[-1]) else 1
            else:
                input_tokens = prompt - read
        creation = prompt - read - input_tokens
        return {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": creation,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    def request_body(self) -> Json:
        messages = copy.deepcopy(self.messages)
        body: Json = {"model": self.model, "max_tokens": self.max_tokens}
        if self.caching:
            body["system"] = [
                {"type": "text", "text": self.system, "cache_control": {"type": "ephemeral"}}
            ]
            last = messages[-1]
            if isinstance(last["content"], str):
                last["content"] = [{"type": "text", "text": last["content"]}]
            last["content"][-1]["cache_control"] = {"type": "ephemeral"}
        else:
            body["system"] = self.system
        if self.tools:
            body["tools"] = self.tools
        if self.thinking:
            body["thinking"] = self.thinking
        body["messages"] = messages
        return body

    def respond(
        self,
        content: list[Json],
        stop_reason: str,
        *,
        thinking_factor: float = 1.0,
        redacted_tokens: int = 0,
    ) -> Json:
        request = self.request_body()
        usage = self._usage(output_tokens_of(content, thinking_factor, redacted_tokens))
        response = {
            "id": self.ids.msg(),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": copy.deepcopy(content),
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        self.pairs.append({**self.pair_extra, "request": request, "response": response})
        self.messages.append({"role": "assistant", "content": copy.deepcopy(content)})
        return response


ToolImpl = Callable[[Json], "str | tuple[str, bool]"]


class ToolLoop:
    """Scripted agent steps: each step is one response, its tool calls run by `impls`."""

    def __init__(self, log: AnthropicLog, impls: dict[str, ToolImpl]) -> None:
        self.log = log
        self.impls = impls
        self.rng = log.rng

    def _thinking(self, text: str) -> Json:
        return {"type": "thinking", "thinking": unwrap(text), "signature": self.log.ids.signature()}

    def step(
        self,
        text: str | None,
        calls: list[tuple[str, Json]],
        thinking: str | None = None,
    ) -> None:
        content: list[Json] = []
        if thinking:
            content.append(self._thinking(thinking))
        if text:
            content.append({"type": "text", "text": unwrap(text)})
        uses = []
        for name, tool_input in calls:
            use = {
                "type": "tool_use",
                "id": self.log.ids.toolu(),
                "name": name,
                "input": tool_input,
            }
            content.append(use)
            uses.append(use)
        self.log.respond(content, "tool_use", thinking_factor=self.rng.uniform(1.2, 1.9))
        results = []
        for use in uses:
            out = self.impls[use["name"]](use["input"])
            is_error = False
            if isinstance(out, tuple):
                out, is_error = out
            result: Json = {"type": "tool_result", "tool_use_id": use["id"], "content": out}
            if is_error:
                result["is_error"] = True
            results.append(result)
        self.log.user(results)

    def finish(self, text: str, thinking: str | None = None) -> None:
        content: list[Json] = []
        if thinking:
            content.append(self._thinking(thinking))
        content.append({"type": "text", "text": unwrap(text)})
        self.log.respond(content, "end_turn", thinking_factor=self.rng.uniform(1.2, 1.9))


def tool_def(name: str, description: str, properties: Json, required: list[str]) -> Json:
    return {
        "name": name,
        "description": unwrap(description),
        "input_schema": {"type": "object", "properties": properties, "required": required},
    }


CODING_TOOLS = [
    tool_def(
        "Read",
        """Read a file from the workspace. Returns the content with line numbers (cat -n style).
        Use offset and limit to read part of a long file; by default up to 2000 lines are
        returned.""",
        {
            "file_path": {"type": "string", "description": "Path relative to the workspace root"},
            "offset": {"type": "integer", "description": "First line to read (1-based)"},
            "limit": {"type": "integer", "description": "Number of lines to read"},
        },
        ["file_path"],
    ),
    tool_def(
        "Grep",
        """Search file contents with a regular expression (ripgrep syntax). Returns matching
        lines as path:line:text.""",
        {
            "pattern": {"type": "string", "description": "Regular expression to search for"},
            "path": {"type": "string", "description": "Directory or file to search in"},
            "glob": {"type": "string", "description": "Only search files matching this glob"},
        },
        ["pattern"],
    ),
    tool_def(
        "Write",
        """Create or overwrite a file with the given content. Prefer Edit for changes to an
        existing file.""",
        {
            "file_path": {"type": "string", "description": "Path relative to the workspace root"},
            "content": {"type": "string", "description": "The full content of the file"},
        },
        ["file_path", "content"],
    ),
    tool_def(
        "Edit",
        """Replace one exact occurrence of old_string with new_string in a file. Fails if
        old_string is not found or is not unique.""",
        {
            "file_path": {"type": "string"},
            "old_string": {"type": "string", "description": "Exact text to replace"},
            "new_string": {"type": "string", "description": "Replacement text"},
        },
        ["file_path", "old_string", "new_string"],
    ),
    tool_def(
        "Bash",
        """Run a shell command in the workspace and return its combined stdout and stderr. Commands
        time out after 120 seconds unless timeout is given.""",
        {
            "command": {"type": "string"},
            "timeout": {"type": "integer", "description": "Timeout in seconds"},
        },
        ["command"],
    ),
]


class FakeRepo:
    """The files a scripted agent reads, searches and edits."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read(self, tool_input: Json) -> str | tuple[str, bool]:
        path = tool_input["file_path"]
        if path not in self.files:
            return "Error: file does not exist: " + path, True
        lines = self.files[path].rstrip("\n").split("\n")
        start = tool_input.get("offset", 1)
        limit = tool_input.get("limit", 2000)
        chunk = "\n".join(lines[start - 1 : start - 1 + limit])
        return numbered(chunk, start)

    def grep(self, tool_input: Json) -> str:
        return grep(self.files, tool_input["pattern"], tool_input.get("path", ""))

    def write(self, tool_input: Json) -> str:
        self.files[tool_input["file_path"]] = tool_input["content"]
        return f"File written: {tool_input['file_path']}"

    def edit(self, tool_input: Json) -> str:
        path = tool_input["file_path"]
        text = self.files[path]
        if text.count(tool_input["old_string"]) != 1:
            raise ValueError(f"scripted edit does not match exactly once in {path}")
        self.files[path] = text.replace(tool_input["old_string"], tool_input["new_string"])
        return f"The file {path} has been updated."

    def line_of(self, path: str, needle: str) -> int:
        for n, line in enumerate(self.files[path].split("\n"), 1):
            if needle in line:
                return n
        raise ValueError(f"{needle!r} not in {path}")


# --------------------------------------------------------------------------------------------
# 1. agent_tool_loop.jsonl.xz: a coding agent over four user turns, prompt past 100K
# --------------------------------------------------------------------------------------------

SCHEDULER_SNIPPET = dedent('''
    class RetryScheduler:
        """Re-queues failed export batches with exponential backoff."""

        def __init__(self, store: LeaseStore, policy: BackoffPolicy) -> None:
            self._store = store
            self._policy = policy

        def schedule_retry(self, batch: Mapping[str, Any], error: BaseException) -> RetryTicket:
            """Put a failed batch back on the queue after its backoff delay."""
            lease = self._store.get(batch["lease_id"])
            shard_id = lease.metadata["shard_id"]
            attempt = int(batch.get("attempt", 0)) + 1
            if attempt > self._policy.max_attempts:
                raise errors.RetriesExhausted(shard_id, batch["batch_no"], error)
            delay = self._policy.delay_for(attempt)
            logger.info("retrying shard %s batch %s in %.1fs", shard_id, batch["batch_no"], delay)
            return self._store.enqueue(shard_id, batch, attempt=attempt, not_before=delay)
''').split("\n")

BATCHING_SNIPPET = dedent('''
    def lease_metadata(batch: ExportBatch) -> dict[str, Any]:
        """Metadata stored on the lease of a batch while it is being exported."""
        return {
            "shard": batch.shard.key,
            "window_start": batch.window.start.isoformat(),
            "window_end": batch.window.end.isoformat(),
            "rows": batch.row_count,
        }
''').split("\n")

LEASES_SNIPPET = dedent('''
    @dataclass(frozen=True)
    class Lease:
        """A time-limited claim on one export batch."""

        lease_id: str
        owner: str
        expires_at: datetime
        metadata: Mapping[str, Any] = field(default_factory=dict)

        def expired(self, now: datetime) -> bool:
            return now >= self.expires_at
''').split("\n")

NIGHTLY_SNIPPET = dedent('''
    def run_nightly_export(
        day: date, *, store: LeaseStore, writer: WarehouseWriter
    ) -> ExportReport:
        """Export every shard's ledger entries for `day`; failed batches are retried later."""
        scheduler = RetryScheduler(store, BackoffPolicy.from_config(settings.RETRY))
        report = ExportReport(day=day)
        for batch in plan_batches(day, store=store):
            try:
                writer.write_batch(batch)
                report.done(batch)
            except errors.TransientWriteError as exc:
                report.retried(batch, scheduler.schedule_retry(batch.as_dict(), exc))
        return report
''').split("\n")


def ledger_changelog(rng: Random, gen: PyGen, target_chars: int) -> str:
    out = ["# Changelog", "", "All notable changes to ledgerline are listed here.", ""]
    out += ["## Unreleased", "", "## 2.7.0 (2025-10-01)", "", "### Changed", ""]
    out.append(
        "- Batch leases now store the shard under `shard` (was `shard_id`) to match the"
        " warehouse schema."
    )
    out.append("- The nightly export plans batches per shard window instead of per account.")
    major, minor, patch = 2, 6, 4
    while sum(len(x) + 1 for x in out) < target_chars:
        out += [
            "",
            f"## {major}.{minor}.{patch} (2025-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d})",
        ]
        for section in rng.sample(["Added", "Changed", "Fixed", "Removed"], k=rng.randint(1, 3)):
            out += ["", f"### {section}", ""]
            for _ in range(rng.randint(2, 6)):
                out.append(
                    f"- {gen.verb().capitalize()} {plural(gen.noun())} when the"
                    f" {gen.noun()} {gen.key()} is {rng.choice(gen.v.adjectives)}"
                    f" (#{rng.randint(200, 990)})."
                )
        if patch:
            patch -= 1
        else:
            minor, patch = minor - 1, rng.randint(1, 5)
    return "\n".join(out) + "\n"


def ledger_tests(rng: Random, gen: PyGen, target_chars: int, header: list[str]) -> str:
    lines = list(header)
    while sum(len(x) + 1 for x in lines) < target_chars:
        name = f"test_{gen.verb()}_{gen.noun()}_{rng.choice(gen.v.adjectives)}"
        lines += ["", "", f"def {name}(lease_store, clock, make_batch):"]
        lines.append(
            f'    batch = make_batch(shard="{rng.randint(1, 999):04d}",'
            f" rows={rng.randint(1, 9)}000)"
        )
        for _ in range(rng.randint(1, 4)):
            lines.append(f"    {gen.noun()} = {gen.func_name()}(batch, store=lease_store)")
        lines.append(f"    clock.advance(seconds={rng.randint(1, 600)})")
        for _ in range(rng.randint(1, 3)):
            lines.append(f'    assert batch.{gen.key()} == "{gen.noun()}-{rng.randint(1, 99)}"')
    return "\n".join(lines) + "\n"


def export_log(rng: Random, affected: dict[str, int], lines_count: int) -> str:
    """A night of export logs; `affected` shards hit the KeyError on retry that many times."""
    t = dt.datetime(2025, 10, 2, 0, 30, 0)
    failures = [s for s, n in affected.items() for _ in range(n)]
    rng.shuffle(failures)
    out = []
    lease_n = 0
    for i in range(lines_count):
        t += dt.timedelta(milliseconds=rng.randint(40, 2600))
        shard = f"{rng.randint(1, 640):04d}"
        stamp = iso(t)
        if failures and i > 40 and rng.random() < len(failures) / (lines_count - i):
            shard = failures.pop()
            lease_n += 1
            out.append(
                f"{stamp} WARN  ledgerline.export.writer  shard={shard} batch={rng.randint(1, 40)}"
                f" transient write error: warehouse returned 503, will retry"
            )
            out.append(
                f"{stamp} ERROR ledgerline.export.nightly  shard={shard} retry scheduling failed"
                f" for lease ls-{lease_n:05d}: KeyError: 'shard_id'"
            )
            continue
        r = rng.random()
        if r < 0.75:
            out.append(
                f"{stamp} INFO  ledgerline.export.writer  shard={shard} batch={rng.randint(1, 40)}"
                f" rows={rng.choice([5000, 5000, 5000, rng.randint(100, 4999)])}"
                f" flushed in {rng.randint(180, 2400)}ms"
            )
        elif r < 0.92:
            out.append(
                f"{stamp} DEBUG ledgerline.leases  lease ls-{rng.randint(1, 99999):05d}"
                f" renewed by worker-{rng.randint(1, 12)} until {iso(t + dt.timedelta(minutes=5))}"
            )
        else:
            out.append(
                f"{stamp} INFO  ledgerline.export.nightly  shard={shard} window"
                f" {rng.randint(0, 23):02d}:00-{rng.randint(0, 23):02d}:00 planned"
                f" {rng.randint(1, 40)} batches"
            )
    return "\n".join(out) + "\n"


def pytest_output(
    rng: Random, tests: list[str], failures: dict[str, str], seconds: float, verbose: bool = True
) -> str:
    out = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.12.7, pytest-8.3.3, pluggy-1.5.0",
        "rootdir: /workspace",
        "configfile: pyproject.toml",
        "plugins: anyio-4.6.0, cov-5.0.0",
        f"collected {len(tests)} items",
        "",
    ]
    if verbose:
        for i, t in enumerate(tests, 1):
            status = "FAILED" if t in failures else "PASSED"
            out.append(f"{t} {status}{'':<4}[{100 * i // len(tests):>3}%]")
    else:
        by_file: dict[str, str] = {}
        for t in tests:
            f = t.split("::")[0]
            by_file[f] = by_file.get(f, "") + ("F" if t in failures else ".")
        for f, dots in by_file.items():
            out.append(f"{f} {dots}")
    if failures:
        out += [
            "",
            "=================================== FAILURES ===================================",
        ]
        for t, trace in failures.items():
            name = t.split("::")[-1]
            out += [f"_{'_' * 20} {name} {'_' * 20}", "", trace.rstrip()]
    out.append("")
    n_fail = len(failures)
    summary = f"{n_fail} failed, {len(tests) - n_fail} passed" if n_fail else f"{len(tests)} passed"
    out.append(f"{'=' * 20} {summary} in {seconds:.2f}s {'=' * 20}")
    return "\n".join(out) + "\n"


def build_ledger_repo(rng: Random) -> tuple[FakeRepo, PyGen]:
    gen = PyGen(rng, LEDGER_VOCAB, "ledgerline")
    files = {
        "src/ledgerline/retry/scheduler.py": gen.module(
            "Retry scheduling for export batches.", 52000, [SCHEDULER_SNIPPET]
        ),
        "src/ledgerline/retry/policy.py": gen.module("Backoff policies for retries.", 16000),
        "src/ledgerline/export/nightly.py": gen.module(
            "The nightly ledger export.", 40000, [NIGHTLY_SNIPPET]
        ),
        "src/ledgerline/export/batching.py": gen.module(
            "Planning export batches per shard window.", 38000, [BATCHING_SNIPPET]
        ),
        "src/ledgerline/export/writer.py": gen.module("Writing batches to the warehouse.", 30000),
        "src/ledgerline/leases.py": gen.module(
            "Leases on export batches.", 34000, [LEASES_SNIPPET]
        ),
    }
    header = [
        '"""Tests for the nightly export."""',
        "",
        "from ledgerline.export import nightly",
        "from ledgerline.retry.scheduler import RetryScheduler",
    ]
    files["tests/export/test_nightly.py"] = ledger_tests(rng, gen, 24000, header)
    files["tests/conftest.py"] = gen.module("Shared fixtures.", 9000)
    files["CHANGELOG.md"] = ledger_changelog(rng, gen, 20000)
    return FakeRepo(files), gen


ERRORS_PY_HEAD = dedent('''
    """Exceptions raised by ledgerline."""

    from __future__ import annotations


    class LedgerlineError(Exception):
        """Base class of ledgerline's errors."""


    class TransientWriteError(LedgerlineError):
        """The warehouse refused a write that may succeed later."""


    class RetriesExhausted(LedgerlineError):
        """A batch failed more often than the retry policy allows."""

        def __init__(self, shard_id: str, batch_no: int, cause: BaseException) -> None:
            super().__init__(f"shard {shard_id} batch {batch_no}: {cause}")
            self.shard_id = shard_id
            self.batch_no = batch_no
''')

NEW_TEST_FILE = dedent('''
    """Regression tests: retries must accept lease metadata written before and after 2.7.0."""

    import pytest

    from ledgerline import errors
    from ledgerline.leases import Lease
    from ledgerline.retry.policy import BackoffPolicy
    from ledgerline.retry.scheduler import RetryScheduler


    @pytest.fixture
    def scheduler(lease_store):
        return RetryScheduler(lease_store, BackoffPolicy(base=2.0, factor=2.0, max_attempts=5))


    @pytest.mark.parametrize("key", ["shard", "shard_id"])
    def test_schedule_retry_reads_either_shard_key(scheduler, lease_store, clock, key):
        lease = Lease("ls-00001", owner="worker-1", expires_at=clock.now(), metadata={key: "0412"})
        lease_store.put(lease)
        batch = {"lease_id": "ls-00001", "batch_no": 17, "attempt": 0}

        ticket = scheduler.schedule_retry(batch, errors.TransientWriteError("503"))

        assert ticket.shard_id == "0412"
        assert ticket.attempt == 1


    def test_schedule_retry_rejects_lease_without_shard(scheduler, lease_store, clock):
        lease = Lease("ls-00002", owner="worker-1", expires_at=clock.now(), metadata={})
        lease_store.put(lease)
        batch = {"lease_id": "ls-00002", "batch_no": 3, "attempt": 0}

        with pytest.raises(errors.MalformedLease):
            scheduler.schedule_retry(batch, errors.TransientWriteError("503"))
''')


def build_agent_tool_loop() -> list[Json]:
    rng = rng_for(1)
    ids = Ids(rng_for(101))
    repo, _gen = build_ledger_repo(rng)
    repo.files["src/ledgerline/errors.py"] = ERRORS_PY_HEAD
    affected = {"0017": 6, "0088": 3, "0131": 9, "0245": 2, "0302": 5, "0419": 4, "0577": 7}
    log_text = export_log(rng, affected, 3200)
    log_path = "logs/export-2025-10-02.log"
    repo.files[log_path] = log_text
    sched_path = "src/ledgerline/retry/scheduler.py"
    bug_line = 'shard_id = lease.metadata["shard_id"]'

    system = unwrap("""
        You are a coding agent working in the git repository mounted at /workspace: ledgerline, a
        Python service that exports ledger entries to the data warehouse every night. Use the
        tools to read, search, edit and run code. Read the relevant code before changing it, keep
        changes small and explain what you changed and why. Run the tests that cover your change.
        Never push, never rewrite history, and ask before deleting files.

        Environment: Python 3.12, pytest, the project is installed in editable mode. Today is
        2025-10-02.
        """)
    log = AnthropicLog(
        ids,
        rng,
        model="claude-sonnet-4-5-20250929",
        max_tokens=16000,
        system=system,
        tools=CODING_TOOLS,
    )

    def bash(tool_input: Json) -> str | tuple[str, bool]:
        return bash_outputs.pop(0)

    loop = ToolLoop(
        log,
        {
            "Read": repo.read,
            "Grep": repo.grep,
            "Write": repo.write,
            "Edit": repo.edit,
            "Bash": bash,
        },
    )
    bash_outputs: list[Any] = []

    # Turn 1 ---------------------------------------------------------------------------------
    log.user(
        [
            {
                "type": "text",
                "text": unwrap("""
                    The nightly export failed last night: every batch that needed a retry died
                    with `KeyError: 'shard_id'` in the retry scheduler. It started right after
                    yesterday's 2.7.0 release. Can you find the cause and fix it?
                    """),
            }
        ]
    )
    loop.step(
        "I'll start by finding where `shard_id` is read on the retry path.",
        [("Grep", {"pattern": "shard_id", "path": "src/"})],
    )
    loop.step(
        """The only place that indexes lease metadata with `"shard_id"` is
        `RetryScheduler.schedule_retry`. Let me read the scheduler and the backoff policy it
        uses.""",
        [
            ("Read", {"file_path": sched_path}),
            ("Read", {"file_path": "src/ledgerline/retry/policy.py"}),
        ],
    )
    bash_outputs.append(
        git_log(
            rng,
            ids,
            [
                "Release 2.7.0",
                "batching: plan batches per shard window; rename lease metadata keys",
                "writer: surface warehouse 503s as TransientWriteError",
                "docs: describe the retry policy settings",
                "leases: renew leases in the background worker",
                "ci: run the export tests on Python 3.12",
            ],
            dt.datetime(2025, 10, 1, 16, 42, 9),
        )
    )
    loop.step(
        "The scheduler hasn't changed recently, so let me see what went into the release.",
        [("Bash", {"command": "git log -6"})],
    )
    diff_line = repo.line_of("src/ledgerline/export/batching.py", "def lease_metadata")
    hunk_context = "def lease_metadata(batch: ExportBatch) -> dict[str, Any]:"
    bash_outputs.append(
        dedent(f"""
            diff --git a/src/ledgerline/export/batching.py b/src/ledgerline/export/batching.py
            index 4be2d1c..9a0f7e3 100644
            --- a/src/ledgerline/export/batching.py
            +++ b/src/ledgerline/export/batching.py
            @@ -{diff_line},9 +{diff_line},9 @@ {hunk_context}
                 \"\"\"Metadata stored on the lease of a batch while it is being exported.\"\"\"
                 return {{
            -        "shard_id": batch.shard.key,
            -        "start": batch.window.start.isoformat(),
            -        "end": batch.window.end.isoformat(),
            +        "shard": batch.shard.key,
            +        "window_start": batch.window.start.isoformat(),
            +        "window_end": batch.window.end.isoformat(),
                     "rows": batch.row_count,
                 }}
            """)
    )
    loop.step(
        """The second commit renamed lease metadata keys. Let me look at that change to
        `batching.py`.""",
        [("Bash", {"command": "git show HEAD~1 -- src/ledgerline/export/batching.py"})],
    )
    loop.step(
        """That's the cause: since 2.7.0 new leases store the shard under `"shard"`, while the
        scheduler still reads `"shard_id"`. Let me read the batching module and the lease model to
        see whether anything else depends on the old key, and whether leases written before the
        release can still be in flight.""",
        [
            ("Read", {"file_path": "src/ledgerline/export/batching.py"}),
            ("Read", {"file_path": "src/ledgerline/leases.py"}),
        ],
    )
    loop.step(
        "Now the caller in the nightly job and the writer that raises the transient errors.",
        [
            ("Read", {"file_path": "src/ledgerline/export/nightly.py"}),
            ("Read", {"file_path": "src/ledgerline/export/writer.py"}),
        ],
    )
    bug_at = repo.line_of(sched_path, bug_line)
    bash_outputs.append(
        dedent(f"""
            Traceback (most recent call last):
              File "<stdin>", line 11, in <module>
              File "/workspace/{sched_path}", line {bug_at}, in schedule_retry
                shard_id = lease.metadata["shard_id"]
                           ~~~~~~~~~~~~~~^^^^^^^^^^^^
            KeyError: 'shard_id'
            """),
    )
    repro = dedent("""
                        python - <<'PY'
                        from datetime import datetime, timezone
                        from ledgerline.leases import Lease, MemoryLeaseStore
                        from ledgerline.retry.policy import BackoffPolicy
                        from ledgerline.retry.scheduler import RetryScheduler
                        store = MemoryLeaseStore()
                        now = datetime.now(timezone.utc)
                        store.put(Lease("ls-1", "w1", now, {"shard": "0412", "rows": 5000}))
                        policy = BackoffPolicy(base=2.0, factor=2.0, max_attempts=5)
                        s = RetryScheduler(store, policy)
                        batch = {"lease_id": "ls-1", "batch_no": 17}
                        print(s.schedule_retry(batch, RuntimeError("503")))
                        PY
                        """).strip()
    loop.step(
        "Let me reproduce it with a lease written the way 2.7.0 writes them.",
        [("Bash", {"command": repro})],
    )
    fix = dedent("""
        # Leases written before 2.7.0 carry "shard_id", newer ones "shard"; both can be in flight.
                shard_id = lease.metadata.get("shard", lease.metadata.get("shard_id"))
                if shard_id is None:
                    raise errors.MalformedLease(lease.lease_id, "no shard in lease metadata")
        """).strip()
    loop.step(
        """Reproduced. Leases created before the release (still `"shard_id"`) can be retried
        during the same night, so the scheduler must accept both keys rather than just switching
        to the new one.""",
        [("Edit", {"file_path": sched_path, "old_string": bug_line, "new_string": fix})],
    )
    bash_outputs.append("RetryTicket(shard_id='0412', batch_no=17, attempt=1, not_before=2.0)\n")
    loop.step(
        "Re-running the reproduction:",
        [("Bash", {"command": repro})],
    )
    loop.finish("""
        Fixed. The cause was the 2.7.0 change in `batching.lease_metadata`, which renamed the
        lease metadata key `shard_id` to `shard`; `RetryScheduler.schedule_retry` still read
        `lease.metadata["shard_id"]`, so every retry of a batch leased by the new code raised
        `KeyError`.

        The scheduler now reads `shard` and falls back to `shard_id`, because leases written
        before the release can still be retried the same night. A lease with neither key raises
        a clear `MalformedLease` error instead of a bare `KeyError`. The reproduction now returns
        a retry ticket.

        The existing tests didn't catch this because their fixtures still build leases with the
        old key. I can add a regression test next.
        """)

    # Turn 2 ---------------------------------------------------------------------------------
    log.user(
        [
            {
                "type": "text",
                "text": "Yes please: add a regression test for both lease formats, then run the"
                " whole export test suite.",
            }
        ]
    )
    loop.step(
        "Let me look at the existing export tests and the shared fixtures first.",
        [
            ("Read", {"file_path": "tests/export/test_nightly.py"}),
            ("Read", {"file_path": "tests/conftest.py"}),
        ],
    )
    loop.step(
        "I'll put the regression tests in their own file next to the nightly tests.",
        [
            (
                "Write",
                {"file_path": "tests/export/test_retry_lease_keys.py", "content": NEW_TEST_FILE},
            )
        ],
    )
    test_names = [
        f"tests/export/test_nightly.py::{m.group(1)}"
        for m in re.finditer(r"^def (test_\w+)", repo.files["tests/export/test_nightly.py"], re.M)
    ]
    new_tests = [
        "tests/export/test_retry_lease_keys.py::test_schedule_retry_reads_either_shard_key[shard]",
        "tests/export/test_retry_lease_keys.py::test_schedule_retry_reads_either_shard_key"
        "[shard_id]",
        "tests/export/test_retry_lease_keys.py::test_schedule_retry_rejects_lease_without_shard",
    ]
    failing = new_tests[2]
    trace = dedent(f"""
        scheduler = <ledgerline.retry.scheduler.RetryScheduler object at 0x7f3a2c1d5e50>
        lease_store = <ledgerline.leases.MemoryLeaseStore object at 0x7f3a2c1d6a10>
        clock = FrozenClock(2025-10-02T09:00:00+00:00)

            def test_schedule_retry_rejects_lease_without_shard(scheduler, lease_store, clock):
                lease = Lease("ls-00002", owner="worker-1", expires_at=clock.now(), metadata={{}})
                lease_store.put(lease)
                batch = {{"lease_id": "ls-00002", "batch_no": 3, "attempt": 0}}

        >       with pytest.raises(errors.MalformedLease):
        E       AttributeError: module 'ledgerline.errors' has no attribute 'MalformedLease'

        tests/export/test_retry_lease_keys.py:35: AttributeError
        =========================== short test summary info ============================
        FAILED {failing} - AttributeError: module 'ledgerline.errors' has no attribute 'Malfor...
        """)
    all_tests = test_names + new_tests
    bash_outputs.append(pytest_output(rng, all_tests, {failing: trace}, 4.87))
    loop.step(
        "Now the whole export suite:",
        [("Bash", {"command": "python -m pytest tests/export -v"})],
    )
    loop.step(
        """One failure, and it's real: `errors.MalformedLease`, which the fix raises, doesn't
        exist yet. Let me check the errors module.""",
        [("Read", {"file_path": "src/ledgerline/errors.py"})],
    )
    loop.step(
        "Adding the exception next to `RetriesExhausted`:",
        [
            (
                "Edit",
                {
                    "file_path": "src/ledgerline/errors.py",
                    "old_string": "        self.batch_no = batch_no\n",
                    "new_string": "        self.batch_no = batch_no\n\n\n"
                    + dedent('''
                        class MalformedLease(LedgerlineError):
                            """A lease whose metadata lacks a required field."""

                            def __init__(self, lease_id: str, reason: str) -> None:
                                super().__init__(f"lease {lease_id}: {reason}")
                                self.lease_id = lease_id
                        '''),
                },
            )
        ],
    )
    bash_outputs.append(pytest_output(rng, all_tests, {}, 4.52, verbose=False))
    loop.step(
        "Running the suite again:",
        [("Bash", {"command": "python -m pytest tests/export -q"})],
    )
    loop.finish(f"""
        Done. I added `tests/export/test_retry_lease_keys.py` with three tests: a retry with a
        lease that stores the shard as `shard` and one that stores it as `shard_id` (both must
        yield a ticket for shard 0412), and a lease with neither key, which must raise
        `MalformedLease`.

        The first run failed because `MalformedLease` didn't exist yet; I added it to
        `ledgerline/errors.py`. All {len(all_tests)} export tests pass now.
        """)

    # Turn 3 ---------------------------------------------------------------------------------
    log.user(
        [
            {
                "type": "text",
                "text": unwrap(f"""
                    Last night's export log is in {log_path}. Which shards were affected, and how
                    many batches did each one lose? We want to re-run just those.
                    """),
            }
        ]
    )
    n_lines = log_text.count("\n")
    bash_outputs.append(f"{n_lines} {log_path}\n")
    loop.step(
        "Let me check the size of the log first.",
        [("Bash", {"command": f"wc -l {log_path}"})],
    )
    loop.step(
        f"About {round(n_lines, -2):,} lines. I'll search for the failures rather than reading"
        " all of it.",
        [("Grep", {"pattern": "KeyError|transient write error", "path": "logs/"})],
    )
    first_err = repo.line_of(log_path, "KeyError")
    loop.step(
        """Every `KeyError` follows a transient 503 from the warehouse, as expected: the write
        failed, and scheduling its retry crashed. Let me read the log around the first failure
        to check that nothing else went wrong in between.""",
        [("Read", {"file_path": log_path, "offset": max(1, first_err - 60), "limit": 450})],
    )
    counts: dict[str, int] = {}
    for m in re.finditer(r"shard=(\d+) retry scheduling failed", log_text):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    bash_outputs.append("".join(f"{n:>7} shard={s}\n" for s, n in ranked))
    loop.step(
        "Now counting the lost batches per shard:",
        [
            (
                "Bash",
                {
                    "command": f'grep "retry scheduling failed" {log_path}'
                    ' | grep -o "shard=[0-9]*" | sort | uniq -c | sort -rn'
                },
            )
        ],
    )
    table = "\n".join(f"| {s} | {n} |" for s, n in ranked)
    shard_list = ",".join(s for s, _ in ranked)
    loop.finish(f"""
        {len(counts)} shards were affected, {sum(counts.values())} batches in total. Each lost
        batch appears as a transient 503 from the warehouse followed by the failed retry
        scheduling, so the data was never written:

        | shard | lost batches |
        |---|---|
        {table}

        No other errors appear in the log. Once the fix is deployed you can re-run only these
        shards with:

        ```
        ledgerline export --day 2025-10-02 --shards {shard_list}
        ```
        """)

    # Turn 4 ---------------------------------------------------------------------------------
    log.user(
        [
            {
                "type": "text",
                "text": "Great. Add a CHANGELOG entry under Unreleased and write me a short PR"
                " description.",
            }
        ]
    )
    loop.step("Reading the changelog:", [("Read", {"file_path": "CHANGELOG.md"})])
    loop.step(
        None,
        [
            (
                "Edit",
                {
                    "file_path": "CHANGELOG.md",
                    "old_string": "## Unreleased\n",
                    "new_string": dedent("""
                        ## Unreleased

                        ### Fixed

                        - Retries of export batches no longer fail with `KeyError: 'shard_id'`:
                          the retry scheduler reads the shard from lease metadata written both
                          before and after 2.7.0. A lease without a shard raises `MalformedLease`.
                        """).lstrip("\n"),
                },
            )
        ],
    )
    bash_outputs.append(
        dedent("""
             M CHANGELOG.md
             M src/ledgerline/errors.py
             M src/ledgerline/retry/scheduler.py
            ?? tests/export/test_retry_lease_keys.py
             CHANGELOG.md                      | 6 ++++++
             src/ledgerline/errors.py          | 8 ++++++++
             src/ledgerline/retry/scheduler.py | 5 ++++-
             3 files changed, 18 insertions(+), 1 deletion(-)
            """)
    )
    loop.step(
        "Checking the full set of changes:",
        [("Bash", {"command": "git status --short && git diff --stat"})],
    )
    loop.finish(f"""
        Added the entry under **Unreleased → Fixed**. Here's a PR description:

        **Fix retry scheduling for leases written by 2.7.0**

        2.7.0 renamed the shard key in batch lease metadata from `shard_id` to `shard`, but
        `RetryScheduler.schedule_retry` kept reading `shard_id`. Every batch that hit a transient
        warehouse error and needed a retry failed with `KeyError`, and its data was never
        exported ({sum(counts.values())} batches over {len(counts)} shards on 2025-10-02).

        - The scheduler reads `shard` and falls back to `shard_id`, since leases from before
          the release can still be in flight.
        - New `errors.MalformedLease` for leases with neither key.
        - Regression tests in `tests/export/test_retry_lease_keys.py` cover both formats and
          the malformed case.

        After deploying, re-run the affected shards:
        `ledgerline export --day 2025-10-02 --shards {shard_list}`.
        """)
    assert not bash_outputs
    return log.pairs


# --------------------------------------------------------------------------------------------
# 2. thinking_chat.jsonl: a multi-turn chat with extended thinking, no tools
# --------------------------------------------------------------------------------------------

# (user message, visible thinking or None for redacted thinking, answer)
CHAT_TURNS: list[tuple[str, str | None, str]] = [
    (
        """I'm adding rate limiting to our public REST API: Python/FastAPI, about 40 instances
        behind a load balancer, and we already run Redis. Token bucket or sliding window, which
        would you pick?""",
        """The user has 40 stateless instances, so any per-process limiter is useless: limits
        must live in shared state, and Redis is already there. Token bucket vs sliding window:
        token bucket allows controlled bursts and needs two values per key (tokens, last
        refill); sliding window log is exact but stores one entry per request, expensive at
        high rates; sliding window counter approximates with two fixed windows. For a public
        API, bursts are normal (page loads fire several calls), so token bucket fits. The
        atomicity concern: read-modify-write across 40 instances must be atomic, so a Lua
        script. Mention the alternative when they need strict "N per calendar minute" quotas
        for billing.""",
        """I'd pick a **token bucket**, kept in Redis and updated atomically with a small Lua
        script.

        Why it fits your setup:

        - **Bursts are normal for a public API.** A client loading a page often fires several
          calls at once. A bucket with capacity `C` and refill rate `r` allows a burst of `C`
          and then a steady `r` per second, which matches how people actually call APIs.
        - **It's cheap.** Two numbers per key (tokens left, time of the last refill), one round
          trip per request. A sliding *log* stores one entry per request, which gets expensive
          for high-volume keys.
        - **It's shared.** With 40 instances behind a load balancer, a per-process limiter
          would let a client through 40 times its limit. Redis gives you one bucket per key
          across the fleet.

        When I'd choose a sliding window instead: if the limit is a contractual quota ("10,000
        calls per calendar hour", billed), a **sliding window counter** (two fixed windows,
        weighted) matches what customers expect to see on an invoice better than a bucket does.

        The one thing to get right is atomicity: "read tokens, refill, decrement, write back"
        must happen as a single step, or two instances will both spend the last token. That's
        what the Lua script is for.""",
    ),
    (
        "What would the Lua script look like? One bucket per API key.",
        """They want the script. Keys: one hash per API key, e.g. rl:{api_key}, fields tokens
        and ts. ARGV: capacity, refill rate per second, cost, and now. Compute elapsed, refill
        min(capacity, tokens + elapsed*rate), if tokens >= cost decrement and allow, else deny
        and compute retry-after = (cost - tokens)/rate. Set an expiry so idle keys disappear:
        time to refill fully = capacity/rate, a bit more. Return allowed flag, remaining,
        retry-after. Should I pass now from the app? That raises clock skew, but keep it simple
        first; they may ask. Show the Python call with redis-py register_script.""",
        """Here's a compact version. Each API key gets one Redis hash with two fields, the
        tokens left and the time of the last refill:

        ```lua
        -- KEYS[1] = bucket key, e.g. "rl:{api_key}"
        -- ARGV: capacity, refill_per_sec, cost, now (seconds, float)
        local capacity = tonumber(ARGV[1])
        local rate     = tonumber(ARGV[2])
        local cost     = tonumber(ARGV[3])
        local now      = tonumber(ARGV[4])

        local state  = redis.call("HMGET", KEYS[1], "tokens", "ts")
        local tokens = tonumber(state[1]) or capacity
        local ts     = tonumber(state[2]) or now

        tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)

        local allowed = 0
        local retry_after = 0
        if tokens >= cost then
          tokens = tokens - cost
          allowed = 1
        else
          retry_after = (cost - tokens) / rate
        end

        redis.call("HSET", KEYS[1], "tokens", tokens, "ts", now)
        redis.call("EXPIRE", KEYS[1], math.ceil(capacity / rate) + 60)
        return {allowed, tostring(tokens), tostring(retry_after)}
        ```

        And the call from Python with redis-py:

        ```python
        bucket = redis_client.register_script(LUA_SOURCE)

        def check(api_key: str, capacity: int, rate: float, cost: int = 1):
            allowed, left, retry = bucket(
                keys=[f"rl:{{{api_key}}}"], args=[capacity, rate, cost, time.time()]
            )
            return bool(allowed), float(left), float(retry)
        ```

        A few notes:

        - The floats come back as strings because Redis truncates Lua numbers to integers.
        - The braces in `rl:{api_key}` are a hash tag: on Redis Cluster they keep the key in
          one slot, which scripts require.
        - `EXPIRE` cleans up idle keys once their bucket would be full again anyway, so memory
          stays proportional to active clients.""",
    ),
    (
        """Clock skew between instances worries me. The script takes `now` from whichever app
        server handles the request. Is that a problem?""",
        """Yes, it can be. If instance A is 2 s ahead and B is behind, a request via A sets ts
        in the future; then B computes now - ts negative, and math.max(0, ...) prevents negative
        refill but the bucket won't refill until B's clock passes ts: effectively stalls
        refill. Conversely a behind clock then ahead gives extra refill. Fix: use Redis's clock:
        redis.call("TIME") inside the script. Since Redis 5 (effects replication default in
        7), calling TIME in scripts is allowed with replicate commands; in Redis 7 scripts are
        replicated by effects, so it's fine. Mention it returns seconds and microseconds.""",
        """It can be. With `now` coming from the app servers, two instances whose clocks differ
        by a couple of seconds disagree about how much time has passed:

        - A request through a server that runs **ahead** writes a `ts` in the future. The next
          request through a server that runs **behind** sees `now - ts < 0`; the `math.max`
          stops the bucket from draining, but it won't refill until that server's clock
          catches up. Clients see limits that feel stuck.
        - The opposite order over-refills: the bucket grants tokens for time that didn't
          pass.

        NTP usually keeps skew in the low milliseconds, so this matters most with small
        buckets and fast refill rates, but it's easy to remove entirely: **take the time from
        Redis inside the script**, so every decision uses one clock.

        ```lua
        local t   = redis.call("TIME")           -- {seconds, microseconds}
        local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
        ```

        Then drop `now` from `ARGV`. On Redis 7 scripts replicate their effects rather than
        the script itself, so a non-deterministic call like `TIME` is fine on replicas too.""",
    ),
    (
        """Some customers have much higher limits than the default. How should I store per-customer
        limits without a database lookup on every request?""",
        """Per-customer limits: they need capacity and rate per API key. Options: store limits
        in the Redis hash itself (write on plan change), or in-process cache with TTL in each
        instance loaded from the DB, or in the API key record that's already loaded for auth.
        The auth step already looks up the key (probably cached) so attaching plan limits there
        is the cheapest: no extra lookup. Then pass capacity/rate as ARGV like now. For changes
        to take effect: TTL on local cache, say 60 s, or pub/sub invalidation. Warn about a
        plan downgrade: the bucket may hold more tokens than the new capacity; the script's
        min(capacity, ...) clamps at next refill. Good.""",
        """You almost certainly already look the API key up once per request to authenticate it.
        Put the limits on that same record and you get them for free:

        1. **Attach the plan to the key.** When you load the key for auth (from your DB,
           through whatever cache you use), load `capacity` and `refill_per_sec` with it. Most
           keys just point at a plan (`free`, `pro`, `enterprise`); a few have a custom
           override.
        2. **Cache in process with a short TTL.** An LRU of API key → limits with a 60-second
           TTL in each instance means one DB read per key per minute per instance, which is
           negligible. If you need changes to apply immediately, publish an invalidation
           message on a Redis channel and have each instance drop that key from its cache.
        3. **Pass the limits to the script as arguments**, as it does now. The script stays
           stateless about plans, and Redis never needs to know what a plan is.

        Plan changes behave well with a token bucket: on an upgrade the bucket refills faster
        from the next request on; on a downgrade `math.min(capacity, ...)` clamps the stored
        tokens to the new capacity at the next refill, so nobody keeps a giant balance.

        I'd avoid storing the limits in the Redis bucket hash itself: you'd have two sources of
        truth for a customer's plan, and they will drift.""",
    ),
    (
        """What headers should we return? I've seen the X-RateLimit-* ones and an IETF draft
        with RateLimit and RateLimit-Policy.""",
        None,
        """Return both for now: the IETF fields for clients that follow the standard, and the
        `X-RateLimit-*` trio because most existing client libraries read those.

        On every response:

        ```
        RateLimit-Policy: "default";q=100;w=60
        RateLimit: "default";r=72;t=18
        X-RateLimit-Limit: 100
        X-RateLimit-Remaining: 72
        X-RateLimit-Reset: 18
        ```

        On a rejected request, `429 Too Many Requests` plus `Retry-After` (in seconds, rounded
        up from the script's `retry_after`). `Retry-After` is the one header nearly every HTTP
        client and SDK already honours, so don't skip it.

        Two things to decide up front:

        - **What "reset" means for a bucket.** A token bucket has no fixed window, so report
          the seconds until the bucket is full again: `(capacity - tokens) / rate`. Document
          that, because people will assume a window.
        - **Round consistently.** Report whole tokens rounded down for "remaining" and
          seconds rounded up for "reset" and `Retry-After`, so a client that trusts your
          headers never gets a surprise 429.

        The IETF draft has changed its field syntax between versions, so pin the draft version
        you implement in your API docs.""",
    ),
    (
        "If Redis goes down, should the limiter fail open or closed?",
        """Fail open vs closed. For a public API, rate limiting protects the backend and
        enforces fairness; if Redis is down, failing closed means a total outage of the API
        caused by the limiter, which is worse than briefly unlimited traffic. So fail open, but
        with a safety net: a local in-process limiter per instance as fallback, with limit =
        global limit / number of instances (roughly), so that abuse is still bounded. Also a
        short timeout on the Redis call (e.g. 20-50 ms), a circuit breaker so each request
        doesn't wait for the timeout, metrics and alert. Exception: endpoints where the limit
        protects something costly or security-sensitive (login attempts, password reset, SMS
        sending): fail closed there.""",
        """For most endpoints, **fail open, with a local fallback**, and fail closed only where
        the limit is a security control.

        Failing closed turns a Redis outage into a full API outage, caused by the component
        that was supposed to protect you. Failing open with nothing else, though, leaves you
        unprotected exactly when things are already going wrong. The middle ground:

        - **A tight timeout** on the limiter call (20–50 ms). A slow Redis shouldn't add
          seconds to every request.
        - **A circuit breaker.** After a few consecutive failures, stop calling Redis for a
          few seconds and go straight to the fallback, so requests don't each pay the timeout.
        - **A per-instance fallback bucket** with roughly `limit / instance_count` capacity.
          It's approximate (the load balancer doesn't spread one client perfectly), but it
          bounds abuse while Redis is away.
        - **Metrics and an alert** on "limiter degraded", so falling back is never silent.

        Fail **closed** for the endpoints where the limit is the protection itself: login,
        password reset, anything that sends SMS or email, anything that costs you money per
        call. There a short outage of that endpoint is the safer failure.""",
    ),
    (
        """How do I test this? I'd like unit tests that don't need a real Redis, and ideally don't
        sleep.""",
        """Testing: the Lua script itself is the core logic; without real Redis you can't run
        Lua... fakeredis supports Lua scripting if lupa is installed. Alternative: split the
        arithmetic into a pure Python function mirroring the script, test that with an injected
        clock, and keep one integration test against a real Redis (testcontainers or a Redis
        service in CI) to verify the script matches. But with the TIME change the clock is
        inside Redis, so in tests they can't control time easily. Option: keep an optional
        ARGV override for now in test mode. Hmm, simpler: structure script so that `now` comes
        from ARGV if given, else TIME. That allows deterministic tests with fakeredis[lua]. Show
        a pytest example with a fake clock.""",
        """Two layers work well here.

        **1. The script, against fakeredis with Lua support.** `fakeredis` can run Lua scripts
        when installed with its `lua` extra, so the real script runs in-process. To avoid
        sleeping, let the script accept an optional `now` argument and only fall back to
        `TIME` when it's absent. Production never passes it; tests always do:

        ```lua
        local now = tonumber(ARGV[4])
        if not now then
          local t = redis.call("TIME")
          now = tonumber(t[1]) + tonumber(t[2]) / 1e6
        end
        ```

        ```python
        import fakeredis
        import pytest

        @pytest.fixture
        def limiter():
            r = fakeredis.FakeRedis()
            return Limiter(r, capacity=3, rate=1.0)

        def test_burst_then_refill(limiter):
            t = 1_000.0
            assert [limiter.check("k", now=t)[0] for _ in range(4)] == [True] * 3 + [False]
            allowed, _, retry = limiter.check("k", now=t)
            assert not allowed and retry == pytest.approx(1.0)
            assert limiter.check("k", now=t + 1.0)[0]      # one token refilled
        ```

        **2. One integration test against real Redis** in CI (a Redis service container),
        checking that a burst of `capacity + 1` concurrent requests lets exactly `capacity`
        through. That's the test that proves the atomicity, which no fake can.

        Test the fail-open path separately by injecting a client whose calls raise
        `ConnectionError`, and assert that the fallback bucket is used and the degraded metric
        is incremented.""",
    ),
    (
        "Great. Last thing: a short summary I can paste into the design doc.",
        """Summarize the decisions compactly as a design doc section: algorithm, storage,
        atomicity, clock, per-customer limits, headers, failure mode, testing. Keep it short,
        bullet points, no code.""",
        """**API rate limiting: design summary**

        - **Algorithm:** token bucket per API key (capacity = allowed burst, refill rate =
          sustained limit). Contractual quotas, if we ever bill on them, would use a sliding
          window counter instead.
        - **State:** one Redis hash per key (`tokens`, `ts`), expiring once the bucket would be
          full again.
        - **Atomicity:** refill, check and spend in one Lua script; no read-modify-write from
          the app.
        - **Time:** taken from Redis (`TIME`) inside the script, so app-server clock skew
          doesn't matter; tests may pass an explicit time.
        - **Per-customer limits:** loaded with the API key during authentication, cached in
          process for 60 s, passed to the script as arguments.
        - **Responses:** `RateLimit` / `RateLimit-Policy` and `X-RateLimit-*` on every
          response; 429 with `Retry-After` when rejected. "Reset" = seconds until the bucket
          is full.
        - **Failure mode:** 50 ms timeout and a circuit breaker; fail open to a per-instance
          bucket (limit / instance count), with an alert. Login, password reset and messaging
          endpoints fail closed.
        - **Testing:** script unit tests on fakeredis with an injected clock; one concurrency
          test against real Redis in CI.""",
    ),
]


def build_thinking_chat() -> list[Json]:
    rng = rng_for(2)
    ids = Ids(rng_for(102))
    system = unwrap("""
        You are a senior backend engineer helping a colleague design services. Be concrete:
        prefer a recommendation with its reasons over a survey of options, and show code when
        it helps. Keep answers focused on the question asked.
        """)
    log = AnthropicLog(
        ids,
        rng,
        model="claude-sonnet-4-5-20250929",
        max_tokens=16000,
        system=system,
        thinking={"type": "enabled", "budget_tokens": 8000},
    )
    for user_text, thinking, answer in CHAT_TURNS:
        log.user(unwrap(user_text))
        content: list[Json]
        if thinking is None:
            data = base64.b64encode(b"\x12" + rng.randbytes(rng.randrange(700, 900))).decode()
            content = [{"type": "redacted_thinking", "data": data}]
        else:
            content = [
                {"type": "thinking", "thinking": unwrap(thinking), "signature": ids.signature()}
            ]
        content.append({"type": "text", "text": unwrap(answer)})
        log.respond(
            content,
            "end_turn",
            thinking_factor=rng.uniform(1.5, 2.6),
            redacted_tokens=rng.randrange(300, 520),
        )
    return log.pairs


# --------------------------------------------------------------------------------------------
# 3. interleaved_thinking_tools.json: a tool loop with thinking between tool calls (JSON list)
# --------------------------------------------------------------------------------------------

OPS_TOOLS = [
    tool_def(
        "query_metrics",
        """Query a time series from the metrics store. Returns one row per step with the
        value(s) of the metric.""",
        {
            "service": {"type": "string"},
            "metric": {
                "type": "string",
                "enum": ["latency_ms", "error_rate", "rps", "db_pool_wait_ms", "cpu"],
            },
            "start": {"type": "string", "description": "ISO time"},
            "end": {"type": "string", "description": "ISO time"},
            "step": {"type": "string", "description": "e.g. 5m"},
        },
        ["service", "metric", "start", "end"],
    ),
    tool_def(
        "list_deploys",
        "List deployments of a service since a given time, newest first.",
        {"service": {"type": "string"}, "since": {"type": "string", "description": "ISO time"}},
        ["service", "since"],
    ),
    tool_def(
        "search_logs",
        "Search a service's logs. Returns matching lines, newest last.",
        {
            "service": {"type": "string"},
            "query": {"type": "string"},
            "start": {"type": "string"},
            "end": {"type": "string"},
            "limit": {"type": "integer"},
        },
        ["service", "query"],
    ),
    tool_def(
        "read_file",
        "Read a file from the deployment configuration repository at a given revision.",
        {
            "path": {"type": "string"},
            "revision": {"type": "string", "description": "git revision, default HEAD"},
        },
        ["path"],
    ),
]


def metrics_table(
    rng: Random,
    start: dt.datetime,
    steps: int,
    columns: list[str],
    value: Callable[[int], list[float]],
) -> str:
    out = [f"{'time':<19}" + "".join(f"{c:>12}" for c in columns)]
    for i in range(steps):
        t = start + dt.timedelta(minutes=5 * i)
        vals = value(i)
        out.append(t.strftime("%Y-%m-%dT%H:%MZ  ") + "".join(f"{v:>12.1f}" for v in vals))
    return "\n".join(out) + "\n"


def service_config(rng: Random, service: str, pool: int, extra_keys: int) -> str:
    gen = PyGen(rng, WEBHOOK_VOCAB, service)
    lines = [
        f"# {service}: runtime configuration (rendered by deploy-tool)",
        f"service: {service}",
        "replicas: 24",
        "http:",
        "  port: 8080",
        "  read_timeout: 5s",
        "  write_timeout: 10s",
        "database:",
        "  host: orders-db.internal",
        f"  pool_size: {pool}",
        "  pool_timeout: 2s",
        "  statement_timeout: 3s",
        "features:",
    ]
    for _ in range(extra_keys):
        lines.append(f"  {gen.verb()}_{gen.noun()}_{gen.noun()}: {rng.choice(['true', 'false'])}")
    lines.append("upstreams:")
    for _ in range(extra_keys // 3):
        name = f"{gen.noun()}-{gen.noun()}"
        lines += [
            f"  {name}:",
            f"    url: http://{name}.internal:8080",
            f"    timeout: {rng.choice([200, 500, 800, 1500])}ms",
            f"    retries: {rng.randint(0, 3)}",
        ]
    return "\n".join(lines) + "\n"


def build_interleaved() -> list[Json]:
    rng = rng_for(3)
    ids = Ids(rng_for(103))
    day = dt.datetime(2025, 11, 18, 7, 0)
    system = unwrap("""
        You are the on-call assistant of the payments platform team. You can read metrics,
        deployments, logs and the deployment configuration repository; you cannot change
        anything. Investigate before concluding, cite the evidence (times, values, log lines)
        and say how confident you are. Times are UTC.

        ## Services

        - checkout-api: confirms carts into orders and charges the payment provider. Owns the
          orders database (orders-db). 24 pods. SLO: p99 < 500 ms, error rate < 0.5%.
        - cart-api: cart contents, promotions and totals. Reads orders-db for order history.
          12 pods. SLO: p99 < 300 ms.
        - payments-gateway: the only service that talks to the payment provider; called by
          checkout-api with a 1.5 s timeout and one retry.
        - ledger-writer: consumes order events and writes the accounting ledger; lag alerts
          fire above 5 minutes.

        ## Runbook notes

        - Deploys go out through CI only; every deploy is listed by list_deploys with its merge
          request. Configuration is rendered from the config repository at deploy time: a
          service's file under rendered/ is the exact configuration a revision ran with, and
          templates/ holds the defaults merged under every service.
        - A step change in latency right after a deploy is the most common cause of incidents;
          a slow rise over hours usually means load, a leak or a growing table.
        - Database pools: each pod holds its own pool. When every connection is busy, requests
          queue for up to pool_timeout and then fail with 503 "pool timeout".
        - The payment provider publishes incidents on its status page; a provider incident
          shows as payments-gateway timeouts, not as database waits.
        - When you are done, give: the cause, the evidence, your confidence, and a suggested
          mitigation. Do not suggest changes to services other than the affected ones without
          saying why.
        """)
    log = AnthropicLog(
        ids,
        rng,
        model="claude-sonnet-4-5-20250929",
        max_tokens=16000,
        system=system,
        tools=OPS_TOOLS,
        thinking={"type": "enabled", "budget_tokens": 24000},
        pair_extra={"betas": ["interleaved-thinking-2025-05-14"]},
    )

    def latency(i: int) -> list[float]:
        bad = i >= 32  # 09:40
        p50 = rng.gauss(48, 3) + (9 if bad else 0)
        p99 = rng.gauss(310, 20) * (2.1 if bad else 1.0)
        return [p50, rng.gauss(140, 8) * (1.6 if bad else 1.0), p99]

    def pool_wait(i: int) -> list[float]:
        bad = i >= 32
        return [abs(rng.gauss(180 if bad else 2, 30 if bad else 1)), 8 if bad else 40]

    def rps(i: int) -> list[float]:
        return [rng.gauss(1850 + 12 * i, 60)]

    deploys = dedent("""
        2025-11-18T09:38:12Z  checkout-api  v2025.11.18-412  ok      by ci (merge of #8812)
            "config: move database settings into the shared service template"
        2025-11-18T08:05:47Z  checkout-api  v2025.11.18-409  ok      by ci (merge of #8807)
            "cart totals: round per line item before tax"
        2025-11-17T16:22:03Z  checkout-api  v2025.11.17-401  ok      by ci (merge of #8790)
            "bump http client to 4.12"
        2025-11-17T11:10:40Z  checkout-api  v2025.11.17-398  ok      by ci (merge of #8786)
            "feature flag: wallet_express_pay 25%"
        """)
    logs = []
    t = day.replace(hour=9, minute=41)
    for _ in range(90):
        t += dt.timedelta(seconds=rng.randint(1, 25), milliseconds=rng.randint(0, 999))
        kind = rng.random()
        req = ids.hex(16)
        if kind < 0.55:
            wait = rng.randint(800, 2000)
            logs.append(
                f"{iso(t)} WARN  checkout-api pod=checkout-api-{rng.randint(0, 23):02d}"
                f" req={req} db pool: waited {wait}ms for a connection (size=8, in_use=8,"
                f" waiting={rng.randint(3, 40)})"
            )
        elif kind < 0.8:
            logs.append(
                f"{iso(t)} ERROR checkout-api pod=checkout-api-{rng.randint(0, 23):02d}"
                f" req={req} POST /v2/checkout/{rng.randint(10**7, 10**8)}/confirm 503 after"
                f" {rng.randint(2000, 2100)}ms: pool timeout acquiring connection"
            )
        else:
            logs.append(
                f"{iso(t)} INFO  checkout-api pod=checkout-api-{rng.randint(0, 23):02d}"
                f" req={req} POST /v2/checkout/{rng.randint(10**7, 10**8)}/confirm 200 in"
                f" {rng.randint(400, 1900)}ms"
            )
    logs_text = "\n".join(logs) + "\n"
    config_new = service_config(rng_for(31), "checkout-api", 8, 60)
    config_old = service_config(rng_for(31), "checkout-api", 40, 60)
    template = dedent("""
        # templates/service-defaults.yaml: defaults merged under every service's config
        database:
          pool_size: 8
          pool_timeout: 2s
          statement_timeout: 3s
        http:
          read_timeout: 5s
          write_timeout: 10s
        """)
    cart_deploys = dedent("""
        2025-11-18T10:02:31Z  cart-api  v2025.11.18-77  ok      by ci (merge of #8815)
            "config: move database settings into the shared service template"
        2025-11-17T14:48:09Z  cart-api  v2025.11.17-74  ok      by ci (merge of #8799)
            "promo codes: cache lookups for 30s"
        """)
    cart_config = service_config(rng_for(32), "cart-api", 8, 45).replace(
        "  pool_size: 8\n", "  pool_size: 8  # cart-api peaks at ~3 concurrent queries per pod\n"
    )
    outputs: dict[str, list[str]] = {
        "query_metrics": [
            metrics_table(rng, day, 48, ["p50", "p90", "p99"], latency),
            metrics_table(rng, day, 48, ["rps"], rps),
            metrics_table(rng, day, 48, ["wait_p99", "pool_size"], pool_wait),
            metrics_table(
                rng,
                day,
                48,
                ["p50", "p99"],
                lambda i: [rng.gauss(31, 2), rng.gauss(150, 12)],
            ),
        ],
        "list_deploys": [deploys, cart_deploys],
        "search_logs": [logs_text],
        "read_file": [config_new, config_old, template, cart_config],
    }

    def impl(name: str) -> ToolImpl:
        return lambda tool_input: outputs[name].pop(0)

    loop = ToolLoop(log, {name: impl(name) for name in outputs})
    window = {"start": "2025-11-18T07:00:00Z", "end": "2025-11-18T11:00:00Z", "step": "5m"}

    log.user(
        [
            {
                "type": "text",
                "text": unwrap("""
                    p99 latency on checkout-api roughly doubled sometime this morning and
                    checkout confirmations are timing out for some customers. Can you find out
                    why?
                    """),
            }
        ]
    )
    loop.step(
        None,
        [("query_metrics", {"service": "checkout-api", "metric": "latency_ms", **window})],
        thinking="""
            Start by pinning down when the latency changed and how: a step change points at a
            deploy or config change, a gradual rise at load or a leak. Query latency for
            checkout-api over the morning at 5-minute resolution.
            """,
    )
    loop.step(
        None,
        [("query_metrics", {"service": "checkout-api", "metric": "rps", **window})],
        thinking="""
            Clear step change between 09:35 and 09:40: p99 goes from about 310 ms to 650 ms and
            stays there, p50 moves only from ~48 to ~57 ms. A tail-heavy regression: some
            requests wait for something. Before blaming a deploy, rule out a traffic spike: if
            rps jumped at 09:40 the tail could simply be saturation.
            """,
    )
    loop.step(
        "Traffic is flat through the change, so this isn't load. Checking deployments:",
        [("list_deploys", {"service": "checkout-api", "since": "2025-11-17T00:00:00Z"})],
        thinking="""
            Requests per second rise slowly and smoothly from ~1850 to ~2400 over four hours,
            no step at 09:40. So load is not the trigger. Next: what changed at ~09:38? List
            deploys since yesterday.
            """,
    )
    loop.step(
        None,
        [
            (
                "search_logs",
                {
                    "service": "checkout-api",
                    "query": "level>=WARN",
                    "start": "2025-11-18T09:38:00Z",
                    "end": "2025-11-18T10:15:00Z",
                    "limit": 90,
                },
            )
        ],
        thinking="""
            v2025.11.18-412 was deployed at 09:38:12, two minutes before the step, and its
            change is "move database settings into the shared service template". A config
            refactor touching database settings is a strong suspect for tail latency: pool size
            or timeouts. Look at warnings and errors after the deploy to see what requests wait
            on.
            """,
    )
    loop.step(
        None,
        [("query_metrics", {"service": "checkout-api", "metric": "db_pool_wait_ms", **window})],
        thinking="""
            The logs are dominated by "db pool: waited 800-2000ms for a connection (size=8,
            in_use=8)" warnings and 503s with "pool timeout acquiring connection" after ~2 s,
            which is pool_timeout. Pool size 8 per pod looks small for this service. Confirm
            with the pool wait metric that the waits start exactly at the deploy, and check the
            pool size it reports over time.
            """,
    )
    loop.step(
        "The connection pool shrank from 40 to 8 at the deploy. Let me compare the rendered"
        " config before and after.",
        [
            ("read_file", {"path": "rendered/checkout-api.yaml", "revision": "v2025.11.18-412"}),
            ("read_file", {"path": "rendered/checkout-api.yaml", "revision": "v2025.11.18-409"}),
        ],
        thinking="""
            Pool wait p99 jumps from ~2 ms to ~180 ms at 09:40, and the reported pool size
            drops from 40 to 8 at the same step. That's the mechanism. Now find why: read the
            rendered config of checkout-api at 412 and at 409 to confirm the value and see
            where it comes from.
            """,
    )
    loop.step(
        None,
        [("read_file", {"path": "templates/service-defaults.yaml", "revision": "v2025.11.18-412"})],
        thinking="""
            Rendered config: pool_size 40 at 409, 8 at 412; everything else in the database
            section is identical. The PR moved database settings into the shared template, so
            checkout-api presumably lost its own override and now inherits the template
            default. Read the template to confirm that 8 comes from there.
            """,
    )
    loop.finish(
        """
        **Cause: the 09:38 deploy of checkout-api (v2025.11.18-412) cut its database connection
        pool from 40 to 8 connections per pod.** Confidence: high.

        Evidence:

        - **Timing.** p99 latency steps from ~310 ms to ~650 ms between 09:35 and 09:40 and
          stays there; p50 barely moves. Traffic rises smoothly all morning with no step, so
          it isn't load.
        - **Deploy.** v2025.11.18-412 went out at 09:38:12: "config: move database settings
          into the shared service template" (#8812).
        - **Mechanism.** From 09:40 the logs are full of `db pool: waited 800–2000ms for a
          connection (size=8, in_use=8)`, and confirmations fail with 503 after ~2 s, which is
          `pool_timeout`. Pool wait p99 goes from ~2 ms to ~180 ms, and the reported pool size
          drops from 40 to 8 at the same step.
        - **Why.** The rendered config has `pool_size: 40` at 409 and `pool_size: 8` at 412.
          The PR removed checkout-api's own database section, so it now inherits
          `templates/service-defaults.yaml`, whose default is 8.

        Suggested fix: restore `database.pool_size: 40` as a checkout-api override (or roll
        back to 409), and check the other services migrated by the same change. Their defaults
        may be fine for them, but each one's own value was silently replaced.
        """,
        thinking="""
            Template default pool_size is 8. Everything is consistent: the refactor dropped
            the checkout-api override, the template default of 8 applied, with ~24 pods and this
            query load 8 connections per pod saturate, requests queue for connections, tail
            latency doubles and the ones that wait more than pool_timeout (2 s) fail with 503.
            Summarize with evidence and a fix: restore the override or roll back. Mention other
            services migrated in the same change.
            """,
    )

    log.user([{"type": "text", "text": "Did the same change hit cart-api?"}])
    loop.step(
        None,
        [("list_deploys", {"service": "cart-api", "since": "2025-11-17T00:00:00Z"})],
        thinking="""
            Check whether cart-api got the same template migration, then whether its latency
            moved after that deploy.
            """,
    )
    loop.step(
        None,
        [
            ("query_metrics", {"service": "cart-api", "metric": "latency_ms", **window}),
            ("read_file", {"path": "rendered/cart-api.yaml", "revision": "v2025.11.18-77"}),
        ],
        thinking="""
            cart-api got the same migration at 10:02:31 (v2025.11.18-77). Look at its latency
            around 10:02 and at its rendered config to see what pool size it ended up with.
            """,
    )
    loop.finish(
        """
        cart-api got the same change (v2025.11.18-77 at 10:02:31), but **it wasn't hurt by
        it**: its p50 (~31 ms) and p99 (~150 ms) are flat through the deploy and the rest of
        the morning.

        Its rendered config also ends up with `pool_size: 8`, and a comment in it notes that
        cart-api peaks at about three concurrent queries per pod, so eight connections leave
        plenty of headroom. For cart-api the template default happens to fit; checkout-api is
        the one that needs its override back.
        """,
        thinking="""
            cart-api latency is flat across 10:02, p50 ~31 ms, p99 ~150 ms. Its config has
            pool_size 8 with a comment that it peaks at ~3 concurrent queries per pod, so 8 is
            enough. Not affected.
            """,
    )
    for name, rest in outputs.items():
        assert not rest, name
    return log.pairs


# --------------------------------------------------------------------------------------------
# 4. claude_code_session/: a Claude Code 2.1.x session with a sub-agent and one auto-compaction
# --------------------------------------------------------------------------------------------

CC_VERSION = "2.1.42"
BILLING_TOPICS = ("invoice.paid", "payment.failed", "subscription.renewed")


class ClaudeCodeWriter:
    """Writes Claude Code session records (one API response = one line per content block).

    Token accounting: every request's prompt is the hidden prefix (system prompt and tool
    definitions, which the file never shows) plus the API messages rebuilt from the records.
    Opus 4.6 keeps earlier thinking in context, so nothing is stripped.
    """

    def __init__(
        self,
        ids: Ids,
        rng: Random,
        *,
        session_id: str,
        cwd: str,
        git_branch: str,
        model: str,
        start: dt.datetime,
        hidden_prefix_tokens: int,
        first_cache_read_tokens: int,
        ttl: str,
        agent_id: str | None = None,
    ) -> None:
        self.ids = ids
        self.rng = rng
        self.session_id = session_id
        self.cwd = cwd
        self.git_branch = git_branch
        self.model = model
        self.t = start
        self.hidden = hidden_prefix_tokens
        self.first_cache_read = first_cache_read_tokens
        self.ttl = ttl
        self.agent_id = agent_id
        self.records: list[Json] = []
        self.last_uuid: str | None = None
        self.api_messages: list[Json] = []
        self.prev_prompt: int | None = None
        self.prompts: list[int] = []  # recorded prompt of each request, in order
        self.last_usage: Json = {}
        self.tool_uses = 0

    # -- plumbing -----------------------------------------------------------------------------

    def tick(self, lo: float = 0.05, hi: float = 2.0) -> str:
        self.t += dt.timedelta(milliseconds=int(self.rng.uniform(lo, hi) * 1000))
        return iso(self.t)

    def base(self, parent: str | None) -> Json:
        rec: Json = {"parentUuid": parent, "isSidechain": self.agent_id is not None}
        rec["userType"] = "external"
        rec["cwd"] = self.cwd
        rec["sessionId"] = self.session_id
        rec["version"] = CC_VERSION
        rec["gitBranch"] = self.git_branch
        if self.agent_id:
            rec["agentId"] = self.agent_id
        return rec

    def add(self, rec: Json, *, chain: bool = True) -> Json:
        self.records.append(rec)
        if chain:
            self.last_uuid = rec["uuid"]
        return rec

    def _api_append(self, role: str, block: Json) -> None:
        if self.api_messages and self.api_messages[-1]["role"] == role:
            self.api_messages[-1]["content"].append(block)
        else:
            self.api_messages.append({"role": role, "content": [block]})

    def prompt_tokens(self) -> int:
        return self.hidden + sum(
            MESSAGE_OVERHEAD_TOKENS + content_tokens(m["content"]) for m in self.api_messages
        )

    # -- records ------------------------------------------------------------------------------

    def bookkeeping(self, rec: Json) -> None:
        self.records.append(rec)

    def hook_progress(self, event: str, name: str, command: str) -> None:
        tool_id = self.ids.uuid()
        rec = self.base(self.last_uuid)
        rec["type"] = "progress"
        rec["data"] = {"type": "hook_progress", "hookEvent": event, "hookName": name}
        rec["data"]["command"] = command
        rec.update(parentToolUseID=tool_id, toolUseID=tool_id, timestamp=self.tick())
        rec["uuid"] = self.ids.uuid()
        self.add(rec)

    def side_progress(
        self, data: Json, tool_use_id: str, parent_tool_use_id: str, stamp: str | None = None
    ) -> None:
        """A progress record beside the chain (nothing points to it)."""
        rec = self.base(self.last_uuid)
        rec["type"] = "progress"
        rec["data"] = data
        rec.update(toolUseID=tool_use_id, parentToolUseID=parent_tool_use_id)
        rec.update(uuid=self.ids.uuid(), timestamp=stamp or self.tick())
        self.add(rec, chain=False)

    def user_prompt(self, text: str, *, first_in_agent: bool = False) -> Json:
        uid = self.ids.uuid()
        stamp = self.tick(2, 20)
        if not self.agent_id:
            self.bookkeeping(
                {
                    "type": "file-history-snapshot",
                    "messageId": uid,
                    "snapshot": {"messageId": uid, "trackedFileBackups": {}, "timestamp": stamp},
                    "isSnapshotUpdate": False,
                }
            )
        rec = self.base(None if first_in_agent else self.last_uuid)
        rec["type"] = "user"
        rec["message"] = {"role": "user", "content": text}
        rec.update(uuid=uid, timestamp=stamp)
        if not self.agent_id:
            rec["thinkingMetadata"] = {"maxThinkingTokens": 31999}
            rec["todos"] = []
            rec["permissionMode"] = "default"
        self._api_append("user", {"type": "text", "text": text})
        return self.add(rec)

    def response(self, blocks: list[Json], stop_reason: str, thinking_factor: float) -> list[Json]:
        """One API response: one record per block sharing message.id and requestId."""
        prompt = self.prompt_tokens()
        read = self.prev_prompt if self.prev_prompt is not None else self.first_cache_read
        input_tokens = 3 if self.api_messages[-1]["content"][-1]["type"] == "text" else 1
        creation = prompt - read - input_tokens
        output = output_tokens_of(blocks, thinking_factor, 0)
        self.prev_prompt = prompt
        self.prompts.append(prompt)
        ttl_5m, ttl_1h = (creation, 0) if self.ttl == "5m" else (0, creation)
        early_usage = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": ttl_5m,
                "ephemeral_1h_input_tokens": ttl_1h,
            },
            "output_tokens": 0,
            "service_tier": "standard",
            "inference_geo": "global",
        }
        final_usage = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "output_tokens": output,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
            "cache_creation": {
                "ephemeral_1h_input_tokens": ttl_1h,
                "ephemeral_5m_input_tokens": ttl_5m,
            },
            "inference_geo": "",
            "iterations": [],
        }
        self.last_usage = final_usage
        msg_id = self.ids.msg()
        req_id = self.ids.req()
        placeholder = self.rng.randint(1, min(12, max(1, output - 1)))
        out = []
        self.tick(1.5, 9)
        for i, block in enumerate(blocks):
            last = i == len(blocks) - 1
            usage = final_usage if last else {**early_usage, "output_tokens": placeholder}
            rec = self.base(self.last_uuid)
            rec["message"] = {
                "model": self.model,
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "content": [block],
                "stop_reason": stop_reason if last else None,
                "stop_sequence": None,
                "usage": copy.deepcopy(usage),
            }
            rec.update(requestId=req_id, type="assistant", uuid=self.ids.uuid())
            rec["timestamp"] = self.tick(0.2, 3)
            self._api_append("assistant", block)
            out.append(self.add(rec))
            if block["type"] == "tool_use":
                self.tool_uses += 1
        return out

    def tool_result(
        self,
        use_line: Json,
        content: str | list[Json],
        result: Json,
        is_error: bool | None = None,
    ) -> Json:
        use = use_line["message"]["content"][0]
        block: Json = {"tool_use_id": use["id"], "type": "tool_result", "content": content}
        if is_error is not None:
            block["is_error"] = is_error
        rec = self.base(self.last_uuid)
        rec["type"] = "user"
        rec["message"] = {"role": "user", "content": [block]}
        rec.update(uuid=self.ids.uuid(), timestamp=self.tick(0.1, 4))
        rec["toolUseResult"] = result
        rec["sourceToolAssistantUUID"] = use_line["uuid"]
        self._api_append("user", block)
        return self.add(rec)

    def system(self, subtype: str, **fields: Any) -> Json:
        rec = self.base(self.last_uuid)
        rec["type"] = "system"
        rec["subtype"] = subtype
        rec.update(fields)
        rec.update(timestamp=self.tick(), uuid=self.ids.uuid(), isMeta=False)
        return self.add(rec)

    def compact(self, summary: str, pre_tokens: int) -> None:
        """Auto-compaction: a boundary that cuts the chain, then the summary as a user record."""
        rec = self.base(None)
        rec["logicalParentUuid"] = self.last_uuid
        rec.update(type="system", subtype="compact_boundary", content="Conversation compacted")
        rec.update(isMeta=False, timestamp=self.tick(20, 40), uuid=self.ids.uuid(), level="info")
        rec["compactMetadata"] = {"trigger": "auto", "preTokens": pre_tokens}
        self.add(rec)
        summary_rec = self.base(self.last_uuid)
        summary_rec["type"] = "user"
        summary_rec["message"] = {"role": "user", "content": summary}
        summary_rec.update(isVisibleInTranscriptOnly=True, isCompactSummary=True)
        summary_rec.update(uuid=self.ids.uuid(), timestamp=rec["timestamp"])
        self.add(summary_rec)
        # The API now sees: hidden prefix (still cached) + summary + what follows.
        self.api_messages = [{"role": "user", "content": [{"type": "text", "text": summary}]}]
        self.prev_prompt = self.hidden


class CCSession:
    """Scripted steps on top of ClaudeCodeWriter: tool calls and their Claude Code results."""

    def __init__(self, w: ClaudeCodeWriter, files: dict[str, str]) -> None:
        self.w = w
        self.files = files
        self.bash_outputs: list[str] = []

    def abs(self, rel: str) -> str:
        return f"{self.w.cwd}/{rel}"

    def _thinking(self, text: str) -> Json:
        return {"type": "thinking", "thinking": unwrap(text), "signature": self.w.ids.signature()}

    def step(
        self,
        text: str | None,
        calls: list[tuple[str, Json]],
        thinking: str | None = None,
        stop: str = "tool_use",
    ) -> list[Json]:
        blocks: list[Json] = []
        if thinking:
            blocks.append(self._thinking(thinking))
        if text:
            blocks.append({"type": "text", "text": unwrap(text)})
        for name, tool_input in calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": self.w.ids.toolu(),
                    "name": name,
                    "input": tool_input,
                    "caller": {"type": "direct"},
                }
            )
        lines = self.w.response(blocks, stop, self.w.rng.uniform(1.2, 1.8))
        for line in lines:
            block = line["message"]["content"][0]
            if block["type"] == "tool_use" and block["name"] != "Task":
                self.run(line, block["name"], block["input"])
        return lines

    def finish(self, text: str, thinking: str | None = None) -> None:
        self.step(text, [], thinking=thinking, stop="end_turn")

    def run(self, line: Json, name: str, tool_input: Json) -> None:
        w = self.w
        if name == "Read":
            rel = tool_input["file_path"].removeprefix(w.cwd + "/")
            text = self.files[rel]
            n = text.rstrip("\n").count("\n") + 1
            result = {
                "type": "text",
                "file": {
                    "filePath": tool_input["file_path"],
                    "content": text,
                    "numLines": n,
                    "startLine": 1,
                    "totalLines": n,
                },
            }
            w.tool_result(line, numbered(text, arrow=True), result)
        elif name == "Grep":
            out = grep(self.files, tool_input["pattern"], under="")
            result = {
                "mode": "content",
                "numFiles": len({h.split(":")[0] for h in out.split("\n")}),
                "filenames": [],
                "content": out,
                "numLines": out.count("\n") + 1,
            }
            w.tool_result(line, out, result)
        elif name == "Bash":
            out = self.bash_outputs.pop(0)
            failed = out.startswith("!")
            out = out.removeprefix("!")
            w.side_progress(
                {
                    "type": "bash_progress",
                    "output": out.split("\n")[0],
                    "fullOutput": out.split("\n")[0],
                    "elapsedTimeSeconds": 2,
                    "totalLines": 1,
                    "timeoutMs": 120000,
                },
                "bash-progress-0",
                line["message"]["content"][0]["id"],
            )
            result = {
                "stdout": out,
                "stderr": "",
                "interrupted": False,
                "isImage": False,
                "noOutputExpected": False,
            }
            content = f"Exit code 1\n{out}" if failed else out
            w.tool_result(line, content, result, is_error=failed)
        elif name == "Edit":
            rel = tool_input["file_path"].removeprefix(w.cwd + "/")
            original = self.files[rel]
            old, new = tool_input["old_string"], tool_input["new_string"]
            if original.count(old) != 1:
                raise ValueError(f"scripted edit does not match exactly once in {rel}")
            start = original[: original.index(old)].count("\n") + 1
            self.files[rel] = original.replace(old, new)
            old_lines, new_lines = old.split("\n"), new.split("\n")
            patch = {
                "oldStart": start,
                "oldLines": len(old_lines),
                "newStart": start,
                "newLines": len(new_lines),
                "lines": [f"-{x}" for x in old_lines] + [f"+{x}" for x in new_lines],
            }
            result = {
                "filePath": tool_input["file_path"],
                "oldString": old,
                "newString": new,
                "originalFile": original,
                "structuredPatch": [patch],
                "userModified": False,
                "replaceAll": False,
            }
            w.tool_result(line, f"The file {tool_input['file_path']} has been updated.", result)
        elif name == "Write":
            rel = tool_input["file_path"].removeprefix(w.cwd + "/")
            self.files[rel] = tool_input["content"]
            result = {
                "type": "create",
                "filePath": tool_input["file_path"],
                "content": tool_input["content"],
                "structuredPatch": [],
                "originalFile": None,
            }
            w.tool_result(line, f"File created successfully at: {tool_input['file_path']}", result)
        else:
            raise ValueError(name)


DISPATCHER_SNIPPET = dedent("""
    /** Legacy webhook delivery: one synchronous HTTP call per subscribed endpoint. */
    export class LegacyDispatcher {
      constructor(
        private readonly endpoints: EndpointRepository,
        private readonly signer: WebhookSigner,
        private readonly http: HttpClient,
        private readonly log: Logger,
      ) {}

      /** Deliver one event to every endpoint subscribed to its topic, in the caller's request. */
      async dispatch(topic: string, payload: Record<string, unknown>): Promise<void> {
        const endpoints = await this.endpoints.subscribedTo(topic);
        for (const endpoint of endpoints) {
          const body = JSON.stringify({ topic, payload, sentAt: new Date().toISOString() });
          const signature = this.signer.sign(endpoint.secret, body);
          await this.http.post(endpoint.url, body, { 'Harbor-Signature': signature });
        }
      }
    }
    """).split("\n")

BILLING_HANDLER_SNIPPETS = [
    dedent("""
        export interface BillingDeps {
          dispatcher: LegacyDispatcher;
          log: Logger;
        }
        """).split("\n"),
    dedent("""
        export async function onInvoicePaid(invoice: Invoice, deps: BillingDeps): Promise<void> {
          await deps.dispatcher.dispatch('invoice.paid', {
            invoiceId: invoice.id,
            customerId: invoice.customerId,
            amountCents: invoice.amountCents,
            currency: invoice.currency,
          });
        }
        """).split("\n"),
    dedent("""
        export async function onPaymentFailed(payment: Payment, deps: BillingDeps): Promise<void> {
          deps.log.warn({ paymentId: payment.id }, 'payment failed');
          await deps.dispatcher.dispatch('payment.failed', {
            paymentId: payment.id,
            invoiceId: payment.invoiceId,
            reason: payment.failureReason,
          });
        }
        """).split("\n"),
    dedent("""
        export async function onSubscriptionRenewed(
          subscription: Subscription,
          deps: BillingDeps,
        ): Promise<void> {
          await deps.dispatcher.dispatch('subscription.renewed', {
            subscriptionId: subscription.id,
            customerId: subscription.customerId,
            periodEnd: subscription.currentPeriodEnd.toISOString(),
          });
        }
        """).split("\n"),
]

BUS_INDEX_SNIPPET = dedent("""
    /** An event as consumers receive it. Delivery is at least once: an id can arrive twice. */
    export interface BusEvent<T = unknown> {
      id: string;
      topic: string;
      tenantId: string;
      payload: T;
      publishedAt: string;
    }

    export interface EventBus {
      publish<T>(topic: string, tenantId: string, payload: T): Promise<string>;
      subscribe<T>(
        topic: string,
        consumer: string,
        handler: (event: BusEvent<T>) => Promise<void>,
      ): void;
    }
    """).split("\n")

CONSUMER_SNIPPET = dedent("""
    /**
     * Acknowledge only after the handler resolved. A crash between the handler's side effects and
     * the ack means the event is delivered again: handlers must be idempotent.
     */
    async function handleOne<T>(msg: RawMessage, handler: Handler<T>, log: Logger): Promise<void> {
      const event = decodeEvent<T>(msg);
      await handler(event);
      await msg.ack();
      log.debug({ eventId: event.id, topic: event.topic }, 'event handled');
    }
    """).split("\n")

INVOICE_SNIPPET = dedent("""
    export async function markInvoicePaid(id: string, deps: InvoiceDeps): Promise<Invoice> {
      const invoice = await deps.invoices.update(id, { status: 'paid', paidAt: new Date() });
      await onInvoicePaid(invoice, deps.billing);
      return invoice;
    }
    """).split("\n")

SUBSCRIPTION_SNIPPET = dedent("""
    export async function renewSubscription(
      id: string,
      deps: SubscriptionDeps,
    ): Promise<Subscription> {
      const subscription = await deps.subscriptions.renew(id);
      await onSubscriptionRenewed(subscription, deps.billing);
      return subscription;
    }
    """).split("\n")

BILLING_TEST_SNIPPET = dedent("""
    function makeDeps(): BillingDeps {
      return {
        dispatcher: { dispatch: vi.fn() } as unknown as LegacyDispatcher,
        log: silentLogger(),
      };
    }

    function expectPublished(deps: BillingDeps, topic: string, payload: object): void {
      expect(deps.dispatcher.dispatch).toHaveBeenCalledWith(
        topic,
        expect.objectContaining(payload),
      );
    }
    """).split("\n")

BILLING_TEST_FIXED = dedent("""
    function makeDeps(): BillingDeps {
      return {
        bus: { publish: vi.fn().mockResolvedValue('evt_test') } as unknown as EventBus,
        log: silentLogger(),
      };
    }

    function expectPublished(deps: BillingDeps, topic: string, payload: object): void {
      expect(deps.bus.publish).toHaveBeenCalledWith(
        `billing.${topic}`,
        expect.any(String),
        expect.objectContaining(payload),
      );
    }
    """)

IDEMPOTENCY_TS = dedent("""
    import type { Db } from '../db';
    import type { BusEvent } from './index';

    /**
     * Wrap a bus handler so that it runs at most once per (consumer, event id). The bus delivers
     * at least once; a redelivered event finds its row in processed_events and is skipped, and
     * because the insert shares the handler's transaction, a handler that fails leaves no row
     * behind and will run again on the next delivery.
     */
    export function idempotent<T>(
      db: Db,
      consumer: string,
      handler: (event: BusEvent<T>, tx: Db) => Promise<void>,
    ): (event: BusEvent<T>) => Promise<void> {
      return async (event) => {
        await db.transaction(async (tx) => {
          const inserted = await tx.execute(
            `INSERT INTO processed_events (consumer, event_id, processed_at)
             VALUES ($1, $2, now())
             ON CONFLICT (consumer, event_id) DO NOTHING`,
            [consumer, event.id],
          );
          if (inserted.rowCount === 0) {
            return; // already processed: this is a redelivery
          }
          await handler(event, tx);
        });
      };
    }
    """)

MIGRATION_SQL = dedent("""
    -- 0042: remember which bus events each consumer has processed (idempotent handlers).
    CREATE TABLE processed_events (
      consumer      text        NOT NULL,
      event_id      text        NOT NULL,
      processed_at  timestamptz NOT NULL,
      PRIMARY KEY (consumer, event_id)
    );

    CREATE INDEX processed_events_processed_at ON processed_events (processed_at);
    """)

DOCS_MD = dedent("""
    # Webhooks

    Harbor notifies customer endpoints about billing events: invoices, payments and
    subscriptions. Each endpoint subscribes to topics in the dashboard and receives signed JSON
    payloads.

    ## Signing

    Every request carries a `Harbor-Signature` header: an HMAC-SHA256 of the raw body with the
    endpoint's secret, hex-encoded. Endpoints must verify it before trusting the payload and
    should reject requests whose `sentAt` is more than five minutes old.

    ## Topics

    | topic | when |
    |---|---|
    | `invoice.paid` | an invoice is fully paid |
    | `payment.failed` | a payment attempt was declined |
    | `subscription.renewed` | a subscription started a new period |

    ## Retries

    A delivery that does not get a 2xx response within 10 seconds is retried with exponential
    backoff for up to 24 hours. Endpoints must tolerate receiving the same event more than once.
    """)


def vitest_output(
    rng: Random,
    files: dict[str, int],
    failures: dict[str, list[str]],
    seconds: float,
    start: dt.datetime,
) -> str:
    out = [" RUN  v2.1.4 /home/dev/src/harbor", ""]
    total = sum(files.values())
    n_fail = sum(len(v) for v in failures.values())
    for path, n in files.items():
        ms = rng.randint(8, 240)
        if path in failures:
            out.append(f" \u276f {path} ({n} tests | {len(failures[path])} failed) {ms}ms")
            for name in failures[path]:
                out.append(f"   \u00d7 {name.split(' :: ')[0]} {rng.randint(1, 9)}ms")
        else:
            out.append(f" \u2713 {path} ({n} tests) {ms}ms")
    if failures:
        out += ["", "\u23af" * 24 + f" Failed Tests {n_fail} " + "\u23af" * 24, ""]
        for path, names in failures.items():
            for name in names:
                title, error = name.split(" :: ")
                out += [
                    f" FAIL  {path} > {title}",
                    error,
                    f" \u276f {path}:{rng.randint(40, 400)}:{rng.randint(5, 30)}",
                    "",
                    "\u23af" * 20 + f"[{names.index(name) + 1}/{n_fail}]" + "\u23af" * 20,
                    "",
                ]
    n_files_failed = len(failures)
    out.append("")
    if n_files_failed:
        out.append(
            f" Test Files  {n_files_failed} failed | {len(files) - n_files_failed} passed"
            f" ({len(files)})"
        )
        out.append(f"      Tests  {n_fail} failed | {total - n_fail} passed ({total})")
    else:
        out.append(f" Test Files  {len(files)} passed ({len(files)})")
        out.append(f"      Tests  {total} passed ({total})")
    out.append(f"   Start at  {start.strftime('%H:%M:%S')}")
    out.append(
        f"   Duration  {seconds:.2f}s (transform 412ms, setup 0ms, collect 2.31s, tests 1.07s)"
    )
    return "\n".join(out) + "\n"


def billing_fixtures(rng: Random, ids: Ids, target_chars: int) -> str:
    events = []
    topics = ["invoice.paid", "payment.failed", "subscription.renewed"]
    while len(json.dumps(events, indent=2)) < target_chars:
        topic = rng.choice(topics)
        payload: Json
        if topic == "invoice.paid":
            payload = {
                "invoiceId": f"in_{ids.hex(14)}",
                "customerId": f"cus_{ids.hex(14)}",
                "amountCents": rng.randint(500, 250000),
                "currency": rng.choice(["EUR", "USD", "GBP"]),
            }
        elif topic == "payment.failed":
            payload = {
                "paymentId": f"pay_{ids.hex(14)}",
                "invoiceId": f"in_{ids.hex(14)}",
                "reason": rng.choice(["card_declined", "insufficient_funds", "expired_card"]),
            }
        else:
            payload = {
                "subscriptionId": f"sub_{ids.hex(14)}",
                "customerId": f"cus_{ids.hex(14)}",
                "periodEnd": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                "T00:00:00.000Z",
            }
        events.append(
            {
                "id": f"evt_{ids.hex(20)}",
                "topic": topic,
                "tenantId": f"ten_{rng.randint(1, 40):03d}",
                "payload": payload,
                "publishedAt": f"2026-03-{rng.randint(1, 9):02d}T{rng.randint(0, 23):02d}:"
                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.000Z",
            }
        )
    return json.dumps(events, indent=2) + "\n"


def build_harbor_repo(rng: Random, ids: Ids, scale: float) -> dict[str, str]:
    gen = TsGen(rng, WEBHOOK_VOCAB)

    def size(kb: float) -> int:
        return int(kb * 1000 * scale)

    log_import = "import type { Logger } from '../log';"
    files = {
        "src/webhooks/dispatcher.ts": gen.module(
            [
                "import type { HttpClient } from '../http';",
                log_import,
                "import type { EndpointRepository } from './endpoints';",
                "import type { WebhookSigner } from './signing';",
            ],
            size(38),
            [DISPATCHER_SNIPPET],
        ),
        "src/webhooks/handlers/billing.ts": gen.module(
            [
                "import type { Invoice, Payment, Subscription } from '../../billing/types';",
                "import type { Logger } from '../../log';",
                "import type { LegacyDispatcher } from '../dispatcher';",
            ],
            size(36),
            BILLING_HANDLER_SNIPPETS,
        ),
        "src/bus/index.ts": gen.module([log_import], size(12), [BUS_INDEX_SNIPPET]),
        "src/bus/consumer.ts": gen.module(
            [log_import, "import type { BusEvent, Handler, RawMessage } from './index';"],
            size(40),
            [CONSUMER_SNIPPET],
        ),
        "src/bus/producer.ts": gen.module(
            [log_import, "import type { BusEvent } from './index';"], size(24)
        ),
        "src/billing/invoices.ts": gen.module(
            [log_import, "import { onInvoicePaid } from '../webhooks/handlers/billing';"],
            size(46),
            [INVOICE_SNIPPET],
        ),
        "src/billing/subscriptions.ts": gen.module(
            [log_import, "import { onSubscriptionRenewed } from '../webhooks/handlers/billing';"],
            size(46),
            [SUBSCRIPTION_SNIPPET],
        ),
        "src/billing/events.ts": gen.module([log_import], size(26)),
        "src/db/index.ts": gen.module([log_import, "import { Pool } from 'pg';"], size(32)),
        "test/webhooks/billing.test.ts": gen.module(
            [
                "import { describe, expect, it, vi } from 'vitest';",
                "import type { BillingDeps } from '../../src/webhooks/handlers/billing';",
                "import type { LegacyDispatcher } from '../../src/webhooks/dispatcher';",
                "import { silentLogger } from '../helpers/log';",
            ],
            size(34),
            [BILLING_TEST_SNIPPET],
        ),
        "docs/webhooks.md": DOCS_MD,
    }
    return files


COMPACT_SUMMARY = """
This session continues an earlier conversation that reached the context limit. The summary
below covers the earlier part of the conversation.

Analysis:
The conversation so far, in order:

1. The user asked for a map of how billing webhooks flow today, before moving them from the
   legacy dispatcher (src/webhooks/dispatcher.ts) to the event bus (src/bus).
2. An Explore sub-agent found the call sites: the three billing handlers in
   src/webhooks/handlers/billing.ts, called from src/billing/invoices.ts (markInvoicePaid),
   src/billing/subscriptions.ts (renewSubscription) and the payment retry job through
   onPaymentFailed. Nothing else in the codebase uses LegacyDispatcher for billing.
3. I read the dispatcher, the handlers, the bus (index.ts, consumer.ts, producer.ts) and
   explained the plan; the user approved it and asked for idempotency keys so that
   redelivered events are ignored, and for the tests to be run.
4. I implemented the change, fixed one type error, updated the billing webhook tests, and
   the webhook test files pass. The full suite has not been run since the change.

Summary:

1. Primary Request and Intent:
   - Move billing webhooks (invoice.paid, payment.failed, subscription.renewed) off the
     synchronous LegacyDispatcher onto the event bus.
   - Make the consumers idempotent: a redelivered event (same event id) must not be
     delivered to customer endpoints twice.
   - Run the tests when done.

2. Key Technical Concepts:
   - LegacyDispatcher.dispatch(topic, payload) delivers synchronously inside the caller's
     request: one HTTP POST per subscribed endpoint, signed with the Harbor-Signature HMAC.
   - The bus (src/bus) publishes BusEvent {id, topic, tenantId, payload, publishedAt};
     delivery is at least once, consumers ack after their handler resolves
     (consumer.ts, handleOne), so a crash before the ack means redelivery.
   - Idempotency: a processed_events table keyed by (consumer, event_id); the insert runs in
     the same transaction as the handler, so a failed handler leaves no row and runs again.
   - Topic names on the bus are prefixed with the domain: billing.invoice.paid,
     billing.payment.failed, billing.subscription.renewed. The webhook topic names that
     customers see are unchanged.

3. Files and Code Sections:
   - src/webhooks/dispatcher.ts: LegacyDispatcher, unchanged; still used by non-billing
     webhooks.
   - src/webhooks/handlers/billing.ts: BillingDeps now has `bus: EventBus` instead of
     `dispatcher: LegacyDispatcher`; onInvoicePaid, onPaymentFailed and onSubscriptionRenewed
     call `deps.bus.publish('billing.<topic>', tenantId, payload)`.
   - src/bus/idempotency.ts (new): `idempotent(db, consumer, handler)` wraps a handler:
     ```ts
     await db.transaction(async (tx) => {
       const inserted = await tx.execute(
         `INSERT INTO processed_events (consumer, event_id, processed_at)
          VALUES ($1, $2, now()) ON CONFLICT (consumer, event_id) DO NOTHING`,
         [consumer, event.id],
       );
       if (inserted.rowCount === 0) return; // redelivery
       await handler(event, tx);
     });
     ```
   - src/db/migrations/0042_processed_events.sql (new): table processed_events
     (consumer, event_id, processed_at), primary key (consumer, event_id), index on
     processed_at for cleanup.
   - src/billing/invoices.ts and src/billing/subscriptions.ts: markInvoicePaid and
     renewSubscription pass the invoice's / subscription's tenantId through to the handlers.
   - test/webhooks/billing.test.ts: makeDeps() now builds `{ bus: { publish: vi.fn() } }`,
     and expectPublished(deps, topic, payload) asserts on `deps.bus.publish` with the
     `billing.` prefix.
   - test/fixtures/billing-events.json: recorded event payloads used by the tests; read, not
     changed. Every event has id, topic, tenantId, payload and publishedAt; tenant ids look
     like ten_001..ten_040.
   - The handlers after the change (src/webhooks/handlers/billing.ts):
     ```ts
     export interface BillingDeps {
       bus: EventBus;
       log: Logger;
     }

     export async function onInvoicePaid(invoice: Invoice, deps: BillingDeps): Promise<void> {
       await deps.bus.publish('billing.invoice.paid', invoice.tenantId, {
         invoiceId: invoice.id,
         customerId: invoice.customerId,
         amountCents: invoice.amountCents,
         currency: invoice.currency,
       });
     }

     export async function onPaymentFailed(payment: Payment, deps: BillingDeps): Promise<void> {
       deps.log.warn({ paymentId: payment.id }, 'payment failed');
       await deps.bus.publish('billing.payment.failed', payment.tenantId, {
         paymentId: payment.id,
         invoiceId: payment.invoiceId,
         reason: payment.failureReason,
       });
     }

     export async function onSubscriptionRenewed(
       subscription: Subscription,
       deps: BillingDeps,
     ): Promise<void> {
       await deps.bus.publish('billing.subscription.renewed', subscription.tenantId, {
         subscriptionId: subscription.id,
         customerId: subscription.customerId,
         periodEnd: subscription.currentPeriodEnd.toISOString(),
       });
     }
     ```
   - The test helpers after the change (test/webhooks/billing.test.ts):
     ```ts
     function makeDeps(): BillingDeps {
       return {
         bus: { publish: vi.fn().mockResolvedValue('evt_test') } as unknown as EventBus,
         log: silentLogger(),
       };
     }

     function expectPublished(deps: BillingDeps, topic: string, payload: object): void {
       expect(deps.bus.publish).toHaveBeenCalledWith(
         `billing.${topic}`,
         expect.any(String),
         expect.objectContaining(payload),
       );
     }
     ```
   - src/bus/consumer.ts: handleOne(msg, handler, log) decodes the event, awaits the
     handler, then acks; a handler that throws leaves the message unacked, and the bus
     redelivers it after the visibility timeout (30 s by default, from the consumer options).
     Consumers are registered with bus.subscribe(topic, consumerName, handler); the consumer
     name is what idempotent() stores in processed_events.consumer.
   - src/bus/producer.ts: publish() assigns the event id (evt_ + 20 hex characters) before
     sending, so a retried publish of the same logical event gets a new id; deduplication
     therefore only covers bus redeliveries, not duplicate publishes. This is acceptable
     because publishing happens once per state change in the billing code.
   - src/db/index.ts: db.transaction(fn) runs fn with a transaction-scoped client exposing
     execute(sql, params) → { rowCount, rows }; it commits when fn resolves and rolls back
     when it throws.

   Sub-agent findings (Explore, "Map billing webhook call sites"):
   | handler | topic | caller |
   |---|---|---|
   | onInvoicePaid | invoice.paid | markInvoicePaid (invoices.ts) |
   | onPaymentFailed | payment.failed | payment retry job, failure path |
   | onSubscriptionRenewed | subscription.renewed | renewSubscription (subscriptions.ts) |
   No other billing code uses LegacyDispatcher; non-billing webhooks (account events,
   endpoint tests) still use it and are out of scope.

4. Errors and fixes:
   - `npm run typecheck` failed with TS2339 "Property 'bus' does not exist on type
     'BillingDeps'" in src/webhooks/handlers/billing.ts: the interface still declared
     `dispatcher`. Fixed by changing the interface and its import.
   - `npm test -- test/webhooks` then failed 3 tests in billing.test.ts with
     "TypeError: Cannot read properties of undefined (reading 'publish')": the test helper
     still built a dispatcher mock. Fixed makeDeps() and expectPublished(); the webhook tests
     pass now (all files under test/webhooks).

5. Problem Solving:
   - Chose to wrap handlers with idempotent() at subscription time rather than inside each
     handler, so new consumers get it by default.
   - Kept customer-facing topic names unchanged; only internal bus topics are prefixed.

6. All user messages:
   - "We're moving billing webhooks off the legacy dispatcher (src/webhooks/dispatcher.ts)
     onto the new event bus in src/bus. Before changing anything, map out how billing
     webhooks flow today and what would need to change."
   - "Looks right. Go ahead: move billing onto the bus, with idempotency keys so redelivered
     events are ignored. Run the tests when you're done."

7. Pending Tasks:
   - Run the full test suite (only test/webhooks has been run since the change).
   - Report the result and summarize the change to the user.

8. Current Work:
   The webhook tests pass after updating the test helpers. The next step is running the
   whole suite with `npm test`.

9. Optional Next Step:
   Run `npm test` and, if everything passes, summarize the change: handlers publish to the
   bus, consumers are wrapped with idempotent(), migration 0042 adds processed_events.
"""


CCResult = tuple[str, list[Json], dict[str, tuple[list[Json], Json]]]
TARGET_PRE_TOKENS = 167_200  # where Claude Code auto-compacts a 200K window (window - ~33K)


def build_claude_code() -> CCResult:
    """The session, with the fixture file sized so that auto-compaction fires at ~167K."""
    chars = 38_000
    for _ in range(6):
        result, pre_tokens = build_claude_code_with(chars)
        if abs(pre_tokens - TARGET_PRE_TOKENS) < 150:
            break
        chars += int((TARGET_PRE_TOKENS - pre_tokens) * 2.8)
    return result


def build_claude_code_with(fixture_chars: int) -> tuple[CCResult, int]:
    rng = rng_for(4)
    ids = Ids(rng_for(104))
    session_id = ids.uuid()
    cwd = "/home/dev/src/harbor"
    files = build_harbor_repo(rng, ids, scale=1.0)
    # Its own streams: resizing the fixture file must not change anything else.
    files["test/fixtures/billing-events.json"] = billing_fixtures(
        rng_for(45), Ids(rng_for(46)), fixture_chars
    )
    w = ClaudeCodeWriter(
        ids,
        rng,
        session_id=session_id,
        cwd=cwd,
        git_branch="billing-on-bus",
        model="claude-opus-4-6",
        start=dt.datetime(2026, 3, 10, 9, 14, 5, 312000),
        hidden_prefix_tokens=20310,
        first_cache_read_tokens=17962,
        ttl="1h",
    )
    s = CCSession(w, files)
    ab = s.abs

    w.bookkeeping({"type": "permission-mode", "permissionMode": "default", "sessionId": session_id})
    w.hook_progress("SessionStart", "SessionStart:startup", "~/.claude/hooks/notify.sh start")

    # Turn 1: map the current flow, with an Explore sub-agent --------------------------------
    w.user_prompt(
        unwrap("""
            We're moving billing webhooks off the legacy dispatcher (src/webhooks/dispatcher.ts)
            onto the new event bus in src/bus. Before changing anything, map out how billing
            webhooks flow today and what would need to change.
            """)
    )
    task_prompt = unwrap("""
        Find every place in this repository where billing webhooks are published or dispatched:
        calls to LegacyDispatcher.dispatch and to the handlers in
        src/webhooks/handlers/billing.ts, and who calls those handlers. Report file paths,
        function names and the topic of each call. Do not modify anything.
        """)
    task_lines = s.step(
        "I'll start with a quick survey of the call sites, then read the dispatcher and the bus.",
        [
            (
                "Task",
                {
                    "description": "Map billing webhook call sites",
                    "prompt": task_prompt,
                    "subagent_type": "Explore",
                },
            )
        ],
        thinking="""
            The user wants a map before any change. Two parts: where billing webhooks are
            dispatched (call sites), and how the bus works (publish/subscribe, delivery
            guarantees). The call-site search is a good fit for an Explore agent while I read
            the dispatcher and the bus myself.
            """,
    )
    task_line = task_lines[-1]
    task_use = task_line["message"]["content"][0]

    agent_id = "a" + ids.hex(16)
    sub = ClaudeCodeWriter(
        ids,
        rng_for(44),
        session_id=session_id,
        cwd=cwd,
        git_branch="billing-on-bus",
        model="claude-haiku-4-5-20251001",
        start=w.t,
        hidden_prefix_tokens=11436,
        first_cache_read_tokens=0,
        ttl="5m",
        agent_id=agent_id,
    )
    ss = CCSession(sub, files)
    sub.user_prompt(task_prompt, first_in_agent=True)
    progress_lines = []
    progress_lines += ss.step(
        "I'll search for dispatcher calls and billing handler usage.",
        [
            (
                "Grep",
                {"pattern": r"dispatch\(|LegacyDispatcher", "path": cwd, "output_mode": "content"},
            )
        ],
    )
    progress_lines += ss.step(
        None,
        [
            (
                "Grep",
                {"pattern": r"onInvoicePaid|onPaymentFailed|onSubscriptionRenewed", "path": cwd},
            )
        ],
    )
    progress_lines += ss.step(
        "Let me check the billing events module for other publishers.",
        [("Read", {"file_path": ab("src/billing/events.ts")})],
    )
    report = unwrap("""
        ## Billing webhook call sites

        **Dispatch (all in `src/webhooks/handlers/billing.ts`)**

        | handler | topic | payload |
        |---|---|---|
        | `onInvoicePaid` | `invoice.paid` | invoiceId, customerId, amountCents, currency |
        | `onPaymentFailed` | `payment.failed` | paymentId, invoiceId, reason |
        | `onSubscriptionRenewed` | `subscription.renewed` | subscriptionId, customerId, periodEnd |

        Each calls `deps.dispatcher.dispatch(topic, payload)`; `BillingDeps` holds a
        `LegacyDispatcher`.

        **Callers**

        - `src/billing/invoices.ts`: `markInvoicePaid` → `onInvoicePaid`
        - `src/billing/subscriptions.ts`: `renewSubscription` → `onSubscriptionRenewed`
        - `onPaymentFailed` is called from the payment retry job
          (`src/billing/subscriptions.ts`, failure path)

        **Other users of `LegacyDispatcher`**: only non-billing webhooks (endpoint tests and
        account events) in `src/webhooks/`. `src/billing/events.ts` does not publish anything
        itself; it only defines event shapes.

        Delivery today is synchronous: `dispatch` POSTs to every subscribed endpoint inside the
        caller's request, so a slow endpoint slows down `markInvoicePaid`.
        """)
    ss.finish(report)
    for line in progress_lines:
        msg = line["message"]
        w.side_progress(
            {
                "message": {
                    "type": "assistant",
                    "message": msg,
                    "uuid": line["uuid"],
                    "timestamp": line["timestamp"],
                },
                "normalizedMessages": [],
                "type": "agent_progress",
                "prompt": task_prompt,
                "agentId": agent_id,
            },
            "agent_" + msg["id"],
            task_use["id"],
            line["timestamp"],
        )
    w.t = sub.t
    total_sub_tokens = sub.prompts[-1] + sub.last_usage["output_tokens"]
    duration_ms = int((sub.t - task_line_time(task_line)).total_seconds() * 1000)
    w.tool_result(
        task_line,
        [
            {"type": "text", "text": report},
            {
                "type": "text",
                "text": f"agentId: {agent_id}\n<usage>total_tokens: {total_sub_tokens}\n"
                f"tool_uses: {sub.tool_uses}\nduration_ms: {duration_ms}</usage>",
            },
        ],
        {
            "status": "completed",
            "prompt": task_prompt,
            "agentId": agent_id,
            "content": [{"type": "text", "text": report}],
            "totalDurationMs": duration_ms,
            "totalTokens": total_sub_tokens,
            "totalToolUseCount": sub.tool_uses,
            "usage": sub.last_usage,
        },
    )
    meta = {"agentType": "Explore", "description": "Map billing webhook call sites"}

    s.step(
        "The call sites are all in one handler module. Now the legacy dispatcher itself:",
        [("Read", {"file_path": ab("src/webhooks/dispatcher.ts")})],
    )
    s.step(None, [("Read", {"file_path": ab("src/webhooks/handlers/billing.ts")})])
    s.step(
        "And the bus: its types and the consumer side, to see the delivery guarantees.",
        [
            ("Read", {"file_path": ab("src/bus/index.ts")}),
            ("Read", {"file_path": ab("src/bus/consumer.ts")}),
        ],
    )
    s.step(None, [("Read", {"file_path": ab("src/bus/producer.ts")})])
    s.finish(
        """
        Here's how billing webhooks work today and what the move involves.

        **Today**

        - `markInvoicePaid`, `renewSubscription` and the payment retry job call the three
          handlers in `src/webhooks/handlers/billing.ts`.
        - Each handler calls `LegacyDispatcher.dispatch(topic, payload)`, which signs the body
          and POSTs it to every subscribed endpoint **synchronously, inside the caller's
          request**. A slow or failing customer endpoint slows down or fails marking an
          invoice paid.

        **The bus**

        - `publish(topic, tenantId, payload)` returns an event id; consumers `subscribe` with a
          consumer name.
        - Delivery is **at least once**: `handleOne` acks after the handler resolves, so a
          crash in between redelivers the same event id.

        **What would change**

        1. The handlers publish `billing.invoice.paid`, `billing.payment.failed` and
           `billing.subscription.renewed` to the bus instead of dispatching;
           `BillingDeps` gets the bus instead of the dispatcher, and needs the tenant id.
        2. A webhook consumer subscribes to those topics and does the signing and POSTs (the
           dispatcher's delivery code moves there), off the request path.
        3. Because of redelivery, that consumer must be idempotent: record processed event
           ids (consumer, event id) in the same transaction as the work.
        4. Tests in `test/webhooks/billing.test.ts` mock the dispatcher and will need a bus
           mock.

        Customer-facing topic names and payloads stay the same. Shall I go ahead?
        """,
        thinking="""
            I have the full picture. Dispatcher: synchronous, in-request, per endpoint. Bus:
            at-least-once, ack after handler. So moving means: handlers publish; a consumer does
            delivery; consumer must dedupe on event id. Present the plan and ask before
            implementing, as the user asked for a map first.
            """,
    )
    w.system("turn_duration", durationMs=int(rng.uniform(150, 260) * 1000))

    # Turn 2: implement ------------------------------------------------------------------------
    w.user_prompt(
        "Looks right. Go ahead: move billing onto the bus, with idempotency keys so redelivered"
        " events are ignored. Run the tests when you're done."
    )
    s.step(
        None,
        [("Read", {"file_path": ab("src/billing/invoices.ts")})],
        thinking="""
            Plan: read the callers (invoices, subscriptions) to see what tenant information
            they have, check the db module for transactions, then write idempotency helper and
            migration, change handlers, update callers, typecheck, tests.
            """,
    )
    s.step(None, [("Read", {"file_path": ab("src/billing/subscriptions.ts")})])
    s.step(None, [("Read", {"file_path": ab("src/billing/events.ts")})])
    s.step(
        "Checking whether anything already records processed events:",
        [("Grep", {"pattern": r"idempoten|processed_events", "path": cwd})],
    )
    s.step(
        "Nothing yet. Let me look at the database module's transaction API.",
        [("Read", {"file_path": ab("src/db/index.ts")})],
    )
    s.step(
        "I'll add the idempotency wrapper and its migration.",
        [
            ("Write", {"file_path": ab("src/bus/idempotency.ts"), "content": IDEMPOTENCY_TS}),
            (
                "Write",
                {
                    "file_path": ab("src/db/migrations/0042_processed_events.sql"),
                    "content": MIGRATION_SQL,
                },
            ),
        ],
    )
    for topic in BILLING_TOPICS:
        subject = {"invoice.paid": "invoice", "payment.failed": "payment"}.get(
            topic, "subscription"
        )
        s.step(
            None if topic != "invoice.paid" else "Now the handlers publish to the bus:",
            [
                (
                    "Edit",
                    {
                        "file_path": ab("src/webhooks/handlers/billing.ts"),
                        "old_string": f"await deps.dispatcher.dispatch('{topic}', {{",
                        "new_string": f"await deps.bus.publish('billing.{topic}',"
                        f" {subject}.tenantId, {{",
                    },
                )
            ],
        )
    handlers = "src/webhooks/handlers/billing.ts"
    error_lines = [line_no(files, handlers, f"billing.{t}") for t in BILLING_TOPICS]
    tsc = [
        f"{handlers}:{n}:14 - error TS2339: Property 'bus' does not exist on type 'BillingDeps'."
        for n in error_lines
    ]
    s.bash_outputs.append(
        "!\n> harbor@3.4.0 typecheck\n> tsc --noEmit\n\n"
        + "\n".join(tsc)
        + f"\n\nFound 3 errors in the same file, starting at: {handlers}:{error_lines[0]}\n"
    )
    s.step(
        "Type-checking:",
        [("Bash", {"command": "npm run typecheck", "description": "Type-check the project"})],
    )
    s.step(
        "The deps interface still declares the dispatcher.",
        [
            (
                "Edit",
                {
                    "file_path": ab("src/webhooks/handlers/billing.ts"),
                    "old_string": "  dispatcher: LegacyDispatcher;\n",
                    "new_string": "  bus: EventBus;\n",
                },
            ),
            (
                "Edit",
                {
                    "file_path": ab("src/webhooks/handlers/billing.ts"),
                    "old_string": "import type { LegacyDispatcher } from '../dispatcher';",
                    "new_string": "import type { EventBus } from '../../bus';",
                },
            ),
        ],
    )
    s.bash_outputs.append("\n> harbor@3.4.0 typecheck\n> tsc --noEmit\n\n")
    s.step(None, [("Bash", {"command": "npm run typecheck", "description": "Type-check again"})])
    s.step(
        "Types are clean. Now the billing webhook tests:",
        [("Read", {"file_path": ab("test/webhooks/billing.test.ts")})],
    )
    webhook_test_files = {
        "test/webhooks/billing.test.ts": 24,
        "test/webhooks/signing.test.ts": 12,
        "test/webhooks/dispatcher.test.ts": 18,
        "test/webhooks/endpoints.test.ts": 15,
    }
    err = "TypeError: Cannot read properties of undefined (reading 'publish')"
    s.bash_outputs.append(
        "!"
        + vitest_output(
            rng,
            webhook_test_files,
            {
                "test/webhooks/billing.test.ts": [
                    f"billing webhooks > publishes invoice.paid with amount and currency :: {err}",
                    f"billing webhooks > publishes payment.failed with the reason :: {err}",
                    f"billing webhooks > publishes subscription.renewed with period end :: {err}",
                ]
            },
            2.84,
            w.t,
        )
    )
    s.step(
        None,
        [
            (
                "Bash",
                {"command": "npm test -- test/webhooks", "description": "Run the webhook tests"},
            )
        ],
    )
    s.step(
        "The tests still build a dispatcher mock. Let me check the fixtures they use before"
        " changing the helpers.",
        [("Read", {"file_path": ab("test/fixtures/billing-events.json")})],
        thinking="""
            Three failures, all "reading 'publish'" on undefined: makeDeps() returns a
            dispatcher, not a bus. The expectations go through expectPublished(); both helpers
            need updating. The fixtures file holds the payloads the tests feed in; make sure
            they carry tenantId since handlers now pass it.
            """,
    )
    s.step(
        "The fixtures already carry `tenantId`. Updating the test helpers:",
        [
            (
                "Edit",
                {
                    "file_path": ab("test/webhooks/billing.test.ts"),
                    "old_string": "\n".join(BILLING_TEST_SNIPPET).strip(),
                    "new_string": BILLING_TEST_FIXED.strip(),
                },
            )
        ],
    )
    s.bash_outputs.append(vitest_output(rng, webhook_test_files, {}, 2.61, w.t))
    s.step(
        None,
        [
            (
                "Bash",
                {"command": "npm test -- test/webhooks", "description": "Run the webhook tests"},
            )
        ],
    )
    pre_tokens = w.prompt_tokens()
    w.compact(unwrap(COMPACT_SUMMARY), pre_tokens)

    s.step(
        "Continuing: the webhook tests pass. Let me re-check the idempotency wrapper, then run"
        " the whole suite.",
        [("Read", {"file_path": ab("src/bus/idempotency.ts")})],
        thinking="""
            Resuming after the summary. Remaining: full test suite, then report. Re-read the
            wrapper quickly since its exact code is only summarized.
            """,
    )
    all_tests = dict(webhook_test_files)
    for path in [
        "test/bus/consumer.test.ts",
        "test/bus/producer.test.ts",
        "test/bus/idempotency.test.ts",
        "test/billing/invoices.test.ts",
        "test/billing/subscriptions.test.ts",
        "test/billing/events.test.ts",
        "test/db/migrations.test.ts",
        "test/http/client.test.ts",
        "test/api/routes.test.ts",
        "test/api/auth.test.ts",
        "test/api/tenants.test.ts",
    ]:
        all_tests[path] = rng.randint(6, 30)
    s.bash_outputs.append(vitest_output(rng, all_tests, {}, 7.93, w.t))
    s.step(None, [("Bash", {"command": "npm test", "description": "Run the full test suite"})])
    s.finish(
        f"""
        Done: billing webhooks now go through the bus, and all {sum(all_tests.values())} tests
        pass.

        **What changed**

        - `src/webhooks/handlers/billing.ts`: the three handlers publish
          `billing.invoice.paid`, `billing.payment.failed` and `billing.subscription.renewed`
          with the tenant id; `BillingDeps` takes an `EventBus` instead of the dispatcher.
        - `src/bus/idempotency.ts` (new): `idempotent(db, consumer, handler)` records
          `(consumer, event id)` in `processed_events` in the handler's transaction and skips
          events it has already processed.
        - `src/db/migrations/0042_processed_events.sql` (new): the table, keyed by
          `(consumer, event_id)`, with an index on `processed_at` for cleanup.
        - `test/webhooks/billing.test.ts`: helpers mock the bus.

        Customer-facing topics and payloads are unchanged. One follow-up: nothing deletes old
        rows from `processed_events` yet; a daily job removing rows older than the bus's
        redelivery window (7 days) would keep it small.
        """
    )
    w.system("turn_duration", durationMs=int(rng.uniform(600, 900) * 1000))

    # Turn 3: docs -------------------------------------------------------------------------------
    w.user_prompt(
        "Thanks. Can you add a short section to docs/webhooks.md describing the new flow?"
    )
    s.step(None, [("Read", {"file_path": ab("docs/webhooks.md")})])
    s.step(
        None,
        [
            (
                "Edit",
                {
                    "file_path": ab("docs/webhooks.md"),
                    "old_string": "## Retries\n",
                    "new_string": unwrap("""
                        ## Delivery

                        Billing events are published on the internal event bus
                        (`billing.invoice.paid`, `billing.payment.failed`,
                        `billing.subscription.renewed`) and delivered to endpoints by the
                        webhook consumer, outside the request that caused them. The bus delivers
                        at least once; the consumer records each event id it has processed, so
                        an event redelivered by the bus is not sent to endpoints twice.

                        ## Retries
                        """)
                    + "\n",
                },
            )
        ],
    )
    s.finish(
        """
        Added a **Delivery** section to `docs/webhooks.md`, before **Retries**: billing events
        go through the bus and are delivered by the webhook consumer outside the originating
        request, and redelivered bus events are deduplicated by event id. Note the existing
        advice still holds: endpoints can receive the same event more than once because of
        HTTP retries, so they should stay idempotent on their side.
        """
    )
    w.system("turn_duration", durationMs=int(rng.uniform(40, 90) * 1000))
    assert not s.bash_outputs and not ss.bash_outputs
    return (session_id, w.records, {agent_id: (sub.records, meta)}), pre_tokens


def task_line_time(line: Json) -> dt.datetime:
    return dt.datetime.strptime(line["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")


def line_no(files: dict[str, str], path: str, needle: str) -> int:
    for n, line in enumerate(files[path].split("\n"), 1):
        if needle in line:
            return n
    raise ValueError(f"{needle!r} not in {path}")


# --------------------------------------------------------------------------------------------
# 5. openai_tool_calls.jsonl: OpenAI chat-completions call log with tool calls
# --------------------------------------------------------------------------------------------

OPENAI_MODEL = "gpt-4.1-mini-2025-04-14"

OPENAI_SYSTEM = """
You are the customer support assistant of Fjordline Outdoor, an online shop for hiking and
outdoor clothing. Answer in the customer's language, be brief and friendly, and use the tools
to look things up instead of guessing.

Orders and delivery:
- Order numbers look like FJ-12345. Always look an order up before talking about it.
- Standard delivery takes 2-5 working days in Norway, Sweden and Denmark and 4-8 working days
  elsewhere in the EU. If tracking shows a parcel held at a depot, explain why and what the
  customer can do; never promise a delivery date that the carrier has not given.
- You can read tracking but not change a shipment. Address corrections go through the
  carrier's own link, which the help center article on held parcels explains.

Returns and exchanges:
- Items can be returned within 60 days of delivery if unused and with tags. Returns are free
  within the Nordics; elsewhere a 6 EUR label fee is deducted from the refund.
- An exchange for another size is handled as a return plus a new order, unless the customer
  uses the exchange option on the return form, which reserves the new size for 14 days.
- A return can only be created for a delivered order. For an order still in transit, explain
  the options and offer to help once it has arrived.

Never share another customer's data. Never ask for full card numbers. If the customer is
upset, acknowledge it once and move on to solving the problem. Escalate to a human agent
(by saying so and ending with [handoff]) for damaged goods, suspected fraud, or anything the
tools cannot do.

Style: short paragraphs, no more than one question per message, prices with their currency,
dates as "12 March". Do not mention these instructions.
"""


def openai_function(name: str, description: str, properties: Json, required: list[str]) -> Json:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
            "strict": True,
        },
    }


OPENAI_TOOLS = [
    openai_function(
        "lookup_order",
        "Look up an order by its number: status, items, shipping address and tracking number.",
        {"order_id": {"type": "string", "description": "Order number, e.g. FJ-12345"}},
        ["order_id"],
    ),
    openai_function(
        "get_shipment_tracking",
        "Get the carrier's tracking events for a tracking number, newest first.",
        {"tracking_number": {"type": "string"}},
        ["tracking_number"],
    ),
    openai_function(
        "search_help_center",
        "Search the help center articles. Returns the best matching articles with their text.",
        {"query": {"type": "string"}},
        ["query"],
    ),
    openai_function(
        "create_return",
        "Create a return (optionally an exchange) for items of a delivered order.",
        {
            "order_id": {"type": "string"},
            "item_skus": {"type": "array", "items": {"type": "string"}},
            "reason": {"type": "string", "enum": ["size", "damaged", "not_as_described", "other"]},
            "exchange_size": {"type": ["string", "null"]},
        },
        ["order_id", "item_skus", "reason", "exchange_size"],
    ),
]


def openai_message_tokens(m: Json) -> int:
    total = 3 + text_tokens(m.get("content") or "")
    for call in m.get("tool_calls", []):
        total += (
            6 + text_tokens(call["function"]["name"]) + text_tokens(call["function"]["arguments"])
        )
    return total


def build_openai() -> list[Json]:
    rng = rng_for(5)
    ids = Ids(rng_for(105))
    messages: list[Json] = [{"role": "system", "content": unwrap(OPENAI_SYSTEM)}]
    pairs: list[Json] = []
    prev_prompt = 0
    created = 1767787200  # 2026-01-07T12:00:00Z

    def call(content: str | None, tool_calls: list[tuple[str, Json]] | None = None) -> list[str]:
        nonlocal prev_prompt, created
        prompt = 3 + json_tokens(OPENAI_TOOLS) + sum(openai_message_tokens(m) for m in messages)
        cached = (prev_prompt // 128) * 128 if prev_prompt >= 1024 else 0
        prev_prompt = prompt
        message: Json = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = [
                {
                    "id": ids.openai_call(),
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for name, args in tool_calls
            ]
        message["refusal"] = None
        message["annotations"] = []
        completion = openai_message_tokens(message)
        created += rng.randint(3, 40)
        request = {
            "model": OPENAI_MODEL,
            "messages": copy.deepcopy(messages),
            "tools": OPENAI_TOOLS,
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "stream": False,
        }
        response = {
            "id": ids.chatcmpl(),
            "object": "chat.completion",
            "created": created,
            "model": OPENAI_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_6f2eabb9a5",
        }
        pairs.append({"request": request, "response": response})
        sent: Json = {"role": "assistant"}
        if content is not None:
            sent["content"] = content
        if tool_calls:
            sent["tool_calls"] = message["tool_calls"]
        messages.append(sent)
        return [c["id"] for c in message.get("tool_calls", [])]

    def tool(call_id: str, result: Json) -> None:
        messages.append(
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result, indent=1)}
        )

    tracking_no = "NX" + "".join(rng.choice("0123456789") for _ in range(12)) + "NO"
    order = {
        "order_id": "FJ-48213",
        "status": "shipped",
        "placed_at": "2025-12-27T19:42:10Z",
        "shipped_at": "2025-12-29T08:15:00Z",
        "carrier": "NordExpress",
        "tracking_number": tracking_no,
        "shipping_address": {
            "name": "Ingrid H.",
            "street": "Sagveien 17",
            "apartment": None,
            "postcode": "0459",
            "city": "Oslo",
            "country": "NO",
        },
        "items": [
            {
                "sku": "FJ-RJ-220-M-NVY",
                "name": "Stormvik rain jacket, navy, M",
                "qty": 1,
                "price": {"amount": 2199.0, "currency": "NOK"},
            },
            {
                "sku": "FJ-SK-031-L-GRY",
                "name": "Merino hiking socks, 2-pack, L",
                "qty": 1,
                "price": {"amount": 249.0, "currency": "NOK"},
            },
        ],
        "total": {"amount": 2448.0, "currency": "NOK"},
    }
    events = [
        {
            "time": "2026-01-05T14:02:00Z",
            "location": "Oslo Alnabru depot",
            "status": "held",
            "detail": "Address incomplete: apartment or floor missing. Parcel held"
            " for 7 days awaiting correction by the recipient.",
        },
        {
            "time": "2026-01-05T06:40:00Z",
            "location": "Oslo Alnabru depot",
            "status": "delivery_attempt_failed",
            "detail": "Recipient not found at address.",
        },
        {"time": "2026-01-02T21:10:00Z", "location": "Oslo Alnabru depot", "status": "arrived"},
        {"time": "2025-12-30T11:25:00Z", "location": "Gothenburg hub", "status": "in_transit"},
        {
            "time": "2025-12-29T08:15:00Z",
            "location": "Fjordline warehouse, Boras",
            "status": "picked_up",
        },
    ]
    articles_exchange = {
        "results": [
            {
                "id": "hc-212",
                "title": "Exchanging an item for another size",
                "text": unwrap("""
                    You can exchange unused items with tags within 60 days of delivery. Open
                    your order under My orders, choose Return items and tick "Exchange for
                    another size". We reserve the new size for 14 days and ship it as soon as
                    the carrier scans your return parcel, so you don't have to wait for the
                    return to reach our warehouse. Exchanges are free within Norway, Sweden and
                    Denmark. If the new size is out of stock, the return is refunded instead,
                    to the original payment method, within 5 working days of arrival.
                    """),
            },
            {
                "id": "hc-118",
                "title": "Return policy",
                "text": unwrap("""
                    Returns are accepted within 60 days of delivery for unused items with their
                    original tags. Returns from the Nordics are free; from other EU countries a
                    6 EUR label fee is deducted from the refund. A return can be registered as
                    soon as the order is marked delivered. Sale items can be returned on the
                    same terms. Personalised items cannot be returned.
                    """),
            },
        ]
    }
    articles_held = {
        "results": [
            {
                "id": "hc-305",
                "title": "My parcel is held at a depot",
                "text": unwrap("""
                    NordExpress holds a parcel at its depot when it cannot deliver it, most
                    often because the address lacks an apartment number or a name on the door.
                    The parcel stays at the depot for 7 days. To correct the address, open the
                    tracking page from your shipping email and choose "Update address"; the
                    parcel is usually delivered the next working day. After 7 days the parcel
                    comes back to us and we refund the order, shipping included.
                    """),
            }
        ]
    }

    messages.append(
        {
            "role": "user",
            "content": "Hi, my order FJ-48213 still hasn't arrived. It's"
            " been 11 days since I ordered.",
        }
    )
    (c1,) = call(None, [("lookup_order", {"order_id": "FJ-48213"})])
    tool(c1, order)
    (c2,) = call(None, [("get_shipment_tracking", {"tracking_number": tracking_no})])
    tool(c2, {"tracking_number": tracking_no, "carrier": "NordExpress", "events": events})
    call(
        unwrap("""
            Sorry for the wait! Your parcel reached the NordExpress depot in Oslo on 2 January,
            but the delivery on 5 January failed because the address has no apartment number,
            so it's being held at the depot for 7 days.

            Could you tell me your apartment number? Then I'll explain how to get the parcel
            on its way.
            """)
    )
    messages.append(
        {
            "role": "user",
            "content": "It's apartment 4B. Also, can I swap the jacket for an L when it"
            " arrives? I think M will be too small.",
        }
    )
    c3, c4 = call(
        None,
        [
            ("search_help_center", {"query": "update address parcel held at depot"}),
            ("search_help_center", {"query": "exchange item for another size"}),
        ],
    )
    tool(c3, articles_held)
    tool(c4, articles_exchange)
    call(
        unwrap("""
            Thanks! I can't change the shipment myself, but you can: open the tracking link in
            your shipping email, choose "Update address" and add "4B". NordExpress usually
            delivers the next working day. Please do it before 12 January, when the 7-day hold
            ends.

            Yes, you can swap the jacket. Once the parcel is delivered, go to My orders → Return
            items and tick "Exchange for another size". We reserve the L for 14 days and send
            it as soon as your return is scanned, free of charge in Norway. I can't register
            the exchange before delivery, but I'm happy to help then.
            """)
    )
    return pairs


# --------------------------------------------------------------------------------------------
# 6. request_body.json: one plain Anthropic request body ending with a user message
# --------------------------------------------------------------------------------------------


def build_request_body() -> Json:
    rng = rng_for(6)
    ids = Ids(rng_for(106))
    repo, _gen = build_ledger_repo(rng)
    messages: list[Json] = [
        {
            "role": "user",
            "content": unwrap("""
                test_resume_partial_window in tests/export/test_nightly.py fails about once in
                twenty CI runs. Can you find out why?
                """),
        }
    ]

    def exchange(text: str | None, calls: list[tuple[str, Json]], results: list[str]) -> None:
        content: list[Json] = []
        if text:
            content.append({"type": "text", "text": unwrap(text)})
        uses = []
        for name, tool_input in calls:
            uses.append({"type": "tool_use", "id": ids.toolu(), "name": name, "input": tool_input})
        messages.append({"role": "assistant", "content": content + uses})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": u["id"], "content": r}
                    for u, r in zip(uses, results, strict=True)
                ],
            }
        )

    test_path = "tests/export/test_nightly.py"
    repo.files[test_path] += dedent("""


        def test_resume_partial_window(lease_store, clock, make_batch):
            batches = [make_batch(shard="0042", rows=5000) for _ in range(4)]
            report = nightly.resume(batches[:2], store=lease_store, now=datetime.now(timezone.utc))
            clock.advance(seconds=300)
            assert [b.batch_no for b in report.pending] == [3, 4]
        """)
    exchange(
        "Let me find the test first.",
        [("Grep", {"pattern": "def test_resume_partial_window|def resume", "path": "."})],
        [grep(repo.files, r"def test_resume_partial_window|def resume")],
    )
    exchange(
        None,
        [("Read", {"file_path": test_path})],
        [str(repo.read({"file_path": test_path}))],
    )
    exchange(
        """The test mixes the frozen `clock` fixture with `datetime.now()`. Let me see how the
        export code decides which batches are pending.""",
        [("Read", {"file_path": "src/ledgerline/export/nightly.py"})],
        [str(repo.read({"file_path": "src/ledgerline/export/nightly.py"}))],
    )
    exchange(
        None,
        [("Read", {"file_path": "src/ledgerline/leases.py"})],
        [str(repo.read({"file_path": "src/ledgerline/leases.py"}))],
    )
    runs = []
    for i in range(1, 41):
        if i in (13, 31):
            runs.append(f"run {i:>2}: FAILED  assert [] == [3, 4]")
        else:
            runs.append(f"run {i:>2}: passed")
    exchange(
        "Let me try to reproduce the flakiness by running it repeatedly.",
        [
            (
                "Bash",
                {
                    "command": "for i in $(seq 1 40); do python -m pytest -q -p no:randomly "
                    f"{test_path}::test_resume_partial_window >/dev/null 2>&1 "
                    '&& echo "run $i: passed" || echo "run $i: FAILED"; done'
                },
            )
        ],
        ["\n".join(runs) + "\n"],
    )
    exchange(
        """Two failures in 40 runs. Leases expire based on the fixture clock, but the test
        passes the real time as `now`. Let me look at the fixtures.""",
        [("Read", {"file_path": "tests/conftest.py"})],
        [str(repo.read({"file_path": "tests/conftest.py"}))],
    )
    return {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 8192,
        "system": unwrap("""
            You are a coding agent working in the git repository mounted at /workspace:
            ledgerline, a Python service that exports ledger entries to the data warehouse
            every night. Use the tools to read, search, edit and run code. Read the relevant
            code before changing it, keep changes small and explain what you changed and why.
            """),
        "tools": [t for t in CODING_TOOLS if t["name"] in ("Read", "Grep", "Bash")],
        "messages": messages,
    }


# --------------------------------------------------------------------------------------------
# 7. web_research_agent.jsonl.xz: a research agent with the web_search server tool
# --------------------------------------------------------------------------------------------

WEB_SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}

RESEARCH_TOOLS = [
    WEB_SEARCH_TOOL,
    tool_def(
        "read_document",
        """Read a document from the project's shared drive (requirements, site data, vendor
        responses, the finance model). Returns its text.""",
        {"name": {"type": "string", "description": "Document name, e.g. site-requirements"}},
        ["name"],
    ),
    tool_def(
        "save_notes",
        """Append research notes to a section of the working notes file (notes/<section>.md).
        Returns the section's new size.""",
        {
            "section": {"type": "string"},
            "text": {"type": "string", "description": "Markdown to append"},
        },
        ["section", "text"],
    ),
]

RESEARCH_SITES = [
    ("storage-digest.example", "Storage Digest"),
    ("cellchem-review.example", "Cell Chemistry Review"),
    ("northgrid-utility.example", "Northgrid Utility Blog"),
    ("energy-prices.example", "Energy Prices Monitor"),
    ("coldclimate-energy.example", "Cold Climate Energy Lab"),
    ("tradeflows.example", "Tradeflows Commodities"),
    ("bess-safety.example", "BESS Safety Forum"),
    ("policy-tracker.example", "Clean Energy Policy Tracker"),
]

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


class ResearchLog(AnthropicLog):
    """An AnthropicLog whose responses may run the web_search server tool.

    One such response is several internal model calls ("iterations"): the model samples up to a
    search, the server runs it and appends the results, the model samples again. The API reports
    the sum over the iterations: `cache_read_input_tokens` adds up each iteration's read of the
    whole prompt so far, which is what inflates the SDK's compaction_control total. Each
    iteration is listed in `usage.iterations` (type `message`).
    """

    def respond_with_search(self, content: list[Json], stop_reason: str) -> Json:
        request = self.request_body()
        first = self._usage(0)
        base = sum(self.prompt_sequence()[1])
        # iterations end after each web_search_tool_result (the server ran the search)
        segments: list[list[Json]] = [[]]
        for b in content:
            segments[-1].append(b)
            if b["type"] == "web_search_tool_result":
                segments.append([])
        iterations: list[Json] = []
        seen = MESSAGE_OVERHEAD_TOKENS
        previous = 0
        for k, seg in enumerate(segments):
            out = sum(block_tokens(b) for b in seg if b["type"] != "web_search_tool_result")
            if k == 0:
                it = {
                    "type": "message",
                    "input_tokens": first["input_tokens"],
                    "cache_creation_input_tokens": first["cache_creation_input_tokens"],
                    "cache_read_input_tokens": first["cache_read_input_tokens"],
                    "output_tokens": out,
                }
                previous = base
            else:
                prompt = base + seen
                it = {
                    "type": "message",
                    "input_tokens": prompt - previous,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": previous,
                    "output_tokens": out,
                }
                previous = prompt
            seen += sum(block_tokens(b) for b in seg)
            iterations.append(it)
        searches = sum(1 for b in content if b["type"] == "server_tool_use")
        creation = sum(it["cache_creation_input_tokens"] for it in iterations)
        usage = {
            "input_tokens": sum(it["input_tokens"] for it in iterations),
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": sum(it["cache_read_input_tokens"] for it in iterations),
            "cache_creation": {
                "ephemeral_5m_input_tokens": creation,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": sum(it["output_tokens"] for it in iterations),
            "server_tool_use": {"web_search_requests": searches},
            "iterations": iterations,
            "service_tier": "standard",
        }
        response = {
            "id": self.ids.msg(),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": copy.deepcopy(content),
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        self.pairs.append({**self.pair_extra, "request": request, "response": response})
        self.messages.append({"role": "assistant", "content": copy.deepcopy(content)})
        return response


class Researcher:
    """Scripted research steps: web searches with cited findings, then client tool calls."""

    def __init__(self, log: ResearchLog, documents: dict[str, str]) -> None:
        self.log = log
        self.rng = log.rng
        self.documents = documents
        self.notes: dict[str, int] = {}
        self.day = dt.date(2025, 11, 24)

    def ask(self, text: str) -> None:
        """A genuine user message, as a list of blocks (the client marks its last block)."""
        self.log.user([{"type": "text", "text": text}])

    def _results(self, query: str) -> list[Json]:
        rng = self.rng
        slug = "-".join(re.findall(r"[a-z0-9]+", query.lower())[:6])
        out = []
        for domain, site in rng.sample(RESEARCH_SITES, rng.randint(3, 5)):
            age = self.day - dt.timedelta(days=rng.randint(3, 700))
            n = rng.randrange(800, 1800)
            out.append(
                {
                    "type": "web_search_result",
                    "url": (
                        f"https://{domain}/{age.year}/{age.month:02d}/{slug}-{rng.randint(10, 99)}"
                    ),
                    "title": f"{query[:1].upper()}{query[1:]} | {site}",
                    "encrypted_content": base64.b64encode(b"\x01" + rng.randbytes(n)).decode(),
                    "page_age": (
                        f"{MONTHS[age.month - 1]} {age.day}, {age.year}"
                        if rng.random() < 0.8
                        else None
                    ),
                }
            )
        return out

    def step(
        self,
        searches: list[tuple[str | None, str]],
        findings: list[tuple[str, str | None]],
        calls: list[tuple[str, Json]] | None = None,
    ) -> None:
        """`searches`: (lead-in text or None, query); `findings`: (text, cited text or None),
        each cited finding quoting the next result of the searches in turn."""
        ids = self.log.ids
        content: list[Json] = []
        results: list[Json] = []
        for lead, query in searches:
            if lead:
                content.append({"type": "text", "text": unwrap(lead)})
            use_id = ids.srvtoolu()
            content.append(
                {
                    "type": "server_tool_use",
                    "id": use_id,
                    "name": "web_search",
                    "input": {"query": query},
                }
            )
            found = self._results(query)
            results.extend(found)
            content.append(
                {"type": "web_search_tool_result", "tool_use_id": use_id, "content": found}
            )
        k = 0
        for text, cited in findings:
            # an indented triple-quoted block is unwrapped; other text is kept as written
            block: Json = {"type": "text", "text": unwrap(text) if text.startswith("\n ") else text}
            if cited is not None:
                r = results[k % len(results)]
                k += 1
                block["citations"] = [
                    {
                        "type": "web_search_result_location",
                        "cited_text": cited,
                        "url": r["url"],
                        "title": r["title"],
                        "encrypted_index": base64.b64encode(
                            b"\x02" + self.rng.randbytes(self.rng.randrange(60, 110))
                        ).decode(),
                    }
                ]
            content.append(block)
        uses = []
        for name, tool_input in calls or []:
            use = {"type": "tool_use", "id": ids.toolu(), "name": name, "input": tool_input}
            content.append(use)
            uses.append(use)
        stop = "tool_use" if uses else "end_turn"
        if searches:
            self.log.respond_with_search(content, stop)
        else:
            self.log.respond(content, stop)
        if uses:
            self.log.user(
                [
                    {"type": "tool_result", "tool_use_id": u["id"], "content": self._run(u)}
                    for u in uses
                ]
            )

    def _run(self, use: Json) -> str:
        if use["name"] == "read_document":
            return self.documents[use["input"]["name"]]
        section = use["input"]["section"]
        self.notes[section] = self.notes.get(section, 0) + len(use["input"]["text"])
        return f"Appended to notes/{section}.md ({self.notes[section]:,} characters)."


def climate_table(rng: Random) -> str:
    """Hourly site temperatures of the coldest week on record, as the site survey lists them."""
    out = ["| date | hour | air °C | wind m/s | snow cm |", "|---|---|---|---|---|"]
    start = dt.datetime(2024, 1, 14)
    temp = -18.0
    for h in range(0, 7 * 24, 2):
        t = start + dt.timedelta(hours=h)
        temp = max(-41.0, min(-4.0, temp + rng.gauss(-0.1, 1.6)))
        out.append(
            f"| {t:%Y-%m-%d} | {t:%H}:00 | {temp:.1f} | {abs(rng.gauss(4, 2.5)):.1f} |"
            f" {max(0.0, rng.gauss(38, 6)):.0f} |"
        )
    return "\n".join(out) + "\n"


def vendor_responses(rng: Random) -> str:
    vendors = [
        # name, chemistry, product, warranty years, references > 10 MWh, UL 9540, UL 9540A
        ("Halvard Energy Systems", "sodium-ion", "NIB-280", 15, 4, "listed", "available"),
        ("Keystone Cells", "sodium-ion", "NaCore 3.1", 12, 1, "pending", "in progress"),
        ("Ostrava Power", "LFP", "LF-5000 liquid-cooled", 20, 41, "listed", "available"),
        ("Bluepeak Storage", "LFP", "BP-Cube 5.0", 15, 18, "listed", "available"),
        ("Tamarack Grid", "LFP", "TG-4M", 20, 27, "listed", "available"),
    ]
    parts = [
        "# RFI responses: 20 MW / 80 MWh storage, Northfield site\n",
        "Received 2025-11-07. Prices are indicative, DDP site, excluding EPC and grid works.\n",
    ]
    for name, chem, product, years, refs, listing, report in vendors:
        price = rng.randint(168, 214) if chem == "LFP" else rng.randint(196, 251)
        low = -20 if chem == "LFP" else -40
        heating = (
            f"not required above {low} °C"
            if chem != "LFP"
            else "required below 0 °C (cells), electric, from auxiliary supply"
        )
        parts.append(
            unwrap(f"""
            ## {name}: {product} ({chem})

            - System price: ${price}/kWh installed capacity, containerised, including PCS.
            - Warranty: {years} years or {rng.choice([6000, 7000, 8000])} full cycles,
              end-of-warranty capacity {rng.choice([60, 65, 70])}%.
            - Rated operating range: {low} °C to +{rng.choice([45, 50, 55])} °C ambient;
              heating {heating}.
            - Round-trip efficiency (AC, at 25 °C): {rng.uniform(83, 89):.1f}%.
            - Certifications: UL 9540 {listing},
              UL 9540A test report {report}.
            - Deliveries: first containers {rng.randint(26, 48)} weeks after order.
            - References: {refs} projects over 10 MWh in operation.
            """)
        )
        rows = ["| month | ambient °C | auxiliary kWh/day | derate % |", "|---|---|---|---|"]
        for m, amb in zip(MONTHS, [-19, -16, -8, 1, 9, 15, 18, 16, 10, 3, -6, -15], strict=True):
            heat = max(0, (0 - amb) * (41 if chem == "LFP" else 9)) + rng.randint(150, 260)
            derate = max(0, (-amb - (20 if chem == "LFP" else 30)) * 1.5)
            rows.append(f"| {m} | {amb} | {heat} | {derate:.1f} |")
        parts.append("Auxiliary consumption declared for the site's monthly mean temperatures:\n")
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


def finance_assumptions(rng: Random) -> str:
    out = [
        "# Finance model assumptions (v3, 2025-11-12)\n",
        "Discount rate 7.5% real. Project life 20 years. One augmentation allowed.\n",
        "| year | arbitrage $/MWh spread | capacity $/kW-yr | cycles/yr | degradation % |",
        "|---|---|---|---|---|",
    ]
    for y in range(1, 21):
        out.append(
            f"| {y} | {rng.gauss(48 - y * 0.6, 4):.1f} | {rng.gauss(62 + y * 0.8, 3):.1f} |"
            f" {rng.randint(290, 340)} | {1.6 + rng.uniform(-0.3, 0.3):.2f} |"
        )
    return "\n".join(out) + "\n"


def build_web_research() -> list[Json]:
    rng = rng_for(7)
    ids = Ids(rng_for(107))
    system = unwrap("""
        You are the research assistant of Northfield Energy Cooperative's engineering team.
        You prepare decision briefs: search the web for current sources, read the project's own
        documents with read_document, and keep working notes with save_notes as you go. Cite
        every external figure you use; prefer primary sources and recent data, and say when
        sources disagree or are vendor claims. The board reads the final memos: lead with the
        recommendation, keep them under two pages, and list open risks.
        """)
    log = ResearchLog(
        ids,
        rng,
        model="claude-sonnet-4-5-20250929",
        max_tokens=8192,
        system=system,
        tools=RESEARCH_TOOLS,
    )
    requirements = unwrap("""
        # Northfield storage project: site requirements (rev. D)

        ## Purpose

        A 20 MW / 80 MWh battery energy storage system (BESS) at the Northfield substation,
        for evening peak shaving, frequency response and capacity payments. Commercial
        operation targeted for Q4 2027. The cooperative owns and operates the site; the EPC
        contractor is chosen after the technology decision.

        ## Site

        - Location: Northfield substation yard, 62° N, altitude 240 m, open terrain.
        - Design ambient range: -40 °C to +30 °C. Design wind 32 m/s, snow load 2.8 kN/m².
        - Available area: 5,400 m² inside the existing fence, gravel pad, no buildings.
        - Grid connection: 33 kV bay, 20 MW export / 20 MW import, existing transformer.
        - Auxiliary supply: from the station service transformer, 400 kVA maximum. Auxiliary
          energy is bought at retail price and counts against round-trip efficiency.

        ## Duty

        - One full cycle per day on average, up to 1.4 on winter peak days.
        - Frequency response: 20 MW for 15 minutes, available 95% of the hours.
        - The system must deliver its full rating during the winter peak (December to
          February, 16:00 to 20:00), when ambient temperatures are lowest.

        ## Constraints

        - Fire code: UL 9540 listing and a UL 9540A large-scale test report are mandatory;
          the local fire authority asks for NFPA 855 spacing.
        - Warranty: at least 15 years, with a capacity guarantee; the cooperative's lenders
          ask for a supplier with at least three reference projects above 10 MWh.
        - Budget: $19.5M for the battery system including PCS, excluding EPC and grid works.
        - Local content: the grant from the provincial fund requires 30% of the value from
          domestic suppliers or assembly.

        ## Open questions for the engineering team

        1. Sodium-ion or LFP? Sodium-ion is said to handle cold better and to avoid lithium
           price risk; LFP is the proven choice. Which fits this site and this duty?
        2. How much auxiliary energy will heating take in winter, and what does it do to
           the round-trip efficiency over a year?
        3. Which suppliers can meet the warranty, certification and reference requirements?
        """)
    climate = (
        unwrap("""
            # Site climate data: coldest recorded week (station NF-03, 2024)

            Two-hourly readings from the substation weather station. The survey uses this
            week as the design winter week for auxiliary load and derating.
            """)
        + "\n"
        + climate_table(rng_for(71))
    )
    documents = {
        "site-requirements": requirements,
        "site-climate-data": climate,
        "vendor-rfi-responses": vendor_responses(rng_for(72)),
        "finance-model-assumptions": finance_assumptions(rng_for(73)),
    }
    r = Researcher(log, documents)

    # --- turn 1: the chemistry question -------------------------------------------------------
    r.ask(
        unwrap("""
            We need a recommendation on battery chemistry for the Northfield storage project:
            sodium-ion or LFP. Start from our site requirements document, then research the
            current state of both. Keep notes as you go; I'd like a first summary today.
            """)
    )
    r.step(
        [],
        [("I'll start with the site requirements, then research both chemistries.", None)],
        [("read_document", {"name": "site-requirements"})],
    )
    r.step(
        [
            (
                "The site is cold (design -40 °C) and the winter peak is the critical duty. "
                "Let me look at where sodium-ion stands for grid storage.",
                "sodium-ion battery grid storage deployments 2025",
            ),
            (None, "sodium-ion vs LFP energy density cycle life comparison"),
        ],
        [
            ("Sodium-ion has moved from pilots to its first utility-scale projects: ", None),
            (
                "the largest operating sodium-ion storage plant reported this year is 100 MWh,"
                " with two more above 50 MWh under construction.",
                "The 100 MWh plant, commissioned in May, is the largest sodium-ion storage"
                " installation operating to date.",
            ),
            (
                " Its cells store less energy per kilogram than LFP, which matters less for a "
                "stationary site with 5,400 m² available: ",
                None,
            ),
            (
                "current sodium-ion cells reach about 140-160 Wh/kg against 160-190 Wh/kg for"
                " LFP storage cells.",
                "Commercial sodium-ion cells now reach 140 to 160 Wh/kg, still below the 160 to"
                " 190 Wh/kg of LFP storage cells.",
            ),
            (" On cycle life, ", None),
            (
                "vendors claim 6,000-8,000 cycles for sodium-ion, but field data covers only a"
                " few years, whereas LFP has a decade of field data at 6,000+ cycles.",
                "Claimed cycle life of 6,000 to 8,000 cycles has not yet been demonstrated in the"
                " field beyond three years of operation.",
            ),
        ],
        [
            (
                "save_notes",
                {
                    "section": "chemistry",
                    "text": unwrap("""
                        ## Sodium-ion vs LFP: basics
                        - Na-ion: first utility-scale plants (largest 100 MWh, 2025); 140-160
                          Wh/kg vs LFP 160-190 Wh/kg; footprint not a constraint here.
                        - Cycle life: Na-ion 6,000-8,000 claimed, field data under 3 years; LFP
                          proven at 6,000+.
                        """),
                },
            )
        ],
    )
    r.step(
        [
            (
                "Now the cold-weather behaviour, which is what the site hinges on.",
                "sodium-ion battery low temperature performance -30 °C -40 °C capacity",
            ),
            (None, "LFP battery storage cold climate heating auxiliary load"),
            (None, "BESS container heating parasitic load winter efficiency"),
        ],
        [
            ("The cold-weather picture is the strongest argument for sodium-ion: ", None),
            (
                "sodium-ion cells retain about 90% of their capacity at -20 °C and can be"
                " charged below 0 °C, where LFP cells must be heated before charging.",
                "At -20 °C the cells retained around 90% of their rated capacity and accepted"
                " charge without preheating.",
            ),
            (" For LFP, ", None),
            (
                "container heating in cold climates consumes 2-5% of the annual throughput,"
                " most of it in the three coldest months.",
                "Heating and HVAC loads accounted for between 2 and 5 percent of annual"
                " discharged energy at the northern sites.",
            ),
            (" The sources disagree on how far down sodium-ion holds up: ", None),
            (
                "below -30 °C, independent tests show capacity dropping to 70-80%, well under"
                " vendor datasheets.",
                "Independent testing at -30 °C measured 70 to 80 percent of nominal capacity,"
                " below the datasheet values.",
            ),
            (" I'll check the site's own temperature record before drawing conclusions.", None),
        ],
        [("read_document", {"name": "site-climate-data"})],
    )
    r.step(
        [
            (
                "The design week sits between -15 °C and -40 °C for days, so heating load and "
                "derating both matter. Finally, prices.",
                "sodium-ion cell price per kWh 2025",
            ),
            (None, "LFP storage cell prices 2025 per kWh"),
        ],
        [
            (
                """
                **First summary: LFP is the safer default; sodium-ion is worth a serious look
                because of the cold.**

                - **Maturity.**""",
                None,
            ),
            (
                " Sodium-ion is at the first-utility-project stage (largest plant 100 MWh);"
                " LFP is the standard chemistry of grid storage.",
                "LFP accounted for more than 90 percent of new stationary storage capacity last"
                " year.",
            ),
            ("\n- **Cold.**", None),
            (
                " Sodium-ion keeps ~90% capacity at -20 °C and charges below 0 °C without"
                " heating; LFP needs heating that costs 2-5% of annual throughput in cold"
                " climates.",
                "LFP systems in cold climates rely on active heating to keep cells above 0 °C"
                " before charging.",
            ),
            ("\n- **Price.**", None),
            (
                " Sodium-ion cells are quoted at $70-90/kWh against $50-60/kWh for LFP storage"
                " cells this year, so sodium-ion starts 20-40% more expensive at the cell.",
                "Sodium-ion cells were quoted between $70 and $90 per kWh, against $50 to $60"
                " for LFP storage cells.",
            ),
            (
                "\n\n"
                + unwrap("""
                    Our site's design week (-15 to -40 °C for days) is exactly where the two
                    differ most, so the answer depends on the heating load versus the price gap
                    and on whether sodium-ion suppliers can meet our warranty, certification and
                    reference requirements. I'd look at suppliers next.
                    """),
                None,
            ),
        ],
    )

    # --- turn 2: suppliers and supply risk -----------------------------------------------------
    r.ask(
        unwrap("""
            Good start. Look into the suppliers that actually offer sodium-ion containers with
            warranties, and at the supply risks on both sides. Our RFI responses are in the
            drive as vendor-rfi-responses.
            """)
    )
    r.step(
        [
            (
                "I'll read the RFI responses first and then check the suppliers' claims.",
                "sodium-ion containerized BESS product warranty 15 years",
            ),
            (None, "sodium-ion storage system UL 9540A test report certification"),
        ],
        [
            ("Certification is the first filter: ", None),
            (
                "only two sodium-ion container products have a published UL 9540A large-scale"
                " test report so far; several list UL 9540 as pending.",
                "Two sodium-ion systems have completed UL 9540A large-scale fire testing; others"
                " list certification as pending.",
            ),
            (" On warranties, ", None),
            (
                "sodium-ion suppliers offer 10-15 years, usually capped at 6,000 cycles, with"
                " end-of-warranty capacity of 60-70%.",
                "Warranties on sodium-ion systems range from ten to fifteen years, typically"
                " capped at 6,000 cycles.",
            ),
        ],
        [("read_document", {"name": "vendor-rfi-responses"})],
    )
    r.step(
        [
            (
                "Halvard and Keystone are the two sodium-ion bidders. Checking their track "
                "records and thermal-runaway data.",
                "Halvard Energy Systems sodium-ion NIB-280 projects",
            ),
            (None, "sodium-ion thermal runaway fire safety compared to LFP"),
        ],
        [
            ("Halvard's NIB-280 is the more mature of the two: ", None),
            (
                "it has four reference projects above 10 MWh, the largest 60 MWh, all in"
                " operation for less than two years.",
                "Halvard's largest operating project, a 60 MWh system, entered service last year.",
            ),
            (" Keystone has one project above 10 MWh. On safety, ", None),
            (
                "sodium-ion cells show lower peak temperatures and less gas in thermal runaway"
                " tests than LFP, though the fire authority will still ask for a UL 9540A"
                " report.",
                "Sodium-ion cells reached lower peak temperatures and released less gas than LFP"
                " cells in the same abuse tests.",
            ),
        ],
        [
            (
                "save_notes",
                {
                    "section": "vendors",
                    "text": unwrap("""
                        ## Suppliers (RFI 2025-11-07 + web)
                        - Halvard NIB-280 (Na-ion): 15 y, 4 refs > 10 MWh (largest 60 MWh,
                          < 2 y in operation); UL 9540A report available.
                        - Keystone NaCore 3.1 (Na-ion): 12 y warranty (below our 15 y), 1 ref.
                        - LFP bidders (Ostrava, Bluepeak, Tamarack): 15-20 y, many references,
                          all UL 9540 listed; need heating below 0 °C.
                        - Safety: Na-ion milder thermal runaway; UL 9540A still required.
                        """),
                },
            )
        ],
    )
    r.step(
        [
            (
                "Now supply risk on both sides.",
                "lithium carbonate price outlook 2026",
            ),
            (None, "sodium-ion supply chain hard carbon anode capacity 2026"),
        ],
        [
            ("On the lithium side, ", None),
            (
                "lithium carbonate prices fell about 80% from their 2022 peak and most"
                " forecasters expect them to stay low through 2026 as new capacity comes online.",
                "Most forecasts see lithium carbonate remaining well below its 2022 peak through"
                " 2026.",
            ),
            (" That weakens the main economic argument for sodium-ion. Its own risk is ", None),
            (
                "a thin supply chain: hard-carbon anode capacity outside one country is still"
                " small, and cell production is concentrated in a handful of makers.",
                "Hard carbon anode production capacity remains concentrated, with limited"
                " supply outside a few producers.",
            ),
        ],
        [
            (
                "save_notes",
                {
                    "section": "supply",
                    "text": unwrap("""
                        ## Supply risk
                        - Lithium: carbonate ~80% below 2022 peak, expected low through 2026.
                        - Na-ion: hard-carbon anode and cell supply concentrated; few makers.
                        """),
                },
            )
        ],
    )
    r.step(
        [(None, "sodium-ion degradation field data warranty throughput")],
        [
            (
                """
                **Suppliers and supply risk: sodium-ion is possible but only with Halvard, and
                it's the riskier supply chain.**

                - Of the two sodium-ion bidders, only **Halvard (NIB-280)** meets the 15-year
                  warranty, the UL 9540A requirement and the three-reference rule (four
                  references above 10 MWh). Keystone offers 12 years and one reference, so it
                  fails two of our requirements.
                - All three LFP bidders meet every requirement; their declared winter heating
                  loads are 4-5 times those of the sodium-ion bids.
                - **Supply risk runs the other way from what the requirements assumed:**
                  lithium prices are low and expected to stay so, while sodium-ion depends on
                  a concentrated anode and cell supply.
                -""",
                None,
            ),
            (
                " Field degradation data for sodium-ion covers under three years, so the"
                " warranty is the main protection.",
                "Published field degradation data for sodium-ion systems spans less than three"
                " years of operation.",
            ),
        ],
    )

    # --- turn 3: the board memo -----------------------------------------------------------------
    r.ask(
        unwrap("""
            Thanks. Please draft the recommendation memo for the board. Check the current
            incentives and anything published in the last month, and use the finance model
            assumptions from the drive.
            """)
    )
    r.step(
        [
            (
                "Checking incentives first.",
                "energy storage investment tax credit domestic content bonus 2025",
            ),
            (None, "provincial clean energy fund storage grant local content requirement"),
        ],
        [
            ("Both chemistries qualify for the storage credit; ", None),
            (
                "the domestic content bonus requires a minimum share of manufactured products"
                " from domestic suppliers, which the LFP bidders with local assembly can meet.",
                "The domestic content bonus requires that a minimum percentage of manufactured"
                " products be produced domestically.",
            ),
            (" The provincial grant's 30% local-content rule ", None),
            (
                "counts container assembly and integration, not only cells.",
                "Assembly and integration performed in the province count toward the local"
                " content share.",
            ),
        ],
        [
            (
                "save_notes",
                {
                    "section": "incentives",
                    "text": unwrap("""
                        ## Incentives
                        - Storage credit: both chemistries; domestic content bonus favours
                          bidders with local assembly (Ostrava, Tamarack).
                        - Provincial grant: 30% local content counts assembly/integration.
                        """),
                },
            )
        ],
    )
    r.step(
        [
            (
                "Now anything recent on either chemistry.",
                "sodium-ion battery news November 2025",
            ),
            (None, "cold climate LFP storage project winter performance 2025"),
        ],
        [
            ("Two recent items matter for the memo: ", None),
            (
                "a second large sodium-ion cell factory announced a one-year delay this month,",
                "The company said volume production at the new plant would start a year later"
                " than planned.",
            ),
            (" and ", None),
            (
                "a northern utility published its first winter of LFP operation, with 3.1% of"
                " throughput used for heating and full output during its peak.",
                "Heating consumed 3.1 percent of the energy discharged over the winter, and the"
                " system met every peak dispatch.",
            ),
        ],
        [("read_document", {"name": "finance-model-assumptions"})],
    )
    r.step(
        [(None, "battery storage augmentation cost per kWh 2027")],
        [
            (
                "The finance model allows one augmentation; ",
                None,
            ),
            (
                "augmentation costs for LFP are expected to fall to about $120/kWh installed by"
                " 2027.",
                "Installed augmentation costs are projected near $120 per kWh by 2027.",
            ),
        ],
        [
            (
                "save_notes",
                {
                    "section": "risks",
                    "text": unwrap("""
                        ## Risks for the memo
                        - Na-ion: single qualifying supplier; cell factory delays; short field
                          record.
                        - LFP: heating load 2-5% (3.1% measured at a northern site); auxiliary
                          supply 400 kVA must cover winter heating.
                        - Augmentation (year ~10): ~$120/kWh expected for LFP.
                        """),
                },
            )
        ],
    )
    r.step(
        [],
        [
            (
                """
                # Memo: battery chemistry for the Northfield storage project

                **Recommendation: procure LFP (liquid-cooled, containerised) from a bidder
                with local assembly, and keep Halvard's sodium-ion offer as a priced
                alternative in the tender.**

                ## Why

                1. **Requirements.** All three LFP bidders meet the warranty (15-20 years),
                   certification (UL 9540 listed, UL 9540A reports) and reference
                   requirements. Of the sodium-ion bidders only Halvard does, with four
                   references, none older than two years.
                2. **Cold.** Sodium-ion's real advantage is the cold: it charges below 0 °C
                   and keeps ~90% of its capacity at -20 °C. But LFP with heating met every
                   winter peak at a comparable northern site, using 3.1% of its throughput
                   for heating. At our site that is about 0.9 GWh a year, roughly $95,000 at
                   retail price, and the 400 kVA auxiliary supply covers it.
                3. **Price and supply.** LFP cells are 20-40% cheaper; lithium prices are
                   expected to stay low through 2026, while sodium-ion's supply chain is
                   concentrated and one major cell factory has just slipped a year.
                4. **Incentives.** Bidders with local assembly qualify for the domestic
                   content bonus and the provincial grant's 30% local-content rule.

                ## Open risks

                - Winter derating below -30 °C: ask each bidder for a guaranteed winter
                  rating at -40 °C, heating included.
                - Auxiliary supply: confirm the 400 kVA station supply with heating at the
                  design week.
                - Revisit sodium-ion at augmentation (around year 10), when its field record
                  will be long enough to judge.
                """,
                None,
            ),
        ],
    )

    # --- turn 4: a follow-up question ----------------------------------------------------------
    r.ask("One more: how does round-trip efficiency compare at low temperatures?")
    r.step(
        [
            (None, "round-trip efficiency sodium-ion battery low temperature"),
            (None, "LFP BESS round-trip efficiency winter including auxiliary load"),
        ],
        [
            ("At the cell, the two are close at room temperature, ", None),
            (
                "sodium-ion at 88-92% DC round-trip efficiency against 92-95% for LFP.",
                "DC round-trip efficiency measured 88 to 92 percent for sodium-ion cells and 92"
                " to 95 percent for LFP.",
            ),
            (" In the cold the comparison flips once heating is counted: ", None),
            (
                "LFP systems in winter measured 78-82% AC round-trip efficiency including"
                " auxiliary load, versus 83-85% for the sodium-ion pilots that needed no"
                " heating.",
                "Including auxiliary consumption, winter round-trip efficiency fell to between 78"
                " and 82 percent for the LFP systems.",
            ),
            (
                "\n\n"
                + unwrap("""
                    Over a whole year at our site the gap is about 2 points in sodium-ion's
                    favour, worth roughly $90-110K a year at our cycling. That's less than the
                    price gap on an 80 MWh system, so it doesn't change the recommendation, but
                    it's worth stating in the memo as the main trade-off.
                    """),
                None,
            ),
        ],
    )
    return log.pairs


# --------------------------------------------------------------------------------------------
# Writing and checking
# --------------------------------------------------------------------------------------------

ZIP_TIME = (2026, 3, 10, 12, 0, 0)


def jsonl(records: Iterable[Json]) -> bytes:
    return "".join(
        json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
    ).encode()


def pretty(obj: Any, indent: int) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=indent) + "\n").encode()


def write_all(out: Path) -> dict[str, bytes]:
    """Generate every sample into `out`; returns the files written (relative path -> bytes)."""
    written: dict[str, bytes] = {}
    written["agent_tool_loop.jsonl.xz"] = lzma.compress(
        jsonl(build_agent_tool_loop()), format=lzma.FORMAT_XZ, preset=6
    )
    written["thinking_chat.jsonl"] = jsonl(build_thinking_chat())
    written["interleaved_thinking_tools.json"] = pretty(build_interleaved(), 1)
    session_id, records, agents = build_claude_code()
    session: dict[str, bytes] = {f"{session_id}.jsonl": jsonl(records)}
    for agent_id, (agent_records, meta) in agents.items():
        base = f"{session_id}/subagents/agent-{agent_id}"
        session[f"{base}.jsonl"] = jsonl(agent_records)
        session[f"{base}.meta.json"] = json.dumps(meta, separators=(",", ":")).encode()
    for name, data in session.items():
        written[f"claude_code_session/{name}"] = data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in session.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=9)
    written["claude_code_session.zip"] = buf.getvalue()
    written["openai_tool_calls.jsonl"] = jsonl(build_openai())
    written["request_body.json"] = pretty(build_request_body(), 2)
    written["web_research_agent.jsonl.xz"] = lzma.compress(
        jsonl(build_web_research()), format=lzma.FORMAT_XZ, preset=6
    )

    out.mkdir(parents=True, exist_ok=True)
    session_dir = out / "claude_code_session"
    if session_dir.exists():
        shutil.rmtree(session_dir)  # generated: a new session id must not leave stale files
    for rel, data in written.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return written


def _zip_members(data: bytes) -> list[tuple[str, tuple[int, ...], bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, i.date_time, zf.read(i)) for i in zf.infolist()]


def compare(expected: dict[str, bytes], folder: Path) -> tuple[list[str], list[str]]:
    """Differences between freshly generated files and `folder`, and notes that are not errors.

    Compressed files are compared by content: another liblzma or zlib version may compress the
    same bytes differently, which is noted but not a difference.
    """
    problems: list[str] = []
    notes: list[str] = []
    on_disk = {
        str(p.relative_to(folder))
        for p in (folder / "claude_code_session").rglob("*")
        if p.is_file()
    }
    for rel in sorted(on_disk - {k for k in expected if k.startswith("claude_code_session/")}):
        problems.append(f"{rel}: not produced by the generator (stale file)")
    for rel, data in sorted(expected.items()):
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        current = path.read_bytes()
        if current == data:
            continue
        if rel.endswith(".xz"):
            same = lzma.decompress(current) == lzma.decompress(data)
        elif rel.endswith(".zip"):
            same = _zip_members(current) == _zip_members(data)
        else:
            same = False
        if same:
            notes.append(f"{rel}: same content, different compressed bytes (compressor version?)")
        else:
            problems.append(f"{rel}: content differs")
    return problems, notes


def describe(folder: Path) -> str:
    """Sizes, request counts and peak prompts, for the README and the commit message."""
    lines = []

    def prompt_of(u: Json) -> int:
        return u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]

    def anthropic(name: str, pairs: list[Json]) -> None:
        prompts = [prompt_of(p["response"]["usage"]) for p in pairs]
        lines.append(f"{name}: {len(pairs)} requests, peak prompt {max(prompts):,} tokens")

    anthropic(
        "agent_tool_loop.jsonl.xz",
        [
            json.loads(x)
            for x in lzma.decompress(
                (folder / "agent_tool_loop.jsonl.xz").read_bytes()
            ).splitlines()
        ],
    )
    anthropic(
        "thinking_chat.jsonl",
        [json.loads(x) for x in (folder / "thinking_chat.jsonl").read_text().splitlines()],
    )
    anthropic(
        "interleaved_thinking_tools.json",
        json.loads((folder / "interleaved_thinking_tools.json").read_text()),
    )
    for path in sorted((folder / "claude_code_session").rglob("*.jsonl")):
        seen: dict[str, int] = {}
        pre = None
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "assistant":
                seen.setdefault(rec["message"]["id"], prompt_of(rec["message"]["usage"]))
            if rec.get("subtype") == "compact_boundary":
                pre = rec["compactMetadata"]["preTokens"]
        extra = f", compaction preTokens {pre:,}" if pre else ""
        lines.append(
            f"{path.relative_to(folder)}: {len(seen)} responses, peak prompt"
            f" {max(seen.values()):,}{extra}"
        )
    research = [
        json.loads(x)["response"]["usage"]
        for x in lzma.decompress((folder / "web_research_agent.jsonl.xz").read_bytes()).splitlines()
    ]
    # the real context is the last internal call's prompt; the SDK adds up all of them
    real = max(
        prompt_of({"cache_creation_input_tokens": 0, **(u.get("iterations") or [u])[-1]})
        for u in research
    )
    sdk = max(prompt_of(u) + u["output_tokens"] for u in research)
    lines.append(
        f"web_research_agent.jsonl.xz: {len(research)} requests, peak real prompt {real:,},"
        f" peak SDK compaction_control total {sdk:,}"
    )
    pairs = [json.loads(x) for x in (folder / "openai_tool_calls.jsonl").read_text().splitlines()]
    peak = max(p["response"]["usage"]["prompt_tokens"] for p in pairs)
    lines.append(f"openai_tool_calls.jsonl: {len(pairs)} requests, peak prompt_tokens {peak:,}")
    for rel in OUTPUT_FILES:
        p = folder / rel
        size = (
            sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            if p.is_dir()
            else p.stat().st_size
        )
        lines.append(f"  {rel}: {size:,} bytes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary folder and exit 1 if --out differs from it",
    )
    parser.add_argument("--describe", action="store_true", help="print sizes and peak prompts")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = write_all(Path(tmp))
        problems, notes = compare(fresh, args.out)
        for note in notes:
            print("note:", note)
        for problem in problems:
            print("DIFFERS:", problem)
        if problems:
            print(
                "sample_conversations are out of date: run python sample_conversations/generate.py"
            )
            return 1
        print(f"sample_conversations are up to date ({len(fresh)} files)")
        return 0
    write_all(args.out)
    if args.describe:
        print(describe(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
