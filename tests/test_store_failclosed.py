"""A damaged, locked, read-only or full store never shows a traceback: one line naming the file,
exit 2 (issue 10). Real store files made by `reviewer run`, damaged with random bytes; a
real second process holding the write lock; a real read-only bind mount, immutable file and full
tmpfs where this machine allows them (root), else those variants are skipped. The commands run
main() in the test's process (tests/cli_inprocess.py: same exit code and stderr, and it fails on a
store left open); a real `reviewer` process where it is the point (an exit 2, a lock waited on).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main

from reviewer.store import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
N_CASES = 40


def cli(*args: str, env: dict, process: bool = False, **kw) -> subprocess.CompletedProcess:
    """``reviewer ARGS``: in a real process with ``process=True``, else main() in this one."""
    if not process:
        return run_main(args, cwd=ROOT, env=env, **kw)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, **kw
    )


def one_line_exit_2(res: subprocess.CompletedProcess, *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines, "no message"
    last = lines[-1]
    for needle in needles:
        assert needle in last, (needle, res.stderr)
    return last


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="200")
    e.pop("REVIEWER_DB", None)
    return e


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A store made by a real `reviewer run` (recorded outputs, 40 cases with checks), WAL folded in."""
    d = tmp_path_factory.mktemp("made")
    cases = "".join(f'  - id: c{i:03d}\n    prompt: "Question {i}?"\n    checks: [{{max_words: 30}}]\n' for i in range(N_CASES))
    (d / "suite.yaml").write_text(f"suite: failclosed\ncases:\n{cases}")
    for name, word, n in (("base.jsonl", "old", 20), ("cand.jsonl", "new", 20)):
        (d / name).write_text("".join(
            json.dumps({"case_id": f"c{i:03d}", "sample": 0, "output": f"{word} answer {i} " * n, "model": "m"}) + "\n"
            for i in range(N_CASES)
        ))  # fmt: skip
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    e.update(REVIEWER_DATA_DIR=str(d / "data"), REVIEWER_CONFIG_DIR=str(d / "config"))
    res = cli("run", str(d / "suite.yaml"), "--baseline", f"recorded:{d / 'base.jsonl'}", "--candidate",
              f"recorded:{d / 'cand.jsonl'}", "--db", str(d / "s.db"), "--name", "made", env=e)  # fmt: skip
    assert res.returncode == 0, res.stderr
    con = sqlite3.connect(d / "s.db")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return d / "s.db"


def copy_of(made: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    db = where / "s.db"
    shutil.copyfile(made, db)
    return db


def overwrite_pages(db: Path, pages: list[int], seed: int = 10) -> None:
    rng = random.Random(seed)
    with open(db, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * 4096)
            f.write(rng.randbytes(4096))


def leaf_pages(db: Path, table: str) -> list[int]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA page_size").fetchone()[0] == 4096
        return [
            r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,))
        ]
    finally:
        con.close()


def labels_in(db: Path) -> int:
    con = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def labels_file(made, tmp_path, env) -> Path:
    """Labels for three cases, written by a real `reviewer labels export` from another copy."""
    from reviewer.store import Store

    other = copy_of(made, tmp_path / "other")
    with Store(other) as store:
        for case in ("c001", "c002", "c003"):
            store.set_label(1, case, "Ada <ada@example.com>", "regression", severity=2, note="worse")
    out = tmp_path / "ada.jsonl"
    res = cli("labels", "export", "-o", str(out), "--db", str(other), env=env)
    assert res.returncode == 0, res.stderr
    return out


# ---------------------------------------------------------------------------------------------
# Damaged files
# ---------------------------------------------------------------------------------------------


