"""Accuracy of the refusal / partial / non-answer detector on the labelled set in
tests/data/refusals/outputs.jsonl: per-class precision, recall and F1 and the overall agreement,
for the dev split (tuned against), the held-out test split (never tuned against) and both; then
the time per output on ordinary answers.

    .venv/bin/python bench/refusals.py [--split dev|test|all] [--errors] [--old COMMIT]

``--old COMMIT`` scores the phrase list of an earlier version instead (its ``find_refusal``
loaded from git: non-None is "refusal", None is "answer"), for the before/after figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data" / "refusals" / "outputs.jsonl"
CLASSES = ("refusal", "partial", "non_answer", "answer")


def load() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def predict_new(text: str) -> str:
    from reviewer.diff.signals import classify_decline

    d = classify_decline(text)
    return d.kind if d else "answer"


def old_predictor(commit: str):
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:reviewer/diff/signals.py"], capture_output=True, text=True, check=True
    ).stdout
    mod = types.ModuleType("old_signals")
    sys.modules["old_signals"] = mod  # dataclasses look their module up
    exec(compile(src, f"{commit}:signals.py", "exec"), mod.__dict__)
    return lambda text: "refusal" if mod.find_refusal(text) else "answer"


def scores(rows: list[dict], predict) -> tuple[dict[str, tuple[float, float, float, int]], float, list]:
    pred = [predict(r["text"]) for r in rows]
    per: dict[str, tuple[float, float, float, int]] = {}
    for c in CLASSES:
        tp = sum(p == c and r["label"] == c for p, r in zip(pred, rows, strict=True))
        fp = sum(p == c and r["label"] != c for p, r in zip(pred, rows, strict=True))
        fn = sum(p != c and r["label"] == c for p, r in zip(pred, rows, strict=True))
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if tp else 0.0
        per[c] = (prec, rec, f1, tp + fn)
    agree = sum(p == r["label"] for p, r in zip(pred, rows, strict=True)) / len(rows)
    wrong = [(r, p) for p, r in zip(pred, rows, strict=True) if p != r["label"]]
    return per, agree, wrong


def report(name: str, rows: list[dict], predict, show_errors: bool) -> None:
    per, agree, wrong = scores(rows, predict)
    print(f"\n{name}: {len(rows)} outputs, agreement {agree:.1%} ({len(rows) - len(wrong)}/{len(rows)})")
    print(f"  {'class':<11} {'n':>4} {'precision':>9} {'recall':>7} {'F1':>6}")
    for c, (p, r, f, n) in per.items():
        print(f"  {c:<11} {n:>4} {p:>9.1%} {r:>7.1%} {f:>6.1%}")
    confusion = Counter((r["label"], p) for r, p in wrong)
    if confusion:
        print("  confusions (label → predicted): " + ", ".join(f"{a}→{b} {n}" for (a, b), n in confusion.most_common()))
    keyword = [
        r
        for r, p in wrong
        if p == "refusal"
        and r["label"] == "answer"
        and any(w in r["text"].lower() for w in ("sorry", "cannot", "can't", "can’t", "unable"))
    ]
    print(f"  plain answers mentioning sorry/cannot/can't/unable called a refusal: {len(keyword)}")
    if show_errors:
        for r, p in wrong:
            print(f"    {r['id']} [{r['lang']}] {r['label']} → {p}: {r['text'][:110]!r}")


def timing() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import random

    from diff import make_pair  # the diff benchmark's ordinary answers

    from reviewer.diff.signals import classify_decline

    rng = random.Random(20240611)
    texts = [t for _ in range(5000) for t in make_pair(rng)]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for t in texts:
            classify_decline(t)
        best = min(best, time.perf_counter() - t0)
    print(
        f"\nclassify_decline on {len(texts)} ordinary answers of the diff benchmark: "
        f"{best / len(texts) * 1e6:.2f} µs per output (best of 3)"
    )
    data = [r["text"] for r in load()]
    t0 = time.perf_counter()
    for _ in range(10):
        for t in data:
            classify_decline(t)
    print(f"classify_decline on the labelled set: {(time.perf_counter() - t0) / (10 * len(data)) * 1e6:.2f} µs per output")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=("dev", "test", "all", "both"), default="both")
    ap.add_argument("--errors", action="store_true", help="list every disagreement")
    ap.add_argument("--old", metavar="COMMIT", help="score the phrase list of this commit instead")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args()
    rows = load()
    predict = old_predictor(args.old) if args.old else predict_new
    label = f"old find_refusal @ {args.old}" if args.old else "classify_decline"
    splits = {"dev": ["dev"], "test": ["test"], "all": ["all"], "both": ["dev", "test", "all"]}[args.split]
    for s in splits:
        part = rows if s == "all" else [r for r in rows if r["split"] == s]
        report(f"{label}, split {s}", part, predict, args.errors)
    if not args.old and not args.no_timing:
        timing()


if __name__ == "__main__":
    main()
