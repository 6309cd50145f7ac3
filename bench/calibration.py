"""Calibration of the noise rule on synthetic sampling noise (issue 12).

A seeded synthetic set in the style of support-bot answers (prose, bullet lists, JSON), each case
sampled k times per version:

- **noise-only cases**: both versions sample from the *same* distribution of paraphrases —
  sentence reorderings, synonym swaps, an optional closing sentence (small length variation), now
  and then a different but equivalent phrasing of a sentence, at a per-case "temperature" (some
  cases deterministic, some very loose);
- **seeded regressions**: the candidate samples from the same distribution with one change applied
  to every sample: fenced JSON, a preamble, a renamed JSON key, truncation (finish_reason
  "length"), a refusal, +30–60% verbosity, a wrong number, bullets rewritten as prose.

No checks are attached: the figures are what the diff engine's score, noise floor and flags do on
their own. It prints, for the old rule ("mean cross > mean within + 0.01") and the new one
(reviewer.diff.score), side by side:

1. the false-alarm rate: the share of noise-only cases (with any change) called a real change;
2. for each regression kind, the share ranked in the top 20% of the triage order
   (goal: ≤ 5% false alarms at 3 samples a side, every regression in the top 20%).

The noise rule's margin was fitted with ``--fit`` on seed 1 (the default report uses seed 2, so
the figures are not the ones it was fitted on).

    .venv/bin/python bench/calibration.py [--seed 2] [--noise 800] [--per-kind 12] [--samples 1,2,3,5]
    .venv/bin/python bench/calibration.py --fit --seed 1     # the false-alarm rate per margin
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from words import WORDS  # noqa: E402  (bench/ is on sys.path when a bench runs)

from reviewer.diff.score import Assessment, Sample, assess_case, change_score, real_change, triage  # noqa: E402
from reviewer.stats import distance_permutation_test  # noqa: E402

KINDS = (
    "fenced_json", "preamble", "key_rename", "truncation", "refusal", "verbosity", "wrong_number", "bullets_to_prose",
)  # fmt: skip
JSON_KINDS = {"fenced_json", "key_rename"}
SYNONYMS = [
    ("refund", "reimbursement"), ("order", "purchase"), ("help", "assist"), ("check", "verify"),
    ("contact", "reach"), ("email", "message"), ("need", "require"), ("please", "kindly"),
    ("processed", "handled"), ("available", "in stock"), ("shipping", "delivery"), ("days", "business days"),
    ("you can", "you may"), ("will", "should"), ("ensure", "make sure"), ("recommend", "suggest"),
]  # fmt: skip
CLOSINGS = ["Let me know if you need anything else.", "Is there anything else I can help with?", "Hope this helps!"]
PREAMBLES = [
    "Sure! Here is what you need to know.", "Great question. Here's a quick summary.",
    "Certainly! I'd be happy to help with that.",
]  # fmt: skip
REFUSALS = [
    "I'm sorry, but I can't help with that request.", "I can't assist with that.",
    "I'm unable to help with that request. Please contact support directly.",
]  # fmt: skip
FILLER = [
    "It is important to note that policies can vary by region and product.",
    "Additionally, you may want to keep your order number and receipt at hand.",
    "Our support team is available around the clock by email or phone.",
    "Please note that processing times may be longer during holidays.",
    "In most cases, the status page shows the latest updates on your request.",
    "You should also check your spam folder for our confirmation email.",
]


# ---------------------------------------------------------------------------------------------
# One case: a distribution of answers
# ---------------------------------------------------------------------------------------------


@dataclass
class Unit:
    """One sentence (or bullet, or JSON field) with its equivalent phrasings."""

    variants: list[list[str]]  # words of each phrasing
    weights: list[float]
    slots: list[int]  # word positions of variant 0 that take a synonym
    synonym_p: float


@dataclass
class CaseModel:
    style: str  # prose | bullets | json
    units: list[Unit]
    number: int
    reorder_p: float  # chance that two adjacent sentences swap
    closing_p: float  # chance of a closing sentence
    json_keys: list[str]


def _words(rng: random.Random, lo: int, hi: int) -> list[str]:
    return [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]


def _rephrase(rng: random.Random, words: list[str]) -> list[str]:
    """An equivalent phrasing: some words kept, some swapped for others, a clause moved."""
    out = [w if rng.random() < 0.65 else rng.choice(WORDS) for w in words]
    if len(out) > 5 and rng.random() < 0.5:
        cut = rng.randrange(2, len(out) - 2)
        out = out[cut:] + out[:cut]
    return out


def new_case(rng: random.Random, style: str) -> CaseModel:
    level = rng.choices(["deterministic", "low", "mid", "high"], weights=[0.25, 0.3, 0.3, 0.15])[0]
    syn_p, alt_p, reorder_p, closing_p = {
        "deterministic": (0.0, 0.0, 0.0, 0.0),
        "low": (0.08, 0.03, 0.02, rng.choice([0.0, 0.1])),
        "mid": (0.2, 0.08, 0.05, rng.choice([0.2, 0.4])),
        "high": (0.4, 0.15, 0.1, 0.5),
    }[level]
    n_units = rng.randint(3, 6) if style != "json" else rng.randint(3, 5)
    units = []
    for _ in range(n_units):
        base = _words(rng, 6, 16)
        # now and then a different but equivalent phrasing of a sentence
        alt = level != "deterministic" and rng.random() < 0.5
        variants = [base, _rephrase(rng, base)] if alt else [base]
        weights = [1 - alt_p, alt_p] if alt else [1.0]
        slots = rng.sample(range(len(base)), k=min(len(base), rng.randint(1, 3)))
        units.append(Unit(variants, weights, slots, syn_p))
    keys = rng.sample(["status", "order_id", "eta_days", "reason", "carrier", "total", "currency", "items"], n_units)
    return CaseModel(style, units, rng.choice([3, 5, 7, 14, 30, 45, 60, 90]), reorder_p, closing_p, keys)


def _sentence(words: list[str]) -> str:
    s = " ".join(words)
    return s[:1].upper() + s[1:] + "."


def sample(rng: random.Random, m: CaseModel, kind: str | None = None) -> Sample:
    """One answer from the case's distribution, with the regression ``kind`` applied (if any)."""
    units = []
    for u in m.units:
        words = list(rng.choices(u.variants, weights=u.weights)[0])
        for i in u.slots:
            if i < len(words) and rng.random() < u.synonym_p:
                words[i] = rng.choice(SYNONYMS)[rng.randrange(2)]
        units.append(words)
    order = list(range(len(units)))
    for i in range(len(order) - 1):
        if rng.random() < m.reorder_p:
            order[i], order[i + 1] = order[i + 1], order[i]
    units = [units[i] for i in order]
    number = m.number + (7 if kind == "wrong_number" else 0)
    units[0] = [*units[0][:3], "within", str(number), "days", *units[0][3:]]
    if kind == "verbosity":
        total = sum(len(u) for u in units)
        extra, target = [], total * rng.uniform(0.3, 0.6)
        while sum(len(e) for e in extra) < target:
            extra.append(rng.choice(FILLER).rstrip(".").split())
        for e in extra:
            units.insert(rng.randrange(1, len(units) + 1), e)
    finish = "stop"
    if m.style == "json":
        keys = list(m.json_keys)
        if kind == "key_rename":
            keys[1] = keys[1] + "_value" if not keys[1].endswith("s") else keys[1][:-1] + "_list"
        fields = [f'  "{k}": "{" ".join(u)}"' for k, u in zip(keys, units, strict=False)]
        text = "{\n" + ",\n".join(fields) + "\n}"
        if kind == "fenced_json":
            text = "```json\n" + text + "\n```"
        elif kind == "preamble":
            text = "Here is the JSON you asked for:\n" + text
    else:
        closing = [rng.choice(CLOSINGS)] if rng.random() < m.closing_p else []
        if m.style == "bullets" and kind != "bullets_to_prose":
            text = _sentence(units[0]) + "\n\n" + "\n".join(f"- {_sentence(u)}" for u in units[1:])
            text += ("\n\n" + closing[0]) if closing else ""
        else:
            text = " ".join([_sentence(u) for u in units] + closing)
        if kind == "preamble":
            text = rng.choice(PREAMBLES) + "\n\n" + text
    if kind == "truncation":
        words = text.split(" ")
        text = " ".join(words[: int(len(words) * rng.uniform(0.4, 0.7))])
        finish = "length"
    elif kind == "refusal":
        text = rng.choice(REFUSALS)
    return Sample(text, finish_reason=finish)


