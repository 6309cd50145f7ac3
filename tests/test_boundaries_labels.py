"""A labels file is validated by one pydantic model (LabelLine): every problem of every line is named
as file:line: field: message, unknown keys are tolerated as before, nothing is imported on a bad line."""

from __future__ import annotations

import json

import pytest

from reviewer.errors import ReviewerError
from reviewer.export.labels_io import LabelLine, parse_label_lines

GOOD = {
    "format": "reviewer-labels/1",
    "comparison": {"suite": "s", "suite_digest": "a1", "baseline": "openai:x", "candidate": "openai:y", "name": None,
                   "outputs": "9f"},
    "case": "c1", "reviewer": "  Ada <ada@example.com> ", "verdict": "noise", "severity": 2, "note": None,
    "time": "2025-03-13T12:00:00+01:00",
}  # fmt: skip


def write(tmp_path, objs):
    f = tmp_path / "labels.jsonl"
    f.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs), encoding="utf-8")
    return f


def problems(tmp_path, objs) -> list[str]:
    f = write(tmp_path, objs)
    with pytest.raises(ReviewerError) as e:
        parse_label_lines(f)
    lines = str(e.value).splitlines()
    assert lines[-1] == f"{f}: nothing imported (fix the lines above)"
    return [ln.removeprefix(f"{f}:") for ln in lines[:-1]]


def test_a_good_line_is_normalised_and_keeps_unknown_keys_of_its_comparison(tmp_path):
    (lab,) = parse_label_lines(write(tmp_path, [{**GOOD, "from_a_newer_writer": [1]}]))
    assert (lab.line, lab.case, lab.reviewer, lab.verdict) == (1, "c1", "Ada <ada@example.com>", "noise")
    assert lab.severity is None  # severity belongs to regressions
    assert lab.time == "2025-03-13T11:00:00.000Z"
    assert lab.comparison == GOOD["comparison"]  # suite and outputs kept as given
    assert lab.identity_key == ("s", "a1", "openai:x", "openai:y", None)


def test_a_comparison_without_suite_or_name_is_described_as_before(tmp_path):
    comp = {k: v for k, v in GOOD["comparison"].items() if k in ("suite_digest", "baseline", "candidate")}
    (lab,) = parse_label_lines(write(tmp_path, [{**GOOD, "comparison": comp}]))
    assert lab.comparison == comp and lab.comparison.get("suite", "?") == "?"


def test_every_problem_of_a_line_is_named_by_its_field(tmp_path):
    got = problems(tmp_path, [
        GOOD,
        {},
        {**GOOD, "comparison": {"suite_digest": "", "baseline": 3}},
        {**GOOD, "comparison": ["x"]},
        {**GOOD, "verdict": "regression", "severity": True, "note": 5},
        "[1, 2]",
        {**GOOD, "time": "yesterday"},
    ])  # fmt: skip
    assert got == [
        "2: format: expected 'reviewer-labels/1', got None",
        "2: comparison: expected an object with suite_digest, baseline, candidate, name",
        "2: case: expected a case id",
        "2: reviewer: expected a non-empty string",
        "2: verdict: expected one of regression, improvement, acceptable, noise, got None",
        "2: time: expected an ISO 8601 string",
        "3: comparison.suite_digest: expected a non-empty string",
        "3: comparison.baseline: expected a non-empty string",
        "3: comparison.candidate: expected a non-empty string",
        "4: comparison: expected an object with suite_digest, baseline, candidate, name",
        "5: severity: expected 1, 2, 3 or null, got True",
        "5: note: expected a string or null",
        "6: each line is a JSON object (one label)",
        "7: time: not an ISO 8601 time: 'yesterday'",
    ]


def test_numbers_are_never_read_as_strings(tmp_path):
    got = problems(tmp_path, [{**GOOD, "case": 7, "comparison": {**GOOD["comparison"], "name": 1}}])
    assert got == ["1: comparison.name: expected a string or null", "1: case: expected a case id"]


def test_the_model_alone_validates_a_line():
    assert LabelLine.model_validate(GOOD).parsed(3).line == 3
