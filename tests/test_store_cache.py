"""The answer cache never serves what a malformed 200 used to be stored as."""

from __future__ import annotations

from reviewer.store import Output, Store
from reviewer.suite import load_suite
from reviewer.toolcall import ToolCall


def test_a_legacy_empty_answer_is_not_reused_but_a_real_one_is(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("suite: s\ncases:\n  - id: a\n    prompt: hi\n", encoding="utf-8")
    with Store(tmp_path / "r.db") as store:
        sid = store.upsert_suite(load_suite(p))
        rid = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=4)
        store.save_outputs(rid, [
            Output("a", 0, text="", cache_key="legacy"),                       # a 200 without choices, stored as success
            Output("a", 1, text="", finish_reason="stop", cache_key="empty-but-finished"),
            Output("a", 2, text="", tool_calls=(ToolCall("f", "{}"),), cache_key="tool-call-only"),
            Output("a", 3, text="hello", cache_key="answer"),
        ])  # fmt: skip
        found = store.cached_outputs(["legacy", "empty-but-finished", "tool-call-only", "answer"])
    assert set(found) == {"empty-but-finished", "tool-call-only", "answer"}
    assert found["tool-call-only"].tool_calls == (ToolCall("f", "{}"),)
