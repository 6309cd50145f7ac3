"""The review session's access to the store: what it reads per case (label writes: :mod:`.labels`).

:class:`Session` opens one comparison without loading every output and without validating its
suite: the case list needs only each case's row (:meth:`Session.case_rows`: id, tags, origin,
prompt, message texts, read from the stored suite's JSON; ~0.4 s and ~100 MB at 100,000 cases
where validating every case took ~3.5 s and ~400 MB) and the labels; the case on screen is
validated alone (:meth:`Session.case`) and needs only its own outputs, read by one indexed query
(``UNIQUE (run_id, case_id, sample)``). The ranking (every case's tier, change and flags) comes
from the store's cache, or from a child process that fills it (:meth:`Session.rank`), so a
100,000-case comparison paints at once and stays responsive while it is ranked; the full
assessment of the case on screen is computed from its own outputs (:meth:`Session.detail`).

Reads go through the store's per-thread read-only reader (:meth:`Store.reader`), so a worker
reading never waits on a write; the writes go through ``Store``. No SQL and no Textual here.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from reviewer.store import Comparison, ComparisonData, Label, Output, Run, Store, SuiteRecord

from .cache import LRU, paused_gc
from .caserows import CaseRow, SuiteRows, rows_from_outline, split_suite

if TYPE_CHECKING:
    from reviewer.diff.score import Assessment
    from reviewer.suite import Case, Defaults

__all__ = ["CaseOutputs", "Provenance", "Session", "run_name"]

#: Validated cases kept by :meth:`Session.case` (the pane, the promote form, the detail of a few cases).
CASES_KEPT = 256


def run_name(run: Run) -> str:
    """What to call a run: its label when it has one (``gemma3 Q4_K_M``), else provider:model.
    A recorded run's spec is a file path, which says little and takes the whole line."""
    return run.label or run.spec


T = TypeVar("T")


class _Ahead(Generic[T]):
    """A value computed in a daemon thread from now on, taken (waited for) once. What the thread
    raises is raised by :meth:`take`."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as e:  # (handed to take's caller)
            self._error = e

    def join(self) -> None:
        self._thread.join()

    def take(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)


@dataclass(frozen=True, slots=True)
class CaseOutputs:
    baseline: list[Output]
    candidate: list[Output]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which models and fingerprints answered a run (answered calls only)."""

    models: dict[str, int]  # resolved model id -> calls
    fingerprints: dict[str, int]  # system fingerprint -> calls

    @property
    def model_changed(self) -> bool:
        return len(self.models) > 1

    @property
    def fingerprint_changed(self) -> bool:
        return len(self.fingerprints) > 1

    def usual(self) -> tuple[str | None, str | None]:
        """The most frequent resolved model and fingerprint."""
        m = max(self.models, key=self.models.__getitem__) if self.models else None
        f = max(self.fingerprints, key=self.fingerprints.__getitem__) if self.fingerprints else None
        return m, f


