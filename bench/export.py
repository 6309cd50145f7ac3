"""Benchmark: export the changelog of a 10,000-case comparison (goal: ≤ 1.5 s in a new process with
the assessment cache warm; 100,000 cases ≤ 5 s and ≤ 400 MB), and the first assessment (goal:
10,000 cases at 3 samples a side ≤ 4 s, using both cores).

Builds a store in a temporary directory: 10,000 cases with tags and checks, 3 samples per side,
outputs of ~1.5k characters of English-like text (some JSON), seeded random edits on the
candidate side (most cases unchanged or noise, ~15 % rewritten), and labels on every changed case
from two reviewers (some disagreeing, ~3 % regressions with notes). Then times:

- the first assessment of all cases (the diff engine over chunks of cases, in this process and in
  the worker pool; cached in the store afterwards): wall and CPU time in this process (the pool's
  workers do the same work as the serial path, whose CPU time is printed);
- ``reviewer export`` to Markdown and to JSON as a fresh process (``python -m reviewer export``,
  interpreter start included; what the goal is about: the assessment cache is warm, as it is once
  anyone opened the comparison), its wall time, CPU time and peak RSS;
- where the time goes in-process.

Run: ``.venv/bin/python bench/export.py [--cases N] [--samples K] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import _installed  # noqa: F401  (children start from bytecode, as an installed package does)
from _measure import measure

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.store import Output, Store  # noqa: E402
from reviewer.suite import load_suite  # noqa: E402

GOAL_S = 1.5
GOAL_100K_S, GOAL_100K_MB = 5.0, 400
GOAL_ASSESS_S = 4.0  # 10,000 cases, 3 samples a side
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


def build(tmp: Path, cases: int, samples: int = 3) -> tuple[Path, int]:
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


def first_assessment(db: Path, cid: int, *, serial_too: bool = True) -> None:
    """The first assessment, in this process (serial chunks) and in the worker pool; the pool's
    rows are cached (what `reviewer run` or the app's ranking child does)."""
    from reviewer.analysis import _workers, assess_rows, cache_key, save_rows

    with Store(db) as store:
        comp = store.comparison(cid)
        cases = len(store.suite(comp.suite_id).suite.cases)
        serial = None
        if serial_too:
            t0, c0 = time.perf_counter(), time.process_time()
            serial = assess_rows(store, comp, workers=0)
            s_wall, s_cpu = time.perf_counter() - t0, time.process_time() - c0
            load0 = os.getloadavg()[0]
        n = _workers(cases, None) or 2
        t0, c0 = time.perf_counter(), time.process_time()
        pooled = assess_rows(store, comp, workers=n)
        p_wall, p_cpu = time.perf_counter() - t0, time.process_time() - c0
        assert serial is None or pooled == serial, "the pool and the serial path disagree"
        save_rows(store, cid, cache_key(store, comp), pooled)
    if serial is not None:
        print(f"first assessment of {cases:,} cases, in this process: {s_wall:.2f} s wall, {s_cpu:.2f} s CPU "
              f"(load {load0:.1f})")  # fmt: skip
    goal = f" (goal {GOAL_ASSESS_S:.0f} s at 10,000 cases: {p_wall / GOAL_ASSESS_S:.2f} of it)" if cases == 10_000 else ""
    print(f"first assessment in a pool of {n} workers: {p_wall:.2f} s wall, {p_cpu:.2f} s CPU in this process{goal}; "
          f"identical rows; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


def label_all(db: Path, cid: int) -> int:
    """Label every case that needs review (what a finished review looks like)."""
    from reviewer.analysis import ranked

    rng = random.Random(7)
    with Store(db) as store:
        assessments = ranked(store, cid)
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
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=3, help="samples a side (default 3)")
    ap.add_argument("--no-serial", action="store_true", help="time the first assessment in the pool only")
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
            db, cid = build(tmp, args.cases, args.samples)
            print(f"built {args.cases:,} cases × {args.samples} samples × 2 sides in {time.perf_counter() - t0:.1f} s "
                  f"({db.stat().st_size / 1e6:.0f} MB store)")  # fmt: skip
            first_assessment(db, cid, serial_too=not args.no_serial)
            print(f"{label_all(db, cid):,} labels")

        env = {**os.environ, "REVIEWER_DATA_DIR": str(tmp), "REVIEWER_CONFIG_DIR": str(tmp), "PYTHONPATH": str(ROOT)}

        def reviewer_run(*argv: str) -> tuple[float, float, float]:
            """wall s, CPU s and peak RSS MB of ``python -m reviewer ARGV`` in a new process
            (:func:`_measure.measure`: not this process's own peak, the store it built)."""
            code, wall, cpu, rss, err = measure([sys.executable, "-m", "reviewer", *argv, "--db", str(db)], env)
            assert code in (0, 1), err
            return wall, cpu, rss

        def reviewer(*argv: str) -> float:
            return reviewer_run(*argv)[0]

        # make sure the assessment cache matches this version of the diff engine (a source change
        # invalidates it), as it does once anyone has opened the comparison
        warm = reviewer("gate", "--max-negative-flips", "off", "--max-regressions", "off")
        print(f"warm-up (reviewer gate; assesses every case if the cache was stale): {warm:.2f} s")
        floor = min(reviewer("comparisons") for _ in range(3))
        print(f"floor: `reviewer comparisons` (interpreter start, imports, one query): {floor:.2f} s")
        goal_s = GOAL_S if args.cases <= 10_000 else GOAL_100K_S
        for fmt in ("md", "json"):
            out = tmp / f"CHANGELOG.{fmt}"
            runs = [reviewer_run("export", "-o", str(out), "--format", fmt, "--as", "Bench <b@example.com>") for _ in range(3)]
            wall, cpu, _ = min(runs)
            mem = f", goal {GOAL_100K_MB} MB" if args.cases > 10_000 else ""
            print(f"reviewer export --format {fmt:<4} (new process, interpreter start included): {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU (goal {goal_s:g} s: {wall / goal_s:.2f} of it), peak RSS {max(r[2] for r in runs):.0f} MB"
                  f"{mem}; {out.stat().st_size / 1e3:,.0f} kB; load {os.getloadavg()[0]:.1f}")  # fmt: skip

        # where the time goes, in-process, as the command runs it (collector paused)
        from datetime import UTC, datetime

        from reviewer.analysis import summaries
        from reviewer.export.changelog import build_changelog, render_json, render_markdown
        from reviewer.export.changelog.load import load_inputs
        from reviewer.export.options import gc_paused

        with gc_paused(), Store(db) as store:
            t = [time.perf_counter()]
            data, _, labels, texts, origins = load_inputs(store, cid)
            t.append(time.perf_counter())
            rows = summaries(store, cid)
            t.append(time.perf_counter())
            cl = build_changelog(data, rows, labels, store.signoffs(cid), generated_at=datetime.now(UTC), generated_by="b",
                                 texts=texts, origins=origins)  # fmt: skip
            t.append(time.perf_counter())
            render_markdown(cl)
            t.append(time.perf_counter())
            render_json(cl)
            t.append(time.perf_counter())
        parts = ["load_inputs (figures, cached summaries, texts printed)", "summaries again (cached)", "build_changelog",
                 "render_markdown (+excerpts)", "render_json"]  # fmt: skip
        print("in-process breakdown: " + ", ".join(f"{p} {b - a:.2f} s" for p, a, b in zip(parts, t, t[1:], strict=False)))
        print(f"{cl.summary.regressions:,} regressions (each with a diff excerpt), {cl.summary.changed:,} changed, "
              f"{cl.summary.unreviewed:,} unreviewed; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
