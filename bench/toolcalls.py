"""What tool calls cost the diff engine: assess_case on 1,000 cases × 3 samples a side whose answers
are 1–3 tool calls (with the three tool checks and schema validation of every call), beside the
same number of text-only cases (bench/diff.py's own), so the ratio says what a tool-call suite costs.

Figures are the best of --repeat runs, CPU time of this process (the machine is shared).

    .venv/bin/python bench/toolcalls.py [--cases 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diff import edit, make_pair  # noqa: E402  (bench/ is on sys.path when a bench runs)
from words import WORDS  # noqa: E402

from reviewer.diff.score import Sample, assess_case  # noqa: E402
from reviewer.suite import Check  # noqa: E402
from reviewer.toolcall import ToolCall  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "limit": {"type": "integer"},
        "filters": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["query"],
}
TOOLS = [{"type": "function", "function": {"name": n, "parameters": SCHEMA}} for n in ("search", "lookup", "send")]
CHECKS = [
    Check.model_validate({"tool_called": "search"}),
    Check.model_validate({"tool_args_schema": True}),
    Check.model_validate({"tool_args": {"name": "search", "match": {"$.limit": 5}}}),
]


def calls(rng: random.Random, drift: float) -> tuple[ToolCall, ...]:
    out = []
    for i in range(rng.randint(1, 3)):
        args = {
            "query": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))),
            "limit": 5 if rng.random() > drift else "5",
            "filters": [{"field": rng.choice(WORDS), "value": rng.randint(1, 99)} for _ in range(rng.randint(0, 3))],
        }
        out.append(ToolCall("search" if i == 0 else rng.choice(["lookup", "send"]), json.dumps(args), f"call_{rng.random()}"))
    return tuple(out)


def best(fn, repeat: int) -> float:
    cpus = []
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        cpus.append(time.process_time() - c0)
    return min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(5)
    tooled = []
    for i in range(args.cases):
        seed = rng.random()
        b = [Sample("", finish_reason="tool_calls", tool_calls=calls(random.Random(seed), 0)) for _ in range(3)]
        c = [Sample("", finish_reason="tool_calls", tool_calls=calls(random.Random(seed), 0.3)) for _ in range(3)]
        tooled.append((f"t{i}", b, c))
    text_rng = random.Random(3)
    text_checks = [Check(kind="max_words", value=400), Check(kind="not_refusal"), Check(kind="regex", value=r"\brefund")]
    texts = []
    for i in range(args.cases):
        base, cand = make_pair(text_rng)
        texts.append((f"x{i}", [Sample(edit(text_rng, base, 0.02)) for _ in range(3)],
                      [Sample(edit(text_rng, cand, 0.02)) for _ in range(3)]))  # fmt: skip

    t_text = best(lambda: [assess_case(cid, b, c, checks=text_checks) for cid, b, c in texts], args.repeat)
    t_tool = best(lambda: [assess_case(cid, b, c, checks=CHECKS, tools=TOOLS) for cid, b, c in tooled], args.repeat)
    flagged = sum("tool_drift" in assess_case(cid, b, c, checks=CHECKS, tools=TOOLS).flags for cid, b, c in tooled)
    print(f"assess_case × {args.cases} text-only (~2.4k chars, 3+3 samples, 3 checks)   {t_text * 1e3:9.1f} ms cpu")
    print(f"assess_case × {args.cases} tool calls (1–3 calls, 3+3 samples, 3 tool checks) {t_tool * 1e3:9.1f} ms cpu"
          f"  ({t_tool / t_text:.2f}× text-only; {flagged} with tool_drift)")  # fmt: skip


if __name__ == "__main__":
    main()
