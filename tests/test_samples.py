"""The bundled sample conversations: deterministic, parseable with the stdlib, and realistic.

These tests read the files with json / lzma / zipfile only and never import ctxviz, so they
check the samples themselves, independently of the loaders.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import itertools
import json
import lzma
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_conversations"
GENERATOR = SAMPLES / "generate.py"

Json = dict[str, Any]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sample_generate", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prompt_of(usage: Json) -> int:
    return (
        usage["input_tokens"]
        + usage["cache_creation_input_tokens"]
        + usage["cache_read_input_tokens"]
    )


def read_jsonl(data: bytes | str) -> list[Json]:
    text = data.decode() if isinstance(data, bytes) else data
    return [json.loads(line) for line in text.splitlines()]


def agent_loop() -> list[Json]:
    return read_jsonl(lzma.decompress((SAMPLES / "agent_tool_loop.jsonl.xz").read_bytes()))


def thinking_chat() -> list[Json]:
    return read_jsonl((SAMPLES / "thinking_chat.jsonl").read_text())


def interleaved() -> list[Json]:
    pairs = json.loads((SAMPLES / "interleaved_thinking_tools.json").read_text())
    assert isinstance(pairs, list)
    return pairs


def session_files() -> tuple[Path, list[Path]]:
    folder = SAMPLES / "claude_code_session"
    (main,) = folder.glob("*.jsonl")
    agents = sorted(folder.glob(f"{main.stem}/subagents/agent-*.jsonl"))
    return main, agents


def genuine_user(message: Json) -> bool:
    content = message["content"]
    if message["role"] != "user":
        return False
    return isinstance(content, str) or any(b["type"] != "tool_result" for b in content)


def assert_tool_results_matched(messages: list[Json]) -> None:
    """Every tool_result answers a tool_use of an earlier assistant message."""
    seen: set[str] = set()
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            continue
        for block in content:
            if block["type"] == "tool_use":
                seen.add(block["id"])
            elif block["type"] == "tool_result":
                assert block["tool_use_id"] in seen, block["tool_use_id"]


# --- the generator -----------------------------------------------------------------------------


@pytest.mark.slow
def test_committed_samples_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_generator_is_deterministic(tmp_path: Path) -> None:
    generator = load_generator()
    first = generator.write_all(tmp_path / "a")
    second = generator.write_all(tmp_path / "b")
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name
        assert (tmp_path / "a" / name).read_bytes() == first[name]


@pytest.mark.slow
def test_check_detects_a_difference(tmp_path: Path) -> None:
    generator = load_generator()
    generator.write_all(tmp_path)
    (tmp_path / "thinking_chat.jsonl").write_text("{}\n")
    assert generator.main(["--check", "--out", str(tmp_path)]) == 1


def test_generator_uses_only_the_standard_library() -> None:
    tree = ast.parse(GENERATOR.read_text())
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    clocks = {"uuid1", "uuid4", "time", "now", "today", "utcnow", "urandom", "perf_counter"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in allowed for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] in allowed
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in clocks, f"line {node.lineno}: {name}() is not deterministic"
    assert "secrets" not in {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }


# --- 1. agent tool loop --------------------------------------------------------------------


def test_agent_tool_loop_is_a_long_anthropic_log() -> None:
    size = (SAMPLES / "agent_tool_loop.jsonl.xz").stat().st_size
    assert size < 1_000_000
    pairs = agent_loop()
    assert 25 <= len(pairs) <= 40
    prompts = [prompt_of(p["response"]["usage"]) for p in pairs]
    assert prompts == sorted(prompts) and len(set(prompts)) == len(prompts)
    assert prompts[0] < 10_000
    assert 110_000 <= prompts[-1] <= 130_000
    user_turns = [m for m in pairs[-1]["request"]["messages"] if genuine_user(m)]
    assert len(user_turns) >= 3
    for pair in pairs:
        request, response = pair["request"], pair["response"]
        assert request["model"] == "claude-sonnet-4-5-20250929"
        assert {t["name"] for t in request["tools"]} >= {"Read", "Grep", "Write", "Bash"}
        assert all("input_schema" in t for t in request["tools"])
        assert request["messages"][-1]["role"] == "user"
        assert response["type"] == "message" and response["role"] == "assistant"
        assert response["id"].startswith("msg_")
        assert response["stop_reason"] in ("tool_use", "end_turn")
        assert_tool_results_matched([*request["messages"]])
    tool_results = sum(
        b["type"] == "tool_result"
        for m in pairs[-1]["request"]["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
    )
    assert tool_results >= 20


def test_caching_reads_the_previous_prompt() -> None:
    pairs = agent_loop()
    previous = None
    for pair in pairs:
        usage = pair["response"]["usage"]
        assert 1 <= usage["input_tokens"] <= 10
        cache = usage["cache_creation"]
        assert (
            cache["ephemeral_5m_input_tokens"] + cache["ephemeral_1h_input_tokens"]
            == (usage["cache_creation_input_tokens"])
        )
        if previous is not None:
            assert usage["cache_read_input_tokens"] == previous
        previous = prompt_of(usage)


def without_cache_control(messages: list[Json]) -> str:
    return json.dumps(messages).replace(', "cache_control": {"type": "ephemeral"}', "")


def test_each_request_extends_the_previous_one() -> None:
    pairs = agent_loop()
    for before, after in itertools.pairwise(pairs):
        sent = before["request"]["messages"]
        again = after["request"]["messages"][: len(sent)]
        assert without_cache_control(again) == without_cache_control(sent)
        assert after["request"]["messages"][len(sent)]["content"] == before["response"]["content"]


# --- 2. thinking chat ------------------------------------------------------------------------


def test_thinking_chat_sends_thinking_back() -> None:
    pairs = thinking_chat()
    assert 6 <= len(pairs) <= 10
    redacted = 0
    for i, pair in enumerate(pairs):
        request, response = pair["request"], pair["response"]
        assert request["thinking"]["type"] == "enabled"
        assert request["thinking"]["budget_tokens"] < request["max_tokens"]
        assert "tools" not in request
        assert request["model"] == "claude-sonnet-4-5-20250929"
        kinds = [b["type"] for b in response["content"]]
        assert kinds[-1] == "text" and kinds[0] in ("thinking", "redacted_thinking")
        for block in response["content"]:
            if block["type"] == "thinking":
                assert block["signature"] and block["thinking"]
            if block["type"] == "redacted_thinking":
                redacted += 1
                assert len(block["data"]) > 100
        messages = request["messages"]
        assert sum(genuine_user(m) for m in messages) == i + 1
        earlier = [m for m in messages if m["role"] == "assistant"]
        assert len(earlier) == i
        for j, message in enumerate(earlier):
            assert message["content"] == pairs[j]["response"]["content"]
    assert redacted == 1


def test_thinking_chat_usage_leaves_out_earlier_thinking() -> None:
    pairs = thinking_chat()
    prompts = [prompt_of(p["response"]["usage"]) for p in pairs]
    assert prompts == sorted(prompts)
    previous = 0
    for pair in pairs:
        usage = pair["response"]["usage"]
        prompt = prompt_of(usage)
        if prompt < 1024:  # under the caching minimum
            assert usage["input_tokens"] == prompt
        else:
            assert usage["input_tokens"] <= 10
            assert usage["cache_read_input_tokens"] in (0, previous)
        previous = prompt
    assert pairs[-1]["response"]["usage"]["cache_read_input_tokens"] == prompts[-2]
    # Growth between two requests is about the visible answer and the new question, far less
    # than the thinking that was sent back too.
    for before, after in itertools.pairwise(pairs):
        thinking_chars = sum(len(b.get("thinking", "")) for b in before["response"]["content"])
        answer_chars = sum(len(b.get("text", "")) for b in before["response"]["content"])
        grew = prompt_of(after["response"]["usage"]) - prompt_of(before["response"]["usage"])
        assert grew < (answer_chars + thinking_chars) / 3.6 or thinking_chars == 0


# --- 3. interleaved thinking ------------------------------------------------------------------


def test_interleaved_thinking_between_tool_calls() -> None:
    pairs = interleaved()
    assert len(pairs) >= 8
    for pair in pairs:
        assert "interleaved-thinking-2025-05-14" in pair["betas"]
        request = pair["request"]
        assert request["thinking"]["budget_tokens"] > request["max_tokens"]
        assert request["model"].startswith(("claude-sonnet-4-5", "claude-opus-4-5"))
        assert response_kinds(pair)[0] == "thinking"
        assert_tool_results_matched(request["messages"])
    # The current turn's thinking goes back with the tool results.
    for before, after in itertools.pairwise(pairs):
        if before["response"]["stop_reason"] == "tool_use":
            sent = after["request"]["messages"][-2]
            assert sent["role"] == "assistant"
            assert sent["content"] == before["response"]["content"]
            assert sent["content"][0]["type"] == "thinking"


def response_kinds(pair: Json) -> list[str]:
    return [b["type"] for b in pair["response"]["content"]]


def test_interleaved_prompt_grows_within_a_turn_and_strips_at_the_next() -> None:
    pairs = interleaved()
    turns = [sum(genuine_user(m) for m in p["request"]["messages"]) for p in pairs]
    prompts = [prompt_of(p["response"]["usage"]) for p in pairs]
    for i in range(1, len(pairs)):
        if turns[i] == turns[i - 1]:
            assert prompts[i] > prompts[i - 1]
            assert pairs[i]["response"]["usage"]["cache_read_input_tokens"] == prompts[i - 1]
        else:
            # A new turn: the previous turn's thinking is stripped, so the cache only covers
            # the system prefix.
            assert pairs[i]["response"]["usage"]["cache_read_input_tokens"] < prompts[i - 1]
    assert len(set(turns)) == 2


# --- 4. Claude Code session -----------------------------------------------------------------


def test_claude_code_session_layout() -> None:
    main, agents = session_files()
    assert main.stat().st_size < 2_000_000
    assert len(agents) == 1
    meta = json.loads(agents[0].with_name(agents[0].stem + ".meta.json").read_text())
    assert set(meta) == {"agentType", "description"}
    for path in [main, *agents]:
        records = read_jsonl(path.read_text())
        uuids = {r["uuid"] for r in records if "uuid" in r}
        for record in records:
            if record.get("type") in ("user", "assistant", "system", "progress"):
                assert record["sessionId"] == main.stem
                assert record["version"].startswith("2.1.")
                parent = record["parentUuid"]
                assert parent is None or parent in uuids
                assert record["isSidechain"] is (path != main)
            if path != main and "uuid" in record:
                assert record["agentId"] == path.stem.removeprefix("agent-")


def test_claude_code_split_lines_share_message_id() -> None:
    main, agents = session_files()
    for path in [main, *agents]:
        groups: dict[str, list[Json]] = defaultdict(list)
        for record in read_jsonl(path.read_text()):
            if record.get("type") == "assistant":
                groups[record["message"]["id"]].append(record)
        assert len(groups) >= 4
        split = 0
        for lines in groups.values():
            assert len({line["requestId"] for line in lines}) == 1
            assert all(len(line["message"]["content"]) == 1 for line in lines)
            prompts = {prompt_of(line["message"]["usage"]) for line in lines}
            assert len(prompts) == 1
            last = lines[-1]["message"]
            assert last["stop_reason"] in ("tool_use", "end_turn")
            for early in lines[:-1]:
                assert early["message"]["stop_reason"] is None
                assert early["message"]["usage"]["output_tokens"] < last["usage"]["output_tokens"]
            split += len(lines) > 1
        assert split >= (3 if path == main else 1)
    kinds = {
        line["message"]["content"][0]["type"]
        for line in read_jsonl(main.read_text())
        if line.get("type") == "assistant"
    }
    assert kinds == {"thinking", "text", "tool_use"}


def test_claude_code_compaction() -> None:
    main, _ = session_files()
    records = read_jsonl(main.read_text())
    (boundary_at,) = [i for i, r in enumerate(records) if r.get("subtype") == "compact_boundary"]
    boundary = records[boundary_at]
    assert boundary["type"] == "system" and boundary["parentUuid"] is None
    assert boundary["compactMetadata"]["trigger"] == "auto"
    pre_tokens = boundary["compactMetadata"]["preTokens"]
    assert 160_000 <= pre_tokens <= 172_000
    assert boundary["logicalParentUuid"] in {r.get("uuid") for r in records[:boundary_at]}
    summary = records[boundary_at + 1]
    assert summary["type"] == "user" and summary["isCompactSummary"] is True
    assert summary["parentUuid"] == boundary["uuid"]
    assert len(summary["message"]["content"]) > 5_000

    def prompts(rs: list[Json]) -> list[int]:
        seen: dict[str, int] = {}
        for r in rs:
            if r.get("type") == "assistant":
                seen.setdefault(r["message"]["id"], prompt_of(r["message"]["usage"]))
        return list(seen.values())

    before, after = prompts(records[:boundary_at]), prompts(records[boundary_at:])
    assert before == sorted(before)
    assert 150_000 <= before[-1] <= pre_tokens
    assert 18_000 <= before[0] <= 30_000  # hidden system prompt and tools, plus the first message
    assert after[0] < 40_000 and after == sorted(after)
    assert len(after) >= 3


def test_claude_code_task_result_comes_from_the_sub_agent() -> None:
    main, agents = session_files()
    records = read_jsonl(main.read_text())
    agent_records = read_jsonl(agents[0].read_text())
    final_text = agent_records[-1]["message"]["content"][0]["text"]
    task_ids = {
        r["message"]["content"][0]["id"]
        for r in records
        if r.get("type") == "assistant"
        and r["message"]["content"][0]["type"] == "tool_use"
        and r["message"]["content"][0]["name"] == "Task"
    }
    assert len(task_ids) == 1
    results = [
        b
        for r in records
        if r.get("type") == "user" and isinstance(r["message"]["content"], list)
        for b in r["message"]["content"]
        if b.get("tool_use_id") in task_ids
    ]
    assert len(results) == 1
    assert results[0]["content"][0]["text"] == final_text
    assert agent_records[0]["parentUuid"] is None
    assert agent_records[0]["message"]["content"] == (
        next(
            r["message"]["content"][0]["input"]["prompt"]
            for r in records
            if r.get("type") == "assistant" and r["message"]["content"][0].get("name") == "Task"
        )
    )


@pytest.mark.parametrize("which", ["main", "agent"])
def test_claude_code_tool_results_match_tool_uses(which: str) -> None:
    main, agents = session_files()
    path = main if which == "main" else agents[0]
    seen: set[str] = set()
    for record in read_jsonl(path.read_text()):
        if record.get("type") not in ("user", "assistant"):
            continue
        content = record["message"]["content"]
        if isinstance(content, str):
            continue
        for block in content:
            if block["type"] == "tool_use":
                seen.add(block["id"])
            elif block["type"] == "tool_result":
                assert block["tool_use_id"] in seen


def test_claude_code_zip_matches_the_folder() -> None:
    main, agents = session_files()
    with zipfile.ZipFile(io.BytesIO((SAMPLES / "claude_code_session.zip").read_bytes())) as zf:
        names = zf.namelist()
        assert names[0] == main.name
        expected = {main.name: main}
        for agent in agents:
            for path in (agent, agent.with_name(agent.stem + ".meta.json")):
                expected[str(path.relative_to(main.parent))] = path
        assert set(names) == set(expected)
        for info in zf.infolist():
            assert info.date_time == (2026, 3, 10, 12, 0, 0)
            assert zf.read(info) == expected[info.filename].read_bytes()


# --- 5. OpenAI ------------------------------------------------------------------------------


def test_openai_tool_calls() -> None:
    pairs = read_jsonl((SAMPLES / "openai_tool_calls.jsonl").read_text())
    assert 3 <= len(pairs) <= 10
    calls = 0
    previous = 0
    for pair in pairs:
        request, response = pair["request"], pair["response"]
        assert request["model"] == "gpt-4.1-mini-2025-04-14"
        assert response["object"] == "chat.completion"
        usage = response["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert 0 <= usage["prompt_tokens_details"]["cached_tokens"] <= usage["prompt_tokens"]
        assert usage["prompt_tokens_details"]["cached_tokens"] <= previous
        assert "reasoning_tokens" in usage["completion_tokens_details"]
        assert usage["prompt_tokens"] > previous
        previous = usage["prompt_tokens"]
        choice = response["choices"][0]
        assert choice["finish_reason"] in ("tool_calls", "stop")
        calls += len(choice["message"].get("tool_calls") or [])
        seen: set[str] = set()
        for message in request["messages"]:
            assert message["role"] in ("system", "user", "assistant", "tool")
            seen |= {c["id"] for c in message.get("tool_calls", [])}
            if message["role"] == "tool":
                assert message["tool_call_id"] in seen
    assert calls >= 3
    assert any(p["response"]["usage"]["prompt_tokens_details"]["cached_tokens"] for p in pairs)


# --- 6. request body ------------------------------------------------------------------------


def test_request_body() -> None:
    body = json.loads((SAMPLES / "request_body.json").read_text())
    assert set(body) == {"model", "max_tokens", "system", "tools", "messages"}
    assert body["messages"][-1]["role"] == "user"
    assert "usage" not in body
    assert_tool_results_matched(body["messages"])
    tool_uses = sum(
        b["type"] == "tool_use"
        for m in body["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
    )
    assert tool_uses >= 5


# --- 7. web research agent (server tool) -----------------------------------------------------


def web_research() -> list[Json]:
    return read_jsonl(lzma.decompress((SAMPLES / "web_research_agent.jsonl.xz").read_bytes()))


def real_prompt_of(usage: Json) -> int:
    """The context the model saw: the last internal call's prompt where iterations are listed."""
    iterations = usage.get("iterations") or [usage]
    return prompt_of({"cache_creation_input_tokens": 0, **iterations[-1]})


