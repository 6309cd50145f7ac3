"""Memory of a recorded replay: ``reviewer run`` with ``recorded:`` on both sides, in a new
process, for growing numbers of cases; prints its peak RSS (the child's ``ru_maxrss``), the
largest peak of the processes it started (the assessment's fork server and workers, sampled from
/proc every 20 ms while it runs) and wall time; then the same for ``reviewer export --format json``
of that comparison. Goal (issue 14): flat in the number of
cases, 30,000 cases ≤ 350 MB, 100,000 ≤ 500 MB, each.

Each case has a ~40-word prompt and answers of ~60–120 words a side (the candidate's differ from
the baseline's in one case out of five), so the assessment that follows the replay has work to do.

    .venv/bin/python bench/recorded_memory.py [--cases 1000,10000,30000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _installed  # noqa: F401  (children start from bytecode, as an installed package does)

ROOT = Path(__file__).resolve().parent.parent
#: (processes started below the last command, the largest peak RSS among them in MB)
LAST_CHILDREN: tuple[int, float] = (0, 0.0)

_TEXT = (
    "the order ships within two business days and you can track it from your account page once the "
    "label is printed refunds go back to the original payment method please allow five to seven days "
    "for the bank to show it our support team answers every message in the order it arrives"
)
WORDS = tuple(_TEXT.split(" "))


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def build(tmp: Path, cases: int) -> tuple[Path, Path, Path]:
    rng = random.Random(cases)
    suite, base, cand = tmp / f"suite-{cases}.jsonl", tmp / f"base-{cases}.jsonl", tmp / f"cand-{cases}.jsonl"
    with suite.open("w") as s, base.open("w") as b, cand.open("w") as c:
        s.write(json.dumps({"suite": "memory"}) + "\n")
        for i in range(cases):
            cid = f"case-{i:06d}"
            s.write(json.dumps({"id": cid, "prompt": text(rng, 40)}) + "\n")
            answer = text(rng, rng.randint(60, 120))
            usage = {"prompt_tokens": 50, "completion_tokens": 90}
            b.write(json.dumps({"case_id": cid, "output": answer, "usage": usage, "latency_ms": 400}) + "\n")
            other = text(rng, rng.randint(60, 120)) if i % 5 == 0 else answer
            c.write(json.dumps({"case_id": cid, "output": other, "usage": usage, "latency_ms": 380}) + "\n")
    return suite, base, cand


def _descendants_rss(root: int) -> dict[int, float]:
    """pid -> RSS in MB of every process below ``root`` now (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, IndexError, ValueError):
            continue
    below: dict[int, float] = {}
    for pid in parents:
        p, seen = parents.get(pid), 0
        while p and seen < 64:
            if p == root:
                below[pid] = rss[pid]
                break
            p, seen = parents.get(p), seen + 1
    return below


def peak_rss_mb_of(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Run ``cmd`` in a new process; its peak RSS in MB (wait4's rusage of that one child)."""
    import threading

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    done = threading.Event()
    peaks: dict[int, float] = {}

    def sample() -> None:
        while not done.wait(0.02):
            for pid, mb in _descendants_rss(proc.pid).items():
                peaks[pid] = max(peaks.get(pid, 0.0), mb)

    sampler = threading.Thread(target=sample, daemon=True)
    if os.path.isdir("/proc"):
        sampler.start()
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    global LAST_CHILDREN
    LAST_CHILDREN = (len(peaks), max(peaks.values(), default=0.0))
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return (
        usage.ru_maxrss / 1024,
        wall,
        proc.returncode,
        (err or out).decode(errors="replace").strip().splitlines()[-1:][0] if (err or out) else "",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="1000,10000,30000", help="comma-separated case counts (e.g. 1000,30000,100000)")
    ap.add_argument("--quick", action="store_true", help="1,000 and 5,000 cases only")
    args = ap.parse_args()
    counts = [1000, 5000] if args.quick else [int(x) for x in args.cases.split(",")]
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("OPENAI_API_KEY", None)
    goals = {30000: 350, 100000: 500}
    print(
        f"recorded replay, `reviewer run` with recorded: both sides in a new process; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        for n in counts:
            suite, base, cand = build(tmp, n)
            db = tmp / f"run-{n}.db"
            cmd = [sys.executable, "-m", "reviewer", "run", str(suite), "--baseline", f"recorded:{base}",
                   "--candidate", f"recorded:{cand}", "--db", str(db), "--concurrency", "64"]  # fmt: skip
            rss, wall, rc, last = peak_rss_mb_of(cmd, env)
            goal = goals.get(n)
            verdict = f"   (goal <= {goal} MB: {'OK' if rss <= goal else 'MISSED'})" if goal else ""
            status = "" if rc == 0 else f"   EXIT {rc}: {last}"
            kids = f", {LAST_CHILDREN[0]} processes below it peak at {LAST_CHILDREN[1]:.0f} MB" if LAST_CHILDREN[0] else ""
            print(
                f"  {n:>7,} cases: peak RSS {rss:6.0f} MB{kids}, wall {wall:6.1f} s, files {base.stat().st_size / 1e6:.1f} MB a side{verdict}{status}"
            )
            if rc != 0:
                sys.exit(1)
            out = tmp / f"changelog-{n}.json"
            export = [sys.executable, "-m", "reviewer", "export", "--db", str(db), "--format", "json", "-o", str(out),
                      "--allow-unreviewed", "--as", "Bench <b@example.com>"]  # fmt: skip
            rss, wall, rc, last = peak_rss_mb_of(export, env)
            verdict = f"   (goal <= {goal} MB: {'OK' if rss <= goal else 'MISSED'})" if goal else ""
            status = "" if rc == 0 else f"   EXIT {rc}: {last}"
            kids = f", {LAST_CHILDREN[0]} processes below it peak at {LAST_CHILDREN[1]:.0f} MB" if LAST_CHILDREN[0] else ""
            print(f"  {'':>7}  its export: peak RSS {rss:6.0f} MB{kids}, wall {wall:6.1f} s{verdict}{status}")
            if rc != 0:
                sys.exit(1)
            db.unlink()
            out.unlink()
    _ = resource  # ru_maxrss of RUSAGE_CHILDREN would be the maximum over all children: wait4 gives each one's


if __name__ == "__main__":
    main()
