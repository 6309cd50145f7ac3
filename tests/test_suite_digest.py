"""A suite's digest is SHA-256 of its canonical JSON (what runs and caches are keyed by): hashed a
case at a time, it stays byte for byte the digest of the whole dump."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from reviewer.suite import Suite, load_suite

ROOT = Path(__file__).resolve().parents[1]


def whole_dump_digest(suite: Suite) -> str:
    blob = json.dumps(suite.model_dump(mode="json", exclude_none=True), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@pytest.mark.parametrize("path", sorted((ROOT / "suites").glob("*.yaml")), ids=lambda p: p.name)
def test_the_shipped_suites_keep_their_digest(path):
    loaded = load_suite(path)
    assert loaded.digest == whole_dump_digest(loaded.suite)


@pytest.mark.parametrize(
    "data",
    [
        {"suite": "empty"},
        {"suite": "one", "cases": [{"id": "a", "prompt": 'héllo \u2028 "q" \\ ✓'}]},
        {
            "suite": "full",
            "description": "déjà",
            "judge_rubric": "Grade it.",
            "defaults": {"system": "s", "params": {"temperature": 0, "z": [1, {"b": 2, "a": 1}]}},
            "cases": [
                {"id": "a", "prompt": "p", "tags": ["x"], "checks": [{"regex": "r", "ignore_case": True}], "added": "2024-01-02"},
                {
                    "id": "b",
                    "messages": [{"role": "user", "content": "c"}],
                    "reference": "r",
                    "checks": [{"equals_reference": True}],
                },
            ],
        },
    ],
    ids=["empty", "unicode", "full"],
)
def test_the_digest_is_that_of_the_whole_canonical_dump(data):
    suite = Suite.model_validate(data)
    assert suite.digest() == whole_dump_digest(suite)


def test_a_suite_with_judge_rubric_loads_and_keeps_it(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("suite: s\njudge_rubric: |\n  Prefer short answers.\ncases:\n  - id: a\n    prompt: hi\n")
    loaded = load_suite(f)
    assert loaded.suite.judge_rubric == "Prefer short answers.\n"
    without = tmp_path / "t.yaml"
    without.write_text("suite: s\ncases:\n  - id: a\n    prompt: hi\n")
    assert load_suite(without).suite.judge_rubric is None
    assert load_suite(without).digest != loaded.digest
