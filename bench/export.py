"""Benchmark: export the changelog of a 10,000-case comparison (goal: < 2 s).

Builds a store in a temporary directory: 10,000 cases with tags and checks, 2 samples per side,
outputs of ~1.5k characters of English-like text (some JSON), seeded random edits on the
candidate side (most cases unchanged or noise, ~15 % rewritten), and labels on every changed case
from two reviewers (some disagreeing, ~3 % regressions with notes). Then times:

- the first assessment of all cases (the diff engine; cached in the store afterwards),
- ``reviewer export`` to Markdown and to JSON in-process (what the goal is about: the
  assessments are cached, as they are once anyone opened the comparison),
- the same as a fresh process (``python -m reviewer export``), interpreter start included.

Run: ``.venv/bin/python bench/export.py [--cases N]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.store import Output, Store  # noqa: E402
from reviewer.suite import load_suite  # noqa: E402

GOAL_S = 2.0
WORDS = [
    "the",
    "a",
    "customer",
    "order",
    "refund",
    "shipping",
    "days",
    "business",
    "account",
    "password",
    "reset",
    "invoice",
    "payment",
    "card",
    "delivery",
    "address",
    "within",
    "policy",
    "return",
    "item",
    "warehouse",
    "support",
    "agent",
    "ticket",
    "please",
    "thank",
    "you",
    "we",
    "our",
    "your",
    "can",
    "will",
    "may",
    "not",
    "should",
    "available",
    "today",
    "tomorrow",
    "week",
    "month",
    "receipt",
    "number",
    "email",
    "phone",
    "store",
    "online",
    "price",
    "discount",
    "coupon",
    "express",
    "standard",
    "tracking",
    "label",
    "package",
    "carrier",
    "damaged",
    "missing",
]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", ".", ".", "?", "!"])


def paragraph_text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        para = " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))
        if rng.random() < 0.2:
            para = "\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(2, 4)))
        out.append(para)
        size += len(para) + 2
    return "\n\n".join(out)


def edit(text: str, rng: random.Random, amount: float) -> str:
    words = text.split(" ")
    for _ in range(max(1, int(len(words) * amount))):
        i = rng.randrange(len(words))
        words[i] = rng.choice(WORDS)
    return " ".join(words)


def build(tmp: Path, cases: int, samples: int = 2) -> tuple[Path, int]:
    rng = random.Random(20250314)
    tags = ["billing", "shipping", "accounts", "json", "safety", "smalltalk", "faq", "returns"]
    lines = ["suite: bench-support", "cases:"]
    for i in range(cases):
        t = rng.sample(tags, rng.randint(1, 2))
        checks = []
        if "json" in t:
            checks.append("{json: true}")
        if rng.random() < 0.5:
            checks.append("{max_words: 400}")
        if rng.random() < 0.3:
            checks.append("{not_refusal: true}")
        lines.append(f"  - id: case-{i:05d}")
        lines.append(f"    tags: [{', '.join(t)}]")
        lines.append(f"    prompt: 'Question number {i}'")
        if checks:
            lines.append(f"    checks: [{', '.join(checks)}]")
    suite_file = tmp / "bench.yaml"
    suite_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_suite(suite_file)
    store = Store(tmp / "bench.db")
    sid = store.upsert_suite(loaded)
    base = store.create_run(
        suite_id=sid, provider="openai", model="gpt-4o", base_url=None, params={"temperature": 0.7}, samples=samples
    )
    cand = store.create_run(
        suite_id=sid, provider="openai", model="gpt-4o", base_url=None, params={"temperature": 0.7}, samples=samples
    )
    b_out: list[Output] = []
    c_out: list[Output] = []
    changed: list[str] = []
    for case in loaded.suite.cases:
        if "json" in case.tags:
            doc = {"intent": rng.choice(WORDS), "items": [rng.choice(WORDS) for _ in range(rng.randint(3, 30))],
                   "note": sentence(rng)}  # fmt: skip
            text = json.dumps(doc, indent=2)
        else:
            text = paragraph_text(rng, rng.randint(1200, 1800))
        r = rng.random()
        for s in range(samples):
            b_text = text if r < 0.6 else edit(text, rng, 0.02)
            if r < 0.5:
                c_text = text  # unchanged
            elif r < 0.85:
                c_text = edit(text, rng, 0.02)  # noise-level
            else:
                c_text = edit(text, rng, 0.3) + ("\n\n" + sentence(rng) if rng.random() < 0.5 else "")
                if rng.random() < 0.1 and "json" in case.tags:
                    c_text = "```json\n" + c_text + "\n```"
            meta = dict(resolved_model="gpt-4o-2024-08-06", system_fingerprint="fp_1", finish_reason="stop",
                        input_tokens=50, latency_ms=rng.uniform(400, 1500))  # fmt: skip
            b_out.append(Output(case.id, s, text=b_text, output_tokens=len(b_text) // 4, **meta))
            meta["resolved_model"] = "gpt-4o-2024-11-20"
            c_out.append(Output(case.id, s, text=c_text, output_tokens=len(c_text) // 4, **meta))
        if r >= 0.85:
            changed.append(case.id)
    store.save_outputs(base, b_out)
    store.save_outputs(cand, c_out)
    cid = store.create_comparison(suite_id=sid, baseline_run_id=base, candidate_run_id=cand, name="bench", status="complete")
    return tmp / "bench.db", cid


def label_all(db: Path, cid: int) -> tuple[int, float]:
    """Label every case that needs review (what a finished review looks like)."""
    from reviewer.analysis import assess_comparison

    rng = random.Random(7)
    with Store(db) as store:
        t0 = time.perf_counter()
        assessments = assess_comparison(store, store.load_comparison(cid))
        assess_s = time.perf_counter() - t0
        n = 0
        with store.transaction() as c:
            for a in assessments:
                if a.tier > 1:
                    continue
                verdict = rng.choices(["regression", "acceptable", "improvement", "noise"], [3, 10, 3, 2])[0]
                for who in ("Ada <ada@example.com>", "Bob <bob@example.com>")[: rng.choice([1, 1, 2])]:
                    v = verdict if rng.random() < 0.9 else "acceptable"
                    sev = rng.randint(1, 3) if v == "regression" else None
                    note = "Reads worse: " + sentence(rng) if v == "regression" else None
                    c.execute(
                        "INSERT OR REPLACE INTO labels (comparison_id, case_id, reviewer, verdict, severity, note, created_at, updated_at)"
                        " VALUES (?,?,?,?,?,?,?,?)",
                        (cid, a.case_id, who, v, sev, note, "2025-03-13T11:00:00.000Z", f"2025-03-13T11:{n % 60:02d}:00.000Z"),
                    )
                    n += 1
    return n, assess_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--keep", metavar="DIR", help="build the store in DIR and reuse it on the next run")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="reviewer-bench-export-") as tmp_s:
        tmp = Path(args.keep or tmp_s)
        tmp.mkdir(parents=True, exist_ok=True)
        if args.keep and (tmp / "bench.db").exists():
            db, cid = tmp / "bench.db", 1
            print(f"reusing {db}")
        else:
            t0 = time.perf_counter()
            db, cid = build(tmp, args.cases)
            print(f"built {args.cases:,} cases × 2 samples × 2 sides in {time.perf_counter() - t0:.1f} s "
                  f"({db.stat().st_size / 1e6:.0f} MB store)")  # fmt: skip
            n_labels, assess_s = label_all(db, cid)
            print(f"first assessment of every case (diff engine, then cached): {assess_s:.2f} s; {n_labels:,} labels")

        env = {**os.environ, "REVIEWER_DATA_DIR": str(tmp), "REVIEWER_CONFIG_DIR": str(tmp), "PYTHONPATH": str(ROOT)}

        def reviewer(*argv: str) -> float:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "reviewer", *argv, "--db", str(db)], env=env,
                                  capture_output=True, text=True)  # fmt: skip
            wall = time.perf_counter() - t0
            assert proc.returncode in (0, 1), proc.stderr
            return wall

        # make sure the assessment cache matches this version of the diff engine (a source change
        # invalidates it), as it does once anyone has opened the comparison
        warm = reviewer("gate", "--max-negative-flips", "off", "--max-regressions", "off")
        print(f"warm-up (reviewer gate; assesses every case if the cache was stale): {warm:.2f} s")
        floor = min(reviewer("comparisons") for _ in range(3))
        print(f"floor: `reviewer comparisons` (interpreter start, imports, one query): {floor:.2f} s")
        for fmt in ("md", "json"):
            out = tmp / f"CHANGELOG.{fmt}"
            best = min(reviewer("export", "-o", str(out), "--format", fmt, "--as", "Bench <b@example.com>") for _ in range(3))
            print(f"reviewer export --format {fmt:<4} (new process, interpreter start included): {best:.2f} s "
                  f"(goal {GOAL_S:.0f} s: {best / GOAL_S:.2f} of it); {out.stat().st_size / 1e3:,.0f} kB")  # fmt: skip

        # where the time goes, in-process, as the command runs it (collector paused)
        from datetime import UTC, datetime

        from reviewer.analysis import assess_comparison
        from reviewer.export.changelog import build_changelog, render_json, render_markdown
        from reviewer.export.options import gc_paused

        with gc_paused(), Store(db) as store:
            t = [time.perf_counter()]
            data = store.load_comparison(cid)
            t.append(time.perf_counter())
            assessments = assess_comparison(store, data)
            t.append(time.perf_counter())
            cl = build_changelog(data, assessments, store.labels(cid), store.signoffs(cid),
                                 generated_at=datetime.now(UTC), generated_by="b")  # fmt: skip
            t.append(time.perf_counter())
            render_markdown(cl)
            t.append(time.perf_counter())
            render_json(cl)
            t.append(time.perf_counter())
        parts = ["Store.load_comparison", "assess_comparison (cached)", "build_changelog", "render_markdown (+excerpts)",
                 "render_json"]  # fmt: skip
        print("in-process breakdown: " + ", ".join(f"{p} {b - a:.2f} s" for p, a, b in zip(parts, t, t[1:], strict=False)))
        print(f"{cl.summary.regressions:,} regressions (each with a diff excerpt), {cl.summary.changed:,} changed, "
              f"{cl.summary.unreviewed:,} unreviewed; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
