"""One Problem type for the package (reviewer/errors.py): it renders what suite.py's own Problem
rendered, and what the importers' Problem rendered, so each can switch to it with no visible change.
The keymap model (boundaries.read_keymap) names file, line and binding."""

from __future__ import annotations

import dataclasses

import pytest

from reviewer import importers
from reviewer.boundaries import read_keymap
from reviewer.errors import Problem, field_path


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        # suite.py's uses: Problem(file, line, message), line 0 printed as given
        (Problem("s.yaml", 3, "case 'a': prompt: Input should be a valid string"), "s.yaml:3: case 'a': prompt: Input should be a valid string"),
        (Problem("nope.yaml", 0, "no such file"), "nope.yaml:0: no such file"),
        # the importers' uses: the line left out for the file as a whole, the field before the message
        (Problem("r.json", None, "missing provider id", field="results.results[5].provider"), "r.json: results.results[5].provider: missing provider id"),
        (Problem("log.jsonl", 4, "the line is blank"), "log.jsonl:4: the line is blank"),
        (Problem("c.yaml", 2, "expected a string", field="prompt", case_id="refund"), "c.yaml:2: case 'refund': prompt: expected a string"),
    ],
)  # fmt: skip
def test_one_line_rendering(problem, text):
    assert str(problem) == text


def test_the_importers_problem_is_the_one_problem():
    assert importers.Problem is Problem
    p = Problem("a.yaml", 1, "x", field="f")
    assert dataclasses.replace(p, file="b.yaml") == Problem("b.yaml", 1, "x", field="f")
    assert (p.file, p.line, p.message) == ("a.yaml", 1, "x")  # what SuiteError's users read


def test_field_path_from_a_pydantic_loc():
    assert field_path(("messages", 1, "content")) == "messages[1].content"
    assert field_path(("vars", "x"), "tests[2]") == "tests[2].vars.x"
    assert field_path((), "tests") == "tests" and field_path(()) == ""


def test_a_keymap_names_its_line_and_binding(tmp_path):
    f = tmp_path / "keymap.yaml"
    f.write_text("label.noise: z\nlabel.regression: 1\n")
    assert read_keymap(f) == ({}, f"{f}:2: label.regression: expected keys like `z` or `ctrl+s,z` (keymap ignored)")
    f.write_text("- z\n")
    assert read_keymap(f) == ({}, f"{f}:1: expected lines like `label.noise: z` (keymap ignored)")
    f.write_text("label.noise: z\napp.quit: 'ctrl+q,q'\n")
    assert read_keymap(f) == ({"label.noise": "z", "app.quit": "ctrl+q,q"}, None)
    f.write_text("")
    assert read_keymap(f) == ({}, None)


@pytest.mark.parametrize(("line", "message"), [(0, "no such file"), (7, "case 'a': duplicate id (first at line 3)")])
def test_suite_problems_render_the_same_through_the_one_type(line, message):
    from reviewer import suite

    assert str(suite.Problem("s.yaml", line, message)) == str(Problem("s.yaml", line, message))
