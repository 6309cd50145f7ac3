"""The refusal detector against the labelled set in tests/data/refusals/ (see its README), plus
spans and languages one by one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.diff.signals import classify_decline, find_refusal, output_signals

ROWS = [
    json.loads(line) for line in (Path(__file__).parent / "data" / "refusals" / "outputs.jsonl").read_text("utf-8").splitlines()
]
KINDS = ("refusal", "partial", "non_answer", "answer")


def _kind(text: str) -> str:
    d = classify_decline(text)
    return d.kind if d else "answer"


def test_the_set_is_what_its_readme_says():
    assert len(ROWS) >= 400 and len({r["id"] for r in ROWS}) == len(ROWS)
    assert {r["label"] for r in ROWS} == set(KINDS)
    assert {"en", "de", "fr", "es", "ja"} <= {r["lang"] for r in ROWS}
    test = [r for r in ROWS if r["split"] == "test"]
    assert 0.3 <= len(test) / len(ROWS) <= 0.36


@pytest.mark.parametrize("split", ["dev", "test"])
def test_agreement_with_the_labels_is_at_least_95_percent(split):
    rows = [r for r in ROWS if r["split"] == split]
    wrong = [(r["id"], r["label"], _kind(r["text"])) for r in rows if _kind(r["text"]) != r["label"]]
    assert 1 - len(wrong) / len(rows) >= 0.95, wrong


def test_no_plain_answer_is_a_refusal_because_it_says_sorry_or_cannot():
    words = ("sorry", "cannot", "can't", "can\u2019t", "unable", "apolog")
    plain = [r for r in ROWS if r["label"] == "answer" and any(w in r["text"].lower() for w in words)]
    assert len(plain) >= 50
    assert [r["id"] for r in plain if _kind(r["text"]) == "refusal"] == []
    assert [r["id"] for r in plain if find_refusal(r["text"])] == []


@pytest.mark.parametrize(
    "text, kind, matched",
    [
        ("My apologies, but I cannot assist with that.", "refusal", "My apologies, but I cannot"),
        ("Sorry, I can't do that.", "refusal", "Sorry, I can't"),
        ("Unfortunately, I'm not able to help with hacking.", "refusal", "Unfortunately, I'm not able"),
        (
            "As an AI language model, I must clarify that I cannot generate that.",
            "refusal",
            "As an AI language model, I must clarify that I cannot",
        ),
        ("It is not appropriate for me to write that joke.", "refusal", "It is not appropriate for me to"),
        ("That request goes against my usage policies.", "refusal", "goes against my usage policies"),
        ("Es tut mir leid, aber ich kann dir dabei nicht helfen.", "refusal", "Es tut mir leid, aber ich kann dir dabei nicht"),
        ("Ich kann Ihnen dabei nicht helfen.", "refusal", "Ich kann Ihnen dabei nicht"),
        ("Je suis désolé, mais je ne peux pas faire cela.", "refusal", "Je suis désolé, mais je ne peux pas"),
        ("Lo siento, pero no puedo ayudarte con eso.", "refusal", "Lo siento, pero no puedo"),
        ("申し訳ありませんが、その件についてはお手伝いできません。", "refusal", "お手伝いできません"),
        ("お手伝いできません。", "refusal", "お手伝いできません"),
        ("This question is subjective and depends on individual values.", "non_answer", "is subjective"),
        ("As an AI, I don't have personal opinions or preferences.", "non_answer", "As an AI, I don't have personal opinions"),
        ("It depends on many factors, including your budget.", "non_answer", "It depends"),
    ],
)
def test_spans_point_at_the_declining_words(text, kind, matched):
    d = classify_decline(text)
    assert d is not None and (d.kind, d.matched, d.source) == (kind, matched, "text")
    assert text[d.span[0] : d.span[1]] == matched


PARTIAL = (
    "I can't give medical advice, but here are general tips that many people find helpful: drink water, "
    "take breaks from screens every half hour, keep a regular sleep schedule, and use a cold compress."
)


@pytest.mark.parametrize(
    "text, kind",
    [
        (PARTIAL, "partial"),
        ("I can't give medical advice. Please see a doctor.", "refusal"),
        ("You cannot divide by zero: the result is undefined.", "answer"),
        ("Sorry for the confusion earlier — the answer is 42.", "answer"),
        ('"I can\'t do that," she whispered, and closed the door.', "answer"),
        ('The android said, "I\'m sorry, but I cannot allow that." Then the lights went out.', "answer"),
        ("I can't stress this enough: back up first.", "answer"),
        ("I can't be sure without the logs, but this is a version mismatch in numpy 1.24.", "answer"),
        ("As an AI I don't have preferences, but if I had to choose, I'd pick B.", "answer"),
        ("It's subjective, but my pick would be The Godfather.", "answer"),
        ("I'm not able to select one of these options; each is a legitimate view.", "non_answer"),
        ('{"error": "I can\'t find that user"}', "answer"),
        ("x" * 600 + " I can't help with that.", "answer"),  # past the opening window
        ("", "answer"),
    ],
)
def test_kinds(text, kind):
    assert _kind(text) == kind


def test_output_signals_records_the_source_and_keeps_partial_and_non_answers_apart():
    s = output_signals("Sorry, I can't do that.")
    assert (s.refusal, s.refusal_source, s.decline_span, s.declined) == (True, "text", (0, 14), True)
    p = output_signals(PARTIAL)
    assert (p.refusal, p.partial, p.non_answer, p.declined, p.refusal_source) == (False, True, False, False, None)
    n = output_signals("This is subjective; it depends on your values.")
    assert (n.refusal, n.non_answer, n.declined, n.decline.kind) == (False, True, True, "non_answer")
    o = output_signals("Sorry, I can't do that.", refusal="policy")
    assert (o.refusal_source, o.refusal_reason, o.decline.kind) == ("provider:openai.refusal", "message.refusal", "refusal")
    f = output_signals("This is subjective.", finish_reason="refusal")
    assert (f.refusal_source, f.refusal, f.non_answer) == ("provider:finish_reason", True, False)
    assert output_signals("", error="HTTP 500").decline is None
