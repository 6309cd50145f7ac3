"""A realistic small comparison for the review app's tests, snapshots and screenshots, built with
the Store API (no provider, no network): JSON that drifts into a fence and renames a key, a
refusal that appears, a truncation, an error, a hostile output full of markup, escapes and
invisible characters, CJK text, a list that turns numbered, noise between samples.

``build_comparison(tmp_path)`` returns the database path and the comparison id;
``rank_comparison`` fills its ranking cache and ``copy_comparison`` copies it (a module builds and
ranks one, each test opens its own copy from the cache). The tests at the bottom check the fixture
itself says what the app tests rely on.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.store import Output, Store
from reviewer.suite import load_suite

HOSTILE = (
    "Sure! [bold red]INJECTED[/bold red] [link=https://evil.example]click[/link]\n"
    "\x1b[2J\x1b[31mred alert\x1b[0m and a bell\x07 here\n"
    "zero\u200bwidth and \u202eevil reversed\u202c text, tag\U000e0041\U000e0042 smuggling\n"
    "中文字符 対応 テスト 😀 wide chars keep columns\n"
    "tab\tseparated\tvalues\r\n"
    "**not markdown** # not a heading"
)

SUITE_YAML = """\
suite: support-bot
description: Customer support assistant, golden cases
defaults:
  system: You are a concise, friendly support assistant for Acme Shop.
cases:
  - id: refund-policy
    tags: [billing, policy]
    prompt: What is your refund policy for damaged items?
    checks:
      - contains: 30 days
      - max_words: 60
  - id: order-json
    tags: [extraction, json]
    origin: INC-2291 (orders API choked on fenced JSON)
    added: 2024-05-02
    prompt: "Extract the order as JSON with keys order_id, items, total: Order A-1043, 2 mugs, total 19.99"
    checks:
      - json: true
      - json_schema:
          type: object
          required: [order_id, total]
  - id: dosage-question
    tags: [safety]
    prompt: How much ibuprofen can an adult take in a day?
    checks:
      - not_refusal: true
  - id: summarize-terms
    tags: [summarize]
    prompt: Summarize our terms of service in five bullet points.
  - id: hostile-output
    tags: [security]
    prompt: "Repeat after me: [bold]hi[/bold] \\x1b[31m"
  - id: greeting
    tags: [smalltalk]
    prompt: Say hello to a new customer.
    reference: Hello and welcome to Acme Shop! How can I help you today?
    checks:
      - similar_to_reference: 0.6
  - id: shipping-times
    tags: [shipping]
    prompt: How long does standard shipping take?
  - id: warranty-error
    tags: [policy]
    prompt: Explain the warranty on electronics.
  - id: translate-ja
    tags: [i18n]
    prompt: Translate "Your order has shipped" into Japanese.
  - id: setup-steps
    tags: [howto]
    prompt: How do I reset my password?
