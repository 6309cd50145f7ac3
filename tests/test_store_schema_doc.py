"""docs/schema.md is what the schema is (as simonw/llm checks its logs database's docs with cog),
and the labels' CHECK is the Verdict enum."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reviewer.store import VERDICTS, Store, Verdict, schema_markdown
from reviewer.store.schema import V1_VERDICTS, column_docs

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_schema_doc_is_the_generated_one():
    committed = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert committed == schema_markdown(), "docs/schema.md is stale: run `.venv/bin/python -m reviewer.store > docs/schema.md`"


def test_every_column_of_a_fresh_store_is_documented(tmp_path):
    docs = column_docs()
    text = schema_markdown()
    with Store(tmp_path / "s.db") as store:
        tables = [r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"suites", "runs", "outputs", "comparisons", "labels", "label_events", "signoffs", "judgments"} <= set(tables)
        for table in tables:
            assert f"## `{table}`" in text
            for row in store.db.execute(f"PRAGMA table_info({table})"):
                assert (table, row[1]) in docs, f"{table}.{row[1]}: no definition read from the migrations"
                line = next(ln for ln in text.splitlines() if ln.startswith(f"| `{row[1]}` |") and ln)
                assert not line.endswith("|  |"), f"{table}.{row[1]}: says nothing about what it holds"


def test_the_labels_check_is_the_enum(tmp_path):
    assert tuple(Verdict) == VERDICTS == V1_VERDICTS  # a new verdict needs a migration rebuilding labels
    with Store(tmp_path / "s.db") as store:
        sql = store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'labels'").fetchone()[0]
        assert "CHECK (verdict IN ('regression','improvement','acceptable','noise'))" in sql  # v1's text, byte for byte
        store.db.execute("PRAGMA foreign_keys = OFF")
        for v in Verdict:
            store.db.execute(
                "INSERT INTO labels (comparison_id, case_id, reviewer, verdict, created_at, updated_at) VALUES (1, ?, 'r', ?, 't', 't')",
                (f"c-{v}", v.value),
            )
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute(
                "INSERT INTO labels (comparison_id, case_id, reviewer, verdict, created_at, updated_at) VALUES (1, 'x', 'r', 'bad', 't', 't')"
            )
