"""Batch APIs at scale: plan and collect 100,000 requests (50,000 cases × 2 sides: an ``openai:``
side, one input file at the 50,000-line limit, and an ``anthropic:`` side, one message batch)
against the loopback batch server (tests/batchserver.py, its own process), into a fresh store.

Three processes, each timed with its own peak RSS: ``reviewer run --batch --no-wait`` (load the
suite, plan, build and upload the input files, create the batches, record them); a process that
polls, downloads and ingests the 100,000 results with the runner's own code (``wait_all``: what
``run --batch`` does before scoring); then the same ``reviewer run --batch`` command, which finds
everything collected and scores the comparison (the diff engine's cost, not the batches').

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

import _installed  # noqa: F401  (children start from bytecode, as an installed package does)
from _measure import measure

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict[str, str], *, script: bool = False) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit code, stderr) of one reviewer process (or of this script's
    collecting child), measured by :func:`_measure.measure` (not this process's own peak)."""
    head = [sys.executable, __file__] if script else [sys.executable, "-m", "reviewer"]
    code, wall, _, rss, text = measure([*head, *args], env, cwd=ROOT)
    return wall, rss, code, text


def collect_only(db: str, suite: str, root: str) -> None:
    """Child process: poll and ingest every open batch of the comparison, as ``run --batch`` does."""
    sys.path.insert(0, str(ROOT))
    from reviewer.batch.runner import BatchSide, partial_replay_class, wait_all
    from reviewer.providers import parse_spec
    from reviewer.replay import ReplayConfig
    from reviewer.store import Store
    from reviewer.suite import load_suite

    store = Store(db)
    replay = partial_replay_class()(
        store, load_suite(suite), parse_spec(f"openai:bench-a@{root}/v1"), parse_spec(f"anthropic:bench-b@{root}"), ReplayConfig()
    )
    replay.skip = frozenset({"baseline", "candidate"})
    comparison_id, runs, _ = replay.prepare()
    sides = [BatchSide(store, replay, s, runs[s], comparison_id) for s in ("baseline", "candidate")]
    t0 = time.perf_counter()
    wait_all(sides, interval=0.05, on_status=lambda *a: None)
    answered = sum(s.report.collected.answered for s in sides)
    print(f"ingested {answered} in {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=50_000)
    ap.add_argument("--collect", nargs=3, metavar=("DB", "SUITE", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.collect:
        collect_only(*args.collect)
        return
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "batchserver.py"), "--polls", "2"], stdout=subprocess.PIPE, text=True
    )
    try:
        line = server.stdout.readline().split()  # type: ignore[union-attr]
        assert line and line[0] == "READY", line
        root = line[1]
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp) / "bench.jsonl"
            with suite.open("w") as f:
                f.write('{"suite": "batch-bench", "defaults": {"params": {"temperature": 0, "max_tokens": 200}}}\n')
                for i in range(args.cases):
                    f.write(
                        f'{{"id": "case-{i:06d}", "tags": ["t{i % 7}"], "prompt": "Question {i}: explain item {i} briefly, in two sentences."}}\n'
                    )
            env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
            env.update(
                REVIEWER_DATA_DIR=str(Path(tmp) / "data"), OPENAI_API_KEY="sk-bench", ANTHROPIC_API_KEY="sk-bench", COLUMNS="160"
            )
            db = Path(tmp) / "bench.db"
            cmd = ["run", str(suite), "--baseline", f"openai:bench-a@{root}/v1", "--candidate", f"anthropic:bench-b@{root}",
                   "--batch", "--poll-interval", "0.05", "--db", str(db)]  # fmt: skip
            w1, rss1, rc1, err1 = run([*cmd, "--no-wait"], env)
            assert rc1 == 0, err1[-2000:]
            wc, rssc, rcc, errc = run(["--collect", str(db), str(suite), root], env, script=True)
            assert rcc == 0, errc[-2000:]
            c = re.search(r"ingested (\d+) in ([\d.]+) s", errc)
            assert c and int(c.group(1)) == 2 * args.cases, errc[-2000:]
            ingest = float(c.group(2))
            w2, rss2, rc2, err2 = run(cmd, env)
            assert rc2 == 0, err2[-2000:]
            m = re.search(r"answers stored ([\d,]+)", err2)
            stored = int(m.group(1).replace(",", "")) if m else -1
            assert stored == 2 * args.cases and "batches submitted 0" in err2, err2[-2000:]
            n = 2 * args.cases
            print(f"requests:                        {n:,} ({args.cases:,} cases × 2 sides: openai file + anthropic batch)")
            print(f"plan + build + upload (run --no-wait): {w1:6.1f} s wall, peak RSS {rss1:5.0f} MB  (goal < 60 s, < 500 MB)")
            print(f"poll + download + ingest:              {wc:6.1f} s wall, peak RSS {rssc:5.0f} MB  (goal < 60 s, < 500 MB)")
            print(f"  of which polling and ingesting:      {ingest:6.1f} s ({n / ingest:,.0f} results/s)")
            print(
                f"same run command again (scoring only): {w2:6.1f} s wall, peak RSS {rss2:5.0f} MB  (the diff engine, not the batches)"
            )
            print(f"store: {db.stat().st_size / 1e6:.0f} MB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
