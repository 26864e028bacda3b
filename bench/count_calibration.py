"""count_tokens against real count_tokens answers, per body class: median and p90 |error|.

Ground truth, all real answers of the count_tokens endpoint:

- plain: ../shared/calibration (one user message holding a document; the odd-numbered documents
  of each corpus, every ``--every``-th of them, for each tokenizer family's model), plus the
  token-counting page's basic example;
- every other class: tests/data/real_count_answers.json (bodies rebuilt from public code that
  printed its calls' usage, VCR cassettes of other projects' tests that recorded real calls, and
  the token-counting page's examples; each names its source);
- classes with no real answer outside the recordings reserved for acceptance (prefill, web
  fetch, code execution, tool search) say n = 0.

Run it on another checkout to compare (``PYTHONPATH=/path/to/old/tree python bench/...``): it
imports whichever ``ctxviz`` comes first on the path. Not a test: it never fails.

    python bench/count_calibration.py [--every N] [--markdown] [--exact]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
from pathlib import Path
from typing import Any

from ctxviz import count_tokens
from ctxviz.tokens import count_text_memo

HERE = Path(__file__).resolve().parent
CALIBRATION = HERE.parents[1] / "shared" / "calibration"
EXAMPLES = HERE.parent / "tests" / "data" / "real_count_answers.json"
CLASSES = (
    "plain",
    "plain-multi",
    "tools",
    "thinking",
    "structured output",
    "memory",
    "images",
    "prefill",
    "web fetch",
    "code execution",
    "tool search",
)


def calibration_bodies(every: int) -> list[tuple[str, dict[str, Any], int]]:
    """(class, body, real input_tokens) for the held-out calibration documents."""
    out: list[tuple[str, dict[str, Any], int]] = []
    for corpus in ("udhr", "rosetta", "multipl_e"):
        counts = json.loads((CALIBRATION / f"{corpus}_counts.json").read_text(encoding="utf-8"))
        with gzip.open(CALIBRATION / f"{corpus}.jsonl.gz", "rt", encoding="utf-8") as f:
            docs = [json.loads(line) for line in f]
        for i, doc in enumerate(docs[1::2]):
            if i % every:
                continue
            doc_id = doc.get("id") or doc.get("f") or doc.get("lang")
            for family in counts.values():
                body = {
                    "model": family["model"],
                    "max_tokens": 1,
                    "messages": [{"role": "user", "content": doc["text"]}],
                }
                out.append(("plain", body, int(family["counts"][doc_id])))
    return out


def example_bodies() -> list[tuple[str, dict[str, Any], int]]:
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return [
        (e["class"], {"model": e["model"], "max_tokens": 1, **e["body"]}, int(e["input_tokens"]))
        for e in data["examples"]
    ]


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=4, help="every N-th held-out document")
    parser.add_argument("--markdown", action="store_true", help="a markdown table")
    parser.add_argument(
        "--exact", action="store_true", help="count text with count_text_memo (exact, slower)"
    )
    args = parser.parse_args()
    counter = count_text_memo if args.exact else None
    errors: dict[str, list[float]] = {c: [] for c in CLASSES}
    signed: dict[str, list[float]] = {c: [] for c in CLASSES}
    for cls, body, real in [*calibration_bodies(args.every), *example_bodies()]:
        got = int(count_tokens(body, counter=counter)["input_tokens"])
        errors[cls].append(abs(got - real) / real)
        signed[cls].append((got - real) / real)
    rows = []
    for cls in CLASSES:
        e = errors[cls]
        if not e:
            rows.append((cls, "0", "—", "—", "—", "—"))
            continue
        rows.append(
            (
                cls,
                str(len(e)),
                f"{statistics.median(e):.2%}",
                f"{p90(e):.2%}",
                f"{max(e):.2%}",
                f"{statistics.median(signed[cls]):+.2%}",
            )
        )
    head = ("class", "n", "median abs. error", "p90 abs. error", "max abs. error", "median signed")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        for r in (head, *rows):
            print(f"{r[0]:<18}{r[1]:>6}{r[2]:>18}{r[3]:>16}{r[4]:>16}{r[5]:>15}")


if __name__ == "__main__":
    main()
