"""Write an import to the store in ONE transaction: the suite version, the runs with all their
outputs and (for two runs) the comparison — all of it or nothing.

``Store``'s own methods each open their own transaction, so they cannot be composed into one;
this module issues the same INSERTs as ``Store.upsert_suite``/``create_run``/``save_outputs``/
``create_comparison`` inside a single ``Store.transaction()``. (A ``Store.import_batch`` method
would be the better home; see the report.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..store import _OUTPUT_COLS, Output, Run, Store, now_iso
from ..suite import LoadedSuite

__all__ = ["ImportedRun", "StoredImport", "store_import", "run_by_label", "comparison_by_key", "sampling_params"]

#: Request parameters worth recording on an imported run (never keys, headers or URLs).
SAMPLING_KEYS = (
    "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "max_output_tokens", "seed", "stop",
    "presence_penalty", "frequency_penalty", "response_format", "reasoning_effort", "verbosity",
)  # fmt: skip


def sampling_params(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        return {}
    return {k: config[k] for k in SAMPLING_KEYS if k in config and config[k] is not None}


@dataclass
class ImportedRun:
    provider: str
    model: str
    label: str | None
    outputs: list[Output]
    params: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    side: str | None = None

    @property
    def samples(self) -> int:
        counts: dict[str, int] = {}
        for o in self.outputs:
            counts[o.case_id] = max(counts.get(o.case_id, 0), o.sample + 1)
        return max(counts.values(), default=1)


@dataclass(frozen=True)
class StoredImport:
    suite_id: int
    run_ids: list[int]
    comparison_id: int | None


def store_import(
    store: Store,
    loaded: LoadedSuite,
    runs: list[ImportedRun],
    *,
    comparison_name: str | None = None,
    resume_key: str | None = None,
    before_commit: Callable[[], None] | None = None,
) -> StoredImport:
    """Insert the suite (deduplicated by digest), the runs and their outputs, and — when
    ``comparison_name`` is given and there are two runs — a comparison of runs[0] (baseline) and
    runs[1] (candidate). ``before_commit`` runs last inside the transaction (e.g. to move a suite
    file into place); if it raises, nothing is stored."""
    if comparison_name is not None and len(runs) != 2:
        raise ValueError("a comparison needs exactly two runs")
    ts = now_iso()
    digest = loaded.digest
    with store.transaction() as c:
        row = c.execute("SELECT id FROM suites WHERE digest = ?", (digest,)).fetchone()
        if row:
            suite_id = int(row[0])
            c.execute("UPDATE suites SET path = ? WHERE id = ?", (str(loaded.path), suite_id))
        else:
            cur = c.execute(
                "INSERT INTO suites (name, digest, path, format, content, created_at) VALUES (?,?,?,?,?,?)",
                (loaded.suite.suite, digest, str(loaded.path), loaded.format, loaded.suite.model_dump_json(exclude_none=True), ts),
            )
            suite_id = int(cur.lastrowid)  # type: ignore[arg-type]
        run_ids = []
        for r in runs:
            cur = c.execute(
                "INSERT INTO runs (suite_id, side, label, provider, model, base_url, params, samples, started_at,"
                " finished_at, status) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (suite_id, r.side, r.label, r.provider, r.model, r.base_url, json.dumps(r.params, sort_keys=True),
                 r.samples, r.started_at or ts, r.finished_at or ts, "complete"),
            )  # fmt: skip
            run_id = int(cur.lastrowid)  # type: ignore[arg-type]
            run_ids.append(run_id)
            rows = []
            for o in r.outputs:
                d = asdict(o)
                d["usage"] = json.dumps(o.usage) if o.usage is not None else None
                rows.append((run_id, *(d[k] for k in _OUTPUT_COLS), ts))
            cols = ", ".join(["run_id", *_OUTPUT_COLS, "created_at"])
            marks = ", ".join("?" * (len(_OUTPUT_COLS) + 2))
            c.executemany(f"INSERT INTO outputs ({cols}) VALUES ({marks})", rows)
        comparison_id = None
        if comparison_name is not None:
            cur = c.execute(
                "INSERT INTO comparisons (name, suite_id, baseline_run_id, candidate_run_id, resume_key, created_at,"
                " finished_at, status) VALUES (?,?,?,?,?,?,?,?)",
                (comparison_name, suite_id, run_ids[0], run_ids[1], resume_key, ts, ts, "complete"),
            )
            comparison_id = int(cur.lastrowid)  # type: ignore[arg-type]
        if before_commit is not None:
            before_commit()
    return StoredImport(suite_id, run_ids, comparison_id)


def run_by_label(store: Store, label: str) -> Run | None:
    """The latest run with this label (``import jsonl --as-run NAME``), or None."""
    row = store.db.execute("SELECT id FROM runs WHERE label = ? ORDER BY id DESC LIMIT 1", (label,)).fetchone()
    return store.run(int(row[0])) if row else None


def comparison_by_key(store: Store, key: str) -> int | None:
    row = store.db.execute("SELECT id FROM comparisons WHERE resume_key = ? ORDER BY id LIMIT 1", (key,)).fetchone()
    return int(row[0]) if row else None
