"""Replay speed: 1,000 cases × 2 models at concurrency 32 (2,000 calls) against a loopback
OpenAI-compatible server that answers after 20 ms, into a fresh store.

The ideal is calls × latency / concurrency = 2000 × 0.020 / 32 = 1.25 s; ratios are to it.
Goals: the whole `reviewer run` ≤ 2× the ideal; the replay loop ≤ 0.25 ms CPU per call including
the SQLite commits; the same per-call cost at 20,000 calls; the loop's memory flat in the number
of cases. The server runs in its own process (tests/fakeprovider.py) so it does not share our
event loop; its CPU is printed too (on 2 cores the two processes share the machine).

Figures:
1. the replay loop in this process, ``--repeat`` fresh stores: wall, client CPU per call
   (process time: user + system, the SQLite commits included; the best repeat; aiohttp is
   imported before, its one-off import is start-up), the server's CPU per call, transactions;
2. the loop at scale, in a new process per size (``--scale``, default 10 × ``--cases`` when that
   is ≥ 1,000): CPU per call and how much the process grew (peak RSS over RSS before the loop) at
   ``--cases`` and at the scale size, so "flat" is a number;
3. the whole command, ``reviewer run`` in a new process (imports, suite, replay, assessment),
   wall and CPU (user + system of the child), unless ``--no-whole``: as users run it (the first
   assessment alongside the replay in a worker process, whose CPU is not counted) and with the
   assessment after the replay in the command's own process (``REVIEWER_ASSESS_WORKERS=0``).

Every figure is printed with the load average beside it: wall times on a loaded 2-core machine
mean little, CPU times a little more.

    .venv/bin/python bench/replay.py [--cases 1000] [--concurrency 32] [--latency-ms 20] [--scale N] [--no-whole]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _installed  # noqa: F401  (children start from bytecode, as an installed package does)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.providers import parse_spec  # noqa: E402
from reviewer.replay import Replay, ReplayConfig  # noqa: E402
from reviewer.store import Store  # noqa: E402
from reviewer.suite import load_suite  # noqa: E402


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def rss_mb() -> float:
    """Current RSS of this process (MB), from /proc (peak RSS only grows)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return 0.0


