"""Token counting speed and accuracy: count_text (default), count_text_memo (exact), plain ctok.

Speed is CPU time of this one process (one core) per MB of UTF-8 text: "cold" is a pass over a
corpus with an empty memo, "warm" a second pass; each is the best of three (this VM's speed
drifts by 10-15% from run to run). Accuracy is against the real
count_tokens answers in ../shared/calibration (frame subtracted), on the odd-numbered documents,
which were not looked at when choosing count_text's settings; the JSON/tool-output corpus, which
has no real counts, is compared with ctok. Not a test: it never fails on timing.

    python bench/tokens.py [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctxviz import tokens  # noqa: E402
from ctxviz.tokens import FAMILIES, MESSAGE_FRAME_TOKENS, Family  # noqa: E402

CALIBRATION = ROOT.parent / "shared" / "calibration"
# Touches every lazily built table: plain and any-script words, caps, quotes, digits, marks, CJK.
WARM_UP = "Warm up: the 'tables', naïve CAFÉ Ωmega x1=2; नमस्ते 中文 \u00a0\n"
Counter = Callable[[str, Family], int]


def calibration() -> dict[str, list[tuple[str, dict[Family, int]]]]:
    """corpus -> [(text, {family: real content tokens})]."""
    out: dict[str, list[tuple[str, dict[Family, int]]]] = {}
    for corpus in ("udhr", "rosetta", "multipl_e"):
        counts = json.loads((CALIBRATION / f"{corpus}_counts.json").read_text(encoding="utf-8"))
        docs = []
        with gzip.open(CALIBRATION / f"{corpus}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                doc_id = doc.get("id") or doc.get("f") or doc.get("lang")
                real = {
                    fam: counts[fam]["counts"][doc_id] - MESSAGE_FRAME_TOKENS[fam]
                    for fam in FAMILIES
                }
                docs.append((doc["text"], real))
        out[corpus] = docs
    return out


def tool_outputs(n_docs: int, seed: int = 0) -> list[str]:
    """Synthetic JSON and tool results: API-like JSON, listings, logs, tracebacks, diffs."""
    rng = random.Random(seed)
    words = [
        *("user", "id", "name", "status", "created", "updated", "path", "size", "owner", "error"),
        *("message", "result", "items", "total", "config", "value", "enabled", "timeout"),
        *("retry", "cache", "token", "request", "response", "model", "input", "output"),
    ]

    def clock() -> str:
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"

    def ident() -> str:
        return "_".join(rng.choice(words) for _ in range(rng.randint(1, 3)))

    def value(depth: int) -> object:
        kind = rng.random()
        if depth > 2 or kind < 0.35:
            return rng.choice(
                [
                    rng.randint(0, 10 ** rng.randint(1, 9)),
                    round(rng.uniform(-1e3, 1e3), rng.randint(0, 6)),
                    " ".join(rng.choice(words) for _ in range(rng.randint(1, 8))),
                    f"{rng.getrandbits(64):016x}",
                    f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{clock()}Z",
                    rng.choice([True, False, None]),
                ]
            )
        if kind < 0.7:
            return {ident(): value(depth + 1) for _ in range(rng.randint(1, 6))}
        return [value(depth + 1) for _ in range(rng.randint(0, 5))]

    docs = []
    for _ in range(n_docs):
        kind = rng.randrange(5)
        if kind == 0:
            text = json.dumps(value(0), indent=rng.choice([None, 2]))
        elif kind == 1:
            text = "\n".join(
                f"-rw-r--r-- 1 root root {rng.randint(0, 99999):>6} Nov 22 {clock()[:5]}"
                f" src/{ident()}/{ident()}.{rng.choice(['py', 'ts', 'json', 'md'])}"
                for _ in range(rng.randint(3, 40))
            )
        elif kind == 2:
            text = "\n".join(
                f"2026-11-22 {clock()},{rng.randint(0, 999):03d}"
                f" {rng.choice(['INFO', 'WARN', 'ERROR', 'DEBUG'])} [{ident()}] {ident()}="
                f"{rng.randint(0, 5000)} {' '.join(rng.choice(words) for _ in range(5))}"
                for _ in range(rng.randint(3, 60))
            )
        elif kind == 3:
            frames = "\n".join(
                f'  File "/app/{ident()}.py", line {rng.randint(1, 900)}, in {ident()}\n'
                f"    {ident()} = {ident()}({ident()}, {rng.randint(0, 9)})"
                for _ in range(rng.randint(2, 12))
            )
            text = f"Traceback (most recent call last):\n{frames}\nKeyError: '{ident()}'"
        else:
            text = "\n".join(
                f"{rng.choice('+- ')}    {ident()}({ident()}={rng.randint(0, 99)})"
                for _ in range(rng.randint(5, 50))
            )
        docs.append(text)
    return docs


def mb_per_s(counter: Counter, texts: list[str], family: Family) -> float:
    start = time.process_time()
    for text in texts:
        counter(text, family)
    seconds = time.process_time() - start
    return sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6 / max(seconds, 1e-9)


def accuracy(pairs: list[tuple[int, int]]) -> str:
    errors = sorted(abs(got - real) / max(real, 1) * 100 for got, real in pairs)
    exact = sum(got == real for got, real in pairs) / len(pairs)
    p90 = errors[int(0.9 * len(errors))]
    return f"exact {exact:6.1%}  median {statistics.median(errors):5.2f}%  p90 {p90:5.2f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="speed on 1/4 of each corpus")
    args = parser.parse_args()
    if not CALIBRATION.is_dir():
        sys.exit(f"calibration data not found at {CALIBRATION}")
    corpora = {name: [text for text, _ in docs] for name, docs in calibration().items()}
    real = calibration()
    corpora["json+tools"] = tool_outputs(1500)
    if args.quick:
        corpora = {name: texts[::4] for name, texts in corpora.items()}
    sizes = {name: sum(len(t.encode()) for t in texts) / 1e6 for name, texts in corpora.items()}
    print("corpora (MB): " + ", ".join(f"{n} {s:.2f}" for n, s in sizes.items()))
    for family in FAMILIES:  # one-off: vocabularies and the Unicode classes the cut is built from
        tokens.count_text(WARM_UP * 8, family)

    print("\nSpeed, MB/s of CPU time on one core (cold = empty memo, warm = second pass)")
    counters: dict[str, Counter] = {
        "count_text": tokens.count_text,
        "count_text_memo": tokens.count_text_memo,
    }
    for family in FAMILIES:
        for label, counter in counters.items():
            cells = []
            for name, texts in corpora.items():
                cold = warm = 0.0
                for _ in range(3):
                    tokens.clear_cache()
                    cold = max(cold, mb_per_s(counter, texts, family))
                    warm = max(warm, mb_per_s(counter, texts, family))
                cells.append(f"{name} {cold:5.2f}/{warm:5.2f}")
            print(f"  {family:5} {label:16} cold/warm  " + "  ".join(cells))
    sample = [t for texts in corpora.values() for t in texts[::25]]
    ctok_speed = mb_per_s(tokens.count_text_exact, sample, "v3")
    print(f"  v3    plain ctok (count_text_exact) on a 1/25 mix: {ctok_speed:.2f} MB/s")

    print("\nAccuracy on held-out (odd-numbered) calibration documents vs real count_tokens")
    for family in FAMILIES:
        for label, counter in counters.items():
            for name, docs in real.items():
                held_out = docs[1::2]
                pairs = [(counter(text, family), counts[family]) for text, counts in held_out]
                print(f"  {family:5} {label:16} {name:10} n={len(pairs):4}  {accuracy(pairs)}")
    print("\nAccuracy of count_text on the JSON/tool-output corpus vs ctok (exact)")
    json_docs = corpora["json+tools"]
    for family in FAMILIES:
        pairs = [
            (tokens.count_text(t, family), tokens.count_text_memo(t, family)) for t in json_docs
        ]
        print(f"  {family:5} count_text       json+tools n={len(pairs):4}  {accuracy(pairs)}")
    print(f"\nmemo now holds {tokens.cache_size()[0]} parts, {tokens.cache_size()[1]} characters")


if __name__ == "__main__":
    main()
