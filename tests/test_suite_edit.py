"""Appending cases to suite files: the rest of the file stays byte-for-byte, the new case reads
back exactly, and a refusal leaves the file untouched."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.suite import Case, Check, SuiteError, load_suite
from reviewer.suite_edit import append_case, case_to_file, free_id, render_case_yaml, write_text_atomic

SUPPORT = """\
# Support suite — keep ids stable.
suite: support
description: "Support answers"   # quoted on purpose
defaults:
  system: Be brief.
cases:
  - id: refund-1   # first case
    tags: [billing]
    prompt: 'How do I get a refund?'
    checks:
      - contains: refund
  # a comment between cases
  - id: hours
    prompt: >-
      When are
      you open?
"""


def new_case(**kw) -> Case:
    base = dict(
        id="incident-42",
        tags=["incident", "billing"],
        prompt="Line one\n  indented: yes\nLast line",
        reference="ok: {json} # not a comment",
        checks=[Check(kind="regex", value=r"^\s*[{\[]"), Check.model_validate({"max_words": 50})],
        origin="incident #42",
        added=date(2026, 5, 1),
        params={"temperature": 0.2},
    )
    base.update(kw)
    return Case(**base)


def removed(text: str, block_start: int, block_len: int) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[: block_start - 1] + lines[block_start - 1 + block_len :])


def test_yaml_append_keeps_every_other_byte(tmp_path: Path):
    p = tmp_path / "support.yaml"
    p.write_text(SUPPORT, encoding="utf-8")
    case = new_case()
    res = append_case(p, case)
    text = p.read_text(encoding="utf-8")
    assert text.startswith(SUPPORT)  # appended at the end: nothing before it moved
    assert res.line == SUPPORT.count("\n") + 1
    assert text[len(SUPPORT) :].startswith("  - id: incident-42\n    tags: [incident, billing]\n")
    assert "    prompt: |-\n      Line one\n        indented: yes\n      Last line\n" in text
    loaded = load_suite(p)
    assert loaded.suite.case("incident-42") == case
    assert [c.id for c in loaded.suite.cases] == ["refund-1", "hours", "incident-42"]
    assert loaded.case_lines["incident-42"] == res.line
    assert not res.created and not res.reformatted


def test_yaml_append_before_a_later_top_level_key(tmp_path: Path):
    original = "suite: b\ncases:\n- id: one\n  prompt: hi\n\n# about defaults\ndefaults:\n  params: {temperature: 0}\n"
    p = tmp_path / "b.yaml"
    p.write_text(original)
    res = append_case(p, new_case(checks=[], reference=None))
    text = p.read_text()
    # The file's own list style (dash at column 0) is followed, and the comment that leads into
    # `defaults` stays with it.
    assert res.line == 5
    assert text.splitlines()[4] == "- id: incident-42"
    block = text.split("\n")[4:-5]
    assert all(line.startswith(("- ", "  ")) for line in block)
    assert removed(text, 5, len(block)) == original
    assert load_suite(p).suite.defaults.params == {"temperature": 0}


def test_keep_chomped_scalar_of_the_last_case_is_not_changed(tmp_path: Path):
    original = "suite: k\ncases:\n  - id: keep\n    prompt: |+\n      kept trailing lines\n\n# trailing comment\n"
    p = tmp_path / "k.yaml"
    p.write_text(original)
    before = load_suite(p).suite.case("keep").prompt
    append_case(p, Case(id="n", prompt="x"))
    assert load_suite(p).suite.case("keep").prompt == before == "kept trailing lines\n\n"
    assert p.read_text().startswith(original)


def test_crlf_line_endings_are_kept(tmp_path: Path):
    p = tmp_path / "crlf.yaml"
    p.write_bytes(b"suite: crlf\r\ncases:\r\n  - id: a\r\n    prompt: x\r\n")
    append_case(p, Case(id="b", prompt="two\nlines"))
    raw = p.read_bytes()
    assert raw.startswith(b"suite: crlf\r\ncases:\r\n  - id: a\r\n    prompt: x\r\n  - id: b\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert load_suite(p).suite.case("b").prompt == "two\nlines"


def test_duplicate_id_points_at_the_existing_case_and_writes_nothing(tmp_path: Path):
    p = tmp_path / "support.yaml"
    p.write_text(SUPPORT)
    mtime = p.stat().st_mtime_ns
    with pytest.raises(SuiteError) as err:
        append_case(p, Case(id="hours", prompt="again"))
    assert str(err.value) == f"{p}:13: case 'hours' already exists (nothing written)"
    assert p.read_text() == SUPPORT and p.stat().st_mtime_ns == mtime
    assert sorted(os.listdir(tmp_path)) == ["support.yaml"]


def test_invalid_suite_is_refused_with_its_own_problems(tmp_path: Path):
    p = tmp_path / "bad.yaml"
    bad = "suite: bad\ncases:\n  - id: a\n    prompt: x\n    checks:\n      - max_words: many\n"
    p.write_text(bad)
    with pytest.raises(SuiteError) as err:
        append_case(p, Case(id="b", prompt="y"))
    assert f"{p}:6:" in str(err.value) and "max_words" in str(err.value)
    assert p.read_text() == bad
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml"]


def test_jsonl_append_keeps_header_and_adds_a_newline_first(tmp_path: Path):
    p = tmp_path / "s.jsonl"
    p.write_bytes(b'{"suite": "s", "defaults": {"system": "Be brief."}}\r\n{"id": "x", "prompt": "y"}')
    case = new_case()
    res = append_case(p, case)
    lines = p.read_bytes().split(b"\r\n")
    assert lines[:2] == [b'{"suite": "s", "defaults": {"system": "Be brief."}}', b'{"id": "x", "prompt": "y"}']
    assert lines[3] == b"" and res.line == 3
    loaded = load_suite(p)
    assert loaded.suite.case("incident-42") == case
    assert loaded.suite.defaults.system == "Be brief."


@pytest.mark.parametrize("name", ["new.yaml", "new.jsonl"])
def test_missing_file_is_created(tmp_path: Path, name: str):
    p = tmp_path / "sub" / name
    p.parent.mkdir()
    res = append_case(p, new_case())
    assert res.created
    loaded = load_suite(p)
    assert loaded.suite.suite == "new"
    assert loaded.suite.cases == [new_case()]


def test_missing_file_is_an_error_when_create_is_false(tmp_path: Path):
    with pytest.raises(SuiteError, match="no such file"):
        append_case(tmp_path / "nope.yaml", new_case(), create=False)
    assert not (tmp_path / "nope.yaml").exists()


@pytest.mark.parametrize("cases", ["cases: []", "cases: [{id: a, prompt: x}]", ""])
def test_empty_or_flow_cases_are_re_emitted_with_comments(tmp_path: Path, cases: str):
    p = tmp_path / "f.yaml"
    p.write_text(f"# keep me\nsuite: f  # and me\n{cases}\n")
    res = append_case(p, new_case())
    text = p.read_text()
    assert "# keep me" in text and "# and me" in text
    ids = [c.id for c in load_suite(p).suite.cases]
    assert ids[-1] == "incident-42" and len(ids) == (2 if "id: a" in cases else 1)
    assert res.reformatted == (cases != "")


def test_tricky_strings_fall_back_to_quoted_scalars(tmp_path: Path):
    p = tmp_path / "s.yaml"
    p.write_text(SUPPORT)
    tricky = "trailing space \nbell\x07 and tab\tand CR\r\nend\u2028 "
    append_case(p, Case(id="t", prompt=tricky, reference="  leading spaces\n  kept"))
    got = load_suite(p).suite.case("t")
    assert got.prompt == tricky and got.reference == "  leading spaces\n  kept"
    assert p.read_text().startswith(SUPPORT)


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prompt=texts, reference=st.none() | texts, tags=st.lists(st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True), max_size=3)
)
def test_any_text_reads_back_exactly(tmp_path: Path, prompt: str, reference: str | None, tags: list[str]):
    for suffix in (".yaml", ".jsonl"):
        p = tmp_path / f"prop{suffix}"
        p.write_text(SUPPORT if suffix == ".yaml" else '{"id": "a", "prompt": "b"}\n')
        before = p.read_text()
        case = Case(id="p", prompt=prompt, reference=reference, tags=tags)
        append_case(p, case)
        assert load_suite(p).suite.case("p") == case
        assert p.read_text().startswith(before)


def test_write_text_atomic_keeps_mode_and_cleans_up_on_failure(tmp_path: Path):
    p = tmp_path / "x.yaml"
    p.write_text("old")
    os.chmod(p, 0o640)
    write_text_atomic(p, "new")
    assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == 0o640

    def refuse(tmp: Path):
        assert tmp.parent.parent == tmp_path and tmp.name == "x.yaml" and tmp.read_text() == "newer"
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        write_text_atomic(p, "newer", validate=refuse)
    assert p.read_text() == "new"
    assert os.listdir(tmp_path) == ["x.yaml"]


def test_case_to_file_order_and_omissions():
    c = new_case(tags=[], params={})
    assert list(case_to_file(c)) == ["id", "origin", "added", "prompt", "reference", "checks"]
    assert case_to_file(c)["checks"] == [{"regex": r"^\s*[{\[]"}, {"max_words": 50}]
    msgs = Case(id="m", messages=[{"role": "user", "content": "hi"}], system="S")
    assert case_to_file(msgs) == {"id": "m", "system": "S", "messages": [{"role": "user", "content": "hi"}]}


def test_render_follows_the_given_list_style():
    text = render_case_yaml(Case(id="a", prompt="x", checks=[Check(kind="json")]), dash_col=0, content_col=2)
    assert text == "- id: a\n  prompt: x\n  checks:\n  - json: true\n"


def test_free_id():
    assert free_id("a", {"b"}) == "a"
    assert free_id("a", {"a", "a-2"}) == "a-3"
