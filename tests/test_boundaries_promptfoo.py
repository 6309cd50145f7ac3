"""promptfoo files are read through pydantic models (reviewer/importers/promptfoo_schema.py): what an
import needs is checked and named as file:line: field: message; what promptfoo adds (unknown keys)
or what we only use when it fits (a label, a token count) is tolerated, as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.importers import ImportProblems
from reviewer.importers.promptfoo import read_promptfoo_config, read_promptfoo_results

RESULTS = Path(__file__).parent / "data" / "promptfoo" / "results.json"


def config_problems(tmp_path: Path, text: str) -> list[str]:
    f = tmp_path / "promptfooconfig.yaml"
    f.write_text(text)
    with pytest.raises(ImportProblems) as e:
        read_promptfoo_config(f)
    return [line.removeprefix(str(f)) for line in str(e.value).splitlines()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n", [":1: a promptfoo config is a mapping with prompts and tests"]),
        ("tests: []\n", [": prompts: expected a list of prompts"]),
        ("prompts: []\n", [":1: prompts: expected a list of prompts"]),
        (
            "prompts:\n  - hi\n  - {label: x}\n  - 3\ntests: 7\n",
            [
                ":3: prompts[1]: expected a string, {raw, label} or file://PATH",
                ":4: prompts[2]: expected a string, {raw, label} or file://PATH",
                ":5: tests: expected a list of tests (or file://tests.yaml|json|jsonl|csv)",
            ],
        ),
        ("prompts: [hi]\ndefaultTest: [1]\n", [":2: defaultTest: expected a mapping"]),
        ("prompts: [hi]\ntests:\n  - vars: {a: 1}\n  - 5\n", [":4: tests[1]: expected a mapping with vars and assert"]),
        (
            "prompts: [hi]\ntests:\n  - description: d\n    vars: [1]\n    assert: 3\n",
            [
                ":4: tests[0].vars: expected a mapping of variable names to values",
                ":5: tests[0].assert: expected a list of assertions",
            ],
        ),
        ("prompts: [{raw: hi, label: {a: 1}}]\n", [":1: prompts[0].label: expected a string, got {'a': 1}"]),
    ],
)
def test_config_problems_name_line_and_field(tmp_path, text, expected):
    assert config_problems(tmp_path, text) == expected


def test_tests_from_a_file_are_checked_too(tmp_path):
    (tmp_path / "tests.yaml").write_text("- vars: {a: 1}\n- [x]\n")
    assert config_problems(tmp_path, "prompts: [hi]\ntests: file://tests.yaml\n") == [
        ": tests[1]: expected a mapping with vars and assert"
    ]
    (tmp_path / "tests.yaml").write_text("vars: {a: 1}\n")
    assert config_problems(tmp_path, "prompts: [hi]\ntests: file://tests.yaml\n") == [
        ": tests: expected a list of tests (or file://tests.yaml|json|jsonl|csv)"
    ]


def test_what_promptfoo_adds_is_tolerated(tmp_path):
    f = tmp_path / "promptfooconfig.yaml"
    f.write_text(
        "description: 7\nsharing: false\nevaluateOptions: {maxConcurrency: 2}\n"
        "prompts: {'Hi {{a}}': greet}\n"
        "providers: ['openai:x', {id: 'openai:y', config: {temperature: 0}}, 5]\n"
        "tests:\n  - vars: {a: x}\n    metadata: {tags: [t1, 3], owner: me}\n    options: {provider: z}\n"
        "    assert: [{type: contains, value: x}]\n  - file://more.yaml\n  - metadata: {tags: notalist}\n"
    )
    imp = read_promptfoo_config(f)
    assert [(c.id, c.prompt, c.tags, [k.label() for k in c.checks]) for c in imp.suite.cases] == [
        ("x", "Hi x", ["t1"], ["contains: x"]),  # a tag that is not text is left out
    ]
    assert imp.skipped == [
        "tests[1] file://more.yaml: test files inside the list are not read",
        "tests[2] × prompt 'greet': {{ a }} has no value",  # tags that are not a list: none
    ]
    assert imp.suite.defaults.params == {}  # the providers share no sampling parameter
    assert imp.suite.description is None  # a description that is not text is left out, as before


def results_problems(tmp_path: Path, edit) -> list[str]:
    doc = json.loads(RESULTS.read_text())
    edit(doc)
    f = tmp_path / "results.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(ImportProblems) as e:
        read_promptfoo_results(f)
    return [line.removeprefix(str(f)) for line in str(e.value).splitlines()]


def test_results_problems_are_all_listed_with_their_field(tmp_path):
    def edit(d):
        d["results"]["results"][2] = 7
        d["results"]["results"][4]["provider"] = {"label": "no id"}

    assert results_problems(tmp_path, edit) == [
        ": results.results[2]: expected an object",
        ": results.results[4].provider: missing provider id",
    ]
    assert results_problems(tmp_path, lambda d: d["results"].update(version=1, results={})) == [
        ": results.version: 1: results from promptfoo before 0.4x are not supported; re-export with a current promptfoo",
        ": results.results: expected a non-empty list of results",
    ]
    assert results_problems(tmp_path, lambda d: d.clear()) == [
        ":1: results: not a promptfoo results file (run `promptfoo eval -o results.json`)"
    ]


def test_results_fields_of_the_wrong_type_read_as_absent(tmp_path):
    doc = json.loads(RESULTS.read_text())
    first = doc["results"]["results"][0]
    first["response"]["finishReason"] = 3  # not text: no finish reason
    first["response"]["tokenUsage"] = "lots"  # not a mapping: the result's own usage, if any
    first["latencyMs"] = "slow"
    doc["config"] = ["not", "a", "mapping"]
    doc["evalId"] = 12
    doc["surprise"] = {"from": "a newer promptfoo"}
    f = tmp_path / "results.json"
    f.write_text(json.dumps(doc))
    imp = read_promptfoo_results(f)
    assert imp.eval_id is None
    out = next(o for o in imp.baseline.outputs + imp.candidate.outputs if o.text == _text(first))
    assert out.finish_reason is None
    assert out.latency_ms == first["response"].get("latencyMs")


def _text(item: dict) -> str:
    output = item["response"]["output"]
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
