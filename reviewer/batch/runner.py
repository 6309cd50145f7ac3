"""Submit, record, poll and collect the batches of one side of a comparison; resume what an earlier
process submitted.

Order of writes, so that no kill loses or repeats anything: a batch's row and its requests are
committed before the provider hears of it; the input file id and then the batch id are recorded
the moment they are known; results are stored before the batch is marked collected. A row left
``submitting`` with no batch id (a process killed inside the create call) is looked up by its
marker (OpenAI keeps our ``metadata``); one that cannot be found is dropped and its requests
planned again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..store import Store
from ..store.batches import BatchRecord, batches, begin_batch, delete_batch, submitted_keys, update_batch
from . import Status, client_for
from .collect import Collected, collect
from .plan import write_chunks

#: Default polling: first after this many seconds, then ×1.5 up to POLL_MAX.
POLL_START = 5.0
POLL_MAX = 300.0


@dataclass
class SideReport:
    submitted: list[str] = field(default_factory=list)  # batch ids submitted by this process
    requests: int = 0  # requests submitted by this process
    pending: int = 0  # requests of batches still open (this process's and earlier ones)
    skipped_errors: int = 0  # failed in an earlier batch, not resubmitted (no --retry-errors)
    warnings: list[str] = field(default_factory=list)
    collected: Collected = field(default_factory=Collected)


class BatchSide:
    def __init__(self, store: Store, replay: Any, side: str, run_id: int, comparison_id: int, *, retry_errors: bool = False):
        self.store = store
        self.replay = replay
        self.side = side
        self.run_id = run_id
        self.comparison_id = comparison_id
        self.retry_errors = retry_errors
        self.provider = replay.providers[side]
        self.client = client_for(self.provider)
        if self.client is None:  # pragma: no cover - checked by the caller
            raise ValueError(f"{self.provider.provider} has no batch API")
        self.report = SideReport()

    def close(self) -> None:
        self.client.close()

    # -- resume ---------------------------------------------------------------------------------

    def recover(self) -> None:
        """Rows an earlier process left half-submitted: found at the provider (by marker) or dropped."""
        for r in batches(self.store, run_id=self.run_id, open_only=True):
            if r.batch_id is not None:
                continue
            marker = r.results.get("marker")
            found = self.client.find(marker) if marker and r.input_file_id else None
            if found is not None:
                batch_id, st = found
                update_batch(self.store, r.id, batch_id=batch_id, status=st.status)
            else:
                delete_batch(self.store, r.id)
                if self.provider.provider == "anthropic" and marker:
                    self.report.warnings.append(
                        f"{self.side}: a batch submission was interrupted before its id was recorded; its "
                        f"{r.request_count} requests are submitted again (the provider may run them twice)"
                    )

    # -- submit ---------------------------------------------------------------------------------

    def plan(self) -> list[tuple[Any, str]]:
        """The replay's own plan (resumed answers skipped, cached ones copied), less the requests of
        open batches and, without ``retry_errors``, those a batch already answered with an error."""
        todo = self.replay.full_plan(self.side, self.run_id)
        pending = submitted_keys(self.store, self.run_id, open_only=True)
        earlier = set() if self.retry_errors else submitted_keys(self.store, self.run_id, open_only=False) - pending
        kept = []
        for call, key in todo:
            k = (call.case_id, call.sample)
            if k in pending:
                continue
            if k in earlier:
                self.report.skipped_errors += 1
                continue
            kept.append((call, key))
        return kept

    def submit(self, todo: list[tuple[Any, str]], on_submitted: Callable[[BatchRecord], None] | None = None) -> None:
        ordinals = {c.id: i for i, c in enumerate(self.replay.loaded.suite.cases)}
        p = self.provider
        for chunk in write_chunks(self.client, p, todo, comparison_id=self.comparison_id, side=self.side, ordinals=ordinals):
            try:
                local = begin_batch(
                    self.store, provider=p.provider, base_url=p.base_url, model=p.model, endpoint=self.client.endpoint,
                    comparison_id=self.comparison_id, run_id=self.run_id, side=self.side, requests=chunk.entries,
                )  # fmt: skip
                marker = uuid.uuid4().hex
                update_batch(self.store, local, results={"marker": marker})
                try:
                    if hasattr(self.client, "create_from"):
                        batch_id, st = self.client.create_from(chunk.path)
                    else:
                        fid = self.client.upload(chunk.path)
                        update_batch(self.store, local, input_file_id=fid)
                        batch_id, st = self.client.create(fid, marker)
                except BaseException as e:
                    # A row with no batch id is looked up (OpenAI: by marker) or dropped on the next
                    # run; dropped now when surely nothing was created (an HTTP error answered the create).
                    r = self.record(local)
                    if getattr(e, "answered", False) or (r.input_file_id is None and not hasattr(self.client, "create_from")):
                        delete_batch(self.store, local)
                    raise
                update_batch(self.store, local, batch_id=batch_id, status=st.status,
                             results={"marker": marker, **st.results})  # fmt: skip
            finally:
                chunk.path.unlink(missing_ok=True)
            self.report.submitted.append(batch_id)
            self.report.requests += len(chunk.entries)
            if on_submitted is not None:
                on_submitted(self.record(local))

    def record(self, local: int) -> BatchRecord:
        return next(b for b in batches(self.store, run_id=self.run_id) if b.id == local)

    def open_batches(self) -> list[BatchRecord]:
        return [b for b in batches(self.store, run_id=self.run_id, open_only=True) if b.batch_id is not None]

    # -- wait and collect -----------------------------------------------------------------------

    def poll(self, record: BatchRecord) -> Status:
        st = self.client.retrieve(record.batch_id)
        update_batch(
            self.store, record.id, status=st.status, succeeded=st.succeeded, failed=st.failed, expired=st.expired,
            errors=st.errors, results={**record.results, **st.results},
        )  # fmt: skip
        return st

    def collect(self, record: BatchRecord, st: Status) -> Collected:
        got = collect(self.store, self.client, record, st)
        from ..store import now_iso

        update_batch(self.store, record.id, collected_at=now_iso())
        c = self.report.collected
        c.answered += got.answered
        c.errors += got.errors
        c.expired += got.expired
        c.missing += got.missing
        c.problems += got.problems
        c.failures += got.failures[: max(0, 50 - len(c.failures))]
        return got


def wait_all(
    sides: list[BatchSide], *, interval: float | None, on_status: Callable[[BatchSide, BatchRecord, Status], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:  # fmt: skip
    """Poll every open batch of ``sides`` until each is terminal, collecting each as it ends.
    ``interval`` None: a backoff from POLL_START to POLL_MAX seconds."""
    pending = [(s, r) for s in sides for r in s.open_batches()]
    delay = interval if interval is not None else POLL_START
    while pending:
        still = []
        for side, record in pending:
            st = side.poll(record)
            on_status(side, record, st)
            if st.terminal:
                side.collect(record, st)
                on_status(side, record, st)
            else:
                still.append((side, record))
        pending = still
        if pending:
            sleep(delay)
            if interval is None:
                delay = min(delay * 1.5, POLL_MAX)


def partial_replay_class() -> type:
    """A :class:`reviewer.replay.Replay` that leaves the sides named in ``skip`` to the batches
    (their plan is empty here), so one comparison mixes a batch side with a direct or recorded one."""
    from ..replay import Replay

    class PartialReplay(Replay):
        skip: frozenset[str] = frozenset()

        def _planned(self, side: str, run_id: int) -> Iterator[tuple[Any, str]]:
            if side in self.skip:
                return iter(())
            return super()._planned(side, run_id)

        def full_plan(self, side: str, run_id: int) -> list[tuple[Any, str]]:
            return self._plan(side, run_id)

    return PartialReplay
