"""recorded: files are indexed, not held: each call reads its own line back from the file. The
answers are the same as when the whole file was held (BOM, CRLF and blank lines included), tool
calls come back, and a file rewritten between the check and the call is an error of that case,
never another case's answer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from reviewer.providers import make_provider, parse_spec
from reviewer.providers.recorded import load_records
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite


def suite(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "suite.jsonl"
    path.write_text('{"suite": "rec"}\n' + "".join(json.dumps({"id": c, "prompt": f"about {c}"}) + "\n" for c in ids))
    return path


def answers(tmp_path: Path, base: Path, cand: Path, ids: list[str]) -> tuple[Store, dict[str, dict[tuple[str, int], object]]]:
    store = Store(tmp_path / "r.db")
    replay = Replay(store, load_suite(suite(tmp_path, ids)), parse_spec(f"recorded:{base}"), parse_spec(f"recorded:{cand}"),
                    ReplayConfig(samples=2))  # fmt: skip
    asyncio.run(replay.run())
    out = {}
    for run in store.runs():
        out[run.side] = {(o.case_id, o.sample): o for o in store.outputs(run.id)}
    return store, out


def test_lines_are_read_back_with_bom_crlf_blank_lines_and_unicode_separators(tmp_path):
    base = tmp_path / "base.jsonl"
    lines = [
        json.dumps(
            {"case_id": "a", "output": "first a\u2028still a", "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
            ensure_ascii=False,
        ),
        "",
        json.dumps({"case_id": "b", "output": "b zero", "sample": 0}),
        json.dumps({"case_id": "a", "output": "second a"}),
        json.dumps({"case_id": "b", "tool_calls": [{"name": "look", "arguments": {"q": "b"}}], "output": None}),
    ]
    base.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    cand = tmp_path / "cand.jsonl"
    cand.write_text("".join(json.dumps({"case_id": c, "output": f"cand {c}{s}"}) + "\n" for c in "ab" for s in (0, 1)))
    store, out = answers(tmp_path, base, cand, ["a", "b"])
    b = out["baseline"]
    assert b[("a", 0)].text == "first a\u2028still a" and b[("a", 0)].output_tokens == 4
    assert b[("a", 1)].text == "second a"
    assert b[("b", 0)].text == "b zero"
    assert [c.name for c in b[("b", 1)].tool_calls] == ["look"] and b[("b", 1)].error is None
    assert out["candidate"][("b", 1)].text == "cand b1"
    store.close()


def test_the_index_holds_positions_not_texts(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"case_id": f"c{i}", "output": "x" * 5000}) + "\n" for i in range(50)))
    index = load_records(path)
    assert len(index) == 50
    assert all(isinstance(v, tuple) and all(isinstance(x, (int, bool)) for x in v) for v in index.values())
    p = make_provider(parse_spec(f"recorded:{path}"))
    start, size = index[("c7", 0)][:2]
    assert json.loads(path.read_bytes()[start : start + size])["case_id"] == "c7"
    assert p.records == index


def test_a_file_rewritten_after_the_check_is_an_error_of_the_case_not_another_answer(tmp_path):
    base, cand = tmp_path / "base.jsonl", tmp_path / "cand.jsonl"
    for path in (base, cand):
        path.write_text("".join(json.dumps({"case_id": c, "output": f"answer {c}"}) + "\n" for c in ("a", "b")))
    store = Store(tmp_path / "r.db")
    replay = Replay(store, load_suite(suite(tmp_path, ["a", "b"])), parse_spec(f"recorded:{base}"), parse_spec(f"recorded:{cand}"),
                    ReplayConfig())  # fmt: skip
    base.write_text("".join(json.dumps({"case_id": c, "output": f"new {c}"}) + "\n" for c in ("b", "a")))  # same lengths, swapped
    result = asyncio.run(replay.run())
    failed = {(f.side, f.case_id) for f in result.failures}
    assert failed == {("baseline", "a"), ("baseline", "b")}
    assert all("changed during the run" in f.message for f in result.failures)
    store.close()