@dataclass
class Case:
    id: str
    kind: str | None  # None: noise only
    baseline: list[Sample]
    candidate: list[Sample]


def make_set(seed: int, n_noise: int, per_kind: int, k: int) -> list[Case]:
    """``n_noise`` noise-only cases and ``per_kind`` of each regression kind, k samples a side.
    The same seed gives the same case models whatever k is (each case has its own generator)."""
    cases = []
    plan = [None] * n_noise + [kind for kind in KINDS for _ in range(per_kind)]
    for i, kind in enumerate(plan):
        rng = random.Random(f"{seed}:{i}")
        if kind in JSON_KINDS:
            style = "json"
        elif kind == "bullets_to_prose":
            style = "bullets"
        else:
            style = rng.choices(["prose", "bullets", "json"], weights=[0.55, 0.25, 0.2])[0]
            if kind == "preamble" and style == "json":
                style = "prose"  # a preamble before JSON is format drift already; test the harder one
        m = new_case(rng, style)
        base = [sample(rng, m) for _ in range(k)]
        cand = [sample(rng, m, kind) for _ in range(k)]
        cases.append(Case(f"{kind or 'noise'}-{i:04d}", kind, base, cand))
    return cases


# ---------------------------------------------------------------------------------------------
# Rules and figures
# ---------------------------------------------------------------------------------------------

OLD_EPSILON = 0.01


