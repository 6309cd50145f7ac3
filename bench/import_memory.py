"""Memory of ``reviewer import jsonl LOG --as-run NAME --suite SUITE`` in a new process, for growing
numbers of log lines (one per case, answers ~1.9 kB): peak RSS (the child's ``ru_maxrss``) and wall
time. Beside it, ``reviewer suites validate SUITE`` alone: what holding the suite costs,
which the import cannot go under. Goal (issue 14): memory flat in the number of cases (stream
imports instead of holding them), 100,000 cases ≤ 500 MB.

    .venv/bin/python bench/import_memory.py [--cases 1000,10000,100000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import _installed  # noqa: F401  (children start from bytecode, as an installed package does)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recorded_memory import peak_rss_mb_of  # bench/ is on sys.path

WORDS = ("the", "refund", "order", "days", "within", "please", "account", "shipping", "label", "support")


def build(tmp: Path, n: int) -> tuple[Path, Path]:
    rng = random.Random(n)
    suite, log = tmp / f"suite-{n}.jsonl", tmp / f"log-{n}.jsonl"
    system = {"role": "system", "content": "You are Acme's support assistant."}
    with suite.open("w") as s, log.open("w") as f:
        s.write(json.dumps({"suite": "big", "defaults": {"system": system["content"]}}) + "\n")
        for i in range(n):
            prompt = f"Question number {i} about refunds?"
            s.write(json.dumps({"id": f"c{i}", "prompt": prompt}) + "\n")
            text = " ".join(rng.choice(WORDS) for _ in range(300))
            response = {"id": f"chatcmpl-{i}", "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_1",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 20, "completion_tokens": 300}}  # fmt: skip
            request = {"model": "gpt-4o", "temperature": 0.2, "messages": [system, {"role": "user", "content": prompt}]}
            f.write(json.dumps({"request": request, "response": response, "latency_ms": 800}) + "\n")
    return suite, log


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="1000,10000,100000", help="comma-separated line counts")
    ap.add_argument("--quick", action="store_true", help="1,000 and 5,000 lines only")
    args = ap.parse_args()
    counts = [1000, 5000] if args.quick else [int(x) for x in args.cases.split(",")]
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    print(f"`reviewer import jsonl` in a new process; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    failed = False
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        env["REVIEWER_DATA_DIR"] = str(tmp / "data")
        for n in counts:
            suite, log = build(tmp, n)
            db = tmp / f"r-{n}.db"
            base = [sys.executable, "-m", "reviewer"]
            suite_rss, _, _, _ = peak_rss_mb_of([*base, "suites", "validate", str(suite)], env)
            rss, wall, rc, last = peak_rss_mb_of(
                [*base, "import", "jsonl", str(log), "--as-run", "prod", "--suite", str(suite), "--db", str(db)], env
            )
            goal = " (goal <= 500 MB: " + ("OK)" if rss <= 500 else "MISSED)") if n == 100_000 else ""
            status = "" if rc == 0 else f"   EXIT {rc}: {last}"
            print(
                f"  {n:>7,} lines ({log.stat().st_size / 1e6:5.0f} MB): peak RSS {rss:5.0f} MB, wall {wall:5.1f} s; "
                f"the suite alone {suite_rss:4.0f} MB{goal}{status}"
            )
            failed |= rc != 0
            db.unlink(missing_ok=True)
            log.unlink()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
