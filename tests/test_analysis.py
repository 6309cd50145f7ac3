"""A stored comparison assessed as a whole: triage order, missing outputs, and the cache."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from reviewer.analysis import assess_comparison, engine_digest
from reviewer.store import Output, Store
from reviewer.suite import load_suite


def make_comparison(tmp_path, outputs: dict[str, tuple[list[str], list[str]]], checks=None) -> tuple[Store, int]:
    suite = tmp_path / "s.yaml"
    lines = ["suite: a", "cases:"]
    for cid in outputs:
        lines += [f"  - id: {cid}", "    prompt: q"]
        if checks and cid in checks:
            lines.append(f"    checks: {json.dumps(checks[cid])}")
    suite.write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "a.db")
    sid = store.upsert_suite(load_suite(suite))
    n = max(len(b) for b, _ in outputs.values())
    runs = [store.create_run(suite_id=sid, provider="recorded", model=m, base_url=None, params={}, samples=n) for m in "bc"]
    for side, run in enumerate(runs):
        store.save_outputs(run, [Output(cid, i, text) for cid, pair in outputs.items() for i, text in enumerate(pair[side])])
    comp = store.create_comparison(suite_id=sid, baseline_run_id=runs[0], candidate_run_id=runs[1], name=None)
    return store, comp


def test_triage_order_noise_and_flips(tmp_path):
    store, comp = make_comparison(
        tmp_path,
        {
            "same": (["The sky is blue."] * 3, ["The sky is blue."] * 3),
            "noisy": (["one two three", "four five six", "seven eight nine"], ["alpha beta gamma", "one two three", "x y z"]),
            "changed": (["The refund takes 5 days."] * 3, ["Refunds are instant now, enjoy!"] * 3),
            "broke-json": (['{"intent": "refund"}'] * 3, ['```json\n{"intent": "refund"}\n```'] * 3),
        },
        checks={"broke-json": [{"regex": "^\\{"}]},
    )
    data = store.load_comparison(comp)
    ranked = assess_comparison(store, data)
    assert [a.case_id for a in ranked] == ["broke-json", "changed", "noisy", "same"]
    by = {a.case_id: a for a in ranked}
    assert by["broke-json"].flip == "negative" and "negative_flip" in by["broke-json"].flags
    assert by["noisy"].noise and not by["changed"].noise
    assert by["same"].change == 0 and by["same"].tier == 3


def test_cache_round_trip_and_invalidation(tmp_path):
    store, comp = make_comparison(
        tmp_path, {"a": (["x y"], ["x z"]), "b": (["same"], ["same"])}, checks={"a": [{"max_words": 3}]}
    )
    data = store.load_comparison(comp)
    first = assess_comparison(store, data)
    key = f"{engine_digest()}:{store.outputs_identity(data.comparison)}"
    assert store.cached_assessments(comp, key) is not None
    again = assess_comparison(store, data)
    assert again == first  # loaded from the cache, equal field by field
    # A replaced output (a resumed run retried it) invalidates the cache.
    store.save_outputs(data.candidate.id, [Output("b", 0, "different now")])
    data = store.load_comparison(comp)
    assert store.cached_assessments(comp, f"{engine_digest()}:{store.outputs_identity(data.comparison)}") is None
    third = assess_comparison(store, data)
    assert {a.case_id: a.change > 0 for a in third} == {"a": True, "b": True}


def test_missing_outputs_are_errors_not_crashes(tmp_path):
    store, comp = make_comparison(tmp_path, {"a": (["x"], ["y"]), "b": (["x"], [])})
    ranked = assess_comparison(store, store.load_comparison(comp))
    b = next(a for a in ranked if a.case_id == "b")
    assert "error" in b.flags and b.tier == 0


def test_imported_runs_are_not_padded_with_missing_samples(tmp_path):
    store, comp = make_comparison(tmp_path, {"a": (["x", "x"], ["y", "y"]), "b": (["x"], ["y"])})
    store.db.execute("UPDATE runs SET provider = 'log'")
    ranked = {a.case_id: a for a in assess_comparison(store, store.load_comparison(comp))}
    assert "error" not in ranked["b"].flags  # one logged line is one sample, not one + a missing one
    assert len(ranked["b"].baseline_signals) == 1 and len(ranked["a"].baseline_signals) == 2
    store.db.execute("UPDATE runs SET provider = 'recorded'")
    ranked = {a.case_id: a for a in assess_comparison(store, store.load_comparison(comp))}
    assert "error" in ranked["b"].flags  # a replay that lacks sample #1 is incomplete


def test_the_cache_key_follows_the_scoring_code_not_the_scheduling(tmp_path):
    """Editing the scoring (the engine, the stored rows, when a case counts as complete) makes
    every cache stale; editing which process assesses which chunk (the pool) keeps them. A copy
    of the package, digested by a fresh interpreter before and after each edit."""
    src = Path(__file__).resolve().parent.parent / "reviewer"
    shutil.copytree(src, tmp_path / "reviewer", ignore=shutil.ignore_patterns("__pycache__"))
    code = "from reviewer.analysis import engine_digest; print(engine_digest())"

    def digest() -> str:
        out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                             env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    first = digest()
    with (tmp_path / "reviewer" / "analysis" / "pool.py").open("a") as f:
        f.write("\n# scheduling only\n")
    assert digest() == first
    seen = [first]
    for edited in (("analysis", "rows.py"), ("analysis", "alongside.py"), ("diff", "score.py")):
        with (tmp_path / "reviewer").joinpath(*edited).open("a") as f:
            f.write("\n# changes what is stored or when\n")
        seen.append(digest())
        assert seen[-1] not in seen[:-1], edited
