"""Writing labels: a FIFO of label changes drained by a worker thread and once more,
synchronously, when the app closes (a label given is never lost to a quit); how a label is made
from a verdict, and the undo stack; and the labels-file lines that save what the store would not
take. No Textual here.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewer.store import Label, Store, Verdict, now_iso

if TYPE_CHECKING:
    from .state import Entry, ReviewState

__all__ = ["LabelOp", "LabelWriter", "Labeller", "labels_file_lines"]


@dataclass(frozen=True, slots=True)
class LabelOp:
    """Set (verdict given) or remove (verdict None) this reviewer's label on one case."""

    case_id: str
    verdict: str | None
    severity: int | None = None
    note: str | None = None
    at: str | None = None


class LabelWriter:
    """Label changes in the order given, written one short transaction each.

    :meth:`submit` never blocks on SQLite; :meth:`drain` writes whatever is pending and may run in
    a worker thread and on the UI thread at close at once (a lock keeps the order)."""

    def __init__(self, store: Store, comparison_id: int, reviewer: str) -> None:
        self.store = store
        self.comparison_id = comparison_id
        self.reviewer = reviewer
        self._pending: deque[LabelOp] = deque()
        self._lock = threading.Lock()
        self.written = 0
        self.last_error: str | None = None  # why the last write failed (cleared by a good one)

    def submit(self, op: LabelOp) -> None:
        self._pending.append(op)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def drain(self, on_error: Callable[[LabelOp, Exception], None] | None = None) -> int:
        """Write every pending change; returns how many were written. A failed write stays at
        the head of the queue (so a later drain retries it) and is reported to ``on_error``."""
        done = 0
        with self._lock:
            while self._pending:
                op = self._pending[0]
                try:
                    if op.verdict is None:
                        self.store.remove_label(self.comparison_id, op.case_id, self.reviewer)
                    else:
                        self.store.set_label(
                            self.comparison_id, op.case_id, self.reviewer, op.verdict,
                            severity=op.severity, note=op.note, at=op.at,
                        )  # fmt: skip
                except Exception as e:  # locked past the busy timeout, disk full: keep the op
                    self.last_error = str(e) or type(e).__name__
                    if on_error is not None:
                        on_error(op, e)
                    break
                self._pending.popleft()
                self.last_error = None
                done += 1
                self.written += 1
        return done

    def snapshot(self) -> list[LabelOp]:
        """The changes not written yet, oldest first (a copy: the writer may go on)."""
        return list(self._pending)

    def forget(self, ops: list[LabelOp]) -> None:
        """Drop these changes from the queue (they were saved elsewhere: a labels file)."""
        gone = {id(op) for op in ops}
        with self._lock:
            keep = [op for op in self._pending if id(op) not in gone]
            self._pending.clear()
            self._pending.extend(keep)


def labels_file_lines(store: Store, comparison_id: int, reviewer: str, ops: list[LabelOp]) -> tuple[list[str], int]:
    """Label changes as lines of a labels file (``reviewer labels export``'s format, read by
    ``reviewer labels import``): the last change per case. A removal cannot be said in that
    format: returns the lines and how many removals were left out."""
    from reviewer.export.labels_io import FORMAT, comparison_identity

    last: dict[str, LabelOp] = {}
    for op in ops:
        last.pop(op.case_id, None)
        last[op.case_id] = op
    ident = comparison_identity(store, comparison_id)
    lines: list[str] = []
    removals = 0
    for op in last.values():
        if op.verdict is None:
            removals += 1
            continue
        obj = {
            "format": FORMAT, "comparison": ident, "case": op.case_id, "reviewer": reviewer,
            "verdict": op.verdict, "severity": op.severity, "note": op.note, "time": op.at or now_iso(),
        }  # fmt: skip
        lines.append(json.dumps(obj, ensure_ascii=False))
    return lines, removals


# ---------------------------------------------------------------------------------------------
# Giving labels, undoing them
# ---------------------------------------------------------------------------------------------


class Labeller:
    """This reviewer's labels as they are given: the state shows them at once, the writer queues
    them for the store, and each change can be undone (last given, first undone)."""

    def __init__(self, state: ReviewState, writer: LabelWriter, comparison_id: int, reviewer: str) -> None:
        self.state = state
        self.writer = writer
        self.comparison_id = comparison_id
        self.reviewer = reviewer
        self.undo_stack: list[tuple[str, Label | None]] = []

    def make(self, entry: Entry, verdict: str, severity: int | None, note: str | None) -> Label:
        """A label of this reviewer on ``entry`` (created when first given; a severity only on a
        regression)."""
        ts = now_iso()
        prev = entry.mine
        return Label(
            self.comparison_id, entry.id, self.reviewer, Verdict(verdict), severity if verdict == "regression" else None,
            note, prev.created_at if prev else ts, ts,
        )  # fmt: skip

    def give(self, entry: Entry, label: Label | None, *, undoable: bool = True) -> None:
        """Set (or, with None, remove) this reviewer's label on ``entry``."""
        if undoable:
            self.undo_stack.append((entry.id, entry.mine))
        self.state.set_mine(entry.id, label)
        if label is None:
            self.writer.submit(LabelOp(entry.id, None))
        else:
            self.writer.submit(LabelOp(entry.id, label.verdict, label.severity, label.note, label.updated_at))

    def verdict(self, entry: Entry, verdict: str) -> None:
        """``r``/``i``/``a``/``x``: the note is kept, and the severity when the verdict stays."""
        prev = entry.mine
        severity = prev.severity if prev is not None and prev.verdict == verdict else None
        self.give(entry, self.make(entry, verdict, severity, prev.note if prev else None))

    def severity(self, entry: Entry, level: int) -> None:
        """``1``–``3``: a regression of that severity."""
        prev = entry.mine
        self.give(entry, self.make(entry, "regression", level, prev.note if prev else None))

    def note(self, entry: Entry, text: str | None) -> bool:
        """Set the note of the label given; False (nothing changed) when there is no label yet."""
        mine = entry.mine
        if mine is None:
            return False
        self.give(entry, self.make(entry, mine.verdict, mine.severity, text))
        return True

    def undo(self) -> tuple[Entry, Label | None] | None:
        """Put back the label the last change replaced; (entry, label now) or None."""
        if not self.undo_stack:
            return None
        case_id, prev = self.undo_stack.pop()
        entry = self.state.by_id[case_id]
        self.give(entry, prev, undoable=False)
        return entry, prev
