"""The schema: migrations, each the SQL text it runs, in order; the version lives in
``PRAGMA user_version`` and only moves forward. ``schema_markdown()`` documents the schema from a
fresh store and the column comments in this text (docs/schema.md is generated from it:
``python -m reviewer.store > docs/schema.md``; a test fails when they differ).

A migration never changes once released. The labels' CHECK lists :class:`Verdict`'s values: a
store keeps the list it was created with, so adding a verdict needs a migration that rebuilds
``labels`` (the test of this module fails when the enum and v1's list part).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from .records import Verdict

if TYPE_CHECKING:  # the migrations take sqlite-utils' Database; opening a migrated store never imports it
    import sqlite_utils

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLE_NOTES", "schema_markdown"]

#: The verdicts v1's CHECK admits, exactly as the first release wrote them.
V1_VERDICTS = ("regression", "improvement", "acceptable", "noise")


def _sql_list(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


V1_SQL = """        CREATE TABLE suites (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE,     -- sha256 of the suite's canonical content
            path TEXT,                       -- where it was loaded from (last seen)
            format TEXT,
            content TEXT NOT NULL,           -- the validated suite as JSON
            created_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            suite_id INTEGER NOT NULL REFERENCES suites(id),
            side TEXT,                       -- baseline / candidate / NULL for imported runs
            label TEXT,                      -- a name given to the run (import --as-run, config label)
            provider TEXT NOT NULL,
            model TEXT NOT NULL,             -- requested model (alias)
            base_url TEXT,
            params TEXT NOT NULL,            -- JSON: request parameters common to the run (CLI/config)
            samples INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL             -- running / complete / interrupted / failed
        );
        CREATE TABLE outputs (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            case_id TEXT NOT NULL,
            sample INTEGER NOT NULL,
            text TEXT,
            resolved_model TEXT,             -- the model the provider says answered
            system_fingerprint TEXT,
            finish_reason TEXT,
            refusal TEXT,                    -- structured refusal field (OpenAI message.refusal)
            usage TEXT,                      -- JSON as the provider sent it
            input_tokens INTEGER,
            output_tokens INTEGER,
            latency_ms REAL,
            error TEXT,                      -- provider message / transport error, NULL when answered
            error_status INTEGER,
            request_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            cache_key TEXT,
            cached_from INTEGER,             -- output id this answer was copied from (cache hit)
            created_at TEXT NOT NULL,
            UNIQUE (run_id, case_id, sample)
        );
        CREATE INDEX outputs_cache_key ON outputs(cache_key) WHERE error IS NULL;
        CREATE TABLE comparisons (
            id INTEGER PRIMARY KEY,
            name TEXT,
            suite_id INTEGER NOT NULL REFERENCES suites(id),
            baseline_run_id INTEGER NOT NULL REFERENCES runs(id),
            candidate_run_id INTEGER NOT NULL REFERENCES runs(id),
            resume_key TEXT,                 -- identifies "the same command" for resuming
            created_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL
        );
        CREATE INDEX comparisons_resume ON comparisons(resume_key);
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            case_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,          -- "Name <email>"
            verdict TEXT NOT NULL CHECK (verdict IN ({verdicts})),
            severity INTEGER CHECK (severity IS NULL OR severity BETWEEN 1 AND 3),
            note TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (comparison_id, case_id, reviewer)
        );
        CREATE TABLE label_events (          -- append-only history: audit and undo
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL,
            case_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            verdict TEXT,                    -- NULL: the label was removed
            severity INTEGER,
            note TEXT,
            at TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'app'   -- app / import / cli
        );
        CREATE TABLE assessments (           -- cache of the diff engine's verdicts per comparison
            comparison_id INTEGER PRIMARY KEY REFERENCES comparisons(id) ON DELETE CASCADE,
            key TEXT NOT NULL,               -- engine source + outputs identity; stale when it differs
            data TEXT NOT NULL,              -- JSON
            created_at TEXT NOT NULL
        );
        CREATE TABLE signoffs (
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            signer TEXT NOT NULL,
            note TEXT,
            created_at TEXT NOT NULL,
            body_digest TEXT                 -- sha256 of the changelog body it approved, when known
        );