def sdk_total_of(usage: Json) -> int:
    """What the SDK's compaction_control compares with its threshold."""
    return prompt_of(usage) + usage["output_tokens"]


def test_web_research_agent_runs_server_searches() -> None:
    assert (SAMPLES / "web_research_agent.jsonl.xz").stat().st_size < 400_000
    pairs = web_research()
    assert 12 <= len(pairs) <= 20
    searched = 0
    for pair in pairs:
        request, response = pair["request"], pair["response"]
        assert request["model"] == "claude-sonnet-4-5-20250929"
        assert {"type": "web_search_20250305", "name": "web_search", "max_uses": 5} in request[
            "tools"
        ]
        assert {t["name"] for t in request["tools"]} >= {"read_document", "save_notes"}
        assert request["messages"][-1]["role"] == "user"
        assert_tool_results_matched(request["messages"])
        content = response["content"]
        assert response["stop_reason"] == (
            "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        )
        # every search is answered by its result, in the same response, right after it
        uses = [b for b in content if b["type"] == "server_tool_use"]
        for use, result in itertools.pairwise(content):
            if use["type"] == "server_tool_use":
                assert use["id"].startswith("srvtoolu_01") and use["name"] == "web_search"
                assert result["type"] == "web_search_tool_result"
                assert result["tool_use_id"] == use["id"]
                assert 3 <= len(result["content"]) <= 5
                for r in result["content"]:
                    assert set(r) == {"type", "url", "title", "encrypted_content", "page_age"}
                    assert r["type"] == "web_search_result" and r["url"].startswith("https://")
        urls = {
            r["url"] for b in content if b["type"] == "web_search_tool_result" for r in b["content"]
        }
        for b in content:
            for c in b.get("citations") or []:
                assert c["type"] == "web_search_result_location" and c["url"] in urls
                assert 0 < len(c["cited_text"]) <= 150
        assert len(uses) <= 5
        if uses:
            searched += 1
            assert response["usage"]["server_tool_use"] == {"web_search_requests": len(uses)}
        else:
            assert "server_tool_use" not in response["usage"]
    assert searched >= 10


def test_web_research_usage_sums_the_internal_calls() -> None:
    pairs = web_research()
    for pair in pairs:
        usage = pair["response"]["usage"]
        iterations = usage.get("iterations")
        if not iterations:
            continue
        searches = usage["server_tool_use"]["web_search_requests"]
        assert len(iterations) == searches + 1
        assert all(it["type"] == "message" for it in iterations)
        for key in ("input_tokens", "cache_read_input_tokens", "output_tokens"):
            assert usage[key] == sum(it[key] for it in iterations), key
        # each internal call reads the whole prompt of the call before it from the cache
        for before, after in itertools.pairwise(iterations):
            assert after["cache_read_input_tokens"] == prompt_of(before)
    # the next request's prompt holds this response in full: the real context only grows
    reals = [real_prompt_of(p["response"]["usage"]) for p in pairs]
    firsts = [
        prompt_of({**(p["response"]["usage"].get("iterations") or [p["response"]["usage"]])[0]})
        for p in pairs
    ]
    assert all(a < b for a, b in itertools.pairwise(firsts))
    assert all(first <= real for first, real in zip(firsts, reals, strict=True))


def test_web_research_sdk_total_is_inflated() -> None:
    """The pitfall: the SDK's total crosses 100K while the real context is far below it."""
    pairs = web_research()
    reals = [real_prompt_of(p["response"]["usage"]) for p in pairs]
    totals = [sdk_total_of(p["response"]["usage"]) for p in pairs]
    crossing = next(j for j, t in enumerate(totals) if t >= 100_000)
    assert reals[crossing] < 50_000
    assert crossing < len(pairs) - 3
    assert 40_000 <= max(reals) <= 70_000
    assert max(reals) + pairs[-1]["response"]["usage"]["output_tokens"] < 100_000
    assert max(totals) >= 2.5 * max(reals)


def test_web_research_each_request_extends_the_previous_one() -> None:
    pairs = web_research()
    for before, after in itertools.pairwise(pairs):
        sent = before["request"]["messages"]
        again = after["request"]["messages"][: len(sent)]
        assert without_cache_control(again) == without_cache_control(sent)
        assert after["request"]["messages"][len(sent)]["content"] == before["response"]["content"]
