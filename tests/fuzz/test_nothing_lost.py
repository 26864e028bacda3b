"""Nothing readable is lost: every block of every readable line is in the model or accounted for.

Each JSON Lines seed gets some lines broken (cut short, a byte that is not UTF-8, nesting past the
parser's depth). Then every block of every line that is still readable is looked up: its text, id
or tool_use_id must be a string of the loaded model, or its line must be named in a warning
(``line N: ...``), or it must be one of the records a warning counts (abandoned branches,
sidechains, repeated uuids). The counts are asserted to add up and printed.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ctxviz.loading import loads
from ctxviz.model import Conversation
from tests.fuzz._check import CASES, OUTCOMES
from tests.fuzz._corpus import SHARED_MISSING, Seed, bundled_seeds, shared_seeds

# test_tally_adds_up reads what the tests before it counted: all on one xdist worker, in order.
pytestmark = pytest.mark.xdist_group("nothing_lost")

TALLY: Counter[str] = Counter()
"""Blocks checked, and how each was found (printed by the test's summary line)."""


def _break(data: bytes, rng: random.Random) -> tuple[bytes, set[int]]:
    """Break about one line in fifteen (at least two); return the data and the broken lines."""
    lines = data.split(b"\n")
    candidates = [i for i, ln in enumerate(lines) if ln.strip()]
    broken = set(rng.sample(candidates, max(2, len(candidates) // 15)))
    for i in broken:
        how = rng.randrange(3)
        if how == 0:
            lines[i] = lines[i][: rng.randrange(1, max(2, len(lines[i]) - 1))]
        elif how == 1:
            lines[i] = lines[i][:10] + b"\xff" + lines[i][10:]
        else:
            lines[i] = b'{"x":' * 5000 + b"1" + b"}" * 5000
    return b"\n".join(lines), {i + 1 for i in broken}


def _readable(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _content_ids(content: object) -> Iterator[str]:
    """The identity of each block of a message ``content`` (text, thinking, tool ids)."""
    if isinstance(content, str):
        if content:
            yield content
        return
    if not isinstance(content, list):
        return
    for b in content:
        if not isinstance(b, dict):
            continue
        t = b.get("type")
        if t in ("text", "input_text", "output_text") and b.get("text"):
            yield b["text"]
        elif t == "thinking" and b.get("thinking"):
            yield b["thinking"]
        elif t == "tool_use":
            yield b["id"]
        elif t == "tool_result":
            yield b["tool_use_id"]


def _message_ids(m: object) -> Iterator[str]:
    if not isinstance(m, dict):
        return
    if m.get("role") in ("system", "developer"):
        yield from _content_ids(m.get("content"))
        return
    yield from _content_ids(m.get("content"))
    for call in m.get("tool_calls") or []:
        yield call["id"]
    if m.get("role") == "tool":
        yield m["tool_call_id"]


def _record_ids(obj: dict[str, Any]) -> tuple[str, list[str]]:
    """(kind of record, block identities) of one readable JSONL line."""
    if obj.get("type") in ("user", "assistant") and isinstance(obj.get("message"), dict):
        return "claude-code", list(_content_ids(obj["message"].get("content")))
    if "request" in obj:
        req, resp = obj.get("request") or {}, obj.get("response") or {}
        ids = [i for m in req.get("messages", []) for i in _message_ids(m)]
        if isinstance(resp, dict):
            ids += list(_content_ids(resp.get("content")))  # Anthropic
            for choice in resp.get("choices", [])[:1]:  # OpenAI
                ids += list(_message_ids(choice.get("message")))
        return "log", ids
    if "role" in obj:
        return "message", list(_message_ids(obj))
    return "other", []


def _strings(value: object, out: set[str]) -> None:
    """Every string held anywhere in the model (dataclasses, tuples, raw JSON)."""
    if isinstance(value, str):
        out.add(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _strings(getattr(value, f.name), out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _strings(k, out)
            _strings(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, out)


COUNTED = re.compile(
    r"(\d+) (?:message records sit on abandoned branches|sidechain records|records repeat)"
)


def _missing(
    data: bytes, convs: list[Conversation], *, tally: bool = True
) -> tuple[set[str], dict[int, list[str]]]:
    """Blocks of readable lines absent from the model: uuids of such Claude Code records, and
    the missing identities of every line."""
    model: set[str] = set()
    for c in convs:
        _strings(c.messages, model)
        _strings(c.system, model)
    records: set[str] = set()
    per_line: dict[int, list[str]] = {}
    for n, line in enumerate(data.split(b"\n"), 1):
        obj = _readable(line)
        if obj is None:
            continue
        kind, ids = _record_ids(obj)
        missing = [i for i in ids if i not in model]
        if tally:
            TALLY["blocks"] += len(ids)
            TALLY["in the model"] += len(ids) - len(missing)
        if missing:
            per_line[n] = missing
            if kind == "claude-code":
                records.add(str(obj.get("uuid")))
    return records, per_line


def _account(seed: Seed, case: int) -> None:
    rng = random.Random(f"nothing-lost/{seed.name}/{case}")
    data, broken = _break(seed.data, rng)
    CASES["nothing_lost"] += 1
    conv = loads(data)
    OUTCOMES["nothing_lost", "loaded"] += 1
    convs: list[Conversation] = [conv, *conv.subagents]
    warnings = [w for c in convs for w in c.warnings]
    named = {int(n) for w in warnings for n in re.findall(r"\bline (\d+)\b", w.split(": ")[0])}
    counted = sum(int(n) for w in warnings for n in COUNTED.findall(w))
    assert broken <= named, f"{seed.name}: broken lines {sorted(broken - named)} not named"
    for n, line in enumerate(data.split(b"\n"), 1):
        if line.strip() and _readable(line) is None:
            assert n in named, f"{seed.name}: unreadable line {n} is not named in a warning"
    records, per_line = _missing(data, convs)
    unexplained: list[str] = []
    for n, missing in per_line.items():
        if n in named:
            TALLY["on a line named in a warning"] += len(missing)
        elif (obj := _readable(data.split(b"\n")[n - 1])) and str(obj.get("uuid")) in records:
            TALLY["in a record a warning counts"] += len(missing)
        else:
            unexplained += [f"line {n}: {i[:60]!r}" for i in missing]
    assert not unexplained, f"{seed.name}: blocks lost silently: {unexplained[:5]}"
    assert len(records) <= counted, (
        f"{seed.name}: {len(records)} records have blocks missing from the model, but the "
        f"warnings count only {counted} skipped records"
    )
    # Off the chain because of the broken lines, rather than as in the file: only the children of
    # a broken record (a tool_result whose tool_use was on it, say) may be lost with it.
    baseline, _ = _missing(seed.data, [(c := loads(seed.data)), *c.subagents], tally=False)
    lost_with = {
        str(o.get("uuid"))
        for n in broken
        if (o := _readable(seed.data.split(b"\n")[n - 1])) is not None
    }
    for n, line in enumerate(data.split(b"\n"), 1):
        obj = _readable(line)
        if obj is None or str(obj.get("uuid")) not in records - baseline:
            continue
        assert obj.get("parentUuid") in lost_with, (
            f"{seed.name}: line {n} is off the chain only because lines {sorted(broken)} broke"
        )


def _jsonl(seeds: tuple[Seed, ...]) -> list[Seed]:
    return [s for s in seeds if s.kind == "jsonl" and s.data.count(b"\n") >= 4]


def test_nothing_lost_in_bundled_samples() -> None:
    for seed in _jsonl(bundled_seeds()):
        for case in range(3):
            _account(seed, case)
    assert TALLY["blocks"] > 0


def test_nothing_lost_in_real_samples() -> None:
    seeds = _jsonl(shared_seeds())
    if not seeds:
        pytest.skip(SHARED_MISSING)
    for seed in seeds:
        for case in range(3):
            _account(seed, case)


def test_tally_adds_up() -> None:
    """Runs last in this module: every block checked was found one of the three ways."""
    if not TALLY["blocks"]:
        pytest.skip("no block was checked")
    found = sum(v for k, v in TALLY.items() if k != "blocks")
    assert found == TALLY["blocks"], dict(TALLY)
    print(f"nothing lost: {dict(TALLY)}")