class Session:
    """One comparison opened for review by one reviewer."""

    def __init__(self, store: Store, comparison_id: int | None, reviewer: str) -> None:
        self.store = store
        self.reviewer = reviewer
        self.comparison: Comparison = store.comparison(comparison_id)
        self.baseline: Run = store.run(self.comparison.baseline_run_id)
        self.candidate: Run = store.run(self.comparison.candidate_run_id)
        self._reader = store.reader()  # read-only, a connection per thread: never waits on a write
        self.rank_process: subprocess.Popen[str] | None = None  # the ranking child, while it runs
        self._suite: SuiteRecord | None = None  # the whole suite validated, only when asked for
        self._cases: LRU[str, Case] = LRU(CASES_KEPT)
        # the cache's key counts every output (~70 ms at 100,000 cases, in SQLite: without the
        # GIL), on a thread of its own while the suite is read and the app starts
        self._key_ahead: _Ahead[str] | None = _Ahead(self._cache_key, "reviewer-cache-key")
        self._key_seen: str | None = None  # the key of the last look at the cache (a fresh one: None)
        with paused_gc():
            self._rows, self.suite_head = self._read_suite(self.comparison.suite_id)

    def _read_suite(self, suite_id: int) -> tuple[SuiteRows, SuiteRecord]:
        """The stored suite split into case rows (no case validated) and its head validated
        (name, defaults: a suite record without cases). Content that is not a stored suite's
        dump is a damaged store: one line, no traceback."""
        from pydantic import ValidationError

        from reviewer.store.errors import StoreDamaged
        from reviewer.suite import Suite

        try:
            row = self._reader.suite_row(suite_id)
        except LookupError as e:
            raise StoreDamaged(f"{self.store.path}: comparison {self.id}: {e}") from None
        try:
            rows = (rows_from_outline(row.content, row.outline) if row.outline else None) or split_suite(row.content)
            head = Suite.model_validate({**rows.head, "cases": []})
        except (ValueError, ValidationError) as e:  # ValidationError is a ValueError; both named for the reader
            why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StoreDamaged(
                f"{self.store.path}: suite {suite_id} (comparison {self.id}) is not a stored suite: {why}"
            ) from None
        record = SuiteRecord(
            id=row.id, name=row.name, digest=row.digest, path=row.path, format=row.format, suite=head, created_at=row.created_at
        )
        return rows, record

    @property
    def suite(self) -> SuiteRecord:
        """The whole suite, every case validated (seconds and hundreds of MB at 100,000 cases):
        read on first use only. The app reads :meth:`case_rows`, :meth:`case` and
        :attr:`suite_head` instead."""
        if self._suite is None:  # from the content read at the start: no query (works after close)
            from dataclasses import replace

            from reviewer.suite import Suite

            self._suite = replace(self.suite_head, suite=Suite.model_validate_json(self._rows.content))
        return self._suite

    @property
    def defaults(self) -> Defaults:
        return self.suite_head.suite.defaults

    def case_rows(self) -> list[CaseRow]:
        """Every case of the suite in suite order as the list and the search read it (id, tags,
        origin, prompt, message texts), from the stored JSON without validating a case."""
        return self._rows.rows

    def case(self, case_id: str) -> Case:
        """One case validated with the suite's defaults, as the whole suite's validation gives it
        (the last few kept). LookupError for an id the suite lacks; a stored case that no longer
        validates is a damaged store (one line)."""
        found = self._cases.get(case_id)
        if found is not None:
            return found
        if self._suite is not None:
            case = self._suite.suite.case(case_id) if case_id in self._rows else None
        else:
            case = self._validate(case_id) if case_id in self._rows else None
        if case is None:
            raise LookupError(f"no case {case_id!r} in comparison {self.id}'s suite")
        return self._cases.put(case_id, case)

    def _validate(self, case_id: str) -> Case:
        from pydantic import ValidationError

        from reviewer.analysis.work import validate_chunk
        from reviewer.store.errors import StoreDamaged

        try:  # as the assessment validates its chunks: with the suite's head, case by case
            return validate_chunk(self._rows.head, [self._rows.case_json(case_id)])[0]
        except (ValueError, ValidationError) as e:
            why = str(e).strip().splitlines()
            raise StoreDamaged(
                f"{self.store.path}: suite {self.suite_head.id}: case {case_id!r} does not validate: {' '.join(why[:3])}"
            ) from None

    @property
    def id(self) -> int:
        return self.comparison.id

    def case_outputs(self, case_id: str) -> CaseOutputs:
        base, cand = self._reader.case_outputs(self.baseline.id, self.candidate.id, case_id)
        return CaseOutputs(base, cand)

    def provenance(self) -> dict[str, Provenance]:
        out = {}
        for side, run in (("baseline", self.baseline), ("candidate", self.candidate)):
            models: Counter[str] = Counter()
            prints: Counter[str] = Counter()
            for model, fp, n in self._reader.provenance(run.id):
                if model:
                    models[model] += n
                if fp:
                    prints[fp] += n
            out[side] = Provenance(dict(models), dict(prints))
        return out

    def labels(self) -> list[Label]:
        return self.store.labels(self.id)

    def judge_view(self, labels: list[Label] | None = None) -> Any:
        """The latest judge run's suggestions (:class:`~reviewer.session.judge.JudgeView`), or None."""
        from .judge import load_judge_view

        labs = self.labels() if labels is None else labels
        return load_judge_view(self.store, self.id, [(lab.case_id, lab.verdict) for lab in labs])

    def label_token(self) -> int:
        """Changes whenever anyone sets or removes a label on this comparison."""
        return self._reader.label_token(self.id)

    def search_outputs(self, needle: str, cancelled: Callable[[], bool] | None = None) -> set[str] | None:
        """Case ids whose outputs (either side) contain ``needle``, ignoring case; None when
        ``cancelled`` said True meanwhile (the query is interrupted within a millisecond)."""
        return self._reader.search_outputs((self.baseline.id, self.candidate.id), needle, cancelled)

    def assessments(self) -> list[Any]:
        """Every case's place in the triage (:class:`reviewer.analysis.CaseRank`), computed here
        (slow on big comparisons: :meth:`rank` does it in a child process) and cached."""
        from reviewer.analysis import ranked

        return ranked(self.store, self.comparison, detail=self.detail)

    def cached_assessments(self) -> Sequence[Any] | None:
        """The triage from the store's cache when it is fresh, else None — without loading any
        output: a :class:`reviewer.analysis.Triage`, columns read in one value, each case's row
        made when asked for (no case's full detail)."""
        from reviewer.analysis import cached_assessments

        ahead, self._key_ahead = self._key_ahead, None
        key = self._key_seen = ahead.take() if ahead is not None else self._cache_key()
        rows = cached_assessments(self.store, self.comparison, key=key)
        if rows is not None:
            rows.detail = self.detail  # each row made from the columns reads its detail from here
        return rows

    def earlier_assessments(self) -> Sequence[Any] | None:
        """The triage an earlier version's diff engine cached for these same outputs, to show
        (marked) while the ranking is made again; None when there is none
        (:func:`reviewer.analysis.earlier_assessments`)."""
        from reviewer.analysis import earlier_assessments

        key, self._key_seen = self._key_seen, None  # the key the last look at the cache counted
        rows = earlier_assessments(self.store, self.comparison, key=key)
        if rows is not None:
            rows.detail = self.detail  # the case on screen is assessed by this version
        return rows

    def _cache_key(self) -> str:
        from reviewer.analysis import cache_key

        return cache_key(self._reader, self.comparison)

    def rank(
        self,
        progress: Callable[[int, int], None] | None = None,
        started: Callable[[Any], None] | None = None,
        partial: Callable[[Any, int, int], None] | None = None,
    ) -> Sequence[Any]:
        """Every case's place in the triage, in triage order: :class:`reviewer.analysis.CaseRank`
        rows (case_id, tier, change, within, noise, noise_known, noise_p, flags, flip; any other
        ``Assessment`` attribute is read from the case's full assessment, computed from its outputs
        on first use: :meth:`detail`). From the cache, else computed by a child process
        (:mod:`reviewer.session.rank`) that fills the cache, else computed here. ``partial``
        is given each partial ranking the child makes meanwhile: ``(triage, assessed, total)``, the
        triage (a :class:`reviewer.analysis.Triage`) of only the cases assessed so far."""
        found = self.cached_assessments()
        if found is not None:
            return found
        here = str(Path(__file__).resolve().parents[2])  # the child runs this same code, installed or not
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
        with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: a chatty child never blocks
            proc = subprocess.Popen(
                [sys.executable, "-m", "reviewer.session.rank", str(self.store.path), str(self.id)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
            )  # fmt: skip
            self.rank_process = proc
            if started is not None:
                started(proc)
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("partial "):
                    if partial is not None:
                        self._partial(line, partial)
                    continue
                parts = line.split()
                if len(parts) == 3 and parts[0] == "progress" and progress is not None:
                    progress(int(parts[1]), int(parts[2]))
            proc.wait()
            self.rank_process = None
            errors.seek(0)
            err = errors.read()
        if proc.returncode > 0:
            raise RuntimeError(f"ranking failed: {(err.strip().splitlines() or ['?'])[-1]}")
        if proc.returncode < 0:  # terminated: the app is closing
            return []
        found = self.cached_assessments()
        return found if found is not None else self.assessments()

    def _partial(self, line: str, partial: Callable[[Any, int, int], None]) -> None:
        """A child's ``partial DONE TOTAL BASE64`` line given to ``partial``; one that does not
        read (another version's child) is skipped: the whole ranking follows anyway."""
        from reviewer.analysis.triage_columns import unpack_triage

        try:
            _, done, total, blob = line.rstrip("\n").split(" ", 3)
            triage = unpack_triage(base64.b64decode(blob, validate=True))
            assessed, cases = int(done), int(total)
        except (ValueError, TypeError, IndexError, struct.error, binascii.Error):
            return
        triage.detail = self.detail
        partial(triage, assessed, cases)

    def detail(self, case_id: str) -> Assessment:
        """One case's full assessment, from its own outputs (one indexed query on this thread's
        read-only connection): what the cached triage leaves out. A case the suite lacks raises
        LookupError."""
        return self.assess(self.case(case_id), self.case_outputs(case_id))

    def stop_ranking(self) -> None:
        """End the ranking child process (the app is closing); its partial work is discarded."""
        proc = self.rank_process
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()

    def assess(self, case: Case, outputs: CaseOutputs) -> Assessment:
        """One case assessed from its own outputs, exactly as the whole comparison would be."""
        from reviewer.analysis import assess_one

        data = ComparisonData(
            self.comparison, self.suite_head, self.baseline, self.candidate,
            {case.id: outputs.baseline}, {case.id: outputs.candidate},
        )  # fmt: skip
        return assess_one(data, case)

    def close(self) -> None:
        ahead, self._key_ahead = self._key_ahead, None
        if ahead is not None:  # its connection is its own: left to end with its thread
            ahead.join()
        self._reader.close()