def test_garbage_in_the_middle_is_one_line_and_exit_2_in_every_command(made, tmp_path, env, labels_file):
    db = copy_of(made, tmp_path / "mid")
    n = db.stat().st_size // 4096
    overwrite_pages(db, list(range(n // 2 - 3, n // 2 + 3)))
    for argv in (["export", "--allow-unreviewed"], ["export", "--format", "json", "--allow-unreviewed"], ["gate"],
                 ["gate", "--json"], ["comparisons"], ["comparisons", "--json"], ["runs"], ["runs", "export", "1"],
                 ["labels", "export"], ["labels", "import", str(labels_file)]):  # fmt: skip
        res = cli(*argv, "--db", str(db), env=env, process=argv == ["gate"])  # a real process's exit code too
        one_line_exit_2(res, f"the store {db} is damaged", "PRAGMA integrity_check")  # gate: 2, never 1
    res = cli("doctor", "--db", str(db), env=env)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "damaged" in res.stdout


def test_damaged_outputs_a_listing_still_reads_is_listed_as_damaged_not_complete(made, tmp_path, env):
    db = copy_of(made, tmp_path / "leaf")
    pages = leaf_pages(db, "outputs")
    overwrite_pages(db, pages[len(pages) // 2 : len(pages) // 2 + 2])
    res = cli("comparisons", "--db", str(db), env=env)
    one_line_exit_2(res, f"the store {db} is damaged", "damaged: comparison #1")
    [row] = res.stdout.splitlines()[1:]
    assert row.split()[-1] == "damaged" and "complete" not in row
    doc = json.loads(cli("comparisons", "--json", "--db", str(db), env=env).stdout)
    assert doc[0]["status"] == "damaged"
    for argv in (["gate"], ["export", "--allow-unreviewed"]):  # quick_check before trusting the comparison
        one_line_exit_2(cli(*argv, "--db", str(db), env=env), "is damaged")


def test_the_check_made_in_a_thread_while_reading_is_the_check_made_first(made, tmp_path):
    """The export and the gate read a comparison while quick_check runs on a connection of its
    own (Store.start_check): the same verdict, and a read that meets the damage first still ends
    in StoreDamaged, not in the SQLite error it met."""
    from reviewer.store import Store
    from reviewer.store.errors import StoreDamaged

    healthy = copy_of(made, tmp_path / "ok")
    with Store(healthy) as store:
        data = store.load_comparison_outline(1)
        assert len(data.suite.suite.cases) == N_CASES and store.quick_check() is None
        counts = store.sample_counts(data.baseline.id, data.baseline.samples)
        assert len(counts) == N_CASES
        reader = store.reader()  # what the gate counts in a thread of its own: the same
        assert reader.run_tallies(data.baseline.id, data.baseline.samples)[0] == counts
        reader.close()
    db = copy_of(made, tmp_path / "leaf")
    pages = leaf_pages(db, "outputs")
    overwrite_pages(db, pages[len(pages) // 2 : len(pages) // 2 + 2])
    with Store(db) as first:
        expected = first.quick_check()  # on the store's own connection, before any read
    assert expected is not None
    with Store(db) as store:
        run = store.run(store.comparison(1).baseline_run_id)  # read no output
        with pytest.raises(StoreDamaged, match="is damaged"):
            store.sample_counts(run.id, run.samples)  # counts every output of the run: meets the damage
        assert store.quick_check() == expected
    with Store(db) as store, pytest.raises(StoreDamaged, match="is damaged"):
        store.load_comparison_outline(1)  # reads no output, and waits for the check all the same
    with Store(db) as store:
        store.start_check()
        assert store.quick_check() == expected
        with pytest.raises(StoreDamaged):
            store.load_comparison(1)


def test_reads_in_one_checked_block_wait_for_the_check_once_at_its_end(made, tmp_path):
    """Store.healthy_reads: the reads inside return without waiting for the check (it runs beside
    them and what is made of them); a damaged store raises StoreDamaged when the block ends, or
    when something inside fails, and a cache written inside waits for the check: nothing read
    from a damaged store is written back."""
    from reviewer.analysis import summaries
    from reviewer.store import Store
    from reviewer.store.errors import StoreDamaged

    with Store(copy_of(made, tmp_path / "ok")) as store, store.healthy_reads():
        assert len(summaries(store, 1)) == N_CASES
    db = copy_of(made, tmp_path / "leaf")
    pages = leaf_pages(db, "outputs")
    overwrite_pages(db, pages[len(pages) // 2 : len(pages) // 2 + 2])
    with Store(db) as store:
        key = store.assessment_key(1)
        with pytest.raises(StoreDamaged, match="is damaged"), store.healthy_reads():
            data = store.load_comparison_outline(1)  # reads no output: returns before the check ends
            got = len(data.suite.suite.cases)
        assert got == N_CASES
        with pytest.raises(StoreDamaged, match="is damaged"), store.healthy_reads():
            raise ValueError("what a garbled row would raise")  # the damage is the error shown
    with Store(db) as store:
        with pytest.raises(StoreDamaged, match="is damaged"), store.healthy_reads():
            store.save_assessments(1, "another-key", [])
        assert store.assessment_key(1) == key  # the cache was not replaced


def test_doctor_reports_a_healthy_store(made, tmp_path, env):
    db = copy_of(made, tmp_path / "ok")
    res = cli("doctor", "--db", str(db), env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip().endswith("healthy")
    assert "integrity  ok" in res.stdout and f"{2 * N_CASES} outputs" in res.stdout
    doc = json.loads(cli("doctor", "--json", "--db", str(db), env=env).stdout)
    assert doc["ok"] is True and doc["exit_code"] == 0 and doc["schema_version"] == doc["schema_expected"] == SCHEMA_VERSION
    assert doc["counts"] == {
        "suites": 1,
        "runs": 2,
        "outputs": 2 * N_CASES,
        "comparisons": 1,
        "labels": 0,
        "signoffs": 0,
        "judgments": 0,
    }
    assert doc["journal_mode"] == "wal" and doc["writable"] is True
    assert db.stat().st_mtime == (tmp_path / "ok" / "s.db").stat().st_mtime  # read-only: changed nothing


def test_doctor_exit_codes_for_damaged_and_missing(made, tmp_path, env):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all\n" * 300)
    res = cli("doctor", "--db", str(junk), env=env)
    assert res.returncode == 1 and "not an SQLite file" in res.stdout
    res = cli("doctor", "--db", str(tmp_path / "missing.db"), env=env)
    one_line_exit_2(res, "no store at")
    assert not (tmp_path / "missing.db").exists()
    doc = json.loads(cli("doctor", "--json", "--db", str(tmp_path / "missing.db"), env=env).stdout)
    assert doc["exit_code"] == 2 and doc["ok"] is False


# ---------------------------------------------------------------------------------------------
# Locked by another process
# ---------------------------------------------------------------------------------------------

HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("INSERT INTO label_events (comparison_id, case_id, reviewer, at) VALUES (1, 'x', 'holder', 'now')")
print("locked", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
print("released", flush=True)
"""


@pytest.fixture
def holder():
    procs = []

    def start(db: Path) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "locked"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.stdin.close()
            p.wait(timeout=10)


def release(p: subprocess.Popen) -> None:
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "released"


def test_a_lock_held_past_the_limit_is_one_line_and_nothing_written(made, tmp_path, env, labels_file, holder):
    db = copy_of(made, tmp_path / "locked")
    h = holder(db)
    res = cli("labels", "import", str(labels_file), "--db", str(db), env={**env, "REVIEWER_LOCK_TIMEOUT": "0.6"})
    assert f"reviewer labels: waiting for the store {db}: locked by another process" in res.stderr
    one_line_exit_2(res, f"the store {db} is locked by another process", "nothing was changed")
    release(h)
    assert labels_in(db) == 0


def test_a_lock_released_while_waiting_lets_the_import_through(made, tmp_path, env, labels_file, holder):
    db = copy_of(made, tmp_path / "wait")
    h = holder(db)
    p = subprocess.Popen([sys.executable, "-m", "reviewer", "labels", "import", str(labels_file), "--db", str(db)],
                         cwd=ROOT, env={**env, "REVIEWER_LOCK_TIMEOUT": "60"}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert "waiting for the store" in p.stderr.readline()  # the visible message, before any timeout
        release(h)
        _out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert "Traceback" not in err
    assert labels_in(db) == 3


def test_reading_commands_do_not_wait_for_a_writer(made, tmp_path, env, holder):
    db = copy_of(made, tmp_path / "read")
    h = holder(db)
    e = {**env, "REVIEWER_LOCK_TIMEOUT": "30"}
    for argv in (["comparisons"], ["runs"], ["gate", "--json"], ["doctor"]):
        res = cli(*argv, "--db", str(db), env=e)
        assert res.returncode in (0, 1) and "waiting" not in res.stderr and "Traceback" not in res.stderr, (argv, res.stderr)
    release(h)


# ---------------------------------------------------------------------------------------------
# Read-only mount, immutable file, full disk
# ---------------------------------------------------------------------------------------------


def _run_root(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


@pytest.fixture
def ro_mount(tmp_path):
    """A directory mounted read-only over a copy (bind mount; needs root and mount rights)."""
    src, dst = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    dst.mkdir()
    if os.geteuid() != 0 or not _run_root("mount", "--bind", str(src), str(dst)):
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        if not _run_root("mount", "-o", "remount,bind,ro", str(dst)):
            pytest.skip("cannot remount read-only here")
        yield src, dst
    finally:
        _run_root("umount", str(dst))


def check_reads_work_and_writes_say_why(db: Path, env: dict, labels_file: Path, why: str) -> None:
    res = cli("comparisons", "--db", str(db), env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[1].split()[-1] == "complete"
    assert cli("runs", "--db", str(db), env=env).returncode == 0
    res = cli("gate", "--json", "--db", str(db), env=env)
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    assert json.loads(res.stdout)["comparison"]["name"] == "made"
    res = cli("export", "--allow-unreviewed", "--db", str(db), env=env)
    assert res.returncode == 0 and res.stdout.startswith("#"), res.stderr
    assert cli("labels", "export", "--db", str(db), env=env).returncode == 0
    res = cli("labels", "import", "--dry-run", str(labels_file), "--db", str(db), env=env)
    assert res.returncode == 0, res.stderr
    res = cli("labels", "import", str(labels_file), "--db", str(db), env=env)
    one_line_exit_2(res, f"cannot write the store {db}", why)
    res = cli("doctor", "--db", str(db), env=env)
    assert res.returncode == 0 and "writable   no: " in res.stdout and why in res.stdout, res.stdout


def test_a_read_only_mount_is_read_and_a_write_says_why(made, env, labels_file, ro_mount):
    src, dst = ro_mount
    shutil.copyfile(made, src / "s.db")
    check_reads_work_and_writes_say_why(dst / "s.db", env, labels_file, "read-only file system")
    assert labels_in(src / "s.db") == 0


def test_an_immutable_file_is_read_and_a_write_says_why(made, tmp_path, env, labels_file):
    db = copy_of(made, tmp_path / "imm")
    if not _run_root("chattr", "+i", str(db)):
        pytest.skip("chattr +i is not available here")
    try:
        check_reads_work_and_writes_say_why(db, env, labels_file, "immutable")
    finally:
        _run_root("chattr", "-i", str(db))
    assert labels_in(db) == 0


def test_a_full_disk_is_one_line_and_nothing_written(made, tmp_path, env, labels_file):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or not _run_root("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        db = copy_of(made, mnt)
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f:
            for chunk in (65536, 512):  # then the last few bytes too
                try:
                    while True:
                        f.write(b"\0" * chunk)
                except OSError:
                    pass
        res = cli("labels", "import", str(labels_file), "--db", str(db), env=env)
        one_line_exit_2(res, f"cannot write the store {db}", "disk is full", "nothing was changed")
        filler.unlink()
        assert labels_in(db) == 0
        assert cli("doctor", "--db", str(db), env=env).returncode == 0
    finally:
        _run_root("umount", str(mnt))


# ---------------------------------------------------------------------------------------------
# Listings: hosts where one model name is served twice, no terminal escapes, aligned columns
# ---------------------------------------------------------------------------------------------

OSC_TITLE = "\x1b]0;pwned\x07"
OSC_CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"


def listing_store(tmp_path: Path) -> Path:
    from reviewer.store import Store
    from reviewer.suite import load_suite

    suite = tmp_path / "s.yaml"
    suite.write_text('suite: "evil\\e]0;pwned\\a"\ncases:\n  - id: a\n    prompt: hi\n', encoding="utf-8")  # YAML escapes
    db = tmp_path / "list.db"
    with Store(db) as store:
        sid = store.upsert_suite(load_suite(suite))
        r1 = store.create_run(suite_id=sid, provider="openai", model="llama3", side="baseline", label=f"old{OSC_CLIPBOARD}",
                              base_url="http://user:hunter2@127.0.0.1:8001/v1?api-key=sk-secret", params={}, samples=1)  # fmt: skip
        r2 = store.create_run(suite_id=sid, provider="openai", model="llama3", side="candidate",
                              base_url="http://127.0.0.1:8002/v1", params={}, samples=1)  # fmt: skip
        r3 = store.create_run(
            suite_id=sid, provider="openai", model="gpt-4o", side="candidate", base_url=None, params={}, samples=1
        )
        store.create_comparison(
            suite_id=sid, baseline_run_id=r1, candidate_run_id=r2, name=f"two servers{OSC_CLIPBOARD}", status="complete"
        )
        store.create_comparison(suite_id=sid, baseline_run_id=r1, candidate_run_id=r3, name=OSC_TITLE, status="complete")
    return db


def test_listings_show_the_host_where_a_model_name_is_shared_never_credentials(tmp_path, env):
    db = listing_store(tmp_path)
    for argv in (["comparisons"], ["runs"]):
        out = cli(*argv, "--db", str(db), env=env).stdout
        assert "openai:llama3@127.0.0.1:8001" in out and "openai:llama3@127.0.0.1:8002" in out
        assert "openai:gpt-4o" in out and "gpt-4o@" not in out  # served from one place: no host
        for secret in ("user", "hunter2", "api-key", "sk-secret", "/v1"):
            assert secret not in out
    doc = json.loads(cli("comparisons", "--json", "--db", str(db), env=env).stdout)
    assert (doc[0]["baseline_host"], doc[0]["candidate_host"]) == ("127.0.0.1:8001", "127.0.0.1:8002")
    assert "hunter2" not in json.dumps(doc)


def test_listings_print_no_terminal_escapes_and_align_their_columns(tmp_path, env):
    db = listing_store(tmp_path)
    for argv, shown in (
        (["comparisons"], ["evil␛]0;pwned␇", "two servers␛]52;c;cHduZWQ=␇"]),
        (["runs"], ["old␛]52;c;cHduZWQ=␇"]),
    ):
        res = cli(*argv, "--db", str(db), env=env)
        assert res.returncode == 0, res.stderr
        assert "\x1b" not in res.stdout and "\x07" not in res.stdout
        for text in shown:
            assert text in res.stdout
        lines = res.stdout.splitlines()
        header = lines[0]
        status_at = header.index("status")
        assert all(
            len(line) > status_at and line[status_at - 2 : status_at] == "  " and line[status_at] != " " for line in lines[1:]
        )


def test_closing_a_store_stops_a_check_nobody_waits_for(made, tmp_path):
    """A command interrupted while it reads (Ctrl-C, a failed read) closes the store at once: the
    check running in its thread is stopped, not waited for, and the store closes."""
    from reviewer.store import Store

    db = copy_of(made, tmp_path / "big")
    con = sqlite3.connect(db)  # big enough that its check cannot end before close() is called
    con.execute("CREATE TABLE filler (x BLOB)")
    con.executemany("INSERT INTO filler VALUES (randomblob(4000))", [()] * 20_000)
    con.commit()
    con.close()
    store = Store(db)
    store.start_check()
    thread, rows, _ = store._checking
    store.close()
    assert not thread.is_alive()
    assert rows == [("interrupted",)]  # stopped, not run to its end
    with Store(db) as again:
        assert again.quick_check() is None  # and a check let run says the store is fine


@pytest.mark.skipif(sys.platform != "linux", reason="niceness per thread is Linux's")
def test_a_background_read_runs_below_the_commands_main_thread():
    """The store's check and the export's origins scan call lower_thread_priority: nice +10 for
    that thread only, so they take the core the main thread leaves idle."""
    import threading

    from reviewer.store import lower_thread_priority

    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen = []

    def background() -> None:
        lower_thread_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    t = threading.Thread(target=background)
    t.start()
    t.join()
    assert seen == [min(19, base + 10)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the main thread is as it was
