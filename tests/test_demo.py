"""`reviewer demo`: the bundled recording becomes a comparison in a store of its own (never the
user's), once; labels given in the demo survive the next `reviewer demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reviewer.store import Store

ROOT = Path(__file__).resolve().parent.parent


def demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reviewer", "demo", "--no-app", *args], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ.copy(), timeout=120)  # fmt: skip


def test_demo_uses_its_own_store_once_and_keeps_labels():
    data_dir = Path(os.environ["REVIEWER_DATA_DIR"])
    users_db = Path(os.environ["REVIEWER_DB"])
    first = demo()
    assert first.returncode == 0, first.stderr
    cid = int(first.stdout)
    demo_db = data_dir / "demo.db"
    assert demo_db.exists() and not users_db.exists()  # the user's store is not touched
    with Store(demo_db) as store:
        data = store.load_comparison(cid)
        assert len(data.suite.suite.cases) == 61 and data.baseline.samples == 3
        assert sum(len(v) for v in data.baseline_outputs.values()) == 61 * 3
        assert all(o.error is None for v in data.candidate_outputs.values() for o in v)
        assert (data.baseline.label, data.candidate.label) == ("gemma3-270m Q4_K_M", "gemma3-270m Q3_K_S")
        store.set_label(cid, "json/order", "me", "regression", severity=2, note="quantity lost")
    again = demo()
    assert again.returncode == 0 and int(again.stdout) == cid  # not replayed twice
    with Store(demo_db) as store:
        assert len(store.comparisons()) == 1
        assert [lab.note for lab in store.labels(cid)] == ["quantity lost"]
    reset = demo("--reset")
    with Store(demo_db) as store:
        assert int(reset.stdout) == 1 and store.labels(1) == []
