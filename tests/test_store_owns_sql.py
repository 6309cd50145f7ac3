"""Only reviewer/store/ runs SQL; its typed methods answer what the callers used to query."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from reviewer.store import Label, Output, Store, Verdict
from reviewer.suite import load_suite
from reviewer.toolcall import ToolCall

ROOT = Path(__file__).resolve().parent.parent
#: Files of other work in flight that still query the store's tables: providers/stored.py (its
#: replacement: Store.run_by_label). Empty this once it has moved.
PENDING: set[str] = set()  # every module that ran SQL outside the store has moved it in
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA\s+\w+)\b", re.I | re.S)


def _sql_in(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}  # docstrings, bare strings
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "executemany", "executescript")
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: .{node.func.attr}(")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose and SQL.search(node.value):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value[:60]!r}")
    return found


def test_no_sql_outside_the_store():
    found = []
    for path in sorted((ROOT / "reviewer").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("reviewer/store/") or rel in PENDING:
            continue
        found += _sql_in(path)
    assert found == []


def test_the_finder_finds_sql(tmp_path):
    (tmp_path / "x.py").write_text(
        '"""SELECT a FROM b: a docstring is prose."""\ndef f(db):\n    db.execute("SELECT id FROM runs")\n'
    )
    assert sorted(_sql_in(tmp_path / "x.py", tmp_path)) == ["x.py:3: 'SELECT id FROM runs'", "x.py:3: .execute("]


@pytest.fixture
def store(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("suite: s\ncases:\n  - id: a\n    prompt: hi\n  - id: b\n    prompt: yo\n", encoding="utf-8")
    with Store(tmp_path / "r.db") as st:
        loaded = load_suite(p)
        sid = st.upsert_suite(loaded)
        b = st.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=2, label="prod")
        c = st.create_run(suite_id=sid, provider="openai", model="n", base_url=None, params={}, samples=2, label="prod")
        st.save_outputs(b, [Output("a", 0, text="Hello World", usage={"t": 1}, resolved_model="m-1", system_fingerprint="fp1"),
                            Output("a", 1, error="boom"), Output("b", 0, text="other", resolved_model="m-1")])  # fmt: skip
        st.save_outputs(c, [Output("a", 0, text="hi", tool_calls=(ToolCall("f", '{"x": 1}', "id1"),), stop_details={"k": "v"},
                                   resolved_model="n-2")])  # fmt: skip
        st.create_comparison(suite_id=sid, baseline_run_id=b, candidate_run_id=c, name="first", resume_key="k1")
        st.create_comparison(suite_id=sid, baseline_run_id=b, candidate_run_id=c, name="second", resume_key="k1")
        yield st


def test_typed_lookups(store):
    assert store.run_by_label("prod").id == 2  # the latest of that label
    assert store.run_by_label("nope") is None
    assert store.comparison_id_by_resume_key("k1") == 1  # the first
    assert store.comparison_id_by_resume_key("k2") is None
    assert store.previous_comparison("s", 2) == (1, store.comparison(1).created_at)
    assert store.previous_comparison("s", 1) is None
    assert store.previous_comparison("other", 2) is None
    assert store.output_counts() == {1: (3, 1), 2: (1, 0)}
    assert store.answer_texts(1) == [("a", 0, "Hello World", False), ("a", 1, None, True), ("b", 0, "other", False)]
    assert store.resolve_comparison_id("first") == 1
    assert store.resolve_comparison_id("7") == 7
    assert store.resolve_comparison_id(None) is None


def test_the_reader_maps_rows_as_the_store_does(store):
    reader = store.reader()
    try:
        base, cand = reader.case_outputs(1, 2, "a")
        assert [o.sample for o in base] == [0, 1] and len(cand) == 1
        assert base == [o for o in store.outputs(1) if o.case_id == "a"]  # the one row → Output mapping
        assert cand[0].tool_calls == (ToolCall("f", '{"x": 1}', "id1"),) and cand[0].stop_details == {"k": "v"}
        assert base[0].usage == {"t": 1}
        assert sorted(reader.provenance(1), key=str) == sorted([("m-1", "fp1", 1), ("m-1", None, 1)], key=str)
        assert reader.search_outputs((1, 2), "WORLD") == {"a"}
        assert reader.search_outputs((1, 2), "absent") == set()
        token = reader.label_token(1)
        assert token == store.label_token(1) == 0
        store.set_label(1, "a", "Ada <a@x>", "regression", severity=2)
        assert reader.label_token(1) == store.label_token(1) > token
    finally:
        reader.close()


def test_labels_carry_the_verdict_enum(store):
    lab = store.set_label(1, "a", "Ada <a@x>", "noise", severity=3)
    assert lab.verdict is Verdict.NOISE and lab.severity is None
    [read] = store.labels(1)
    assert isinstance(read, Label) and read.verdict is Verdict.NOISE and read.verdict == "noise"
    store.set_label(1, "b", "Ada <a@x>", Verdict.REGRESSION, severity=1)
    assert [(x.case_id, x.verdict, x.severity) for x in store.labels(1)] == [("a", "noise", None), ("b", "regression", 1)]
    with pytest.raises(ValueError, match="regression, improvement, acceptable, noise"):
        store.set_label(1, "a", "Ada <a@x>", "meh")
