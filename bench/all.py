"""Run every benchmark in a quick mode, one after the other, and print their figures.

    .venv/bin/python bench/all.py            # quick sizes: a few minutes on 2 cores
    .venv/bin/python bench/all.py --only app,diff

Quick mode shrinks sizes so the scripts finish fast; they still exercise the same code paths, so a
benchmark that breaks (bench/app.py once crashed at 50,000 cases and nobody saw it) fails here. It
asserts no timing: the figures are for people. The exit code is 1 when any script failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: script → quick-mode arguments
QUICK: dict[str, list[str]] = {
    "diff": ["--quick", "--pairs", "2000", "--repeat", "1"],
    "calibration": ["--noise", "200", "--per-kind", "6", "--samples", "1,3"],
    "refusals": ["--no-timing"],
    "replay": ["--cases", "300", "--repeat", "1"],
    "export": ["--cases", "1000"],
    "app": ["--cases", "1000"],
    "failclosed_providers": ["--cases", "100", "--body-mb", "2"],
    "toolcalls": ["--cases", "200", "--repeat", "1"],
    "suite": ["--cases", "1000,10000"],
    "signals": ["--quick"],
    "batch": ["--cases", "2000"],
    "recorded_memory": ["--quick"],
    "import_memory": ["--quick"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated script names (default: all)")
    args = ap.parse_args()
    names = [n for n in QUICK if (HERE / f"{n}.py").exists()]
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - set(names)
        if unknown:
            print(f"bench/all.py: no such benchmark: {', '.join(sorted(unknown))} (have: {', '.join(names)})", file=sys.stderr)
            return 2
        names = [n for n in names if n in wanted]
    failed = []
    for name in names:
        cmd = [sys.executable, str(HERE / f"{name}.py"), *QUICK[name]]
        print(f"\n=== bench/{name}.py {' '.join(QUICK[name])}", flush=True)
        start = time.perf_counter()
        rc = subprocess.run(cmd, check=False).returncode
        print(f"=== bench/{name}.py: exit {rc} in {time.perf_counter() - start:.1f} s", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"\nbench/all.py: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nbench/all.py: {len(names)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
