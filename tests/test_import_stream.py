"""A big production log is imported without holding its answers: matched on a light copy of each
line, then read again line by line as the run is stored, in one transaction."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from reviewer.importers import ImportProblems
from reviewer.importers.jsonl import STREAM_CHUNK, read_log_run
from reviewer.importers.logs import read_log
from reviewer.importers.storing import store_import
from reviewer.store import Store
from reviewer.suite import load_suite

N = STREAM_CHUNK + 300  # more than one chunk


def write(tmp_path: Path) -> tuple[Path, Path]:
    suite = tmp_path / "s.jsonl"
    lines = [json.dumps({"suite": "big", "defaults": {"system": "Be brief."}})]
    lines += [json.dumps({"id": f"c{i}", "prompt": f"question {i}"}) for i in range(N)]
    suite.write_text("\n".join(lines) + "\n")
    log = tmp_path / "log.jsonl"
    with log.open("w") as f:
        for i in range(N):
            msg = {"role": "assistant", "content": f"answer {i} — ünïcode \u200b {'x' * (i % 50)}"}
            if i % 7 == 0:
                msg = {"role": "assistant", "content": None, "refusal": f"I can't help with {i}."}
            line = {
                "request": {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."},
                                                          {"role": "user", "content": f"question {i}"}]},
                "response": {"model": "gpt-4o-2024-08-06", "system_fingerprint": f"fp_{i % 3}",
                             "choices": [{"index": 0, "message": msg, "finish_reason": "length" if i % 5 == 0 else "stop"}],
                             "usage": {"prompt_tokens": 10 + i, "completion_tokens": i % 40}},
                "latency_ms": i,
            }  # fmt: skip
            if i % 2:  # every other case answered twice: two samples
                f.write(json.dumps(line) + "\n")
            f.write(json.dumps(line) + "\n")
            if i % 100 == 0:
                f.write("\n")  # blank lines are skipped
    return suite, log


def test_every_stored_output_is_the_whole_answer_of_its_line(tmp_path):
    suite, log = write(tmp_path)
    loaded = load_suite(suite)
    imp = read_log_run(log, name="prod", suite=loaded)
    assert imp.run.stream is not None and all(o.text in ("", None) for o in imp.run.outputs)  # nothing held
    with Store(tmp_path / "r.db") as store:
        run_id = store_import(store, loaded, [imp.run]).run_ids[0]
        stored = {(o.case_id, o.sample): o for o in store.outputs(run_id)}
    full = read_log(log)  # the reference: every line parsed whole
    expected = {}
    seen: dict[str, int] = {}
    for e in full:
        case = e.messages[1]["content"].replace("question ", "c")
        seen[case] = seen.get(case, -1) + 1
        expected[(case, seen[case])] = e
    assert len(stored) == len(expected) == N + N // 2
    for key, e in expected.items():
        o = stored[key]
        assert (o.text, o.refusal, o.finish_reason, o.system_fingerprint) == (e.output, e.refusal, e.finish_reason,
                                                                              e.system_fingerprint), key  # fmt: skip
        assert (o.input_tokens, o.output_tokens, o.latency_ms, o.usage) == (e.input_tokens, e.output_tokens, e.latency_ms,
                                                                            e.usage), key  # fmt: skip


def test_a_log_changed_while_it_is_stored_stores_nothing(tmp_path):
    suite, log = write(tmp_path)
    loaded = load_suite(suite)
    imp = read_log_run(log, name="prod", suite=loaded)
    lines = log.read_text().splitlines(keepends=True)
    lines[-5] = "{not json\n"  # appended to while the import ran: a line it matched no longer reads
    log.write_text("".join(lines))
    db = tmp_path / "r.db"
    with Store(db) as store:
        with pytest.raises(ImportProblems) as err:
            store_import(store, loaded, [imp.run])
        assert "changed while it was imported" in str(err.value.problems[0])
        assert store.runs() == []
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM outputs").fetchone() == (0,)
    con.close()
