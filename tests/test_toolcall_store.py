"""Tool calls, stop details and reasoning survive the store, and a store of schema 1 is migrated."""

from __future__ import annotations

import sqlite3

from reviewer.store import SCHEMA_VERSION, Output, Store
from reviewer.suite import load_suite
from reviewer.toolcall import ToolCall, dump_tool_calls, load_tool_calls


def _suite(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("suite: s\ncases:\n  - id: a\n    prompt: hi\n", encoding="utf-8")
    return load_suite(p)


def test_tool_calls_round_trip_through_a_real_store(tmp_path):
    db = tmp_path / "r.db"
    calls = (ToolCall("get_weather", '{"city": "Paris", "days": "3"}', "call_1"), ToolCall("noop", "{not json", None))
    with Store(db) as store:
        sid = store.upsert_suite(_suite(tmp_path))
        rid = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=1)
        store.save_outputs(rid, [
            Output("a", 0, text="", finish_reason="tool_calls", tool_calls=calls,
                   stop_details={"type": "refusal", "category": "cyber"}, reasoning="think first"),
            Output("a", 1, text="plain answer"),
        ])  # fmt: skip
    with Store(db) as store:
        got = {o.sample: o for o in store.outputs(rid)}
    assert got[0].tool_calls == calls
    assert got[0].stop_details == {"type": "refusal", "category": "cyber"}
    assert got[0].reasoning == "think first"
    assert got[1].tool_calls == () and got[1].stop_details is None
    raw = sqlite3.connect(db).execute("SELECT tool_calls FROM outputs WHERE sample = 1").fetchone()
    assert raw == (None,)


def test_arguments_are_kept_as_written_and_parsed_on_demand():
    over_quoted = ToolCall("f", '{"count": "3"}')
    assert over_quoted.parsed() == ({"count": "3"}, None)
    value, why = ToolCall("f", '{"count": 3').parsed()
    assert value is None and why and "not valid JSON" in why
    assert ToolCall.from_value("f", {"ü": 1}).arguments == '{"ü":1}'
    assert load_tool_calls(dump_tool_calls([over_quoted])) == (over_quoted,)
    assert dump_tool_calls(()) is None and load_tool_calls(None) == ()


def test_a_schema_1_store_is_migrated_and_keeps_its_outputs(tmp_path):
    db = tmp_path / "old.db"
    with Store(db) as store:
        sid = store.upsert_suite(_suite(tmp_path))
        rid = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=1)
        store.save_outputs(rid, [Output("a", 0, text="kept")])
    conn = sqlite3.connect(db)  # undo migration 2 by hand: what a store written by the last release holds
    for col in ("tool_calls", "stop_details", "reasoning"):
        conn.execute(f"ALTER TABLE outputs DROP COLUMN {col}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        [o] = store.outputs(rid)
    assert o.text == "kept" and o.tool_calls == ()
