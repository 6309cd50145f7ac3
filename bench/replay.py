"""Replay speed: 1,000 cases × 2 models at concurrency 32 (2,000 calls) against a loopback
OpenAI-compatible server that answers after 20 ms, into a fresh store.

Goal: ≤ 2.5 s wall for the replay including persistence. The ideal is
calls × latency / concurrency = 2000 × 0.020 / 32 = 1.25 s; the ratio to it is printed.
The server runs in its own process (tests/fakeprovider.py) so it does not share our event loop.

Two figures: the replay loop in this process (wall, CPU per call including the SQLite commits,
and how many transactions those commits took), then the whole command, ``reviewer run`` in a new
process (imports, suite load, replay, assessment), unless ``--no-whole``.

    .venv/bin/python bench/replay.py [--cases 1000] [--concurrency 32] [--latency-ms 20] [--no-whole]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.providers import parse_spec  # noqa: E402
from reviewer.replay import Replay, ReplayConfig  # noqa: E402
from reviewer.store import Store  # noqa: E402
from reviewer.suite import load_suite  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3, help="fresh stores, best and median reported")
    ap.add_argument("--no-whole", action="store_true", help="skip timing the whole `reviewer run` command")
    args = ap.parse_args()

    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fakeprovider.py"), "--latency-ms", str(args.latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline().split()
        assert line and line[0] == "READY", line
        base_url = line[1]
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp) / "bench.jsonl"
            with suite.open("w") as f:
                f.write('{"suite": "bench", "defaults": {"params": {"temperature": 0, "max_tokens": 200}}}\n')
                for i in range(args.cases):
                    f.write(
                        f'{{"id": "case-{i:05d}", "tags": ["t{i % 7}"], "prompt": "Question {i}: explain item {i} briefly."}}\n'
                    )
            loaded = load_suite(suite)
            calls = args.cases * 2
            ideal = calls * args.latency_ms / 1000 / args.concurrency
            times, cpu, batches = [], [], []
            for r in range(args.repeat):
                db = Path(tmp) / f"bench-{r}.db"
                store = Store(db)
                config = ReplayConfig(samples=1, concurrency=args.concurrency, use_cache=False)
                replay = Replay(
                    store, loaded, parse_spec(f"openai:bench-a@{base_url}"), parse_spec(f"openai:bench-b@{base_url}"), config
                )
                t0, c0 = time.perf_counter(), time.process_time()
                result = asyncio.run(replay.run())
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                batches.append(replay.committer.batches)
                stored = store.db.execute("SELECT COUNT(*) FROM outputs WHERE error IS NULL").fetchone()[0]
                store.close()
                assert stored == calls, (stored, calls)
                assert not result.failures, result.failures[:3]
            times.sort()
            best, median = times[0], times[len(times) // 2]
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"replay {calls} calls ({args.cases} cases x 2 models), concurrency {args.concurrency}, server latency {args.latency_ms:g} ms"
            )
            print(
                f"  wall best {best:.2f} s, median {median:.2f} s   (goal <= 2x the ideal, {2 * ideal:.2f} s: {'OK' if median <= 2 * ideal else 'MISSED'})"
            )
            print(f"  ideal {ideal:.2f} s -> ratio to ideal {median / ideal:.2f}x (best {best / ideal:.2f}x)")
            print(
                f"  client CPU {min(cpu):.2f} s ({min(cpu) / calls * 1e6:.0f} us per call incl. persistence); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )
            print(
                f"  throughput {calls / median:.0f} calls/s, all {calls} outputs stored in {min(batches)}-{max(batches)} transactions, peak RSS {rss:.0f} MB"
            )
            if not args.no_whole:
                env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1"}
                walls = []
                for r in range(args.repeat):
                    cmd = [sys.executable, "-m", "reviewer", "run", str(suite), "--baseline", f"openai:bench-a@{base_url}",
                           "--candidate", f"openai:bench-b@{base_url}", "--concurrency", str(args.concurrency), "--no-cache",
                           "--db", str(Path(tmp) / f"whole-{r}.db")]  # fmt: skip
                    t0 = time.perf_counter()
                    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
                    walls.append(time.perf_counter() - t0)
                    assert done.returncode == 0, done.stderr[-500:]
                walls.sort()
                wm = walls[len(walls) // 2]
                print(f"  whole `reviewer run` (new process: imports, suite, replay, assessment): best {walls[0]:.2f} s, median {wm:.2f} s"
                      f" -> {wm / ideal:.2f}x the ideal (goal <= 2x: {'OK' if wm <= 2 * ideal else 'MISSED'})")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    os.environ.pop("OPENAI_API_KEY", None)
    main()
