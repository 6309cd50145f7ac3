"""Provider batches of ``reviewer run --batch``: the ``batches`` and ``batch_requests`` tables.

Functions taking a store (what ``reviewer.batch`` calls) and :class:`BatchesMixin`, the same as
``Store`` methods (``Store`` lists it among its bases). The tables are schema migration 4
(:data:`reviewer.store.schema.V4_SQL`).

A batch row is written *before* the provider is asked to create the batch (status ``submitting``,
with every request's (case, sample, cache key) under its ``custom_id``), and updated with the
provider's batch id the moment it is known: a process killed while waiting (or while submitting)
finds its batches again and never submits the same requests twice while a batch may still answer.
No API key ever reaches these tables (base URLs are the credential-free form providers keep).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .core import StoreCore
from .records import now_iso

__all__ = ["BatchRecord", "BatchesMixin"]

Store = StoreCore  # every function takes the store (a StoreCore)


COLUMNS = (
    "id", "provider", "base_url", "model", "endpoint", "comparison_id", "run_id", "side", "batch_id", "input_file_id",
    "status", "request_count", "succeeded", "failed", "expired", "errors", "results", "created_at", "updated_at",
    "collected_at",
)  # fmt: skip


@dataclass(slots=True)
class BatchRecord:
    id: int
    provider: str
    base_url: str | None
    model: str
    endpoint: str
    comparison_id: int
    run_id: int
    side: str
    batch_id: str | None
    input_file_id: str | None
    status: str
    request_count: int
    succeeded: int
    failed: int
    expired: int
    errors: Any
    results: dict[str, Any]
    created_at: str
    updated_at: str
    collected_at: str | None

    @property
    def open(self) -> bool:
        """Its results are not all stored yet: it may still answer."""
        return self.collected_at is None

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


def _row(r: tuple[Any, ...]) -> BatchRecord:
    d = dict(zip(COLUMNS, r, strict=True))
    d["errors"] = json.loads(d["errors"]) if d["errors"] else None
    d["results"] = json.loads(d["results"]) if d["results"] else {}
    return BatchRecord(**d)


def begin_batch(
    store: Store, *, provider: str, base_url: str | None, model: str, endpoint: str, comparison_id: int, run_id: int,
    side: str, requests: Iterable[tuple[str, str, int, str]],
) -> int:  # fmt: skip
    """Record a batch about to be submitted, with its requests (custom_id, case, sample, cache key),
    in one transaction; returns its local id. Called before the provider hears of it."""
    ts = now_iso()
    with store.transaction() as c:
        cur = c.execute(
            "INSERT INTO batches (provider, base_url, model, endpoint, comparison_id, run_id, side, status, request_count,"
            " created_at, updated_at) VALUES (?,?,?,?,?,?,?,'submitting',0,?,?)",
            (provider, base_url, model, endpoint, comparison_id, run_id, side, ts, ts),
        )
        local = int(cur.lastrowid)  # type: ignore[arg-type]
        n = 0
        rows: list[tuple[Any, ...]] = []
        for custom_id, case_id, sample, key in requests:
            rows.append((local, custom_id, case_id, sample, key))
            if len(rows) >= 5000:
                c.executemany("INSERT INTO batch_requests VALUES (?,?,?,?,?)", rows)
                n += len(rows)
                rows = []
        c.executemany("INSERT INTO batch_requests VALUES (?,?,?,?,?)", rows)
        n += len(rows)
        c.execute("UPDATE batches SET request_count = ? WHERE id = ?", (n, local))
    return local


def update_batch(store: Store, local_id: int, **fields: Any) -> None:
    """Set columns of a batch (``batch_id``, ``input_file_id``, ``status``, counts, ``errors``,
    ``results``, ``collected_at``); ``updated_at`` is set too."""
    bad = set(fields) - set(COLUMNS[8:])
    if bad:
        raise ValueError(f"not batch columns: {sorted(bad)}")
    for name in ("errors", "results"):
        if name in fields and fields[name] is not None and not isinstance(fields[name], str):
            fields[name] = json.dumps(fields[name], sort_keys=True)
    fields["updated_at"] = now_iso()
    sets = ", ".join(f"{k} = ?" for k in fields)
    with store.transaction() as c:
        c.execute(f"UPDATE batches SET {sets} WHERE id = ?", (*fields.values(), local_id))


def delete_batch(store: Store, local_id: int) -> None:
    """Forget a batch that never reached the provider (its submission failed)."""
    with store.transaction() as c:
        c.execute("DELETE FROM batch_requests WHERE batch = ?", (local_id,))
        c.execute("DELETE FROM batches WHERE id = ?", (local_id,))


def batches(store: Store, *, run_id: int | None = None, open_only: bool = False) -> list[BatchRecord]:
    """Batches, oldest first: all of them, or a run's; ``open_only``: those not yet collected."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM batches WHERE 1"
    params: list[Any] = []
    if run_id is not None:
        sql += " AND run_id = ?"
        params.append(run_id)
    if open_only:
        sql += " AND collected_at IS NULL"
    with store._lock:
        rows = store._conn.execute(sql + " ORDER BY id", params).fetchall()
    return [_row(r) for r in rows]


def find_batch(store: Store, ref: str) -> BatchRecord | None:
    """A batch by the provider's id, or by its local number."""
    with store._lock:
        row = store._conn.execute(f"SELECT {', '.join(COLUMNS)} FROM batches WHERE batch_id = ?", (ref,)).fetchone()
        if row is None and ref.isdigit():
            row = store._conn.execute(f"SELECT {', '.join(COLUMNS)} FROM batches WHERE id = ?", (int(ref),)).fetchone()
    return _row(row) if row else None


def batch_requests(store: Store, local_id: int) -> dict[str, tuple[str, int, str]]:
    """custom_id -> (case id, sample, cache key) of a batch."""
    with store._lock:
        cur = store._conn.execute("SELECT custom_id, case_id, sample, cache_key FROM batch_requests WHERE batch = ?", (local_id,))
        return {r[0]: (r[1], r[2], r[3]) for r in cur}


def submitted_keys(store: Store, run_id: int, *, open_only: bool) -> set[tuple[str, int]]:
    """(case, sample) of a run's requests in its batches (only those not yet collected, or all)."""
    sql = "SELECT r.case_id, r.sample FROM batch_requests r JOIN batches b ON b.id = r.batch WHERE b.run_id = ?"
    if open_only:
        sql += " AND b.collected_at IS NULL"
    with store._lock:
        return {(r[0], r[1]) for r in store._conn.execute(sql, (run_id,))}


class BatchesMixin(StoreCore):
    """The functions above as ``Store`` methods (``store.begin_batch(...)``)."""

    begin_batch = begin_batch
    update_batch = update_batch
    delete_batch = delete_batch
    batches = batches
    find_batch = find_batch
    batch_requests = batch_requests
    submitted_keys = submitted_keys
