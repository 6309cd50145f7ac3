"""Write an import to the store in ONE transaction: the suite version, the runs with all their
outputs and (for two runs) the comparison — all of it or nothing (``Store.transaction`` is
re-entrant, so the store's own methods compose inside it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..store import Output, Run, Store, now_iso
from ..suite import LoadedSuite

__all__ = ["ImportedRun", "StoredImport", "comparison_by_key", "run_by_label", "sampling_params", "store_import"]

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
    #: When set, the outputs to store, in chunks (``outputs`` then holds them without their
    #: answers, for counting): a big log is read again as it is written, never held whole.
    stream: Callable[[], Iterator[list[Output]]] | None = None

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
    with store.transaction():  # every call below joins this one transaction
        suite_id = store.upsert_suite(loaded)
        run_ids = []
        for r in runs:
            run_id = store.create_run(
                suite_id=suite_id, provider=r.provider, model=r.model, base_url=r.base_url, params=r.params,
                samples=r.samples, side=r.side, label=r.label, status="complete",
                started_at=r.started_at or ts, finished_at=r.finished_at or ts,
            )  # fmt: skip
            if r.stream is None:
                store.save_outputs(run_id, r.outputs, replace=False)
            else:
                for chunk in r.stream():
                    store.save_outputs(run_id, chunk, replace=False)
            run_ids.append(run_id)
        comparison_id = None
        if comparison_name is not None:
            comparison_id = store.create_comparison(
                suite_id=suite_id, baseline_run_id=run_ids[0], candidate_run_id=run_ids[1],
                name=comparison_name, resume_key=resume_key, status="complete",
            )  # fmt: skip
        if before_commit is not None:
            before_commit()
    return StoredImport(suite_id, run_ids, comparison_id)


def run_by_label(store: Store, label: str) -> Run | None:
    """The latest run with this label (``import jsonl --as-run NAME``), or None."""
    return store.run_by_label(label)


def comparison_by_key(store: Store, key: str) -> int | None:
    """The comparison an earlier import of the same files made (its resume key), or None."""
    return store.comparison_id_by_resume_key(key)