"""

V2_SQL = """        ALTER TABLE outputs ADD COLUMN tool_calls TEXT;     -- JSON [{name, arguments (raw JSON text), id}]
        ALTER TABLE outputs ADD COLUMN stop_details TEXT;   -- JSON as the provider sent it
        ALTER TABLE outputs ADD COLUMN reasoning TEXT;      -- thinking / reasoning text, never part of the answer
"""

V3_SQL = """        CREATE TABLE IF NOT EXISTS judgments (
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            case_id TEXT NOT NULL,
            sample INTEGER NOT NULL,         -- the sample pair judged (baseline #i against candidate #i)
            judge TEXT NOT NULL,             -- the judge's SPEC as printed (no credentials)
            rubric_digest TEXT NOT NULL,
            position TEXT NOT NULL CHECK (position IN ('baseline_first','candidate_first')),
            better TEXT CHECK (better IS NULL OR better IN ('1','2','tie')),  -- NULL: unparsed or failed
            reason TEXT,
            parsed TEXT,                     -- how the answer was read: json, fenced, bare, marker, key, prose, none
            raw TEXT,                        -- the judge's answer as it came
            resolved_model TEXT,
            error TEXT,
            error_status INTEGER,
            request_id TEXT,
            input_tokens INTEGER,
            output_tokens INTEGER,
            latency_ms REAL,
            attempts INTEGER NOT NULL DEFAULT 1,
            cache_key TEXT,
            cached_from INTEGER,
            created_at TEXT NOT NULL,
            UNIQUE (comparison_id, case_id, sample, judge, rubric_digest, position)
        );
        CREATE INDEX IF NOT EXISTS judgments_cache_key ON judgments(cache_key) WHERE error IS NULL;
"""


def _v1(db: sqlite_utils.Database) -> None:
    """Suites, runs, outputs, comparisons, labels and their history, the assessments cache, sign-offs.
    The CHECK is generated from the enum; while the enum holds v1's verdicts it is v1's text, byte for byte."""
    db.executescript(V1_SQL.format(verdicts=_sql_list(tuple(v.value for v in Verdict))))


def _v2(db: sqlite_utils.Database) -> None:
    """What modern APIs answer besides text: tool calls, the provider's stop details (Anthropic
    ``stop_details``: a refusal's category and explanation), and reasoning kept apart from the
    answer (Anthropic thinking blocks, Responses API reasoning summaries)."""
    db.executescript(V2_SQL)


def _v3(db: sqlite_utils.Database) -> None:
    """A pairwise judge's answers (``reviewer judge``): one row per sample pair, order and judge.
    Suggestions kept apart from the labels, never written to them. IF NOT EXISTS: a store whose
    version was set back by hand (tests emulating an older release) still migrates."""
    db.executescript(V3_SQL)


V4_SQL = """        CREATE TABLE IF NOT EXISTS batches (      -- a provider batch of one side of a comparison
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,          -- openai / openai-responses / anthropic
            base_url TEXT,                   -- the endpoint, without credentials
            model TEXT NOT NULL,
            endpoint TEXT NOT NULL,          -- /v1/chat/completions, /v1/responses, /v1/messages
            comparison_id INTEGER NOT NULL,
            run_id INTEGER NOT NULL,
            side TEXT NOT NULL,              -- baseline / candidate
            batch_id TEXT,                   -- the provider's id, NULL while being submitted
            input_file_id TEXT,              -- OpenAI: the uploaded JSONL
            status TEXT NOT NULL,            -- submitting, then the provider's status (in_progress, ended ...)
            request_count INTEGER NOT NULL,
            succeeded INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            expired INTEGER NOT NULL DEFAULT 0,
            errors TEXT,                     -- the batch's own errors (JSON), e.g. a failed validation
            results TEXT,                    -- JSON: output_file_id / error_file_id / results_url
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            collected_at TEXT                -- every result stored (NULL: it may still answer)
        );
        CREATE INDEX IF NOT EXISTS batches_run ON batches(run_id, collected_at);
        CREATE TABLE IF NOT EXISTS batch_requests (
            batch INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
            custom_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            sample INTEGER NOT NULL,
            cache_key TEXT NOT NULL,
            PRIMARY KEY (batch, custom_id)
        ) WITHOUT ROWID;
"""


def _v4(db: sqlite_utils.Database) -> None:
    """Provider batches (``reviewer run --batch``): each batch of a side, its state, and the
    (case, sample, cache key) of each of its requests by ``custom_id``, recorded before it is sent."""
    db.executescript(V4_SQL)


V5_SQL = """        DROP TABLE IF EXISTS assessment_cases;
        DROP TABLE IF EXISTS assessments;
        CREATE TABLE assessments (           -- which assessment of a comparison its cached rows are
            comparison_id INTEGER PRIMARY KEY REFERENCES comparisons(id) ON DELETE CASCADE,
            key TEXT NOT NULL,               -- engine source + outputs identity; stale when it differs
            cases INTEGER NOT NULL,          -- rows in assessment_cases
            created_at TEXT NOT NULL
        );
        CREATE TABLE assessment_cases (      -- one row per case of a cached assessment, in triage order
            comparison_id INTEGER NOT NULL REFERENCES assessments(comparison_id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,           -- 1-based position in the triage order
            case_id TEXT NOT NULL,
            tier INTEGER NOT NULL,           -- 0 flagged, 1 changed, 2 within noise, 3 unchanged
            change REAL NOT NULL,            -- mean cross-version distance
            within REAL,                     -- mean within-version distance (the noise floor), NULL without one
            noise INTEGER NOT NULL,          -- 1: changed, but within the noise floor
            noise_known INTEGER NOT NULL,    -- 0: no side has 2 usable samples, so noise cannot be told
            noise_p REAL,                    -- permutation p of the baseline/candidate split, NULL when not needed
            flip TEXT NOT NULL,              -- negative / positive / none (the checks' verdict)
            flags TEXT NOT NULL,             -- the flags, space-separated (negative_flip format_drift ...)
            summary TEXT NOT NULL,           -- what the changelog counts, packed (reviewer.analysis.rows.encode_summary)
            PRIMARY KEY (comparison_id, rank)
        );
"""


def _v5(db: sqlite_utils.Database) -> None:
    """The assessment cache as one row per case: the triage read from plain columns, the
    changelog's figures apart, no case's full detail (recomputed from its outputs when shown).
    The v4 cache (one JSON blob per comparison) is dropped: it is a cache, computed again on use
    (and so is a v5 cache when a store's version was set back by hand: tests emulating an older release)."""
    db.executescript(V5_SQL)


V6_SQL = """        ALTER TABLE suites ADD COLUMN outline TEXT;  -- JSON: what exports read of each case, and (v8) where it lies in content (reviewer.store.outline.outline_json); NULL: read from content
"""


def _v6(db: sqlite_utils.Database) -> None:
    """Each suite's outline beside its content: the cases' ids, tags, checks, origins and dates
    added, what the exports and the gate read (100,000 cases: ~0.2 s to read instead of ~0.9 s
    parsing the whole content). Derived from the content when the suite is stored; a suite
    stored before has NULL until it is stored again, and is read from its content meanwhile. A
    store whose version was set back by hand already has the column."""
    if "outline" not in {c.name for c in db["suites"].columns}:
        db.executescript(V6_SQL)


V7_SQL = """        ALTER TABLE assessments ADD COLUMN triage BLOB;  -- every case's place packed in one value (reviewer.analysis.triage_columns); NULL: read from assessment_cases
"""


def _v7(db: sqlite_utils.Database) -> None:
    """The cached triage packed beside its rows: what the review app's list reads of every case
    (ids, tiers, changes, flags) in one value, ~0.7 s sooner at 100,000 cases than reading and
    matching 100,000 rows. Written with the rows, in the same transaction; a cache written
    before has NULL and is read from its rows until it is written again. A store whose version
    was set back by hand already has the column."""
    if "triage" not in {c.name for c in db["assessments"].columns}:
        db.executescript(V7_SQL)


def _v8(db: sqlite_utils.Database) -> None:
    """Each suite's outline also says where each case's JSON lies in the content (``starts``,
    ``ends``): the review app lists 100,000 cases from it without parsing the content (~0.3 s
    sooner to its first frame). Every suite's outline is made again from its content here, one
    suite at a time (~0.6 s per 100,000 cases, once), so that a store from before opens as fast;
    a content that cannot be outlined keeps what it had (its readers parse the content)."""
    from .outline import outline_json

    for (suite_id,) in db.execute("SELECT id FROM suites ORDER BY id").fetchall():
        (content,) = db.execute("SELECT content FROM suites WHERE id = ?", (suite_id,)).fetchone()
        try:
            outline = outline_json(content)
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        db.execute("UPDATE suites SET outline = ? WHERE id = ?", (outline, suite_id))


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8]
SCHEMA_VERSION = len(MIGRATIONS)

#: What each table is for (the columns are described by their comments in the migrations above).
TABLE_NOTES = {
    "suites": "Every version of a suite ever run or imported, deduplicated by content digest.",
    "runs": "One side of a replay (or an imported log): which model was asked, how, and how far it got.",
    "outputs": "One answer (or failed call) per run, case and sample; the JSON columns are decoded into `Output`.",
    "comparisons": "A baseline run and a candidate run of one suite, reviewed together.",
    "labels": "Each reviewer's current verdict on a case of a comparison (one `Verdict`; severity for regressions).",
    "label_events": "Append-only history of label changes: audit and undo.",
    "assessments": "Cache of the diff engine's verdicts per comparison: its key; stale when the key differs.",
    "assessment_cases": "The cached verdict of each case (`reviewer.analysis`), in triage order.",
    "signoffs": "Who approved a comparison's changelog, and which body they approved.",
    "judgments": "A pairwise judge's answers (`reviewer judge`): suggestions, never labels.",
    "batches": "A provider batch of one side (`reviewer run --batch`), recorded before it is sent.",
    "batch_requests": "Each request of a batch by its custom_id: case, sample and cache key.",
}

#: What a column holds where its migration wrote no comment: by name, then (table, name).
COLUMN_NOTES: dict[str | tuple[str, str], str] = {
    "id": "row id",
    "created_at": "when the row was written (UTC, ISO 8601 with milliseconds and Z)",
    "updated_at": "when the row last changed (UTC, ISO 8601)",
    "suite_id": "the suite version (`suites.id`)",
    "comparison_id": "the comparison (`comparisons.id`)",
    "run_id": "the run (`runs.id`)",
    "case_id": "the case's id in its suite",
    "sample": "which sample of the case (0-based)",
    "note": "free text written by a person",
    "reviewer": '"Name <email>" of who labelled',
    "severity": "1-3 for a regression, else NULL",
    "input_tokens": "prompt tokens as the provider counted them",
    "output_tokens": "answer tokens as the provider counted them",
    "latency_ms": "wall time of the call that answered (milliseconds)",
    "error_status": "HTTP status of a failed call",
    "request_id": "the provider's request id (for support tickets)",
    "attempts": "calls made (retries included)",
    "cache_key": "hash of everything that determines the answer (no credentials)",
    "cached_from": "id of the row this answer was copied from (cache hit)",
    "resolved_model": "the model the provider says answered",
    "error": "why the call failed, NULL when answered",
    ("suites", "name"): "the suite's `suite:` name",
    ("suites", "format"): "the file format it was read from (yaml, jsonl, promptfoo…)",
    ("runs", "provider"): "provider prefix of the SPEC (openai, anthropic, recorded, run…)",
    ("batches", "model"): "the model every request of the batch asks",
    ("batches", "request_count"): "requests in the batch",
    ("batches", "succeeded"): "requests answered, as the provider last counted them",
    ("batches", "failed"): "requests that ended in an error",
    ("batches", "expired"): "requests the provider did not answer in time",
    ("batch_requests", "batch"): "the batch (`batches.id`)",
    ("batch_requests", "custom_id"): "the id the request was sent under; results come back by it, in any order",
    ("runs", "base_url"): "the endpoint's base URL (never credentials)",
    ("runs", "samples"): "answers asked per case",
    ("runs", "started_at"): "when the run started",
    ("runs", "finished_at"): "when it finished, NULL while running or interrupted",
    ("outputs", "text"): "the answer's text (untrusted)",
    ("outputs", "system_fingerprint"): "the provider's backend fingerprint",
    ("outputs", "finish_reason"): "why the answer stopped (stop, length, tool_calls…)",
    ("comparisons", "name"): "a name given with --name (labels files find it by this)",
    ("comparisons", "baseline_run_id"): "the baseline run (`runs.id`)",
    ("comparisons", "candidate_run_id"): "the candidate run (`runs.id`)",
    ("comparisons", "finished_at"): "when both runs completed",
    ("comparisons", "status"): "running / complete / interrupted / failed",
    ("labels", "verdict"): "one of the `Verdict` values",
    ("label_events", "at"): "when the change was made",
    ("signoffs", "signer"): '"Name <email>" of who signed off',
    ("judgments", "rubric_digest"): "sha256 of the rubric the judge was given",
    ("judgments", "position"): "which output the judge saw first",
    ("judgments", "reason"): "the judge's stated reason",
}

_CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+) \(")
_ALTER = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+) ([^;]*);\s*(?:--\s*(.*))?$")
_KEYWORDS = {"UNIQUE", "PRIMARY", "CHECK", "FOREIGN", "CONSTRAINT"}


def _migration_texts() -> list[str]:
    """Every migration's SQL text, in order."""
    v1 = V1_SQL.format(verdicts=_sql_list(tuple(v.value for v in Verdict)))
    return [v1, V2_SQL, V3_SQL, V4_SQL, V5_SQL, V6_SQL, V7_SQL]


def column_docs() -> dict[tuple[str, str], tuple[str, str]]:
    """(table, column) -> (definition, comment) as the migrations' SQL text writes them."""
    docs: dict[tuple[str, str], tuple[str, str]] = {}
    for text in _migration_texts():
        table = None
        for raw in text.splitlines():
            code, _, comment = raw.partition("--")
            code, comment = code.strip(), comment.strip()
            if m := _ALTER.search(raw):
                docs[(m[1], m[2])] = (m[3].strip(), (m[4] or "").strip())
                continue
            if m := _CREATE.search(code):
                table = m[1]
                continue
            if table is None or not code:
                continue
            if code.startswith(");"):
                table = None
                continue
            name, _, definition = code.rstrip(",").partition(" ")
            if name.upper() not in _KEYWORDS:
                docs[(table, name)] = (definition.strip(), comment)
    return docs


def _table_comments() -> dict[str, str]:
    found: dict[str, str] = {}
    for text in _migration_texts():
        for raw in text.splitlines():
            code, _, comment = raw.partition("--")
            if (m := _CREATE.search(code)) and comment.strip():
                found[m[1]] = comment.strip()
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def schema_markdown() -> str:
    """docs/schema.md: every table and index of a fresh store (read from ``sqlite_master`` and
    ``PRAGMA table_info``), each column's definition and what it holds (from the migrations' comments)."""
    import sqlite_utils

    conn = sqlite3.connect(":memory:")
    db = sqlite_utils.Database(conn)
    for migrate in MIGRATIONS:
        migrate(db)
    docs, comments = column_docs(), _table_comments()
    out = [
        "# The store's schema",
        "",
        "<!-- Generated by `reviewer.store.schema_markdown()`; do not edit. Regenerate with",
        "     `.venv/bin/python -m reviewer.store > docs/schema.md` (tests/test_store_schema_doc.py",
        "     fails when this file and the schema differ). -->",
        "",
        f"One SQLite file (WAL mode), schema version {SCHEMA_VERSION} (`PRAGMA user_version`). Only",
        "`reviewer/store/` runs SQL on it; migrations live in `reviewer/store/schema.py` and only move forward.",
        f"`labels.verdict` is one of the `Verdict` enum's values: {', '.join(f'`{v.value}`' for v in Verdict)}.",
        "",
    ]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
    for table in tables:
        out += [f"## `{table}`", ""]
        note = TABLE_NOTES.get(table) or comments.get(table, "")
        if note:
            out += [note, ""]
        out += ["| column | definition | what it holds |", "|---|---|---|"]
        for _cid, name, type_, _notnull, _default, _pk in conn.execute(f"PRAGMA table_info({table})"):
            definition, comment = docs.get((table, name), (type_, ""))
            comment = comment or COLUMN_NOTES.get((table, name)) or COLUMN_NOTES.get(name, "")
            out.append(f"| `{name}` | `{_cell(definition)}` | {_cell(comment)} |")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY rowid", (table,)
        ).fetchall()
        if indexes:
            out += ["", "Indexes:"]
            for name, sql in indexes:
                out.append(f"- `{name}`" + (f": `{' '.join(sql.split())}`" if sql else " (from a UNIQUE constraint)"))
        out.append("")
    conn.close()
    return "\n".join(out).rstrip() + "\n"
