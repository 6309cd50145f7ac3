"""Sharing labels as JSONL between machines: export, import into another store, idempotency,
newer wins, all-or-nothing on malformed lines, unknown cases and comparisons reported with file:line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_export import ADA, BOB, make_comparison

from reviewer.errors import ReviewerError
from reviewer.export.labels_io import export_labels, import_labels
from reviewer.store import Store


@pytest.fixture
def two_machines(tmp_path, monkeypatch):
    """The same comparison (same suite, models, name and outputs) on two machines; labels only on the first."""
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, ca = make_comparison(tmp_path / "a", labels=True)
    b, cb = make_comparison(tmp_path / "b", labels=False)
    yield tmp_path, a, ca, b, cb
    a.close()
    b.close()


def labels_of(store: Store, cid: int) -> list[tuple]:
    return [(lab.case_id, lab.reviewer, lab.verdict, lab.severity, lab.note, lab.updated_at) for lab in store.labels(cid)]


def events(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM label_events").fetchone()[0]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_round_trip_to_another_machine(two_machines):
    tmp, a, ca, b, cb = two_machines
    f = write(tmp / "ada.jsonl", export_labels(a, ca))
    first = json.loads(f.read_text().splitlines()[0])
    assert first["format"] == "reviewer-labels/1" and first["comparison"]["name"] == "march-refresh"
    assert set(first["comparison"]) == {"suite", "suite_digest", "baseline", "candidate", "name", "outputs"}
    report = import_labels(b, f)
    assert (report.added, report.updated, report.unchanged, report.skipped) == (7, 0, 0, [])
    assert labels_of(b, cb) == labels_of(a, ca)
    assert b.db.execute("SELECT DISTINCT source FROM label_events").fetchall() == [("import",)]


def test_importing_twice_changes_nothing(two_machines):
    tmp, a, ca, b, cb = two_machines
    f = write(tmp / "ada.jsonl", export_labels(a, ca))
    import_labels(b, f)
    before, n = labels_of(b, cb), events(b)
    again = import_labels(b, f)
    assert (again.added, again.updated, again.unchanged, again.changed) == (0, 0, 7, 0)
    assert labels_of(b, cb) == before and events(b) == n


def test_newer_label_wins_and_older_is_kept_out(two_machines):
    tmp, a, ca, b, cb = two_machines
    import_labels(b, write(tmp / "v1.jsonl", export_labels(a, ca)))
    # Bob changes his mind on machine A later; on machine B, Ada relabels a case even later
    a.set_label(ca, "greeting", BOB, "noise", at="2025-03-15T10:00:00.000Z")
    a.set_label(ca, "short-answer", ADA, "acceptable", at="2025-03-15T10:00:00.000Z")
    b.set_label(cb, "short-answer", ADA, "regression", severity=2, note="actually too terse", at="2025-03-16T10:00:00.000Z")
    report = import_labels(b, write(tmp / "v2.jsonl", export_labels(a, ca)))
    assert (report.added, report.updated, report.kept_local) == (1, 0, 1)
    got = {(lab.case_id, lab.reviewer): lab for lab in b.labels(cb)}
    assert got[("greeting", BOB)].verdict == "noise"
    assert got[("short-answer", ADA)].verdict == "regression"  # the local label is newer: it stays
    # and the other direction: machine A takes B's newer label
    back = import_labels(a, write(tmp / "b.jsonl", export_labels(b, cb)))
    assert back.updated == 1
    assert {(lab.case_id, lab.reviewer): lab.verdict for lab in a.labels(ca)}[("short-answer", ADA)] == "regression"


def test_concatenated_files_merge_two_reviewers(two_machines):
    tmp, a, ca, b, _cb = two_machines
    lines = export_labels(a, ca)
    ada = [ln for ln in lines if json.loads(ln)["reviewer"] == ADA]
    bob = [ln for ln in lines if json.loads(ln)["reviewer"] == BOB]
    f = write(tmp / "all.jsonl", [*ada, "", *bob])  # `cat ada.jsonl bob.jsonl`, blank lines allowed
    assert import_labels(b, f).added == len(lines)


def test_a_malformed_line_imports_nothing_and_names_every_problem(two_machines):
    tmp, a, ca, b, cb = two_machines
    lines = export_labels(a, ca)
    bad = json.loads(lines[1])
    bad["verdict"] = "meh"
    worse = json.loads(lines[2])
    worse["time"] = "2025-03-13T11:00:00"  # no time zone
    f = write(tmp / "bad.jsonl", [lines[0], json.dumps(bad), json.dumps(worse), "{not json", lines[3]])
    with pytest.raises(ReviewerError) as e:
        import_labels(b, f)
    msg = str(e.value).splitlines()
    assert msg[0] == f"{f}:2: verdict: expected one of regression, improvement, acceptable, noise, got 'meh'"
    assert msg[1].startswith(f"{f}:3: time: '2025-03-13T11:00:00' has no time zone")
    assert msg[2].startswith(f"{f}:4: invalid JSON: ")
    assert msg[3] == f"{f}: nothing imported (fix the lines above)"
    assert b.labels(cb) == [] and events(b) == 0


def test_unknown_case_and_comparison_are_reported_with_their_line(two_machines):
    tmp, a, ca, b, cb = two_machines
    lines = export_labels(a, ca)
    ghost_case = json.loads(lines[0])
    ghost_case["case"] = "deleted-case"
    ghost_comp = json.loads(lines[1])
    ghost_comp["comparison"]["name"] = "another-run"
    f = write(tmp / "mixed.jsonl", [json.dumps(ghost_case), json.dumps(ghost_comp), *lines[2:]])
    report = import_labels(b, f)
    assert report.skipped == [
        f"{f}:1: case 'deleted-case' is not in comparison #{cb}",
        f"{f}:2: no local comparison matches (suite support-bot (sha256 "
        + ghost_comp["comparison"]["suite_digest"][:12]
        + "…), openai:gpt-4o → openai:gpt-4o, named 'another-run')",
    ]
    assert report.added == len(lines) - 2


def test_two_matching_comparisons_are_told_apart_by_outputs_or_into(two_machines):
    tmp, a, ca, b, cb = two_machines
    # a second run of the same suite and models with the same name, but other outputs
    comp = b.comparison(cb)
    base = b.create_run(suite_id=comp.suite_id, provider="openai", model="gpt-4o", base_url=None, params={}, samples=2)
    cand = b.create_run(suite_id=comp.suite_id, provider="openai", model="gpt-4o", base_url=None, params={}, samples=2)
    from reviewer.store import Output

    b.save_outputs(base, [Output("greeting", 0, text="Hi")])
    b.save_outputs(cand, [Output("greeting", 0, text="Hey")])
    other = b.create_comparison(suite_id=comp.suite_id, baseline_run_id=base, candidate_run_id=cand, name="march-refresh")
    f = write(tmp / "ada.jsonl", export_labels(a, ca))
    report = import_labels(b, f)
    assert report.comparisons == {cb} and report.added == 7  # the outputs digest picked the right one
    stripped = []
    for ln in f.read_text().splitlines():
        obj = json.loads(ln)
        del obj["comparison"]["outputs"]
        stripped.append(json.dumps(obj))
    g = write(tmp / "no-outputs.jsonl", stripped)
    report = import_labels(b, g)
    assert len(report.skipped) == 7
    assert report.skipped[0].endswith(f"2 local comparisons match (#{cb}, #{other}): choose one with --into ID")
    assert import_labels(b, g, into=cb).unchanged == 7


def test_cli_export_and_import(two_machines, capsys):
    from reviewer.cli import main

    tmp, _a, _ca, b, cb = two_machines
    out = tmp / "labels.jsonl"
    assert main(["labels", "export", "--db", str(tmp / "a" / "reviewer.db"), "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 7
    db_b = str(tmp / "b" / "reviewer.db")
    assert main(["labels", "import", str(out), "--db", db_b, "--dry-run"]) == 0
    assert "(dry run) labels: 7 added" in capsys.readouterr().out
    assert b.labels(cb) == []
    assert main(["labels", "import", str(out), "--db", db_b]) == 0
    assert capsys.readouterr().out.strip() == f"labels: 7 added, 0 updated, 0 unchanged — into comparison #{cb}"
    lines = out.read_text().splitlines()
    obj = json.loads(lines[0])
    obj["case"] = "gone"
    write(out, [json.dumps(obj), *lines[1:]])
    assert main(["labels", "import", str(out), "--db", db_b]) == 1  # something was not imported
    err = capsys.readouterr().err
    assert f"reviewer labels: {out}:1: case 'gone' is not in comparison #{cb}" in err
    write(out, ["[]"])
    assert main(["labels", "import", str(out), "--db", db_b]) == 2
    assert f"reviewer labels: {out}:1: each line is a JSON object (one label)" in capsys.readouterr().err
    assert main(["labels", "import", str(tmp / "missing.jsonl"), "--db", db_b]) == 2


def test_severity_only_for_regressions_and_time_normalised(two_machines):
    tmp, a, ca, b, cb = two_machines
    line = json.loads(export_labels(a, ca)[0])
    line.update(case="greeting", verdict="acceptable", severity=3, time="2025-03-13T12:00:00+01:00")
    import_labels(b, write(tmp / "one.jsonl", [json.dumps(line)]))
    lab = b.labels(cb)[0]
    assert (lab.verdict, lab.severity, lab.updated_at) == ("acceptable", None, "2025-03-13T11:00:00.000Z")


def test_import_is_one_transaction(two_machines):
    tmp, a, ca, b, cb = two_machines
    f = write(tmp / "ada.jsonl", export_labels(a, ca))
    # the database refuses one label in the middle of the import (a trigger stands in for a disk
    # error or a crash): the labels written before it must be rolled back too
    b.db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON labels WHEN NEW.case_id = 'shipping-time' "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        import_labels(b, f)
    assert b.labels(cb) == [] and events(b) == 0


def test_verdicts_travel_as_plain_strings_and_come_back_as_the_enum(two_machines, tmp_path):
    from reviewer.export.labels_io import parse_label_lines
    from reviewer.store import Verdict

    _, a, ca, _, _ = two_machines
    lines = export_labels(a, ca)
    assert lines and all(json.loads(ln)["verdict"] in {v.value for v in Verdict} for ln in lines)
    assert all('"verdict": "' in ln for ln in lines)  # a JSON string, never an enum's repr
    parsed = parse_label_lines(write(tmp_path / "v.jsonl", lines))
    assert {type(p.verdict) for p in parsed} == {Verdict}
