"""Failing endpoints must cost seconds, not hours: `reviewer run` as a user runs it (a real
process, a real loopback server, a real SQLite file) against

- a refused port (nothing listens): N cases a side; and
- a server answering 500 with a 20 MB error body to every call.

Prints wall time, stderr bytes, store bytes and the longest stored error per scenario.

    .venv/bin/python bench/failclosed_providers.py [--cases 2000] [--body-mb 20]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _installed  # noqa: F401  (children start from bytecode, as an installed package does)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakeprovider import FakeProvider, error  # noqa: E402  (tests/ is put on sys.path just above)


def run(tmp: Path, name: str, n: int, baseline: str, candidate: str) -> dict:
    suite = tmp / f"{name}.jsonl"
    suite.write_text(
        "\n".join([json.dumps({"suite": name})] + [json.dumps({"id": f"c{i}", "prompt": f"{name} {i}"}) for i in range(n)]) + "\n"
    )
    db = tmp / f"{name}.db"
    env = {**os.environ, "REVIEWER_DATA_DIR": str(tmp / "data"), "REVIEWER_CONFIG_DIR": str(tmp / "config")}
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "reviewer", "run", str(suite), "--baseline", baseline, "--candidate", candidate,
                        "--db", str(db), "--allow-errors"], capture_output=True, cwd=ROOT, env=env, check=False)  # fmt: skip
    wall = time.monotonic() - t0
    con = sqlite3.connect(db)
    (longest, errors) = con.execute("SELECT max(length(error)), count(error) FROM outputs").fetchone()
    con.close()
    size = sum(f.stat().st_size for f in tmp.glob(f"{name}.db*"))
    return {"scenario": name, "calls": 2 * n, "errors": errors, "wall_s": round(wall, 2), "stderr_bytes": len(p.stderr),
            "store_bytes": size, "longest_error_chars": longest, "exit": p.returncode}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--body-mb", type=float, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        dead = f"openai:m@http://127.0.0.1:{port}/v1"
        print(json.dumps(run(tmp, "refused", args.cases, dead, dead.replace("openai:m", "openai:n"))))
        body = "x" * int(args.body_mb * 1_000_000)
        with FakeProvider() as srv:
            # Retry-After: 0 isolates the cost of the body from the backoff between tries.
            srv.script("big0", *[error(500, body, retry_after=0)] * 100)
            print(
                json.dumps(
                    run(tmp, "big0", 2, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}")
                    | {"note": "500 + 20 MB, no backoff"}
                )
            )
            srv.script("big", *[error(500, body)] * 100)
            print(
                json.dumps(
                    run(tmp, "big", 1, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}")
                    | {"note": "500 + 20 MB, default backoff"}
                )
            )


if __name__ == "__main__":
    main()
