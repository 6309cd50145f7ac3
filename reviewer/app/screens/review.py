"""The main screen: the case list on the left, the case on screen on the right.

The screen decides: widgets post messages up (the list's cursor moved, an input was submitted),
the screen updates the :class:`~reviewer.session.state.ReviewState`, gives labels through the
:class:`~reviewer.session.labels.Labeller` (written by a thread worker) and tells each widget what
to show; the widgets render themselves. Diffs are built only for the case on screen and kept in an
LRU; a very large pair is aligned in a worker while a placeholder shows.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from reviewer.errors import ReviewerError
from reviewer.session.cache import paused_gc
from reviewer.session.labels import Labeller, LabelOp
from reviewer.session.search import Cancel, output_hits
from reviewer.session.state import SORT_LABELS, Entry, Filter, ReviewState, Staged, StagedHits
from reviewer.store import Label

from ..keys import REVIEW_BINDINGS
from ..widgets.case_list import CaseList
from ..widgets.case_pane import CasePane
from ..widgets.diff_view import DiffView
from ..widgets.header import ListHeader, TopBar
from ..widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from ..app import ReviewApp


class ReviewScreen(Screen[None]):
    BINDINGS = REVIEW_BINDINGS

    class Ranked(Message):
        def __init__(self, staged: Staged, *, earlier: bool = False, assessed: int | None = None) -> None:
            super().__init__()
            self.staged = staged
            self.earlier = earlier  # an earlier version's ranking, shown until this one's arrives
            self.assessed = assessed  # a partial ranking's cases assessed so far (None: the whole)

    class OrdersMade(Message):
        def __init__(self, token: tuple[int, int], orders: dict[str, list[int]]) -> None:
            super().__init__()
            self.token = token
            self.orders = orders

    class RankProgress(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    class ScanProvenance(Message):
        """Time to scan every output for the header's models and fingerprints."""

    class ProvenanceLoaded(Message):
        def __init__(self, provenance: dict[str, Any]) -> None:
            super().__init__()
            self.provenance = provenance

    class LabelsChanged(Message):
        def __init__(self, labels: list[Label]) -> None:
            super().__init__()
            self.labels = labels

    class SearchHits(Message):
        def __init__(self, staged: StagedHits) -> None:
            super().__init__()
            self.staged = staged

    def __init__(self) -> None:
        super().__init__()
        app: ReviewApp = self.app  # type: ignore[assignment]
        self.review_app = app  # typed, and read by the search's worker threads too
        self.session = app.session
        self.writer = app.writer
        # the entries live as long as the review: no collection needs to scan them (a full one
        # scans every object: ~0.1 s at 100,000 cases, in the middle of a key); the app
        # unfreezes them when it closes
        with paused_gc(freeze=True):
            self.state = ReviewState(self.session.case_rows(), self.session.reviewer, case_of=self.session.case)
            labels = self.session.labels()
            self.state.set_labels(labels)
        self.judge = self.session.judge_view(labels)  # the judge's suggestions: never labels
        if self.judge is not None:
            self.state.set_judge(self.judge.verdicts, self.judge.reasons, self.judge.judge)
        self.provenance: dict[str, Any] = {}  # filled by the ranking worker (a scan of every output)
        self._provenance_known = False
        self.rank_progress: tuple[int, int] | None = None
        self.pane = CasePane(self.session, self.state, id="right")
        self.ranking = True
        self.labeller = Labeller(self.state, self.writer, self.session.id, self.session.reviewer)
        self._label_token = self.session.label_token()
        self._search_timer: Timer | None = None
        self._search_cancel: Cancel | None = None
        self._prepare_timer: Timer | None = None
        self._polling = False
        self._moved = False

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ListHeader(id="list-header")
                yield CaseList(self.state, id="cases")
                yield Input(placeholder="search ids, tags, prompts, outputs · enter: keep · esc: clear", id="search")
            yield self.pane
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        headless = self.app.is_headless
        for inp in self.query(Input):
            inp.cursor_blink = not headless
        self.query_one("#search").display = False
        self.update_topbar()
        self.update_list_header()
        cases = self.query_one(CaseList)
        self.set_focus(cases)
        if self.state.view:
            self.show_case(self.state.view[0].id)
        else:
            self.query_one(DiffView).show(None, "this comparison's suite has no cases")
        # after the first two frames: a ranking read from the cache is ready ~0.4 s later, and would
        # otherwise hold the GIL while the first frame is made, and beside the first key (which
        # pays for the screen's relayout after the terminal's first resize event, ~60 ms at
        # 100,000 cases: the first key's CPU 97-110 ms with the ranking staged beside it, 46-68 ms
        # after the second frame)
        self.call_after_refresh(lambda: self.call_after_refresh(self.rank))
        self.set_interval(2.0, self.poll_labels)

    # -- header texts ---------------------------------------------------------------------------

    def update_topbar(self) -> None:
        self.query_one(TopBar).show(self.session, self.provenance)

    def update_list_header(self) -> None:
        self.query_one(ListHeader).show(self.state, self.ranking, self.rank_progress)

    # -- the case on screen ---------------------------------------------------------------------

    @property
    def current(self) -> Entry | None:
        return self.pane.entry

    # the view of the case on screen is the pane's
    sample = property(lambda self: self.pane.sample)
    json_mode = property(lambda self: self.pane.json_mode)
    _diffs = property(lambda self: self.pane.diffs)

    def show_case(self, case_id: str | None, *, keep_sample: bool = False, keep_scroll: bool = False) -> None:
        """Fill the right-hand side with this case."""
        self.pane.show(None if case_id is None else self.state.by_id[case_id], keep_sample=keep_sample, keep_scroll=keep_scroll)
        self.update_bindings()
        self._prepare_soon()

    #: Seconds with no key or click before the cases either side of the cursor are made ready
    #: (outputs, full assessment, diff laid out: 2-10 ms each, on this thread): a reviewer who
    #: reads a case and presses ``j`` lands on a case already made, and keys held down never
    #: wait for it.
    PREPARE_AFTER = 0.3

    def _prepare_soon(self, delay: float | None = None) -> None:
        if self._prepare_timer is not None:
            self._prepare_timer.stop()
        self._prepare_timer = self.set_timer(self.PREPARE_AFTER if delay is None else delay, self._prepare_neighbours)

    def _prepare_neighbours(self) -> None:
        """The next case, then (on a later turn, still idle) the one before, made ready."""
        self._prepare_timer = None
        idle = self.review_app.idle_for()
        if idle < self.PREPARE_AFTER:
            self._prepare_soon(self.PREPARE_AFTER - idle)
            return
        view, cursor = self.state.view, self.query_one(CaseList).cursor
        for pos in (cursor + 1, cursor - 1):
            if 0 <= pos < len(view):
                try:
                    made = self.pane.prepare(view[pos])
                except ReviewerError:  # the store could not give it: showing it will say so
                    continue
                if made:
                    self._prepare_soon(0.05)
                    return

    # -- ranking, other reviewers ---------------------------------------------------------------

    # a failed ranking or scan is told (on_worker_state_changed) and the review goes on, in the
    # order the list has (suite order, or the partial or earlier ranking, marked as such)
    @work(thread=True, exclusive=True, group="rank", exit_on_error=False)
    def rank(self) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(self.RankProgress(done, total))

        # The header's models and fingerprints take a scan of every output (1.3 s at 100,000
        # cases): after a ranking read from the cache, so as not to hold the list back; beside a
        # ranking that has to be computed (a minute for a big comparison), in a worker of its own,
        # from its first partial ranking on: before it, the ranking reads every output's shape
        # to order the cases, and the two scans side by side took 4.8 s instead of 1.3 + 1.4 s
        # (the first partial ranking at 5.3 s instead of 2.7 s)
        cached = self.session.cached_assessments()
        earlier = None
        scanning = False

        def stage(ranking: Any) -> Staged:  # waiting while a key is handled: see wait_for_input
            return self.state.stage_assessments(ranking, pause=self.review_app.wait_for_input)

        def scan() -> None:
            nonlocal scanning
            if not scanning:
                scanning = True
                self.post_message(self.ScanProvenance())  # never waits: the app may be closing

        if cached is None:
            # after an upgrade of the diff engine: its last ranking of these outputs, marked,
            # while this version ranks them again (a minute at 100,000 cases)
            earlier = self.session.earlier_assessments()
            if earlier is not None:
                self.post_message(self.Ranked(stage(earlier), earlier=True))

        def partial(triage: Any, assessed: int, total: int) -> None:
            scan()
            # the cases assessed so far, ranked, ahead of the others (an earlier version's whole
            # ranking, when there is one, orders the list better until this one's is whole)
            if earlier is None:
                self.post_message(self.Ranked(stage(triage), assessed=assessed))

        try:
            ranked = cached if cached is not None else self.session.rank(progress=progress, partial=partial)
        finally:
            if cached is None:
                scan()  # a ranking with no partial one (a chunk of cases or fewer), or a failed one
        if ranked or not self.state.entries:
            # the pass over every case is made here, off the UI thread; the list switches to it
            # in the handler (a few assignments)
            self.post_message(self.Ranked(stage(ranked)))
        if cached is not None:
            self.post_message(self.ProvenanceLoaded(self.session.provenance()))

    @on(ScanProvenance)
    def _scan_provenance(self) -> None:
        self.load_provenance()

    @work(thread=True, group="provenance", exit_on_error=False)
    def load_provenance(self) -> None:
        self.post_message(self.ProvenanceLoaded(self.session.provenance()))

    def stop_ranking(self) -> None:
        self.session.stop_ranking()

    def on_unmount(self) -> None:
        self._cancel_search()
        self.stop_ranking()

    @on(RankProgress)
    def _rank_progress(self, event: RankProgress) -> None:
        self.rank_progress = (event.done, event.total)
        self.update_list_header()

    @on(ProvenanceLoaded)
    def _provenance_loaded(self, event: ProvenanceLoaded) -> None:
        self.provenance = self.pane.provenance = event.provenance
        self._provenance_known = True
        if self.state.ranked and not self.state.ranked_by_earlier and self.state.assessed_so_far is None:
            self._make_orders()
        self.update_topbar()
        if self.current is not None:
            self.show_case(self.current.id, keep_sample=True, keep_scroll=True)

    @on(Ranked)
    def _ranked(self, event: Ranked) -> None:
        self._follow_cursor()  # a move not shown yet: the case kept below is the one moved to
        # an earlier version's, or this version's so far: this version's whole one is still being made
        self.ranking = event.earlier or event.assessed is not None
        self.state.commit_assessments(event.staged, earlier=event.earlier, assessed=event.assessed)
        self.state.rebuild()
        cases = self.query_one(CaseList)
        keep = self.current.id if self.current is not None and self._moved else None
        if keep is None and self.state.view:
            keep = self.state.view[0].id
        cases.reload(keep=keep)
        self.update_list_header()
        if self.current is not None:
            self.show_case(self.current.id, keep_sample=True, keep_scroll=True)
        # 10,000 assessments are a few hundred thousand long-lived objects: keep the cyclic
        # collector from walking them again and again (a full pass costs ~0.3 s, a visible stall)
        gc.freeze()
        if self._provenance_known and not self.ranking:
            self.call_after_refresh(self._make_orders)

    @work(thread=True, exclusive=True, group="orders")
    def _make_orders(self) -> None:
        """The sorts ``o`` cycles through, made off the UI thread, so that the first ``o`` costs
        no sort: once the list is ranked and the scan for the header's models is done. (Started
        with the ranked list, their ~80 ms at 100,000 cases held its first frame back by as
        much.)"""
        self.post_message(self.OrdersMade(*self.state.sort_orders()))

    @on(OrdersMade)
    def _orders_made(self, event: OrdersMade) -> None:
        self.state.add_orders(event.token, event.orders)

    def poll_labels(self) -> None:
        if not self._polling:  # the last look is still on its way (a busy store): skip this one
            self._polling = True
            self._poll_labels()

    @work(thread=True, group="poll")
    def _poll_labels(self) -> None:
        try:
            token = self.session.label_token()
            if token != self._label_token:
                self._label_token = token
                self.post_message(self.LabelsChanged(self.session.labels()))
        finally:
            self._polling = False

    @on(LabelsChanged)
    def _labels_changed(self, event: LabelsChanged) -> None:
        if self.state.set_other_labels(event.labels):
            self._follow_cursor()
            self.query_one(CaseList).reload(keep=self.current.id if self.current else None)
            self.update_list_header()
            self.pane.update_title()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            err = event.worker.error
            if event.worker.group == "rank":
                self.ranking = False
                self.update_list_header()
            self.notify(
                f"{event.worker.name or event.worker.group}: {type(err).__name__}: {err}",
                severity="error",
                timeout=10,
                markup=False,
            )

    # -- moving ---------------------------------------------------------------------------------

    @on(CaseList.Highlighted)
    def _highlighted(self, event: CaseList.Highlighted) -> None:
        self._follow_cursor()

    def _follow_cursor(self) -> None:
        """Show the case under the list's cursor, if it is not the one shown. The list says its
        cursor moved by a message, which keys typed fast (``j`` then ``x``) can overtake: every
        key that acts on the case on screen calls this first, so a label lands on the case the
        cursor moved to, never on the one it left; so does every change of the view that keeps
        the case on screen (a sort, a filter, the ranking, other reviewers' labels). A message
        older than the cursor is read as the cursor now (no flicker back through the cases
        passed)."""
        entry = self.query_one(CaseList).current
        if entry is not None and (self.current is None or entry.id != self.current.id):
            self._moved = True
            self.show_case(entry.id)

    def _go(self, pos: int | None, *, not_found: str = "") -> None:
        if pos is None:
            if not_found:
                self.notify(not_found, timeout=3)
            return
        self._moved = True
        self.query_one(CaseList).cursor = pos

    def action_cursor(self, delta: int) -> None:
        self._moved = True
        self.query_one(CaseList).move(delta)

    def action_page(self, direction: int) -> None:
        self._moved = True
        self.query_one(CaseList).page(direction)

    def action_first(self) -> None:
        self._go(0)

    def action_last(self) -> None:
        self._go(max(0, len(self.state.view) - 1))

    def action_next_unreviewed(self) -> None:
        cursor = self.query_one(CaseList).cursor
        self._go(self.state.find(cursor, lambda e: e.mine is None), not_found="every shown case is reviewed")

    def action_next_flagged(self) -> None:
        cursor = self.query_one(CaseList).cursor
        self._go(
            self.state.find_flagged(cursor),
            not_found="no flagged case" + (" (still ranking)" if self.ranking else ""),
        )

    def action_next_judge_disagreement(self) -> None:
        cursor = self.query_one(CaseList).cursor
        why = (
            "no judge ran on this comparison (reviewer judge)"
            if not self.state.judged
            else "the judge agrees with every label you gave"
        )
        self._go(self.state.find(cursor, lambda e: e.judge_disagrees), not_found=why)

    def goto_case(self, case_id: str) -> None:
        """Show this case, clearing the search and filter if they hide it."""
        if self.state.position(case_id) is None:
            self.state.filter = Filter()
            self._cancel_search()
            self.state.set_search(None)
            self.state.rebuild()
            self.update_list_header()
        cases = self.query_one(CaseList)
        self._moved = True
        cases.reload(keep=case_id)

    # -- labels ---------------------------------------------------------------------------------

    @property
    def undo_stack(self) -> list[tuple[str, Label | None]]:
        return self.labeller.undo_stack

    def _labelled(self, entry: Entry) -> None:
        """A label of ``entry`` changed: write it, repaint what shows it."""
        self.write_labels()
        self.query_one(CaseList).refresh_case(entry.id)
        self.update_list_header()
        if self.current is entry:
            self.pane.update_title()
        self.update_bindings()

    def action_label(self, verdict: str) -> None:
        self._follow_cursor()
        if self.current is not None:
            self.labeller.verdict(self.current, verdict)
            self._labelled(self.current)

    def action_severity(self, level: int) -> None:
        self._follow_cursor()
        if self.current is not None:
            self.labeller.severity(self.current, level)
            self._labelled(self.current)

    def action_undo(self) -> None:
        undone = self.labeller.undo()
        if undone is None:
            self.notify("nothing to undo", timeout=2)
            return
        entry, prev = undone
        self._labelled(entry)
        if self.current is None or self.current.id != entry.id:
            self.goto_case(entry.id)
        self.notify(f"undone: {entry.id} is {prev.verdict if prev else 'unreviewed'} again", timeout=3, markup=False)

    @work(thread=True, group="labels")
    def write_labels(self) -> None:
        def failed(op: LabelOp, e: Exception) -> None:
            self.app.call_from_thread(
                self.notify, f"label for {op.case_id} not saved yet ({e}); it will be retried", severity="error", markup=False
            )

        self.writer.drain(on_error=failed)

    # -- notes ----------------------------------------------------------------------------------

    def action_edit_note(self) -> None:
        self._follow_cursor()
        # the input already holds the case's note (set when the case is shown), or text typed
        # before a verdict was given: keep either. Focus moves now, not on the next turn of the
        # event loop (Widget.focus() defers it): a key typed right after ``e`` may already be
        # queued, and must land in the note, never on the list as a label key.
        note = self.query_one("#note", Input)
        self.set_focus(note)
        note.cursor_position = len(note.value)

    @on(Input.Submitted, "#note")
    def _note_submitted(self, event: Input.Submitted) -> None:
        entry = self.current
        if entry is None:
            return
        text = event.value.strip() or None
        if not self.labeller.note(entry, text):
            self.notify(
                "a note goes with a verdict: press r, i, a or x first (the note is kept here)", severity="warning", timeout=5
            )
            self.set_focus(self.query_one(CaseList))
            return
        self._labelled(entry)
        self.set_focus(self.query_one(CaseList))
        self.notify("note saved" if text else "note removed", timeout=2)

    # -- view toggles ---------------------------------------------------------------------------

    def action_toggle_json(self) -> None:
        self._follow_cursor()
        self.pane.toggle_json()
        self.update_bindings()

    def action_toggle_whitespace(self) -> None:
        self._follow_cursor()
        self.pane.toggle_whitespace()

    def action_cycle_sample(self) -> None:
        self._follow_cursor()
        self.pane.cycle_sample()
        self.update_bindings()

    def action_toggle_prompt(self) -> None:
        self._follow_cursor()
        self.pane.toggle_prompt()

    def action_scroll_diff(self, direction: int) -> None:
        self._follow_cursor()
        self.query_one(DiffView).scroll_pages(direction)

    def action_scroll_diff_lines(self, n: int) -> None:
        self._follow_cursor()
        self.query_one(DiffView).scroll_lines(n)

    def action_jump_change(self, direction: int) -> None:
        self._follow_cursor()
        if not self.query_one(DiffView).jump_change(direction):
            self.notify("no more changes " + ("below" if direction > 0 else "above"), timeout=2)

    # -- list: search, filter, sort ------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.value = self.state.search or ""
        self.set_focus(box)  # now: the next key typed goes to the box
        if not self.state.has_search_index:  # while the needle is typed, off the UI thread
            self.make_search_index()

    @work(thread=True, group="search-index")
    def make_search_index(self) -> None:
        self.state.search_index(self.keys_coming)

    #: A key or click this recent: the searches' work off the UI thread waits (it shares the GIL)
    BUSY_S = 0.15

    def keys_coming(self) -> bool:
        """True while the reviewer is pressing keys (any thread may ask)."""
        return self.review_app.idle_for() < self.BUSY_S

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._cancel_search()  # its needle is stale already
        self._search_timer = self.set_timer(0.15, lambda: self.run_search(event.value))

    def run_search(self, value: str) -> None:
        """Search for ``value``: the list changes when the search's worker has found the cases
        themselves holding it (a few ms after; :meth:`_search_hits`), and again with the outputs
        holding it; meanwhile it shows what it showed, and its header the needle being found."""
        self._cancel_search()
        if self.state.start_search(value):
            self._search_cancel = Cancel()
            self.search_outputs(value.strip(), self._search_cancel)
            self.update_list_header()
        else:
            self._apply_view()

    def _cancel_search(self) -> None:
        """Stop the search of the outputs still running (its SQL is interrupted, so its thread
        is free within a millisecond; a worker cancelled by Textual would run on to the end)."""
        if self._search_cancel is not None:
            self._search_cancel.set()
            self._search_cancel = None

    @work(thread=True, group="search")
    def search_outputs(self, needle: str, cancel: Cancel) -> None:
        """The cases themselves searched for ``needle`` (the index made here on a first search),
        then the outputs, each found set turned into positions here too: the UI thread only
        shows them (:meth:`_search_hits`)."""
        state, busy = self.state, self.keys_coming
        suite = state.find_in_cases(needle, busy)  # (busy: only while a first search makes the index)
        if cancel.is_set:
            return
        # not paced: at most ~40 ms at 100,000 cases, which the UI thread itself spent before;
        # waiting while keys came in the last 0.15 s made the enter that ends a needle's typing
        # show its cases 0.15 s late
        self.post_message(self.SearchHits(state.stage_hits(needle, suite, None)))
        hits = output_hits(self.session, needle, cancel, busy)
        if hits is not None and not cancel.is_set:
            self.post_message(self.SearchHits(state.stage_hits(needle, suite, hits, busy)))

    @on(SearchHits)
    def _search_hits(self, event: SearchHits) -> None:
        if self.state.commit_hits(event.staged):
            self._apply_view()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        started = self._search_cancel is not None  # and not stopped by a keystroke since
        if not (started and event.value.strip() == (self.state.searching or self.state.search)):
            self.run_search(event.value)  # (else it runs or ran already: its outputs' scan goes on)
        if not event.value.strip():
            self.query_one("#search").display = False
        self.set_focus(self.query_one(CaseList))

    def _apply_view(self) -> None:
        self._follow_cursor()  # the case kept in the new view is the one under the cursor, moves not shown yet included
        self.state.rebuild()
        keep = self.current.id if self.current else None
        cases = self.query_one(CaseList)
        cases.reload(keep=keep)
        self.update_list_header()
        if self.pane.shown_key is not None and self.pane.shown_key.search != self.state.search:
            self.pane.update_diff(keep_scroll=True)
        cur = cases.current
        if cur is not None and (self.current is None or cur.id != self.current.id):
            self.show_case(cur.id)

    def action_clear(self) -> None:
        focused = self.focused
        if isinstance(focused, Input):
            if focused.id == "note":
                entry = self.current
                focused.value = entry.mine.note or "" if entry and entry.mine else ""
            else:
                focused.value = ""
                self._cancel_search()
                self.state.set_search(None)
                focused.display = False
                self._apply_view()
            self.set_focus(self.query_one(CaseList))
            return
        if self.state.search:
            self._cancel_search()
            self.state.set_search(None)
            self.query_one("#search").display = False
            self._apply_view()
        elif self.state.filter.active:
            self.state.filter = Filter()
            self._apply_view()

    def action_filter(self) -> None:
        from .filter import FilterScreen

        def done(result: Filter | None) -> None:
            if result is not None:
                self.state.filter = result
                self._apply_view()
                if not self.state.view:
                    self.notify("no case matches this filter", timeout=3)

        self.app.push_screen(FilterScreen(self.state, self.query_one(ListHeader).palette), done)

    def set_filter(self, flt: Filter) -> None:
        self.state.filter = flt
        self._apply_view()

    def action_sort(self) -> None:
        self.set_sort(None)

    def set_sort(self, order: str | None) -> None:
        if order is None:
            self.state.cycle_sort()
        else:
            self.state.sort = order
        self._apply_view()
        self.notify(
            f"sort: {SORT_LABELS[self.state.sort]}"
            + (" (ranking not ready yet)" if self.ranking and self.state.sort in ("triage", "change") else ""),
            timeout=2,
        )

    # -- promote, help --------------------------------------------------------------------------

    def action_promote(self) -> None:
        """``p``: the promote form (:mod:`reviewer.app.promote`) for the shown pair."""
        self._follow_cursor()
        entry = self.current
        if entry is None:
            return
        from reviewer.session.promotion import promotion

        from ..promote import PromoteScreen

        app = self.review_app
        target = app.promote_to if app.promote_to is not None else Path(self.session.suite_head.path or "")
        b, c = self.pane.pair(self.pane.outputs_of(entry.id))
        start = promotion(self.session, entry, b, c, *self.pane.shown_signals(entry), self.pane.detail_of(entry))

        def done(case: Any) -> None:
            if case is not None:
                note = f" ({app.promote_note})" if app.promote_note else ""
                self.notify(f"added case {case.id} to {target}{note}", timeout=8, markup=False)

        self.app.push_screen(PromoteScreen(suite_path=target, **start), done)

    def action_help(self) -> None:
        from .help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    # -- which keys apply now -------------------------------------------------------------------

    _DYNAMIC_ACTIONS = ("label", "undo", "cycle_sample", "toggle_json")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do nothing right now are shown greyed out in the footer."""
        entry = self.current
        if (
            action in ("label", "severity", "edit_note", "promote", "toggle_json", "cycle_sample", "toggle_whitespace")
            and entry is None
        ):
            return None
        if action == "undo" and not self.undo_stack:
            return None
        if action == "cycle_sample" and entry is not None and (self.pane.samples(entry) or 2) <= 1:
            return None
        if action == "toggle_json" and entry is not None and not self.pane.json_mode and not self.pane.json_available(entry):
            return None
        return True

    def update_bindings(self) -> None:
        """Tell the footer only when a key's state changed: it rebuilds itself every time it is
        told (~40 ms), which would otherwise be the biggest cost of moving to the next case."""
        state = tuple(self.check_action(a, ()) for a in self._DYNAMIC_ACTIONS)
        if state != getattr(self, "_binding_state", None):
            self._binding_state = state
            self.refresh_bindings()