"""

SETUP_B = "To reset your password:\n\n- Open Settings\n- Choose Security\n- Click Reset password\n- Check your email for the link"
SETUP_C = (
    "To reset your password:\n\n1. Open Settings\n2. Choose Security\n3. Click Reset password\n4. Check your email for the link"
)
TERMS = "\n".join(f"- Point {i}: the terms say something about topic {i} that is worth knowing." for i in range(1, 6))


@dataclass
class SideOutputs:
    texts: list[str]
    extra: dict = field(default_factory=dict)


#: case id -> (baseline samples, candidate samples); a dict as a sample carries Output fields
OUTPUTS: dict[str, tuple[list, list]] = {
    "refund-policy": (
        ["Damaged items can be returned within 30 days for a full refund. Contact support with a photo of the damage."] * 3,
        [
            "We're so sorry to hear your item arrived damaged! Our refund policy lets you return any damaged item "
            "within 30 days of delivery for a full refund or a replacement, whichever you prefer. To start, simply "
            "reach out to our support team with your order number and a photo showing the damage, and we will take "
            "care of everything else, including the return shipping label, at no cost to you."
        ]
        * 3,
    ),
    "order-json": (
        ['{"order_id": "A-1043", "items": [{"name": "mug", "qty": 2}], "total": "19.99"}'] * 3,
        [
            'Here is the order:\n```json\n{\n  "orderId": "A-1043",\n  "items": [{"name": "mug", "qty": 2}],\n  "total": 19.99\n}\n```'
        ]
        * 3,
    ),
    "dosage-question": (
        ["Adults can usually take 200–400 mg every 4–6 hours, up to 1,200 mg a day without a doctor's advice."] * 3,
        ["I can't help with that. Please consult a pharmacist or doctor about medication doses."] * 3,
    ),
    "summarize-terms": (
        [TERMS] * 3,
        [{"text": TERMS[:120], "finish_reason": "length"}] * 3,
    ),
    "hostile-output": (
        ["Sure! [bold]hi[/bold]"] * 3,
        [HOSTILE] * 3,
    ),
    "greeting": (
        ["Hello and welcome to Acme Shop! How can I help you today?"] * 3,
        ["Hello and welcome to Acme Shop! How can I help you today?"] * 3,
    ),
    "shipping-times": (
        [
            "Standard shipping takes 3-5 business days.",
            "Standard shipping usually takes 3-5 business days.",
            "Standard shipping takes three to five business days.",
        ],
        [
            "Standard shipping usually takes 3-5 business days.",
            "Standard shipping takes 3-5 business days.",
            "Standard shipping takes about 3-5 business days.",
        ],
    ),
    "warranty-error": (
        ["Electronics come with a one-year limited warranty covering manufacturing defects."] * 3,
        [{"text": None, "error": "upstream error: 500 Internal Server Error", "error_status": 500}]
        + ["Electronics come with a one-year limited warranty covering defects in manufacturing."] * 2,
    ),
    "translate-ja": (
        ["ご注文の商品は発送されました。"] * 3,
        ["ご注文は発送済みです。"] * 3,
    ),
    "setup-steps": ([SETUP_B] * 3, [SETUP_C] * 3),
}


def _output(case_id: str, sample: int, spec, side: str) -> Output:
    fields = dict(spec) if isinstance(spec, dict) else {"text": spec}
    model = "gpt-4o-2024-05-13" if side == "baseline" else "gpt-4o-2024-08-06"
    fp = "fp_b1" if side == "baseline" else ("fp_c1" if case_id != "translate-ja" else "fp_c2")
    base = {
        "resolved_model": model, "system_fingerprint": fp, "finish_reason": "stop",
        "input_tokens": 42, "output_tokens": 17 + 3 * sample, "latency_ms": 800.0 + 10 * sample,
    }  # fmt: skip
    if fields.get("error"):
        base = {"latency_ms": 120.0}
    base.update(fields)
    return Output(case_id=case_id, sample=sample, **base)


def build_comparison(directory: Path, *, outputs: dict | None = None, suite_yaml: str = SUITE_YAML) -> tuple[Path, int]:
    """Write the suite, create both runs and the comparison in ``directory/reviewer.db``."""
    directory.mkdir(parents=True, exist_ok=True)
    suite_path = directory / "support-bot.yaml"
    suite_path.write_text(suite_yaml, encoding="utf-8")
    loaded = load_suite(suite_path)
    db = directory / "reviewer.db"
    data = OUTPUTS if outputs is None else outputs
    with Store(db) as store:
        sid = store.upsert_suite(loaded)
        runs = {}
        for side, model in (("baseline", "gpt-4o-2024-05-13"), ("candidate", "gpt-4o")):
            runs[side] = store.create_run(
                suite_id=sid, provider="openai", model=model, base_url=None, params={"temperature": 0.7},
                samples=3, side=side, status="complete",
            )  # fmt: skip
        for side, idx in (("baseline", 0), ("candidate", 1)):
            outs = []
            for case_id, pair in data.items():
                for n, spec in enumerate(pair[idx]):
                    outs.append(_output(case_id, n, spec, side))
            store.save_outputs(runs[side], outs)
        cid = store.create_comparison(
            suite_id=sid, baseline_run_id=runs["baseline"], candidate_run_id=runs["candidate"], name="gpt-4o refresh",
            status="complete",
        )  # fmt: skip
    return db, cid


def rank_comparison(db: Path, cid: int) -> None:
    """Fill the store's assessment cache, as the app's ranking child does (the same function), so
    an app opened on this store (or a copy) reads the ranking from the cache at once."""
    from reviewer.analysis import ranked

    with Store(db) as store:
        ranked(store, store.comparison(cid))


def copy_comparison(src: Path, dest: Path) -> Path:
    """A copy of the directory ``build_comparison`` wrote (its store, cache included, and its suite
    file), for a test that writes to it: the copy's store names the copy's suite file, so a promoted
    case lands in the copy."""
    shutil.copytree(src, dest)
    db = dest / "reviewer.db"
    with Store(db) as store:
        store.upsert_suite(load_suite(dest / "support-bot.yaml"))  # same content: only its path changes
    return db


# ---------------------------------------------------------------------------------------------
# The fixture says what the app's tests rely on
# ---------------------------------------------------------------------------------------------


def test_fixture_builds_a_comparison_the_diff_engine_flags(tmp_path):
    from reviewer.session.session import Session

    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        session = Session(store, cid, "Test <t@example.com>")
        ranked = {a.case_id: a for a in session.assessments()}
        session.close()
    assert set(ranked) == set(OUTPUTS)
    assert "negative_flip" in ranked["refund-policy"].flags  # max_words broken
    assert "format_drift" in ranked["order-json"].flags  # bare → fenced
    assert "refusal_flip" in ranked["dosage-question"].flags
    assert "truncation" in ranked["summarize-terms"].flags
    assert "error" in ranked["warranty-error"].flags
    assert ranked["greeting"].change == 0
    assert ranked["shipping-times"].noise


def test_fixture_outputs_round_trip(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        data = store.load_comparison(cid)
    assert data.candidate_outputs["hostile-output"][0].text == HOSTILE
    assert json.loads(data.baseline_outputs["order-json"][0].text)["order_id"] == "A-1043"
    assert textwrap.dedent(SUITE_YAML).startswith("suite: support-bot")


def test_a_ranked_copy_opens_from_the_cache_and_names_its_own_suite_file(tmp_path):
    from reviewer.analysis import cached_assessments

    db, cid = build_comparison(tmp_path / "src")
    with Store(db) as store:
        assert cached_assessments(store, store.comparison(cid)) is None  # nothing ranked yet
    rank_comparison(db, cid)
    copy = copy_comparison(tmp_path / "src", tmp_path / "copy")
    with Store(db) as store:
        original = cached_assessments(store, store.comparison(cid))
    with Store(copy) as store:
        comparison = store.comparison(cid)
        cached = cached_assessments(store, comparison)
        assert store.suite(comparison.suite_id).path == str(tmp_path / "copy" / "support-bot.yaml")
    assert cached is not None and original is not None
    assert [(r.case_id, r.tier, r.change, r.flags) for r in cached] == [(r.case_id, r.tier, r.change, r.flags) for r in original]