def old_rule(a: Assessment) -> Assessment:
    """The assessment as the rule before issue 12 would have tiered it."""
    noise = a.change > 0 and a.within is not None and a.change <= a.within + OLD_EPSILON
    tier = 0 if a.flags else 3 if a.change == 0 else 2 if noise else 1
    return replace(a, noise=noise, tier=tier)


@dataclass
class Figures:
    changed_noise: int  # noise-only cases with change > 0
    false_alarms: int  # … of them called a real change (tier 0 or 1)
    top_share: dict[str, float]  # per kind, share ranked in the top 20%
    noise_unknown: int  # cases with no noise floor (1 sample a side)


def figures(cases: list[Case], assessed: list[Assessment]) -> Figures:
    kind_of = {c.id: c.kind for c in cases}
    order = triage(assessed)
    top = {a.case_id for a in order[: len(order) // 5]}
    noise = [a for a in assessed if kind_of[a.case_id] is None and a.change > 0]
    fa = sum(1 for a in noise if a.tier <= 1)
    share = {}
    for kind in KINDS:
        ids = [c.id for c in cases if c.kind == kind]
        share[kind] = sum(1 for i in ids if i in top) / len(ids)
    unknown = sum(1 for a in assessed if a.within is None)
    return Figures(len(noise), fa, share, unknown)


def run(seed: int, n_noise: int, per_kind: int, k: int) -> tuple[Figures, Figures]:
    cases = make_set(seed, n_noise, per_kind, k)
    new = [assess_case(c.id, c.baseline, c.candidate) for c in cases]
    old = [old_rule(a) for a in new]
    return figures(cases, old), figures(cases, new)


def fit(seed: int, n_noise: int, per_kind: int, k: int = 3, target: float = 0.04) -> None:
    """The false-alarm rate on noise-only cases, and how many unflagged regressions are called
    real, for a grid of margins; prints the smallest margin at or under ``target``."""
    cases = make_set(seed, n_noise, per_kind, k)
    rows = []
    for c in cases:
        a = assess_case(c.id, c.baseline, c.candidate)
        texts = [s.text for s in c.baseline + c.candidate]
        p = None
        if a.change > 0 and a.within:
            p = distance_permutation_test(lambda i, j, texts=texts: change_score(texts[i], texts[j]), k, k).p
        rows.append((c.kind, a, p))
    chosen = None
    for step in range(0, 61):
        margin = step / 100
        called = [
            (kind, real_change(a.change, a.within, p, k, k, a.consistent_words, margin=margin))
            for kind, a, p in rows
            if a.change > 0 and a.within is not None and not a.flags
        ]
        noise = [r for kind, r in called if kind is None]
        fa = sum(noise) / len(noise)
        hits = sum(r for kind, r in called if kind is not None)
        total = sum(1 for kind, _ in called if kind is not None)
        if step % 4 == 0 or (chosen is None and fa <= target):
            print(f"  margin {margin:.2f}: false alarms {fa:6.1%}, unflagged regressions called real {hits}/{total}")
        if chosen is None and fa <= target:
            chosen = margin
    print(f"smallest margin with ≤ {target:.0%} false alarms at k = {k}, seed {seed}: {chosen}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--noise", type=int, default=800, help="noise-only cases")
    ap.add_argument("--per-kind", type=int, default=12, help="cases per regression kind")
    ap.add_argument("--samples", default="1,2,3,5", help="samples a side, comma-separated")
    ap.add_argument("--fit", action="store_true", help="fit the noise margin on this seed (3 samples a side)")
    args = ap.parse_args()
    if args.fit:
        fit(args.seed, args.noise, args.per_kind)
        return
    n_reg = args.per_kind * len(KINDS)
    print(
        f"seed {args.seed}: {args.noise} noise-only cases + {n_reg} seeded regressions "
        f"({args.per_kind} per kind); top 20% = {(args.noise + n_reg) // 5} cases"
    )
    for k in (int(x) for x in args.samples.split(",")):
        old, new = run(args.seed, args.noise, args.per_kind, k)
        print(f"\n{k} sample{'s' if k > 1 else ''} a side   {'old rule':>12} {'new rule':>12}")
        if new.noise_unknown:
            print(f"  noise floor unknown on {new.noise_unknown} cases (1 sample a side: no floor, not noise)")
        print(
            f"  {'noise false alarms':<22} {old.false_alarms / max(1, old.changed_noise):>11.1%} "
            f"{new.false_alarms / max(1, new.changed_noise):>12.1%}   "
            f"(of {new.changed_noise} noise-only cases that changed at all; goal ≤ 5% at k = 3)"
        )
        for kind in KINDS:
            print(f"  {kind + ' in top 20%':<22} {old.top_share[kind]:>11.0%} {new.top_share[kind]:>12.0%}")
        all_old = min(old.top_share.values())
        all_new = min(new.top_share.values())
        print(f"  {'worst kind in top 20%':<22} {all_old:>11.0%} {all_new:>12.0%}   (goal 100%)")


if __name__ == "__main__":
    main()
