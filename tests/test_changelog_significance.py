"""Significance on every delta of the changelog (issue 12): p-values and intervals in the JSON,
"within noise" in the Markdown, Holm across tags, pass^k per case, the unknown noise floor, and the
same p-values from two separate export processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from markdown_it import MarkdownIt

from reviewer.analysis import assess_comparison
from reviewer.export.changelog import build_changelog, render_json, render_markdown
from reviewer.stats import holm, mcnemar_exact
from reviewer.store import Output, Store
from reviewer.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
ADA = "Ada Lovelace <ada@example.com>"
REFUSE = "I can't help with that."
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def answer(i: int, words: int = 8) -> str:
    return " ".join(f"word{i}x{j}" for j in range(words)) + "."


def make(tmp: Path, n: int, candidate, *, samples: int = 1, tags=lambda i: ["t"], baseline=None, checks="") -> tuple[Store, int]:
    """n cases; ``candidate(i, s)`` / ``baseline(i, s)`` give sample s of case i."""
    lines = ["suite: sig", "cases:"]
    for i in range(n):
        lines.append(f"  - {{id: c{i:03d}, prompt: p{i}, tags: [{', '.join(tags(i))}]{checks}}}")
    (tmp / "s.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = Store(tmp / "reviewer.db")
    sid = store.upsert_suite(load_suite(tmp / "s.yaml"))
    b = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=samples)
    c = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=samples)
    base = baseline or (lambda i, s: answer(i))
    store.save_outputs(
        b, [Output(f"c{i:03d}", s, text=base(i, s), latency_ms=100.0 + i) for i in range(n) for s in range(samples)]
    )
    store.save_outputs(
        c, [Output(f"c{i:03d}", s, text=candidate(i, s), latency_ms=100.0 + i) for i in range(n) for s in range(samples)]
    )
    cid = store.create_comparison(suite_id=sid, baseline_run_id=b, candidate_run_id=c, name="sig")
    return store, cid


def build(store: Store, cid: int):
    data = store.load_comparison(cid)
    return build_changelog(data, assess_comparison(store, data), store.labels(cid), generated_at=NOW, generated_by=ADA)


def metric(cl, key: str, tag: str | None = None):
    ms = cl.metrics if tag is None else list(next(t for t in cl.tags if t.tag == tag).metrics.values())
    return next(m for m in ms if m.key == key)


def row(md: str, name: str) -> str:
    return next(line for line in md.splitlines() if line.startswith(f"| {name} |"))


def test_a_significant_refusal_rise_is_bold_with_its_p_and_leads_the_verdict(tmp_path):
    store, cid = make(tmp_path, 20, lambda i, s: REFUSE)
    cl = build(store, cid)
    m = metric(cl, "refusal_rate")
    assert (m.baseline, m.candidate) == (0.0, 1.0)
    assert m.test == "mcnemar_exact" and m.cases_tested == 20
    assert m.p_value == mcnemar_exact(0, 20) and m.significant  # 2 / 2**20
    lo, hi = m.ci["candidate"]
    assert hi == 1.0 and 0.83 < lo < 0.84  # Wilson 20 of 20: (0.8389, 1)
    assert m.ci["baseline"][0] == 0.0 and 0.16 < m.ci["baseline"][1] < 0.17
    md = render_markdown(cl)
    assert row(md, "Refusal rate") == "| Refusal rate | 0% | 100% | **+100.0 pp** (p < 0.001) | ±2 pp |"
    verdict = md.split("## Verdict", 1)[1].split("\n- ", 1)[1]
    assert verdict.startswith("**Significant changes** (paired tests over cases, α = 0.05): ")
    assert "Refusal rate +100.0 pp (p < 0.001)" in verdict.splitlines()[0]
    # the words changed as well (8 words → 5): the paired median change says so, exactly
    w = metric(cl, "words_median")
    assert w.median_case_change == -3.0 and w.change_ci == [-3.0, -3.0] and w.significant
    assert row(md, "Median length (words)").startswith("| Median length (words) | 8 | 5 | **-38%** (p < 0.001) |")


def test_a_change_within_noise_says_so_and_is_never_bold(tmp_path):
    store, cid = make(tmp_path, 20, lambda i, s: REFUSE if i == 0 else answer(i))
    cl = build(store, cid)
    m = metric(cl, "refusal_rate")
    assert m.change == 0.05 and not m.within_tolerance  # +5 pp: outside the ±2 pp tolerance…
    assert m.p_value == 1.0 and not m.significant  # …but one case of twenty is noise
    md = render_markdown(cl)
    assert row(md, "Refusal rate") == "| Refusal rate | 0% | 5% | +5.0 pp, p = 1.00, within noise | ±2 pp |"
    assert "**+5.0 pp**" not in md
    assert "- **Significant changes** (paired tests over cases, α = 0.05): none; every metric change is within noise." in md
    assert "- **Changes within noise** (not significant): " in md and "Refusal rate +5.0 pp (p = 1.00)" in md
    # parsed as Markdown: the row's change cell is plain text, no emphasis
    cells = [t for t in MD.parse(md) if t.type == "inline"]
    cell = next(i for i, t in enumerate(cells) if t.content == "Refusal rate")
    change = cells[cell + 3]
    assert change.content == "+5.0 pp, p = 1.00, within noise"
    assert [c.type for c in change.children] == ["text"]


def test_json_carries_p_values_intervals_and_holm_across_tags(tmp_path):
    # tag "a": 12 cases all refuse now; tag "b": 12 cases, 2 refuse now
    store, cid = make(tmp_path, 24, lambda i, s: REFUSE if i < 12 or i in (12, 13) else answer(i),
                      tags=lambda i: ["a"] if i < 12 else ["b"])  # fmt: skip
    cl = build(store, cid)
    doc = json.loads(render_json(cl))
    assert doc["significance"]["correction"] == "holm" and doc["significance"]["alpha"] == 0.05
    for m in doc["metrics"] + [m for t in doc["tags"] for m in t["metrics"]]:
        assert {"p_value", "p_adjusted", "significant", "ci"} <= set(m), m["key"]
        assert isinstance(m["significant"], bool)
        if m["unit"] == "rate":
            assert set(m["ci"]) == {"baseline", "candidate"}
    for r in doc["checks"]:
        assert "p_value" in r
    pa, pb = mcnemar_exact(0, 12), mcnemar_exact(0, 2)
    ra, rb = (next(m for m in t["metrics"] if m["key"] == "refusal_rate") for t in doc["tags"])
    assert (ra["p_value"], rb["p_value"]) == (round(pa, 6), round(pb, 6))
    ha, hb = holm([pa, pb])
    assert (ra["p_adjusted"], rb["p_adjusted"]) == (round(ha, 6), round(hb, 6))
    assert ra["significant"] and not rb["significant"]
    md = render_markdown(cl)
    assert "(+100.0 pp, p < 0.001)" not in md  # the tag table bolds it: significant after Holm
    assert "0% → 100% (**+100.0 pp** (p < 0.001))" in md
    assert "0% → 16.7% (+16.7 pp, p = 0.50, within noise)" in md


def test_one_sample_a_side_says_the_noise_floor_is_unknown_once(tmp_path):
    store, cid = make(tmp_path, 5, lambda i, s: answer(i, 12))
    cl = build(store, cid)
    md = render_markdown(cl)
    line = "- **Noise floor unknown**: 1 sample a side on 5 cases, so they cannot be told from sampling noise"
    assert md.count(line) == 1
    cases = json.loads(render_json(cl))["cases"]
    assert all(c["noise_known"] is False and c["noise_p"] is None for c in cases)


def test_pass_hat_k_and_the_flip_rate_between_samples_per_case(tmp_path):
    # 3 samples a side, a check that every baseline sample passes and one candidate sample fails
    store, cid = make(tmp_path, 2, lambda i, s: REFUSE if (i == 0 and s == 2) else answer(i + 50, 8 + s), samples=3,
                      baseline=lambda i, s: answer(i, 8 + s), checks=", checks: [{not_refusal: true}]")  # fmt: skip
    cl = build(store, cid)
    case = next(c for c in json.loads(render_json(cl))["cases"] if c["id"] == "c000")
    assert case["consistency"] == {
        "baseline": {"k": 3, "pass_k": True, "flip_rate": 0.0},
        "candidate": {"k": 3, "pass_k": False, "flip_rate": 0.666667},  # 2·1 of the 3 pairs
    }
    assert case["noise_known"] is True
    md = render_markdown(cl)
    assert "pass^3 yes → no, sample flips 0 → 0.67" in md


_PROBE = (
    "import json, sys\n"
    "from reviewer.cli import main\n"
    "sys.exit(main(['export', '--db', sys.argv[1], '--format', 'json', '-o', sys.argv[2], '--allow-unreviewed', "
    "'--as', 'Ada <ada@example.com>']))\n"
)


def test_two_export_processes_give_identical_p_values(tmp_path):
    # 40 cases whose words change by different amounts (beyond the exact sign-flip limit, so the
    # seeded resampling is used) and 3 samples a side (fractional per-case rates: sign-flip too)
    store, _cid = make(
        tmp_path, 40, lambda i, s: (REFUSE if (i + s) % 3 == 0 else answer(i, 6 + i % 7 + s)), samples=3,
        baseline=lambda i, s: REFUSE if (i + s) % 5 == 0 else answer(i, 8 + s), tags=lambda i: ["odd" if i % 2 else "even"],
    )  # fmt: skip
    store.close()

    def export(name: str, hashseed: str) -> dict:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hashseed}
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "reviewer.db"), str(tmp_path / name)],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return json.loads((tmp_path / name).read_text(encoding="utf-8"))

    one, two = export("one.json", "1"), export("two.json", "2")

    def pvalues(doc: dict) -> list:
        rows = doc["metrics"] + [m for t in doc["tags"] for m in t["metrics"]]
        return ([(m["key"], m["test"], m["p_value"], m["p_adjusted"], m["ci"], m["change_ci"]) for m in rows]
                + [(r["kind"], r["p_value"]) for r in doc["checks"]] + [t["flips_test"] for t in doc["tags"]]
                + [(c["id"], c["noise_p"]) for c in doc["cases"]])  # fmt: skip

    assert pvalues(one) == pvalues(two)
    tests = {m["test"] for m in one["metrics"] if m["test"]}
    assert "sign_flip" in tests  # the refusal rate over 3 samples a side: resampled, seeded
    words = next(m for m in one["metrics"] if m["key"] == "words_median")
    assert 0 < words["p_value"] < 1 and words["cases_tested"] == 40


def test_export_alpha_sets_the_level_and_a_bad_one_is_a_usage_error(tmp_path, capsys):
    from reviewer.cli import main

    # 6 of 6 cases now refuse: McNemar p = 2/64 = 0.031, significant at 0.05, not at 0.01
    store, _ = make(tmp_path, 6, lambda i, s: REFUSE)
    store.close()
    db = str(tmp_path / "reviewer.db")
    for alpha, significant in (("0.05", True), ("0.01", False)):
        out = tmp_path / f"a{alpha}.json"
        assert main(["export", "--db", db, "-o", str(out), "--allow-unreviewed", "--alpha", alpha, "--as", ADA]) == 0
        doc = json.loads(out.read_text(encoding="utf-8"))
        m = next(m for m in doc["metrics"] if m["key"] == "refusal_rate")
        assert m["p_value"] == 0.03125 and m["significant"] is significant
        assert doc["significance"]["alpha"] == float(alpha)
    assert main(["export", "--db", db, "--allow-unreviewed", "--alpha", "1.5"]) == 2
    assert "--alpha 1.5: expected a level between 0 and 1" in capsys.readouterr().err


def test_a_tag_written_twice_on_a_case_counts_the_case_once(tmp_path):
    """Each case counts once in each of its tags, however often the suite repeats the tag."""
    from reviewer.export.changelog.jsondoc import to_jsonable

    def cand(i, s):
        return REFUSE if i < 6 else answer(i, 5)

    (tmp_path / "once").mkdir()
    (tmp_path / "twice").mkdir()
    once = build(*make(tmp_path / "once", 12, cand, samples=2, tags=lambda i: ["a"]))
    twice = build(*make(tmp_path / "twice", 12, cand, samples=2, tags=lambda i: ["a", "a"] if i in (1, 3) else ["a"]))
    (t1,), (t2,) = once.tags, twice.tags
    assert t2.cases == 12 and metric(twice, "refusal_rate", "a").candidate == 0.5
    assert to_jsonable(t2) == to_jsonable(t1)


def test_quantiles_from_counted_word_counts_are_those_of_the_sorted_counts():
    import random

    from reviewer.export.changelog.metrics import _quantile, _SortedCounts

    rng = random.Random(5)
    for n in (0, 1, 2, 3, 10, 999):
        for _ in range(30):
            values = [rng.randint(0, 40) for _ in range(n)]
            counted = _SortedCounts(values)
            assert len(counted) == n
            for q in (0.0, 0.5, 0.9, 0.95, 1.0):
                assert _quantile(counted, q) == _quantile(sorted(values), q)
