"""Batch APIs at scale: plan and collect 100,000 requests (50,000 cases × 2 sides: an ``openai:``
side, one input file at the 50,000-line limit, and an ``anthropic:`` side, one message batch)
against the loopback batch server (tests/batchserver.py, its own process), into a fresh store.

Two real ``reviewer run --batch`` processes: the first with ``--no-wait`` (load the suite, plan,
build and upload the input files, create the batches, record them), the second the same command
(poll, download and ingest the 100,000 results, then score the comparison). Printed: the wall time
of each, the collecting part of the second as ``run`` reports it, and each process's peak RSS.

Goals: under 60 s each way and under 500 MB on this machine (the files are streamed, not held).

    .venv/bin/python bench/batch.py [--cases 50000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit code, stderr) of one reviewer process."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "reviewer", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        err.seek(0)
        text = err.read().decode(errors="replace")
    return wall, usage.ru_maxrss / 1024, proc.returncode, text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=50_000)
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "batchserver.py"), "--polls", "2"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().split()  # type: ignore[union-attr]
        assert line and line[0] == "READY", line
        root = line[1]
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp) / "bench.jsonl"
            with suite.open("w") as f:
                f.write('{"suite": "batch-bench", "defaults": {"params": {"temperature": 0, "max_tokens": 200}}}\n')
                for i in range(args.cases):
                    f.write(f'{{"id": "case-{i:06d}", "tags": ["t{i % 7}"], "prompt": "Question {i}: explain item {i} briefly, in two sentences."}}\n')
            env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
            env.update(REVIEWER_DATA_DIR=str(Path(tmp) / "data"), OPENAI_API_KEY="sk-bench", ANTHROPIC_API_KEY="sk-bench", COLUMNS="160")
            db = Path(tmp) / "bench.db"
            cmd = ["run", str(suite), "--baseline", f"openai:bench-a@{root}/v1", "--candidate", f"anthropic:bench-b@{root}",
                   "--batch", "--poll-interval", "0.05", "--db", str(db)]  # fmt: skip
            w1, rss1, rc1, err1 = run([*cmd, "--no-wait"], env)
            assert rc1 == 0, err1[-2000:]
            w2, rss2, rc2, err2 = run(cmd, env)
            assert rc2 == 0, err2[-2000:]
            m = re.search(r"answers stored ([\d,]+)", err2)
            stored = int(m.group(1).replace(",", "")) if m else -1
            assert stored == 2 * args.cases, err2[-2000:]
            c = re.search(r"collecting the batches ([\d.]+) s", " ".join(err2.split()))
            collect = float(c.group(1)) if c else float("nan")
            n = 2 * args.cases
            print(f"requests:                       {n:,} ({args.cases:,} cases × 2 sides: openai file + anthropic batch)")
            print(f"plan + build + upload (1st run): {w1:6.1f} s wall  peak RSS {rss1:6.0f} MB   (goal < 60 s, < 500 MB)")
            print(f"poll + ingest + score (2nd run): {w2:6.1f} s wall  peak RSS {rss2:6.0f} MB   (goal < 60 s, < 500 MB)")
            print(f"  of which polling + ingesting:  {collect:6.1f} s  ({n / collect:,.0f} results/s)")
            print(f"store: {db.stat().st_size / 1e6:.0f} MB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