def server_cpu(pid: int) -> float:
    """User + system seconds of a process so far (Linux /proc), or NaN elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def write_suite(path: Path, cases: int) -> None:
    with path.open("w") as f:
        f.write('{"suite": "bench", "defaults": {"params": {"temperature": 0, "max_tokens": 200}}}\n')
        for i in range(cases):
            f.write(f'{{"id": "case-{i:05d}", "tags": ["t{i % 7}"], "prompt": "Question {i}: explain item {i} briefly."}}\n')


def replay_once(loaded: Any, db: Path, base_url: str, concurrency: int) -> dict[str, float]:
    """One replay of a loaded suite into a fresh store: wall, CPU, transactions, stored answers."""
    store = Store(db)
    config = ReplayConfig(samples=1, concurrency=concurrency, use_cache=False)
    replay = Replay(store, loaded, parse_spec(f"openai:bench-a@{base_url}"), parse_spec(f"openai:bench-b@{base_url}"), config)
    t0, c0 = time.perf_counter(), time.process_time()
    result = asyncio.run(replay.run())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    stored = store.db.execute("SELECT COUNT(*) FROM outputs WHERE error IS NULL").fetchone()[0]
    store.close()
    assert not result.failures, result.failures[:3]
    return {"wall": wall, "cpu": cpu, "batches": replay.committer.batches, "stored": stored}


def child(args: argparse.Namespace) -> None:
    """``--child CASES URL DIR``: one replay in this fresh process, its figures as one JSON line."""
    cases, url, tmp = int(args.child[0]), args.child[1], Path(args.child[2])
    suite = tmp / f"child-{cases}.jsonl"
    write_suite(suite, cases)
    import aiohttp  # noqa: F401  (imported before the clock starts: the import is not the loop's cost)

    loaded = load_suite(suite)  # the suite's own memory is not the loop's either
    before = rss_mb()
    fig = replay_once(loaded, tmp / f"child-{cases}.db", url, args.concurrency)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**fig, "rss_before": before, "rss_peak": peak, "load": os.getloadavg()[0]}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3, help="fresh stores, best and median reported")
    ap.add_argument("--scale", type=int, default=-1, help="cases of the scale run (0: none; default 10 × --cases if ≥ 1000)")
    ap.add_argument("--no-whole", action="store_true", help="skip timing the whole `reviewer run` command")
    ap.add_argument("--child", nargs=3, metavar=("CASES", "URL", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    scale = args.scale if args.scale >= 0 else (10 * args.cases if args.cases >= 1000 else 0)
    import aiohttp  # noqa: F401  (the one-off import is start-up, counted in the whole command, not per call)

    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fakeprovider.py"), "--latency-ms", str(args.latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().split()
        assert line and line[0] == "READY", line
        base_url = line[1]
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp) / "bench.jsonl"
            write_suite(suite, args.cases)
            loaded = load_suite(suite)
            calls = args.cases * 2
            ideal = calls * args.latency_ms / 1000 / args.concurrency
            figs = []
            for r in range(args.repeat):
                s0 = server_cpu(server.pid)
                fig = replay_once(loaded, Path(tmp) / f"bench-{r}.db", base_url, args.concurrency)
                fig["server"] = server_cpu(server.pid) - s0
                fig["load"] = os.getloadavg()[0]
                assert fig["stored"] == calls, (fig["stored"], calls)
                figs.append(fig)
            times = sorted(f["wall"] for f in figs)
            best, median = times[0], times[len(times) // 2]
            cheapest = min(figs, key=lambda f: f["cpu"])
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            loads = ", ".join(f"{f['load']:.1f}" for f in figs)
            each = ", ".join(f"{f['cpu'] / calls * 1e6:.0f}" for f in figs)
            print(
                f"replay {calls} calls ({args.cases} cases x 2 models), concurrency {args.concurrency}, "
                f"server latency {args.latency_ms:g} ms, {os.cpu_count()} cores"
            )
            print(
                f"  loop wall best {best:.2f} s, median {median:.2f} s -> {median / ideal:.2f}x the ideal {ideal:.2f} s "
                f"(best {best / ideal:.2f}x); loads {loads}"
            )
            per_call = cheapest["cpu"] / calls * 1e6
            print(
                f"  loop CPU {cheapest['cpu']:.2f} s = {per_call:.0f} us per call incl. the SQLite commits "
                f"(goal <= 250 us: {'OK' if per_call <= 250 else 'MISSED'}); all repeats "
                f"{each} us; server CPU {cheapest['server'] / calls * 1e6:.0f} us per call"
            )
            print(
                f"  throughput {calls / median:.0f} calls/s; {calls} outputs stored in "
                f"{min(f['batches'] for f in figs)}-{max(f['batches'] for f in figs)} transactions; peak RSS {rss:.0f} MB"
            )
            if scale:
                sizes = [args.cases, scale]
                got = {}
                for n in sizes:
                    out = subprocess.run(
                        [sys.executable, __file__, "--concurrency", str(args.concurrency), "--child", str(n), base_url, tmp],
                        capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    got[n] = json.loads(out.stdout.strip().splitlines()[-1])
                    assert got[n]["stored"] == 2 * n, got[n]
                small, big = got[args.cases], got[scale]
                grow = {n: g["rss_peak"] - g["rss_before"] for n, g in got.items()}
                print(
                    f"  at scale (a new process each): {2 * args.cases:,} calls {small['cpu'] / (2 * args.cases) * 1e6:.0f} us/call "
                    f"(load {small['load']:.1f}), {2 * scale:,} calls {big['cpu'] / (2 * scale) * 1e6:.0f} us/call "
                    f"(load {big['load']:.1f}; {2 * scale / big['wall']:.0f} calls/s, {big['wall'] / (2 * scale * args.latency_ms / 1000 / args.concurrency):.2f}x its ideal)"
                )
                print(
                    f"  the loop's memory (peak RSS over RSS before it): {grow[args.cases]:.0f} MB at {2 * args.cases:,} calls, "
                    f"{grow[scale]:.0f} MB at {2 * scale:,} calls"
                )
            if not args.no_whole:
                # The command as users run it (the first assessment alongside the replay, in a
                # worker process), and with REVIEWER_ASSESS_WORKERS=0 (assessed after it, in the
                # command's own process: its CPU is then the whole cost; a worker's is not counted).
                for label, extra in (("", {}), (" (assessed after the replay, in-process)", {"REVIEWER_ASSESS_WORKERS": "0"})):
                    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1", **extra}
                    runs = []
                    for r in range(args.repeat):
                        db = Path(tmp) / f"whole-{len(extra)}-{r}.db"
                        cmd = [sys.executable, "-m", "reviewer", "run", str(suite), "--baseline", f"openai:bench-a@{base_url}",
                               "--candidate", f"openai:bench-b@{base_url}", "--concurrency", str(args.concurrency), "--no-cache",
                               "--db", str(db)]  # fmt: skip
                        before = resource.getrusage(resource.RUSAGE_CHILDREN)
                        t0 = time.perf_counter()
                        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
                        wall = time.perf_counter() - t0
                        after = resource.getrusage(resource.RUSAGE_CHILDREN)
                        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                        assert done.returncode == 0, done.stderr[-500:]
                        runs.append((wall, cpu, os.getloadavg()[0]))
                    walls = sorted(w for w, _, _ in runs)
                    wm = walls[len(walls) // 2]
                    print(
                        f"  whole `reviewer run`{label} (new process: imports, suite, replay, assessment): best {walls[0]:.2f} s, "
                        f"median {wm:.2f} s -> {wm / ideal:.2f}x the ideal (best {walls[0] / ideal:.2f}x; goal <= 2x: "
                        f"{'OK' if wm <= 2 * ideal else 'MISSED'}); CPU {', '.join(f'{c:.2f}' for _, c, _ in runs)} s; "
                        f"loads {', '.join(f'{lo:.1f}' for _, _, lo in runs)}"
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    os.environ.pop("OPENAI_API_KEY", None)
    main()
